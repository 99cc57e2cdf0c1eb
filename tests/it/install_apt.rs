//! `patchbaseline install` against real apt and dpkg on copies of the fixture root
//! `template-install` (tests/fixtures/deb/build.sh): the scan fixture (see tests/it/apt.rs) plus
//! badpre-sim 1.0-1 installed, whose 2.0-1 (in a third, security-labelled archive) fails in its
//! preinst. Every check of what landed reads the root's dpkg database with dpkg-query, not only
//! our report. Every run passes `--reboot-command` pointing at a recorder script in the test's
//! own directory, so no test can reboot anything.
//!
//! With the predefined Debian baseline (security only) the targets are: linux-image-sim 2.0-1,
//! openssl-sim 1.1-1, curl-sim 2.0-1 (pulls in the new libcurl-sim 2.0-1), ssh-sim
//! 1:9.2p1-2+deb12u1 (the security version, OLDER than the point release's deb12u2),
//! libc-sim 1.0-1+deb12u1, oldlib-sim 1.0-1+deb12u1, badpre-sim 2.0-1 (fails).

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::apt::{all_priorities, chmod_755, debian_baseline, fixtures, in_state, states};
use crate::common::{patch, patchbaseline, read_json, run, show};

/// One test's own copy of `template-install`, with its report file and reboot recorder.
struct Case {
    tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Case {
    fn new(test: &str) -> Option<Case> {
        let fix = fixtures(test)?;
        let tmp = tempfile::tempdir().unwrap();
        chmod_755(tmp.path());
        let root = tmp.path().join("root");
        let out = run(Command::new("cp")
            .arg("-a")
            .arg(fix.dir.join("template-install"))
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
        Some(Case { tmp, root })
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

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `patchbaseline install --root ROOT --no-refresh --report R --reboot-command REC
    /// [--baseline B] EXTRA…`: the process output and the report (Null when none was written).
    fn install(&self, baseline: Option<&Value>, extra: &[&str]) -> (Output, Value) {
        self.command("install", baseline, extra)
    }

    fn scan(&self, baseline: Option<&Value>) -> Value {
        let (out, report) = self.command("scan", baseline, &[]);
        assert!(out.status.success(), "{}", show(&out));
        report
    }

    fn command(&self, op: &str, baseline: Option<&Value>, extra: &[&str]) -> (Output, Value) {
        let report = self.tmp.path().join(format!("{op}.json"));
        let _ = std::fs::remove_file(&report);
        let mut cmd = patchbaseline();
        cmd.arg(op)
            .arg("--no-refresh")
            .arg("--root")
            .arg(&self.root)
            .arg("--report")
            .arg(&report);
        if op == "install" {
            cmd.arg("--reboot-command")
                .arg(self.tmp.path().join("record-reboot.sh"));
        }
        if let Some(b) = baseline {
            let file = self.file("baseline.json", &serde_json::to_string_pretty(b).unwrap());
            cmd.arg("--baseline").arg(file);
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

    /// (version, dpkg status) of `name` in the root's dpkg database; None when not installed.
    fn dpkg(&self, name: &str) -> Option<(String, String)> {
        let out = run(Command::new("dpkg-query")
            .arg(format!(
                "--admindir={}",
                self.root.join("var/lib/dpkg").display()
            ))
            .args(["-W", "-f", "${Version}\t${Status}", name]));
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8(out.stdout).unwrap();
        let (v, s) = text.split_once('\t').unwrap();
        (s != "unknown ok not-installed").then(|| (v.to_string(), s.to_string()))
    }

    /// The installed version of `name`, asserting dpkg considers it fully installed.
    fn version(&self, name: &str) -> Option<String> {
        self.dpkg(name).map(|(v, s)| {
            assert!(s.ends_with(" ok installed"), "{name} {v}: {s}");
            v
        })
    }

    fn audit(&self) -> String {
        let out = run(Command::new("dpkg")
            .arg(format!("--root={}", self.root.display()))
            .arg("--audit"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn status(&self) -> Vec<u8> {
        std::fs::read(self.root.join("var/lib/dpkg/status")).unwrap()
    }
}

/// What this host's dpkg state looks like, to prove an install in a root never reaches it.
struct HostDpkg {
    status: Vec<u8>,
    log_len: u64,
}

impl HostDpkg {
    fn now() -> HostDpkg {
        HostDpkg {
            status: std::fs::read("/var/lib/dpkg/status").unwrap_or_default(),
            log_len: std::fs::metadata("/var/log/dpkg.log").map_or(0, |m| m.len()),
        }
    }

    /// The host's status is unchanged and its dpkg log gained no line about a fixture package
    /// (dpkg's log does not follow --root; only our --log keeps it in the image).
    fn assert_untouched(&self) {
        assert!(
            std::fs::read("/var/lib/dpkg/status").unwrap_or_default() == self.status,
            "the host's dpkg status changed"
        );
        let log = std::fs::read("/var/log/dpkg.log").unwrap_or_default();
        let start = (self.log_len as usize).min(log.len());
        let added = String::from_utf8_lossy(&log[start..]);
        assert!(
            !added.contains("-sim:"),
            "the host's /var/log/dpkg.log was written:\n{added}"
        );
    }
}

fn exit_code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Baseline: every priority, security only, RejectedPatches badpre-sim (so everything can
/// install) plus `extra` fields.
fn clean_baseline(extra: Value) -> Value {
    let mut b = debian_baseline(all_priorities(), false, json!({}));
    b["RejectedPatches"] = json!(["badpre-sim"]);
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[test]
fn install_apt_exact_versions_land_and_a_failing_preinst_fails_alone() {
    let Some(case) = Case::new("install_apt_exact_versions_land_and_a_failing_preinst_fails_alone")
    else {
        return;
    };
    let host = HostDpkg::now();
    let (out, report) = case.install(None, &[]);
    assert_eq!(
        exit_code(&out),
        Some(1),
        "some packages failed\n{}",
        show(&out)
    );

    // In the root's dpkg database: every approved target at EXACTLY its version.
    assert_eq!(case.version("linux-image-sim").unwrap(), "2.0-1");
    assert_eq!(case.version("openssl-sim").unwrap(), "1.1-1");
    assert_eq!(case.version("curl-sim").unwrap(), "2.0-1");
    assert_eq!(
        case.version("ssh-sim").unwrap(),
        "1:9.2p1-2+deb12u1",
        "the approved security version, not the newer point release"
    );
    assert_eq!(case.version("libc-sim").unwrap(), "1.0-1+deb12u1");
    assert_eq!(case.version("oldlib-sim").unwrap(), "1.0-1+deb12u1");
    // The dependency came in; nothing unapproved changed; nothing new was named.
    assert_eq!(case.version("libcurl-sim").unwrap(), "2.0-1");
    assert_eq!(case.version("sysutils-sim").unwrap(), "1.0-1");
    assert_eq!(case.dpkg("newtool-sim"), None);
    // The bad one stayed at its old version, fully installed; dpkg has nothing unfinished.
    assert_eq!(case.version("badpre-sim").unwrap(), "1.0-1");
    assert_eq!(case.audit(), "");

    // The report: operation Install, never Missing; the bad package Failed with dpkg's reason.
    assert_eq!(report["operation"], "Install");
    assert!(in_state(&report, "Missing").is_empty(), "{report:#}");
    assert_eq!(in_state(&report, "Failed"), ["badpre-sim.all"]);
    let bad = patch(&report, "badpre-sim.all");
    let reason = bad["reason"].as_str().unwrap();
    assert!(
        reason.contains("new badpre-sim package pre-installation script subprocess returned error exit status 1"),
        "{reason}"
    );
    assert!(
        reason
            .contains("(it printed: badpre-sim: this fixture upgrade always fails in its preinst)"),
        "what the script said: {reason}"
    );
    let st = states(&report);
    // The kernel-like update needs a reboot: the recorder ran once, after the report was written.
    assert_eq!(st["linux-image-sim.all"].0, "InstalledPendingReboot");
    assert_eq!(report["reboot"]["required"], true);
    assert_eq!(report["reboot"]["action"], "command");
    assert!(
        report["reboot"]["reasons"]
            .to_string()
            .contains("lists linux-image-sim"),
        "{:#}",
        report["reboot"]
    );
    assert_eq!(case.reboot_requests(), 1);
    for id in [
        "openssl-sim.all",
        "curl-sim.all",
        "ssh-sim.all",
        "libc-sim.amd64",
        "oldlib-sim.all",
    ] {
        assert_eq!(st[id].0, "Installed", "{id}: {report:#}");
    }
    assert_eq!(st["libcurl-sim.all"].0, "InstalledOther");
    assert_eq!(report["summary"]["FailedCount"], 1);
    assert_eq!(report["summary"]["MissingCount"], 0);
    let install = &report["install"];
    assert_eq!(install["reboot_option"], "RebootIfNeeded");
    assert_eq!(install["requested"].as_array().unwrap().len(), 7);
    let tx = install["transactions"].as_array().unwrap();
    assert_eq!(
        tx[0]["packages"].as_array().unwrap().len(),
        7,
        "one transaction first"
    );
    assert!(tx.len() >= 2, "the bad package retried alone: {tx:#?}");
    let last = &tx[tx.len() - 1];
    assert_eq!(last["packages"], json!(["badpre-sim.all=2.0-1"]));
    let changed: Vec<&str> = install["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(changed.contains(&"libcurl-sim.all"), "{changed:?}");
    assert!(!changed.contains(&"badpre-sim.all"), "{changed:?}");

    // Everything happened in the root: its own dpkg log, nothing on the host.
    let log = std::fs::read_to_string(case.root.join("var/log/dpkg.log")).unwrap();
    assert!(log.contains("upgrade curl-sim:all 1.0-1 2.0-1"), "{log}");
    host.assert_untouched();
}

#[test]
fn install_apt_second_run_changes_nothing_and_reports_compliant() {
    let Some(case) = Case::new("install_apt_second_run_changes_nothing_and_reports_compliant")
    else {
        return;
    };
    let b = clean_baseline(json!({}));
    let boot = case.boot("boot-1");
    let (out, first) = case.install(Some(&b), &["--boot-id-file", &boot]);
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    // Compliant but for the kernel, which waits for its reboot (the recorder does not reboot).
    assert_eq!(
        in_state(&first, "InstalledPendingReboot"),
        ["linux-image-sim.all"],
        "{first:#}"
    );
    assert_eq!(first["summary"]["MissingCount"], 0);
    assert_eq!(first["summary"]["FailedCount"], 0);
    assert_eq!(case.reboot_requests(), 1);
    let status = case.status();

    // Again in the same boot: nothing changes; the reboot is still needed, so asked for again.
    let (out, second) = case.install(Some(&b), &["--boot-id-file", &boot]);
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    assert_eq!(
        case.status(),
        status,
        "the second run changed dpkg's database"
    );
    assert_eq!(second["install"]["transactions"], json!([]));
    assert_eq!(second["install"]["changed"], json!([]));
    assert_eq!(
        in_state(&second, "InstalledPendingReboot"),
        ["linux-image-sim.all"]
    );
    assert_eq!(case.reboot_requests(), 2);

    // After the reboot: nothing changes, compliant, no reboot.
    let boot = case.boot("boot-2");
    let (out, third) = case.install(Some(&b), &["--boot-id-file", &boot]);
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    assert_eq!(case.status(), status);
    assert_eq!(third["summary"]["Compliance"], "COMPLIANT", "{third:#}");
    assert_eq!(third["install"]["transactions"], json!([]));
    assert_eq!(third["reboot"]["action"], "none");
    assert_eq!(case.reboot_requests(), 2);
    assert_eq!(
        third["summary"]["InstalledCount"],
        first["summary"]["InstalledCount"].as_u64().unwrap() + 1,
        "the kernel is Installed now"
    );
}

#[test]
fn install_apt_block_leaves_out_an_update_needing_a_rejected_package() {
    let Some(case) = Case::new("install_apt_block_leaves_out_an_update_needing_a_rejected_package")
    else {
        return;
    };
    let b = clean_baseline(json!({
        "RejectedPatches": ["badpre-sim", "libcurl-sim"],
        "RejectedPatchesAction": "BLOCK"
    }));
    // Scan: still Missing, and the reason says why install will leave it out.
    let scan = case.scan(Some(&b));
    let curl = patch(&scan, "curl-sim.all");
    assert_eq!(curl["state"], "Missing");
    let reason = curl["reason"].as_str().unwrap();
    assert!(
        reason.contains("would bring in libcurl-sim.all 2.0-1, which matches RejectedPatches[1] \"libcurl-sim\""),
        "{reason}"
    );
    assert!(!patch(&scan, "openssl-sim.all")["reason"]
        .as_str()
        .unwrap()
        .contains("would bring in"),);

    let (out, report) = case.install(Some(&b), &[]);
    assert_eq!(exit_code(&out), Some(1), "{}", show(&out));
    assert_eq!(case.dpkg("libcurl-sim"), None, "BLOCK never lets it in");
    assert_eq!(case.version("curl-sim").unwrap(), "1.0-1");
    assert_eq!(case.version("openssl-sim").unwrap(), "1.1-1");
    assert_eq!(case.version("linux-image-sim").unwrap(), "2.0-1");
    assert_eq!(in_state(&report, "Failed"), ["curl-sim.all"]);
    let reason = patch(&report, "curl-sim.all")["reason"].as_str().unwrap();
    assert!(
        reason.contains("RejectedPatches[1] \"libcurl-sim\""),
        "{reason}"
    );
    assert!(reason.contains("BLOCK"), "{reason}");
    assert!(report["install"]["simulations"].as_u64().unwrap() >= 2);
}

#[test]
fn install_apt_allow_as_dependency_lets_a_rejected_dependency_in() {
    let Some(case) = Case::new("install_apt_allow_as_dependency_lets_a_rejected_dependency_in")
    else {
        return;
    };
    let b = clean_baseline(json!({
        "RejectedPatches": ["badpre-sim", "libcurl-sim"],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"
    }));
    let (out, report) = case.install(Some(&b), &[]);
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    assert_eq!(case.version("curl-sim").unwrap(), "2.0-1");
    assert_eq!(case.version("libcurl-sim").unwrap(), "2.0-1");
    assert_eq!(patch(&report, "curl-sim.all")["state"], "Installed");
    assert_eq!(patch(&report, "libcurl-sim.all")["state"], "InstalledOther");
    assert_eq!(report["summary"]["InstalledRejectedCount"], 0);
    assert_eq!(
        report["install"]["simulations"], 0,
        "no dry runs without BLOCK"
    );
}

#[test]
fn install_apt_held_package_fails_after_halving_and_the_rest_install() {
    let Some(case) = Case::new("install_apt_held_package_fails_after_halving_and_the_rest_install")
    else {
        return;
    };
    // A hold makes apt refuse the WHOLE transaction before dpkg runs: only splitting finds the
    // packages that can install.
    let mut hold = Command::new("dpkg")
        .arg(format!("--root={}", case.root.display()))
        .arg("--set-selections")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut hold.stdin.take().unwrap(), b"openssl-sim hold\n").unwrap();
    assert!(hold.wait().unwrap().success());
    let b = clean_baseline(json!({}));
    let (out, report) = case.install(Some(&b), &[]);
    assert_eq!(exit_code(&out), Some(1), "{}", show(&out));
    assert_eq!(case.version("openssl-sim").unwrap(), "1.0-1");
    for (name, v) in [
        ("linux-image-sim", "2.0-1"),
        ("curl-sim", "2.0-1"),
        ("ssh-sim", "1:9.2p1-2+deb12u1"),
        ("libc-sim", "1.0-1+deb12u1"),
        ("oldlib-sim", "1.0-1+deb12u1"),
    ] {
        assert_eq!(case.version(name).unwrap(), v, "{name}");
    }
    assert_eq!(in_state(&report, "Failed"), ["openssl-sim.all"]);
    let reason = patch(&report, "openssl-sim.all")["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("held by dpkg --set-selections / apt-mark hold: openssl-sim"),
        "{reason}"
    );
    let tx = report["install"]["transactions"].as_array().unwrap();
    let sizes: Vec<usize> = tx
        .iter()
        .map(|t| t["packages"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes[0], 6, "{sizes:?}");
    assert!(sizes.contains(&3), "halved: {sizes:?}");
    assert_eq!(*sizes.last().unwrap(), 1, "{sizes:?}");
    assert!(tx
        .iter()
        .all(|t| t["exit_code"] == 0 || t["exit_code"] == 100));
}

#[test]
fn install_apt_override_list_installs_exactly_the_listed_patches() {
    let Some(case) = Case::new("install_apt_override_list_installs_exactly_the_listed_patches")
    else {
        return;
    };
    // sysutils-sim is not approved (not a security update); ssh-sim is pinned to the point
    // release, not the baseline's security version; openssl-sim by name only.
    let list = case.file(
        "override.yaml",
        "patches:\n  - id: 'sysutils-sim.all'\n  - id: 'ssh-sim.all'\n    title: 'ssh-sim.all:1:9.2p1-2+deb12u2'\n  - id: openssl*\n  - id: nothing-matches.all\n",
    );
    let (out, report) = case.install(None, &["--install-override-list", list.to_str().unwrap()]);
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    assert_eq!(case.version("sysutils-sim").unwrap(), "1.1-1");
    assert_eq!(case.version("ssh-sim").unwrap(), "1:9.2p1-2+deb12u2");
    assert_eq!(case.version("openssl-sim").unwrap(), "1.1-1");
    // Not listed: untouched, and still Missing as far as the baseline is concerned.
    assert_eq!(case.version("curl-sim").unwrap(), "1.0-1");
    assert_eq!(case.version("linux-image-sim").unwrap(), "1.0-1");
    assert_eq!(case.version("badpre-sim").unwrap(), "1.0-1");
    let st = states(&report);
    assert_eq!(st["curl-sim.all"].0, "Missing");
    assert_eq!(st["linux-image-sim.all"].0, "Missing");
    assert_eq!(st["openssl-sim.all"].0, "Installed");
    assert_eq!(
        st["sysutils-sim.all"].0, "InstalledOther",
        "compliance reflects the baseline"
    );
    assert_eq!(report["summary"]["Compliance"], "NON_COMPLIANT");
    assert_eq!(
        report["install"]["install_override_list"],
        list.to_str().unwrap()
    );
    let requested: Vec<&str> = report["install"]["requested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        requested,
        ["openssl-sim.all", "ssh-sim.all", "sysutils-sim.all"]
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("patches[3] (id \"nothing-matches.all\") names no update"),
        "{}",
        show(&out)
    );
}

#[test]
fn install_apt_override_list_failure_is_failed_only_for_listed_packages() {
    let Some(case) =
        Case::new("install_apt_override_list_failure_is_failed_only_for_listed_packages")
    else {
        return;
    };
    let list = case.file(
        "override.yaml",
        "patches:\n- id: badpre-sim.all\n- id: zz*\n",
    );
    let (out, report) = case.install(None, &["--install-override-list", list.to_str().unwrap()]);
    assert_eq!(exit_code(&out), Some(1), "{}", show(&out));
    assert_eq!(in_state(&report, "Failed"), ["badpre-sim.all"]);
    assert!(
        !in_state(&report, "Missing").is_empty(),
        "the unlisted stay Missing"
    );
}

#[test]
fn install_apt_bad_override_list_is_invalid_input_and_changes_nothing() {
    let Some(case) =
        Case::new("install_apt_bad_override_list_is_invalid_input_and_changes_nothing")
    else {
        return;
    };
    let status = case.status();
    let list = case.file(
        "bad.yaml",
        "patches:\n  - id: openssl-sim.all\n  - title: 'curl-sim.all:2.0-1'\n",
    );
    let (out, report) = case.install(None, &["--install-override-list", list.to_str().unwrap()]);
    assert_eq!(exit_code(&out), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(list.to_str().unwrap()), "{err}");
    assert!(err.contains("patches[1]: id is missing"), "{err}");
    assert_eq!(report, Value::Null, "no report for invalid input");
    assert_eq!(case.status(), status);
}

#[test]
fn install_refuses_a_what_if_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.json");
    std::fs::write(&inv, r#"{"family": "deb", "operating_system": "DEBIAN"}"#).unwrap();
    let out = run(patchbaseline()
        .args(["install", "--inventory"])
        .arg(&inv)
        .args(["--reboot-command", "/bin/true"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--inventory is for what-if scans"));
}

#[test]
fn install_reboot_option_takes_the_aws_spellings_only() {
    let out = run(patchbaseline().args(["install", "--reboot-option", "Sometimes"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("RebootIfNeeded") && err.contains("NoReboot"),
        "{err}"
    );
}

#[test]
fn run_operation_install_takes_the_install_path_and_writes_the_aws_files() {
    let Some(case) =
        Case::new("run_operation_install_takes_the_install_path_and_writes_the_aws_files")
    else {
        return;
    };
    let baseline = case.file(
        "override.json",
        &serde_json::to_string(&json!([clean_baseline(json!({}))])).unwrap(),
    );
    let inventory = case.tmp.path().join("aws-inventory.json");
    let report = case.tmp.path().join("report.json");
    // NoReboot: `run` has no --reboot-command, and an image root is never rebooted anyway.
    let out = run(patchbaseline()
        .args([
            "run",
            "--operation",
            "Install",
            "--reboot-option",
            "NoReboot",
        ])
        .arg("--root")
        .arg(&case.root)
        .arg("--no-refresh")
        .arg("--baseline-override")
        .arg(&baseline)
        .args(["--instance-id", "i-0123456789abcdef0", "--aws-inventory"])
        .arg(&inventory)
        .arg("--report")
        .arg(&report));
    assert_eq!(exit_code(&out), Some(0), "{}", show(&out));
    assert_eq!(case.version("openssl-sim").unwrap(), "1.1-1");
    let r = read_json(&report);
    assert_eq!(r["operation"], "Install");
    assert_eq!(r["install"]["reboot_option"], "NoReboot");
    let summary = &read_json(&inventory)["Items"][0]["Content"][0];
    assert_eq!(summary["OperationType"], "Install");
    assert_eq!(summary["RebootOption"], "NoReboot");
    assert_eq!(summary["MissingCount"], "0");
}

/// apt-daily (here a helper holding dpkg's frontend lock) starts after the run checked the
/// locks, during the refresh: the wait right before the first transaction names it (exit 4), and
/// an apt-get that still meets the lock (it waits `DPkg::Lock::Timeout`, then fails) is a lock
/// timeout too: no split, nothing Failed, nothing installed.
#[test]
fn install_apt_lock_taken_after_the_first_check_is_a_lock_timeout_not_failures() {
    let Some(case) =
        Case::new("install_apt_lock_taken_after_the_first_check_is_a_lock_timeout_not_failures")
    else {
        return;
    };
    let ev = patchbaseline::app::gather(&patchbaseline::cli::ScanArgs {
        baseline: None,
        root: Some(case.root.clone()),
        report: None,
        no_refresh: true,
        inventory: None,
        at: None,
        console_limit: 2500,
        boot_id_file: None,
    })
    .unwrap();
    let before = case.status();
    let mut holder =
        crate::state::LockHolder::hold(&case.root.join("var/lib/dpkg/lock-frontend"), "fcntl");
    let timeout = std::time::Duration::from_secs(1);
    let flow = patchbaseline::reboot::Flow {
        root: &case.root,
        family: patchbaseline::model::Family::Deb,
        boot_id_file: None,
        lock_timeout: timeout,
        dpkg_repair: patchbaseline::lock::DpkgRepair::Refuse,
        reboot_if_needed: false,
        reboot_command: Some("false"),
        ssm: None,
        started_at: chrono::Utc::now(),
    };
    let e = patchbaseline::reboot::before_install(&flow).unwrap_err();
    assert_eq!(e.exit_code(), 4, "{e}");
    assert!(e.message.contains(&format!("pid {}", holder.pid())), "{e}");

    // Past that check (the lock taken a moment later): apt-get's own lock error.
    let r = patchbaseline::install::run(
        &ev,
        &patchbaseline::install::Options {
            reboot_option: "NoReboot",
            reboot_command: None,
            override_list: None,
            lock_timeout: timeout,
        },
    );
    let e = match r {
        Ok(o) => panic!(
            "a held lock is not a package failure: {:?}",
            o.report.install.map(|i| i.transactions)
        ),
        Err(e) => e,
    };
    assert_eq!(e.exit_code(), 4, "{e}");
    assert!(
        e.message.contains(&format!("pid {}", holder.pid())),
        "the holder is named: {e}"
    );
    assert!(holder.still_running(), "never killed");
    assert_eq!(case.status(), before, "nothing installed");
    assert_eq!(case.reboot_requests(), 0);
}

/// A bad baseline is exit 2 before any lock, wait or state write: even with dpkg's lock held
/// (which would be a wait and exit 4 were the baseline read after it).
#[test]
fn install_apt_bad_baseline_is_exit_2_before_waiting_for_a_held_lock() {
    let Some(case) = Case::new("install_apt_bad_baseline_is_exit_2_before_waiting_for_a_held_lock")
    else {
        return;
    };
    let _holder =
        crate::state::LockHolder::hold(&case.root.join("var/lib/dpkg/lock-frontend"), "fcntl");
    let bad = case.file("bad-baseline.json", "{\"OperatingSystem\": ");
    let (out, report) = case.install(
        None,
        &["--baseline", bad.to_str().unwrap(), "--lock-timeout", "5"],
    );
    assert_eq!(exit_code(&out), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad-baseline.json"),
        "{}",
        show(&out)
    );
    assert!(report.is_null());
    assert!(
        !case.root.join("var/lib/patchbaseline/state.json").exists(),
        "no state written"
    );
    assert_eq!(case.reboot_requests(), 0);
}

/// The SSM agent's re-run after the reboot a failing install asked for (exit 194; an image
/// root, so the reboot is only that exit code) installs nothing and keeps the failure: an
/// Install report never contains Missing.
#[test]
fn install_apt_rerun_after_the_ssm_reboot_keeps_failed_packages_failed() {
    let Some(case) =
        Case::new("install_apt_rerun_after_the_ssm_reboot_keeps_failed_packages_failed")
    else {
        return;
    };
    let boot = case.boot("boot-1");
    let report = case.tmp.path().join("install.json");
    let ssm_install = || {
        let mut cmd = patchbaseline();
        cmd.env("AWS_SSM_INSTANCE_ID", "i-0fixture")
            .env("SSM_COMMAND_ID", "cmd-1")
            .args([
                "install",
                "--no-refresh",
                "--reboot-option",
                "RebootIfNeeded",
            ])
            .arg("--root")
            .arg(&case.root)
            .arg("--boot-id-file")
            .arg(&boot)
            .arg("--report")
            .arg(&report);
        let out = run(&mut cmd);
        (out, read_json(&report))
    };
    let (out, first) = ssm_install();
    assert_eq!(exit_code(&out), Some(194), "{}", show(&out));
    assert_eq!(patch(&first, "badpre-sim.all")["state"], "Failed");

    case.boot("boot-2");
    let _ = std::fs::remove_file(case.root.join("run/reboot-required"));
    let (out, rerun) = ssm_install();
    assert_eq!(
        exit_code(&out),
        Some(1),
        "the install's own code: {}",
        show(&out)
    );
    let badpre = patch(&rerun, "badpre-sim.all");
    assert_eq!(badpre["state"], "Failed", "{rerun:#}");
    assert!(
        badpre["reason"]
            .as_str()
            .unwrap()
            .contains("not installed by the run before the reboot"),
        "{badpre:#}"
    );
    assert_eq!(
        in_state(&rerun, "Missing"),
        Vec::<String>::new(),
        "{rerun:#}"
    );
    assert_eq!(case.reboot_requests(), 0);
}

/// AWS's LastNoRebootInstallOperationTime: recorded by a NoReboot install, in its own
/// AWS:PatchSummary and in a later scan's.
#[test]
fn install_apt_no_reboot_time_reaches_the_aws_patch_summary() {
    let Some(case) = Case::new("install_apt_no_reboot_time_reaches_the_aws_patch_summary") else {
        return;
    };
    let boot = case.boot("boot-1");
    let aws = case.tmp.path().join("aws-inventory.json");
    let aws_arg = aws.to_str().unwrap();
    let fleet = [
        "--aws-inventory",
        aws_arg,
        "--instance-id",
        "i-0123456789abcdef0",
        "--boot-id-file",
        boot.as_str(),
    ];
    let summary = || {
        let inv = read_json(&aws);
        let item = inv["Items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["TypeName"] == "AWS:PatchSummary")
            .cloned()
            .unwrap_or_else(|| panic!("no AWS:PatchSummary: {inv:#}"));
        item["Content"][0].clone()
    };
    let mut args = vec!["--reboot-option", "NoReboot"];
    args.extend(fleet);
    let (out, _) = case.install(None, &args);
    assert_eq!(exit_code(&out), Some(1), "badpre-sim fails: {}", show(&out));
    let installed = summary();
    let at = installed["LastNoRebootInstallOperationTime"]
        .as_str()
        .unwrap_or_else(|| panic!("{installed:#}"))
        .to_string();

    let (out, _) = case.command("scan", None, &fleet);
    assert!(out.status.success(), "{}", show(&out));
    let scanned = summary();
    assert_eq!(scanned["OperationType"], "Scan");
    assert_eq!(
        scanned["LastNoRebootInstallOperationTime"], at,
        "{scanned:#}"
    );
}

/// The run lock and the state file of an image are never followed through a symbolic link out
/// of the root: the file it points to is untouched and the run stops with a clear error.
#[test]
fn install_apt_refuses_a_state_symlink_leading_out_of_the_root() {
    let Some(case) = Case::new("install_apt_refuses_a_state_symlink_leading_out_of_the_root")
    else {
        return;
    };
    let state_dir = case.root.join("var/lib/patchbaseline");
    for name in ["lock", "state.json"] {
        std::fs::create_dir_all(&state_dir).unwrap();
        let outside = case.file(&format!("outside-{name}"), "precious\n");
        let link = state_dir.join(name);
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let (out, report) = case.install(None, &["--reboot-option", "NoReboot"]);
        assert_eq!(exit_code(&out), Some(3), "{name}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("symbolic link") && stderr.contains(name),
            "{name}: {}",
            show(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            "precious\n",
            "{name}: the file outside the root is untouched"
        );
        assert!(report.is_null(), "{name}: nothing was installed");
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(case.version("badpre-sim").as_deref(), Some("1.0-1"));
}
