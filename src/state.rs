//! What patchbaseline remembers between runs: packages installed without the reboot they need
//! (reported InstalledPendingReboot until the system has rebooted) and a reboot requested from
//! the SSM agent (exit 194), so that the agent's re-run after the reboot neither installs again
//! nor asks for a reboot forever.
//!
//! The state lives in `STATE_DIR/state.json`, `STATE_DIR` being `/var/lib/patchbaseline`, or
//! `ROOT/var/lib/patchbaseline` with `--root` (symbolic links resolved inside the root). It is
//! written atomically ([`crate::fsutil::write_atomic`]) and read strictly: a file we cannot parse,
//! from a newer schema, or dated in the future is an error (exit 3) naming the file and the fix,
//! never silently trusted or silently dropped. The schema is in docs/reboot.md.
//!
//! How a reboot is recognised: by the kernel's boot id (`/proc/sys/kernel/random/boot_id`, a
//! random UUID per boot), recorded with every pending package and every request. A different boot
//! id now means the system has rebooted since. Boot ids are exact where boot times are not (the
//! payload AWS ships compares boot time with a timestamp minus 3 s; semantics §7.4).
//!
//! Packages recorded by a run on the live host (or for which a reboot was then requested) are
//! settled by the next boot. Packages recorded in an image (`--root`, no reboot requested) are
//! settled when the image runs as a system: the host's boots say nothing about an image.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::lock::RunLock;
use crate::model::{Family, InstalledPackage, PatchState};
use crate::reboot::SsmAgent;
use crate::report::{aws_time, Report};
use crate::system::resolve_in_root;
use crate::version;

/// The state directory of a system, inside its root.
pub const STATE_DIR: &str = "/var/lib/patchbaseline";
/// Where the kernel publishes the id of the current boot.
pub const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
/// The schema this version reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
/// How many times in a row the SSM agent is asked for the same reboot (exit 194) before we
/// give up with an error: the agent did not reboot, or something undoes it.
pub const MAX_REBOOT_ATTEMPTS: u32 = 3;
/// Times this far ahead of the clock are tolerated (clock adjustments after boot); beyond it a
/// state file is "from the future" and not trusted.
const CLOCK_SKEW_SECONDS: i64 = 300;

/// The state directory of one system and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    pub path: PathBuf,
}

impl StateDir {
    /// `ROOT/var/lib/patchbaseline`, symbolic links resolved inside `root`.
    pub fn for_root(root: &Path) -> StateDir {
        StateDir {
            path: resolve_in_root(root, Path::new(STATE_DIR)),
        }
    }

    pub fn at(path: impl Into<PathBuf>) -> StateDir {
        StateDir { path: path.into() }
    }

    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    pub fn lock_file(&self) -> PathBuf {
        self.path.join("lock")
    }
}

/// Read the id of the current boot from `file` (default [`BOOT_ID`]).
pub fn read_boot_id(file: Option<&Path>) -> Result<String> {
    let path = file.unwrap_or(Path::new(BOOT_ID));
    let text = fs_err::read_to_string(path)
        .map_err(|e| Error::failed(format!("cannot read the boot id: {e}")))?;
    let id = text.trim();
    if id.is_empty() || id.contains(char::is_whitespace) {
        return Err(Error::failed(format!(
            "{}: not a boot id: {:?}",
            path.display(),
            text
        )));
    }
    Ok(id.to_string())
}

/// Which boots settle a pending package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Recorded on a running system (or a reboot was requested for it): any boot other than the
    /// recorded one settles it.
    Host,
    /// Recorded in an image (`--root`) without a reboot: settled when the image runs as a system
    /// (a run on `/` reads this state).
    Image,
}

/// A package installed without the reboot it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingPackage {
    /// `name.arch`, as in the report.
    pub id: String,
    pub name: String,
    pub arch: String,
    /// The version installed, as the package database writes it.
    pub version: String,
    pub installed_at: DateTime<Utc>,
    /// The boot id when it was installed.
    pub boot_id: String,
    pub scope: Scope,
    /// Why it needs a reboot.
    pub reasons: Vec<String>,
}

/// A reboot we asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebootRequest {
    /// The boot id when the reboot was requested: any other one means it happened.
    pub boot_id: String,
    pub requested_at: DateTime<Utc>,
    /// The report's `reboot.action`: `ssm-exit-194`, `command` or `systemctl`.
    pub action: String,
    /// How many times in a row exit 194 was returned for this request.
    pub attempts: u32,
    /// `SSM_COMMAND_ID` of the run that asked: the agent re-runs the same command after the
    /// reboot; another command is a new run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_command_id: Option<String>,
    /// The exit code the install would have had without the reboot (0, or 1 when packages
    /// failed): the re-run after the reboot exits with it.
    pub exit_code: i32,
}

/// The contents of `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub schema_version: u32,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub pending: Vec<PendingPackage>,
    #[serde(default)]
    pub reboot_request: Option<RebootRequest>,
    /// When the last Install with NoReboot finished: AWS:PatchSummary's
    /// LastNoRebootInstallOperationTime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_no_reboot_install: Option<DateTime<Utc>>,
}

impl Default for State {
    fn default() -> State {
        State {
            schema_version: SCHEMA_VERSION,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            pending: Vec::new(),
            reboot_request: None,
            last_no_reboot_install: None,
        }
    }
}

/// What the run that finds a reboot request should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Nothing was requested (or the request belonged to another SSM command): go ahead.
    Proceed,
    /// The reboot we asked the SSM agent for happened and this is the agent's re-run: do not
    /// install again; report the system as it is now and exit with the request's `exit_code`.
    Rebooted(RebootRequest),
    /// We asked the SSM agent for a reboot and the system has not rebooted: ask again (exit 194)
    /// without installing. `attempts` is already counted (and saved by [`State::save`]).
    AskAgain(RebootRequest),
    /// The agent was asked [`MAX_REBOOT_ATTEMPTS`] times and the system did not reboot: the
    /// request is dropped; fail with [`Resume::give_up_error`] (exit 3) after saving the state.
    GiveUp(RebootRequest),
}

impl State {
    /// Read the state of `dir`; an absent file (or directory) is an empty state. `now` is the
    /// current time: records dated after it (beyond a few minutes of clock skew) are refused.
    pub fn load(dir: &StateDir, now: DateTime<Utc>) -> Result<State> {
        let file = dir.state_file();
        match read_state_file(&file) {
            Ok(Some(text)) => {
                State::parse(&text, now).map_err(|problem| corrupt(&file, &problem, now))
            }
            Ok(None) => Ok(State::default()),
            Err(e) => Err(Error::failed(format!(
                "{}: cannot read the pending-reboot state: {e}",
                file.display()
            ))),
        }
    }

    /// Parse and check a state document; the error says what is wrong with it.
    pub fn parse(text: &str, now: DateTime<Utc>) -> Result<State, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            None => return Err("no schema_version".into()),
            Some(v) if v > u64::from(SCHEMA_VERSION) => {
                return Err(format!(
                    "schema_version {v} was written by a newer patchbaseline (this one reads {SCHEMA_VERSION})"
                ))
            }
            Some(_) => {}
        }
        let state: State = serde_json::from_value(value).map_err(|e| e.to_string())?;
        state.check(now)?;
        Ok(state)
    }

    fn check(&self, now: DateTime<Utc>) -> Result<(), String> {
        let limit = now + Duration::seconds(CLOCK_SKEW_SECONDS);
        let future = |what: &str, t: DateTime<Utc>| -> Result<(), String> {
            if t > limit {
                Err(format!(
                    "{what} is {} but the clock says {}: dated in the future",
                    aws_time(t),
                    aws_time(now)
                ))
            } else {
                Ok(())
            }
        };
        future("updated_at", self.updated_at)?;
        for (i, p) in self.pending.iter().enumerate() {
            let at = format!("pending[{i}]");
            for (field, value) in [
                ("id", &p.id),
                ("name", &p.name),
                ("version", &p.version),
                ("boot_id", &p.boot_id),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("{at}.{field} is empty"));
                }
            }
            future(&format!("{at}.installed_at"), p.installed_at)?;
        }
        if let Some(t) = self.last_no_reboot_install {
            future("last_no_reboot_install", t)?;
        }
        if let Some(r) = &self.reboot_request {
            if r.boot_id.trim().is_empty() {
                return Err("reboot_request.boot_id is empty".into());
            }
            future("reboot_request.requested_at", r.requested_at)?;
        }
        Ok(())
    }

    /// Write the state atomically (mode 0644, as every file [`write_atomic`] writes: a scan by
    /// an unprivileged user shows pending reboots too).
    pub fn save(&mut self, dir: &StateDir, now: DateTime<Utc>) -> Result<()> {
        self.schema_version = SCHEMA_VERSION;
        self.updated_at = now;
        let file = dir.state_file();
        let mut text = serde_json::to_string_pretty(self).expect("the state serialises");
        text.push('\n');
        write_atomic(&file, text.as_bytes())
            .map_err(|e| Error::failed(format!("cannot write the pending-reboot state: {e}")))
    }

    /// Forget what no longer waits for a reboot: packages recorded in another boot (scope host),
    /// image packages once the image runs as a system (`live`), and, when the installed set is
    /// given, packages no longer installed at the recorded version (removed or superseded). A
    /// request made in another boot is left to [`State::resume`]. Returns what was forgotten.
    pub fn settle(
        &mut self,
        boot_id: &str,
        live: bool,
        installed: Option<(&[InstalledPackage], Family)>,
    ) -> Vec<PendingPackage> {
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| {
                let rebooted = match p.scope {
                    Scope::Host => p.boot_id != boot_id,
                    Scope::Image => live,
                };
                let still_installed = installed.is_none_or(|(set, family)| {
                    set.iter().any(|i| {
                        i.name == p.name
                            && i.arch == p.arch
                            && version::compare(family, &i.version, &p.version).is_eq()
                    })
                });
                !rebooted && still_installed
            });
        self.pending = keep;
        gone
    }

    /// Record packages installed without their reboot (replacing earlier records of the same
    /// `name.arch` and version).
    pub fn add_pending(&mut self, packages: impl IntoIterator<Item = PendingPackage>) {
        for p in packages {
            self.pending
                .retain(|q| !(q.id == p.id && q.version == p.version));
            self.pending.push(p);
        }
        self.pending
            .sort_by(|a, b| a.id.cmp(&b.id).then(a.installed_at.cmp(&b.installed_at)));
    }

    /// Record that a reboot was requested (exit 194, the reboot command or systemctl). Every
    /// pending package is now settled by the next boot, image packages included: whoever asked
    /// for this reboot said it reboots the system they belong to.
    pub fn request_reboot(&mut self, request: RebootRequest) {
        for p in &mut self.pending {
            if p.scope == Scope::Image {
                p.scope = Scope::Host;
                p.boot_id = request.boot_id.clone();
            }
        }
        self.reboot_request = Some(request);
    }

    /// At the start of an install: what the recorded reboot request (if any) means now. The
    /// request is taken out of the state, or put back with one more attempt counted
    /// ([`Resume::AskAgain`]); save the state in every case.
    ///
    /// Only requests made through the SSM agent are resumed, by a run under the agent: the agent
    /// re-runs the same command after rebooting. A request from another SSM command, one seen by
    /// a run outside the agent, or one made through the reboot command or systemctl is dropped
    /// (its pending packages remain until their boot is over). A request the agent did not act
    /// on is repeated until [`MAX_REBOOT_ATTEMPTS`] exits 194, then given up ([`Resume::GiveUp`]).
    pub fn resume(&mut self, boot_id: &str, ssm: Option<&SsmAgent>) -> Resume {
        let Some(mut req) = self.reboot_request.take() else {
            return Resume::Proceed;
        };
        let Some(agent) = ssm else {
            return Resume::Proceed;
        };
        let other_command = match (&req.ssm_command_id, &agent.command_id) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        };
        if req.action != SSM_ACTION || other_command {
            return Resume::Proceed;
        }
        if req.boot_id != boot_id {
            return Resume::Rebooted(req);
        }
        if req.attempts >= MAX_REBOOT_ATTEMPTS {
            return Resume::GiveUp(req);
        }
        req.attempts += 1;
        self.reboot_request = Some(req.clone());
        Resume::AskAgain(req)
    }
}

/// The `action` of a request made by exiting 194 (as in the report's `reboot.action`).
pub const SSM_ACTION: &str = "ssm-exit-194";

impl Resume {
    /// The error (exit 3) for [`Resume::GiveUp`].
    pub fn give_up_error(req: &RebootRequest) -> Error {
        Error::failed(format!(
            "the SSM agent was asked to reboot this system {} times (exit 194) since {} and it has not rebooted (the boot id is unchanged): giving up instead of asking forever",
            req.attempts,
            aws_time(req.requested_at)
        ))
        .with_hint(
            "reboot the instance yourself (e.g. `sudo systemctl reboot`); the packages installed stay InstalledPendingReboot until it has rebooted. The request is cleared: the next run installs normally",
        )
    }
}

/// The state file's text; None when there is none.
/// The state file's text (None when there is none). Never through a symbolic link (in an image
/// it could lead out to the host): that is an error. Writing replaces the file by a rename,
/// which replaces a link rather than following it.
fn read_state_file(file: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(file);
    let mut f = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(std::io::Error::new(
                e.kind(),
                "a symbolic link: refusing to follow it (it may lead out of the system); remove it",
            ))
        }
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    Ok(Some(text))
}

fn corrupt(file: &Path, problem: &str, now: DateTime<Utc>) -> Error {
    let future = problem.contains("dated in the future");
    let hint = if future {
        format!(
            "if the clock is right (now {}), the file is wrong: reboot the system to settle pending reboots, then remove {}",
            aws_time(now),
            file.display()
        )
    } else {
        format!(
            "patchbaseline will not guess which packages still wait for a reboot: reboot the system (which settles them), then remove {} (it is recreated)",
            file.display()
        )
    };
    Error::failed(format!(
        "{}: the pending-reboot state is not usable: {problem}",
        file.display()
    ))
    .with_hint(hint)
}

/// Mark the report's packages recorded as pending InstalledPendingReboot (installed ones at the
/// recorded version only), append why to their reason, and recount the summary. Returns how many
/// entries changed.
pub fn apply_pending(report: &mut Report, pending: &[PendingPackage]) -> usize {
    let family = report.operating_system.family();
    let mut changed = 0;
    for entry in &mut report.patches {
        if !matches!(
            entry.state,
            PatchState::Installed | PatchState::InstalledOther | PatchState::InstalledRejected
        ) {
            continue;
        }
        let Some(installed) = entry.installed_version.as_deref() else {
            continue;
        };
        let Some(p) = pending
            .iter()
            .find(|p| p.id == entry.id && version::compare(family, installed, &p.version).is_eq())
        else {
            continue;
        };
        entry.state = PatchState::InstalledPendingReboot;
        entry.reason = format!(
            "{}; installed {} and waiting for a reboot ({})",
            entry.reason,
            aws_time(p.installed_at),
            p.reasons.join("; ")
        );
        changed += 1;
    }
    if changed > 0 {
        report.refresh_summary();
    }
    changed
}

/// Everything an install holds while it runs: the run lock, the boot id and the state.
#[derive(Debug)]
pub struct Session {
    pub dir: StateDir,
    pub boot_id: String,
    /// The system is the running host (`/`), not an image.
    pub live: bool,
    pub state: State,
    lock: RunLock,
}

impl Session {
    /// Take the run lock of `dir` (waiting up to `lock_timeout`, else exit 4), read the boot id
    /// and load the state (exit 3 when it is not usable). Nothing is settled yet: call
    /// [`State::resume`] and [`State::settle`].
    pub fn open(
        dir: StateDir,
        live: bool,
        boot_id_file: Option<&Path>,
        lock_timeout: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Session> {
        let lock = RunLock::acquire(&dir, lock_timeout)?;
        let boot_id = read_boot_id(boot_id_file)?;
        let state = State::load(&dir, now)?;
        Ok(Session {
            dir,
            boot_id,
            live,
            state,
            lock,
        })
    }

    /// Save the state (atomically).
    pub fn save(&mut self, now: DateTime<Utc>) -> Result<()> {
        self.state.save(&self.dir, now)
    }

    /// The lock file held (for messages).
    pub fn lock_file(&self) -> &Path {
        self.lock.path()
    }
}

/// For a scan: the packages still pending on `root`, read without locking and without writing
/// anything. A state we may not read (an unprivileged scan) is reported on standard error and
/// treated as empty; a corrupt one is an error.
pub fn pending_for_scan(
    root: &Path,
    boot_id_file: Option<&Path>,
    installed: &[InstalledPackage],
    family: Family,
    now: DateTime<Utc>,
) -> Result<Vec<PendingPackage>> {
    let dir = StateDir::for_root(root);
    let file = dir.state_file();
    if let Err(e) = read_state_file(&file) {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            eprintln!(
                "warning: {}: {e} (pending reboots are not shown; run as root to see them)",
                file.display()
            );
            return Ok(Vec::new());
        }
    }
    let mut state = State::load(&dir, now)?;
    if state.pending.is_empty() {
        return Ok(Vec::new());
    }
    let boot_id = read_boot_id(boot_id_file)?;
    state.settle(
        &boot_id,
        crate::system::is_host(root),
        Some((installed, family)),
    );
    Ok(state.pending)
}

/// For a scan: when the last NoReboot install ran (AWS's LastNoRebootInstallOperationTime),
/// read without locking; None when there is no state or it cannot be read.
pub fn last_no_reboot_install(root: &Path, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    State::load(&StateDir::for_root(root), now)
        .ok()?
        .last_no_reboot_install
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn pkg(name: &str, version: &str, boot: &str, scope: Scope) -> PendingPackage {
        PendingPackage {
            id: format!("{name}.noarch"),
            name: name.into(),
            arch: "noarch".into(),
            version: version.into(),
            installed_at: t("2026-01-01T00:00:00Z"),
            boot_id: boot.into(),
            scope,
            reasons: vec!["kernel".into()],
        }
    }

    fn installed(name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: "noarch".into(),
            version: version.into(),
            install_time: None,
        }
    }

    fn agent(cmd: Option<&str>) -> Option<SsmAgent> {
        Some(SsmAgent {
            instance_id: "i-0123".into(),
            command_id: cmd.map(str::to_string),
        })
    }

    fn request(boot: &str, action: &str, cmd: Option<&str>) -> RebootRequest {
        RebootRequest {
            boot_id: boot.into(),
            requested_at: t("2026-01-01T00:00:00Z"),
            action: action.into(),
            attempts: 1,
            ssm_command_id: cmd.map(str::to_string),
            exit_code: 0,
        }
    }

    #[test]
    fn settle_keeps_only_what_this_boot_still_waits_for() {
        let mut s = State::default();
        s.add_pending([
            pkg("a", "2.0-1", "boot-1", Scope::Host),
            pkg("b", "2.0-1", "boot-2", Scope::Host),
            pkg("c", "2.0-1", "boot-1", Scope::Image),
            pkg("d", "2.0-1", "boot-2", Scope::Host),
        ]);
        let inst = [
            installed("a", "2.0-1"),
            installed("b", "2.0-1"),
            installed("c", "2.0-1"),
            installed("d", "3.0-1"),
        ];
        let gone = s.settle("boot-2", false, Some((&inst, Family::Rpm)));
        let kept: Vec<&str> = s.pending.iter().map(|p| p.name.as_str()).collect();
        // a: rebooted since; d: superseded by 3.0; c: an image, the host's boots do not count.
        assert_eq!(kept, ["b", "c"]);
        assert_eq!(gone.len(), 2);
        // The image running as a system settles its packages.
        s.settle("boot-2", true, None);
        let kept: Vec<&str> = s.pending.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(kept, ["b"]);
    }

    #[test]
    fn settle_compares_versions_like_the_package_manager() {
        let mut s = State::default();
        s.add_pending([pkg("k", "0:2.0-1", "b", Scope::Host)]);
        s.settle("b", true, Some((&[installed("k", "2.0-1")], Family::Rpm)));
        assert_eq!(s.pending.len(), 1, "epoch 0 is the same version");
    }

    #[test]
    fn round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::at(dir.path().join("var/lib/patchbaseline"));
        assert_eq!(
            State::load(&sd, Utc::now()).unwrap(),
            State::default(),
            "no file: empty state"
        );
        let mut s = State::default();
        s.add_pending([pkg("a", "2.0-1", "b1", Scope::Host)]);
        s.request_reboot(request("b1", "ssm-exit-194", Some("cmd-1")));
        let now = t("2026-01-02T00:00:00Z");
        s.save(&sd, now).unwrap();
        let back = State::load(&sd, now).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.updated_at, now);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sd.state_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn corrupt_newer_and_future_files_are_refused_naming_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::at(dir.path());
        let now = t("2026-01-02T00:00:00Z");
        let cases = [
            ("{not json", "not JSON"),
            ("{\"pending\": []}", "no schema_version"),
            (
                "{\"schema_version\": 99, \"updated_at\": \"2026-01-01T00:00:00Z\"}",
                "newer patchbaseline",
            ),
            (
                "{\"schema_version\": 1, \"updated_at\": \"2026-01-01T00:00:00Z\", \"pending\": [{\"id\": 3}]}",
                "invalid type",
            ),
            (
                "{\"schema_version\": 1, \"updated_at\": \"2026-01-01T00:00:00Z\", \"surprise\": 1}",
                "unknown field `surprise`",
            ),
            (
                "{\"schema_version\": 1, \"updated_at\": \"2027-01-01T00:00:00Z\"}",
                "dated in the future",
            ),
        ];
        for (text, want) in cases {
            std::fs::write(sd.state_file(), text).unwrap();
            let e = State::load(&sd, now).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{text}");
            assert!(e.message.contains(want), "{text}: {}", e.message);
            assert!(
                e.message.contains(&sd.state_file().display().to_string()),
                "{}",
                e.message
            );
            let hint = e.hint.unwrap();
            assert!(hint.contains("remove"), "{hint}");
        }
        // A future-dated package record, and a tolerated few seconds of skew.
        let mut s = State::default();
        let mut p = pkg("a", "1", "b", Scope::Host);
        p.installed_at = now + Duration::days(1);
        s.pending.push(p);
        s.updated_at = now;
        let text = serde_json::to_string(&s).unwrap();
        let e = State::parse(&text, now).unwrap_err();
        assert!(e.contains("pending[0].installed_at"), "{e}");
        assert!(State::parse(&text, now + Duration::days(1)).is_ok());
    }

    #[test]
    fn resume_after_the_reboot_and_while_waiting_for_it() {
        let mut s = State::default();
        assert_eq!(s.resume("b1", agent(None).as_ref()), Resume::Proceed);

        s.request_reboot(request("b1", "ssm-exit-194", Some("cmd-1")));
        match s.resume("b2", agent(Some("cmd-1")).as_ref()) {
            Resume::Rebooted(r) => assert_eq!(r.boot_id, "b1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.reboot_request, None, "a request is resumed once");

        // Not rebooted: asked again until the guard stops it.
        s.request_reboot(request("b1", "ssm-exit-194", Some("cmd-1")));
        for attempt in 2..=MAX_REBOOT_ATTEMPTS {
            match s.resume("b1", agent(Some("cmd-1")).as_ref()) {
                Resume::AskAgain(r) => assert_eq!(r.attempts, attempt),
                other => panic!("{other:?}"),
            }
        }
        let Resume::GiveUp(req) = s.resume("b1", agent(Some("cmd-1")).as_ref()) else {
            panic!("the guard stops the loop")
        };
        let e = Resume::give_up_error(&req);
        assert_eq!(e.exit_code(), 3);
        assert!(e.message.contains("has not rebooted"), "{}", e.message);
        assert!(e.message.contains("3 times"), "{}", e.message);
        assert_eq!(s.reboot_request, None, "the guard clears the request");
        assert_eq!(
            s.resume("b1", agent(Some("cmd-1")).as_ref()),
            Resume::Proceed
        );
    }

    #[test]
    fn resume_ignores_other_commands_other_actions_and_runs_outside_the_agent() {
        let mut s = State::default();
        s.request_reboot(request("b1", "ssm-exit-194", Some("cmd-1")));
        assert_eq!(
            s.resume("b2", agent(Some("cmd-2")).as_ref()),
            Resume::Proceed
        );
        s.request_reboot(request("b1", "command", None));
        assert_eq!(s.resume("b1", agent(None).as_ref()), Resume::Proceed);
        s.request_reboot(request("b1", "ssm-exit-194", Some("cmd-1")));
        assert_eq!(
            s.resume("b1", None),
            Resume::Proceed,
            "a run outside the agent"
        );
        assert_eq!(s.reboot_request, None);
    }

    #[test]
    fn a_requested_reboot_settles_image_packages_too() {
        let mut s = State::default();
        s.add_pending([pkg("a", "2.0-1", "b0", Scope::Image)]);
        s.request_reboot(request("b1", "command", None));
        assert_eq!(s.pending[0].scope, Scope::Host);
        s.settle("b1", false, None);
        assert_eq!(s.pending.len(), 1);
        s.settle("b2", false, None);
        assert!(s.pending.is_empty());
    }

    #[test]
    fn boot_id_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("boot_id");
        std::fs::write(&f, "0d6f-77\n").unwrap();
        assert_eq!(read_boot_id(Some(&f)).unwrap(), "0d6f-77");
        std::fs::write(&f, "\n").unwrap();
        assert!(read_boot_id(Some(&f)).is_err());
        assert!(
            !read_boot_id(None).unwrap().is_empty(),
            "this kernel has one"
        );
    }
}
