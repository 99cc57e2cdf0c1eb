//! The yum 3 backend (Amazon Linux 2, RHEL/CentOS/Oracle Linux 7).
//!
//! The same facts as the dnf backend, through yum: `rpm -qa` for what is installed, one
//! `yum --showduplicates list available` for every version the enabled repositories offer (yum
//! applies its excludes, priorities and versionlock itself; a refreshing scan runs
//! `yum clean expire-cache` first, as yum 3 has no `--refresh`), and the update notices from the
//! `updateinfo.xml` yum cached for those repositories under its cachedir
//! (`/var/cache/yum/$basearch/$releasever/<repoid>/`).
//!
//! yum 3 has no machine-readable query format without yum-utils, so `list` output is parsed; its
//! columns are documented by the real captures in `testdata/yum/` (see SOURCE.md there). yum
//! cannot run on the Debian build host: [`parse_yum_list`] and the cache lookup are tested on those
//! captures and on real repository metadata; the command construction is not exercised here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::baseline::PatchSource;
use crate::error::Result;
use crate::exec::Cmd;
use crate::model::{AvailablePackage, Family, Inventory};
use crate::system::{resolve_in_root, System};
use crate::version::display_rpm;

use super::dnf::{
    beside_rpm, ini_value, is_host, read_advisories, reposdirs_in_root, select,
    unique_repositories, Scratch,
};
use super::ScanOptions;

/// Gather the inventory through yum.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let scratch = Scratch::new()?;
    let yum_conf = YumConf::read(opts.root)?;
    let conf = |key: &str| yum_conf.get(key);

    let mut args: Vec<OsString> = vec!["-q".into(), "-y".into(), "--color=never".into()];
    args.extend(yum_conf.isolation(opts.root, opts.sources, &scratch)?);
    let (installed, out) = beside_rpm(opts.root, || {
        if opts.refresh {
            // yum 3 has no --refresh, and a repository's own metadata_expire outranks a global
            // --setopt: mark every enabled repository's metadata expired, so that the listing
            // below checks each one for new metadata (the one extra process of a yum scan).
            Cmd::new("yum")
                .args(&args)
                .args(["clean", "expire-cache"])
                .output()?
                .expect_success()?;
        } else {
            args.push("-C".into());
        }
        args.extend(["--showduplicates".into(), "list".into(), "available".into()]);
        let out = Cmd::new("yum").args(args).output()?;
        // yum exits 1 with "No matching Packages to list" when nothing is available.
        let nothing = out.code() == Some(1) && out.stderr_str().contains("No matching Packages");
        Ok(if nothing { out } else { out.expect_success()? })
    })?;
    let offered = parse_yum_list(&out.stdout_str()).map_err(|what| out.garbage(what))?;

    let cachedir =
        conf("cachedir").unwrap_or_else(|| "/var/cache/yum/$basearch/$releasever".into());
    let repos = unique_repositories(&offered);
    let dirs = yum_cache_dirs(opts.root, &cachedir, &repos);
    let (available, advisories) = select(&installed, offered, |keep| read_advisories(&dirs, keep))?;
    Ok(Inventory {
        family: Family::Rpm,
        operating_system: Some(system.operating_system),
        product: system.product.clone(),
        installed,
        available,
        advisories,
    })
}

/// The root's `/etc/yum.conf` (shared with install, `dnf_install.rs`).
pub(crate) struct YumConf {
    path: PathBuf,
    text: Option<String>,
}

impl YumConf {
    pub(crate) fn read(root: &Path) -> Result<YumConf> {
        let path = resolve_in_root(root, Path::new("/etc/yum.conf"));
        let text = if path.is_file() {
            Some(fs_err::read_to_string(&path)?)
        } else {
            None
        };
        Ok(YumConf { path, text })
    }

    fn get(&self, key: &str) -> Option<String> {
        self.text.as_deref().and_then(|t| ini_value(t, "main", key))
    }

    /// The options that confine yum to `root` when it is an image (its yum.conf, no plugins, its
    /// repository directories) and put the baseline's Sources (written into `scratch`) in place
    /// of the configured repositories.
    pub(crate) fn isolation(
        &self,
        root: &Path,
        sources: &[PatchSource],
        scratch: &Scratch,
    ) -> Result<Vec<OsString>> {
        let mut args: Vec<OsString> = Vec::new();
        let host = is_host(root);
        if !host {
            let mut a = OsString::from("--installroot=");
            a.push(root);
            args.push(a);
            args.push("-c".into());
            args.push(if self.text.is_some() {
                self.path.clone().into_os_string()
            } else {
                scratch.empty_file("yum.conf")?.into_os_string()
            });
            args.push("--noplugins".into());
        }
        let reposdir = match scratch.sources_reposdir(sources)? {
            Some(dir) => Some(dir),
            None if !host => Some(reposdirs_in_root(
                root,
                self.get("reposdir").as_deref(),
                "/etc/yum.repos.d, /etc/yum/repos.d",
            )),
            None => None,
        };
        if let Some(r) = reposdir {
            args.push(format!("--setopt=reposdir={r}").into());
        }
        Ok(args)
    }
}

/// Parse yum 3 `list` / `check-update` output: rows of `name.arch  [epoch:]version-release
/// repository`, where a name too long for its column ends its line and the other two columns
/// follow, indented, on the next. Headers (`Available Packages`, `Loaded plugins: …`, mirror
/// lines) are skipped, and everything after `Obsoleting Packages` (pairs of obsoleting and
/// obsoleted packages) is ignored. A leading `@` on the repository (installed packages) is
/// dropped. Build times are not in this output.
pub fn parse_yum_list(text: &str) -> Result<Vec<AvailablePackage>, String> {
    let mut out = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "Obsoleting Packages" {
            break;
        }
        if trimmed.is_empty() || is_header(line) {
            continue;
        }
        let indented = line.starts_with(char::is_whitespace);
        if !indented && !pending.is_empty() {
            return Err(format!(
                "row {:?} is incomplete before {line:?}",
                pending.join(" ")
            ));
        }
        pending.extend(trimmed.split_whitespace());
        match pending.len() {
            0..=2 => continue,
            3 => {
                out.push(row(&pending).ok_or_else(|| format!("not a package row: {line:?}"))?);
                pending.clear();
            }
            _ => return Err(format!("unexpected columns in {line:?}")),
        }
    }
    if !pending.is_empty() {
        return Err(format!("output ends inside a row: {:?}", pending.join(" ")));
    }
    Ok(out)
}

fn is_header(line: &str) -> bool {
    const HEADERS: [&str; 8] = [
        "Loaded plugins:",
        "Loading mirror speeds",
        " * ",
        "Available Packages",
        "Updated Packages",
        "Installed Packages",
        "Extra Packages",
        "Determining fastest mirrors",
    ];
    HEADERS.iter().any(|h| line.starts_with(h))
}

fn row(cols: &[&str]) -> Option<AvailablePackage> {
    let (name, arch) = cols[0].rsplit_once('.')?;
    let version = cols[1];
    if name.is_empty() || arch.is_empty() || !version.contains('-') {
        return None;
    }
    Some(AvailablePackage {
        name: name.to_string(),
        arch: arch.to_string(),
        version: display_rpm(version),
        repository: cols[2].trim_start_matches('@').to_string(),
        build_time: None,
        security: false,
        priority: None,
        section: None,
        origins: Vec::new(),
    })
}

/// The cache directory of each repository. yum's cachedir usually contains `$basearch` and
/// `$releasever`; each path component with a variable matches any directory there (the values
/// are yum's to compute). When several match, the one refreshed last wins.
pub fn yum_cache_dirs(root: &Path, cachedir: &str, repos: &[String]) -> Vec<(String, PathBuf)> {
    let mut bases = vec![PathBuf::new()];
    for comp in Path::new(cachedir).components() {
        let comp = comp.as_os_str().to_string_lossy();
        if comp == "/" {
            continue;
        }
        bases = if comp.contains('$') {
            bases
                .iter()
                .flat_map(|b| {
                    fs_err::read_dir(root.join(b))
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter(|e| e.path().is_dir())
                        .map(move |e| b.join(e.file_name()))
                })
                .collect()
        } else {
            bases.iter().map(|b| b.join(comp.as_ref())).collect()
        };
    }
    let mut out = Vec::new();
    for repo in repos {
        let newest = bases
            .iter()
            .map(|b| root.join(b).join(repo))
            .filter_map(|d| {
                let m = fs_err::metadata(d.join("repomd.xml"))
                    .and_then(|m| m.modified())
                    .ok()?;
                Some((m, d))
            })
            .max_by_key(|(m, _)| *m);
        match newest {
            Some((_, dir)) => out.push((repo.clone(), dir)),
            None => tracing::warn!(
                repository = %repo,
                "no cached yum metadata found for this repository; its update notices are not read"
            ),
        }
    }
    out
}
