//! The apt backend against real apt and dpkg: fixture image roots built once per test process by
//! tests/fixtures/deb/build.sh (two archives laid out like Debian's, a v1 set installed), this
//! Debian host read-only (never refreshed, never changed), and Debian's unattended-upgrades as
//! the peer.
//!
//! The fixture (see build.sh): installed → what the archives offer
//!
//! | package          | installed  | bookworm (main, 12.5)  | bookworm-security        |
//! |------------------|------------|------------------------|--------------------------|
//! | linux-image-sim  | 1.0-1      | 1.0-1                  | 2.0-1 (optional, kernel) |
//! | openssl-sim      | 1.0-1      | 1.1-1                  | 1.1-1 (important, utils) |
//! | sysutils-sim     | 1.0-1      | 1.1-1 (required,admin) |                          |
//! | curl-sim         | 1.0-1      | 1.0-1                  | 2.0-1, needs libcurl-sim |
//! | libcurl-sim      | —          | 2.0-1 (new dependency) |                          |
//! | ssh-sim          | 1:9.2p1-2  | 1:9.2p1-2+deb12u2      | 1:9.2p1-2+deb12u1 (older)|
//! | libc-sim (amd64) | 1.0-1      | 1.0-1                  | 1.0-1+deb12u1 (required) |
//! | zlib-sim         | 1.0-1+deb12u1 | 1.0-1+deb12u1       | 1.0-1+deb12u1            |
//! | oldlib-sim       | 1.0-1      | 1.0-1                  | 1.0-1+deb12u1 (extra)    |
//! | newtool-sim      | —          |                        | 1.0-1                    |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use patchbaseline::backend::{self, ScanOptions};
use patchbaseline::baseline::PatchSource;
use patchbaseline::model::{AvailablePackage, Family, Inventory};
use patchbaseline::system;
use serde_json::{json, Value};

use crate::common::{patch, patchbaseline, read_json, require_root, require_tool, run, show, skip};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The fixtures of this test process: archives under `dir/archive`, the template root.
pub(crate) struct Fixtures {
    pub(crate) dir: PathBuf,
}

impl Fixtures {
    pub(crate) fn template(&self) -> PathBuf {
        self.dir.join("template")
    }
    pub(crate) fn archive(&self, name: &str) -> PathBuf {
        self.dir.join("archive").join(name)
    }
}

/// Build the fixtures once per test process (0.3 s), or say why this test is skipped.
pub(crate) fn fixtures(test: &str) -> Option<&'static Fixtures> {
    for tool in ["dpkg-deb", "apt-ftparchive", "apt-get", "dpkg"] {
        require_tool(test, tool)?;
    }
    if !require_root(test) {
        return None;
    }
    static FIX: OnceLock<Fixtures> = OnceLock::new();
    Some(FIX.get_or_init(|| {
        // Under the target dir, one directory per test process; those of processes that are gone
        // are removed (a static is never dropped, so a TempDir would leak into /tmp).
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(base).unwrap();
        for entry in std::fs::read_dir(base).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("apt-fixtures-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = base.join(format!("apt-fixtures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deb/build.sh");
        let out = run(Command::new("bash").arg(&script).arg(&dir));
        assert!(out.status.success(), "build.sh failed:\n{}", show(&out));
        Fixtures { dir }
    }))
}

/// One test's own copy of the template root.
pub(crate) struct Case {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) fix: &'static Fixtures,
}

impl Case {
    pub(crate) fn new(test: &str) -> Option<Case> {
        let fix = fixtures(test)?;
        let tmp = tempfile::tempdir().unwrap();
        // apt's download methods run as _apt: let it reach the copy.
        chmod_755(tmp.path());
        let root = tmp.path().join("root");
        let out = run(Command::new("cp").arg("-a").arg(fix.template()).arg(&root));
        assert!(out.status.success(), "{}", show(&out));
        assert!(root.join("etc/fixture-root").exists());
        Some(Case { tmp, root, fix })
    }

    /// An APT_CONFIG for tools the TEST runs against this root (apt-get -s, unattended-upgrades);
    /// outside the root, never ROOT/etc/apt/apt.conf (test-isolation.md §3.2).
    fn apt_config(&self) -> PathBuf {
        let path = self.tmp.path().join("apt.conf");
        std::fs::write(
            &path,
            format!(
                "Dir \"{0}/\";\nDir::State::status \"{0}/var/lib/dpkg/status\";\n",
                self.root.display()
            ),
        )
        .unwrap();
        path
    }

    fn inventory(&self, refresh: bool, sources: &[PatchSource]) -> Inventory {
        let sys = system::detect(&self.root).unwrap();
        backend::inventory(
            &sys,
            &ScanOptions {
                root: &self.root,
                refresh,
                sources,
            },
        )
        .unwrap_or_else(|e| panic!("apt inventory of {}: {e}", self.root.display()))
    }

    /// `patchbaseline scan --root ROOT --no-refresh [--baseline FILE]`; the report JSON.
    fn scan(&self, baseline: Option<&Value>) -> Value {
        let report = self.tmp.path().join("report.json");
        let mut cmd = patchbaseline();
        cmd.args(["scan", "--no-refresh", "--root"])
            .arg(&self.root)
            .arg("--report")
            .arg(&report);
        if let Some(b) = baseline {
            let file = self.tmp.path().join("baseline.json");
            std::fs::write(&file, serde_json::to_string_pretty(b).unwrap()).unwrap();
            cmd.arg("--baseline").arg(file);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", show(&out));
        read_json(&report)
    }

    fn status(&self) -> Vec<u8> {
        std::fs::read(self.root.join("var/lib/dpkg/status")).unwrap()
    }
}

pub(crate) fn chmod_755(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file under `dir` with its bytes (for "unchanged" assertions on list directories).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// Names, sizes and modification times under `dir` (for large host directories).
fn stat_tree(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(m) = e.metadata() {
                out.insert(e.path(), (m.len(), m.modified().unwrap()));
            }
        }
    }
    out
}

/// (name, arch, version, security, origins) of every available entry.
fn offers(inv: &Inventory) -> Vec<(String, String, String, bool, Vec<String>)> {
    inv.available
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                a.arch.clone(),
                a.version.clone(),
                a.security,
                a.origins.clone(),
            )
        })
        .collect()
}

fn find<'a>(inv: &'a Inventory, name: &str, version: &str) -> &'a AvailablePackage {
    inv.available
        .iter()
        .find(|a| a.name == name && a.version == version)
        .unwrap_or_else(|| panic!("{name} {version} not in {:#?}", inv.available))
}

const MAIN: &str = "Debian/bookworm";
const SEC: &str = "Debian-Security/bookworm-security";

// ---------------------------------------------------------------------------------------------
// The inventory

#[test]
fn fixture_inventory_lists_every_version_at_or_above_installed_with_its_own_security_flag() {
    let Some(case) = Case::new(
        "fixture_inventory_lists_every_version_at_or_above_installed_with_its_own_security_flag",
    ) else {
        return;
    };
    let inv = case.inventory(false, &[]);
    assert_eq!(inv.family, Family::Deb);
    assert_eq!(inv.product, "Debian12");
    assert_eq!(
        inv.operating_system,
        Some(patchbaseline::baseline::OperatingSystem::Debian)
    );
    assert!(inv.advisories.is_empty());

    let installed: Vec<_> = inv
        .installed
        .iter()
        .map(|p| (p.name.as_str(), p.arch.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        installed,
        [
            ("curl-sim", "all", "1.0-1"),
            ("libc-sim", "amd64", "1.0-1"),
            ("linux-image-sim", "all", "1.0-1"),
            ("oldlib-sim", "all", "1.0-1"),
            ("openssl-sim", "all", "1.0-1"),
            ("ssh-sim", "all", "1:9.2p1-2"),
            ("sysutils-sim", "all", "1.0-1"),
            ("zlib-sim", "all", "1.0-1+deb12u1"),
        ]
    );
    assert!(
        inv.installed.iter().all(|p| p.install_time.is_some()),
        "install times come from var/lib/dpkg/info/*.list: {:#?}",
        inv.installed
    );

    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let e = |n: &str, a: &str, v: &str, sec: bool, o: &[&str]| {
        (n.to_string(), a.to_string(), v.to_string(), sec, s(o))
    };
    assert_eq!(
        offers(&inv),
        [
            // The installed version itself is listed when an archive offers it.
            e("curl-sim", "all", "1.0-1", false, &[MAIN]),
            e("curl-sim", "all", "2.0-1", true, &[SEC]),
            e("libc-sim", "amd64", "1.0-1", false, &[MAIN]),
            e("libc-sim", "amd64", "1.0-1+deb12u1", true, &[SEC]),
            e("linux-image-sim", "all", "1.0-1", false, &[MAIN]),
            e("linux-image-sim", "all", "2.0-1", true, &[SEC]),
            // Not installed, offered by the security archive: kept for NotApplicable.
            e("newtool-sim", "all", "1.0-1", true, &[SEC]),
            e("oldlib-sim", "all", "1.0-1", false, &[MAIN]),
            e("oldlib-sim", "all", "1.0-1+deb12u1", true, &[SEC]),
            // The same version in both archives: one entry, both origins, security.
            e("openssl-sim", "all", "1.1-1", true, &[MAIN, SEC]),
            // The security version is older than the point release's: both listed.
            e("ssh-sim", "all", "1:9.2p1-2+deb12u1", true, &[SEC]),
            e("ssh-sim", "all", "1:9.2p1-2+deb12u2", false, &[MAIN]),
            e("sysutils-sim", "all", "1.1-1", false, &[MAIN]),
            e("zlib-sim", "all", "1.0-1+deb12u1", true, &[MAIN, SEC]),
        ],
        "libcurl-sim (not installed, main archive only) must not be listed"
    );

    let sysutils = find(&inv, "sysutils-sim", "1.1-1");
    assert_eq!(sysutils.priority.as_deref(), Some("required"));
    assert_eq!(sysutils.section.as_deref(), Some("admin"));
    let ssh = find(&inv, "ssh-sim", "1:9.2p1-2+deb12u1");
    assert_eq!(
        (ssh.priority.as_deref(), ssh.section.as_deref()),
        (Some("standard"), Some("net"))
    );
    assert_eq!(
        find(&inv, "oldlib-sim", "1.0-1+deb12u1")
            .priority
            .as_deref(),
        Some("extra")
    );
    let openssl = find(&inv, "openssl-sim", "1.1-1");
    assert!(
        openssl
            .repository
            .contains("debian-security bookworm-security/main"),
        "the repository shown for a security version is the security archive: {}",
        openssl.repository
    );
}

#[test]
fn scan_leaves_the_image_and_the_host_untouched() {
    let Some(case) = Case::new("scan_leaves_the_image_and_the_host_untouched") else {
        return;
    };
    let host_status = std::fs::read("/var/lib/dpkg/status").ok();
    let host_lists = stat_tree(Path::new("/var/lib/apt/lists"));
    let host_cache = stat_tree(Path::new("/var/cache/apt"));
    let before = tree(&case.root);

    case.inventory(false, &[]);
    assert_eq!(
        tree(&case.root),
        before,
        "a --no-refresh scan writes nothing into the image (not even pkgcache.bin)"
    );

    case.inventory(true, &[]);
    let after = tree(&case.root);
    assert_eq!(
        after.get(&case.root.join("var/lib/dpkg/status")),
        before.get(&case.root.join("var/lib/dpkg/status")),
        "dpkg status byte-identical"
    );
    let changed: Vec<_> = after
        .keys()
        .chain(before.keys())
        .filter(|p| after.get(*p) != before.get(*p))
        .filter(|p| !p.starts_with(case.root.join("var/lib/apt/lists")))
        .collect();
    assert!(
        changed.is_empty(),
        "a refresh writes only the image's apt lists; changed: {changed:?}"
    );

    assert_eq!(std::fs::read("/var/lib/dpkg/status").ok(), host_status);
    assert_eq!(stat_tree(Path::new("/var/lib/apt/lists")), host_lists);
    assert_eq!(stat_tree(Path::new("/var/cache/apt")), host_cache);
}

#[test]
fn refresh_downloads_the_lists_and_no_refresh_uses_what_is_there() {
    let Some(case) = Case::new("refresh_downloads_the_lists_and_no_refresh_uses_what_is_there")
    else {
        return;
    };
    for f in std::fs::read_dir(case.root.join("var/lib/apt/lists")).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() && p.file_name().unwrap() != "lock" {
            std::fs::remove_file(p).unwrap();
        }
    }
    let stale = case.inventory(false, &[]);
    assert!(
        stale.available.is_empty(),
        "no lists, no refresh: nothing available"
    );
    assert_eq!(stale.installed.len(), 8);
    let fresh = case.inventory(true, &[]);
    assert_eq!(fresh.available.len(), 14, "{:#?}", fresh.available);
}

#[test]
fn refresh_never_runs_the_images_apt_hooks_on_the_host() {
    let Some(case) = Case::new("refresh_never_runs_the_images_apt_hooks_on_the_host") else {
        return;
    };
    let flag = case.tmp.path().join("hook-ran");
    std::fs::write(
        case.root.join("etc/apt/apt.conf.d/20hooks"),
        format!(
            "APT::Update::Pre-Invoke {{ \"touch {0}.pre\"; }};\nAPT::Update::Post-Invoke-Success {{ \"touch {0}\"; }};\n",
            flag.display()
        ),
    )
    .unwrap();
    // The image's main apt.conf is honoured (included), its hooks are not.
    std::fs::write(
        case.root.join("etc/apt/apt.conf"),
        format!(
            "APT::Update::Post-Invoke {{ \"touch {}.main\"; }};\n",
            flag.display()
        ),
    )
    .unwrap();
    case.inventory(true, &[]);
    for suffix in ["", ".pre", ".main"] {
        let f = PathBuf::from(format!("{}{suffix}", flag.display()));
        assert!(!f.exists(), "{} was created by an image hook", f.display());
    }
    // The same root under a plain APT_CONFIG does run them: the check above can fail.
    let out = run(Command::new("apt-get")
        .args(["-qq", "update"])
        .env("APT_CONFIG", case.apt_config()));
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        flag.exists(),
        "control: apt runs the hook without our isolation"
    );
}

#[test]
fn refresh_never_runs_download_methods_from_the_image() {
    let Some(case) = Case::new("refresh_never_runs_download_methods_from_the_image") else {
        return;
    };
    // The image's configuration points apt at a `file` method of its own (relative: resolved
    // under Dir, the image) and tries to replace our main configuration file, which pins it back.
    let marker = case.tmp.path().join("image-method-ran");
    let methods = case.root.join("usr/lib/apt/image-methods");
    std::fs::create_dir_all(&methods).unwrap();
    let method = methods.join("file");
    std::fs::write(
        &method,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .unwrap();
    chmod_755(&method);
    std::fs::write(
        case.root.join("etc/apt/apt.conf.d/30methods"),
        "Dir::Bin::methods \"usr/lib/apt/image-methods\";\nDir::Etc::main \"/dev/null\";\n",
    )
    .unwrap();
    let fresh = case.inventory(true, &[]);
    assert_eq!(fresh.available.len(), 14, "{:#?}", fresh.available);
    assert!(
        !marker.exists(),
        "host apt ran the image's download method {}",
        method.display()
    );
    // The same root under a plain APT_CONFIG does run it: the check above can fail.
    let _ = run(Command::new("apt-get")
        .args(["-qq", "update"])
        .env("APT_CONFIG", case.apt_config()));
    assert!(
        marker.exists(),
        "control: apt runs the image's method without our isolation"
    );
}

#[test]
fn baseline_sources_replace_the_configured_sources_without_touching_them() {
    let Some(case) =
        Case::new("baseline_sources_replace_the_configured_sources_without_touching_them")
    else {
        return;
    };
    let before = tree(&case.root);
    let sources = [PatchSource {
        name: "security-only".into(),
        products: vec!["Debian12".into()],
        configuration: format!(
            "deb [trusted=yes] file:{} bookworm-security main",
            case.fix.archive("debian-security").display()
        ),
    }];
    // --no-refresh still downloads the Sources' own indexes (into a private directory).
    let inv = case.inventory(false, &sources);
    assert!(!inv.available.is_empty());
    for a in &inv.available {
        assert_eq!(
            a.origins,
            [SEC],
            "only the baseline's source is used: {a:#?}"
        );
    }
    assert!(
        inv.available.iter().all(|a| a.name != "sysutils-sim"),
        "sysutils-sim 1.1-1 is only in the configured main archive"
    );
    assert_eq!(
        tree(&case.root),
        before,
        "the image's sources, lists and dpkg status are untouched"
    );
}

#[test]
fn baseline_sources_accept_deb822_entries() {
    let Some(case) = Case::new("baseline_sources_accept_deb822_entries") else {
        return;
    };
    let sources = [PatchSource {
        name: "main-only".into(),
        products: vec!["*".into()],
        configuration: format!(
            "Types: deb\nURIs: file:{}\nSuites: bookworm\nComponents: main\nTrusted: yes\n",
            case.fix.archive("debian").display()
        ),
    }];
    let inv = case.inventory(false, &sources);
    assert!(
        inv.available.iter().all(|a| !a.security),
        "{:#?}",
        inv.available
    );
    assert_eq!(find(&inv, "sysutils-sim", "1.1-1").origins, [MAIN]);
}

#[test]
fn unreachable_baseline_source_fails_naming_the_fix() {
    let Some(case) = Case::new("unreachable_baseline_source_fails_naming_the_fix") else {
        return;
    };
    let sources = [PatchSource {
        name: "broken".into(),
        products: vec!["*".into()],
        configuration: "deb [trusted=yes] file:/nonexistent/patchbaseline-archive bookworm main"
            .into(),
    }];
    let sys = system::detect(&case.root).unwrap();
    let err = backend::inventory(
        &sys,
        &ScanOptions {
            root: &case.root,
            refresh: false,
            sources: &sources,
        },
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("apt-get"), "{text}");
    assert!(text.contains("Sources"), "{text}");
    assert_eq!(err.exit_code(), 3);
}

#[test]
fn image_without_dpkg_database_is_invalid_input_naming_the_file() {
    let test = "image_without_dpkg_database_is_invalid_input_naming_the_file";
    let Some(case) = Case::new(test) else { return };
    std::fs::remove_file(case.root.join("var/lib/dpkg/status")).unwrap();
    let out = run(patchbaseline()
        .args(["scan", "--no-refresh", "--root"])
        .arg(&case.root));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("var/lib/dpkg/status"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The host (read-only: refresh=false, nothing installed)

/// This host, when it is a Debian/Ubuntu system with apt lists; else a loud skip.
fn host(test: &str) -> Option<system::System> {
    require_tool(test, "apt-get")?;
    let sys = match system::detect(Path::new("/")) {
        Ok(s) if s.operating_system.is_apt() => s,
        Ok(s) => {
            skip(
                test,
                &format!("the host is {} (not Debian/Ubuntu)", s.pretty_name),
            );
            return None;
        }
        Err(e) => {
            skip(test, &format!("cannot detect the host system: {e}"));
            return None;
        }
    };
    Some(sys)
}

fn host_inventory(sys: &system::System) -> Inventory {
    backend::inventory(
        sys,
        &ScanOptions {
            root: Path::new("/"),
            refresh: false,
            sources: &[],
        },
    )
    .expect("host inventory")
}

/// `apt-get -s dist-upgrade` on the host: name → (new version, origins as apt prints them).
fn host_simulation() -> BTreeMap<String, (String, String)> {
    let out = run(Command::new("apt-get")
        .args(["-s", "-q", "dist-upgrade"])
        .env("LC_ALL", "C"));
    assert!(out.status.success(), "{}", show(&out));
    let mut plan = BTreeMap::new();
    // Inst NAME [OLD] (NEW ORIGIN[, ORIGIN…] [ARCH])
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(rest) = line.strip_prefix("Inst ") else {
            continue;
        };
        let name = rest.split_whitespace().next().unwrap().to_string();
        let Some(open) = rest.find('(') else { continue };
        let inner = &rest[open + 1..rest.rfind(')').unwrap()];
        let (version, origins) = inner.split_once(' ').unwrap();
        plan.insert(name, (version.to_string(), origins.to_string()));
    }
    plan
}

#[test]
fn host_inventory_agrees_with_apt_and_changes_nothing() {
    let test = "host_inventory_agrees_with_apt_and_changes_nothing";
    let Some(sys) = host(test) else { return };
    let status = std::fs::read("/var/lib/dpkg/status").unwrap();
    let lists = stat_tree(Path::new("/var/lib/apt/lists"));
    let inv = host_inventory(&sys);
    assert_eq!(std::fs::read("/var/lib/dpkg/status").unwrap(), status);
    assert_eq!(stat_tree(Path::new("/var/lib/apt/lists")), lists);

    // Installed: what dpkg-query says.
    let out = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Abbrev}|${Package}|${Architecture}|${Version}\n",
    ]));
    let dpkg: BTreeSet<(String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("ii") || l.starts_with("hi"))
        .map(|l| {
            let f: Vec<_> = l.split('|').collect();
            (f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect();
    let ours: BTreeSet<(String, String, String)> = inv
        .installed
        .iter()
        .map(|p| (p.name.clone(), p.arch.clone(), p.version.clone()))
        .collect();
    assert!(
        dpkg.is_subset(&ours),
        "installed per dpkg-query but not in the inventory: {:?}",
        dpkg.difference(&ours).collect::<Vec<_>>()
    );

    // Every upgrade apt would make is offered in the inventory with the same security verdict.
    let plan = host_simulation();
    let installed_names: BTreeSet<&str> = inv.installed.iter().map(|p| p.name.as_str()).collect();
    let mut checked = 0;
    for (name, (version, origins)) in &plan {
        if !installed_names.contains(name.as_str()) {
            continue; // a new dependency apt would install
        }
        let offer = inv
            .available
            .iter()
            .find(|a| &a.name == name && &a.version == version)
            .unwrap_or_else(|| {
                panic!("apt would upgrade {name} to {version}; not in the inventory")
            });
        assert_eq!(
            offer.security,
            origins.contains("Debian-Security") || origins.contains("-security"),
            "{name} {version} from {origins}"
        );
        checked += 1;
    }
    eprintln!(
        "host: {} installed, {} offers, {checked} of apt's {} planned upgrades cross-checked",
        inv.installed.len(),
        inv.available.len(),
        plan.len()
    );
}

/// One host inventory and nothing else: the fallback target of benches/apt-scan.sh while the CLI
/// cannot scan the host (ignored: it asserts nothing beyond "it works").
#[test]
#[ignore = "benchmark target for benches/apt-scan.sh"]
fn bench_host_inventory_once() {
    let Some(sys) = host("bench_host_inventory_once") else {
        return;
    };
    let inv = host_inventory(&sys);
    assert!(!inv.installed.is_empty());
}

/// On this host openssh-client's newest version comes from the point release while an older,
/// still newer-than-installed one is in debian-security. The inventory lists both, each with its
/// own security flag; the engine's rule (the target is the newest APPROVED version, and without
/// EnableNonSecurity only security versions are approved) then targets the security version,
/// where `apt-get dist-upgrade` would install the point release's.
#[test]
fn host_openssh_client_security_version_older_than_point_release() {
    let test = "host_openssh_client_security_version_older_than_point_release";
    let Some(sys) = host(test) else { return };
    let inv = host_inventory(&sys);
    let Some(installed) = inv.installed.iter().find(|p| p.name == "openssh-client") else {
        skip(test, "openssh-client is not installed on this host");
        return;
    };
    let cmp = patchbaseline::version::compare_deb;
    let newer: Vec<_> = inv
        .available
        .iter()
        .filter(|a| a.name == "openssh-client" && a.arch == installed.arch)
        .filter(|a| cmp(&a.version, &installed.version).is_gt())
        .collect();
    let newest = newer.iter().max_by(|a, b| cmp(&a.version, &b.version));
    let newest_security = newer
        .iter()
        .filter(|a| a.security)
        .max_by(|a, b| cmp(&a.version, &b.version));
    let (Some(newest), Some(newest_security)) = (newest, newest_security) else {
        skip(
            test,
            &format!(
                "this host's lists no longer show the case (installed {}, offers {:?})",
                installed.version,
                newer
                    .iter()
                    .map(|a| (&a.version, a.security))
                    .collect::<Vec<_>>()
            ),
        );
        return;
    };
    if newest.security {
        skip(
            test,
            "openssh-client's newest version is itself a security version on this host now",
        );
        return;
    }
    assert!(cmp(&newest_security.version, &newest.version).is_lt());
    assert!(newest_security
        .origins
        .iter()
        .any(|o| o.starts_with("Debian-Security/")));
    assert!(newest.origins.iter().all(|o| !o.contains("Security")));
    // apt's own plan takes the newest (point release) version.
    if let Some((version, origins)) = host_simulation().get("openssh-client") {
        assert_eq!(
            version, &newest.version,
            "apt-get -s dist-upgrade: {origins}"
        );
    }
    eprintln!(
        "openssh-client: installed {}, security {} ({:?}), newest {} ({:?})",
        installed.version,
        newest_security.version,
        newest_security.origins,
        newest.version,
        newest.origins
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios through the CLI (engine + report from main)

/// A DEBIAN baseline with one rule.
pub(crate) fn debian_baseline(filters: Value, enable_non_security: bool, extra: Value) -> Value {
    let mut b = json!({
        "BaselineId": "pb-0123456789abcdef0",
        "Name": "fixture-debian",
        "OperatingSystem": "DEBIAN",
        "GlobalFilters": {"PatchFilters": [{"Key": "PRODUCT", "Values": ["*"]}]},
        "ApprovalRules": {"PatchRules": [{
            "PatchFilterGroup": {"PatchFilters": filters},
            "ComplianceLevel": "HIGH",
            "EnableNonSecurity": enable_non_security
        }]},
        "ApprovedPatches": [],
        "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
        "ApprovedPatchesEnableNonSecurity": false,
        "RejectedPatches": [],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
        "Sources": []
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

pub(crate) fn all_priorities() -> Value {
    json!([{"Key": "PRIORITY", "Values": ["Required", "Important", "Standard", "Optional", "Extra"]}])
}

/// id → (state, target) of every patch entry.
pub(crate) fn states(report: &Value) -> BTreeMap<String, (String, Option<String>)> {
    report["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                (
                    p["state"].as_str().unwrap().to_string(),
                    p["target_version"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// The ids in `state`.
pub(crate) fn in_state(report: &Value, state: &str) -> Vec<String> {
    states(report)
        .into_iter()
        .filter(|(_, (s, _))| s == state)
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn scan_predefined_baseline_security_only() {
    let Some(case) = Case::new("scan_predefined_baseline_security_only") else {
        return;
    };
    let report = case.scan(None);
    assert_eq!(report["operating_system"], "DEBIAN");
    assert_eq!(report["product"], "Debian12");
    let st = states(&report);
    let missing = |v: &str| ("Missing".to_string(), Some(v.to_string()));
    assert_eq!(st["linux-image-sim.all"], missing("2.0-1"));
    assert_eq!(st["openssl-sim.all"], missing("1.1-1"));
    assert_eq!(st["curl-sim.all"], missing("2.0-1"));
    assert_eq!(st["ssh-sim.all"], missing("1:9.2p1-2+deb12u1"));
    assert_eq!(st["libc-sim.amd64"], missing("1.0-1+deb12u1"));
    assert_eq!(st["oldlib-sim.all"], missing("1.0-1+deb12u1"));
    assert_eq!(st["zlib-sim.all"].0, "Installed");
    assert_eq!(st["sysutils-sim.all"].0, "InstalledOther");
    assert_eq!(st["newtool-sim.all"].0, "NotApplicable");
    assert!(!st.contains_key("libcurl-sim.all"), "{st:#?}");
    let s = &report["summary"];
    assert_eq!(s["MissingCount"], 6);
    assert_eq!(s["InstalledCount"], 1);
    assert_eq!(s["InstalledOtherCount"], 1);
    assert_eq!(s["NotApplicableCount"], 1);
    assert_eq!(s["Compliance"], "NON_COMPLIANT");
    assert_eq!(s["SecurityNonCompliantCount"], 6);
    let linux = patch(&report, "linux-image-sim.all");
    assert_eq!(linux["classification"], "Security");
    assert_eq!(linux["severity"], "optional");
}

#[test]
fn scan_same_version_in_both_archives_is_a_security_update() {
    let Some(case) = Case::new("scan_same_version_in_both_archives_is_a_security_update") else {
        return;
    };
    let report = case.scan(Some(&debian_baseline(all_priorities(), false, json!({}))));
    let p = patch(&report, "openssl-sim.all");
    assert_eq!(p["state"], "Missing");
    assert_eq!(p["target_version"], "1.1-1");
    assert_eq!(p["classification"], "Security");
    assert_eq!(p["compliance_level"], "HIGH");
}

#[test]
fn scan_security_update_needing_a_new_dependency_is_missing() {
    let Some(case) = Case::new("scan_security_update_needing_a_new_dependency_is_missing") else {
        return;
    };
    let report = case.scan(Some(&debian_baseline(all_priorities(), false, json!({}))));
    let p = patch(&report, "curl-sim.all");
    assert_eq!(
        (p["state"].as_str(), p["target_version"].as_str()),
        (Some("Missing"), Some("2.0-1"))
    );
    // The new dependency is neither installed nor a security version: not in the report.
    assert!(!states(&report).contains_key("libcurl-sim.all"));
}

#[test]
fn scan_priority_filter() {
    let Some(case) = Case::new("scan_priority_filter") else {
        return;
    };
    let b = debian_baseline(
        json!([{"Key": "PRIORITY", "Values": ["Required", "Important"]}]),
        false,
        json!({}),
    );
    let report = case.scan(Some(&b));
    assert_eq!(
        in_state(&report, "Missing"),
        ["libc-sim.amd64", "openssl-sim.all"]
    );
    assert_eq!(patch(&report, "ssh-sim.all")["state"], "InstalledOther");
}

#[test]
fn scan_section_filter() {
    let Some(case) = Case::new("scan_section_filter") else {
        return;
    };
    let b = debian_baseline(
        json!([{"Key": "SECTION", "Values": ["net", "kernel"]}]),
        false,
        json!({}),
    );
    let report = case.scan(Some(&b));
    assert_eq!(
        in_state(&report, "Missing"),
        ["linux-image-sim.all", "ssh-sim.all"]
    );
}

#[test]
fn scan_enable_non_security_takes_the_newest_version() {
    let Some(case) = Case::new("scan_enable_non_security_takes_the_newest_version") else {
        return;
    };
    let report = case.scan(Some(&debian_baseline(all_priorities(), true, json!({}))));
    let st = states(&report);
    assert_eq!(
        st["sysutils-sim.all"],
        ("Missing".into(), Some("1.1-1".into()))
    );
    assert_eq!(
        st["ssh-sim.all"],
        ("Missing".into(), Some("1:9.2p1-2+deb12u2".into())),
        "with non-security approved the point release's newer version wins"
    );
    assert_eq!(
        patch(&report, "sysutils-sim.all")["classification"],
        Value::Null
    );
}

#[test]
fn scan_security_version_older_than_the_point_release_is_the_target() {
    let Some(case) = Case::new("scan_security_version_older_than_the_point_release_is_the_target")
    else {
        return;
    };
    let report = case.scan(Some(&debian_baseline(all_priorities(), false, json!({}))));
    let p = patch(&report, "ssh-sim.all");
    assert_eq!(p["state"], "Missing");
    assert_eq!(p["target_version"], "1:9.2p1-2+deb12u1");
}

#[test]
fn scan_rejected_allow_as_dependency_is_installed_other() {
    let Some(case) = Case::new("scan_rejected_allow_as_dependency_is_installed_other") else {
        return;
    };
    let b = debian_baseline(
        all_priorities(),
        false,
        json!({"RejectedPatches": ["openssl-sim"], "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY"}),
    );
    let report = case.scan(Some(&b));
    assert_eq!(patch(&report, "openssl-sim.all")["state"], "InstalledOther");
    assert_eq!(report["summary"]["InstalledRejectedCount"], 0);
}

#[test]
fn scan_rejected_block_is_installed_rejected() {
    let Some(case) = Case::new("scan_rejected_block_is_installed_rejected") else {
        return;
    };
    let b = debian_baseline(
        all_priorities(),
        false,
        json!({"RejectedPatches": ["openssl-sim"], "RejectedPatchesAction": "BLOCK"}),
    );
    let report = case.scan(Some(&b));
    assert_eq!(
        patch(&report, "openssl-sim.all")["state"],
        "InstalledRejected"
    );
    assert_eq!(report["summary"]["InstalledRejectedCount"], 1);
}

#[test]
fn scan_not_installed_security_package_is_not_applicable() {
    let Some(case) = Case::new("scan_not_installed_security_package_is_not_applicable") else {
        return;
    };
    let report = case.scan(Some(&debian_baseline(all_priorities(), false, json!({}))));
    let p = patch(&report, "newtool-sim.all");
    assert_eq!(p["state"], "NotApplicable");
    assert_eq!(p["installed_version"], Value::Null);
    assert_eq!(report["summary"]["NotApplicableCount"], 1);
}

#[test]
fn scan_baseline_override_array_uses_the_debian_entry() {
    let Some(case) = Case::new("scan_baseline_override_array_uses_the_debian_entry") else {
        return;
    };
    let mut ubuntu = debian_baseline(all_priorities(), true, json!({}));
    ubuntu["OperatingSystem"] = json!("UBUNTU");
    let mut al2023 = json!({
        "OperatingSystem": "AMAZON_LINUX_2023",
        "ApprovalRules": {"PatchRules": [{
            "PatchFilterGroup": {"PatchFilters": [{"Key": "CLASSIFICATION", "Values": ["*"]}]},
            "ApproveAfterDays": 0, "EnableNonSecurity": true
        }]}
    });
    al2023["RejectedPatches"] = json!([]);
    let debian = debian_baseline(
        json!([{"Key": "PRIORITY", "Values": ["Required"]}]),
        false,
        json!({}),
    );
    let report = case.scan(Some(&json!([ubuntu, debian, al2023])));
    assert_eq!(in_state(&report, "Missing"), ["libc-sim.amd64"]);
}

#[test]
fn scan_leaves_dpkg_status_unchanged() {
    let Some(case) = Case::new("scan_leaves_dpkg_status_unchanged") else {
        return;
    };
    let before = case.status();
    let report = case.scan(None);
    assert!(report["summary"]["MissingCount"].as_u64().unwrap() > 0);
    assert_eq!(case.status(), before);
}

/// This host scanned through the CLI with the predefined baseline (--no-refresh): every
/// installed package with a newer debian-security version is Missing with the newest security
/// version as target, nothing else is Missing, and dpkg's status is unchanged.
#[test]
fn host_scan_missing_is_exactly_the_security_updates() {
    let test = "host_scan_missing_is_exactly_the_security_updates";
    let Some(sys) = host(test) else { return };
    let status = std::fs::read("/var/lib/dpkg/status").unwrap();
    let inv = host_inventory(&sys);
    let cmp = patchbaseline::version::compare_deb;
    let mut expected = BTreeMap::new();
    for p in &inv.installed {
        let best = inv
            .available
            .iter()
            .filter(|a| a.name == p.name && a.arch == p.arch && a.security)
            .filter(|a| cmp(&a.version, &p.version).is_gt())
            .max_by(|a, b| cmp(&a.version, &b.version));
        if let Some(a) = best {
            expected.insert(format!("{}.{}", p.name, p.arch), a.version.clone());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let out = run(patchbaseline()
        .args(["scan", "--no-refresh", "--report"])
        .arg(&file));
    assert!(out.status.success(), "{}", show(&out));
    let report = read_json(&file);
    let missing: BTreeMap<String, String> = states(&report)
        .into_iter()
        .filter(|(_, (s, _))| s == "Missing")
        .map(|(id, (_, t))| (id, t.unwrap()))
        .collect();
    assert_eq!(missing, expected);
    assert_eq!(std::fs::read("/var/lib/dpkg/status").unwrap(), status);
}

// ---------------------------------------------------------------------------------------------
// Peer: Debian's unattended-upgrades (security origins only) on the same root

/// unattended-upgrades' dry-run plan for `case`, through the isolating wrapper.
fn unattended_upgrades_plan(test: &str, case: &Case) -> Option<BTreeSet<String>> {
    if !Path::new("/usr/bin/unattended-upgrade").exists() {
        skip(
            test,
            "unattended-upgrades is not installed (CI installs it)",
        );
        return None;
    }
    std::fs::write(
        case.root.join("etc/apt/apt.conf.d/50unattended-upgrades"),
        "Unattended-Upgrade::Origins-Pattern { \"origin=Debian,codename=bookworm-security,label=Debian-Security\"; };\n",
    )
    .unwrap();
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deb/uu-wrapper.py");
    let status = case.status();
    // What plain `unattended-upgrade` writes on the host (test-isolation.md §3.4).
    let host_files = [
        "/run/unattended-upgrades.lock",
        "/run/unattended-upgrades.progress",
        "/run/unattended-upgrades.pid",
        "/var/lib/apt/periodic/unattended-upgrades-stamp",
        "/var/log/unattended-upgrades/unattended-upgrades.log",
        "/var/log/unattended-upgrades/unattended-upgrades-dpkg.log",
    ];
    let host_state = || {
        host_files
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .ok()
                    .map(|m| (m.len(), m.modified().ok()))
            })
            .collect::<Vec<_>>()
    };
    let host_before = host_state();
    let out = run(Command::new("/usr/bin/python3")
        .arg(wrapper)
        .arg(&case.root)
        .args(["--dry-run", "-v"])
        .env("APT_CONFIG", case.apt_config()));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(case.status(), status, "a dry run changes nothing");
    assert_eq!(
        host_state(),
        host_before,
        "the wrapper wrote on the host: {host_files:?}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.split("Packages that will be upgraded:").nth(1))
        .unwrap_or_else(|| panic!("no plan in unattended-upgrade's output:\n{}", show(&out)));
    Some(line.split_whitespace().map(str::to_string).collect())
}

/// The inventory's view under "security only": installed names with a newer security version.
fn security_updates(inv: &Inventory) -> BTreeSet<String> {
    let cmp = patchbaseline::version::compare_deb;
    inv.installed
        .iter()
        .filter(|p| {
            inv.available.iter().any(|a| {
                a.name == p.name
                    && a.arch == p.arch
                    && a.security
                    && cmp(&a.version, &p.version).is_gt()
            })
        })
        .map(|p| p.name.clone())
        .collect()
}

/// unattended-upgrades refuses curl-sim because its new dependency libcurl-sim comes from an
/// origin it is not allowed to use; AWS (and we) report the approved curl-sim 2.0-1 as Missing
/// (on Install, apt resolves the dependency from any configured archive). Everything else agrees.
const PEER_DIFFERENCE: &str = "curl-sim";

#[test]
fn peer_unattended_upgrades_agrees_with_the_inventory() {
    let test = "peer_unattended_upgrades_agrees_with_the_inventory";
    let Some(case) = Case::new(test) else { return };
    let ours = security_updates(&case.inventory(false, &[]));
    let Some(theirs) = unattended_upgrades_plan(test, &case) else {
        return;
    };
    assert!(ours.contains(PEER_DIFFERENCE));
    let mut ours_without = ours.clone();
    ours_without.remove(PEER_DIFFERENCE);
    assert_eq!(theirs, ours_without);
}

#[test]
fn peer_unattended_upgrades_agrees_with_the_predefined_baseline() {
    let test = "peer_unattended_upgrades_agrees_with_the_predefined_baseline";
    let Some(case) = Case::new(test) else { return };
    let report = case.scan(None);
    let ours: BTreeSet<String> = in_state(&report, "Missing")
        .into_iter()
        .map(|id| id.rsplit_once('.').unwrap().0.to_string())
        .collect();
    let Some(theirs) = unattended_upgrades_plan(test, &case) else {
        return;
    };
    assert!(ours.contains(PEER_DIFFERENCE));
    let mut ours_without = ours.clone();
    ours_without.remove(PEER_DIFFERENCE);
    assert_eq!(theirs, ours_without);
}
