//! Installing exact versions: the operations every backend offers to [`crate::install`], and the
//! dispatch to the package manager of the system (a closed set: an enum, not trait objects).
//!
//! Each backend only RUNS its commands here; what their output means is decided by pure
//! functions in the backend's module (`parse_simulation`, `problems`), tested on real output.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use crate::baseline::PatchSource;
use crate::error::{Error, Result};
use crate::exec::{tail, Output};
use crate::model::InstalledPackage;
use crate::system::{BackendKind, System};

use super::apt::install::AptInstaller;
use super::dnf_install::{self, Frontend, RpmInstaller};

/// One `name.arch` to bring to exactly `version` (as the inventory writes it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub name: String,
    pub arch: String,
    pub version: String,
}

impl Target {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.arch)
    }

    /// `name.arch=version`, how the report and logs name a target.
    pub fn label(&self) -> String {
        format!("{}.{}={}", self.name, self.arch, self.version)
    }
}

/// A package version a transaction would install or upgrade to (from a simulation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub arch: String,
    pub version: String,
    /// The version it replaces; None for a package new to the system.
    pub old_version: Option<String>,
}

/// What a simulation said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simulation {
    /// The package manager could resolve the request: these versions would come in.
    Changes(Vec<Change>),
    /// It could not (the real transaction would fail too); its reason.
    Failed(String),
    /// This package manager offers no dry run we can read (yum 3: it enforces BLOCK with
    /// excludes instead).
    Unsupported,
}

/// One real transaction.
#[derive(Debug)]
pub struct Transaction {
    pub output: Output,
    pub seconds: f64,
}

impl Transaction {
    pub fn ok(&self) -> bool {
        self.output.code() == Some(0)
    }

    /// Standard output and error together (apt runs dpkg on a pty, so dpkg's errors arrive on
    /// standard output; dnf prints its errors on standard error).
    pub fn text(&self) -> String {
        let mut s = self.output.stdout_str().into_owned();
        s.push('\n');
        s.push_str(&self.output.stderr_str());
        s
    }
}

/// The package manager of one system, ready to install into it.
pub enum Installer {
    Apt(AptInstaller),
    Rpm(RpmInstaller),
}

impl Installer {
    /// Prepare to install into `root` with the repositories scan used (baseline `Sources`
    /// included). `block`: RejectedPatches when RejectedPatchesAction is BLOCK (only yum uses
    /// them directly; the others are checked with dry runs).
    pub fn new(
        system: &System,
        root: &Path,
        sources: &[PatchSource],
        block: &[String],
    ) -> Result<Installer> {
        Ok(match system.backend {
            BackendKind::Apt => Installer::Apt(AptInstaller::new(root, sources)?),
            BackendKind::Dnf => Installer::Rpm(RpmInstaller::new(
                Frontend::Dnf,
                system,
                root,
                sources,
                block,
            )?),
            BackendKind::Yum => Installer::Rpm(RpmInstaller::new(
                Frontend::Yum,
                system,
                root,
                sources,
                block,
            )?),
        })
    }

    /// Install exactly these versions in one transaction (upgrades of installed packages only;
    /// new packages come in only as dependencies). A non-zero exit is returned, not an error.
    pub fn install(&self, targets: &[Target]) -> Result<Transaction> {
        refuse_option_like(targets)?;
        let started = Instant::now();
        let output = match self {
            Installer::Apt(a) => a.install(targets)?,
            Installer::Rpm(r) => r.install(targets)?,
        };
        Ok(Transaction {
            output,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// How long the package manager itself may wait for its locks (apt-get:
    /// `DPkg::Lock::Timeout`; dnf and yum wait for each other on their own).
    pub fn set_lock_timeout(&mut self, timeout: std::time::Duration) {
        if let Installer::Apt(a) = self {
            a.set_lock_timeout(timeout);
        }
    }

    /// The package manager's own words when `tx` failed because another process held its lock
    /// (nothing was installed: a lock timeout, not a package failure).
    pub fn lock_problem(&self, tx: &Transaction) -> Option<String> {
        if tx.ok() {
            return None;
        }
        let text = tx.text();
        match self {
            Installer::Apt(_) => super::apt::install::lock_problem(&text),
            Installer::Rpm(_) => {
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.contains("can't create transaction lock"))
                    .collect();
                (!lines.is_empty()).then(|| lines.join("; "))
            }
        }
    }

    /// What installing these versions would change, without changing anything.
    pub fn simulate(&self, targets: &[Target]) -> Result<Simulation> {
        refuse_option_like(targets)?;
        match self {
            Installer::Apt(a) => a.simulate(targets),
            Installer::Rpm(r) => r.simulate(targets),
        }
    }

    /// After a failed transaction: finish what the package manager left half-done by that
    /// transaction. Returns notes for the report (empty when all is well). rpm leaves nothing
    /// half-done: an element that fails is skipped, the others complete.
    pub fn after_failure(&self) -> Result<Vec<String>> {
        match self {
            Installer::Apt(a) => a.after_failure(),
            Installer::Rpm(_) => Ok(Vec::new()),
        }
    }

    /// The packages that are fully installed now (what counts as done between transactions).
    pub fn installed(&self) -> Result<Vec<InstalledPackage>> {
        match self {
            Installer::Apt(a) => a.installed(),
            Installer::Rpm(r) => r.installed(),
        }
    }

    /// Packages the package manager left unfinished (dpkg: unpacked, half-configured, …), with
    /// their state: installed at a version but not working.
    pub fn unfinished(&self) -> Result<Vec<(String, String, String)>> {
        match self {
            Installer::Apt(a) => a.unfinished(),
            Installer::Rpm(_) => Ok(Vec::new()),
        }
    }

    /// The key under which an installed package and a target of `arch` are the same package
    /// (apt: `all` and the native architecture are interchangeable between versions; rpm:
    /// `noarch` and the native arch).
    pub fn arch_key<'s>(&'s self, arch: &'s str) -> &'s str {
        match self {
            Installer::Apt(a) => a.arch_key(arch),
            Installer::Rpm(r) => r.arch_key(arch),
        }
    }

    /// The package manager's reason for `target` failing in `tx`: its error lines that name
    /// the package, else all its error lines, else the exit code and the end of its output.
    pub fn failure_reason(&self, tx: &Transaction, target: &Target) -> String {
        let text = tx.text();
        let found = match self {
            Installer::Apt(_) => reason_for(&super::apt::install::problems(&text), &[&target.name]),
            Installer::Rpm(_) => {
                let names = RpmInstaller::names(target);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                reason_for(&dnf_install::problems(&text), &names)
            }
        };
        found.unwrap_or_else(|| {
            format!(
                "`{}` exited with code {}: {}",
                tx.output.command,
                tx.output
                    .code()
                    .map_or_else(|| "(killed by a signal)".to_string(), |c| c.to_string()),
                tail(text.trim(), 5, 600)
            )
        })
    }
}

/// Package names come from the package manager's own metadata, but they go into argv: one that
/// could be read as an option is refused before any command is built.
fn refuse_option_like(targets: &[Target]) -> Result<()> {
    match targets
        .iter()
        .find(|t| t.name.starts_with('-') || t.version.starts_with('-'))
    {
        Some(t) => Err(Error::invalid(format!(
            "refusing to pass {} to the package manager: it starts with '-'",
            t.label()
        ))),
        None => Ok(()),
    }
}

/// The problems that name the package (any of `names`, as a whole word), else all problems,
/// joined; None when there are none.
pub fn reason_for(problems: &[String], names: &[&str]) -> Option<String> {
    let naming: Vec<&str> = problems
        .iter()
        .filter(|p| names.iter().any(|n| mentions(p, n)))
        .map(String::as_str)
        .collect();
    let chosen: Vec<&str> = if naming.is_empty() {
        problems.iter().map(String::as_str).collect()
    } else {
        naming
    };
    (!chosen.is_empty()).then(|| chosen.join("; "))
}

/// Whether `text` names the package `name` as a whole word: not as part of a longer name
/// (package names are made of letters, digits and `.+-_`; `_` is where a .deb file name
/// continues with the version).
pub fn mentions(text: &str, name: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-');
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let start = from + i;
        let end = start + name.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        // A trailing `.` ends a sentence, not a name.
        let after_ok = match after {
            None => true,
            Some('.') => text[end + 1..]
                .chars()
                .next()
                .is_none_or(|c| !part_of_name(c)),
            Some(c) => !part_of_name(c),
        };
        if before.is_none_or(|c| !part_of_name(c)) && after_ok {
            return true;
        }
        from = start + name.len().max(1);
    }
    false
}

/// Installed versions by (name, arch key) (see [`Installer::arch_key`]).
pub fn index_installed<'a>(
    installer: &Installer,
    installed: &'a [InstalledPackage],
) -> HashMap<(&'a str, String), Vec<&'a str>> {
    let mut map: HashMap<(&str, String), Vec<&str>> = HashMap::new();
    for p in installed {
        map.entry((p.name.as_str(), installer.arch_key(&p.arch).to_string()))
            .or_default()
            .push(p.version.as_str());
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_names_only() {
        assert!(mentions(
            "Errors: /x/badpre-sim_2.0-1_all.deb",
            "badpre-sim"
        ));
        assert!(mentions(
            "E: Version '9' for 'curl-sim' was not found",
            "curl-sim"
        ));
        assert!(mentions(
            " curl-sim : Depends: libcurl-sim (>= 3)",
            "libcurl-sim"
        ));
        assert!(!mentions(" libcurl-sim : Depends", "curl-sim"));
        assert!(!mentions("curl-sim-doc is fine", "curl-sim"));
        assert!(mentions("cannot upgrade curl-sim.", "curl-sim"));
        assert!(!mentions("curl-sim.all", "curl"));
        assert!(mentions("curl-sim", "curl-sim"));
        assert!(mentions(
            "Problem: package kern-sim-2.0-1.noarch requires",
            "kern-sim-2.0-1.noarch"
        ));
    }

    #[test]
    fn reason_prefers_problems_naming_the_package() {
        let problems = vec![
            "dpkg: error processing archive /x/bad-sim_2_all.deb (--unpack): new bad-sim package pre-installation script subprocess returned error exit status 1".to_string(),
            "E: Sub-process /usr/bin/dpkg returned an error code (1)".to_string(),
        ];
        assert_eq!(reason_for(&problems, &["bad-sim"]).unwrap(), problems[0]);
        assert_eq!(
            reason_for(&problems, &["other"]).unwrap(),
            problems.join("; ")
        );
        assert_eq!(reason_for(&[], &["x"]), None);
    }

    #[test]
    fn option_like_names_are_refused() {
        let t = Target {
            name: "-oDir=/".into(),
            arch: "all".into(),
            version: "1".into(),
        };
        let e = refuse_option_like(&[t]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("-oDir=/.all=1"), "{}", e.message);
    }
}
