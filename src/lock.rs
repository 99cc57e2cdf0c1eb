//! Before any package changes: one patchbaseline operation at a time, no other package manager
//! running, and a dpkg that was not left half-done.
//!
//! - [`RunLock`]: an exclusive `flock` on `STATE_DIR/lock` holding the owner's pid. A second run
//!   waits up to `--lock-timeout`, then exits 4 naming the holder.
//! - [`wait_for_package_manager`]: the locks dpkg/apt and rpm/dnf/yum take themselves, checked
//!   without taking them (fcntl `F_GETLK`; dnf and yum use pid files). Held ones are waited for up
//!   to the same timeout, naming the holder (pid and command line from /proc); a holder is never
//!   killed, because killing a package manager mid-transaction is how databases get broken.
//! - [`ensure_dpkg_ready`]: `dpkg --audit` and dpkg's update journal; an interrupted dpkg is
//!   refused (default) or repaired with `dpkg --configure -a` (`--dpkg-repair auto`).
//!
//! Waiting stops early, with exit 5, when SIGINT/SIGTERM arrives ([`crate::signals`]).

use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, ErrorKind, Result};
use crate::exec::Cmd;
use crate::model::Family;
use crate::signals;
use crate::state::StateDir;
use crate::system::resolve_in_root;

/// The default of `--lock-timeout`, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;

/// How often a held lock is looked at again.
const POLL: Duration = Duration::from_millis(200);

/// A process holding a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// None when the lock does not say (an open-file-description lock) and no process has the
    /// file open that we can see.
    pub pid: Option<i32>,
    /// Its command line from /proc, when readable.
    pub command: Option<String>,
}

impl Holder {
    fn of_pid(pid: i32) -> Holder {
        Holder {
            pid: Some(pid),
            command: command_line(pid),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => write!(f, "pid {pid} ({cmd})"),
            (Some(pid), None) => write!(f, "pid {pid}"),
            (None, _) => f.write_str("a process we cannot identify"),
        }
    }
}

/// `/proc/PID/cmdline` as one line, if the process exists and we may read it.
pub fn command_line(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let parts: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Wait until `probe` says free, `timeout` passes (then `timeout_error(holder)`), or a signal
/// arrives (exit 5). `announce` is called once when waiting starts. A timeout too large for the
/// clock (`--lock-timeout 18446744073709551615`) waits without end.
fn wait_until_free<T, H>(
    timeout: Duration,
    mut probe: impl FnMut() -> std::result::Result<T, H>,
    announce: impl FnOnce(&H),
    timeout_error: impl FnOnce(&H) -> Error,
) -> Result<T> {
    let deadline = Instant::now().checked_add(timeout);
    let mut announce = Some(announce);
    loop {
        let holder = match probe() {
            Ok(v) => return Ok(v),
            Err(h) => h,
        };
        if let Some(a) = announce.take() {
            a(&holder);
        }
        signals::check()?;
        let left = deadline.map_or(POLL, |d| d.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Err(timeout_error(&holder));
        }
        std::thread::sleep(POLL.min(left));
    }
}

/// The exclusive lock of one state directory, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    /// Held for its lock, released when dropped.
    _file: Flock<File>,
    path: PathBuf,
}

impl RunLock {
    /// Take the lock of `dir` (creating the directory and the file), waiting up to `timeout` for
    /// another run to finish; then write our pid into it.
    pub fn acquire(dir: &StateDir, timeout: Duration) -> Result<RunLock> {
        let path = dir.lock_file();
        fs_err::create_dir_all(&dir.path)
            .map_err(|e| Error::failed(format!("cannot create the state directory: {e}")))?;
        // Never through a symbolic link: in an image it could point anywhere on the host, and
        // the lock file is truncated to hold our pid.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(nix::libc::ELOOP) {
                    Error::failed(format!(
                        "{}: the run lock is a symbolic link; refusing to follow it (it may lead out of the system)",
                        path.display()
                    ))
                    .with_hint("remove the link (patchbaseline recreates the lock file)")
                } else {
                    Error::failed(format!("{}: cannot open the run lock: {e}", path.display()))
                }
            })?;
        // flock hands the file back when the lock is busy: it is kept for the next attempt.
        let mut spare = Some(file);
        let attempt = wait_until_free(
            timeout,
            || {
                let f = spare.take().expect("put back after every busy attempt");
                match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                    Ok(locked) => Ok(Ok(locked)),
                    Err((f, Errno::EWOULDBLOCK)) => {
                        spare = Some(f);
                        Err(run_lock_holder(&path))
                    }
                    Err((_, e)) => Ok(Err(Error::failed(format!(
                        "{}: cannot lock: {e}",
                        path.display()
                    )))),
                }
            },
            |holder| {
                eprintln!(
                    "waiting for another patchbaseline run ({holder}, lock {}) to finish, up to {} s",
                    path.display(),
                    timeout.as_secs()
                )
            },
            |holder| {
                Error::new(
                    ErrorKind::LockTimeout,
                    format!(
                        "another patchbaseline run holds {} ({holder}); gave up after waiting {} s",
                        path.display(),
                        timeout.as_secs()
                    ),
                )
                .with_hint(
                    "let it finish (one operation at a time), or wait longer with --lock-timeout SECONDS; do not remove the lock file",
                )
            },
        )?;
        let mut file = attempt?;
        let pid = std::process::id();
        let written = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(*file, "{pid}"))
            .and_then(|_| file.sync_all());
        if let Err(e) = written {
            return Err(Error::failed(format!(
                "{}: cannot write our pid into the run lock: {e}",
                path.display()
            )));
        }
        Ok(RunLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds our run lock: the pid written in it (the file may be mid-rewrite: then unknown).
fn run_lock_holder(path: &Path) -> Holder {
    match std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        Some(pid) => Holder::of_pid(pid),
        None => Holder {
            pid: None,
            command: None,
        },
    }
}

/// How a package manager marks that it is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// A POSIX record lock (fcntl F_SETLK) on the file: dpkg, apt, rpm.
    Fcntl,
    /// A file holding the pid of the running process: dnf 4 (`rpmdb_lock.pid`), yum.
    PidFile,
}

/// The locks of each package-manager family, as paths inside the system.
pub fn package_manager_locks(family: Family) -> &'static [(&'static str, LockKind)] {
    match family {
        Family::Deb => &[
            ("/var/lib/dpkg/lock-frontend", LockKind::Fcntl),
            ("/var/lib/dpkg/lock", LockKind::Fcntl),
            ("/var/lib/apt/lists/lock", LockKind::Fcntl),
            ("/var/cache/apt/archives/lock", LockKind::Fcntl),
        ],
        Family::Rpm => &[
            ("/var/lib/rpm/.rpm.lock", LockKind::Fcntl),
            ("/var/cache/dnf/rpmdb_lock.pid", LockKind::PidFile),
            ("/var/run/yum.pid", LockKind::PidFile),
        ],
    }
}

/// Who holds a write lock on `path` (fcntl F_GETLK, which takes no lock), or None when it is
/// free or does not exist.
pub fn fcntl_holder(path: &Path) -> Option<Holder> {
    let file = File::open(path).ok()?;
    let mut fl = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as _,
        l_whence: nix::libc::SEEK_SET as _,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_GETLK(&mut fl)).ok()?;
    if fl.l_type == nix::libc::F_UNLCK as nix::libc::c_short {
        return None;
    }
    if fl.l_pid > 0 {
        return Some(Holder::of_pid(fl.l_pid));
    }
    // An open-file-description lock does not say who holds it: name a process that has the
    // file open.
    let opener = processes_with_open(path).into_iter().next();
    Some(match opener {
        Some(pid) => Holder::of_pid(pid),
        None => Holder {
            pid: None,
            command: None,
        },
    })
}

/// Processes (other than us) with `path` open, from /proc/*/fd.
fn processes_with_open(path: &Path) -> Vec<i32> {
    let Ok(target) = std::fs::canonicalize(path) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// The process named in a pid file, if the file exists and that process is alive.
pub fn pid_file_holder(path: &Path) -> Option<Holder> {
    let pid: i32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (pid > 0 && pid != std::process::id() as i32 && Path::new(&format!("/proc/{pid}")).exists())
        .then(|| Holder::of_pid(pid))
}

/// The first held package-manager lock of the system at `root`: (lock file, holder).
pub fn held_package_manager_lock(root: &Path, family: Family) -> Option<(PathBuf, Holder)> {
    package_manager_locks(family).iter().find_map(|(p, kind)| {
        let path = resolve_in_root(root, Path::new(p));
        let holder = match kind {
            LockKind::Fcntl => fcntl_holder(&path),
            LockKind::PidFile => pid_file_holder(&path),
        };
        holder.map(|h| (path, h))
    })
}

/// Wait until no package-manager lock of the system at `root` is held by another process, up to
/// `timeout` (then exit 4 naming the lock and its holder). Never kills anything.
pub fn wait_for_package_manager(root: &Path, family: Family, timeout: Duration) -> Result<()> {
    wait_until_free(
        timeout,
        || match held_package_manager_lock(root, family) {
            None => Ok(()),
            Some(held) => Err(held),
        },
        |(path, holder)| {
            eprintln!(
                "waiting for the package manager ({holder}) to release {}, up to {} s",
                path.display(),
                timeout.as_secs()
            )
        },
        |(path, holder)| {
            Error::new(
                ErrorKind::LockTimeout,
                format!(
                    "{} is held by {holder}; gave up after waiting {} s",
                    path.display(),
                    timeout.as_secs()
                ),
            )
            .with_hint(
                "another package manager is running (unattended-upgrades, apt-daily, dnf-automatic, cloud-init, a person): let it finish and run again, or wait longer with --lock-timeout SECONDS. Never kill it mid-transaction",
            )
        },
    )
}

/// What to do about an interrupted dpkg (`--dpkg-repair`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DpkgRepair {
    /// Run `dpkg --configure -a` before installing.
    Auto,
    /// Stop with an error naming the fix (nothing is changed).
    #[default]
    Refuse,
}

/// `dpkg` pointed at the system at `root`: for an image `--root` and `--log` inside it (dpkg's
/// log does not follow `--root`: without it the host's /var/log/dpkg.log is written). Maintainer
/// scripts then run chrooted into the image, as the install's own transactions run them
/// (docs/install.md, Isolation), never with the host's shell (`--force-script-chrootless`): an
/// image's scripts written for a chroot could change the host.
pub(crate) fn dpkg(root: &Path) -> Cmd {
    let cmd = Cmd::new("dpkg");
    if crate::system::is_host(root) {
        return cmd;
    }
    let mut root_arg = std::ffi::OsString::from("--root=");
    root_arg.push(root);
    let mut log_arg = std::ffi::OsString::from("--log=");
    log_arg.push(resolve_in_root(root, Path::new("/var/log/dpkg.log")));
    cmd.arg(root_arg).arg(log_arg)
}

/// Why dpkg on the system at `root` is not ready to install, or None: the problems `dpkg --audit`
/// lists, and update-journal files dpkg has not yet integrated (an interrupted run: apt then says
/// "dpkg was interrupted").
pub fn dpkg_interrupted(root: &Path) -> Result<Option<String>> {
    let mut problems = Vec::new();
    let updates = resolve_in_root(root, Path::new("/var/lib/dpkg/updates"));
    if let Ok(entries) = std::fs::read_dir(&updates) {
        let mut journal: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        journal.sort();
        if !journal.is_empty() {
            problems.push(format!(
                "{} holds update records dpkg has not integrated ({})",
                updates.display(),
                journal.join(", ")
            ));
        }
    }
    let out = dpkg(root).arg("--audit").output()?;
    let audit = out.stdout_str().trim().to_string();
    if !audit.is_empty() {
        problems.push(format!("`{}` reports:\n{audit}", out.command));
    } else if out.code() != Some(0) {
        problems.push(format!(
            "`{}` failed: {}",
            out.command,
            crate::exec::tail(&out.stderr_str(), 5, 500)
        ));
    }
    Ok((!problems.is_empty()).then(|| problems.join("\n")))
}

/// Make sure dpkg on the system at `root` is not interrupted. Refuse (exit 3, naming the fix)
/// or, with [`DpkgRepair::Auto`], run `dpkg --configure -a` (in its own process group: it is a
/// transaction) and check again. Returns what was repaired, if anything. Call it after
/// [`wait_for_package_manager`]: a running dpkg looks interrupted.
pub fn ensure_dpkg_ready(root: &Path, mode: DpkgRepair) -> Result<Option<String>> {
    let Some(problem) = dpkg_interrupted(root)? else {
        return Ok(None);
    };
    let fix = dpkg(root).args(["--configure", "-a"]);
    let shown = fix.display();
    match mode {
        DpkgRepair::Refuse => Err(Error::failed(format!(
            "dpkg was interrupted on {}; nothing was installed:\n{problem}",
            root.display()
        ))
        .with_hint(format!(
            "finish its work with `{shown}`, or pass --dpkg-repair auto to let patchbaseline run it first"
        ))),
        DpkgRepair::Auto => {
            eprintln!("dpkg was interrupted; repairing with `{shown}`");
            fix.own_process_group()
                .output()?
                .expect_success()
                .map_err(|e| Error::failed(format!("repairing dpkg failed: {e}")))?;
            if let Some(still) = dpkg_interrupted(root)? {
                return Err(Error::failed(format!(
                    "dpkg is still not consistent after `{shown}`:\n{still}"
                ))
                .with_hint("repair it by hand (dpkg --audit lists what is wrong), then run again"));
            }
            Ok(Some(format!("repaired an interrupted dpkg: {problem}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_the_same_process_times_out_naming_our_pid() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::at(dir.path().join("state"));
        let held = RunLock::acquire(&sd, Duration::ZERO).unwrap();
        assert_eq!(
            std::fs::read_to_string(held.path()).unwrap(),
            format!("{}\n", std::process::id())
        );
        // flock locks belong to the open file: a second open conflicts even in this process.
        let e = RunLock::acquire(&sd, Duration::ZERO).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(
            e.message.contains(&format!("pid {}", std::process::id())),
            "{}",
            e.message
        );
        drop(held);
        RunLock::acquire(&sd, Duration::ZERO).expect("free again once dropped");
    }

    #[test]
    fn a_timeout_too_large_for_the_clock_does_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::at(dir.path().join("state"));
        RunLock::acquire(&sd, Duration::MAX).expect("free: taken at once");
        wait_for_package_manager(dir.path(), Family::Deb, Duration::MAX).expect("nothing held");
    }

    #[test]
    fn free_and_missing_lock_files_have_no_holder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(fcntl_holder(&dir.path().join("absent")), None);
        let f = dir.path().join("lock");
        std::fs::write(&f, "").unwrap();
        assert_eq!(fcntl_holder(&f), None);
        std::fs::write(&f, "999999999\n").unwrap();
        assert_eq!(pid_file_holder(&f), None, "no such process");
        assert_eq!(held_package_manager_lock(dir.path(), Family::Deb), None);
    }

    #[test]
    fn command_line_of_this_process() {
        let me = command_line(std::process::id() as i32).unwrap();
        assert!(!me.is_empty());
        assert_eq!(command_line(-1), None);
    }
}
