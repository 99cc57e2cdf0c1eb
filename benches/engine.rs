//! Engine benchmark (issue: foundation). 100,000 candidate versions over 30,000 package names,
//! a baseline with 10 rules, 50 approved and 50 rejected patterns. Goal: evaluation under 100 ms
//! and under 100 MB peak memory on the 2-core development machine.
//!
//! Run: `cargo bench --bench engine` (prints the median of 15 evaluations and the peak RSS).
//! The inventory goes through the same JSON path as `scan --inventory` before it is evaluated.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use patchbaseline::baseline::{
    Approval, Baseline, ComplianceLevel, FilterKey, OperatingSystem, PatchFilter, PatchRule,
    RejectedPatchesAction,
};
use patchbaseline::model::{
    Advisory, AdvisoryPackage, AvailablePackage, Family, InstalledPackage, Inventory,
};

/// A small deterministic generator (no rand dependency, same data every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const NAMES: usize = 30_000;
const CANDIDATES: usize = 100_000;

fn inventory() -> Inventory {
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0).unwrap();
    let mut rng = Lcg(42);
    let mut installed = Vec::with_capacity(NAMES);
    let mut available = Vec::with_capacity(CANDIDATES - NAMES);
    for i in 0..NAMES {
        installed.push(InstalledPackage {
            name: format!("pkg{i}"),
            arch: "x86_64".into(),
            version: format!("1.{}-1.amzn2023", i % 7),
            install_time: None,
        });
    }
    // 70,000 newer versions spread over the names: 2.x, 3.x, ... per name.
    for k in 0..(CANDIDATES - NAMES) {
        let i = k % NAMES;
        let gen = k / NAMES + 2;
        available.push(AvailablePackage {
            name: format!("pkg{i}"),
            arch: "x86_64".into(),
            version: format!("{gen}.{}-{}.amzn2023", i % 5, rng.next() % 3 + 1),
            repository: "amazonlinux".into(),
            build_time: Some(now - Duration::days((rng.next() % 90) as i64)),
            security: false,
            priority: None,
            section: None,
            origins: vec![],
        });
    }
    // ~20,000 advisories, each covering 2–4 of the available versions.
    let mut advisories = Vec::new();
    let mut k = 0;
    let mut n = 0;
    while k < available.len() {
        let width = 2 + (rng.next() % 3) as usize;
        let packages = available[k..(k + width).min(available.len())]
            .iter()
            .map(|a| AdvisoryPackage {
                name: a.name.clone(),
                arch: a.arch.clone(),
                version: a.version.clone(),
            })
            .collect();
        k += width + (rng.next() % 2) as usize; // some versions are in no advisory
        let class = rng.pick(&[
            "Security",
            "Security",
            "Bugfix",
            "Enhancement",
            "Newpackage",
        ]);
        advisories.push(Advisory {
            id: format!("ALAS2023-2026-{n}"),
            classification: class.into(),
            severity: Some(rng.pick(&["Critical", "Important", "Medium", "Low"]).into()),
            issued: Some(now - Duration::days((rng.next() % 120) as i64)),
            updated: None,
            cves: vec![format!("CVE-2026-{}", 10_000 + n)],
            bugzillas: vec![format!("{}", 2_000_000 + n)],
            reboot_suggested: rng.next() % 20 == 0,
            packages,
        });
        n += 1;
    }
    Inventory {
        family: Family::Rpm,
        operating_system: Some(OperatingSystem::AmazonLinux2023),
        product: "AmazonLinux2023".into(),
        installed,
        available,
        advisories,
    }
}

fn baseline() -> Baseline {
    let f = |key, values: &[&str]| PatchFilter {
        key,
        values: values.iter().map(|s| s.to_string()).collect(),
    };
    let sev = [["Critical"], ["Important"], ["Medium"], ["Low"], ["None"]];
    let mut rules = Vec::new();
    for (i, s) in sev.iter().enumerate() {
        rules.push(PatchRule {
            filters: vec![
                f(FilterKey::Product, &["AmazonLinux2023"]),
                f(FilterKey::Classification, &["Security"]),
                f(FilterKey::Severity, s),
            ],
            approval: Approval::AfterDays(7 * i as u32),
            compliance_level: ComplianceLevel::ALL[i],
            enable_non_security: false,
        });
    }
    for (i, c) in ["Bugfix", "Enhancement", "Newpackage", "Recommended", "*"]
        .iter()
        .enumerate()
    {
        rules.push(PatchRule {
            filters: vec![f(FilterKey::Classification, &[c])],
            approval: Approval::AfterDays(14 + i as u32),
            compliance_level: ComplianceLevel::Low,
            enable_non_security: *c == "*",
        });
    }
    let mut approved: Vec<String> = Vec::new();
    for i in 0..20 {
        approved.push(format!("pkg{}*", i * 1_337));
    }
    for i in 0..10 {
        approved.push(format!("CVE-2026-{}", 10_000 + i * 97));
        approved.push(format!("ALAS2023-2026-{}", i * 211));
        approved.push(format!("pkg{}.x86_64", 500 + i));
    }
    let mut rejected: Vec<String> = Vec::new();
    for i in 0..24 {
        rejected.push(format!("pkg{}-3.*", i * 1_009));
        rejected.push(format!("pkg{}-2.?-1.amzn2023.x86_64", i * 733));
    }
    // Leading wildcards are tested against every version; these end in a literal, as
    // real ones do, so most versions are ruled out by their ending.
    rejected.push("*-debuginfo".into());
    rejected.push("*-devel".into());
    Baseline {
        baseline_id: Some("pb-0123456789abcdef0".into()),
        name: Some("bench".into()),
        description: None,
        patch_groups: vec![],
        created_date: None,
        modified_date: None,
        operating_system: OperatingSystem::AmazonLinux2023,
        global_filters: vec![f(FilterKey::Product, &["*"])],
        approval_rules: rules,
        approved_patches: approved,
        approved_patches_compliance_level: ComplianceLevel::High,
        approved_patches_enable_non_security: false,
        rejected_patches: rejected,
        rejected_patches_action: RejectedPatchesAction::AllowAsDependency,
        sources: vec![],
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let json = serde_json::to_string(&inventory()).expect("serialise");
    let inv: Inventory = serde_json::from_str(&json).expect("parse back, as scan --inventory does");
    drop(json);
    let b = baseline();
    let candidates = inv.available.len() + inv.installed.len();
    let names = inv.installed.len();
    let rss_before = peak_rss_mib();
    let runs = if quick { 1 } else { 15 };
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let thread_cpu = || {
        nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
            .map(|t| std::time::Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
            .unwrap_or_default()
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let mut states = std::collections::BTreeMap::new();
    for _ in 0..runs {
        let t = Instant::now();
        let c = thread_cpu();
        let e = patchbaseline::rules::evaluate(&b, &inv, now);
        times.push(t.elapsed());
        cpu_times.push(thread_cpu() - c);
        states.clear();
        for d in &e.packages {
            *states.entry(d.state.as_str()).or_insert(0u32) += 1;
        }
        assert_eq!(
            e.candidates.len(),
            candidates,
            "every version is a candidate"
        );
    }
    times.sort();
    cpu_times.sort();
    let median = times[times.len() / 2];
    let cpu_median = cpu_times[cpu_times.len() / 2];
    println!(
        "engine: {candidates} candidates, {names} names, {} advisories, 10 rules, {} approved, {} rejected",
        inv.advisories.len(),
        b.approved_patches.len(),
        b.rejected_patches.len()
    );
    println!(
        "engine: median {:.1} ms over {runs} runs (min {:.1} ms, max {:.1} ms)",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    // CPU time of the evaluating thread: what the wall time is on an otherwise idle machine.
    println!(
        "engine: median CPU time {:.1} ms (the evaluating thread alone)",
        cpu_median.as_secs_f64() * 1e3
    );
    println!(
        "engine: peak RSS {:.1} MiB for the whole process (inventory alone {:.1} MiB before evaluating)",
        peak_rss_mib(),
        rss_before
    );
    println!("engine: states {states:?}");
}
