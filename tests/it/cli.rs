//! The command line end to end on what-if inventories (no package manager involved): the report
//! schema every consumer relies on, `--at`, the console limit, explain, and input errors.

use std::process::Output;

use serde_json::Value;

use crate::common::{patch, patchbaseline, read_json, run, show, testdata};

fn whatif() -> String {
    testdata("inventory/al2023-whatif.json")
        .display()
        .to_string()
}

fn scan(args: &[&str]) -> (Output, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("nested/dir/report.json");
    let out = run(patchbaseline()
        .arg("scan")
        .args(args)
        .arg("--report")
        .arg(&report));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let json = read_json(&report);
    (out, json, dir)
}

#[test]
fn report_has_every_documented_name() {
    let (_, r, _dir) = scan(&["--inventory", &whatif(), "--at", "2026-11-29"]);
    assert_eq!(r["operation"], "Scan");
    assert_eq!(r["operating_system"], "AMAZON_LINUX_2023");
    assert_eq!(
        r["baseline"]["name"],
        "AWS-AmazonLinux2023DefaultPatchBaseline"
    );
    assert!(r["baseline"].get("id").is_some());
    let s = &r["summary"];
    for key in [
        "InstalledCount",
        "InstalledOtherCount",
        "InstalledPendingRebootCount",
        "InstalledRejectedCount",
        "MissingCount",
        "FailedCount",
        "NotApplicableCount",
    ] {
        assert!(s[key].is_u64(), "summary.{key} is a number: {s:#}");
    }
    assert_eq!(s["Compliance"], "NON_COMPLIANT");
    assert_eq!(s["MissingCount"], 3);
    let p = patch(&r, "openssl-libs.x86_64");
    for key in [
        "id",
        "name",
        "arch",
        "state",
        "installed_version",
        "target_version",
        "classification",
        "severity",
        "compliance_level",
        "advisories",
        "cves",
        "reason",
    ] {
        assert!(p.get(key).is_some(), "patches[].{key} missing: {p:#}");
    }
    assert_eq!(p["state"], "Missing");
    assert_eq!(p["installed_version"], "1:3.0.8-1.amzn2023.0.1");
    assert_eq!(p["target_version"], "1:3.0.8-1.amzn2023.0.3");
    assert_eq!(p["classification"], "Security");
    assert_eq!(p["severity"], "Important");
    assert_eq!(p["compliance_level"], "UNSPECIFIED");
    assert_eq!(p["advisories"], serde_json::json!(["ALAS2023-2026-101"]));
    assert_eq!(
        p["cves"],
        serde_json::json!(["CVE-2026-0001", "CVE-2026-0002"])
    );
    for key in ["required", "reasons", "action"] {
        assert!(r["reboot"].get(key).is_some(), "reboot.{key}");
    }
    // Installonly: one kernel entry, judged by the newest installed.
    let k = patch(&r, "kernel.x86_64");
    assert_eq!(k["installed_version"], "6.1.110-1.amzn2023");
    assert_eq!(k["reboot_suggested"], true);
    assert_eq!(patch(&r, "bind-utils.x86_64")["state"], "NotApplicable");
    // The ledger has every version considered.
    let ledger = r["candidates"].as_array().unwrap();
    assert!(ledger
        .iter()
        .any(|c| c["id"] == "vim-minimal.x86_64" && c["approved"] == false));
}

#[test]
fn at_moves_the_approve_after_days_cut_off() {
    // ALAS2023-2026-102 (curl, Bugfix) was issued 2026-11-25: approvable from 2026-12-02.
    let (_, before, _d1) = scan(&["--inventory", &whatif(), "--at", "2026-12-01T23:59:59Z"]);
    let curl = patch(&before, "curl.x86_64");
    assert_eq!(curl["state"], "InstalledOther");
    assert!(
        curl["reason"]
            .as_str()
            .unwrap()
            .contains("approvable from 2026-12-02"),
        "{curl:#}"
    );
    let (_, after, _d2) = scan(&["--inventory", &whatif(), "--at", "2026-12-02"]);
    assert_eq!(patch(&after, "curl.x86_64")["state"], "Missing");
}

#[test]
fn a_baseline_with_rejected_system_release_keeps_it_installed_other() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.json");
    let out = run(patchbaseline().args(["baseline", "default", "--os", "AMAZON_LINUX_2023"]));
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["RejectedPatches"] = serde_json::json!(["system-release.*"]);
    std::fs::write(&b, doc.to_string()).unwrap();
    let (_, r, _d) = scan(&[
        "--inventory",
        &whatif(),
        "--at",
        "2026-11-29",
        "--baseline",
        b.to_str().unwrap(),
    ]);
    let sr = patch(&r, "system-release.noarch");
    assert_eq!(sr["state"], "InstalledOther");
    assert!(
        sr["reason"].as_str().unwrap().contains("system-release.*"),
        "{sr:#}"
    );
}

/// A generated inventory with `n` missing security updates.
fn big_inventory(n: usize) -> tempfile::NamedTempFile {
    let installed: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"name": format!("package-with-a-long-name-{i}"), "arch": "x86_64", "version": "1.0-1"}))
        .collect();
    let available: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"name": format!("package-with-a-long-name-{i}"), "arch": "x86_64", "version": "1.1-1"}))
        .collect();
    let advisories: Vec<Value> = (0..n)
        .map(|i| serde_json::json!({"id": format!("ALAS2023-2026-{i}"), "classification": "Security",
            "severity": "Critical", "issued": "2026-01-01T00:00:00Z",
            "packages": [{"name": format!("package-with-a-long-name-{i}"), "arch": "x86_64", "version": "1.1-1"}]}))
        .collect();
    let inv = serde_json::json!({"family": "rpm", "operating_system": "AMAZON_LINUX_2023",
        "product": "AmazonLinux2023", "installed": installed, "available": available, "advisories": advisories});
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), inv.to_string()).unwrap();
    f
}

#[test]
fn console_summary_fits_the_run_command_console() {
    let inv = big_inventory(400);
    let (out, r, _d) = scan(&["--inventory", inv.path().to_str().unwrap()]);
    assert_eq!(r["summary"]["MissingCount"], 400);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.chars().count() <= 2500,
        "{} characters:\n{text}",
        text.chars().count()
    );
    assert!(text.contains("Compliance: NON_COMPLIANT"), "{text}");
    assert!(text.contains("more in the full report"), "{text}");
    assert!(text.contains("Full report: "), "{text}");
    // A smaller console limit is honoured too.
    let small = run(patchbaseline().args([
        "scan",
        "--inventory",
        inv.path().to_str().unwrap(),
        "--console-limit",
        "700",
    ]));
    assert!(small.stdout.len() <= 700, "{}", show(&small));
    assert!(
        String::from_utf8_lossy(&small.stdout).contains("Missing 400"),
        "{}",
        show(&small)
    );
}

#[test]
fn explain_lists_every_version_with_its_verdict() {
    let out = run(patchbaseline().args([
        "explain",
        "vim-minimal",
        "--inventory",
        &whatif(),
        "--at",
        "2026-11-29",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("vim-minimal.x86_64: InstalledOther"),
        "{text}"
    );
    assert!(text.contains("2:9.1.0000-1.amzn2023"), "{text}");
    assert!(
        text.contains("CLASSIFICATION (none) not in [Security]"),
        "{text}"
    );
    let missing =
        run(patchbaseline().args(["explain", "no-such-package", "--inventory", &whatif()]));
    assert_eq!(missing.status.code(), Some(2), "{}", show(&missing));
}

#[test]
fn a_malformed_inventory_is_invalid_input_naming_the_file() {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), r#"{"family": "rpm", "instaled": []}"#).unwrap();
    let out = run(patchbaseline().args(["scan", "--inventory", f.path().to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(f.path().to_str().unwrap()) && err.contains("instaled"),
        "{err}"
    );
}

#[test]
fn an_inventory_without_a_system_needs_a_baseline_that_names_one() {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), r#"{"family": "deb"}"#).unwrap();
    let out = run(patchbaseline().args(["scan", "--inventory", f.path().to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operating_system"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_baseline_for_another_system_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("debian.json");
    let out = run(patchbaseline().args(["baseline", "default", "--os", "DEBIAN"]));
    std::fs::write(&b, &out.stdout).unwrap();
    let out = run(patchbaseline().args([
        "scan",
        "--inventory",
        &whatif(),
        "--baseline",
        b.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DEBIAN") && err.contains("AMAZON_LINUX_2023"),
        "{err}"
    );
}

#[test]
fn bad_at_and_missing_files_are_invalid_input() {
    let out = run(patchbaseline().args(["scan", "--inventory", &whatif(), "--at", "next tuesday"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let out = run(patchbaseline().args(["scan", "--baseline", "/nonexistent/baseline.json"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/baseline.json"),
        "{}",
        show(&out)
    );
}
