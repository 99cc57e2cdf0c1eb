//! The equivalents of the AWS-owned default baselines (semantics §3 and §1.4).
//!
//! AWS does not publish the JSON of its own baselines; these are built from the documented
//! rules. The RPM family's layout (a `PRODUCT: *` filter in every rule, GlobalFilters empty)
//! follows the reconstructed AL2 example of semantics §1.4; the apt baselines follow the captured
//! AWS-UbuntuDefaultPatchBaseline (GlobalFilters `PRODUCT: *`, one PRIORITY rule without a
//! PRODUCT filter). docs/baseline.md says the same. BaselineId is
//! left empty: AWS's ids differ per region.

use super::{
    Approval, Baseline, ComplianceLevel, FilterKey, OperatingSystem, PatchFilter, PatchRule,
    RejectedPatchesAction,
};

/// Days after release before the RPM-family defaults approve an update.
const DEFAULT_DELAY_DAYS: u32 = 7;

/// The predefined baseline for `os`, or None for systems this tool does not patch (WINDOWS, MACOS).
pub fn predefined(os: OperatingSystem) -> Option<Baseline> {
    use OperatingSystem::*;
    let security_and_bugfix = |severities: &[&str]| {
        vec![
            rule(
                &[
                    (FilterKey::Classification, &["Security"]),
                    (FilterKey::Severity, severities),
                ],
                DEFAULT_DELAY_DAYS,
                false,
            ),
            rule(
                &[(FilterKey::Classification, &["Bugfix"])],
                DEFAULT_DELAY_DAYS,
                false,
            ),
        ]
    };
    let critical_important =
        "security updates with severity Critical or Important and all bug fixes, \
                              each approved 7 days after release";
    let name = aws_name(os)?;
    let (global_filters, rules, what) = match os {
        Windows | Macos => return None,
        AmazonLinux
        | AmazonLinux2
        | AmazonLinux2022
        | AmazonLinux2023
        | RedhatEnterpriseLinux
        | RockyLinux
        | AlmaLinux => (
            Vec::new(),
            security_and_bugfix(&["Critical", "Important"]),
            critical_important,
        ),
        OracleLinux => (
            Vec::new(),
            security_and_bugfix(&["Important", "Moderate"]),
            "security updates with severity Important or Moderate and all bug fixes, \
             each approved 7 days after release",
        ),
        Centos => (
            Vec::new(),
            vec![rule(
                &[
                    (FilterKey::Classification, &["*"]),
                    (FilterKey::Severity, &["*"]),
                ],
                DEFAULT_DELAY_DAYS,
                true,
            )],
            "all updates, including non-security ones, approved 7 days after release",
        ),
        Suse => (
            Vec::new(),
            vec![rule(
                &[
                    (FilterKey::Classification, &["Security"]),
                    (FilterKey::Severity, &["Critical", "Important"]),
                ],
                DEFAULT_DELAY_DAYS,
                false,
            )],
            "security updates with severity Critical or Important, approved 7 days after release",
        ),
        Debian | Ubuntu | Raspbian => (
            vec![filter(FilterKey::Product, &["*"])],
            vec![PatchRule {
                filters: vec![filter(
                    FilterKey::Priority,
                    &["Required", "Important", "Standard", "Optional", "Extra"],
                )],
                // Ignored on apt systems (no release dates); AWS's own copy stores 7.
                approval: Approval::AfterDays(0),
                compliance_level: ComplianceLevel::Unspecified,
                enable_non_security: false,
            }],
            "every update from the security pocket with priority Required, Important, Standard, \
             Optional or Extra, approved immediately",
        ),
    };
    Some(Baseline {
        baseline_id: None,
        description: Some(format!(
            "patchbaseline's equivalent of {name}, the default patch baseline AWS provides for {os}: {what}."
        )),
        name: Some(name),
        patch_groups: Vec::new(),
        created_date: None,
        modified_date: None,
        operating_system: os,
        global_filters,
        approval_rules: rules,
        approved_patches: Vec::new(),
        approved_patches_compliance_level: ComplianceLevel::Unspecified,
        approved_patches_enable_non_security: false,
        rejected_patches: Vec::new(),
        rejected_patches_action: RejectedPatchesAction::AllowAsDependency,
        sources: Vec::new(),
    })
}

/// The name of the AWS-owned default baseline for `os`; None for systems this tool does not patch.
fn aws_name(os: OperatingSystem) -> Option<String> {
    use OperatingSystem::*;
    let system = match os {
        AmazonLinux => "AmazonLinux",
        AmazonLinux2 => "AmazonLinux2",
        AmazonLinux2022 => "AmazonLinux2022",
        AmazonLinux2023 => "AmazonLinux2023",
        RedhatEnterpriseLinux => "RedHat",
        RockyLinux => "RockyLinux",
        AlmaLinux => "AlmaLinux",
        OracleLinux => "OracleLinux",
        Centos => "CentOS",
        Suse => "Suse",
        Debian => "Debian",
        Ubuntu => "Ubuntu",
        // No AWS document names a Raspberry Pi OS default baseline; this follows the pattern.
        Raspbian => "Raspbian",
        Windows | Macos => return None,
    };
    Some(format!("AWS-{system}DefaultPatchBaseline"))
}

fn filter(key: FilterKey, values: &[&str]) -> PatchFilter {
    PatchFilter {
        key,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// A rule `PRODUCT: *` + `filters`, approved `days` after release, compliance UNSPECIFIED.
fn rule(filters: &[(FilterKey, &[&str])], days: u32, enable_non_security: bool) -> PatchRule {
    let mut all = vec![filter(FilterKey::Product, &["*"])];
    all.extend(filters.iter().map(|(key, values)| filter(*key, values)));
    PatchRule {
        filters: all,
        approval: Approval::AfterDays(days),
        compliance_level: ComplianceLevel::Unspecified,
        enable_non_security,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout docs/baseline.md describes: `PRODUCT: *` in GlobalFilters (and in no rule) on
    /// apt systems, in every rule (and not in GlobalFilters) on the RPM family.
    #[test]
    fn product_filter_sits_where_the_docs_say() {
        let product = |f: &PatchFilter| f.key == FilterKey::Product && f.values == ["*"];
        let mut seen = 0;
        for os in OperatingSystem::ALL {
            let Some(b) = predefined(os) else { continue };
            seen += 1;
            assert!(!b.approval_rules.is_empty(), "{os}");
            if os.is_apt() {
                assert!(
                    b.global_filters.len() == 1 && product(&b.global_filters[0]),
                    "{os}"
                );
                for r in &b.approval_rules {
                    assert!(
                        !r.filters.iter().any(|f| f.key == FilterKey::Product),
                        "{os}"
                    );
                }
            } else {
                assert!(b.global_filters.is_empty(), "{os}");
                for r in &b.approval_rules {
                    assert!(product(&r.filters[0]), "{os}");
                }
            }
        }
        assert_eq!(seen, 13, "every Linux system has one");
    }
}
