//! `patchbaseline install` against real dnf and rpm on copies of the fixture root
//! `template-install` (tests/fixtures/rpm/build.sh): the dnf scan fixture (see tests/it/dnf.rs)
//! plus a repository with curl-sim 2.1-1 (Requires: libcurl-sim >= 2.1, a new package),
//! badpre-sim 2.0-1 (its Lua `%pre` fails inside a fixture root) and their advisories, and
//! badpre-sim 1.0-1 installed. What landed is read from the root's rpm database with `rpm -q`,
//! not only from our report. Every run passes `--reboot-command` pointing at a recorder script
//! in the test's own directory.
//!
//! With [`security_baseline`] (Security, Critical/Important, no delay) the targets are kernel
//! 1.2-1 (installonly: installed beside 1.0-1 and 1.1-1), openssl-sim 1.2-1 (not 1.1-1, the
//! older approved version), curl-sim 2.1-1 (pulls in libcurl-sim 2.1-1) and badpre-sim 2.0-1
//! (fails).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{patch, read_json, run, show};
use crate::dnf::{fixture, Fixture};

struct Case {
    fix: &'static Fixture,
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Case {
    fn new(test: &str) -> Option<Case> {
        Case::from_template(test, "template-install")
    }

    /// A copy of the fixture's root `template` (build.sh).
    fn from_template(test: &str, template: &str) -> Option<Case> {
        let fix = fixture(test)?;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let out = run(Command::new("cp")
            .arg("-a")
            .arg(fix.dir.join(template))
            .arg(&root));
        assert!(out.status.success(), "{}", show(&out));
        assert!(root.join("etc/fixture-root").exists());
        let recorder = tmp.path().join("record-reboot.sh");
        std::fs::write(
            &recorder,
            "#!/bin/sh\necho \"reboot requested $*\" >>\"$(dirname \"$0\")/reboot-requests\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(Case { fix, tmp, root })
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `patchbaseline OP --root ROOT --no-refresh --report R --baseline B [--reboot-command REC]
    /// EXTRA…` with HOME at the fixture's .rpmmacros: the output and the report (Null if none).
    fn command(&self, op: &str, baseline: &Value, extra: &[&str]) -> (Output, Value) {
        let report = self.tmp.path().join(format!("{op}.json"));
        let _ = std::fs::remove_file(&report);
        let b = self.file("baseline.json", &baseline.to_string());
        let mut cmd = self.fix.cli();
        cmd.arg(op)
            .arg("--no-refresh")
            .arg("--root")
            .arg(&self.root)
            .arg("--report")
            .arg(&report)
            .arg("--baseline")
            .arg(b);
        if op == "install" {
            cmd.arg("--reboot-command")
                .arg(self.tmp.path().join("record-reboot.sh"));
        }
        cmd.args(extra);
        let out = run(&mut cmd);
        let value = if report.exists() {
            read_json(&report)
        } else {
            Value::Null
        };
        (out, value)
    }

    /// How many times the reboot command ran.
    fn reboot_requests(&self) -> usize {
        std::fs::read_to_string(self.tmp.path().join("reboot-requests"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// A boot id file for `--boot-id-file` (a different id simulates a reboot).
    fn boot(&self, id: &str) -> String {
        self.file("boot_id", &format!("{id}\n"))
            .display()
            .to_string()
    }

    fn install(&self, baseline: &Value, extra: &[&str]) -> (Output, Value) {
        self.command("install", baseline, extra)
    }

    /// Every installed version of `name` in the root's rpm database (`rpm -q`), sorted.
    fn rpm_q(&self, name: &str) -> Vec<String> {
        let out = run(Command::new("rpm")
            .env("HOME", &self.fix.home)
            .arg("--root")
            .arg(&self.root)
            .args([
                "--dbpath",
                "/var/lib/rpm",
                "-q",
                "--qf",
                "%{VERSION}-%{RELEASE}\\n",
                name,
            ]));
        if !out.status.success() {
            return Vec::new();
        }
        let mut v: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// The whole rpm database: every package with its install time.
    fn rpmdb(&self) -> String {
        let out = run(Command::new("rpm")
            .env("HOME", &self.fix.home)
            .arg("--root")
            .arg(&self.root)
            .args([
                "--dbpath",
                "/var/lib/rpm",
                "-qa",
                "--qf",
                "%{NEVRA} %{INSTALLTIME}\\n",
            ]));
        assert!(out.status.success(), "{}", show(&out));
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

/// AMAZON_LINUX_2023: Security with severity Critical or Important, no delay, plus `extra`.
fn security_baseline(extra: Value) -> Value {
    let mut b = json!({
        "Name": "fixture-al2023-security",
        "OperatingSystem": "AMAZON_LINUX_2023",
        "ApprovalRules": {"PatchRules": [{
            "PatchFilterGroup": {"PatchFilters": [
                {"Key": "CLASSIFICATION", "Values": ["Security"]},
                {"Key": "SEVERITY", "Values": ["Critical", "Important"]}
            ]},
            "ApproveAfterDays": 0,
            "ComplianceLevel": "HIGH"
        }]},
        "RejectedPatches": [],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn ids_in(report: &Value, state: &str) -> Vec<String> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == state)
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// archmove-sim 1.0-1.x86_64 installed, 2.0-1.noarch offered in a Security/Important notice:
/// dnf treats it as an upgrade, so the update must be Missing under the installed arch (not
/// hidden as archmove-sim.noarch NotApplicable beside archmove-sim.x86_64 InstalledOther), and
/// the install must ask dnf for the version that exists (there is no 2.0-1.x86_64).
#[test]
fn install_dnf_update_that_changes_arch_is_missing_then_installed() {
    let Some(case) = Case::from_template(
        "install_dnf_update_that_changes_arch_is_missing_then_installed",
        "template-archmove",
    ) else {
        return;
    };
    assert_eq!(case.rpm_q("archmove-sim"), ["1.0-1"]);
    let (out, scan) = case.command("scan", &security_baseline(json!({})), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let p = patch(&scan, "archmove-sim.x86_64");
    assert_eq!(p["state"], "Missing", "{p}");
    assert_eq!(p["target_version"], "2.0-1", "{p}");
    assert_eq!(p["installed_version"], "1.0-1", "{p}");
    assert!(
        ids_in(&scan, "NotApplicable")
            .iter()
            .all(|id| id != "archmove-sim.noarch"),
        "{scan:#}"
    );

    let (out, report) = case.install(&security_baseline(json!({})), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.rpm_q("archmove-sim"), ["2.0-1"]);
    assert!(ids_in(&report, "Failed").is_empty(), "{report:#}");
    assert!(ids_in(&report, "Missing").is_empty(), "{report:#}");
}

#[test]
fn install_dnf_exact_versions_land_and_a_failing_pre_fails_alone() {
    let Some(case) = Case::new("install_dnf_exact_versions_land_and_a_failing_pre_fails_alone")
    else {
        return;
    };
    let (out, report) = case.install(&security_baseline(json!({})), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some packages failed\n{}",
        show(&out)
    );

    // The root's rpm database: exactly the target versions.
    assert_eq!(
        case.rpm_q("kernel"),
        ["1.0-1", "1.1-1", "1.2-1"],
        "installonly: beside"
    );
    assert_eq!(
        case.rpm_q("openssl-sim"),
        ["1.2-1"],
        "the newest approved, exactly"
    );
    assert_eq!(case.rpm_q("curl-sim"), ["2.1-1"]);
    assert_eq!(
        case.rpm_q("libcurl-sim"),
        ["2.1-1"],
        "the dependency came in"
    );
    assert_eq!(
        case.rpm_q("badpre-sim"),
        ["1.0-1"],
        "the failed upgrade left the old one"
    );
    assert_eq!(case.rpm_q("zlib-sim"), ["1.0-1"], "not approved: untouched");
    assert!(
        case.rpm_q("nginx-sim").is_empty(),
        "not installed: never named"
    );

    assert_eq!(report["operation"], "Install");
    assert!(ids_in(&report, "Missing").is_empty(), "{report:#}");
    assert_eq!(ids_in(&report, "Failed"), ["badpre-sim.noarch"]);
    let reason = patch(&report, "badpre-sim.noarch")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("badpre-sim: fixture %pre refuses")
            && reason.contains("this fixture upgrade always fails in its %pre"),
        "{reason}"
    );
    for id in ["openssl-sim.noarch", "curl-sim.noarch"] {
        assert_eq!(patch(&report, id)["state"], "Installed", "{id}");
    }
    // The kernel is in a reboot_suggested advisory: the recorder ran once.
    assert_eq!(
        patch(&report, "kernel.noarch")["state"],
        "InstalledPendingReboot"
    );
    assert_eq!(report["reboot"]["action"], "command");
    assert!(
        report["reboot"]["reasons"]
            .to_string()
            .contains("advisory FXSA-2024:0001 suggests a reboot"),
        "{:#}",
        report["reboot"]
    );
    assert_eq!(case.reboot_requests(), 1);
    assert_eq!(
        patch(&report, "libcurl-sim.noarch")["state"],
        "InstalledOther"
    );
    let tx = report["install"]["transactions"].as_array().unwrap();
    assert_eq!(tx[0]["packages"].as_array().unwrap().len(), 4, "{tx:#?}");
    assert!(tx[0]["command"]
        .as_str()
        .unwrap()
        // Names installed under one arch are asked for without it (src/backend/dnf_install.rs).
        .contains("upgrade badpre-sim-0:2.0-1 curl-sim-0:2.1-1"));
    assert_eq!(
        tx[tx.len() - 1]["packages"],
        json!(["badpre-sim.noarch=2.0-1"])
    );
    // dnf's own logs stayed in the root.
    let log = std::fs::read_to_string(case.root.join("var/log/dnf.rpm.log")).unwrap();
    assert!(log.contains("curl-sim-2.1-1.noarch"), "{log}");
}

#[test]
fn install_dnf_second_run_changes_nothing_and_reports_compliant() {
    let Some(case) = Case::new("install_dnf_second_run_changes_nothing_and_reports_compliant")
    else {
        return;
    };
    let b = security_baseline(json!({"RejectedPatches": ["badpre-sim"]}));
    let boot = case.boot("boot-1");
    let (out, first) = case.install(&b, &["--boot-id-file", &boot]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Compliant but for the kernel, which waits for its reboot (the recorder does not reboot).
    assert_eq!(
        ids_in(&first, "InstalledPendingReboot"),
        ["kernel.noarch"],
        "{first:#}"
    );
    assert_eq!(first["summary"]["MissingCount"], 0);
    assert_eq!(case.reboot_requests(), 1);
    let db = case.rpmdb();

    // Again in the same boot: nothing changes; the reboot is still needed, so asked for again.
    let (out, second) = case.install(&b, &["--boot-id-file", &boot]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.rpmdb(), db, "the second run changed the rpm database");
    assert_eq!(second["install"]["transactions"], json!([]));
    assert_eq!(second["install"]["changed"], json!([]));
    assert_eq!(ids_in(&second, "InstalledPendingReboot"), ["kernel.noarch"]);
    assert_eq!(case.reboot_requests(), 2);

    // After the reboot: nothing changes, compliant, no reboot.
    let boot = case.boot("boot-2");
    let (out, third) = case.install(&b, &["--boot-id-file", &boot]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.rpmdb(), db);
    assert_eq!(third["summary"]["Compliance"], "COMPLIANT", "{third:#}");
    assert_eq!(third["install"]["transactions"], json!([]));
    assert_eq!(third["reboot"]["action"], "none");
    assert_eq!(case.reboot_requests(), 2);
}

#[test]
fn install_dnf_block_leaves_out_an_update_needing_a_rejected_package() {
    let Some(case) = Case::new("install_dnf_block_leaves_out_an_update_needing_a_rejected_package")
    else {
        return;
    };
    let b = security_baseline(json!({
        "RejectedPatches": ["badpre-sim", "libcurl-sim"],
        "RejectedPatchesAction": "BLOCK"
    }));
    let (out, scan) = case.command("scan", &b, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let reason = patch(&scan, "curl-sim.noarch")["reason"].as_str().unwrap();
    assert_eq!(patch(&scan, "curl-sim.noarch")["state"], "Missing");
    assert!(
        reason.contains(
            "would bring in libcurl-sim.noarch 2.1-1, which matches RejectedPatches[1] \"libcurl-sim\""
        ),
        "{reason}"
    );

    let (out, report) = case.install(&b, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        case.rpm_q("libcurl-sim").is_empty(),
        "BLOCK never lets it in"
    );
    assert_eq!(case.rpm_q("curl-sim"), ["1.0-1"]);
    assert_eq!(case.rpm_q("openssl-sim"), ["1.2-1"]);
    assert_eq!(ids_in(&report, "Failed"), ["curl-sim.noarch"]);
    let reason = patch(&report, "curl-sim.noarch")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("RejectedPatches[1] \"libcurl-sim\""),
        "{reason}"
    );
}

#[test]
fn install_dnf_allow_as_dependency_lets_a_rejected_dependency_in() {
    let Some(case) = Case::new("install_dnf_allow_as_dependency_lets_a_rejected_dependency_in")
    else {
        return;
    };
    let b = security_baseline(json!({
        "RejectedPatches": ["badpre-sim", "libcurl-sim"],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"
    }));
    let (out, report) = case.install(&b, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.rpm_q("libcurl-sim"), ["2.1-1"]);
    assert_eq!(case.rpm_q("curl-sim"), ["2.1-1"]);
    assert_eq!(
        patch(&report, "libcurl-sim.noarch")["state"],
        "InstalledOther"
    );
    assert_eq!(report["summary"]["InstalledRejectedCount"], 0);
}

#[test]
fn install_dnf_override_list_installs_exactly_the_listed_patches() {
    let Some(case) = Case::new("install_dnf_override_list_installs_exactly_the_listed_patches")
    else {
        return;
    };
    // zlib-sim 1.1-1 is not approved (Moderate); openssl-sim is pinned to 1.1-1, older than the
    // baseline's target 1.2-1; nothing else is listed.
    let list = case.file(
        "override.yaml",
        "patches:\n  - id: zlib-sim.noarch\n  - id: openssl-sim.noarch\n    title: 'openssl-sim.noarch:0:1.1-1'\n",
    );
    let (out, report) = case.install(
        &security_baseline(json!({})),
        &["--install-override-list", list.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(case.rpm_q("zlib-sim"), ["1.1-1"]);
    assert_eq!(case.rpm_q("openssl-sim"), ["1.1-1"]);
    assert_eq!(case.rpm_q("curl-sim"), ["1.0-1"]);
    assert_eq!(case.rpm_q("kernel"), ["1.0-1", "1.1-1"]);
    // Compliance still reflects the baseline.
    assert_eq!(patch(&report, "openssl-sim.noarch")["state"], "Missing");
    assert_eq!(patch(&report, "zlib-sim.noarch")["state"], "InstalledOther");
    assert_eq!(patch(&report, "kernel.noarch")["state"], "Missing");
    assert_eq!(
        report["install"]["requested"],
        json!([
            {"id": "openssl-sim.noarch", "from": "1.0-1", "to": "1.1-1"},
            {"id": "zlib-sim.noarch", "from": "1.0-1", "to": "1.1-1"}
        ])
    );
}
