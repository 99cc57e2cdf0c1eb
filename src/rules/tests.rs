//! One test (at least) per rule of semantics §2–§6. Each builds a small inventory and baseline
//! by hand and asserts the state, the target and the reason.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::*;
use crate::baseline::{
    Approval, Baseline, ComplianceLevel, FilterKey, OperatingSystem, PatchFilter, PatchRule,
    RejectedPatchesAction,
};
use crate::model::{
    Advisory, AdvisoryPackage, AvailablePackage, Family, InstalledPackage, Inventory, PatchState,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

fn filter(key: FilterKey, values: &[&str]) -> PatchFilter {
    PatchFilter {
        key,
        values: values.iter().map(|s| s.to_string()).collect(),
    }
}

fn rule(filters: Vec<PatchFilter>, days: u32) -> PatchRule {
    PatchRule {
        filters,
        approval: Approval::AfterDays(days),
        compliance_level: ComplianceLevel::Unspecified,
        enable_non_security: false,
    }
}

fn baseline(os: OperatingSystem, rules: Vec<PatchRule>) -> Baseline {
    Baseline {
        baseline_id: None,
        name: Some("test".into()),
        description: None,
        patch_groups: vec![],
        created_date: None,
        modified_date: None,
        operating_system: os,
        global_filters: vec![],
        approval_rules: rules,
        approved_patches: vec![],
        approved_patches_compliance_level: ComplianceLevel::Unspecified,
        approved_patches_enable_non_security: false,
        rejected_patches: vec![],
        rejected_patches_action: RejectedPatchesAction::AllowAsDependency,
        sources: vec![],
    }
}

/// Security (Critical/Important) and Bugfix, 7 days: the Amazon Linux default.
fn al2023() -> Baseline {
    baseline(
        OperatingSystem::AmazonLinux2023,
        vec![
            rule(
                vec![
                    filter(FilterKey::Product, &["*"]),
                    filter(FilterKey::Classification, &["Security"]),
                    filter(FilterKey::Severity, &["Critical", "Important"]),
                ],
                7,
            ),
            rule(
                vec![
                    filter(FilterKey::Product, &["*"]),
                    filter(FilterKey::Classification, &["Bugfix"]),
                ],
                7,
            ),
        ],
    )
}

fn inst(name: &str, version: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        arch: "x86_64".into(),
        version: version.into(),
        install_time: None,
    }
}

fn avail(name: &str, version: &str) -> AvailablePackage {
    AvailablePackage {
        name: name.into(),
        arch: "x86_64".into(),
        version: version.into(),
        repository: "updates".into(),
        build_time: None,
        security: false,
        priority: None,
        section: None,
        origins: vec![],
    }
}

fn adv(id: &str, class: &str, sev: Option<&str>, days_ago: i64, pkgs: &[(&str, &str)]) -> Advisory {
    Advisory {
        id: id.into(),
        classification: class.into(),
        severity: sev.map(str::to_string),
        issued: Some(now() - Duration::days(days_ago)),
        updated: None,
        cves: vec![],
        bugzillas: vec![],
        reboot_suggested: false,
        packages: pkgs
            .iter()
            .map(|(n, v)| AdvisoryPackage {
                name: n.to_string(),
                arch: "x86_64".into(),
                version: v.to_string(),
            })
            .collect(),
    }
}

fn rpm_inv(
    installed: Vec<InstalledPackage>,
    available: Vec<AvailablePackage>,
    advisories: Vec<Advisory>,
) -> Inventory {
    Inventory {
        family: Family::Rpm,
        operating_system: Some(OperatingSystem::AmazonLinux2023),
        product: "AmazonLinux2023".into(),
        installed,
        available,
        advisories,
    }
}

/// An evaluation with the baseline it was made with, so reasons can be rendered.
struct Ev<'a> {
    b: Baseline,
    e: Evaluation<'a>,
}

impl<'a> std::ops::Deref for Ev<'a> {
    type Target = Evaluation<'a>;
    fn deref(&self) -> &Evaluation<'a> {
        &self.e
    }
}

fn evaluate<'a>(b: &Baseline, inv: &'a Inventory, now: DateTime<Utc>) -> Ev<'a> {
    Ev {
        b: b.clone(),
        e: super::evaluate(b, inv, now),
    }
}

/// (state, target version, reason) of one name.arch.
fn state(ev: &Ev, id: &str) -> (PatchState, Option<String>, String) {
    let eval = &ev.e;
    let d = eval
        .packages
        .iter()
        .find(|d| d.id() == id)
        .unwrap_or_else(|| panic!("no {id} in {:#?}", eval.packages));
    (
        d.state,
        d.target.map(|t| eval.candidates[t].version.to_string()),
        package_reason(&ev.b, eval, d),
    )
}

#[test]
fn security_critical_is_approved_by_rule_0_after_seven_days() {
    let inv = rpm_inv(
        vec![inst("openssl", "1.0-1")],
        vec![avail("openssl", "1.1-1")],
        vec![adv(
            "ALAS-1",
            "Security",
            Some("Critical"),
            10,
            &[("openssl", "1.1-1")],
        )],
    );
    let b = al2023();
    let e = evaluate(&b, &inv, now());
    let (st, target, reason) = state(&e, "openssl.x86_64");
    assert_eq!(st, PatchState::Missing);
    assert_eq!(target.as_deref(), Some("1.1-1"));
    assert!(reason.contains("ApprovalRules.PatchRules[0]"), "{reason}");
    assert!(reason.contains("ALAS-1"), "{reason}");
}

#[test]
fn severity_outside_the_rule_is_not_approved_and_says_why() {
    let inv = rpm_inv(
        vec![inst("openssl", "1.0-1")],
        vec![avail("openssl", "1.1-1")],
        vec![adv(
            "ALAS-1",
            "Security",
            Some("Low"),
            10,
            &[("openssl", "1.1-1")],
        )],
    );
    let b = al2023();
    let e = evaluate(&b, &inv, now());
    let (st, target, reason) = state(&e, "openssl.x86_64");
    assert_eq!((st, target), (PatchState::InstalledOther, None));
    assert!(
        reason.contains("SEVERITY Low not in [Critical, Important]"),
        "{reason}"
    );
    assert!(
        reason.contains("CLASSIFICATION Security not in [Bugfix]"),
        "{reason}"
    );
}

#[test]
fn bugfix_by_rule_1_enhancement_by_none() {
    let inv = rpm_inv(
        vec![inst("a", "1-1"), inst("b", "1-1")],
        vec![avail("a", "2-1"), avail("b", "2-1")],
        vec![
            adv("BUG-1", "Bugfix", None, 30, &[("a", "2-1")]),
            adv("ENH-1", "Enhancement", None, 30, &[("b", "2-1")]),
        ],
    );
    let b = al2023();
    let e = evaluate(&b, &inv, now());
    let (st, _, reason) = state(&e, "a.x86_64");
    assert_eq!(st, PatchState::Missing);
    assert!(reason.contains("PatchRules[1]"), "{reason}");
    assert_eq!(state(&e, "b.x86_64").0, PatchState::InstalledOther);
}

#[test]
fn approve_after_days_edges_are_exact_to_the_second_in_utc() {
    let released = Utc.with_ymd_and_hms(2025, 3, 1, 18, 0, 0).unwrap();
    let mut a = adv("S-1", "Security", Some("Critical"), 0, &[("p", "2-1")]);
    a.issued = Some(released);
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a]);
    let b = al2023();
    let edge = released + Duration::days(7);
    let before = evaluate(&b, &inv, edge - Duration::seconds(1));
    let (st, _, reason) = state(&before, "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("released 2025-03-01T18:00:00Z, approvable from 2025-03-08T18:00:00Z (ApproveAfterDays 7)"),
        "{reason}"
    );
    assert_eq!(
        state(&evaluate(&b, &inv, edge), "p.x86_64").0,
        PatchState::Missing
    );
}

#[test]
fn the_updated_date_counts_rather_than_issued() {
    let mut a = adv("S-1", "Security", Some("Critical"), 30, &[("p", "2-1")]);
    a.updated = Some(now() - Duration::days(2));
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a]);
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").0, PatchState::InstalledOther);
}

#[test]
fn approve_until_date_includes_the_whole_utc_day() {
    let mut b = al2023();
    b.approval_rules[0].approval =
        Approval::UntilDate(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap());
    let at = |t: DateTime<Utc>| {
        let mut a = adv("S-1", "Security", Some("Critical"), 0, &[("p", "2-1")]);
        a.issued = Some(t);
        rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a])
    };
    let last_second = at(Utc.with_ymd_and_hms(2025, 3, 1, 23, 59, 59).unwrap());
    assert_eq!(
        state(&evaluate(&b, &last_second, now()), "p.x86_64").0,
        PatchState::Missing
    );
    let next_day = at(Utc.with_ymd_and_hms(2025, 3, 2, 0, 0, 0).unwrap());
    let e = evaluate(&b, &next_day, now());
    let (st, _, reason) = state(&e, "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("after ApproveUntilDate 2025-03-01"),
        "{reason}"
    );
}

#[test]
fn an_update_in_no_advisory_needs_enable_non_security() {
    let mut b = baseline(
        OperatingSystem::AmazonLinux2023,
        vec![rule(vec![filter(FilterKey::Classification, &["*"])], 0)],
    );
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![]);
    let e = evaluate(&b, &inv, now());
    let (st, _, reason) = state(&e, "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("not a security update (in no advisory) and EnableNonSecurity is off"),
        "{reason}"
    );
    b.approval_rules[0].enable_non_security = true;
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "p.x86_64").0,
        PatchState::Missing
    );
}

#[test]
fn a_classification_filter_does_not_pass_a_package_without_classification() {
    let mut b = baseline(
        OperatingSystem::AmazonLinux2023,
        vec![rule(
            vec![filter(FilterKey::Classification, &["Security"])],
            0,
        )],
    );
    b.approval_rules[0].enable_non_security = true;
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![]);
    let (st, _, reason) = state(&evaluate(&b, &inv, now()), "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("CLASSIFICATION (none) not in [Security]"),
        "{reason}"
    );
}

#[test]
fn the_build_time_dates_a_notice_less_update() {
    let mut b = baseline(
        OperatingSystem::AmazonLinux2023,
        vec![rule(vec![filter(FilterKey::Classification, &["*"])], 7)],
    );
    b.approval_rules[0].enable_non_security = true;
    let mut fresh = avail("p", "2-1");
    fresh.build_time = Some(now() - Duration::days(1));
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![fresh], vec![]);
    // The installed build itself is approved (no date: a delay of 0); the new build is too recent.
    let e = evaluate(&b, &inv, now());
    assert_eq!(state(&e, "p.x86_64").0, PatchState::Installed);
    let c = e.candidates.iter().find(|c| c.version == "2-1").unwrap();
    assert!(
        matches!(&c.verdict, Verdict::NotApproved { misses } if matches!(misses[0], Miss::TooRecent { .. }))
    );
    let undated = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![]);
    assert_eq!(
        state(&evaluate(&b, &undated, now()), "p.x86_64").0,
        PatchState::Missing
    );
}

#[test]
fn rejection_beats_rule_and_list_approval() {
    let mut b = al2023();
    b.approved_patches = vec!["system-release".into()];
    b.rejected_patches = vec!["system-release.*".into()];
    let inv = rpm_inv(
        vec![inst("system-release", "2023.1-1")],
        vec![avail("system-release", "2023.2-1")],
        vec![adv(
            "S-1",
            "Security",
            Some("Critical"),
            30,
            &[("system-release", "2023.2-1")],
        )],
    );
    let e = evaluate(&b, &inv, now());
    let (st, target, reason) = state(&e, "system-release.x86_64");
    assert_eq!((st, target), (PatchState::InstalledOther, None));
    assert!(
        reason.contains("RejectedPatches[0] \"system-release.*\""),
        "{reason}"
    );
    assert!(reason.contains("ALLOW_AS_DEPENDENCY"), "{reason}");
    let c = e
        .candidates
        .iter()
        .find(|c| c.version == "2023.2-1")
        .unwrap();
    assert_eq!(c.verdict, Verdict::Rejected { entry: 0 });
}

#[test]
fn block_makes_an_installed_rejected_package_installed_rejected() {
    let mut b = al2023();
    b.rejected_patches = vec!["telnet*".into()];
    let inv = rpm_inv(vec![inst("telnet", "1-1")], vec![], vec![]);
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "telnet.x86_64").0,
        PatchState::InstalledOther
    );
    b.rejected_patches_action = RejectedPatchesAction::Block;
    let (st, _, reason) = state(&evaluate(&b, &inv, now()), "telnet.x86_64");
    assert_eq!(st, PatchState::InstalledRejected);
    assert!(reason.contains("BLOCK"), "{reason}");
}

#[test]
fn approved_list_by_name_needs_security_or_the_non_security_switch() {
    let mut b = baseline(OperatingSystem::AmazonLinux2023, vec![]);
    b.approved_patches = vec!["tool*".into()];
    let inv = rpm_inv(
        vec![inst("tool", "1-1")],
        vec![avail("tool", "2-1")],
        vec![],
    );
    let (st, _, reason) = state(&evaluate(&b, &inv, now()), "tool.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("ApprovedPatchesEnableNonSecurity is off"),
        "{reason}"
    );
    b.approved_patches_enable_non_security = true;
    let (st, _, reason) = state(&evaluate(&b, &inv, now()), "tool.x86_64");
    assert_eq!(st, PatchState::Missing);
    assert!(
        reason.contains("approved by ApprovedPatches[0] \"tool*\""),
        "{reason}"
    );
}

#[test]
fn approved_list_bypasses_filters_and_dates() {
    let mut b = al2023();
    b.approved_patches = vec!["p.x86_64".into()];
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1")],
        vec![adv("E-1", "Enhancement", Some("Low"), 0, &[("p", "2-1")])],
    );
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "p.x86_64").0,
        PatchState::Missing
    );
}

#[test]
fn approval_by_cve_advisory_and_bugzilla_id() {
    let mut a = adv("FXEA-2024:0004", "Enhancement", None, 0, &[("p", "2-1")]);
    a.cves = vec!["CVE-2024-0001".into()];
    a.bugzillas = vec!["1234567".into()];
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a]);
    for entry in ["CVE-2024-0001", "FXEA-2024:0004", "1234567"] {
        let mut b = baseline(OperatingSystem::AmazonLinux2023, vec![]);
        b.approved_patches = vec![entry.into()];
        let (st, _, reason) = state(&evaluate(&b, &inv, now()), "p.x86_64");
        assert_eq!(st, PatchState::Missing, "{entry}");
        assert!(reason.contains(entry), "{reason}");
    }
    // Ids are exact: another CVE approves nothing.
    let mut b = baseline(OperatingSystem::AmazonLinux2023, vec![]);
    b.approved_patches = vec!["CVE-2024-9999".into()];
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "p.x86_64").0,
        PatchState::InstalledOther
    );
}

#[test]
fn compliance_level_is_the_highest_of_rules_and_list() {
    let mut b = al2023();
    b.approval_rules[0].compliance_level = ComplianceLevel::Medium;
    b.approval_rules
        .push(rule(vec![filter(FilterKey::Severity, &["Critical"])], 0));
    b.approval_rules[2].compliance_level = ComplianceLevel::High;
    b.approved_patches = vec!["p".into()];
    b.approved_patches_compliance_level = ComplianceLevel::Low;
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1")],
        vec![adv(
            "S-1",
            "Security",
            Some("Critical"),
            30,
            &[("p", "2-1")],
        )],
    );
    let e = evaluate(&b, &inv, now());
    let d = e.packages.iter().find(|d| d.name == "p").unwrap();
    assert_eq!(d.compliance_level, ComplianceLevel::High);
    b.approved_patches_compliance_level = ComplianceLevel::Critical;
    let e = evaluate(&b, &inv, now());
    assert_eq!(e.packages[0].compliance_level, ComplianceLevel::Critical);
}

#[test]
fn a_higher_epoch_with_a_lower_version_is_the_newer_target() {
    let inv = rpm_inv(
        vec![inst("p", "5.0-1")],
        vec![avail("p", "1:1.0-1"), avail("p", "6.0-1")],
        vec![adv(
            "S-1",
            "Security",
            Some("Critical"),
            30,
            &[("p", "1:1.0-1"), ("p", "6.0-1")],
        )],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").1.as_deref(), Some("1:1.0-1"));
}

#[test]
fn a_rejected_newest_falls_back_to_the_older_approved_version() {
    let mut b = al2023();
    b.rejected_patches = vec!["p-3-1".into()];
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1"), avail("p", "3-1")],
        vec![
            adv("S-2", "Security", Some("Important"), 30, &[("p", "2-1")]),
            adv("S-3", "Security", Some("Critical"), 30, &[("p", "3-1")]),
        ],
    );
    let e = evaluate(&b, &inv, now());
    assert_eq!(state(&e, "p.x86_64").1.as_deref(), Some("2-1"));
    // Without the rejection the newest approved wins.
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").1.as_deref(), Some("3-1"));
}

#[test]
fn a_too_recent_newest_falls_back_to_an_approved_older_one() {
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1"), avail("p", "3-1")],
        vec![
            adv("S-2", "Security", Some("Important"), 30, &[("p", "2-1")]),
            adv("S-3", "Security", Some("Critical"), 1, &[("p", "3-1")]),
        ],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").1.as_deref(), Some("2-1"));
}

#[test]
fn installed_at_or_above_the_newest_approved_is_installed() {
    let inv = rpm_inv(
        vec![inst("p", "2-1"), inst("q", "3-1")],
        vec![],
        vec![adv(
            "S-2",
            "Security",
            Some("Important"),
            30,
            &[("p", "2-1"), ("q", "2-1")],
        )],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").0, PatchState::Installed);
    assert_eq!(state(&e, "q.x86_64").0, PatchState::Installed);
}

#[test]
fn an_approved_package_that_is_not_installed_is_not_applicable() {
    let inv = rpm_inv(
        vec![],
        vec![avail("p", "2-1")],
        vec![adv(
            "S-2",
            "Security",
            Some("Important"),
            30,
            &[("p", "2-1"), ("ghost", "1-1")],
        )],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").0, PatchState::NotApplicable);
    // An advisory package no repository offers is not reported at all.
    assert!(e.packages.iter().all(|d| d.name != "ghost"));
}

#[test]
fn installonly_kernels_are_one_entry_judged_by_the_newest_installed() {
    let inv = rpm_inv(
        vec![inst("kernel", "6.1-1"), inst("kernel", "6.2-1")],
        vec![avail("kernel", "6.3-1")],
        vec![adv(
            "K-1",
            "Security",
            Some("Important"),
            30,
            &[("kernel", "6.3-1")],
        )],
    );
    let e = evaluate(&al2023(), &inv, now());
    let d = e.packages.iter().find(|d| d.name == "kernel").unwrap();
    assert_eq!(d.installed.unwrap().version, "6.2-1");
    assert_eq!(d.installed_count, 2);
    assert_eq!(d.state, PatchState::Missing);
    assert_eq!(e.packages.iter().filter(|d| d.name == "kernel").count(), 1);
}

#[test]
fn global_filters_exclude_before_rules() {
    let mut b = al2023();
    b.global_filters = vec![filter(FilterKey::Product, &["AmazonLinux2"])];
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1")],
        vec![adv(
            "S-1",
            "Security",
            Some("Critical"),
            30,
            &[("p", "2-1")],
        )],
    );
    let (st, _, reason) = state(&evaluate(&b, &inv, now()), "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains(
            "GlobalFilters.PatchFilters[0]: PRODUCT AmazonLinux2023 not in [AmazonLinux2]"
        ),
        "{reason}"
    );
}

#[test]
fn medium_matches_moderate_and_a_missing_severity_is_none() {
    let b = baseline(
        OperatingSystem::AmazonLinux2023,
        vec![rule(
            vec![filter(FilterKey::Severity, &["Medium", "None"])],
            0,
        )],
    );
    let inv = rpm_inv(
        vec![inst("a", "1-1"), inst("b", "1-1")],
        vec![avail("a", "2-1"), avail("b", "2-1")],
        vec![
            adv("S-1", "Security", Some("Moderate"), 1, &[("a", "2-1")]),
            adv("B-1", "Bugfix", None, 1, &[("b", "2-1")]),
        ],
    );
    let e = evaluate(&b, &inv, now());
    assert_eq!(state(&e, "a.x86_64").0, PatchState::Missing);
    assert_eq!(state(&e, "b.x86_64").0, PatchState::Missing);
}

#[test]
fn one_version_in_several_advisories_is_approved_by_any_of_them() {
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1")],
        vec![
            adv("E-1", "Enhancement", None, 30, &[("p", "2-1")]),
            adv("S-1", "Security", Some("Critical"), 30, &[("p", "2-1")]),
        ],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(state(&e, "p.x86_64").0, PatchState::Missing);
    let c = e.candidates.iter().find(|c| c.version == "2-1").unwrap();
    assert_eq!(c.classification(), Some("Security"));
}

#[test]
fn zero_epoch_spellings_are_one_version() {
    let inv = rpm_inv(
        vec![inst("p", "1-1")],
        vec![avail("p", "2-1")],
        vec![adv(
            "S-1",
            "Security",
            Some("Critical"),
            30,
            &[("p", "0:2-1")],
        )],
    );
    let e = evaluate(&al2023(), &inv, now());
    assert_eq!(e.candidates.len(), 2);
    assert_eq!(state(&e, "p.x86_64").0, PatchState::Missing);
}

// ---- apt ----

fn debian() -> Baseline {
    baseline(
        OperatingSystem::Debian,
        vec![rule(
            vec![filter(
                FilterKey::Priority,
                &["Required", "Important", "Standard", "Optional", "Extra"],
            )],
            0,
        )],
    )
}

fn deb_avail(
    name: &str,
    version: &str,
    security: bool,
    priority: &str,
    section: &str,
) -> AvailablePackage {
    AvailablePackage {
        name: name.into(),
        arch: "amd64".into(),
        version: version.into(),
        repository: String::new(),
        build_time: None,
        security,
        priority: Some(priority.into()),
        section: Some(section.into()),
        origins: vec![if security {
            "Debian-Security/bookworm-security".into()
        } else {
            "Debian/bookworm".into()
        }],
    }
}

fn deb_inv(installed: &[(&str, &str)], available: Vec<AvailablePackage>) -> Inventory {
    Inventory {
        family: Family::Deb,
        operating_system: Some(OperatingSystem::Debian),
        product: "Debian12".into(),
        installed: installed
            .iter()
            .map(|(n, v)| InstalledPackage {
                name: n.to_string(),
                arch: "amd64".into(),
                version: v.to_string(),
                install_time: None,
            })
            .collect(),
        available,
        advisories: vec![],
    }
}

#[test]
fn apt_only_security_versions_are_approved_without_enable_non_security() {
    let inv = deb_inv(
        &[("sec", "1.0-1"), ("plain", "1.0-1")],
        vec![
            deb_avail("sec", "1.1-1", true, "optional", "libs"),
            deb_avail("plain", "1.1-1", false, "optional", "libs"),
        ],
    );
    let mut b = debian();
    let e = evaluate(&b, &inv, now());
    assert_eq!(state(&e, "sec.amd64").0, PatchState::Missing);
    let (st, _, reason) = state(&e, "plain.amd64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(reason.contains("from Debian/bookworm"), "{reason}");
    b.approval_rules[0].enable_non_security = true;
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "plain.amd64").0,
        PatchState::Missing
    );
}

#[test]
fn apt_security_fix_older_than_the_point_release_candidate_is_the_target() {
    // openssh-client on a Debian 12 host: the newest version is in the point release, an older
    // but newer-than-installed version is in debian-security. The security fix must be the target.
    let inv = deb_inv(
        &[("openssh-client", "1:9.2p1-2+deb12u3")],
        vec![
            deb_avail(
                "openssh-client",
                "1:9.2p1-2+deb12u5",
                true,
                "standard",
                "net",
            ),
            deb_avail(
                "openssh-client",
                "1:9.2p1-2+deb12u7",
                false,
                "standard",
                "net",
            ),
        ],
    );
    let e = evaluate(&debian(), &inv, now());
    let (st, target, _) = state(&e, "openssh-client.amd64");
    assert_eq!(st, PatchState::Missing);
    assert_eq!(target.as_deref(), Some("1:9.2p1-2+deb12u5"));
}

#[test]
fn apt_priority_and_section_filters_case_insensitive() {
    let inv = deb_inv(
        &[("a", "1"), ("b", "1"), ("c", "1")],
        vec![
            deb_avail("a", "2", true, "required", "admin"),
            deb_avail("b", "2", true, "optional", "universe/net"),
            deb_avail("c", "2", true, "optional", "libs"),
        ],
    );
    let b = baseline(
        OperatingSystem::Debian,
        vec![
            rule(vec![filter(FilterKey::Priority, &["Required"])], 0),
            rule(vec![filter(FilterKey::Section, &["net"])], 0),
        ],
    );
    let e = evaluate(&b, &inv, now());
    assert_eq!(state(&e, "a.amd64").0, PatchState::Missing);
    assert_eq!(state(&e, "b.amd64").0, PatchState::Missing);
    let (st, _, reason) = state(&e, "c.amd64");
    assert_eq!(st, PatchState::InstalledOther);
    assert!(
        reason.contains("PRIORITY optional not in [Required]"),
        "{reason}"
    );
}

#[test]
fn apt_has_no_dates_so_approve_after_days_never_delays() {
    let mut b = debian();
    b.approval_rules[0].approval = Approval::AfterDays(360);
    let inv = deb_inv(
        &[("a", "1")],
        vec![deb_avail("a", "2", true, "optional", "libs")],
    );
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "a.amd64").0,
        PatchState::Missing
    );
}

#[test]
fn apt_rejected_names_cover_every_version() {
    let mut b = debian();
    b.rejected_patches = vec!["a".into()];
    b.rejected_patches_action = RejectedPatchesAction::Block;
    let inv = deb_inv(
        &[("a", "1")],
        vec![deb_avail("a", "2", true, "optional", "libs")],
    );
    assert_eq!(
        state(&evaluate(&b, &inv, now()), "a.amd64").0,
        PatchState::InstalledRejected
    );
}

#[test]
fn reasons_name_the_list_entry_and_rule() {
    let mut b = al2023();
    b.approved_patches = vec!["CVE-2024-1".into()];
    let mut a = adv("S-1", "Security", Some("Critical"), 30, &[("p", "2-1")]);
    a.cves = vec!["CVE-2024-1".into()];
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a]);
    let e = evaluate(&b, &inv, now());
    let c = e.candidates.iter().find(|c| c.version == "2-1").unwrap();
    let text = describe(&b, c);
    assert!(
        text.contains("approved by ApprovalRules.PatchRules[0]"),
        "{text}"
    );
    assert!(
        text.contains("approved by ApprovedPatches[0] \"CVE-2024-1\" (in advisory S-1)"),
        "{text}"
    );
}

#[test]
fn advisory_ids_of_any_shape_approve_by_exact_spelling() {
    // Fedora, EPEL and Amazon Linux 2 extras ids do not look like RHSA-2024:0001.
    for id in [
        "FEDORA-2024-5bd2c5a0b7",
        "FEDORA-EPEL-2024-1a2b3c4d5e",
        "ALAS2KERNEL-5.10-2023-028",
    ] {
        let inv = rpm_inv(
            vec![inst("p", "1-1")],
            vec![avail("p", "2-1")],
            vec![adv(id, "Enhancement", None, 0, &[("p", "2-1")])],
        );
        let mut b = baseline(OperatingSystem::AmazonLinux2023, vec![]);
        b.approved_patches = vec![id.into()];
        let (st, _, reason) = state(&evaluate(&b, &inv, now()), "p.x86_64");
        assert_eq!(st, PatchState::Missing, "{id}: {reason}");
        assert!(reason.contains(id), "{reason}");
    }
}

#[test]
fn an_undated_advisory_is_dated_by_the_build_time() {
    let mut a = adv(
        "S-1",
        "Security",
        Some("Critical"),
        0,
        &[("p", "2-1"), ("q", "2-1")],
    );
    a.issued = None;
    let mut fresh = avail("p", "2-1");
    fresh.build_time = Some(now() - Duration::days(1));
    let mut old = avail("q", "2-1");
    old.build_time = Some(now() - Duration::days(30));
    let inv = rpm_inv(
        vec![inst("p", "1-1"), inst("q", "1-1")],
        vec![fresh, old],
        vec![a],
    );
    let e = evaluate(&al2023(), &inv, now());
    // One advisory, two packages: each is judged by its own build time (no shared cache).
    let (st, _, reason) = state(&e, "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther, "{reason}");
    assert!(reason.contains("ApproveAfterDays 7"), "{reason}");
    assert_eq!(state(&e, "q.x86_64").0, PatchState::Missing);
}

#[test]
fn dates_at_the_end_of_time_do_not_panic() {
    let mut a = adv("S-1", "Security", Some("Critical"), 0, &[("p", "2-1")]);
    a.issued = Some(DateTime::<Utc>::MAX_UTC - Duration::days(1));
    let inv = rpm_inv(vec![inst("p", "1-1")], vec![avail("p", "2-1")], vec![a]);
    let (st, _, reason) = state(&evaluate(&al2023(), &inv, now()), "p.x86_64");
    assert_eq!(st, PatchState::InstalledOther, "{reason}");
    let mut b = al2023();
    b.approval_rules[0].approval = Approval::UntilDate(NaiveDate::MAX);
    let (st, _, _) = state(&evaluate(&b, &inv, now()), "p.x86_64");
    assert_eq!(st, PatchState::Missing);
}
