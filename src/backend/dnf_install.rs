//! Installing exact versions with dnf (and yum), through the same isolation the dnf scan uses
//! under `--root` (`--installroot`, `--config`, `--setopt=reposdir=`, `--disableplugin=*`,
//! `--releasever` when the root cannot tell dnf).
//!
//! What runs:
//! * `dnf -y upgrade NAME-EPOCH:VERSION-RELEASE.ARCH …` (exact NEVRAs; `upgrade`, not `install`,
//!   so a name that is not installed is never installed — dnf says `No match for argument`).
//!   A name installed under one arch only is named without the arch (`NAME-EPOCH:VERSION-RELEASE`;
//!   yum 3, which has no such form, `NAME-VERSION-RELEASE` when the epoch is 0): the scan
//!   reports an update that changes arch (foo.x86_64 1.0 → foo.noarch 2.0) under the installed
//!   arch (`dnf::select`), and `upgrade` of an installed name resolves the arch the repository
//!   has. With several arches installed (multilib) the arch stays, so an arch change of such a
//!   name is not found by dnf and is reported Failed (`No match for argument`);
//! * `dnf -v --assumeno upgrade …` to see what a transaction would bring in (BLOCK): dnf's
//!   resolver logs every package it adds as `---> Package NAME.ARCH EVR will be installed|an
//!   upgrade|…` (dnf 4, `dnf/cli/output.py`, untranslated under LC_ALL=C);
//! * yum 3: `yum -y update NAME-EPOCH:VERSION-RELEASE.ARCH …` (yum cannot run on the Debian build
//!   host: the argument list is unit-tested, the rest shares the dnf code).
//!
//! rpm runs the whole transaction: a package whose `%pre` fails is skipped ("install failed") and
//! the others are installed, so nothing is left half-done for us to finish afterwards.

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::baseline::PatchSource;
use crate::error::Result;
use crate::exec::{Cmd, Output};
use crate::model::InstalledPackage;
use crate::system::System;
use crate::version::Evr;

use super::dnf::{
    installed_packages, is_host, rpm_dbpath, DnfConf, Invocation, Scratch, RELEASEVER_UNDETECTED,
};
use super::install::{Change, Simulation, Target};
use super::yum::YumConf;

/// Which of the two front ends drives rpm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    Dnf,
    Yum,
}

/// dnf or yum for one install run.
pub struct RpmInstaller {
    frontend: Frontend,
    root: PathBuf,
    /// The scan's isolation options (without `--releasever`).
    isolation: Vec<OsString>,
    /// dnf with `--releasever` (used once dnf says it cannot detect it in the root).
    isolation_with_releasever: Vec<OsString>,
    releasever_needed: RefCell<bool>,
    /// yum: RejectedPatches as `-x` patterns under BLOCK (yum cannot be asked for a dry run
    /// we can read; its resolver then refuses an update that needs a rejected package).
    excludes: Vec<String>,
    /// Holds the files the isolation options name (private repository directory, empty conf).
    _scratch: Scratch,
    /// The names installed under exactly one arch, with it (read once, on first use).
    single_arch: OnceCell<HashMap<String, String>>,
}

impl RpmInstaller {
    pub fn new(
        frontend: Frontend,
        system: &System,
        root: &Path,
        sources: &[PatchSource],
        block: &[String],
    ) -> Result<RpmInstaller> {
        let scratch = Scratch::new()?;
        let (isolation, isolation_with_releasever, excludes) = match frontend {
            Frontend::Dnf => {
                let conf = DnfConf::read(root)?;
                let inv = Invocation::new(root, &conf, sources, false, &scratch)?;
                let with = if is_host(root) {
                    inv.isolation(None)
                } else {
                    inv.isolation(Some(&system.version_id))
                };
                (inv.isolation(None), with, Vec::new())
            }
            Frontend::Yum => {
                let conf = YumConf::read(root)?;
                let iso = conf.isolation(root, sources, &scratch)?;
                (iso.clone(), iso, block.to_vec())
            }
        };
        Ok(RpmInstaller {
            frontend,
            root: root.to_path_buf(),
            isolation,
            isolation_with_releasever,
            releasever_needed: RefCell::new(false),
            excludes,
            _scratch: scratch,
            single_arch: OnceCell::new(),
        })
    }

    /// Run the front end with `args` after the isolation options; when dnf cannot detect the
    /// release version of an image root, again with os-release VERSION_ID (as the scan does).
    fn run(&self, args: &[String]) -> Result<Output> {
        let program = match self.frontend {
            Frontend::Dnf => "dnf",
            Frontend::Yum => "yum",
        };
        let with_releasever = *self.releasever_needed.borrow();
        let iso = if with_releasever {
            &self.isolation_with_releasever
        } else {
            &self.isolation
        };
        // Transactions among them: SIGINT/SIGTERM meant for us must not reach them
        // (src/signals.rs).
        let out = Cmd::new(program)
            .args(iso)
            .args(args)
            .own_process_group()
            .output()?;
        if !with_releasever
            && self.frontend == Frontend::Dnf
            && !is_host(&self.root)
            && out.code() != Some(0)
            && out.stderr_str().contains(RELEASEVER_UNDETECTED)
        {
            *self.releasever_needed.borrow_mut() = true;
            return self.run(args);
        }
        Ok(out)
    }

    pub fn install(&self, targets: &[Target]) -> Result<Output> {
        let nevras = self.specs(targets)?;
        let args = match self.frontend {
            Frontend::Dnf => dnf_upgrade_args(false, &nevras),
            Frontend::Yum => yum_update_args(&self.excludes, &nevras),
        };
        self.run(&args)
    }

    pub fn simulate(&self, targets: &[Target]) -> Result<Simulation> {
        if self.frontend == Frontend::Yum {
            return Ok(Simulation::Unsupported);
        }
        let nevras = self.specs(targets)?;
        let out = self.run(&dnf_upgrade_args(true, &nevras))?;
        let text = format!("{}\n{}", out.stdout_str(), out.stderr_str());
        let problems = problems(&text);
        let fatal = problems
            .iter()
            .any(|p| p.starts_with("Error") || p.starts_with("Problem"));
        Ok(if fatal {
            Simulation::Failed(problems.join("; "))
        } else {
            Simulation::Changes(parse_resolution(&text))
        })
    }

    pub fn installed(&self) -> Result<Vec<InstalledPackage>> {
        installed_packages(&self.root, rpm_dbpath(&self.root).as_deref())
    }

    /// How to name each target to dnf or yum (see the module documentation).
    fn specs(&self, targets: &[Target]) -> Result<Vec<String>> {
        let single = match self.single_arch.get() {
            Some(s) => s,
            None => {
                let s = single_arch_names(&self.installed()?);
                self.single_arch.get_or_init(|| s)
            }
        };
        Ok(targets
            .iter()
            .map(|t| {
                let only_arch = single.get(&t.name) == Some(&t.arch);
                spec(self.frontend, &t.name, &t.arch, &t.version, only_arch)
            })
            .collect())
    }

    /// The key under which an installed package and a target of `arch` are the same package:
    /// `noarch` and this machine's arch are one (an update may move between them, see
    /// `dnf::select`).
    pub fn arch_key<'s>(&self, arch: &'s str) -> &'s str {
        if arch == "noarch" || arch == native_arch() {
            "native"
        } else {
            arch
        }
    }

    /// How a failure names `target`: the NEVRA we passed, the NEVRA as dnf prints it, the name.
    pub fn names(target: &Target) -> [String; 3] {
        [
            nevra(&target.name, &target.arch, &target.version),
            display_nevra(&target.name, &target.arch, &target.version),
            target.name.clone(),
        ]
    }
}

/// `[-v --assumeno | -y] upgrade NEVRA…` for dnf.
fn dnf_upgrade_args(simulate: bool, nevras: &[String]) -> Vec<String> {
    let mut args: Vec<String> = if simulate {
        vec!["-v".into(), "--assumeno".into()]
    } else {
        vec!["-y".into()]
    };
    args.push("upgrade".into());
    args.extend(nevras.iter().cloned());
    args
}

/// The names installed under exactly one arch, with that arch.
fn single_arch_names(installed: &[InstalledPackage]) -> HashMap<String, String> {
    let mut arches: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for p in installed {
        arches.entry(&p.name).or_default().insert(&p.arch);
    }
    arches
        .into_iter()
        .filter_map(|(name, a)| match a.into_iter().collect::<Vec<_>>()[..] {
            [only] => Some((name.to_string(), only.to_string())),
            _ => None,
        })
        .collect()
}

/// What to pass for one target: the exact NEVRA, or without the arch when the name is
/// installed under that arch only (`only_arch`; yum 3 only for epoch 0, its one arch-less
/// form with a release being `NAME-VERSION-RELEASE`).
fn spec(frontend: Frontend, name: &str, arch: &str, version: &str, only_arch: bool) -> String {
    let evr = Evr::parse(version);
    match (frontend, only_arch) {
        (Frontend::Dnf, true) => {
            format!("{name}-{}:{}-{}", evr.epoch_num(), evr.version, evr.release)
        }
        (Frontend::Yum, true) if evr.epoch_num() == 0 => {
            format!("{name}-{}-{}", evr.version, evr.release)
        }
        _ => nevra(name, arch, version),
    }
}

/// rpm's name for the arch of this machine (what `noarch` packages stand beside).
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "i686",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// The NEVRA dnf and yum take for an exact version: `name-epoch:version-release.arch`, with the
/// epoch always written (`0:` included), the form AWS's dnf code uses.
pub fn nevra(name: &str, arch: &str, version: &str) -> String {
    let evr = Evr::parse(version);
    format!(
        "{name}-{}:{}-{}.{arch}",
        evr.epoch_num(),
        evr.version,
        evr.release
    )
}

/// How dnf prints a NEVRA in its messages: the epoch only when it is not zero.
pub fn display_nevra(name: &str, arch: &str, version: &str) -> String {
    format!("{name}-{}.{arch}", crate::version::display_rpm(version))
}

/// The resolver's `---> Package NAME.ARCH EVR will be …` lines of `dnf -v --assumeno`: every
/// package version that would come in, with the version it replaces when dnf says so.
pub fn parse_resolution(text: &str) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    let mut replaced: Vec<(String, String, String)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("---> Package ") else {
            continue;
        };
        let mut words = rest.splitn(3, ' ');
        let (Some(name_arch), Some(evr), Some(mode)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let Some((name, arch)) = name_arch.rsplit_once('.') else {
            continue;
        };
        let incoming = matches!(
            mode,
            "will be installed"
                | "will be an upgrade"
                | "will be a downgrade"
                | "will be reinstalled"
                | "will be obsoleting"
        );
        if incoming {
            changes.push(Change {
                name: name.to_string(),
                arch: arch.to_string(),
                version: evr.to_string(),
                old_version: None,
            });
        } else if mode == "will be upgraded" || mode == "will be downgraded" {
            replaced.push((name.to_string(), arch.to_string(), evr.to_string()));
        }
    }
    for c in &mut changes {
        c.old_version = replaced
            .iter()
            .find(|(n, a, _)| *n == c.name && *a == c.arch)
            .map(|(_, _, v)| v.clone());
    }
    changes
}

/// The error reports in dnf's and rpm's output (standard output and error together), one
/// string each:
/// * rpm's `error: …` lines, with what the failing scriptlet printed (the lines since rpm
///   announced the step: `Running scriptlet:`, `Upgrading :`, …);
/// * dnf's `Error in … scriptlet in rpm package NAME`, `No match for argument: …`;
/// * resolver problems: `Problem: …` (or `Problem N: …`) with its `  - …` lines;
/// * the packages dnf skipped (`Skipping packages with broken dependencies:` /
///   `… with conflicts:`, when `best` is off);
/// * `Error: …` lines, the generic `Error: Transaction failed` last.
///
/// dnf 4 has no machine-readable twin for these messages.
pub fn problems(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut generic = Vec::new();
    let mut script_said: Vec<&str> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if is_rpm_step(line) {
            script_said.clear();
        } else if let Some(e) = trimmed.strip_prefix("error: ") {
            let mut s = format!("error: {e}");
            if !script_said.is_empty() {
                s.push_str(&format!(" (it printed: {})", script_said.join(" / ")));
                script_said.clear();
            }
            out.push(s);
        } else if trimmed.starts_with("Error in ") || trimmed.starts_with("No match for argument: ")
        {
            out.push(trimmed.to_string());
        } else if is_problem(trimmed) {
            let mut block = trimmed.to_string();
            while let Some(next) = lines.peek() {
                let t = next.trim();
                if let Some(item) = t.strip_prefix("- ") {
                    block.push_str(&format!(" - {item}"));
                    lines.next();
                } else {
                    break;
                }
            }
            out.push(block);
        } else if let Some(why) = trimmed.strip_prefix("Skipping packages with ") {
            let why = why.trim_end_matches(':');
            while let Some(next) = lines.peek() {
                // Table rows: ` NAME  ARCH  VERSION  REPOSITORY  SIZE`.
                let cols: Vec<&str> = next.split_whitespace().collect();
                if !next.starts_with(' ') || cols.len() < 4 {
                    break;
                }
                out.push(format!(
                    "dnf skipped {}-{}.{} ({why})",
                    cols[0], cols[2], cols[1]
                ));
                lines.next();
            }
        } else if let Some(e) = trimmed.strip_prefix("Error:") {
            let e = e.trim();
            if e.is_empty() {
                continue; // the problems follow on their own lines
            }
            if e == "Transaction failed" {
                generic.push(format!("Error: {e}"));
            } else {
                out.push(format!("Error: {e}"));
            }
        } else if !trimmed.is_empty() && script_said.len() < 5 {
            script_said.push(trimmed);
        }
    }
    out.extend(generic);
    out
}

/// rpm's progress lines during a transaction: `  Upgrading        : NEVRA   2/7`.
fn is_rpm_step(line: &str) -> bool {
    line.starts_with("  ")
        && line.contains(':')
        && [
            "Preparing",
            "Installing",
            "Upgrading",
            "Running scriptlet",
            "Cleanup",
            "Verifying",
            "Erasing",
            "Obsoleting",
            "Reinstalling",
            "Downgrading",
        ]
        .iter()
        .any(|s| line.trim_start().starts_with(s))
}

fn is_problem(line: &str) -> bool {
    line.strip_prefix("Problem").is_some_and(|r| {
        r.starts_with(':') || r.trim_start().starts_with(|c: char| c.is_ascii_digit())
    })
}

/// `-y [-x PATTERN…] update NEVRA…` for yum (after the isolation options).
pub fn yum_update_args(excludes: &[String], nevras: &[String]) -> Vec<String> {
    let mut args: Vec<String> = vec!["-y".to_string()];
    for pattern in excludes {
        args.push("-x".to_string());
        args.push(pattern.clone());
    }
    args.push("update".to_string());
    args.extend(nevras.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_installed_under_one_arch_are_asked_for_without_it() {
        let installed = [
            InstalledPackage {
                name: "foo".into(),
                arch: "x86_64".into(),
                version: "1.0-1".into(),
                install_time: None,
            },
            InstalledPackage {
                name: "multi".into(),
                arch: "x86_64".into(),
                version: "1.0-1".into(),
                install_time: None,
            },
            InstalledPackage {
                name: "multi".into(),
                arch: "i686".into(),
                version: "1.0-1".into(),
                install_time: None,
            },
        ];
        let single = single_arch_names(&installed);
        assert_eq!(single.get("foo").map(String::as_str), Some("x86_64"));
        assert!(!single.contains_key("multi"));
        assert_eq!(
            spec(Frontend::Dnf, "foo", "x86_64", "2.0-1", true),
            "foo-0:2.0-1"
        );
        assert_eq!(
            spec(Frontend::Yum, "foo", "x86_64", "2.0-1", true),
            "foo-2.0-1"
        );
        assert_eq!(
            spec(Frontend::Yum, "foo", "x86_64", "1:2.0-1", true),
            "foo-1:2.0-1.x86_64"
        );
        assert_eq!(
            spec(Frontend::Dnf, "multi", "x86_64", "2.0-1", false),
            "multi-0:2.0-1.x86_64"
        );
    }

    #[test]
    fn nevras_always_carry_the_epoch() {
        assert_eq!(
            nevra("curl-sim", "noarch", "2.1-1"),
            "curl-sim-0:2.1-1.noarch"
        );
        assert_eq!(
            nevra("tzdata-sim", "noarch", "1:2023c-1"),
            "tzdata-sim-1:2023c-1.noarch"
        );
        assert_eq!(
            display_nevra("tzdata-sim", "noarch", "0:2023c-1"),
            "tzdata-sim-2023c-1.noarch"
        );
    }

    /// Real `dnf -v --assumeno upgrade curl-sim-0:2.1-1.noarch openssl-sim-0:1.2-1.noarch` and
    /// `… tzdata-sim-1:2023c-1.noarch kernel-0:1.2-1.noarch` on the RPM fixture root (dnf 4.14.0).
    #[test]
    fn resolution_lists_what_would_come_in() {
        let text = "\
--> Starting dependency resolution
---> Package libcurl-sim.noarch 2.1-1 will be installed
---> Package openssl-sim.noarch 1.0-1 will be upgraded
---> Package openssl-sim.noarch 1.2-1 will be an upgrade
---> Package curl-sim.noarch 1.0-1 will be upgraded
---> Package curl-sim.noarch 2.1-1 will be an upgrade
--> Finished dependency resolution
---> Package kernel.noarch 1.2-1 will be installed
---> Package tzdata-sim.noarch 2024a-1 will be upgraded
---> Package tzdata-sim.noarch 1:2023c-1 will be an upgrade
";
        let got: Vec<(String, String, Option<String>)> = parse_resolution(text)
            .into_iter()
            .map(|c| (format!("{}.{}", c.name, c.arch), c.version, c.old_version))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            got,
            [
                (s("libcurl-sim.noarch"), s("2.1-1"), None),
                (s("openssl-sim.noarch"), s("1.2-1"), Some(s("1.0-1"))),
                (s("curl-sim.noarch"), s("2.1-1"), Some(s("1.0-1"))),
                (s("kernel.noarch"), s("1.2-1"), None),
                (s("tzdata-sim.noarch"), s("1:2023c-1"), Some(s("2024a-1"))),
            ]
        );
    }

    /// Real output (stdout then stderr) of a transaction where badpre-sim 2.0-1's Lua `%pre`
    /// fails (dnf 4.14.0, rpm 4.18.0, fixture root).
    const FAILED_PRE: &str = "\
Running transaction
  Preparing        :                                                        1/1 
  Installing       : libcurl-sim-2.1-1.noarch                               1/7 
  Upgrading        : curl-sim-2.1-1.noarch                                  2/7 
  Running scriptlet: badpre-sim-2.0-1.noarch                                3/7 
badpre-sim: this fixture upgrade always fails in its %pre
error: lua script failed: badpre-sim: fixture %pre refuses

  Upgrading        : openssl-sim-1.2-1.noarch                               4/7 
error: badpre-sim-2.0-1.noarch: install failed

  Cleanup          : curl-sim-1.0-1.noarch                                  5/7 
  Cleanup          : openssl-sim-1.0-1.noarch                               6/7 
error: badpre-sim-1.0-1.noarch: erase skipped

Upgraded:
  curl-sim-2.1-1.noarch                 openssl-sim-1.2-1.noarch                
Failed:
  badpre-sim-1.0-1.noarch                badpre-sim-2.0-1.noarch               

Error in PREIN scriptlet in rpm package badpre-sim
Error: Transaction failed
";

    #[test]
    fn scriptlet_failures_keep_what_the_script_printed() {
        assert_eq!(
            problems(FAILED_PRE),
            [
                "error: lua script failed: badpre-sim: fixture %pre refuses (it printed: badpre-sim: this fixture upgrade always fails in its %pre)",
                "error: badpre-sim-2.0-1.noarch: install failed",
                "error: badpre-sim-1.0-1.noarch: erase skipped",
                "Error in PREIN scriptlet in rpm package badpre-sim",
                "Error: Transaction failed",
            ]
        );
        let reason = super::super::install::reason_for(
            &problems(FAILED_PRE),
            &[
                "badpre-sim-0:2.0-1.noarch",
                "badpre-sim-2.0-1.noarch",
                "badpre-sim",
            ],
        )
        .unwrap();
        assert_eq!(
            reason,
            "error: lua script failed: badpre-sim: fixture %pre refuses (it printed: badpre-sim: \
             this fixture upgrade always fails in its %pre); error: badpre-sim-2.0-1.noarch: \
             install failed; Error in PREIN scriptlet in rpm package badpre-sim",
            "the old version's erase-skipped line and the generic error are left out"
        );
    }

    /// Real output of an exact upgrade whose dependency no repository provides: with `best`
    /// off dnf skips it and exits 0, with `--best` it fails (dnf 4.14.0, fixture root).
    #[test]
    fn resolver_problems_and_skipped_packages() {
        let skipped = "\
Upgrading:
 openssl-sim         noarch         1.2-1         fixture-updates         6.0 k
Skipping packages with broken dependencies:
 zlib-sim            noarch         1.5-1         fixture-install         5.9 k

Transaction Summary
Skipped:
  zlib-sim-1.5-1.noarch                                                         

Complete!

 Problem: cannot install the best update candidate for package zlib-sim-1.0-1.noarch
  - nothing provides nothere-sim >= 1 needed by zlib-sim-1.5-1.noarch
";
        assert_eq!(
            problems(skipped),
            [
                "dnf skipped zlib-sim-1.5-1.noarch (broken dependencies)",
                "Problem: cannot install the best update candidate for package zlib-sim-1.0-1.noarch - nothing provides nothere-sim >= 1 needed by zlib-sim-1.5-1.noarch",
            ]
        );
        let best = "\
(try to add '--skip-broken' to skip uninstallable packages)
Error: 
 Problem: cannot install the best update candidate for package zlib-sim-1.0-1.noarch
  - nothing provides nothere-sim >= 1 needed by zlib-sim-1.5-1.noarch
";
        assert_eq!(
            problems(best),
            ["Problem: cannot install the best update candidate for package zlib-sim-1.0-1.noarch - nothing provides nothere-sim >= 1 needed by zlib-sim-1.5-1.noarch"]
        );
        let no_match = "\
No match for argument: newthing-0:1-1.noarch
Error: No packages marked for upgrade.
";
        assert_eq!(
            problems(no_match),
            [
                "No match for argument: newthing-0:1-1.noarch",
                "Error: No packages marked for upgrade."
            ]
        );
    }

    #[test]
    fn yum_updates_exact_nevras_with_rejected_patterns_excluded() {
        assert_eq!(
            yum_update_args(
                &["system-release.*".to_string()],
                &[
                    nevra("openssl", "x86_64", "1:1.0.2k-26.amzn2"),
                    nevra("curl", "x86_64", "8.3.0-1.amzn2.0.4"),
                ]
            ),
            [
                "-y",
                "-x",
                "system-release.*",
                "update",
                "openssl-1:1.0.2k-26.amzn2.x86_64",
                "curl-0:8.3.0-1.amzn2.0.4.x86_64"
            ]
        );
        assert_eq!(
            yum_update_args(&[], &[nevra("a", "noarch", "1-1")]),
            ["-y", "update", "a-0:1-1.noarch"]
        );
    }

    #[test]
    fn dnf_upgrades_exact_nevras_and_dry_runs_verbosely() {
        let n = [nevra("kernel", "x86_64", "6.1.0-1.amzn2023")];
        assert_eq!(
            dnf_upgrade_args(false, &n),
            ["-y", "upgrade", "kernel-0:6.1.0-1.amzn2023.x86_64"]
        );
        assert_eq!(
            dnf_upgrade_args(true, &n),
            [
                "-v",
                "--assumeno",
                "upgrade",
                "kernel-0:6.1.0-1.amzn2023.x86_64"
            ]
        );
    }
}
