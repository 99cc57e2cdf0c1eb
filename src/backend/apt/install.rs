//! Installing exact versions with apt-get, through the same isolation the scan uses (the private
//! `APT_CONFIG` of [`super::Apt`]: for an image root `Dir` and the dpkg status inside it, the
//! image's hooks cleared).
//!
//! What runs:
//! * `apt-get -q -y --only-upgrade --no-remove -o Dpkg::Options::=--force-confdef
//!   -o Dpkg::Options::=--force-confold install NAME=VERSION …` (DEBIAN_FRONTEND=noninteractive
//!   is set for every child by [`crate::exec`]). `--only-upgrade`: a name that is not installed
//!   is never installed (only dependencies are); `--no-remove`: patching never removes a
//!   package — a transaction that would fails instead, naming the package;
//! * `apt-get -s …` with the same arguments to see what a transaction would bring in (BLOCK);
//! * after a failed transaction, `dpkg --configure --pending` with the dpkg options apt itself
//!   would pass (`apt-config dump DPkg::Options`): when one package's maintainer script fails
//!   during unpack, apt stops before configuring the packages that DID unpack, leaving them
//!   "unpacked"; finishing them is finishing our own transaction. For an image root it runs
//!   only when those options end with our `--root=ROOT` (else it refuses: dpkg would act on the
//!   host). Then `dpkg --audit`: anything still unfinished is reported (and those packages are
//!   Failed).
//!
//! For an image root apt must also be told where dpkg works: apt passes nothing about `Dir` to
//! dpkg, so without `--root` dpkg would unpack into the HOST. We add `--root=ROOT` (dpkg then
//! uses ROOT/var/lib/dpkg and chroots into ROOT for maintainer scripts; an image whose scripts
//! may run unchrooted says so itself with `DPkg::Options {"--force-script-chrootless";}` in its
//! apt.conf.d), `--log=ROOT/var/log/dpkg.log` (dpkg's log does not follow `--root`; without it
//! the host's /var/log/dpkg.log is appended to), and pin `Dir::Bin::dpkg` to the host's dpkg
//! and `DPkg::Chroot-Directory` to `/`, so no image setting can make apt run another program.

use std::path::Path;
use std::time::Duration;

use crate::baseline::PatchSource;
use crate::error::{Error, Result};
use crate::exec::{Cmd, Output};
use crate::model::InstalledPackage;
use crate::system::resolve_in_root;

use super::super::install::{Change, Simulation, Target};
use super::{host_arch, parse, Apt};

/// Keep the installed configuration files; take the package's default where there is one.
const CONFFILE_OPTIONS: [&str; 4] = [
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
];

/// apt-get and dpkg for one install run.
pub struct AptInstaller {
    apt: Apt,
    /// The native architecture (of the image's dpkg, else this machine's).
    native: String,
    /// How long apt-get waits for dpkg's locks (`DPkg::Lock::Timeout`, `--lock-timeout`).
    lock_timeout: Duration,
}

impl AptInstaller {
    pub fn new(root: &Path, sources: &[PatchSource]) -> Result<AptInstaller> {
        let apt = Apt::prepare(root, sources)?;
        if apt.private_sources {
            // The scan's private lists went with its temporary directory.
            apt.update()?;
        }
        let entries = parse::parse_status(&fs_err::read_to_string(&apt.status)?);
        let native = parse::native_arch(&entries)
            .unwrap_or(host_arch())
            .to_string();
        Ok(AptInstaller {
            apt,
            native,
            lock_timeout: Duration::ZERO,
        })
    }

    fn image_root(&self) -> Option<&Path> {
        (self.apt.root != Path::new("/")).then_some(self.apt.root.as_path())
    }

    /// `-o` options that confine dpkg to an image root (none on the host).
    fn isolation(&self) -> Vec<String> {
        match self.image_root() {
            Some(root) => isolation_options(root),
            None => Vec::new(),
        }
    }

    fn apt_get(&self) -> Cmd {
        self.apt
            .cmd("apt-get")
            .args(self.isolation())
            .args(CONFFILE_OPTIONS)
    }

    /// Let apt-get wait up to `timeout` for dpkg's locks (another package manager may take
    /// them after our own check, apt-daily for one).
    pub fn set_lock_timeout(&mut self, timeout: Duration) {
        self.lock_timeout = timeout;
    }

    pub fn install(&self, targets: &[Target]) -> Result<Output> {
        Ok(self
            .apt_get()
            .arg("-o")
            // apt reads an int: a larger --lock-timeout is as good as forever.
            .arg(format!(
                "DPkg::Lock::Timeout={}",
                self.lock_timeout.as_secs().min(i32::MAX as u64)
            ))
            .args(install_args(false, targets, &self.native))
            // A transaction: SIGINT/SIGTERM meant for us must not reach it (src/signals.rs).
            .own_process_group()
            .output()?)
    }

    pub fn simulate(&self, targets: &[Target]) -> Result<Simulation> {
        let out = self
            .apt_get()
            .args(install_args(true, targets, &self.native))
            .output()?;
        let text = format!("{}\n{}", out.stdout_str(), out.stderr_str());
        Ok(if out.code() == Some(0) {
            Simulation::Changes(parse_simulation(&text))
        } else {
            let problems = problems(&text);
            Simulation::Failed(if problems.is_empty() {
                crate::exec::tail(text.trim(), 5, 600)
            } else {
                problems.join("; ")
            })
        })
    }

    /// Finish configuring what our failed transaction unpacked, then audit.
    pub fn after_failure(&self) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let options = self
            .apt
            .cmd("apt-config")
            .args(self.isolation())
            .args(CONFFILE_OPTIONS)
            .args(["dump", "--format", "%v%n", "DPkg::Options"])
            .output()?
            .expect_success()?;
        let dpkg_options: Vec<String> = options
            .stdout_str()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if let Some(root) = self.image_root() {
            confined_to(root, &dpkg_options)?;
        }
        let configure = Cmd::new("dpkg")
            .args(&dpkg_options)
            .args(["--configure", "--pending"])
            .own_process_group()
            .output()?;
        if configure.code() != Some(0) {
            let text = format!("{}\n{}", configure.stdout_str(), configure.stderr_str());
            let p = problems(&text);
            notes.push(format!(
                "`{}` exited with code {:?}: {}",
                configure.command,
                configure.code(),
                if p.is_empty() {
                    crate::exec::tail(text.trim(), 5, 600)
                } else {
                    p.join("; ")
                }
            ));
        }
        let audit = self.dpkg().arg("--audit").output()?;
        let text = audit.stdout_str();
        if !text.trim().is_empty() {
            notes.push(format!(
                "dpkg --audit after the failed transaction: {}",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        Ok(notes)
    }

    /// dpkg working on this system (its database and its log).
    fn dpkg(&self) -> Cmd {
        crate::lock::dpkg(self.image_root().unwrap_or(Path::new("/")))
    }

    fn status_entries(&self) -> Result<Vec<(parse::StatusEntry, String)>> {
        let text = fs_err::read_to_string(&self.apt.status)?;
        Ok(parse_states(&text))
    }

    pub fn installed(&self) -> Result<Vec<InstalledPackage>> {
        let entries: Vec<parse::StatusEntry> = self
            .status_entries()?
            .into_iter()
            .filter(|(_, state)| state == "installed")
            .map(|(e, _)| e)
            .collect();
        Ok(parse::installed_packages(&entries))
    }

    pub fn unfinished(&self) -> Result<Vec<(String, String, String)>> {
        Ok(self
            .status_entries()?
            .into_iter()
            .filter(|(_, state)| state != "installed")
            .map(|(e, state)| (e.name, e.arch, state))
            .collect())
    }

    pub fn arch_key<'s>(&'s self, arch: &'s str) -> &'s str {
        if arch == "all" || arch == self.native {
            "native"
        } else {
            arch
        }
    }
}

/// The `-o` options that keep dpkg inside the image root `root`.
fn isolation_options(root: &Path) -> Vec<String> {
    let log = resolve_in_root(root, Path::new("/var/log/dpkg.log"));
    [
        "Dir::Bin::dpkg=/usr/bin/dpkg".to_string(),
        "DPkg::Chroot-Directory=/".to_string(),
        format!("DPkg::Options::=--root={}", root.display()),
        format!("DPkg::Options::=--log={}", log.display()),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect()
}

/// Refuse to run dpkg for the image `root` with `options` (apt's `DPkg::Options`) unless the
/// last option that chooses where dpkg works is our `--root=ROOT`: anything else would make
/// `dpkg --configure --pending` act on the host (or wherever the image's options point).
fn confined_to(root: &Path, options: &[String]) -> Result<()> {
    let ours = format!("--root={}", root.display());
    let last = options.iter().rev().find(|o| {
        ["--root", "--instdir", "--admindir"]
            .iter()
            .any(|name| o.as_str() == *name || o.starts_with(&format!("{name}=")))
    });
    if last == Some(&ours) {
        return Ok(());
    }
    Err(Error::failed(format!(
        "refusing to run `dpkg --configure --pending` for the image {}: apt's DPkg::Options do not end with {ours} ({})",
        root.display(),
        if options.is_empty() {
            "none".to_string()
        } else {
            options.join(" ")
        }
    ))
    .with_hint("finish the image's transaction by hand: dpkg --root=ROOT --configure --pending"))
}

/// The arguments after the options: `[-s] -q -y --only-upgrade --no-remove install NAME=VER …`.
/// A package of the native architecture (or `all`) is named without one, so that apt may move
/// it between `all` and native as Debian packages sometimes do; a foreign one as `NAME:ARCH`.
fn install_args(simulate: bool, targets: &[Target], native: &str) -> Vec<String> {
    let mut args: Vec<String> = Vec::with_capacity(targets.len() + 6);
    if simulate {
        args.push("-s".into());
    }
    args.extend(["-q", "-y", "--only-upgrade", "--no-remove", "install"].map(String::from));
    for t in targets {
        if t.arch == "all" || t.arch == native {
            args.push(format!("{}={}", t.name, t.version));
        } else {
            args.push(format!("{}:{}={}", t.name, t.arch, t.version));
        }
    }
    args
}

/// dpkg's status file with each package's state (the third word of `Status:`), for every
/// package that is on disk in some form.
fn parse_states(text: &str) -> Vec<(parse::StatusEntry, String)> {
    parse::stanzas(text)
        .filter_map(|s| {
            let state = s.get("Status")?.split_whitespace().nth(2)?;
            if matches!(state, "not-installed" | "config-files") {
                return None;
            }
            Some((
                parse::StatusEntry {
                    name: s.get("Package")?.to_string(),
                    arch: s.get("Architecture").unwrap_or("all").to_string(),
                    version: s.get("Version")?.to_string(),
                },
                state.to_string(),
            ))
        })
        .collect()
}

/// The `Inst` lines of `apt-get -s`: `Inst NAME [OLD] (NEW ORIGIN[, ORIGIN…] [ARCH])`, where
/// NAME carries `:ARCH` for a foreign architecture and a trailing ` []` may follow.
pub fn parse_simulation(text: &str) -> Vec<Change> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Inst ")?;
            let (name, rest) = rest.split_once(' ')?;
            let mut rest = rest.trim_start();
            let mut old_version = None;
            if let Some(r) = rest.strip_prefix('[') {
                let (old, r) = r.split_once(']')?;
                old_version = Some(old.to_string());
                rest = r.trim_start();
            }
            let inner = rest.strip_prefix('(')?;
            let inner = &inner[..inner.find(')')?];
            let version = inner.split_whitespace().next()?;
            let arch_in_parens = inner
                .rsplit_once('[')
                .map(|(_, a)| a.trim_end_matches(']').trim());
            let (name, arch) = match name.split_once(':') {
                Some((n, a)) => (n, a),
                None => (name, arch_in_parens.unwrap_or("")),
            };
            Some(Change {
                name: name.to_string(),
                arch: arch.to_string(),
                version: version.to_string(),
                old_version,
            })
        })
        .collect()
}

/// dpkg's announcements of the steps that run maintainer scripts.
const DPKG_STEPS: [&str; 4] = [
    "Preparing to unpack ",
    "Unpacking ",
    "Setting up ",
    "Removing ",
];

/// The error reports in apt-get's and dpkg's output, one string each:
/// * `dpkg: error processing archive|package …:` with its indented continuation lines, and
///   what the failing maintainer script printed (the lines since dpkg announced its step);
/// * `E: …` lines (apt's errors; the generic `Sub-process /usr/bin/dpkg returned an error
///   code` last, as it says nothing about which package);
/// * the resolver's unmet-dependency lines ` NAME : Depends: …`;
/// * the packages apt lists under `The following held packages will be changed:`.
///
/// The text has no machine-readable twin: apt's `--status-fd` reports only for packages dpkg
/// reached, not resolver errors.
/// apt's lines saying a dpkg/apt lock was held (`Could not get lock …`, `Unable to acquire the
/// dpkg frontend lock …`, `Unable to lock …`), if any: nothing was installed, another package
/// manager is running.
pub fn lock_problem(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("E: "))
        .filter(|l| {
            l.contains("Could not get lock")
                || l.contains("Unable to acquire the dpkg frontend lock")
                || l.contains("Unable to lock the administration directory")
                || l.contains("Unable to lock directory")
        })
        .map(|l| l.trim_start_matches("E: "))
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

pub fn problems(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut generic = Vec::new();
    // What a maintainer script printed: the lines since dpkg announced the step it runs the
    // script for (unpack or configure).
    let mut script_said: Vec<&str> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if DPKG_STEPS.iter().any(|s| line.starts_with(s)) {
            script_said.clear();
        } else if line.starts_with("dpkg: error processing ") {
            let mut block = line.trim_end().to_string();
            while let Some(next) = lines.peek() {
                if next.starts_with(' ') && !next.trim().is_empty() {
                    block.push(' ');
                    block.push_str(next.trim());
                    lines.next();
                } else {
                    break;
                }
            }
            if !script_said.is_empty() {
                block.push_str(&format!(" (it printed: {})", script_said.join(" / ")));
                script_said.clear();
            }
            out.push(block);
        } else if line.starts_with("The following held packages will be changed:") {
            let mut held = Vec::new();
            while let Some(next) = lines.peek() {
                if next.starts_with("  ") {
                    held.extend(next.split_whitespace().map(str::to_string));
                    lines.next();
                } else {
                    break;
                }
            }
            out.push(format!(
                "held by dpkg --set-selections / apt-mark hold: {}",
                held.join(" ")
            ));
        } else if let Some(e) = line.strip_prefix("E: ") {
            let e = e.trim_end().to_string();
            if e.starts_with("Sub-process ") {
                generic.push(format!("E: {e}"));
            } else {
                out.push(format!("E: {e}"));
            }
        } else if line.starts_with(' ')
            && [
                " : Depends:",
                " : PreDepends:",
                " : Breaks:",
                " : Conflicts:",
            ]
            .iter()
            .any(|k| line.contains(k))
        {
            out.push(line.trim().to_string());
        } else if !line.trim().is_empty() && script_said.len() < 5 {
            script_said.push(line.trim());
        }
    }
    out.extend(generic);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dpkg_repair_runs_only_when_apt_confines_dpkg_to_the_image() {
        let root = Path::new("/img");
        confined_to(root, &opts(&["--force-script-chrootless", "--root=/img"])).unwrap();
        // The image's own --root before ours is overridden by ours.
        confined_to(root, &opts(&["--root=/", "--root=/img", "--log=/img/x"])).unwrap();
        for bad in [
            opts(&[]),
            opts(&["--force-confold"]),
            opts(&["--root=/img", "--instdir=/"]),
            opts(&["--root=/img", "--admindir", "/var/lib/dpkg"]),
            opts(&["--root=/other"]),
            opts(&["--root=/img/"]),
        ] {
            let e = confined_to(root, &bad).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{bad:?}");
            assert!(e.message.contains("--root=/img"), "{}", e.message);
        }
    }

    #[test]
    fn lock_errors_are_recognised() {
        // The last line as apt-get 2.6 (Debian 12) printed it in
        // install_apt_lock_taken_after_the_first_check_is_a_lock_timeout_not_failures; the
        // others in apt's format for its other locks (not captured).
        let text = "Waiting for cache lock: Could not get lock /r/var/lib/dpkg/lock-frontend. It is held by process 8924 (python3)...\n\
                    E: Could not get lock /r/var/lib/dpkg/lock-frontend. It is held by process 8924 (python3)\n\
                    E: Unable to acquire the dpkg frontend lock (/r/var/lib/dpkg/lock-frontend), is another process using it?\n";
        let said = lock_problem(text).unwrap();
        assert!(said.starts_with("Could not get lock"), "{said}");
        assert!(said.contains("Unable to acquire"), "{said}");
        assert_eq!(lock_problem("E: Version '9' for 'x' was not found\n"), None);
    }

    fn t(name: &str, arch: &str, version: &str) -> Target {
        Target {
            name: name.into(),
            arch: arch.into(),
            version: version.into(),
        }
    }

    #[test]
    fn install_argv_names_exact_versions_only_upgrading() {
        let args = install_args(
            false,
            &[
                t("curl-sim", "all", "2.0-1"),
                t("libc-sim", "amd64", "1.0-1+deb12u1"),
                t("libc-sim", "i386", "1.0-1+deb12u1"),
            ],
            "amd64",
        );
        assert_eq!(
            args,
            [
                "-q",
                "-y",
                "--only-upgrade",
                "--no-remove",
                "install",
                "curl-sim=2.0-1",
                "libc-sim=1.0-1+deb12u1",
                "libc-sim:i386=1.0-1+deb12u1"
            ]
        );
        assert_eq!(install_args(true, &[], "amd64")[0], "-s");
    }

    #[test]
    fn image_roots_confine_dpkg_and_its_log() {
        let o = isolation_options(Path::new("/img"));
        assert_eq!(
            o,
            [
                "-o",
                "Dir::Bin::dpkg=/usr/bin/dpkg",
                "-o",
                "DPkg::Chroot-Directory=/",
                "-o",
                "DPkg::Options::=--root=/img",
                "-o",
                "DPkg::Options::=--log=/img/var/log/dpkg.log"
            ]
        );
    }

    /// Real `apt-get -s install --only-upgrade` output on the deb fixture root (apt 2.6.2).
    const SIMULATION: &str = "\
Reading package lists...
Building dependency tree...
Skipping newtool-sim, it is not installed and only upgrades are requested.
The following NEW packages will be installed:
  libcurl-sim
The following packages will be upgraded:
  curl-sim openssl-sim
2 upgraded, 1 newly installed, 0 to remove and 5 not upgraded.
Inst openssl-sim [1.0-1] (1.1-1 Debian:12.5/bookworm, Debian-Security:12/bookworm-security [all])
Inst libcurl-sim (2.0-1 Debian:12.5/bookworm [all])
Inst curl-sim [1.0-1] (2.0-1 Debian-Security:12/bookworm-security [all])
Conf openssl-sim (1.1-1 Debian:12.5/bookworm, Debian-Security:12/bookworm-security [all])
Conf libcurl-sim (2.0-1 Debian:12.5/bookworm [all])
";

    #[test]
    fn simulation_lists_every_version_that_would_come_in() {
        let c = parse_simulation(SIMULATION);
        let got: Vec<(&str, &str, &str, Option<&str>)> = c
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.arch.as_str(),
                    c.version.as_str(),
                    c.old_version.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("openssl-sim", "all", "1.1-1", Some("1.0-1")),
                ("libcurl-sim", "all", "2.0-1", None),
                ("curl-sim", "all", "2.0-1", Some("1.0-1"))
            ]
        );
        // Written by hand in apt's format for a foreign architecture (NAME:ARCH) with the
        // trailing `[]` apt adds for packages it considers broken before the change.
        let foreign = parse_simulation(
            "Inst libc6:i386 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable [i386]) []\n",
        );
        assert_eq!(
            (
                foreign[0].name.as_str(),
                foreign[0].arch.as_str(),
                foreign[0].version.as_str()
            ),
            ("libc6", "i386", "2.36-9+deb12u4")
        );
    }

    /// Real output of a transaction where one package's preinst exits 1 (apt 2.6.2, dpkg
    /// 1.21.22, on the fixture root; dpkg's output arrives on apt's standard output).
    const FAILED_PREINST: &str = "\
Preparing to unpack .../main/openssl-sim_1.1-1_all.deb ...
Unpacking openssl-sim (1.1-1) over (1.0-1) ...
Preparing to unpack .../x/badpre-sim_2.0-1_all.deb ...
badpre-sim: refusing to upgrade (fixture)
dpkg: error processing archive /tmp/inst-exp/x/badpre-sim_2.0-1_all.deb (--unpack):
 new badpre-sim package pre-installation script subprocess returned error exit status 1
Selecting previously unselected package libcurl-sim.
Errors were encountered while processing:
 /tmp/inst-exp/x/badpre-sim_2.0-1_all.deb

E: Sub-process /usr/bin/dpkg returned an error code (1)
";

    #[test]
    fn dpkg_errors_keep_their_continuation_and_the_generic_error_comes_last() {
        assert_eq!(
            problems(FAILED_PREINST),
            [
                "dpkg: error processing archive /tmp/inst-exp/x/badpre-sim_2.0-1_all.deb (--unpack): new badpre-sim package pre-installation script subprocess returned error exit status 1 (it printed: badpre-sim: refusing to upgrade (fixture))",
                "E: Sub-process /usr/bin/dpkg returned an error code (1)"
            ]
        );
    }

    /// Real resolver failures (apt 2.6.2 on fixture roots: a dependency that no archive has, a
    /// held package, and a version that does not exist).
    #[test]
    fn resolver_errors_and_unmet_dependencies() {
        let text = "\
Some packages could not be installed. This may mean that you have
requested an impossible situation or if you are using the unstable
distribution that some required packages have not yet been created
or been moved out of Incoming.
The following information may help to resolve the situation:

The following packages have unmet dependencies:
 dep-sim : Depends: nothere-sim (>= 1) but it is not installable
E: Unable to correct problems, you have held broken packages.
";
        assert_eq!(
            problems(text),
            [
                "dep-sim : Depends: nothere-sim (>= 1) but it is not installable",
                "E: Unable to correct problems, you have held broken packages."
            ]
        );
        let held = "\
The following held packages will be changed:
  openssl-sim
The following packages will be upgraded:
  curl-sim openssl-sim
2 upgraded, 1 newly installed, 0 to remove and 6 not upgraded.
E: Held packages were changed and -y was used without --allow-change-held-packages.
";
        assert_eq!(
            problems(held),
            [
                "held by dpkg --set-selections / apt-mark hold: openssl-sim",
                "E: Held packages were changed and -y was used without --allow-change-held-packages."
            ]
        );
        assert_eq!(
            problems(
                "Reading package lists...\nE: Version '9.9-9' for 'openssl-sim' was not found\n"
            ),
            ["E: Version '9.9-9' for 'openssl-sim' was not found"]
        );
    }

    #[test]
    fn states_from_dpkg_status() {
        let status = "Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\nPackage: b\nStatus: install ok unpacked\nArchitecture: amd64\nVersion: 2\n\nPackage: c\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 3\n";
        let s = parse_states(status);
        let got: Vec<(&str, &str)> = s
            .iter()
            .map(|(e, st)| (e.name.as_str(), st.as_str()))
            .collect();
        assert_eq!(got, [("a", "installed"), ("b", "unpacked")]);
    }
}
