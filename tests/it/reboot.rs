//! Reboot detection and the reboot action on real fixture roots, driven through
//! `reboot::prepare` and `reboot::finish` the way the install command calls them, with the real
//! package manager as the install step: `dpkg -i` on the apt fixtures (whose linux-image-sim
//! postinst writes ROOT/run/reboot-required(.pkgs) on upgrade, as Debian's kernel hooks do) and
//! `dnf install NEVRA` on the RPM fixtures (whose kernel 1.2-1 update is in advisory
//! FXSA-2024:0001 with reboot_suggested).
//!
//! Nothing here can reboot anything: every run either passes a reboot command that only records
//! its invocation into a temporary file, or runs "under the SSM agent", where the reboot is the
//! exit code 194 returned to the test. All systems are image roots (never `/`), for which the
//! host reboot is unreachable (see the unit tests in src/reboot.rs). The boot id comes from a
//! file the test rewrites to simulate a reboot.

use std::path::{Path, PathBuf};

use chrono::Utc;
use patchbaseline::app::{gather, report_of};
use patchbaseline::cli::ScanArgs;
use patchbaseline::error::Result;
use patchbaseline::lock::DpkgRepair;
use patchbaseline::model::Family;
use patchbaseline::reboot::{self, Finish, Flow, Prepared, SsmAgent};
use patchbaseline::report::{Operation, Report};
use patchbaseline::state::{Scope, State, StateDir};
use serde_json::Value;

use crate::apt::Case;
use crate::common::{patch, patchbaseline, read_json, run, show};

/// The fixture root of one test and its package manager.
enum Pm {
    Deb(Case),
    Rpm(&'static crate::dnf::Fixture, crate::dnf::TestRoot),
}

/// One fixture root, its simulated boot id and the reboot recorder's log.
struct Sim {
    pm: Pm,
    family: Family,
    boot: PathBuf,
    log: PathBuf,
}
/// How a run is asked to behave.
#[derive(Clone, Copy)]
struct Opts<'a> {
    reboot_if_needed: bool,
    /// Pass the recording `--reboot-command`.
    command: bool,
    /// Run as under the SSM agent with this SSM_COMMAND_ID.
    ssm: Option<&'a str>,
}

const IF_NEEDED: Opts = Opts {
    reboot_if_needed: true,
    command: true,
    ssm: None,
};
const NO_REBOOT: Opts = Opts {
    reboot_if_needed: false,
    command: true,
    ssm: None,
};

fn ssm(command_id: &str) -> Opts<'_> {
    Opts {
        reboot_if_needed: true,
        command: false,
        ssm: Some(command_id),
    }
}

impl Sim {
    /// An apt fixture root (v1 installed).
    fn new(test: &str) -> Option<Sim> {
        Some(Sim::with(Pm::Deb(Case::new(test)?), Family::Deb))
    }

    /// An RPM fixture root (Amazon Linux 2023, v1 installed, dnf metadata cached).
    fn rpm(test: &str) -> Option<Sim> {
        let fix = crate::dnf::fixture(test)?;
        Some(Sim::with(Pm::Rpm(fix, fix.root()), Family::Rpm))
    }

    fn with(pm: Pm, family: Family) -> Sim {
        let tmp = match &pm {
            Pm::Deb(case) => case.tmp.path().to_path_buf(),
            Pm::Rpm(_, r) => r.tmp.path().to_path_buf(),
        };
        let sim = Sim {
            pm,
            family,
            boot: tmp.join("boot_id"),
            log: tmp.join("reboots.log"),
        };
        sim.set_boot("boot-1");
        sim
    }

    fn root(&self) -> &Path {
        match &self.pm {
            Pm::Deb(case) => &case.root,
            Pm::Rpm(_, r) => &r.root,
        }
    }

    fn tmp(&self) -> &Path {
        self.boot.parent().unwrap()
    }

    /// Simulate a reboot (or say which boot this is).
    fn set_boot(&self, id: &str) {
        std::fs::write(&self.boot, format!("{id}\n")).unwrap();
    }

    /// The reboot command: one line per invocation, the reasons joined by `|`, then whether
    /// the report was already on disk and said so.
    fn recorder(&self) -> String {
        format!(
            "printf '%s\\t%s\\n' \"$(printf '%s' \"$PATCHBASELINE_REBOOT_REASONS\" | tr '\\n' '|')\" \
             \"$(grep -c '\"action\": *\"command\"' \"$PATCHBASELINE_REPORT\")\" >> {}",
            self.log.display()
        )
    }

    fn invocations(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn report_path(&self) -> PathBuf {
        self.tmp().join("install.json")
    }

    fn gather(&self) -> patchbaseline::app::Evaluated {
        gather(&ScanArgs {
            baseline: None,
            root: Some(self.root().to_path_buf()),
            report: None,
            no_refresh: true,
            inventory: None,
            at: None,
            console_limit: 2500,
            boot_id_file: Some(self.boot.clone()),
        })
        .unwrap()
    }

    /// The install step: `dpkg -i` of fixture .debs, or `dnf install` of NEVRAs.
    fn install_packages(&self, packages: &[&str]) {
        if packages.is_empty() {
            return;
        }
        let root = self.root().display().to_string();
        let cmd = match &self.pm {
            Pm::Deb(case) => patchbaseline::exec::Cmd::new("dpkg")
                .arg(format!("--root={root}"))
                .arg(format!("--log={root}/var/log/dpkg.log"))
                .args(["--force-script-chrootless", "-i"])
                .args(packages.iter().map(|d| case.fix.dir.join("debs").join(d))),
            Pm::Rpm(fix, _) => patchbaseline::exec::Cmd::new("dnf")
                .env("HOME", &fix.home)
                .args(["-y", "-q", "-C", "--disableplugin=*", "--releasever=2023"])
                .arg(format!("--config={root}/etc/dnf/dnf.conf"))
                .arg(format!("--setopt=reposdir={root}/etc/yum.repos.d"))
                .arg(format!("--installroot={root}"))
                .arg("install")
                .args(packages),
        };
        let out = cmd.own_process_group().output().unwrap();
        assert_eq!(out.code(), Some(0), "{}", out.stderr_str());
    }

    /// One install run as the install command does it: prepare; install `packages` (unless this
    /// is the re-run after a reboot); finish; write the report; perform. The exit code and the
    /// report written.
    fn install(&self, packages: &[&str], o: Opts) -> Result<(i32, Option<Report>)> {
        self.install_then(packages, o, || {})
    }

    /// [`Sim::install`] with `after_install` called between the install step and `finish`.
    fn install_then(
        &self,
        packages: &[&str],
        o: Opts,
        after_install: impl FnOnce(),
    ) -> Result<(i32, Option<Report>)> {
        let recorder = self.recorder();
        let flow = Flow {
            root: self.root(),
            family: self.family,
            boot_id_file: Some(&self.boot),
            lock_timeout: std::time::Duration::from_secs(30),
            dpkg_repair: DpkgRepair::Refuse,
            reboot_if_needed: o.reboot_if_needed,
            reboot_command: o.command.then_some(recorder.as_str()),
            ssm: o.ssm.map(|id| SsmAgent {
                instance_id: "i-0fixture".into(),
                command_id: Some(id.into()),
            }),
            started_at: Utc::now(),
        };
        let (mut session, after, changed, exit_code, after_reboot) = match reboot::prepare(&flow)? {
            Prepared::AskAgain(_) => return Ok((194, None)),
            Prepared::AfterReboot(session, req) => {
                (session, self.gather(), Vec::new(), req.exit_code, true)
            }
            Prepared::Install(session) => {
                reboot::before_install(&flow)?;
                let before = self.gather();
                self.install_packages(packages);
                after_install();
                let after = self.gather();
                let changed = reboot::changes(
                    self.family,
                    &before.inventory.installed,
                    &after.inventory.installed,
                );
                (session, after, changed, 0, false)
            }
        };
        let mut report = report_of(&after, Operation::Install);
        let finished = reboot::finish(
            &mut session,
            &mut report,
            &flow,
            &Finish {
                changed: &changed,
                after: &after.inventory,
                exit_code,
                after_reboot,
            },
        )?;
        patchbaseline::fsutil::write_atomic(&self.report_path(), report.to_json().as_bytes())
            .unwrap();
        let code = finished.perform(&flow, Some(&self.report_path()), finished.exit_code)?;
        Ok((code, Some(report)))
    }

    fn state(&self) -> State {
        State::load(&StateDir::for_root(self.root()), Utc::now()).unwrap()
    }

    /// `patchbaseline scan` of the root in the current boot.
    fn scan(&self) -> Value {
        let report = self.tmp().join("scan.json");
        let out = run(patchbaseline()
            .args(["scan", "--no-refresh", "--root"])
            .arg(self.root())
            .arg("--boot-id-file")
            .arg(&self.boot)
            .arg("--report")
            .arg(&report));
        assert!(out.status.success(), "{}", show(&out));
        read_json(&report)
    }

    /// The installed version(s) of a package, from the package database itself.
    fn installed_version(&self, package: &str) -> String {
        let mut cmd = match &self.pm {
            Pm::Deb(_) => {
                let mut c = std::process::Command::new("dpkg-query");
                c.arg(format!("--admindir={}/var/lib/dpkg", self.root().display()))
                    .args(["-W", "-f", "${Version}", package]);
                c
            }
            Pm::Rpm(fix, _) => {
                let mut c = std::process::Command::new("rpm");
                c.env("HOME", &fix.home)
                    .arg("--root")
                    .arg(self.root())
                    .args(["--dbpath", "/var/lib/rpm", "-q", "--qf"])
                    .arg("%{VERSION}-%{RELEASE} ")
                    .arg(package);
                c
            }
        };
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

const KERNEL: &str = "linux-image-sim_2.0-1_all.deb";
const OPENSSL: &str = "openssl-sim_1.1-1_all.deb";

fn state_of(report: &Report, id: &str) -> String {
    report
        .patches
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no {id} in the report"))
        .state
        .to_string()
}

#[test]
fn kernel_update_with_reboot_if_needed_runs_the_reboot_command_once() {
    let Some(sim) = Sim::new("kernel_update_with_reboot_if_needed_runs_the_reboot_command_once")
    else {
        return;
    };
    let (code, report) = sim.install(&[KERNEL], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert!(
        sim.root().join("run/reboot-required").exists(),
        "the package's own hook asked for a reboot"
    );
    let calls = sim.invocations();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let marker = sim.root().join("run/reboot-required");
    assert!(
        calls[0].contains(&format!("{} lists linux-image-sim", marker.display())),
        "{calls:?}"
    );
    assert!(
        calls[0].ends_with("\t1"),
        "the report was on disk, complete, before the command ran: {calls:?}"
    );
    assert!(report.reboot.required);
    assert_eq!(report.reboot.action, "command");
    assert_eq!(
        state_of(&report, "linux-image-sim.all"),
        "InstalledPendingReboot"
    );
    assert_eq!(report.summary.installed_pending_reboot_count, 1);

    let state = sim.state();
    assert_eq!(state.pending.len(), 1, "{state:?}");
    let p = &state.pending[0];
    assert_eq!(
        (
            p.id.as_str(),
            p.version.as_str(),
            p.boot_id.as_str(),
            p.scope
        ),
        ("linux-image-sim.all", "2.0-1", "boot-1", Scope::Host)
    );
    assert_eq!(state.reboot_request.as_ref().unwrap().action, "command");

    // Not rebooted yet: a scan still says so.
    let scan = sim.scan();
    assert_eq!(
        patch(&scan, "linux-image-sim.all")["state"],
        "InstalledPendingReboot"
    );

    // Rebooted: settled; a second install changes nothing and asks for no reboot.
    sim.set_boot("boot-2");
    let scan = sim.scan();
    assert_eq!(patch(&scan, "linux-image-sim.all")["state"], "Installed");
    assert_eq!(scan["reboot"]["required"], false, "{:#}", scan["reboot"]);
    let (code, report) = sim.install(&[], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert_eq!(report.reboot.action, "none");
    assert_eq!(sim.invocations().len(), 1, "not invoked again");
    let state = sim.state();
    assert!(
        state.pending.is_empty() && state.reboot_request.is_none(),
        "{state:?}"
    );
}

#[test]
fn update_that_needs_no_reboot_does_not_run_the_reboot_command() {
    let Some(sim) = Sim::new("update_that_needs_no_reboot_does_not_run_the_reboot_command") else {
        return;
    };
    let (code, report) = sim.install(&[OPENSSL], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert_eq!(sim.installed_version("openssl-sim"), "1.1-1");
    assert!(sim.invocations().is_empty());
    assert!(!report.reboot.required, "{:?}", report.reboot);
    assert_eq!(report.reboot.action, "none");
    assert_eq!(state_of(&report, "openssl-sim.all"), "Installed");
    assert!(sim.state().pending.is_empty());
}

#[test]
fn another_tools_reboot_marker_does_not_reboot_when_nothing_was_installed() {
    let Some(sim) =
        Sim::new("another_tools_reboot_marker_does_not_reboot_when_nothing_was_installed")
    else {
        return;
    };
    // Another tool (unattended-upgrades, say) writes the marker while this run goes on: a
    // modification time after the run started.
    let marker = sim.root().join("run/reboot-required");
    std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
    let f = std::fs::File::create(&marker).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .unwrap();
    drop(f);
    let (code, report) = sim.install(&[], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert!(sim.invocations().is_empty(), "{:?}", sim.invocations());
    assert_eq!(report.reboot.action, "none");
    assert!(report.reboot.required, "the signal is reported");
    assert!(
        report
            .reboot
            .reasons
            .iter()
            .any(|r| r.contains("reboot-required")),
        "{:?}",
        report.reboot
    );
    assert_eq!(sim.state().reboot_request, None);
}

#[test]
fn a_state_that_cannot_be_saved_after_the_install_still_gives_the_report_and_exit_3() {
    let Some(sim) = Sim::new(
        "a_state_that_cannot_be_saved_after_the_install_still_gives_the_report_and_exit_3",
    ) else {
        return;
    };
    // After the transaction the state file cannot be replaced (root ignores modes: a non-empty
    // directory in its place makes the rename fail).
    let state_file = StateDir::for_root(sim.root()).state_file();
    let (code, report) = sim
        .install_then(&[KERNEL], IF_NEEDED, || {
            let _ = std::fs::remove_file(&state_file);
            std::fs::create_dir_all(state_file.join("blocker")).unwrap();
        })
        .unwrap();
    let report = report.unwrap();
    assert_eq!(code, 3);
    assert!(sim.report_path().exists(), "the report is written");
    assert_eq!(sim.installed_version("linux-image-sim"), "2.0-1");
    assert_eq!(
        state_of(&report, "linux-image-sim.all"),
        "InstalledPendingReboot"
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("pending-reboot state") && e.contains("not made")),
        "{:?}",
        report.errors
    );
    assert!(
        sim.invocations().is_empty(),
        "no reboot without its request on disk"
    );
    assert_eq!(report.reboot.action, "none");
}

#[test]
fn no_reboot_records_pending_and_a_later_reboot_if_needed_acts_on_it() {
    let Some(sim) = Sim::new("no_reboot_records_pending_and_a_later_reboot_if_needed_acts_on_it")
    else {
        return;
    };
    let (code, report) = sim.install(&[KERNEL], NO_REBOOT).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert!(sim.invocations().is_empty(), "NoReboot never reboots");
    assert!(report.reboot.required);
    assert_eq!(report.reboot.action, "not-permitted");
    let state = sim.state();
    assert_eq!(state.pending.len(), 1);
    assert_eq!(state.pending[0].scope, Scope::Image, "recorded in an image");
    assert_eq!(state.reboot_request, None);
    assert!(
        state.last_no_reboot_install.is_some(),
        "AWS's LastNoRebootInstallOperationTime"
    );

    let scan = sim.scan();
    assert_eq!(
        patch(&scan, "linux-image-sim.all")["state"],
        "InstalledPendingReboot"
    );
    assert_eq!(scan["summary"]["InstalledPendingRebootCount"], 1);
    // The host rebooting says nothing about an image.
    sim.set_boot("boot-2");
    assert_eq!(
        patch(&sim.scan(), "linux-image-sim.all")["state"],
        "InstalledPendingReboot"
    );

    // RebootIfNeeded with nothing to install: the pending reboot is enough.
    let (code, report) = sim.install(&[], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    let calls = sim.invocations();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("by an earlier run"), "{calls:?}");
    assert_eq!(report.reboot.action, "command");
    assert_eq!(sim.state().pending[0].scope, Scope::Host);

    sim.set_boot("boot-3");
    let scan = sim.scan();
    assert_eq!(patch(&scan, "linux-image-sim.all")["state"], "Installed");
    assert_eq!(scan["reboot"]["required"], false);
}

#[test]
fn ssm_exit_194_then_the_rerun_after_the_reboot_does_not_install_again() {
    let Some(sim) = Sim::new("ssm_exit_194_then_the_rerun_after_the_reboot_does_not_install_again")
    else {
        return;
    };
    let (code, report) = sim.install(&[KERNEL], ssm("cmd-1")).unwrap();
    assert_eq!(code, 194);
    assert_eq!(report.unwrap().reboot.action, "ssm-exit-194");
    let req = sim.state().reboot_request.unwrap();
    assert_eq!(
        (
            req.boot_id.as_str(),
            req.attempts,
            req.ssm_command_id.as_deref()
        ),
        ("boot-1", 1, Some("cmd-1"))
    );
    assert!(sim.invocations().is_empty());

    // The agent rebooted and runs the same command again.
    sim.set_boot("boot-2");
    let (code, report) = sim.install(&[OPENSSL], ssm("cmd-1")).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0, "the exit code the install had before the reboot");
    assert_eq!(
        sim.installed_version("openssl-sim"),
        "1.0-1",
        "the re-run does not install again"
    );
    assert_eq!(state_of(&report, "linux-image-sim.all"), "Installed");
    assert_eq!(report.operation, Operation::Install);
    assert_eq!(report.reboot.action, "none");
    let state = sim.state();
    assert!(
        state.pending.is_empty() && state.reboot_request.is_none(),
        "{state:?}"
    );

    // A new command later installs as usual.
    let (code, _) = sim.install(&[OPENSSL], ssm("cmd-2")).unwrap();
    assert_eq!(code, 0);
    assert_eq!(sim.installed_version("openssl-sim"), "1.1-1");
}

#[test]
fn reboot_loop_guard_stops_asking_the_ssm_agent() {
    let Some(sim) = Sim::new("reboot_loop_guard_stops_asking_the_ssm_agent") else {
        return;
    };
    assert_eq!(sim.install(&[KERNEL], ssm("cmd-1")).unwrap().0, 194);
    // The agent runs the command again but the system did not reboot.
    for attempt in 2..=3 {
        let (code, report) = sim.install(&[OPENSSL], ssm("cmd-1")).unwrap();
        assert_eq!((code, report.is_none()), (194, true), "attempt {attempt}");
        assert_eq!(sim.state().reboot_request.unwrap().attempts, attempt);
    }
    let e = sim.install(&[OPENSSL], ssm("cmd-1")).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert!(
        e.message.contains("3 times") && e.message.contains("has not rebooted"),
        "{e}"
    );
    assert_eq!(
        sim.installed_version("openssl-sim"),
        "1.0-1",
        "never installed meanwhile"
    );
    assert_eq!(sim.state().reboot_request, None);
    // The kernel still waits for its reboot: pending in the state and in a scan.
    assert_eq!(
        patch(&sim.scan(), "linux-image-sim.all")["state"],
        "InstalledPendingReboot"
    );
}

#[test]
fn a_reboot_command_wins_over_the_ssm_agent() {
    let Some(sim) = Sim::new("a_reboot_command_wins_over_the_ssm_agent") else {
        return;
    };
    let opts = Opts {
        command: true,
        ..ssm("cmd-1")
    };
    let (code, report) = sim.install(&[KERNEL], opts).unwrap();
    assert_eq!(code, 0, "no exit 194 when a command was given");
    assert_eq!(report.unwrap().reboot.action, "command");
    assert_eq!(sim.invocations().len(), 1);
}

#[test]
fn rpm_kernel_in_a_reboot_suggested_advisory_runs_the_reboot_command() {
    let Some(sim) = Sim::rpm("rpm_kernel_in_a_reboot_suggested_advisory_runs_the_reboot_command")
    else {
        return;
    };
    let (code, report) = sim.install(&["kernel-1.2-1.noarch"], IF_NEEDED).unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        sim.installed_version("kernel"),
        "1.0-1 1.1-1 1.2-1",
        "installonly: the new kernel next to the old ones"
    );
    assert!(report.reboot.required);
    assert_eq!(
        report.reboot.reasons,
        [
            "kernel.noarch 1.2-1 was installed and advisory FXSA-2024:0001 suggests a reboot (for 1.2-1)",
            "kernel.noarch 1.2-1 was installed: a new kernel runs only after a reboot",
        ]
    );
    assert_eq!(report.reboot.action, "command");
    let calls = sim.invocations();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("FXSA-2024:0001"), "{calls:?}");
    assert_eq!(state_of(&report, "kernel.noarch"), "InstalledPendingReboot");
    assert_eq!(sim.state().pending[0].version, "1.2-1");
}

#[test]
fn rpm_update_that_needs_no_reboot_does_not_run_the_reboot_command() {
    let Some(sim) = Sim::rpm("rpm_update_that_needs_no_reboot_does_not_run_the_reboot_command")
    else {
        return;
    };
    let (code, report) = sim
        .install(&["openssl-sim-1.1-1.noarch"], IF_NEEDED)
        .unwrap();
    let report = report.unwrap();
    assert_eq!(code, 0);
    assert_eq!(sim.installed_version("openssl-sim"), "1.1-1");
    assert!(!report.reboot.required, "{:?}", report.reboot);
    assert!(sim.invocations().is_empty());
}

#[test]
fn run_operation_scan_reports_pending_reboots_too() {
    let Some(sim) = Sim::new("run_operation_scan_reports_pending_reboots_too") else {
        return;
    };
    sim.install(&[KERNEL], NO_REBOOT).unwrap();
    let report = sim.tmp().join("run.json");
    let out = run(patchbaseline()
        .args(["run", "--operation", "Scan", "--no-refresh", "--root"])
        .arg(sim.root())
        .arg("--boot-id-file")
        .arg(&sim.boot)
        .arg("--report")
        .arg(&report));
    assert!(out.status.success(), "{}", show(&out));
    let report = read_json(&report);
    assert_eq!(
        patch(&report, "linux-image-sim.all")["state"],
        "InstalledPendingReboot"
    );
    assert_eq!(report["reboot"]["action"], "not-permitted");
}
