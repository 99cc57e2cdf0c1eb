//! Does the system need a reboot, why, and what do we do about it.
//!
//! **Detection** ([`detect`]) is a function of data: the packages this run changed, the
//! advisories, the pending packages of earlier runs, the root, and, only for the running host,
//! facts about it ([`LiveHost`]). Every reason is a sentence in the report, and names the
//! packages it is about where it can:
//!
//! | source | counts |
//! |---|---|
//! | `/var/run/reboot-required` (+ `.pkgs`), written by Debian/Ubuntu package hooks | host: whenever present (it lives in /run, emptied at boot); image: only when it names a package this run changed or was written during this run |
//! | an advisory with `reboot_suggested` covering a version this run installed | always |
//! | a changed package whose name needs a reboot (RPM: kernel*, glibc, systemd, dbus*, linux-firmware, *microcode*; Debian: linux-image-*, libc6, systemd, dbus*, *microcode*) | always |
//! | packages an earlier run installed without their reboot ([`crate::state`]) | always |
//! | `dnf needs-restarting -r` (`needs-restarting -r` on yum) | host only: it compares install times with the host's boot time |
//! | the running kernel (`uname -r`) is older than the newest installed kernel | host only |
//!
//! Under `--root` only what the run changed (and earlier runs left pending) counts: the host's
//! boot time and kernel say nothing about an image.
//!
//! **The action** ([`choose`], then [`perform`] once the report is complete on disk), only when a
//! reboot is required, `RebootIfNeeded` is in force, and this run changed packages or earlier
//! runs left packages pending (as AWS, which reboots only after installing something; other
//! signals are reported with `required: true` and action `none`):
//! 1. `--reboot-command CMD`: `sh -c CMD` (a user's command line, as in an SSM document);
//! 2. under the SSM agent (`AWS_SSM_INSTANCE_ID` set): exit 194, the agent reboots and runs the
//!    document again ([`crate::state::State::resume`] recognises that re-run);
//! 3. with `--root`: nothing (action `image`): the report says the image's future host needs it;
//! 4. on the host: `systemctl reboot`, falling back to `shutdown -r now`.
//!
//! `NoReboot` never reboots (action `not-permitted`); pending packages are recorded either way.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{exit, Error, Result};
use crate::exec::Cmd;
use crate::lock::{self, DpkgRepair};
use crate::model::{Advisory, Family, InstalledPackage, Inventory};
use crate::report;
use crate::signals;
use crate::state::{
    PendingPackage, RebootRequest, Resume, Scope, Session, StateDir, MAX_REBOOT_ATTEMPTS,
    SSM_ACTION,
};
use crate::system::resolve_in_root;
use crate::version;

/// Debian/Ubuntu's reboot marker, as a path inside the system (on current systems /var/run is
/// a link to /run).
pub const REBOOT_REQUIRED: &str = "/var/run/reboot-required";

/// One `name.arch` whose installed versions this run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub arch: String,
    /// The newest version installed before (None: newly installed).
    pub old_version: Option<String>,
    /// The version this run installed (None: removed).
    pub new_version: Option<String>,
}

impl Change {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.arch)
    }
}

/// What changed between two installed sets: every version present after but not before (with
/// the newest version before as `old_version`), and every `name.arch` that lost all versions.
pub fn changes(
    family: Family,
    before: &[InstalledPackage],
    after: &[InstalledPackage],
) -> Vec<Change> {
    type Versions<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a str>>;
    fn group(set: &[InstalledPackage]) -> Versions<'_> {
        let mut m: Versions = BTreeMap::new();
        for p in set {
            m.entry((&p.name, &p.arch)).or_default().push(&p.version);
        }
        m
    }
    let (b, a) = (group(before), group(after));
    let same = |x: &str, y: &str| version::compare(family, x, y).is_eq();
    let newest = |vs: &[&str]| -> Option<String> {
        vs.iter()
            .max_by(|x, y| version::compare(family, x, y))
            .map(|v| v.to_string())
    };
    let mut out = Vec::new();
    for (&(name, arch), new_vs) in &a {
        let old_vs = b.get(&(name, arch)).map(Vec::as_slice).unwrap_or(&[]);
        for v in new_vs.iter().filter(|v| !old_vs.iter().any(|o| same(o, v))) {
            out.push(Change {
                name: name.into(),
                arch: arch.into(),
                old_version: newest(old_vs),
                new_version: Some(v.to_string()),
            });
        }
    }
    for (&(name, arch), old_vs) in &b {
        if !a.contains_key(&(name, arch)) {
            out.push(Change {
                name: name.into(),
                arch: arch.into(),
                old_version: newest(old_vs),
                new_version: None,
            });
        }
    }
    out
}

/// The verdict of `needs-restarting -r`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedsRestarting {
    pub reboot: bool,
    /// The packages it names (updated since boot).
    pub packages: Vec<String>,
}

/// Facts about the running host; only ever gathered for root `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveHost {
    /// `uname -r`.
    pub kernel_release: String,
    /// Whether `/lib/modules/<kernel_release>` exists: the running kernel belongs to this
    /// system (not so in a container).
    pub kernel_modules_present: bool,
    /// None where the tool does not exist or said nothing we understand.
    pub needs_restarting: Option<NeedsRestarting>,
}

impl LiveHost {
    /// Look at the running host. Asks `needs-restarting -r` on RPM systems where it exists.
    pub fn probe(family: Family) -> LiveHost {
        let kernel_release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let kernel_modules_present =
            !kernel_release.is_empty() && Path::new("/lib/modules").join(&kernel_release).is_dir();
        let needs_restarting = match family {
            Family::Rpm => run_needs_restarting(),
            Family::Deb => None,
        };
        LiveHost {
            kernel_release,
            kernel_modules_present,
            needs_restarting,
        }
    }
}

/// `dnf needs-restarting -r` (dnf-plugins-core) or `needs-restarting -r` (yum-utils), where
/// installed. Its exit code alone is ambiguous (dnf exits 1 both for "reboot required" and for
/// "no such command"), so the verdict comes from its text.
fn run_needs_restarting() -> Option<NeedsRestarting> {
    let cmd = if crate::exec::which("dnf").is_some() {
        Cmd::new("dnf").args(["-q", "needs-restarting", "-r"])
    } else if crate::exec::which("needs-restarting").is_some() {
        Cmd::new("needs-restarting").arg("-r")
    } else {
        return None;
    };
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!("{e}");
            return None;
        }
    };
    let verdict = parse_needs_restarting(&out.stdout_str());
    if verdict.is_none() {
        tracing::info!(
            command = %out.command,
            code = ?out.code(),
            stderr = %crate::exec::tail(&out.stderr_str(), 3, 300),
            "needs-restarting gave no verdict; not used"
        );
    }
    verdict
}

/// Parse `needs-restarting -r` output (dnf: `  * kernel`, yum-utils: `  kernel -> 4.14.…`).
pub fn parse_needs_restarting(stdout: &str) -> Option<NeedsRestarting> {
    let reboot = if stdout.contains("Reboot is required") {
        true
    } else if stdout.contains("Reboot should not be necessary") {
        false
    } else {
        return None;
    };
    let packages = stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let name = l
                .strip_prefix("* ")
                .or_else(|| l.split_once(" -> ").map(|(n, _)| n))?;
            Some(name.trim().to_string())
        })
        .filter(|n| !n.is_empty())
        .collect();
    Some(NeedsRestarting { reboot, packages })
}

/// Whether a reboot is needed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebootNeed {
    pub required: bool,
    /// Every reason, in the order found, each once.
    pub reasons: Vec<String>,
    /// The reasons that are about a package, by `name.arch`.
    pub packages: BTreeMap<String, Vec<String>>,
    /// Some reason names no package (a reboot marker without its `.pkgs`, needs-restarting
    /// without names): every package this run changed waits for the reboot.
    pub unattributed: bool,
    /// This run changed packages, or earlier runs left packages waiting for a reboot: only
    /// then may the action reboot (AWS reboots only after installing something). Other
    /// signals (another tool's marker, needs-restarting, an older running kernel) are still
    /// reported, with action `none`.
    pub ours: bool,
}

/// What a reason is about.
enum About {
    /// This package (`name.arch`).
    Package(String),
    /// No package we can name: every package this run changed waits for the reboot.
    Unknown,
    /// Packages someone else installed: required, but none of this run's packages waits for it.
    Others,
}

impl RebootNeed {
    fn add(&mut self, reason: String, about: About) {
        self.required = true;
        match about {
            About::Package(id) => {
                let v = self.packages.entry(id).or_default();
                if !v.contains(&reason) {
                    v.push(reason.clone());
                }
            }
            About::Unknown => self.unattributed = true,
            About::Others => {}
        }
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// The packages this run changed that wait for the reboot, as state records.
    pub fn pending_packages(
        &self,
        changed: &[Change],
        boot_id: &str,
        scope: Scope,
        now: DateTime<Utc>,
    ) -> Vec<PendingPackage> {
        if !self.required {
            return Vec::new();
        }
        changed
            .iter()
            .filter_map(|c| {
                let version = c.new_version.clone()?;
                let id = c.id();
                let reasons = match self.packages.get(&id) {
                    Some(r) => r.clone(),
                    None if self.unattributed => self.reasons.clone(),
                    None => return None,
                };
                Some(PendingPackage {
                    id,
                    name: c.name.clone(),
                    arch: c.arch.clone(),
                    version,
                    installed_at: now,
                    boot_id: boot_id.to_string(),
                    scope,
                    reasons,
                })
            })
            .collect()
    }

    /// The report's `reboot` object.
    pub fn to_report(&self, action: &Action) -> report::Reboot {
        report::Reboot {
            required: self.required,
            reasons: self.reasons.clone(),
            action: action.as_str().to_string(),
        }
    }
}

/// Everything [`detect`] looks at.
#[derive(Debug, Clone)]
pub struct Detect<'a> {
    pub family: Family,
    /// The system (`/` for the host).
    pub root: &'a Path,
    /// What this run changed (empty for a scan).
    pub changed: &'a [Change],
    /// The advisories known for the system (RPM updateinfo).
    pub advisories: &'a [Advisory],
    /// The installed set now.
    pub installed: &'a [InstalledPackage],
    /// Packages earlier runs installed without their reboot, still pending (settled).
    pub pending: &'a [PendingPackage],
    /// Facts about the running host: Some only when `root` is `/`.
    pub live: Option<&'a LiveHost>,
    /// When this run started: a reboot marker written since then was written by this run.
    pub run_started: DateTime<Utc>,
}

/// Does the system need a reboot, and why (see the module documentation).
pub fn detect(d: &Detect) -> RebootNeed {
    let mut need = RebootNeed {
        ours: !d.changed.is_empty() || !d.pending.is_empty(),
        ..RebootNeed::default()
    };
    let live = d.live.filter(|_| crate::system::is_host(d.root));
    let new_versions: Vec<(&Change, &str)> = d
        .changed
        .iter()
        .filter_map(|c| c.new_version.as_deref().map(|v| (c, v)))
        .collect();

    // Earlier runs.
    for p in d.pending {
        need.add(
            format!(
                "{} {} was installed {} by an earlier run and still waits for a reboot ({})",
                p.id,
                p.version,
                report::aws_time(p.installed_at),
                p.reasons.join("; ")
            ),
            About::Package(p.id.clone()),
        );
    }

    // The package manager's own marker.
    marker_reasons(d, live.is_some(), &mut need);

    // Advisories that suggest a reboot for a version this run installed (or one it skipped over).
    for (c, new) in &new_versions {
        for a in d.advisories.iter().filter(|a| a.reboot_suggested) {
            let covered = a.packages.iter().find(|p| {
                p.name == c.name
                    && p.arch == c.arch
                    && version::compare(d.family, &p.version, new).is_le()
                    && c.old_version
                        .as_deref()
                        .is_none_or(|old| version::compare(d.family, &p.version, old).is_gt())
            });
            if let Some(p) = covered {
                need.add(
                    format!(
                        "{} {} was installed and advisory {} suggests a reboot (for {})",
                        c.id(),
                        new,
                        a.id,
                        p.version
                    ),
                    About::Package(c.id()),
                );
            }
        }
    }

    // Packages whose new version only takes effect after a reboot.
    for (c, new) in &new_versions {
        if let Some(why) = needs_reboot_by_name(d.family, &c.name) {
            need.add(
                format!("{} {} was installed: {why}", c.id(), new),
                About::Package(c.id()),
            );
        }
    }

    if let Some(host) = live {
        if let Some(nr) = host.needs_restarting.as_ref().filter(|nr| nr.reboot) {
            let reason = if nr.packages.is_empty() {
                "needs-restarting -r: core libraries or services were updated since boot".into()
            } else {
                format!(
                    "needs-restarting -r: updated since boot: {}",
                    nr.packages.join(", ")
                )
            };
            let ids: Vec<String> = d
                .installed
                .iter()
                .filter(|i| nr.packages.contains(&i.name))
                .map(|i| format!("{}.{}", i.name, i.arch))
                .collect();
            if ids.is_empty() {
                need.add(reason.clone(), About::Unknown);
            }
            for id in ids {
                need.add(reason.clone(), About::Package(id));
            }
        }
        if let Some((id, newest)) = kernel_behind(d.family, host, d.installed) {
            need.add(
                format!(
                    "the running kernel {} is older than the newest installed kernel {newest}",
                    host.kernel_release
                ),
                About::Package(id),
            );
        }
    }
    need
}

/// Reasons from `/var/run/reboot-required` and its `.pkgs` list.
fn marker_reasons(d: &Detect, live: bool, need: &mut RebootNeed) {
    let marker = resolve_in_root(d.root, Path::new(REBOOT_REQUIRED));
    let Ok(meta) = std::fs::metadata(&marker) else {
        return;
    };
    let pkgs_file = resolve_in_root(d.root, Path::new(&format!("{REBOOT_REQUIRED}.pkgs")));
    let mut listed: Vec<String> = std::fs::read_to_string(&pkgs_file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().split(':').next().unwrap_or("").to_string())
        .filter(|l| !l.is_empty())
        .collect();
    listed.sort();
    listed.dedup();
    let changed_ids = |name: &str| -> Vec<String> {
        d.changed
            .iter()
            .filter(|c| c.new_version.is_some() && c.name == name)
            .map(Change::id)
            .collect()
    };
    let written_now = meta
        .modified()
        .ok()
        .map(DateTime::<Utc>::from)
        .is_some_and(|m| m >= d.run_started);
    let ours: Vec<&String> = listed
        .iter()
        .filter(|n| !changed_ids(n).is_empty())
        .collect();
    if !live && ours.is_empty() && !written_now {
        // An image's marker from before this run: nothing says what it is about.
        return;
    }
    let shown = marker.display();
    if listed.is_empty() {
        need.add(format!("{shown} exists"), About::Unknown);
        return;
    }
    for name in &listed {
        let reason = format!("{shown} lists {name}");
        let ids = changed_ids(name);
        if ids.is_empty() {
            if live {
                // Installed by someone else since boot.
                need.add(reason, About::Others);
            }
            continue;
        }
        for id in ids {
            need.add(reason.clone(), About::Package(id));
        }
    }
}

/// Why a package of this name needs a reboot to take effect, or None.
pub fn needs_reboot_by_name(family: Family, name: &str) -> Option<&'static str> {
    let microcode = name.contains("microcode");
    match family {
        Family::Rpm => {
            const NOT_RUNTIME: &[&str] = &[
                "-headers",
                "-devel",
                "-doc",
                "-tools",
                "-tools-libs",
                "-srpm-macros",
                "-abi-stablelists",
                "-abi-whitelists",
            ];
            if name.starts_with("kernel") && !NOT_RUNTIME.iter().any(|s| name.ends_with(s)) {
                Some("a new kernel runs only after a reboot")
            } else if name == "glibc" {
                Some("running programs keep the old C library until they restart")
            } else if name == "systemd" {
                Some("the running init system is the old version")
            } else if name.starts_with("dbus") {
                Some("the system bus cannot be restarted safely")
            } else if name == "linux-firmware" || microcode {
                Some("firmware and microcode are loaded at boot")
            } else {
                None
            }
        }
        Family::Deb => {
            if name.starts_with("linux-image-") {
                Some("a new kernel runs only after a reboot")
            } else if name == "libc6" {
                Some("running programs keep the old C library until they restart")
            } else if name == "systemd" {
                Some("the running init system is the old version")
            } else if name == "dbus" || name.starts_with("dbus-") {
                Some("the system bus cannot be restarted safely")
            } else if microcode {
                Some("firmware and microcode are loaded at boot")
            } else {
                None
            }
        }
    }
}

/// The release (`uname -r` form) of an installed kernel package, or None when the package is
/// not a kernel image.
fn kernel_release_of(family: Family, p: &InstalledPackage) -> Option<String> {
    match family {
        Family::Rpm => {
            let base = p
                .name
                .strip_suffix("-core")
                .unwrap_or(&p.name)
                .strip_prefix("kernel")?;
            // kernel, kernel-uek, kernel-rt, kernel6.12 (Amazon Linux), each with -core.
            let flavour_ok = base.is_empty()
                || base == "-uek"
                || base == "-rt"
                || base.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !flavour_ok {
                return None;
            }
            let evr = p.version.split_once(':').map_or(&*p.version, |(_, r)| r);
            Some(format!("{evr}.{}", p.arch))
        }
        Family::Deb => {
            let rel = p.name.strip_prefix("linux-image-")?;
            let rel = rel
                .strip_suffix("-unsigned")
                .or_else(|| rel.strip_suffix("-dbg"))
                .unwrap_or(rel);
            rel.starts_with(|c: char| c.is_ascii_digit())
                .then(|| rel.to_string())
        }
    }
}

/// The flavour of a kernel release: what must match for two releases to be comparable
/// (`amd64`, `cloud-amd64`, `generic`, `aws`; `uek`, `rt` or nothing on RPM systems).
fn kernel_flavour(family: Family, release: &str) -> String {
    match family {
        Family::Rpm => {
            if release.contains("uek") {
                "uek".into()
            } else if release.contains(".rt") {
                "rt".into()
            } else {
                String::new()
            }
        }
        Family::Deb => {
            let parts: Vec<&str> = release.split('-').collect();
            let last_number = parts
                .iter()
                .rposition(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            match last_number {
                Some(i) => parts[i + 1..].join("-"),
                None => String::new(),
            }
        }
    }
}

/// Compare two kernel releases (`uname -r` form) of one flavour.
fn compare_releases(family: Family, a: &str, b: &str) -> std::cmp::Ordering {
    match family {
        // version-release.arch: drop the arch, compare as rpm does.
        Family::Rpm => {
            let strip = |s: &str| {
                s.rsplit_once('.')
                    .map_or(s.to_string(), |(r, _)| r.to_string())
            };
            version::compare(family, &strip(a), &strip(b))
        }
        Family::Deb => version::compare(family, a, b),
    }
}

/// When the running kernel belongs to this system and an installed kernel of its flavour is
/// newer: (that package's `name.arch`, its release).
pub fn kernel_behind(
    family: Family,
    host: &LiveHost,
    installed: &[InstalledPackage],
) -> Option<(String, String)> {
    let running = host.kernel_release.as_str();
    if running.is_empty() {
        return None;
    }
    let flavour = kernel_flavour(family, running);
    let kernels: Vec<(String, &InstalledPackage)> = installed
        .iter()
        .filter_map(|p| kernel_release_of(family, p).map(|r| (r, p)))
        .filter(|(r, _)| kernel_flavour(family, r) == flavour)
        .collect();
    let ours = host.kernel_modules_present || kernels.iter().any(|(r, _)| r == running);
    if !ours {
        return None;
    }
    let (newest, p) = kernels
        .into_iter()
        .max_by(|(a, _), (b, _)| compare_releases(family, a, b))?;
    compare_releases(family, &newest, running)
        .is_gt()
        .then(|| (format!("{}.{}", p.name, p.arch), newest))
}

/// What to do about a reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No reboot is required.
    None,
    /// Required, but NoReboot (or a scan): recorded as pending.
    NotPermitted,
    /// Required in an image (`--root`): its future host must reboot; nothing is run.
    Image,
    /// Run the user's `--reboot-command`.
    Command(String),
    /// Exit 194: the SSM agent reboots and runs the document again.
    SsmExit,
    /// Reboot this host: `systemctl reboot`, else `shutdown -r now`.
    Systemctl,
}

impl Action {
    /// The report's `reboot.action`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::None => "none",
            Action::NotPermitted => "not-permitted",
            Action::Image => "image",
            Action::Command(_) => "command",
            Action::SsmExit => SSM_ACTION,
            Action::Systemctl => "systemctl",
        }
    }

    /// Whether the action asks for a reboot (recorded as a request in the state).
    pub fn reboots(&self) -> bool {
        matches!(
            self,
            Action::Command(_) | Action::SsmExit | Action::Systemctl
        )
    }
}

/// What decides the action.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// RebootOption RebootIfNeeded (true) or NoReboot (false; also a scan).
    pub reboot_if_needed: bool,
    /// `--reboot-command`.
    pub command: Option<&'a str>,
    /// Running under the SSM agent (see [`under_ssm_agent`]).
    pub under_ssm: bool,
    /// The system being patched (`/` for the host).
    pub root: &'a Path,
}

/// The SSM agent sets these for the scripts it runs (semantics §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmAgent {
    pub instance_id: String,
    pub command_id: Option<String>,
}

/// Whether we run under the SSM agent (`AWS_SSM_INSTANCE_ID` set and not empty).
pub fn under_ssm_agent() -> Option<SsmAgent> {
    let instance_id = std::env::var("AWS_SSM_INSTANCE_ID")
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(SsmAgent {
        instance_id,
        command_id: std::env::var("SSM_COMMAND_ID")
            .ok()
            .filter(|s| !s.is_empty()),
    })
}

/// The action for a need under a policy (see the module documentation for the order). Nothing
/// reboots unless this run changed packages or earlier runs left some pending
/// ([`RebootNeed::ours`]). The host itself is rebooted only when nothing else was asked for: no
/// reboot command, not under the SSM agent, and the system is `/`.
pub fn choose(need: &RebootNeed, policy: &Policy) -> Action {
    if !need.required {
        return Action::None;
    }
    if !policy.reboot_if_needed {
        return Action::NotPermitted;
    }
    if !need.ours {
        return Action::None;
    }
    match policy.command {
        Some(cmd) => Action::Command(cmd.to_string()),
        None if policy.under_ssm => Action::SsmExit,
        None if policy.root != Path::new("/") => Action::Image,
        None => Action::Systemctl,
    }
}

/// A need and the action chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub need: RebootNeed,
    pub action: Action,
}

/// Detect the need and choose the action.
pub fn decide(d: &Detect, policy: &Policy) -> Decision {
    let need = detect(d);
    let action = choose(&need, policy);
    Decision { need, action }
}

/// After the install, before the report is written: record what waits for a reboot and the
/// request (when the action reboots), and fill the report's `reboot` object and
/// InstalledPendingReboot states. `exit_code` is what the install exits with apart from the
/// reboot (0, or 1 when packages failed): the SSM agent's re-run after the reboot returns it.
/// Save the session's state and write the report next, then [`perform`] the action.
pub fn conclude(
    session: &mut Session,
    report: &mut report::Report,
    decision: &Decision,
    changed: &[Change],
    ssm_command_id: Option<&str>,
    exit_code: i32,
    now: DateTime<Utc>,
) {
    let scope = if session.live {
        Scope::Host
    } else {
        Scope::Image
    };
    let Decision { need, action } = decision;
    let recorded = need.pending_packages(changed, &session.boot_id, scope, now);
    session.state.add_pending(recorded);
    if action.reboots() {
        session.state.request_reboot(RebootRequest {
            boot_id: session.boot_id.clone(),
            requested_at: now,
            action: action.as_str().to_string(),
            attempts: 1,
            ssm_command_id: ssm_command_id.map(str::to_string),
            exit_code,
        });
    }
    report.reboot = need.to_report(action);
    crate::state::apply_pending(report, &session.state.pending);
}

// ---------------------------------------------------------------------------------------------
// The install flow's two calls: [`prepare`] before anything changes, [`finish`] after.

/// What an install run was asked about safety and reboots.
#[derive(Debug, Clone)]
pub struct Flow<'a> {
    /// The system (`/` for the host).
    pub root: &'a Path,
    pub family: Family,
    /// `--boot-id-file` (tests and simulations).
    pub boot_id_file: Option<&'a Path>,
    /// `--lock-timeout`: for our run lock and for package-manager locks.
    pub lock_timeout: std::time::Duration,
    /// `--dpkg-repair`.
    pub dpkg_repair: DpkgRepair,
    /// RebootOption: RebootIfNeeded (true) or NoReboot.
    pub reboot_if_needed: bool,
    /// `--reboot-command`.
    pub reboot_command: Option<&'a str>,
    /// The SSM agent we run under, if any ([`under_ssm_agent`]).
    pub ssm: Option<SsmAgent>,
    /// When the run started (a reboot marker written since then was written by this run).
    pub started_at: DateTime<Utc>,
}

/// What [`prepare`] found.
#[derive(Debug)]
pub enum Prepared {
    /// Install; then call [`finish`] with what changed.
    Install(Session),
    /// This is the SSM agent's re-run after the reboot we asked for: do NOT install. Evaluate
    /// the system as it is, build the Install report from it, call [`finish`] with
    /// `after_reboot: true` and no changes, write the report, and exit with the request's
    /// `exit_code` (what the install exited with before the reboot).
    AfterReboot(Session, RebootRequest),
    /// We asked the SSM agent for a reboot and the system has not rebooted yet: exit 194 again
    /// without installing (the attempt is counted and saved; the lock is released on drop).
    AskAgain(RebootRequest),
}

/// Before anything changes (and before the repository metadata is refreshed): take the run lock
/// (exit 4 after the timeout), load the state (exit 3 when it is not usable), resume a reboot
/// request, and wait for other package managers (exit 4). Nothing on the system changes but the
/// state directory. The command installs the signal handlers ([`signals::install`]) before, and
/// calls [`before_install`] once its inputs are validated.
pub fn prepare(flow: &Flow) -> Result<Prepared> {
    let live = crate::system::is_host(flow.root);
    let mut session = Session::open(
        StateDir::for_root(flow.root),
        live,
        flow.boot_id_file,
        flow.lock_timeout,
        Utc::now(),
    )?;
    let now = Utc::now();
    match session.state.resume(&session.boot_id, flow.ssm.as_ref()) {
        Resume::Proceed => {}
        Resume::Rebooted(req) => {
            let boot = session.boot_id.clone();
            session.state.settle(&boot, live, None);
            session.save(now)?;
            return Ok(Prepared::AfterReboot(session, req));
        }
        Resume::AskAgain(req) => {
            session.save(now)?;
            eprintln!(
                "the reboot requested at {} has not happened yet (attempt {} of {}): asking the SSM agent again (exit 194)",
                report::aws_time(req.requested_at),
                req.attempts,
                MAX_REBOOT_ATTEMPTS
            );
            return Ok(Prepared::AskAgain(req));
        }
        Resume::GiveUp(req) => {
            session.save(now)?;
            return Err(Resume::give_up_error(&req));
        }
    }
    lock::wait_for_package_manager(flow.root, flow.family, flow.lock_timeout)?;
    Ok(Prepared::Install(session))
}

/// Right before the first transaction, once every input is validated: the package-manager
/// locks are waited for again (the refresh in between takes time, and apt-daily may have
/// started meanwhile; exit 4), and an interrupted dpkg is refused or repaired
/// (`--dpkg-repair`; exit 3).
pub fn before_install(flow: &Flow) -> Result<()> {
    lock::wait_for_package_manager(flow.root, flow.family, flow.lock_timeout)?;
    if flow.family == Family::Deb {
        if let Some(repaired) = lock::ensure_dpkg_ready(flow.root, flow.dpkg_repair)? {
            eprintln!("{repaired}");
        }
    }
    Ok(())
}

/// What the install did, for [`finish`].
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    /// What this run changed ([`changes`] of the installed sets before and after).
    pub changed: &'a [Change],
    /// The system after the install (installed set and advisories).
    pub after: &'a Inventory,
    /// The exit code apart from reboots: 0, or 1 when packages failed.
    pub exit_code: i32,
    /// The re-run after the reboot we asked for ([`Prepared::AfterReboot`]): never reboot again
    /// (a reboot that did not help would loop); a need that remains is reported.
    pub after_reboot: bool,
}

/// What [`finish`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub decision: Decision,
    /// The exit code unless the action decides another (5 when a signal arrived).
    pub exit_code: i32,
}

/// After the install, before the report is written: settle and record pending packages, detect
/// the need, choose the action (never a reboot after a signal or on the re-run after a reboot),
/// record a request, fill the report (`reboot`, InstalledPendingReboot states, `interrupted`),
/// and save the state. Then write the report and call [`Finished::perform`]. A state that
/// cannot be saved is not an error here (the report must still be written): it is in the
/// report's errors, the action becomes `none`, and the exit code 3.
pub fn finish(
    session: &mut Session,
    report: &mut report::Report,
    flow: &Flow,
    done: &Finish,
) -> Result<Finished> {
    let now = Utc::now();
    let boot = session.boot_id.clone();
    session.state.settle(
        &boot,
        session.live,
        Some((&done.after.installed, flow.family)),
    );
    let live = session.live.then(|| LiveHost::probe(flow.family));
    let interrupted = signals::received();
    let earlier = session.state.pending.clone();
    let decision = decide(
        &Detect {
            family: flow.family,
            root: flow.root,
            changed: done.changed,
            advisories: &done.after.advisories,
            installed: &done.after.installed,
            pending: &earlier,
            live: live.as_ref(),
            run_started: flow.started_at,
        },
        &Policy {
            reboot_if_needed: flow.reboot_if_needed && !done.after_reboot && interrupted.is_none(),
            command: flow.reboot_command,
            under_ssm: flow.ssm.is_some(),
            root: flow.root,
        },
    );
    conclude(
        session,
        report,
        &decision,
        done.changed,
        flow.ssm.as_ref().and_then(|a| a.command_id.as_deref()),
        done.exit_code,
        now,
    );
    if !flow.reboot_if_needed && !done.after_reboot {
        session.state.last_no_reboot_install = Some(now);
    }
    let mut decision = decision;
    let mut exit_code = done.exit_code;
    if let Some(sig) = interrupted {
        report.interrupted = true;
        report.errors.push(signals::interrupted_error(sig).message);
        exit_code = exit::INTERRUPTED;
    }
    if let Err(e) = session.save(now) {
        // The transactions have run: the report is still written (by the caller, next), and
        // says what was lost. No reboot without its request on disk (the re-run after it would
        // not know it), and the run exits 3.
        report.errors.push(format!(
            "{e}: pending reboots of this run are not recorded{}",
            if decision.action.reboots() {
                "; the reboot was not made"
            } else {
                ""
            }
        ));
        if decision.action.reboots() {
            decision.action = Action::None;
            report.reboot = decision.need.to_report(&decision.action);
        }
        exit_code = exit::OPERATION_FAILED;
    }
    Ok(Finished {
        decision,
        exit_code,
    })
}

impl Finished {
    /// Carry out the action once the report (and every other output) is on disk. Returns the
    /// process's exit code: 194 for the SSM agent, else `code` (usually [`Finished::exit_code`],
    /// possibly changed by later checks such as `--fail-on`).
    pub fn perform(&self, flow: &Flow, report_path: Option<&Path>, code: i32) -> Result<i32> {
        Ok(perform(
            &self.decision.action,
            flow.root,
            &self.decision.need.reasons,
            report_path,
        )?
        .unwrap_or(code))
    }
}

/// For a scan of a system (not a what-if inventory): packages recorded as waiting for a reboot
/// become InstalledPendingReboot, and the report's `reboot` says whether the system needs one
/// and why (action `not-permitted` when it does: a scan never reboots). The state is read
/// without the run lock and nothing is written. `now` is the clock (not `--at`).
pub fn scan_status(
    report: &mut report::Report,
    root: &Path,
    inventory: &Inventory,
    boot_id_file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<()> {
    let family = inventory.family;
    let pending =
        crate::state::pending_for_scan(root, boot_id_file, &inventory.installed, family, now)?;
    let live = crate::system::is_host(root).then(|| LiveHost::probe(family));
    let decision = decide(
        &Detect {
            family,
            root,
            changed: &[],
            advisories: &inventory.advisories,
            installed: &inventory.installed,
            pending: &pending,
            live: live.as_ref(),
            run_started: now,
        },
        &Policy {
            reboot_if_needed: false,
            command: None,
            under_ssm: false,
            root,
        },
    );
    report.reboot = decision.need.to_report(&decision.action);
    crate::state::apply_pending(report, &pending);
    Ok(())
}

/// Carry out the action, once the report is complete on disk. Returns the exit code the
/// process must end with when the action decides it (194 for the SSM agent), else None.
///
/// `reasons` and `report_path` are passed to a reboot command as `PATCHBASELINE_REBOOT_REASONS`
/// (one per line) and `PATCHBASELINE_REPORT`.
pub fn perform(
    action: &Action,
    root: &Path,
    reasons: &[String],
    report_path: Option<&Path>,
) -> Result<Option<i32>> {
    match action {
        Action::None | Action::NotPermitted | Action::Image => Ok(None),
        Action::SsmExit => Ok(Some(exit::SSM_REBOOT)),
        Action::Command(cmd) => {
            let mut c = Cmd::new("sh")
                .args(["-c", cmd])
                .env("PATCHBASELINE_REBOOT_REASONS", reasons.join("\n"))
                .env("PATCHBASELINE_ROOT", root);
            if let Some(p) = report_path {
                c = c.env("PATCHBASELINE_REPORT", p);
            }
            let out = c.output()?;
            let code = out.code();
            out.expect_success().map_err(|e| {
                Error::failed(format!("the reboot command failed: {e}")).with_hint(
                    "the report is written; fix --reboot-command, or reboot by hand: the packages stay InstalledPendingReboot until the system has rebooted",
                )
            })?;
            tracing::info!(command = %cmd, ?code, "reboot command ran");
            Ok(None)
        }
        Action::Systemctl => {
            // choose() never gives this for an image; checked again because it is irreversible.
            if root != Path::new("/") {
                return Err(Error::failed(format!(
                    "refusing to reboot the host for the image at {}",
                    root.display()
                )));
            }
            reboot_host().map(|_| None)
        }
    }
}

/// Reboot this machine: `systemctl reboot`, else `shutdown -r now`.
fn reboot_host() -> Result<()> {
    // The unit tests of this library never get here (see tests::the_host_is_never_rebooted_*);
    // this makes sure of it.
    if cfg!(test) {
        panic!("a unit test tried to reboot the host");
    }
    let mut errors = Vec::new();
    for cmd in [
        Cmd::new("systemctl").arg("reboot"),
        Cmd::new("shutdown").args(["-r", "now"]),
    ] {
        match cmd.output().map(|o| o.expect_success()) {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(
        Error::failed(format!("could not reboot: {}", errors.join("; ")))
            .with_hint("reboot by hand; the packages stay InstalledPendingReboot until then"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AdvisoryPackage;

    fn inst(name: &str, arch: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: arch.into(),
            version: version.into(),
            install_time: None,
        }
    }

    fn change(name: &str, old: Option<&str>, new: &str) -> Change {
        Change {
            name: name.into(),
            arch: "noarch".into(),
            old_version: old.map(str::to_string),
            new_version: Some(new.into()),
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn detect_image(
        family: Family,
        root: &Path,
        changed: &[Change],
        advisories: &[Advisory],
    ) -> RebootNeed {
        detect(&Detect {
            family,
            root,
            changed,
            advisories,
            installed: &[],
            pending: &[],
            live: None,
            run_started: t("2020-01-01T00:00:00Z"),
        })
    }

    #[test]
    fn changes_between_installed_sets() {
        let before = [
            inst("kernel", "x86_64", "6.1.0-1"),
            inst("openssl", "x86_64", "3.0-1"),
            inst("gone", "noarch", "1-1"),
            inst("same", "noarch", "1-1"),
        ];
        let after = [
            inst("kernel", "x86_64", "6.1.0-1"),
            inst("kernel", "x86_64", "6.1.0-2"),
            inst("openssl", "x86_64", "3.0-2"),
            inst("new", "noarch", "1-1"),
            inst("same", "noarch", "0:1-1"),
        ];
        let c = changes(Family::Rpm, &before, &after);
        let got: Vec<(String, Option<String>, Option<String>)> = c
            .iter()
            .map(|c| (c.id(), c.old_version.clone(), c.new_version.clone()))
            .collect();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            got,
            vec![
                ("kernel.x86_64".into(), s("6.1.0-1"), s("6.1.0-2")),
                ("new.noarch".into(), None, s("1-1")),
                ("openssl.x86_64".into(), s("3.0-1"), s("3.0-2")),
                ("gone.noarch".into(), s("1-1"), None),
            ]
        );
    }

    #[test]
    fn reboot_suggested_advisories_between_old_and_new() {
        let adv = |id: &str, v: &str, reboot: bool| Advisory {
            id: id.into(),
            classification: "Security".into(),
            severity: None,
            issued: None,
            updated: None,
            cves: vec![],
            bugzillas: vec![],
            reboot_suggested: reboot,
            packages: vec![AdvisoryPackage {
                name: "kern-sim".into(),
                arch: "noarch".into(),
                version: v.into(),
            }],
        };
        let dir = tempfile::tempdir().unwrap();
        let advisories = [
            adv("A-older", "1.0-1", true),
            adv("A-skipped", "1.5-1", true),
            adv("A-target", "2.0-1", false),
            adv("A-newer", "3.0-1", true),
        ];
        let need = detect_image(
            Family::Rpm,
            dir.path(),
            &[change("kern-sim", Some("1.0-1"), "2.0-1")],
            &advisories,
        );
        assert!(need.required);
        assert_eq!(
            need.reasons,
            ["kern-sim.noarch 2.0-1 was installed and advisory A-skipped suggests a reboot (for 1.5-1)"]
        );
        assert_eq!(
            need.packages.keys().collect::<Vec<_>>(),
            ["kern-sim.noarch"]
        );
        assert!(!need.unattributed);
    }

    #[test]
    fn names_that_need_a_reboot() {
        use Family::*;
        for (f, n) in [
            (Rpm, "kernel"),
            (Rpm, "kernel-core"),
            (Rpm, "kernel-modules-extra"),
            (Rpm, "kernel6.12"),
            (Rpm, "glibc"),
            (Rpm, "systemd"),
            (Rpm, "dbus-broker"),
            (Rpm, "linux-firmware"),
            (Rpm, "microcode_ctl"),
            (Deb, "linux-image-6.1.0-21-amd64"),
            (Deb, "libc6"),
            (Deb, "intel-microcode"),
            (Deb, "dbus"),
        ] {
            assert!(needs_reboot_by_name(f, n).is_some(), "{n}");
        }
        for (f, n) in [
            (Rpm, "kernel-headers"),
            (Rpm, "kernel-devel"),
            (Rpm, "kernel-tools"),
            (Rpm, "glibc-langpack-en"),
            (Rpm, "openssl"),
            (Deb, "linux-headers-6.1.0-21-amd64"),
            (Deb, "libc6-dev"),
            (Deb, "systemd-timesyncd"),
            (Deb, "dbusx"),
        ] {
            assert!(needs_reboot_by_name(f, n).is_none(), "{n}");
        }
    }

    #[test]
    fn image_marker_counts_only_for_what_this_run_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::create_dir_all(root.join("var")).unwrap();
        // An absolute link, as in a real Debian tree: must resolve inside the root.
        std::os::unix::fs::symlink("/run", root.join("var/run")).unwrap();
        std::fs::write(root.join("run/reboot-required"), "").unwrap();
        std::fs::write(root.join("run/reboot-required.pkgs"), "linux-image-sim\n").unwrap();
        let started_later = Utc::now() + chrono::Duration::hours(1);
        let detect_with = |changed: &[Change]| {
            detect(&Detect {
                family: Family::Deb,
                root,
                changed,
                advisories: &[],
                installed: &[],
                pending: &[],
                live: None,
                run_started: started_later,
            })
        };
        // Written before this run and about nothing it changed: an image's old marker.
        assert_eq!(
            detect_with(&[change("openssl-sim", Some("1.0-1"), "1.1-1")]),
            RebootNeed {
                ours: true,
                ..RebootNeed::default()
            }
        );
        let need = detect_with(&[
            change("openssl-sim", Some("1.0-1"), "1.1-1"),
            change("linux-image-sim", Some("1.0-1"), "2.0-1"),
        ]);
        let marker = root.join("run/reboot-required");
        assert_eq!(
            need.packages["linux-image-sim.noarch"],
            [
                format!("{} lists linux-image-sim", marker.display()),
                "linux-image-sim.noarch 2.0-1 was installed: a new kernel runs only after a reboot"
                    .to_string()
            ]
        );
        assert!(!need.packages.contains_key("openssl-sim.noarch"));
        let pending = need.pending_packages(
            &[
                change("openssl-sim", Some("1.0-1"), "1.1-1"),
                change("linux-image-sim", Some("1.0-1"), "2.0-1"),
            ],
            "boot",
            Scope::Image,
            t("2026-01-01T00:00:00Z"),
        );
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].id, "linux-image-sim.noarch");
        assert_eq!(pending[0].version, "2.0-1");
    }

    #[test]
    fn a_marker_without_its_list_makes_every_change_pending() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/run")).unwrap();
        std::fs::write(root.join("var/run/reboot-required"), "").unwrap();
        let changed = [change("a", None, "1"), change("b", Some("1"), "2")];
        // Written during this run (run_started long ago).
        let need = detect_image(Family::Deb, root, &changed, &[]);
        assert!(need.required && need.unattributed);
        let pending = need.pending_packages(&changed, "b", Scope::Host, Utc::now());
        assert_eq!(pending.len(), 2);
    }

    #[test]
    fn live_host_marker_counts_even_for_other_packages() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/run")).unwrap();
        let marker = root.join("var/run/reboot-required");
        std::fs::write(&marker, "").unwrap();
        std::fs::write(root.join("var/run/reboot-required.pkgs"), "libc6\n").unwrap();
        let host = LiveHost {
            kernel_release: String::new(),
            kernel_modules_present: false,
            needs_restarting: None,
        };
        let d = Detect {
            family: Family::Deb,
            root,
            changed: &[],
            advisories: &[],
            installed: &[],
            pending: &[],
            live: Some(&host),
            run_started: Utc::now() + chrono::Duration::hours(1),
        };
        assert!(
            !detect(&d).required,
            "only `/` is live: a temporary root is an image with an old marker"
        );
        // What the host `/` gets (its marker is in /run, emptied at every boot).
        let mut need = RebootNeed::default();
        marker_reasons(&d, true, &mut need);
        assert!(need.required);
        assert_eq!(need.reasons, [format!("{} lists libc6", marker.display())]);
        assert!(
            need.packages.is_empty() && !need.unattributed,
            "about none of this run's packages: nothing of ours becomes pending"
        );
    }

    #[test]
    fn pending_from_earlier_runs_is_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = PendingPackage {
            id: "kern-sim.noarch".into(),
            name: "kern-sim".into(),
            arch: "noarch".into(),
            version: "2.0-1".into(),
            installed_at: t("2026-01-01T00:00:00Z"),
            boot_id: "b".into(),
            scope: Scope::Host,
            reasons: vec!["advisory FXSA suggests a reboot".into()],
        };
        let need = detect(&Detect {
            family: Family::Rpm,
            root: dir.path(),
            changed: &[],
            advisories: &[],
            installed: &[],
            pending: std::slice::from_ref(&p),
            live: None,
            run_started: Utc::now(),
        });
        assert!(need.required);
        assert!(
            need.reasons[0].contains("earlier run") && need.reasons[0].contains("FXSA"),
            "{:?}",
            need.reasons
        );
    }

    #[test]
    fn running_kernel_older_than_the_newest_installed() {
        let host = |rel: &str, modules: bool| LiveHost {
            kernel_release: rel.into(),
            kernel_modules_present: modules,
            needs_restarting: None,
        };
        let rpm = [
            inst("kernel-core", "x86_64", "5.14.0-362.el9"),
            inst("kernel-core", "x86_64", "5.14.0-427.el9"),
            inst("kernel-headers", "x86_64", "5.14.0-500.el9"),
            inst("kernel-uek-core", "x86_64", "5.15.0-300.el9uek"),
        ];
        assert_eq!(
            kernel_behind(Family::Rpm, &host("5.14.0-362.el9.x86_64", false), &rpm),
            Some(("kernel-core.x86_64".into(), "5.14.0-427.el9.x86_64".into()))
        );
        assert_eq!(
            kernel_behind(Family::Rpm, &host("5.14.0-427.el9.x86_64", false), &rpm),
            None
        );
        // UEK compares with UEK only.
        assert_eq!(
            kernel_behind(Family::Rpm, &host("5.15.0-300.el9uek.x86_64", true), &rpm),
            None
        );
        let deb = [
            inst("linux-image-6.1.0-9-amd64", "amd64", "6.1.27-1"),
            inst("linux-image-6.1.0-18-amd64", "amd64", "6.1.76-1"),
            inst("linux-image-6.1.0-25-cloud-amd64", "amd64", "6.1.106-3"),
            inst("linux-image-amd64", "amd64", "6.1.76-1"),
        ];
        assert_eq!(
            kernel_behind(Family::Deb, &host("6.1.0-9-amd64", true), &deb),
            Some((
                "linux-image-6.1.0-18-amd64.amd64".into(),
                "6.1.0-18-amd64".into()
            ))
        );
        assert_eq!(
            kernel_behind(Family::Deb, &host("6.1.0-18-amd64", true), &deb),
            None
        );
        // A container: the host's kernel is not one of this system's packages.
        assert_eq!(
            kernel_behind(Family::Deb, &host("5.4.0-1-amd64", false), &deb),
            None
        );
    }

    #[test]
    fn needs_restarting_output() {
        let dnf = "Core libraries or services have been updated since boot-up:\n  * kernel\n  * systemd\n\nReboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n";
        assert_eq!(
            parse_needs_restarting(dnf),
            Some(NeedsRestarting {
                reboot: true,
                packages: vec!["kernel".into(), "systemd".into()]
            })
        );
        let yum = "Core libraries or services have been updated:\n  kernel -> 4.14.355-275.570.amzn2\n\nReboot is required to ensure that your system benefits from these updates.\n";
        assert_eq!(
            parse_needs_restarting(yum).unwrap().packages,
            vec!["kernel".to_string()]
        );
        let none = "No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n";
        assert_eq!(
            parse_needs_restarting(none),
            Some(NeedsRestarting {
                reboot: false,
                packages: vec![]
            })
        );
        assert_eq!(
            parse_needs_restarting("No such command: needs-restarting"),
            None
        );
    }

    fn all_policies<'a>(root: &'a Path, command: Option<&'a str>) -> Vec<Policy<'a>> {
        let mut v = Vec::new();
        for reboot_if_needed in [true, false] {
            for under_ssm in [false, true] {
                v.push(Policy {
                    reboot_if_needed,
                    command,
                    under_ssm,
                    root,
                });
            }
        }
        v
    }

    fn needs() -> [RebootNeed; 2] {
        [
            RebootNeed::default(),
            RebootNeed {
                required: true,
                reasons: vec!["x".into()],
                ours: true,
                ..RebootNeed::default()
            },
        ]
    }

    #[test]
    fn the_host_is_never_rebooted_when_a_reboot_command_is_given() {
        for root in [Path::new("/"), Path::new("/mnt/image")] {
            for policy in all_policies(root, Some("record-it")) {
                for need in needs() {
                    let action = choose(&need, &policy);
                    assert_ne!(action, Action::Systemctl, "{policy:?} {need:?}");
                    assert_ne!(action, Action::SsmExit, "the command wins: {policy:?}");
                    if need.required && policy.reboot_if_needed {
                        assert_eq!(action, Action::Command("record-it".into()));
                    }
                }
            }
        }
    }

    #[test]
    fn the_host_is_never_rebooted_for_an_image() {
        // Every test of this crate patches an image root: this is why none can reach systemctl.
        for command in [None, Some("cmd")] {
            for policy in all_policies(Path::new("/tmp/root"), command) {
                for need in needs() {
                    assert_ne!(choose(&need, &policy), Action::Systemctl);
                }
            }
        }
        assert!(perform(&Action::Systemctl, Path::new("/tmp/root"), &[], None).is_err());
    }

    #[test]
    fn the_action_table() {
        let need = &needs()[1];
        let p = |reboot_if_needed, command, under_ssm, root| Policy {
            reboot_if_needed,
            command,
            under_ssm,
            root,
        };
        let (if_needed, no_reboot) = (true, false);
        let img = Path::new("/img");
        let host = Path::new("/");
        assert_eq!(
            choose(need, &p(no_reboot, None, true, host)),
            Action::NotPermitted
        );
        assert_eq!(
            choose(need, &p(if_needed, None, true, img)),
            Action::SsmExit
        );
        assert_eq!(choose(need, &p(if_needed, None, false, img)), Action::Image);
        assert_eq!(
            choose(need, &p(if_needed, None, false, host)),
            Action::Systemctl
        );
        assert_eq!(
            choose(&needs()[0], &p(if_needed, None, false, host)),
            Action::None
        );
        let others = RebootNeed {
            ours: false,
            ..need.clone()
        };
        assert_eq!(
            choose(&others, &p(if_needed, Some("cmd"), true, host)),
            Action::None,
            "nothing installed now or pending: no reboot for other tools' signals"
        );
        assert_eq!(
            perform(&Action::SsmExit, img, &[], None).unwrap(),
            Some(exit::SSM_REBOOT)
        );
        for a in [Action::None, Action::NotPermitted, Action::Image] {
            assert_eq!(perform(&a, host, &[], None).unwrap(), None, "{a:?}");
        }
    }

    #[test]
    fn the_reboot_command_gets_the_reasons_and_its_failure_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let cmd = format!(
            "printf '%s|%s\\n' \"$PATCHBASELINE_REBOOT_REASONS\" \"$PATCHBASELINE_REPORT\" >> {}",
            log.display()
        );
        let r = perform(
            &Action::Command(cmd),
            Path::new("/img"),
            &["a kernel".into()],
            Some(Path::new("/tmp/r.json")),
        )
        .unwrap();
        assert_eq!(r, None);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "a kernel|/tmp/r.json\n"
        );
        let e = perform(
            &Action::Command("exit 7".into()),
            Path::new("/img"),
            &[],
            None,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.message.contains("code 7"), "{}", e.message);
    }
}
