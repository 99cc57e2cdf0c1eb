//! The apt backend: the inventory of a Debian/Ubuntu/Raspbian system or image root.
//!
//! What runs (at most three processes per scan):
//! 1. `apt-get update` (unless `--no-refresh`; always when baseline Sources replace the sources);
//! 2. `apt-get indextargets`: every Packages index apt has downloaded, with its archive's Release
//!    fields (Label, Suite, Codename, Site, Trusted) — apt itself resolves sources.list,
//!    deb822 `.sources`, architectures and list file names;
//! 3. `/usr/lib/apt/apt-helper cat-file`: all those indexes in one stream, decompressed by apt
//!    (lz4, gz, xz, zstd), each preceded by a small marker file so we know which archive a
//!    paragraph came from.
//!
//! The dpkg status file and the `info/*.list` modification times (install time) are read
//! directly. Versions are compared like dpkg. Reading the indexes ourselves, rather than asking
//! for apt's candidate, gives EVERY version newer than the installed one with its own security
//! flag and Priority/Section: AWS's apt code ignores pinning and considers every version
//! (semantics §5.1, §5.3).
//!
//! What the inventory holds: every installed package (install time = mtime of its dpkg file
//! list); for each, every version at or above the installed one that any archive offers (the
//! equal one too, so the engine can tell Installed from InstalledOther), with `security` set when
//! any archive offering it is a security archive, Priority, Section and `Label/Suite` origins; and,
//! for NotApplicable, the versions of NOT installed packages offered by security archives only
//! (exact for every baseline without EnableNonSecurity; AWS uploads only a count for these, and
//! listing the whole main archive would add 60 000 entries). `advisories` stays empty on apt.
//!
//! Isolation. On the host (`/`) with the system's sources nothing is set: apt reads its own
//! configuration as it always does. For an image root, apt gets a private `APT_CONFIG` (in a
//! temporary directory, never `ROOT/etc/apt/apt.conf`, which apt would read twice) that sets
//! `Dir "ROOT/"`, the root's dpkg status and an empty `Dir::Etc::parts`, so apt reads the
//! root's sources and lists and nothing of the host's. Its `Dir::Etc::main` is a private file
//! that includes the root's own apt.conf.d and apt.conf (so no image setting is read before our
//! file is chosen) and then clears every hook (an image's `APT::Update::Post-Invoke-Success`
//! would otherwise run on the host), pins every program apt may run — download methods,
//! solvers, planners, dpkg, proxy auto-detection — to the host's own (an image's relative
//! `Dir::Bin::methods` would otherwise make host apt run the image's programs outside any
//! chroot), and turns off the binary package cache (so a scan writes nothing into the image
//! except, when refreshing, its lists). Baseline Sources go into a private sources.list with
//! `Dir::Etc::SourceParts` on an empty directory and the lists in a private directory, so
//! neither the system's sources nor its downloaded lists change.

pub mod install;
mod parse;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::baseline::PatchSource;
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::model::{Family, InstalledPackage, Inventory};
use crate::system::{resolve_in_root, System};

use super::ScanOptions;

/// Where Debian and Ubuntu install apt's helper (package `apt`).
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// Hooks an image's apt configuration may carry that must never run on the host during a scan.
const CLEARED_HOOKS: &[&str] = &[
    "APT::Update::Pre-Invoke",
    "APT::Update::Post-Invoke",
    "APT::Update::Post-Invoke-Success",
    "DPkg::Pre-Invoke",
    "DPkg::Post-Invoke",
    "DPkg::Pre-Install-Pkgs",
];

/// For an image root: every setting naming a program host apt would run, pinned to the host's
/// own after the image's configuration (`#clear` first: several are lists, and
/// `Dir::Bin::Methods::NAME` overrides one method). A relative `Dir::Bin::methods` from the image
/// would otherwise resolve under `Dir` (the image) and host apt would run the image's programs
/// outside any chroot. Checked with `apt-config dump` on apt 2.6: a later `#clear` plus
/// assignment wins over the image's values.
const HOST_PROGRAMS: &[(&str, &str)] = &[
    ("Dir::Bin::methods", "Dir::Bin::methods \"/usr/lib/apt/methods/\";"),
    (
        "Dir::Bin::solvers",
        "Dir::Bin::solvers \"/usr/lib/apt/solvers/\";\nDir::Bin::solvers:: \"/usr/lib/apt/solvers\";",
    ),
    (
        "Dir::Bin::planners",
        "Dir::Bin::planners \"/usr/lib/apt/planners/\";\nDir::Bin::planners:: \"/usr/lib/apt/planners\";",
    ),
    ("Dir::Bin::dpkg", "Dir::Bin::dpkg \"/usr/bin/dpkg\";"),
    ("Dir::Bin::ischroot", "Dir::Bin::ischroot \"/usr/bin/ischroot\";"),
    ("APT::Solver", "APT::Solver \"internal\";"),
    ("APT::Planner", "APT::Planner \"internal\";"),
    // A command apt runs to find a proxy; both spellings (apt reads the old one as a fallback).
    ("Acquire::http::Proxy-Auto-Detect", ""),
    ("Acquire::http::ProxyAutoDetect", ""),
    ("Acquire::https::Proxy-Auto-Detect", ""),
    ("Acquire::https::ProxyAutoDetect", ""),
    ("Acquire::ftp::Proxy-Auto-Detect", ""),
    ("Acquire::ftp::ProxyAutoDetect", ""),
];

/// Gather the inventory through apt.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let apt = Apt::prepare(opts.root, opts.sources)?;
    if opts.refresh || apt.private_sources {
        if !opts.refresh {
            tracing::info!(
                "baseline Sources replace the configured sources: downloading their indexes despite --no-refresh"
            );
        }
        apt.update()?;
    }
    let status = fs_err::read_to_string(&apt.status).map_err(|e| {
        Error::invalid(format!("cannot read dpkg's database: {e}"))
            .with_hint("is --root the top of a Debian/Ubuntu image (with var/lib/dpkg/status)?")
    })?;
    let entries = parse::parse_status(&status);
    let targets = apt.index_targets()?;
    let available = if targets.is_empty() {
        tracing::warn!(
            "apt has no downloaded package indexes for {}: nothing can be reported as missing",
            apt.root.display()
        );
        Vec::new()
    } else {
        let text = apt.cat_indexes(&targets)?;
        let native = parse::native_arch(&entries).unwrap_or(host_arch());
        parse::collect_available(&entries, native, &targets, parse::split_marked(&text))
    };
    let mut installed = parse::installed_packages(&entries);
    apt.fill_install_times(&mut installed);
    tracing::debug!(
        installed = installed.len(),
        available = available.len(),
        indexes = targets.len(),
        "apt inventory"
    );
    Ok(Inventory {
        family: Family::Deb,
        operating_system: Some(system.operating_system),
        product: system.product.clone(),
        installed,
        available,
        advisories: Vec::new(),
    })
}

/// One scan's view of apt: where things are and how to call it.
struct Apt {
    /// The system (`/` or the image root, absolute).
    root: PathBuf,
    /// dpkg's status file, resolved inside the root.
    status: PathBuf,
    /// dpkg's `info` directory (install times), resolved inside the root.
    dpkg_info: PathBuf,
    /// Our private files (APT_CONFIG, sources, lists, markers); removed on drop.
    tmp: tempfile::TempDir,
    /// The APT_CONFIG file, when one is needed (image root or baseline Sources).
    apt_config: Option<PathBuf>,
    /// Baseline Sources replace the configured ones for this run.
    private_sources: bool,
}

impl Apt {
    fn prepare(root: &Path, sources: &[PatchSource]) -> Result<Apt> {
        let root = fs_err::canonicalize(root).map_err(|e| {
            Error::invalid(e.to_string()).with_hint("--root must be an existing directory")
        })?;
        let host = crate::system::is_host(&root);
        let tmp = tempfile::Builder::new()
            .prefix("patchbaseline-apt.")
            .tempdir()?;
        // apt's download methods run as the `_apt` user: let it reach the private lists.
        set_mode(tmp.path(), 0o755)?;
        let status = resolve_in_root(&root, Path::new("/var/lib/dpkg/status"));
        let dpkg_info = resolve_in_root(&root, Path::new("/var/lib/dpkg/info"));
        let private_sources = !sources.is_empty();
        let mut apt = Apt {
            root,
            status,
            dpkg_info,
            tmp,
            apt_config: None,
            private_sources,
        };
        if host && !private_sources {
            return Ok(apt);
        }
        let dir = apt.tmp.path().to_path_buf();
        let private = if private_sources {
            Some(write_private_sources(&dir, sources)?)
        } else {
            None
        };
        // For an image, apt reads no configuration directory of its own (`Dir::Etc::parts` is an
        // empty private one): our main file includes the image's apt.conf.d and apt.conf and then
        // pins what the image must not choose. Were apt to read the image's apt.conf.d itself, a
        // `Dir::Etc::main` there would replace our main file and every pin with it.
        let mut includes = Vec::new();
        let empty_parts = dir.join("apt.conf.d");
        if host {
            includes.push(PathBuf::from("/etc/apt/apt.conf"));
        } else {
            fs_err::create_dir_all(&empty_parts)?;
            includes.push(resolve_in_root(&apt.root, Path::new("/etc/apt/apt.conf.d")));
            includes.push(resolve_in_root(&apt.root, Path::new("/etc/apt/apt.conf")));
        }
        includes.retain(|p| p.exists());
        let main = dir.join("main.conf");
        fs_err::write(&main, main_config(&includes, !host, private.as_ref())?)?;
        let config = dir.join("apt.conf");
        let image = (!host).then_some(ImageDirs {
            root: apt.root.as_path(),
            status: apt.status.as_path(),
            parts: empty_parts.as_path(),
        });
        fs_err::write(&config, apt_config(image, &main)?)?;
        apt.apt_config = Some(config);
        Ok(apt)
    }

    /// A command with this scan's APT_CONFIG.
    fn cmd(&self, program: &str) -> Cmd {
        let cmd = Cmd::new(program);
        match &self.apt_config {
            Some(cfg) => cmd.env("APT_CONFIG", cfg),
            None => cmd,
        }
    }

    /// `apt-get update`. Its warnings (an unreachable mirror that apt skipped) go to the log.
    fn update(&self) -> Result<()> {
        let out = self
            .cmd("apt-get")
            .args(["-q", "update"])
            .output()?
            .expect_success()
            .map_err(|e| {
                let hint = if self.private_sources {
                    "check the baseline's Sources Configuration lines (sources.list format) and that their archives are reachable"
                } else {
                    "check the network and the sources in etc/apt/sources.list(.d); --no-refresh scans with the lists already downloaded"
                };
                Error::from(e).with_hint(hint)
            })?;
        for line in out.stderr_str().lines().filter(|l| l.starts_with("W:")) {
            tracing::warn!("apt-get update: {line}");
        }
        Ok(())
    }

    /// The downloaded Packages indexes and their archives.
    fn index_targets(&self) -> Result<Vec<parse::IndexTarget>> {
        let out = self
            .cmd("apt-get")
            .arg("indextargets")
            .output()?
            .expect_success()?;
        Ok(parse::parse_index_targets(&out.stdout_str()))
    }

    /// Every index, decompressed by apt, in one stream: `marker(0) index0 marker(1) index1 …`.
    fn cat_indexes(&self, targets: &[parse::IndexTarget]) -> Result<String> {
        let mut args = Vec::with_capacity(targets.len() * 2 + 1);
        args.push(PathBuf::from("cat-file"));
        for (i, t) in targets.iter().enumerate() {
            let marker = self.tmp.path().join(format!("marker-{i}"));
            fs_err::write(&marker, parse::marker(i))?;
            args.push(marker);
            args.push(PathBuf::from(&t.filename));
        }
        let out = self
            .cmd(APT_HELPER)
            .args(&args)
            .output()?
            .expect_success()?;
        Ok(String::from_utf8(out.stdout)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// dpkg records no install time; the modification time of the package's file list
    /// (`info/NAME.list`, `info/NAME:ARCH.list` for Multi-Arch: same) is when it was last unpacked.
    fn fill_install_times(&self, installed: &mut [InstalledPackage]) {
        for p in installed {
            let candidates = [
                format!("{}:{}.list", p.name, p.arch),
                format!("{}.list", p.name),
            ];
            p.install_time = candidates.iter().find_map(|f| {
                let modified = fs_err::metadata(self.dpkg_info.join(f))
                    .ok()?
                    .modified()
                    .ok()?;
                Some(DateTime::<Utc>::from(modified))
            });
        }
    }
}

/// The private files that replace the sources for a run with baseline Sources.
struct PrivateSources {
    sourcelist: PathBuf,
    sourceparts: PathBuf,
    lists: PathBuf,
}

/// Write the Sources' `Configuration`s: one-line `deb …` entries into a private sources.list,
/// deb822 entries (`Types:` …) into private `.sources` files.
fn write_private_sources(dir: &Path, sources: &[PatchSource]) -> Result<PrivateSources> {
    let private = PrivateSources {
        sourcelist: dir.join("sources.list"),
        sourceparts: dir.join("sources.list.d"),
        lists: dir.join("lists"),
    };
    fs_err::create_dir_all(private.lists.join("partial"))?;
    fs_err::create_dir_all(&private.sourceparts)?;
    let mut list = String::new();
    for (i, source) in sources.iter().enumerate() {
        let body = source.configuration.trim();
        if body.is_empty() {
            return Err(Error::invalid(format!(
                "baseline Sources[{i}] ({}): Configuration is empty",
                source.name
            ))
            .with_hint("give the sources.list lines to use, e.g. `deb http://deb.debian.org/debian-security bookworm-security main`"));
        }
        let deb822 = body
            .lines()
            .any(|l| l.trim_start().to_ascii_lowercase().starts_with("types:"));
        if deb822 {
            let file = private
                .sourceparts
                .join(format!("{i:02}-{}.sources", file_safe(&source.name)));
            fs_err::write(file, format!("{body}\n"))?;
        } else {
            list.push_str(&format!("# baseline source {}\n{body}\n", source.name));
        }
    }
    fs_err::write(&private.sourcelist, list)?;
    Ok(private)
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where apt looks for an image root's files.
struct ImageDirs<'a> {
    root: &'a Path,
    status: &'a Path,
    /// An empty private directory standing in for `Dir::Etc::parts`.
    parts: &'a Path,
}

/// The APT_CONFIG file: for an image root, `Dir` and the dpkg status inside it and no parts
/// directory of apt's own; always our own main configuration file (read last, so its settings win).
fn apt_config(image: Option<ImageDirs>, main: &Path) -> Result<String> {
    let mut text = String::from("// Written by patchbaseline for one scan; removed afterwards.\n");
    if let Some(image) = image {
        let root = conf_path(image.root)?;
        let root = root.trim_end_matches('/');
        text.push_str(&format!("Dir \"{root}/\";\n"));
        text.push_str(&format!(
            "Dir::State::status \"{}\";\n",
            conf_path(image.status)?
        ));
        text.push_str(&format!(
            "Dir::Etc::parts \"{}/\";\n",
            conf_path(image.parts)?.trim_end_matches('/')
        ));
    }
    text.push_str(&format!("Dir::Etc::main \"{}\";\n", conf_path(main)?));
    Ok(text)
}

/// Our `Dir::Etc::main`: the system's own configuration (`includes`: a directory is read like
/// apt.conf.d), then the hooks cleared, for an image the host's programs pinned
/// ([`HOST_PROGRAMS`]), no binary cache written, and the private sources when the baseline has
/// Sources.
fn main_config(
    includes: &[PathBuf],
    image: bool,
    private: Option<&PrivateSources>,
) -> Result<String> {
    let mut text = String::new();
    for include in includes {
        let mut path = conf_path(include)?;
        if include.is_dir() && !path.ends_with('/') {
            // apt reads an `#include` ending in `/` as a configuration directory.
            path.push('/');
        }
        text.push_str(&format!("#include \"{path}\";\n"));
    }
    for hook in CLEARED_HOOKS {
        text.push_str(&format!("#clear {hook};\n"));
    }
    if image {
        for (key, pinned) in HOST_PROGRAMS {
            text.push_str(&format!("#clear {key};\n"));
            if !pinned.is_empty() {
                text.push_str(pinned);
                text.push('\n');
            }
        }
    }
    text.push_str("Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n");
    if let Some(p) = private {
        text.push_str(&format!(
            "Dir::Etc::sourcelist \"{}\";\nDir::Etc::sourceparts \"{}\";\nDir::State::lists \"{}/\";\n",
            conf_path(&p.sourcelist)?,
            conf_path(&p.sourceparts)?,
            conf_path(&p.lists)?,
        ));
    }
    Ok(text)
}

/// A path as an apt.conf string value: UTF-8, without the characters the syntax cannot quote.
fn conf_path(path: &Path) -> Result<String> {
    match path.to_str() {
        Some(s) if !s.contains(['"', '\n', '\r']) => Ok(s.to_string()),
        _ => Err(Error::invalid(format!(
            "{}: apt cannot be configured with this path (it must be UTF-8 without quotes or newlines)",
            path.display()
        ))
        .with_hint("move the image to a plainer path")),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Debian's name for the architecture this binary was built for (used only when the image has
/// no `dpkg` package to tell us).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_config_moves_dir_and_status_and_names_our_main_file() {
        let text = apt_config(
            Some(ImageDirs {
                root: Path::new("/img/"),
                status: Path::new("/img/var/lib/dpkg/status"),
                parts: Path::new("/tmp/x/apt.conf.d"),
            }),
            Path::new("/tmp/x/main.conf"),
        )
        .unwrap();
        assert!(text.contains("Dir \"/img/\";\n"), "{text}");
        assert!(text.contains("Dir::State::status \"/img/var/lib/dpkg/status\";"));
        assert!(text.contains("Dir::Etc::main \"/tmp/x/main.conf\";"));
        assert!(
            text.contains("Dir::Etc::parts \"/tmp/x/apt.conf.d/\";"),
            "{text}"
        );
    }

    #[test]
    fn main_config_includes_the_system_file_then_clears_hooks() {
        let text = main_config(&[PathBuf::from("/img/etc/apt/apt.conf")], true, None).unwrap();
        let include = text.find("#include \"/img/etc/apt/apt.conf\";").unwrap();
        let clear = text
            .find("#clear APT::Update::Post-Invoke-Success;")
            .unwrap();
        assert!(include < clear, "{text}");
        let methods = text
            .find("#clear Dir::Bin::methods;\nDir::Bin::methods \"/usr/lib/apt/methods/\";")
            .unwrap();
        assert!(include < methods, "{text}");
        assert!(text.contains("#clear Acquire::https::Proxy-Auto-Detect;"));
        assert!(text.contains("Dir::Cache::pkgcache \"\";"));
        assert!(!text.contains("sourcelist"));
    }

    #[test]
    fn quotes_in_paths_are_refused_with_the_path_named() {
        let e = conf_path(Path::new("/tmp/a\"b")).unwrap_err();
        assert!(e.message.contains("/tmp/a\"b"), "{}", e.message);
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn baseline_sources_go_to_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let sources = [
            PatchSource {
                name: "sec".into(),
                products: vec!["Debian12".into()],
                configuration: "deb http://deb.debian.org/debian-security bookworm-security main"
                    .into(),
            },
            PatchSource {
                name: "new style".into(),
                products: vec!["*".into()],
                configuration: "Types: deb\nURIs: http://x/\nSuites: s\nComponents: main".into(),
            },
        ];
        let p = write_private_sources(dir.path(), &sources).unwrap();
        let list = std::fs::read_to_string(&p.sourcelist).unwrap();
        assert!(
            list.contains("\ndeb http://deb.debian.org/debian-security bookworm-security main\n")
        );
        let part = std::fs::read_to_string(p.sourceparts.join("01-new_style.sources")).unwrap();
        assert!(part.starts_with("Types: deb\n"));
        assert!(p.lists.join("partial").is_dir());
        let text = main_config(&[], false, Some(&p)).unwrap();
        assert!(text.contains("Dir::State::lists"), "{text}");
    }

    #[test]
    fn empty_source_configuration_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_private_sources(
            dir.path(),
            &[PatchSource {
                name: "blank".into(),
                products: vec![],
                configuration: " \n".into(),
            }],
        )
        .err()
        .unwrap();
        assert!(e.message.contains("blank"), "{}", e.message);
        assert_eq!(e.exit_code(), 2);
    }
}
