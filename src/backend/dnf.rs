//! The dnf backend (Amazon Linux 2023, RHEL/Rocky/Alma/Oracle 8+, Fedora, CentOS Stream).
//!
//! A scan runs two package-manager processes, side by side:
//!
//! 1. `rpm -qa --qf …`: what is installed (name, epoch, version, release, arch, install time);
//! 2. `dnf repoquery --qf …`: every version the enabled repositories offer, as dnf itself sees
//!    them (enabled repositories, excludes, module streams, and on the host versionlock),
//!    refreshing the metadata first unless `--no-refresh` (`-C`).
//!
//! Update notices come from the `updateinfo.xml` that dnf cached for those same repositories
//! (dnf 4's `updateinfo info` shows neither the issued date nor reboot_suggested).
//!
//! With `--root DIR` everything is confined to DIR the way `dnf --installroot` intends: DIR's rpm
//! database, DIR/etc/dnf/dnf.conf, DIR's repository directories, plugins off, and the cache under
//! DIR. Nothing of the host's dnf configuration, plugins, caches or state is read or written
//! (so a versionlock list inside DIR is not applied either: versionlock is a plugin). The release
//! version is left to dnf's own detection from DIR's rpm database, like on the booted system
//! (Amazon Linux 2023 locks it to a date-stamped value there); only for a root where dnf cannot
//! detect it is os-release VERSION_ID passed.
//!
//! The RPM pieces here (the rpm query, the selection of what is available, baseline Sources) are
//! shared with the yum backend.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::baseline::PatchSource;
use crate::error::{Error, Result};
use crate::exec::{Cmd, Output};
use crate::model::{
    Advisory, AdvisoryPackage, AvailablePackage, Family, InstalledPackage, Inventory,
};
use crate::system::{resolve_in_root, System};
use crate::version::{compare_rpm, display_rpm};

use super::updateinfo;
use super::ScanOptions;

/// Records we asked for start with this marker, so that anything else a plugin or a warning prints
/// on standard output is recognised and ignored.
const MARK: &str = "@pb@";

/// `rpm --qf`: one line per installed package; `%|EPOCH?{…}:{0}|` prints 0 when there is no epoch.
const RPM_QF: &str =
    "@pb@|%{NAME}|%|EPOCH?{%{EPOCH}}:{0}||%{VERSION}|%{RELEASE}|%{ARCH}|%{INSTALLTIME}\\n";

/// `dnf repoquery --qf` (dnf 4 appends the newline itself). `%{evr}` is `[epoch:]version-release`
/// with a zero epoch omitted; one tag instead of three is measurably cheaper on 10,000 lines.
const REPOQUERY_QF: &str = "@pb@|%{name}|%{evr}|%{arch}|%{repoid}|%{buildtime}";

/// Where rpm keeps its database on the distributions we support, newest layout first.
const RPMDB_DIRS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];
const RPMDB_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages", "Packages.db"];

/// Gather the inventory through dnf.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let scratch = Scratch::new()?;
    let conf = DnfConf::read(opts.root)?;
    let invocation = Invocation::new(opts.root, &conf, opts.sources, opts.refresh, &scratch)?;
    let (installed, output) = beside_rpm(opts.root, || {
        match run_repoquery(&invocation, None) {
            Err(e) if e.releasever_undetected && !is_host(opts.root) => {
                // The root has no package providing system-release(releasever) (a bare image):
                // use its os-release VERSION_ID, as a booted copy would have to be told too.
                tracing::warn!(
                    releasever = %system.version_id,
                    "dnf could not detect the release version of the root; using os-release VERSION_ID"
                );
                run_repoquery(&invocation, Some(&system.version_id)).map_err(|e| e.error)
            }
            other => other.map_err(|e| e.error),
        }
    })?;
    let offered = parse_repoquery(&output.stdout_str()).map_err(|what| output.garbage(what))?;

    let repos = unique_repositories(&offered);
    let dirs = cached_repodata_dirs(&conf.cachedirs_in(opts.root), &repos)?;
    let started = std::time::Instant::now();
    let (available, advisories) = select(&installed, offered, |keep| read_advisories(&dirs, keep))?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        available = available.len(),
        advisories = advisories.len(),
        "selected available versions and update notices"
    );
    Ok(Inventory {
        family: Family::Rpm,
        operating_system: Some(system.operating_system),
        product: system.product.clone(),
        installed,
        available,
        advisories,
    })
}

pub(crate) use crate::system::is_host;

// ------------------------------------------------------------------------------------------------
// Installed packages: rpm
// ------------------------------------------------------------------------------------------------

/// The rpm database directory inside `root`, as rpm's `--dbpath` wants it (absolute, relative to
/// the root), when one of the standard locations holds a database. Real RPM systems use these, so
/// passing it changes nothing there; it matters when the host's rpm would look elsewhere (Debian's
/// rpm keeps its own database under `~/.rpmdb`).
pub(crate) fn rpm_dbpath(root: &Path) -> Option<PathBuf> {
    RPMDB_DIRS.iter().find_map(|dir| {
        let on_disk = resolve_in_root(root, Path::new(dir));
        RPMDB_FILES
            .iter()
            .any(|f| on_disk.join(f).is_file())
            .then(|| Path::new("/").join(on_disk.strip_prefix(root).unwrap_or(&on_disk)))
    })
}

/// Run `query` (the package manager's repository query) while rpm lists the installed packages:
/// neither needs the other, and rpm takes a tenth of a second on a large system. A missing rpm
/// database is reported before anything runs; when both fail, rpm's error is the one returned.
pub(crate) fn beside_rpm<T>(
    root: &Path,
    query: impl FnOnce() -> Result<T> + Send,
) -> Result<(Vec<InstalledPackage>, T)>
where
    T: Send,
{
    let dbpath = require_rpmdb(root)?;
    std::thread::scope(|s| {
        let rpm = s.spawn(|| installed_packages(root, dbpath.as_deref()));
        let queried = query();
        let installed = rpm
            .join()
            .unwrap_or_else(|_| Err(Error::failed("listing installed packages panicked")))?;
        Ok((installed, queried?))
    })
}

/// The `--dbpath` for `root`; an image root without a database is invalid input.
fn require_rpmdb(root: &Path) -> Result<Option<PathBuf>> {
    let dbpath = rpm_dbpath(root);
    if !is_host(root) && dbpath.is_none() {
        return Err(Error::invalid(format!(
            "{}: no rpm database found (looked in {})",
            root.display(),
            RPMDB_DIRS
                .iter()
                .map(|d| root.join(d.trim_start_matches('/')).display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        ))
        .with_hint("--root must be the top of an RPM-based system image"));
    }
    Ok(dbpath)
}

/// Installed packages of `root` (`/` = the host), from its rpm database at `dbpath`.
pub(crate) fn installed_packages(
    root: &Path,
    dbpath: Option<&Path>,
) -> Result<Vec<InstalledPackage>> {
    let host = is_host(root);
    let mut cmd = Cmd::new("rpm");
    if !host {
        cmd = cmd.arg("--root").arg(root);
    }
    if let Some(db) = dbpath {
        cmd = cmd.arg("--dbpath").arg(db);
    }
    let out = cmd
        .args(["-qa", "--qf", RPM_QF])
        .output()?
        .expect_success()?;
    let installed = parse_rpm_qa(&out.stdout_str()).map_err(|what| out.garbage(what))?;
    if installed.is_empty() {
        return Err(Error::failed(format!(
            "the rpm database of {} lists no packages (`{}`)",
            root.display(),
            out.command
        ))
        .with_hint("is this an RPM-based system, and is its rpm database readable?"));
    }
    Ok(installed)
}

/// Parse `rpm -qa --qf` output in [`RPM_QF`] form. gpg-pubkey entries (imported signing keys)
/// are not packages and are skipped; lines without the marker are ignored.
pub fn parse_rpm_qa(text: &str) -> Result<Vec<InstalledPackage>, String> {
    let mut out = Vec::new();
    for line in records(text) {
        let f: Vec<&str> = line.split('|').collect();
        let [name, epoch, version, release, arch, installtime] = f[..] else {
            return Err(format!("expected 6 fields in {line:?}"));
        };
        if name == "gpg-pubkey" {
            continue;
        }
        if name.is_empty() || version.is_empty() {
            return Err(format!("no name or version in {line:?}"));
        }
        out.push(InstalledPackage {
            name: name.to_string(),
            arch: arch.to_string(),
            version: evr(epoch, version, release),
            install_time: installtime
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0)),
        });
    }
    Ok(out)
}

/// The records we asked for: each starts with [`MARK`] and ends at the end of its line. Splitting
/// on the marker rather than on lines also reads dnf 5, whose `--qf` adds no newline; anything
/// else printed on standard output (a plugin, a warning) is ignored.
fn records(text: &str) -> impl Iterator<Item = &str> {
    text.split(MARK)
        .skip(1)
        .filter_map(|r| r.strip_prefix('|'))
        .map(|r| r.split('\n').next().unwrap_or_default().trim_end())
}

/// `[epoch:]version-release` with a zero epoch omitted.
fn evr(epoch: &str, version: &str, release: &str) -> String {
    let mut s = String::with_capacity(epoch.len() + version.len() + release.len() + 2);
    if !epoch.is_empty() && epoch != "0" && epoch != "(none)" {
        s.push_str(epoch);
        s.push(':');
    }
    s.push_str(version);
    if !release.is_empty() {
        s.push('-');
        s.push_str(release);
    }
    s
}

// ------------------------------------------------------------------------------------------------
// Available packages: dnf repoquery
// ------------------------------------------------------------------------------------------------

/// What dnf prints when it cannot tell the release version of an image root (no package there
/// provides `system-release(releasever)`).
pub(crate) const RELEASEVER_UNDETECTED: &str = "Unable to detect release version";

/// How to call dnf for this system (shared with install, `dnf_install.rs`).
pub(crate) struct Invocation<'a> {
    root: &'a Path,
    /// `--config` (image roots only).
    config: Option<PathBuf>,
    /// `--setopt=reposdir=` (image roots, or baseline Sources).
    reposdir: Option<String>,
    refresh: bool,
}

impl<'a> Invocation<'a> {
    /// dnf for `root`: confined to it when it is an image, with the baseline's Sources (written
    /// into `scratch`) instead of the configured repositories when there are any.
    pub(crate) fn new(
        root: &'a Path,
        conf: &DnfConf,
        sources: &[PatchSource],
        refresh: bool,
        scratch: &Scratch,
    ) -> Result<Invocation<'a>> {
        let reposdir = match scratch.sources_reposdir(sources)? {
            Some(dir) => Some(dir),
            None if !is_host(root) => Some(conf.reposdirs_in_root(root)),
            None => None,
        };
        let config = if is_host(root) {
            None
        } else {
            Some(match &conf.path {
                Some(p) => p.clone(),
                None => scratch.empty_file("dnf.conf")?,
            })
        };
        Ok(Invocation {
            root,
            config,
            reposdir,
            refresh,
        })
    }

    fn command(&self, releasever: Option<&str>) -> Cmd {
        let mut args: Vec<OsString> = vec!["-q".into(), "-y".into()];
        args.extend(self.isolation(releasever));
        args.push(if self.refresh { "--refresh" } else { "-C" }.into());
        args.extend(["repoquery".into(), "--qf".into(), REPOQUERY_QF.into()]);
        Cmd::new("dnf").args(args)
    }

    /// The options that confine dnf to the system and to this run's repositories.
    pub(crate) fn isolation(&self, releasever: Option<&str>) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if !is_host(self.root) {
            let mut root = OsString::from("--installroot=");
            root.push(self.root);
            args.push(root);
            if let Some(c) = &self.config {
                let mut a = OsString::from("--config=");
                a.push(c);
                args.push(a);
            }
            // Plugins are the host's code reading the host's configuration, and some write host
            // files even with --installroot (generate_completion_cache): none acts on an image.
            args.push("--disableplugin=*".into());
        }
        if let Some(r) = &self.reposdir {
            args.push(format!("--setopt=reposdir={r}").into());
        }
        if let Some(v) = releasever {
            args.push(format!("--releasever={v}").into());
        }
        args
    }
}

struct RepoqueryError {
    error: Error,
    releasever_undetected: bool,
}

fn run_repoquery(inv: &Invocation, releasever: Option<&str>) -> Result<Output, RepoqueryError> {
    let cmd = inv.command(releasever);
    let out = cmd.output().map_err(|e| RepoqueryError {
        error: e.into(),
        releasever_undetected: false,
    })?;
    let stderr = out.stderr_str().into_owned();
    if out.code() == Some(0) {
        if !stderr.trim().is_empty() {
            // e.g. a repository skipped because of skip_if_unavailable.
            tracing::warn!(command = %out.command, stderr = %stderr.trim(), "dnf reported problems");
        }
        return Ok(out);
    }
    let releasever_undetected = stderr.contains(RELEASEVER_UNDETECTED);
    let mut error: Error = out
        .expect_success()
        .err()
        .map(Error::from)
        .unwrap_or_else(|| Error::failed("dnf repoquery failed"));
    if stderr.contains("Cache-only enabled but no cache") {
        error = error.with_hint(
            "the repository metadata is not cached yet: run without --no-refresh to download it",
        );
    } else if stderr.contains("Failed to download metadata") {
        error = error.with_hint(
            "a repository could not be reached: check the network and the repository configuration",
        );
    }
    Err(RepoqueryError {
        error,
        releasever_undetected,
    })
}

/// Parse `dnf repoquery --qf` output in [`REPOQUERY_QF`] form. Source packages are skipped.
/// dnf 4 prints the build time as `YYYY-MM-DD HH:MM` in UTC; seconds since the epoch (dnf 5)
/// are read too.
pub fn parse_repoquery(text: &str) -> Result<Vec<AvailablePackage>, String> {
    let mut out = Vec::new();
    for line in records(text) {
        let f: Vec<&str> = line.split('|').collect();
        let [name, evr, arch, repoid, buildtime] = f[..] else {
            return Err(format!("expected 5 fields in {line:?}"));
        };
        if name.is_empty() || evr.is_empty() {
            return Err(format!("no name or version in {line:?}"));
        }
        if arch == "src" || arch == "nosrc" {
            continue;
        }
        out.push(AvailablePackage {
            name: name.to_string(),
            arch: arch.to_string(),
            version: display_rpm(evr),
            repository: repoid.to_string(),
            build_time: parse_build_time(buildtime),
            security: false,
            priority: None,
            section: None,
            origins: Vec::new(),
        });
    }
    Ok(out)
}

fn parse_build_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return s.parse().ok().and_then(|t| DateTime::from_timestamp(t, 0));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .ok()
        .map(|t| t.and_utc())
}

pub(crate) fn unique_repositories(offered: &[AvailablePackage]) -> Vec<String> {
    let mut seen = HashSet::new();
    offered
        .iter()
        .filter(|p| seen.insert(p.repository.as_str()))
        .map(|p| p.repository.clone())
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Configuration: the root's dnf.conf, baseline Sources, scratch space
// ------------------------------------------------------------------------------------------------

/// What we need from `[main]` of dnf.conf.
#[derive(Debug, Default)]
pub(crate) struct DnfConf {
    /// The file itself (inside the root for `--root`), when it exists.
    path: Option<PathBuf>,
    cachedir: Option<String>,
    reposdir: Option<String>,
}

impl DnfConf {
    pub(crate) fn read(root: &Path) -> Result<DnfConf> {
        let path = resolve_in_root(root, Path::new("/etc/dnf/dnf.conf"));
        if !path.is_file() {
            return Ok(DnfConf::default());
        }
        let text = fs_err::read_to_string(&path)?;
        Ok(DnfConf {
            cachedir: ini_value(&text, "main", "cachedir"),
            reposdir: ini_value(&text, "main", "reposdir"),
            path: Some(path),
        })
    }

    /// dnf's repository directories, seen inside the root, for `--setopt=reposdir=`.
    fn reposdirs_in_root(&self, root: &Path) -> String {
        reposdirs_in_root(
            root,
            self.reposdir.as_deref(),
            "/etc/yum.repos.d, /etc/yum/repos.d, /etc/distro.repos.d",
        )
    }

    /// Where dnf caches metadata (inside the root for `--root`, as `--installroot` does): the
    /// configured cachedir, else dnf 4's and dnf 5's defaults.
    fn cachedirs_in(&self, root: &Path) -> Vec<PathBuf> {
        let dirs = match self.cachedir.as_deref() {
            Some(d) => vec![d],
            None => vec!["/var/cache/dnf", "/var/cache/libdnf5"],
        };
        dirs.into_iter()
            .map(|d| resolve_in_root(root, Path::new(d)))
            .collect()
    }
}

/// A `reposdir` list (comma or space separated; `defaults` when not configured) with every
/// directory resolved inside `root`, joined for `--setopt=reposdir=`.
pub(crate) fn reposdirs_in_root(root: &Path, configured: Option<&str>, defaults: &str) -> String {
    configured
        .unwrap_or(defaults)
        .split([',', ' '])
        .filter(|d| !d.is_empty())
        .map(|d| resolve_in_root(root, Path::new(d)).display().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of `key` in `[section]` of an ini file (dnf.conf, yum.conf).
pub(crate) fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.trim().to_string();
        } else if current == section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// A private temporary directory for this scan (removed when dropped).
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("patchbaseline-")
            .tempdir()
            .map_err(|e| Error::failed(format!("cannot create a temporary directory: {e}")))?;
        Ok(Scratch { dir })
    }

    pub(crate) fn empty_file(&self, name: &str) -> Result<PathBuf> {
        let p = self.dir.path().join(name);
        fs_err::write(&p, "")?;
        Ok(p)
    }

    /// Write the baseline's Sources as `.repo` files into a private directory and return it for
    /// `--setopt=reposdir=`, so they replace the configured repositories for this run without
    /// editing the system's own repository files. None when there are no Sources.
    pub(crate) fn sources_reposdir(&self, sources: &[PatchSource]) -> Result<Option<String>> {
        if sources.is_empty() {
            return Ok(None);
        }
        let dir = self.dir.path().join("sources.repos.d");
        fs_err::create_dir_all(&dir)?;
        for (i, s) in sources.iter().enumerate() {
            if !s
                .configuration
                .lines()
                .any(|l| l.trim_start().starts_with('['))
            {
                return Err(Error::invalid(format!(
                    "Sources[{i}] ({}): Configuration has no [repository-id] section",
                    s.name
                ))
                .with_hint("Configuration must be the body of a .repo file, e.g. \"[my-repo]\\nname=My repo\\nbaseurl=https://…\\nenabled=1\""));
            }
            let safe: String = s
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let mut body = s.configuration.clone();
            if !body.ends_with('\n') {
                body.push('\n');
            }
            fs_err::write(dir.join(format!("{i:02}-{safe}.repo")), body)?;
        }
        Ok(Some(dir.display().to_string()))
    }
}

// ------------------------------------------------------------------------------------------------
// Update notices from dnf's cache
// ------------------------------------------------------------------------------------------------

/// The cached `repodata` directory of each repository dnf reported packages from. dnf names a
/// repository's cache `<repoid>-<16 hex digits of a hash of its URL>`; when the URL changed over
/// time several exist, and the one refreshed last is the one in use.
fn cached_repodata_dirs(cachedirs: &[PathBuf], repos: &[String]) -> Result<Vec<(String, PathBuf)>> {
    if repos.is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<_> = cachedirs
        .iter()
        .filter_map(|d| fs_err::read_dir(d).ok())
        .flat_map(|e| e.flatten())
        .collect();
    if entries.is_empty() {
        return Err(Error::failed(format!(
            "dnf reported packages from {} but none of {} holds its cache",
            repos.join(", "),
            cachedirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut best: HashMap<&str, (std::time::SystemTime, PathBuf)> = HashMap::new();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((repoid, hash)) = name.rsplit_once('-') else {
            continue;
        };
        if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Some(repo) = repos.iter().find(|r| r.as_str() == repoid) else {
            continue;
        };
        let repodata = entry.path().join("repodata");
        let Ok(mtime) = fs_err::metadata(repodata.join("repomd.xml")).and_then(|m| m.modified())
        else {
            continue;
        };
        let slot = best
            .entry(repo.as_str())
            .or_insert((mtime, repodata.clone()));
        if mtime > slot.0 {
            *slot = (mtime, repodata);
        }
    }
    let mut out = Vec::new();
    for repo in repos {
        match best.remove(repo.as_str()) {
            Some((_, dir)) => out.push((repo.clone(), dir)),
            None => tracing::warn!(
                repository = %repo,
                "no cached metadata found for this repository; its update notices are not read"
            ),
        }
    }
    Ok(out)
}

/// Read the notices of several cached repositories in parallel, then merge them.
pub(crate) fn read_advisories(
    dirs: &[(String, PathBuf)],
    keep: &(dyn Fn(&AdvisoryPackage) -> bool + Sync),
) -> Result<Vec<Advisory>> {
    let results: Vec<Result<Vec<Advisory>>> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|(_, dir)| s.spawn(move || updateinfo::read_cached(dir, keep)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::failed("reading update notices panicked")))
            })
            .collect()
    });
    Ok(updateinfo::merge(
        results.into_iter().collect::<Result<_>>()?,
    ))
}

// ------------------------------------------------------------------------------------------------
// What is available, and which notices matter
// ------------------------------------------------------------------------------------------------

/// From everything the repositories offer, keep what the engine needs:
///
/// * every version newer than the newest installed version of the same name (and a compatible
///   arch: the same, or either side noarch), and
/// * versions of names that are not installed, when an update notice names them (NotApplicable);
///
/// and from the notices (read through `load`, which is given the filter) only the packages that
/// are installed at exactly that version or are in that available set: a notice version that the
/// package manager does not offer, or that is older than what is installed, is no candidate.
///
/// An arch change between versions (foo.x86_64 1.0 installed, foo.noarch 2.0 offered, or the
/// other way round) is an upgrade to dnf; the engine groups by `name.arch`, so such an offer,
/// and the notices' entries for it, are reported under the INSTALLED arch (as apt's `all` ↔
/// native): foo.x86_64 Missing at 2.0, not foo.noarch NotApplicable beside foo.x86_64
/// InstalledOther. When the name is installed under several arches (multilib), the arch of its
/// newest compatible installed version is taken. The install path asks dnf for such a target
/// without an arch (see `dnf_install::RpmInstaller`), so the remapped arch never reaches dnf.
pub(crate) fn select<F>(
    installed: &[InstalledPackage],
    offered: Vec<AvailablePackage>,
    load: F,
) -> Result<(Vec<AvailablePackage>, Vec<Advisory>)>
where
    F: FnOnce(&(dyn Fn(&AdvisoryPackage) -> bool + Sync)) -> Result<Vec<Advisory>>,
{
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        /// Installed already, older than installed, or the same version from a second repository.
        Drop,
        Upgrade,
        NotInstalled,
    }
    type Key<'k> = (&'k str, &'k str, &'k str);

    let mut by_name: HashMap<&str, Vec<&InstalledPackage>> = HashMap::new();
    for p in installed {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    let compatible = |a: &str, b: &str| a == b || a == "noarch" || b == "noarch";

    let mut seen: HashSet<Key> = HashSet::with_capacity(offered.len());
    // Offers whose arch differs from the installed one (noarch ↔ arch): the arch to report.
    let mut report_arch: HashMap<Key, &str> = HashMap::new();
    let kinds: Vec<Kind> = offered
        .iter()
        .map(|p| {
            if !seen.insert((&p.name, &p.arch, &p.version)) {
                return Kind::Drop;
            }
            let mine: Vec<&InstalledPackage> = by_name
                .get(p.name.as_str())
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|i| compatible(&i.arch, &p.arch))
                        .collect()
                })
                .unwrap_or_default();
            let newest = mine
                .iter()
                .max_by(|a, b| compare_rpm(&a.version, &b.version));
            match newest {
                Some(n) if compare_rpm(&p.version, &n.version).is_gt() => {
                    if !mine.iter().any(|i| i.arch == p.arch) {
                        report_arch.insert((&p.name, &p.arch, &p.version), n.arch.as_str());
                    }
                    Kind::Upgrade
                }
                Some(_) => Kind::Drop,
                None => Kind::NotInstalled,
            }
        })
        .collect();
    drop(seen);

    let wanted: Vec<bool>;
    let advisories;
    {
        let mut relevant: HashSet<Key> = HashSet::with_capacity(installed.len() + offered.len());
        for p in installed {
            relevant.insert((&p.name, &p.arch, &p.version));
        }
        for (p, k) in offered.iter().zip(&kinds) {
            if *k != Kind::Drop {
                relevant.insert((&p.name, &p.arch, &p.version));
            }
        }
        let keep = |p: &AdvisoryPackage| {
            // Notice versions are already in display form (zero epoch omitted), like ours.
            relevant.contains(&(p.name.as_str(), p.arch.as_str(), p.version.as_str()))
        };
        advisories = load(&keep)?;
        let named: HashSet<Key> = advisories
            .iter()
            .flat_map(|a| a.packages.iter())
            .map(|p| (p.name.as_str(), p.arch.as_str(), p.version.as_str()))
            .collect();
        wanted = offered
            .iter()
            .zip(&kinds)
            .map(|(p, k)| match k {
                Kind::Upgrade => true,
                Kind::NotInstalled => named.contains(&(&p.name, &p.arch, &p.version)),
                Kind::Drop => false,
            })
            .collect();
    }
    let remapped: HashMap<(String, String, String), String> = report_arch
        .into_iter()
        .map(|((n, a, v), to)| {
            (
                (n.to_string(), a.to_string(), v.to_string()),
                to.to_string(),
            )
        })
        .collect();
    let moved = |name: &str, arch: &mut String, version: &str| {
        if let Some(to) = remapped.get(&(name.to_string(), arch.clone(), version.to_string())) {
            *arch = to.clone();
        }
    };
    let mut advisories = advisories;
    for a in &mut advisories {
        for p in &mut a.packages {
            moved(&p.name, &mut p.arch, &p.version);
        }
        // The same version under both arches would now be listed twice.
        let mut seen = HashSet::new();
        a.packages
            .retain(|p| seen.insert((p.name.clone(), p.arch.clone(), p.version.clone())));
    }
    let mut seen = HashSet::new();
    let available = offered
        .into_iter()
        .zip(wanted)
        .filter_map(|(p, w)| w.then_some(p))
        .map(|mut p| {
            moved(&p.name, &mut p.arch, &p.version);
            p
        })
        .filter(|p| seen.insert((p.name.clone(), p.arch.clone(), p.version.clone())))
        .collect();
    Ok((available, advisories))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_lines_become_installed_packages() {
        let text = "\
@pb@|kernel|0|6.1.0|1.amzn2023|x86_64|1700000000
@pb@|tzdata|1|2023c|1|noarch|1700000001
@pb@|gpg-pubkey|0|d832c631|5515fb30|(none)|1700000002
warning: something unrelated
";
        let got = parse_rpm_qa(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].version, "6.1.0-1.amzn2023");
        assert_eq!(got[1].version, "1:2023c-1");
        assert_eq!(got[1].install_time.map(|t| t.timestamp()), Some(1700000001));
        assert!(parse_rpm_qa("@pb@|x|0|1\n")
            .unwrap_err()
            .contains("6 fields"));
    }

    #[test]
    fn repoquery_lines_become_available_packages() {
        let text = "\
@pb@|curl|8.0-1|x86_64|updates|2024-01-15 10:00
@pb@|curl|8.0-1|src|updates-source|2024-01-15 10:00
@pb@|tz|1:2023c-1|noarch|updates|1705312800
@pb@|zero|0:1.0-1|noarch|updates|
";
        let got = parse_repoquery(text).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].repository, "updates");
        assert_eq!(
            got[0].build_time.map(|t| t.to_rfc3339()),
            Some("2024-01-15T10:00:00+00:00".into())
        );
        assert_eq!(got[1].version, "1:2023c-1");
        assert_eq!(got[1].build_time.map(|t| t.timestamp()), Some(1705312800));
        assert_eq!(got[2].version, "1.0-1");
        assert_eq!(got[2].build_time, None);
    }

    #[test]
    fn records_without_newlines_are_split_on_the_marker() {
        // dnf 5 adds no newline after --qf; a stray line between dnf 4 records is ignored.
        let text = "noise @pb@|a|1-1|noarch|r|@pb@|b|2-1|noarch|r|1705312800\nwarning: x\n";
        let got = parse_repoquery(text).unwrap();
        assert_eq!(
            got.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(got[1].build_time.map(|t| t.timestamp()), Some(1705312800));
    }

    #[test]
    fn ini_values_come_from_their_section() {
        let text = "[main]\n# cachedir=/no\ncachedir = /var/cache/x\n[repo]\nreposdir=/no\n";
        assert_eq!(
            ini_value(text, "main", "cachedir").as_deref(),
            Some("/var/cache/x")
        );
        assert_eq!(ini_value(text, "main", "reposdir"), None);
    }

    fn inst(name: &str, arch: &str, v: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: arch.into(),
            version: v.into(),
            install_time: None,
        }
    }

    fn avail(name: &str, v: &str) -> AvailablePackage {
        AvailablePackage {
            name: name.into(),
            arch: "x86_64".into(),
            version: v.into(),
            repository: "r".into(),
            build_time: None,
            security: false,
            priority: None,
            section: None,
            origins: Vec::new(),
        }
    }

    #[test]
    fn select_keeps_newer_versions_and_advisory_names_only() {
        let installed = [
            inst("kernel", "x86_64", "1.0-1"),
            inst("kernel", "x86_64", "1.1-1"),
            inst("tz", "noarch", "2024a-1"),
        ];
        let offered = vec![
            avail("kernel", "1.0-1"),
            avail("kernel", "1.1-1"),
            avail("kernel", "1.2-1"),
            avail("kernel", "1.2-1"),
            avail("tz", "1:2023c-1"),
            avail("nginx", "1.1-1"),
            avail("unrelated", "9-9"),
        ];
        let (available, advisories) = select(&installed, offered, |keep| {
            let pkgs = [
                ("kernel", "x86_64", "1.1-1"),
                ("kernel", "x86_64", "0.9-1"),
                ("nginx", "x86_64", "1.1-1"),
            ];
            Ok(vec![notice(&pkgs, keep)])
        })
        .unwrap();
        let got: Vec<_> = available
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        assert_eq!(got, ["kernel 1.2-1", "tz 1:2023c-1", "nginx 1.1-1"]);
        let kept: Vec<_> = advisories[0]
            .packages
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        assert_eq!(
            kept,
            ["kernel 1.1-1", "nginx 1.1-1"],
            "0.9 is neither installed nor offered"
        );
    }

    fn notice(pkgs: &[(&str, &str, &str)], keep: &dyn Fn(&AdvisoryPackage) -> bool) -> Advisory {
        Advisory {
            id: "A".into(),
            classification: "Security".into(),
            severity: None,
            issued: None,
            updated: None,
            cves: vec![],
            bugzillas: vec![],
            reboot_suggested: false,
            packages: pkgs
                .iter()
                .map(|(n, a, v)| AdvisoryPackage {
                    name: n.to_string(),
                    arch: a.to_string(),
                    version: v.to_string(),
                })
                .filter(|p| keep(p))
                .collect(),
        }
    }

    #[test]
    fn arch_change_between_versions_is_reported_under_the_installed_arch() {
        let installed = [
            inst("foo", "x86_64", "1.0-1"),
            inst("bar", "noarch", "1.0-1"),
            inst("multi", "x86_64", "1.0-1"),
            inst("multi", "noarch", "1.0-1"),
        ];
        let arch = |name: &str, arch: &str, v: &str| AvailablePackage {
            arch: arch.into(),
            ..avail(name, v)
        };
        let offered = vec![
            arch("foo", "noarch", "2.0-1"),
            arch("bar", "x86_64", "2.0-1"),
            // Installed under its own arch too: nothing to remap.
            arch("multi", "noarch", "2.0-1"),
            // Not installed: as offered.
            arch("new", "noarch", "1.0-1"),
        ];
        let (available, advisories) = select(&installed, offered, |keep| {
            Ok(vec![notice(
                &[
                    ("foo", "noarch", "2.0-1"),
                    ("bar", "x86_64", "2.0-1"),
                    ("new", "noarch", "1.0-1"),
                ],
                keep,
            )])
        })
        .unwrap();
        let got: Vec<_> = available
            .iter()
            .map(|p| format!("{}.{} {}", p.name, p.arch, p.version))
            .collect();
        assert_eq!(
            got,
            [
                "foo.x86_64 2.0-1",
                "bar.noarch 2.0-1",
                "multi.noarch 2.0-1",
                "new.noarch 1.0-1"
            ]
        );
        let named: Vec<_> = advisories[0]
            .packages
            .iter()
            .map(|p| format!("{}.{} {}", p.name, p.arch, p.version))
            .collect();
        assert_eq!(
            named,
            ["foo.x86_64 2.0-1", "bar.noarch 2.0-1", "new.noarch 1.0-1"]
        );
    }

    #[test]
    fn sources_without_a_section_are_refused_with_their_name() {
        let s = Scratch::new().unwrap();
        let err = s
            .sources_reposdir(&[PatchSource {
                name: "my-repo".into(),
                products: vec!["*".into()],
                configuration: "baseurl=https://example.invalid/".into(),
            }])
            .unwrap_err();
        assert!(err.message.contains("my-repo"), "{}", err.message);
        assert_eq!(err.exit_code(), 2);
    }
}
