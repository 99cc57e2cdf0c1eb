//! The dnf backend against real rpm and dnf, on image roots built by tests/fixtures/rpm/build.sh
//! (once per test process), each test working on its own copy of the template root.
//!
//! Two layers: `inventory_*` tests call `patchbaseline::backend::inventory` and assert the
//! Inventory; `scenario_*` tests run `patchbaseline scan --root` and assert the report JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::{NaiveDateTime, TimeZone, Utc};
use patchbaseline::backend::{self, ScanOptions};
use patchbaseline::baseline::PatchSource;
use patchbaseline::model::{Advisory, Inventory};

use crate::common::{self, patch, read_json, run, show};

/// The built fixtures, shared read-only by every test of this process.
pub struct Fixture {
    pub dir: PathBuf,
    /// HOME for rpm/dnf: `.rpmmacros` pins `%_dbpath /var/lib/rpm` (Debian's rpm uses ~/.rpmdb).
    pub home: PathBuf,
    /// The issued date of FXBA-2024:0003, two days before the build.
    pub recent_issued: chrono::DateTime<Utc>,
}

static FIXTURE: OnceLock<Result<Fixture, String>> = OnceLock::new();

/// The fixtures, or a loud skip when a tool is missing or we are not root.
pub fn fixture(test: &str) -> Option<&'static Fixture> {
    for tool in ["rpm", "rpmbuild", "createrepo_c", "modifyrepo_c", "dnf"] {
        common::require_tool(test, tool)?;
    }
    if !common::require_root(test) {
        return None;
    }
    match FIXTURE.get_or_init(build) {
        Ok(f) => Some(f),
        Err(e) => panic!("building the RPM fixtures failed:\n{e}"),
    }
}

fn build() -> Result<Fixture, String> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(base).map_err(|e| e.to_string())?;
    // One directory per test process; remove those of processes that are gone.
    for entry in std::fs::read_dir(base)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("rpm-fixture-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = base.join(format!("rpm-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpm/build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(show(&out));
    }
    let home = dir.join("home");
    // In-process backend calls spawn rpm and dnf, which read ~/.rpmmacros. Every test that
    // reaches this point wants the same value.
    std::env::set_var("HOME", &home);
    let env = std::fs::read_to_string(dir.join("fixture.env")).map_err(|e| e.to_string())?;
    let recent = env
        .lines()
        .find_map(|l| l.strip_prefix("RECENT_ISSUED="))
        .ok_or("fixture.env has no RECENT_ISSUED")?;
    let recent_issued = NaiveDateTime::parse_from_str(recent, "%Y-%m-%d %H:%M:%S")
        .map_err(|e| e.to_string())?
        .and_utc();
    Ok(Fixture {
        dir,
        home,
        recent_issued,
    })
}

/// A private copy of the template root, removed when dropped.
pub struct TestRoot {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
}

impl Fixture {
    pub fn root(&self) -> TestRoot {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        let out = run(Command::new("cp")
            .arg("-a")
            .arg(self.dir.join("template"))
            .arg(&root));
        assert!(out.status.success(), "{}", show(&out));
        assert!(root.join("etc/fixture-root").exists());
        TestRoot { tmp, root }
    }

    pub fn repo(&self, name: &str) -> PathBuf {
        self.dir.join("repos").join(name)
    }

    /// `patchbaseline` with HOME pointing at the fixture's .rpmmacros.
    pub fn cli(&self) -> Command {
        let mut c = common::patchbaseline();
        c.env("HOME", &self.home);
        c
    }
}

fn scan(
    root: &Path,
    refresh: bool,
    sources: &[PatchSource],
) -> patchbaseline::error::Result<Inventory> {
    let system = patchbaseline::system::detect(root)?;
    backend::inventory(
        &system,
        &ScanOptions {
            root,
            refresh,
            sources,
        },
    )
}

fn versions(inv: &Inventory, name: &str) -> Vec<String> {
    let mut v: Vec<String> = inv
        .available
        .iter()
        .filter(|p| p.name == name)
        .map(|p| p.version.clone())
        .collect();
    v.sort();
    v
}

fn advisory<'a>(inv: &'a Inventory, id: &str) -> &'a Advisory {
    inv.advisories
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no advisory {id} in {:#?}", inv.advisories))
}

fn utc(s: &str) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
}

/// Every file under `dir` with its bytes (for "unchanged" assertions); empty when absent.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(p, bytes);
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// Inventory
// ------------------------------------------------------------------------------------------------

#[test]
fn inventory_installed_set_includes_both_kernels() {
    let Some(fx) = fixture("inventory_installed_set_includes_both_kernels") else {
        return;
    };
    let r = fx.root();
    let inv = scan(&r.root, false, &[]).expect("scan");
    assert_eq!(inv.product, "AmazonLinux2023");
    let mut installed: Vec<String> = inv
        .installed
        .iter()
        .map(|p| format!("{}.{} {}", p.name, p.arch, p.version))
        .collect();
    installed.sort();
    assert_eq!(
        installed,
        [
            "bash-sim.noarch 1.0-1",
            "curl-sim.noarch 1.0-1",
            "kernel.noarch 1.0-1",
            "kernel.noarch 1.1-1",
            "less-sim.noarch 1.0-1",
            "openssl-sim.noarch 1.0-1",
            "system-release.noarch 2023.1-1",
            "tzdata-sim.noarch 2024a-1",
            "vim-sim.noarch 1.0-1",
            "zlib-sim.noarch 1.0-1",
        ]
    );
    assert!(inv.installed.iter().all(|p| p.install_time.is_some()));
}

#[test]
fn inventory_available_is_every_newer_version_and_advisory_only_names() {
    let Some(fx) = fixture("inventory_available_is_every_newer_version_and_advisory_only_names")
    else {
        return;
    };
    let r = fx.root();
    let inv = scan(&r.root, false, &[]).expect("scan");
    let mut all: Vec<String> = inv
        .available
        .iter()
        .map(|p| format!("{}.{} {} {}", p.name, p.arch, p.version, p.repository))
        .collect();
    all.sort();
    assert_eq!(
        all,
        [
            "curl-sim.noarch 2.0-1 fixture-updates",
            "kernel.noarch 1.2-1 fixture-updates",
            "less-sim.noarch 1.1-1 fixture-updates",
            // Not installed, but named by FXSA-2024:0009: offered for NotApplicable.
            "nginx-sim.noarch 1.1-1 fixture-updates",
            // Both newer versions, each in its own advisory.
            "openssl-sim.noarch 1.1-1 fixture-updates",
            "openssl-sim.noarch 1.2-1 fixture-updates",
            "system-release.noarch 2023.2-1 fixture-updates",
            // A higher epoch with a lower version is newer.
            "tzdata-sim.noarch 1:2023c-1 fixture-updates",
            // In no advisory, still available.
            "vim-sim.noarch 1.1-1 fixture-updates",
            "zlib-sim.noarch 1.1-1 fixture-updates",
        ]
    );
    assert!(
        inv.available.iter().all(|p| p.build_time.is_some()),
        "dnf's build times are kept"
    );
    // bash-sim 1.0 is installed and the newest: nothing available for it.
    assert!(versions(&inv, "bash-sim").is_empty());
}

#[test]
fn inventory_advisories_carry_every_field() {
    let Some(fx) = fixture("inventory_advisories_carry_every_field") else {
        return;
    };
    let r = fx.root();
    let inv = scan(&r.root, false, &[]).expect("scan");

    let k = advisory(&inv, "FXSA-2024:0001");
    assert_eq!(k.classification, "Security");
    assert_eq!(k.severity.as_deref(), Some("Critical"));
    assert_eq!(k.issued, Some(utc("2024-01-15 10:00:00")));
    assert_eq!(k.updated, Some(utc("2024-01-20 10:00:00")));
    assert_eq!(k.release_date(), Some(utc("2024-01-20 10:00:00")));
    assert_eq!(k.cves, ["CVE-2024-0001"]);
    assert_eq!(k.bugzillas, ["2000001"]);
    assert!(k.reboot_suggested, "the kernel advisory suggests a reboot");
    assert_eq!(k.packages.len(), 1);
    assert_eq!(
        (
            k.packages[0].name.as_str(),
            k.packages[0].arch.as_str(),
            k.packages[0].version.as_str()
        ),
        ("kernel", "noarch", "1.2-1")
    );

    let o = advisory(&inv, "FXSA-2024:0002");
    assert_eq!(o.severity.as_deref(), Some("Important"));
    assert_eq!(o.cves, ["CVE-2024-0002", "CVE-2024-0003"]);
    assert!(!o.reboot_suggested);
    assert_eq!(o.updated, None);
    assert_eq!(
        advisory(&inv, "FXSA-2024:0005").packages[0].version,
        "1.2-1"
    );

    let recent = advisory(&inv, "FXBA-2024:0003");
    assert_eq!(recent.classification, "Bugfix");
    assert_eq!(recent.severity, None);
    assert_eq!(
        recent.issued,
        Some(fx.recent_issued),
        "generated at fixture time"
    );

    let e = advisory(&inv, "FXEA-2024:0004");
    assert_eq!(e.classification, "Enhancement");
    assert_eq!(
        advisory(&inv, "FXSA-2024:0006").severity.as_deref(),
        Some("Moderate")
    );
    assert_eq!(
        advisory(&inv, "FXBA-2024:0007").packages[0].version,
        "1:2023c-1"
    );
    assert_eq!(
        advisory(&inv, "FXBA-2024:0008").packages[0].name,
        "system-release"
    );
    assert_eq!(
        advisory(&inv, "FXSA-2024:0009").packages[0].name,
        "nginx-sim"
    );
    // The installed bash-sim 1.0 is the version its advisory names.
    assert_eq!(
        advisory(&inv, "FXSA-2023:0010").packages[0].version,
        "1.0-1"
    );
    assert_eq!(inv.advisories.len(), 10, "{:#?}", inv.advisories);
}

fn extra_source(fx: &Fixture) -> PatchSource {
    PatchSource {
        name: "fixture-extra".into(),
        products: vec!["AmazonLinux2023".into()],
        configuration: format!(
            "[fixture-extra]\nname=Fixture extra\nbaseurl=file://{}\nenabled=1\ngpgcheck=0\n",
            fx.repo("extra").display()
        ),
    }
}

#[test]
fn inventory_sources_replace_the_configured_repositories() {
    let Some(fx) = fixture("inventory_sources_replace_the_configured_repositories") else {
        return;
    };
    let r = fx.root();
    let repos_before = tree(&r.root.join("etc/yum.repos.d"));
    let inv = scan(&r.root, true, &[extra_source(fx)]).expect("scan with Sources");
    let mut all: Vec<String> = inv
        .available
        .iter()
        .map(|p| format!("{} {} {}", p.name, p.version, p.repository))
        .collect();
    all.sort();
    assert_eq!(
        all,
        [
            "curl-sim 3.0-1 fixture-extra",
            "openssl-sim 1.3-1 fixture-extra"
        ],
        "only the Sources repository is used"
    );
    let ids: Vec<&str> = inv.advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["FXSA-2024:0100"],
        "read from the xz-compressed updateinfo"
    );
    assert_eq!(
        tree(&r.root.join("etc/yum.repos.d")),
        repos_before,
        "the root's repository files are not edited"
    );
}

#[test]
fn inventory_of_a_root_leaves_rpmdb_and_host_untouched() {
    let Some(fx) = fixture("inventory_of_a_root_leaves_rpmdb_and_host_untouched") else {
        return;
    };
    let r = fx.root();
    // SQLite rewrites its `-shm` index on every open, readers included: it holds no data.
    let rpmdb = |root: &Path| {
        let mut t = tree(&root.join("var/lib/rpm"));
        t.retain(|p, _| !p.to_string_lossy().ends_with("-shm"));
        t
    };
    let rpmdb_before = rpmdb(&r.root);
    assert!(rpmdb_before.keys().any(|p| p.ends_with("rpmdb.sqlite")));
    let host_dirs = [
        "/etc/yum.repos.d",
        "/var/cache/dnf",
        "/var/lib/dnf",
        "/etc/dnf",
        "/var/log/dnf.log",
    ];
    let host_before: Vec<_> = host_dirs
        .iter()
        .map(|d| (d, tree(Path::new(d)), Path::new(d).exists()))
        .collect();
    scan(&r.root, true, &[]).expect("refreshing scan");
    // -C with a Source that was never cached fails; it must not write either.
    let _ = scan(&r.root, false, &[extra_source(fx)]);
    assert!(rpmdb(&r.root) == rpmdb_before, "the rpm database changed");
    for (d, before, existed) in host_before {
        assert_eq!(Path::new(d).exists(), existed, "{d} appeared or vanished");
        assert!(tree(Path::new(d)) == before, "host {d} changed");
    }
}

#[test]
fn inventory_no_refresh_uses_the_cache_and_refresh_sees_new_packages() {
    let Some(fx) = fixture("inventory_no_refresh_uses_the_cache_and_refresh_sees_new_packages")
    else {
        return;
    };
    let r = fx.root();
    // A private copy of the updates repository that this test may publish into.
    let repo = r.tmp.path().join("updates");
    let out = run(Command::new("cp")
        .arg("-a")
        .arg(fx.repo("updates"))
        .arg(&repo));
    assert!(out.status.success(), "{}", show(&out));
    let repo_file = r.root.join("etc/yum.repos.d/fixture.repo");
    let text = std::fs::read_to_string(&repo_file).unwrap();
    let updates = format!("file://{}", fx.repo("updates").display());
    assert!(text.contains(&updates));
    std::fs::write(
        &repo_file,
        text.replace(&updates, &format!("file://{}", repo.display())),
    )
    .unwrap();

    let first = scan(&r.root, true, &[]).expect("refresh scan");
    assert_eq!(versions(&first, "openssl-sim"), ["1.1-1", "1.2-1"]);

    // Publish openssl-sim 1.3 into the copy (createrepo_c drops updateinfo: add it back).
    std::fs::copy(
        fx.repo("extra").join("openssl-sim-1.3-1.noarch.rpm"),
        repo.join("openssl-sim-1.3-1.noarch.rpm"),
    )
    .unwrap();
    let out = run(Command::new("createrepo_c")
        .arg("--quiet")
        .arg("--update")
        .arg(&repo));
    assert!(out.status.success(), "{}", show(&out));
    let out = run(Command::new("modifyrepo_c")
        .arg("--mdtype=updateinfo")
        .arg(fx.dir.join("updateinfo/updates/updateinfo.xml"))
        .arg(repo.join("repodata")));
    assert!(out.status.success(), "{}", show(&out));

    let cached = scan(&r.root, false, &[]).expect("no-refresh scan");
    assert_eq!(
        versions(&cached, "openssl-sim"),
        ["1.1-1", "1.2-1"],
        "--no-refresh reads only the cache"
    );
    assert_eq!(cached.advisories.len(), first.advisories.len());
    let fresh = scan(&r.root, true, &[]).expect("second refresh scan");
    assert_eq!(versions(&fresh, "openssl-sim"), ["1.1-1", "1.2-1", "1.3-1"]);
    assert_eq!(
        fresh.advisories.len(),
        first.advisories.len(),
        "updateinfo still read"
    );
}

#[test]
fn inventory_without_a_cache_and_no_refresh_says_how_to_fix_it() {
    let Some(fx) = fixture("inventory_without_a_cache_and_no_refresh_says_how_to_fix_it") else {
        return;
    };
    let r = fx.root();
    std::fs::remove_dir_all(r.root.join("var/cache/dnf")).unwrap();
    let err = scan(&r.root, false, &[]).expect_err("no cache, no refresh");
    assert_eq!(err.exit_code(), 3);
    let hint = err.hint.clone().unwrap_or_default();
    assert!(hint.contains("--no-refresh"), "{err}");
}

#[test]
fn inventory_of_a_root_without_rpmdb_is_invalid_input() {
    let Some(fx) = fixture("inventory_of_a_root_without_rpmdb_is_invalid_input") else {
        return;
    };
    let r = fx.root();
    std::fs::remove_dir_all(r.root.join("var/lib/rpm")).unwrap();
    let err = scan(&r.root, false, &[]).expect_err("no rpmdb");
    assert_eq!(err.exit_code(), 2);
    assert!(err.message.contains(&r.root.display().to_string()), "{err}");
    assert!(err.message.contains("no rpm database"), "{err}");
}

#[test]
fn inventory_of_a_bare_root_takes_releasever_from_os_release() {
    let Some(fx) = fixture("inventory_of_a_bare_root_takes_releasever_from_os_release") else {
        return;
    };
    let r = fx.root();
    // No package provides system-release(releasever) any more, and the repository URL needs it.
    let out = run(Command::new("rpm")
        .env("HOME", &fx.home)
        .arg("--root")
        .arg(&r.root)
        .args([
            "--dbpath",
            "/var/lib/rpm",
            "-e",
            "--nodeps",
            "system-release",
        ]));
    assert!(out.status.success(), "{}", show(&out));
    let versioned = r.tmp.path().join("by-release");
    std::fs::create_dir_all(&versioned).unwrap();
    std::os::unix::fs::symlink(fx.dir.join("repos"), versioned.join("2023")).unwrap();
    let repo_file = r.root.join("etc/yum.repos.d/fixture.repo");
    let text = std::fs::read_to_string(&repo_file).unwrap();
    let repos = format!("file://{}/", fx.dir.join("repos").display());
    std::fs::write(
        &repo_file,
        text.replace(
            &repos,
            &format!("file://{}/$releasever/", versioned.display()),
        ),
    )
    .unwrap();
    let inv = scan(&r.root, true, &[]).expect("scan of a root without system-release");
    assert_eq!(versions(&inv, "kernel"), ["1.2-1"]);
}

// ------------------------------------------------------------------------------------------------
// Scenarios: the CLI on a fixture root, asserting the report
// ------------------------------------------------------------------------------------------------

/// A baseline document for the fixture's AMAZON_LINUX_2023 root.
fn baseline(rules: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::json!({
        "Name": "fixture-baseline",
        "OperatingSystem": "AMAZON_LINUX_2023",
        "GlobalFilters": {"PatchFilters": []},
        "ApprovalRules": {"PatchRules": rules},
        "ApprovedPatches": [],
        "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
        "ApprovedPatchesEnableNonSecurity": false,
        "RejectedPatches": [],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
        "Sources": []
    });
    if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            d.insert(k.clone(), v.clone());
        }
    }
    doc
}

fn rule(filters: serde_json::Value, approve: serde_json::Value) -> serde_json::Value {
    let mut r = serde_json::json!({
        "PatchFilterGroup": {"PatchFilters": filters},
        "ComplianceLevel": "UNSPECIFIED",
        "EnableNonSecurity": false
    });
    if let (Some(d), Some(e)) = (r.as_object_mut(), approve.as_object()) {
        for (k, v) in e {
            d.insert(k.clone(), v.clone());
        }
    }
    r
}

/// AWS-AmazonLinux2023DefaultPatchBaseline's rules with a chosen delay.
fn default_rules(days: u32) -> serde_json::Value {
    serde_json::json!([
        rule(
            serde_json::json!([
                {"Key": "CLASSIFICATION", "Values": ["Security"]},
                {"Key": "SEVERITY", "Values": ["Critical", "Important"]}
            ]),
            serde_json::json!({"ApproveAfterDays": days})
        ),
        rule(
            serde_json::json!([{"Key": "CLASSIFICATION", "Values": ["Bugfix"]}]),
            serde_json::json!({"ApproveAfterDays": days})
        )
    ])
}

/// Run `patchbaseline scan --root` with `baseline` and return the report.
fn scan_report(
    fx: &Fixture,
    r: &TestRoot,
    baseline: &serde_json::Value,
    extra: &[&str],
) -> serde_json::Value {
    let bl = r.tmp.path().join("baseline.json");
    std::fs::write(&bl, serde_json::to_vec_pretty(baseline).unwrap()).unwrap();
    let mut args: Vec<&std::ffi::OsStr> = vec!["--baseline".as_ref(), bl.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    scan_report_args(fx, r, &args)
}

/// Run `patchbaseline scan --root ROOT --report FILE ARGS…` and return the report.
fn scan_report_args(fx: &Fixture, r: &TestRoot, extra: &[&std::ffi::OsStr]) -> serde_json::Value {
    let report = r.tmp.path().join("report.json");
    let out = run(fx
        .cli()
        .arg("scan")
        .arg("--root")
        .arg(&r.root)
        .arg("--report")
        .arg(&report)
        .args(extra));
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "scan failed:\n{}",
        show(&out)
    );
    read_json(&report)
}

#[test]
fn scenario_default_rules_security_bugfix_enhancement_and_severity() {
    let Some(fx) = fixture("scenario_default_rules_security_bugfix_enhancement_and_severity")
    else {
        return;
    };
    let r = fx.root();
    let rep = scan_report(
        fx,
        &r,
        &baseline(default_rules(0), serde_json::json!({})),
        &["--no-refresh"],
    );
    let k = patch(&rep, "kernel.noarch");
    assert_eq!(k["state"], "Missing");
    assert_eq!(k["target_version"], "1.2-1");
    assert_eq!(k["classification"], "Security");
    assert_eq!(k["severity"], "Critical");
    assert_eq!(k["reboot_suggested"], true);
    assert_eq!(
        k["installed_version"], "1.1-1",
        "the newest of the two kernels"
    );
    // Security but Moderate: not approved by the default rules.
    assert_eq!(patch(&rep, "zlib-sim.noarch")["state"], "InstalledOther");
    // Enhancement: not approved.
    assert_eq!(patch(&rep, "less-sim.noarch")["state"], "InstalledOther");
    // Bugfix: approved.
    let c = patch(&rep, "curl-sim.noarch");
    assert_eq!(c["state"], "Missing");
    assert_eq!(c["classification"], "Bugfix");
    // In no advisory: not approved without EnableNonSecurity.
    assert_eq!(patch(&rep, "vim-sim.noarch")["state"], "InstalledOther");
    // Epoch 1 beats a higher version at epoch 0.
    assert_eq!(
        patch(&rep, "tzdata-sim.noarch")["target_version"],
        "1:2023c-1"
    );
    // Approved but not installed.
    assert_eq!(patch(&rep, "nginx-sim.noarch")["state"], "NotApplicable");
    // Installed at the version its advisory names, nothing newer.
    assert_eq!(patch(&rep, "bash-sim.noarch")["state"], "Installed");
    // The newest approved openssl-sim is 1.2 (Critical).
    assert_eq!(patch(&rep, "openssl-sim.noarch")["target_version"], "1.2-1");
}

#[test]
fn scenario_approve_after_days_holds_back_the_advisory_issued_two_days_ago() {
    let Some(fx) =
        fixture("scenario_approve_after_days_holds_back_the_advisory_issued_two_days_ago")
    else {
        return;
    };
    let r = fx.root();
    let rep = scan_report(
        fx,
        &r,
        &baseline(default_rules(7), serde_json::json!({})),
        &["--no-refresh"],
    );
    assert_eq!(
        patch(&rep, "curl-sim.noarch")["state"],
        "InstalledOther",
        "2 days < 7"
    );
    assert_eq!(
        patch(&rep, "kernel.noarch")["state"],
        "Missing",
        "2024 advisory is old enough"
    );
    let rep = scan_report(
        fx,
        &r,
        &baseline(default_rules(1), serde_json::json!({})),
        &["--no-refresh"],
    );
    assert_eq!(
        patch(&rep, "curl-sim.noarch")["state"],
        "Missing",
        "2 days >= 1"
    );
}

#[test]
fn scenario_approve_until_date_uses_the_updated_date() {
    let Some(fx) = fixture("scenario_approve_until_date_uses_the_updated_date") else {
        return;
    };
    let r = fx.root();
    let rules = serde_json::json!([rule(
        serde_json::json!([{"Key": "CLASSIFICATION", "Values": ["Security"]}]),
        serde_json::json!({"ApproveUntilDate": "2024-01-16"})
    )]);
    let rep = scan_report(
        fx,
        &r,
        &baseline(rules, serde_json::json!({})),
        &["--no-refresh"],
    );
    // Issued 2024-01-15 but updated 2024-01-20: after the cut-off.
    assert_eq!(patch(&rep, "kernel.noarch")["state"], "InstalledOther");
    // Issued 2024-01-10, never updated: approved.
    assert_eq!(patch(&rep, "zlib-sim.noarch")["state"], "Missing");
    // Issued 2024-02-01: too late.
    assert_eq!(patch(&rep, "openssl-sim.noarch")["state"], "InstalledOther");
}

#[test]
fn scenario_rejecting_the_newest_advisory_version_targets_the_older_one() {
    let Some(fx) = fixture("scenario_rejecting_the_newest_advisory_version_targets_the_older_one")
    else {
        return;
    };
    let r = fx.root();
    let doc = baseline(
        default_rules(0),
        serde_json::json!({"RejectedPatches": ["openssl-sim-1.2*"], "RejectedPatchesAction": "BLOCK"}),
    );
    let rep = scan_report(fx, &r, &doc, &["--no-refresh"]);
    let o = patch(&rep, "openssl-sim.noarch");
    assert_eq!(o["state"], "Missing");
    assert_eq!(o["target_version"], "1.1-1");
    assert_eq!(o["severity"], "Important");
}

#[test]
fn scenario_system_release_updates_are_rejected_by_pattern() {
    let Some(fx) = fixture("scenario_system_release_updates_are_rejected_by_pattern") else {
        return;
    };
    let r = fx.root();
    let doc = baseline(
        default_rules(0),
        serde_json::json!({"RejectedPatches": ["system-release.*"], "RejectedPatchesAction": "BLOCK"}),
    );
    let rep = scan_report(fx, &r, &doc, &["--no-refresh"]);
    let s = patch(&rep, "system-release.noarch");
    assert_ne!(s["state"], "Missing", "{s:#}");
    assert!(s["target_version"].is_null(), "{s:#}");
    let without = scan_report(
        fx,
        &r,
        &baseline(default_rules(0), serde_json::json!({})),
        &["--no-refresh"],
    );
    assert_eq!(patch(&without, "system-release.noarch")["state"], "Missing");
}

#[test]
fn scenario_approval_by_cve_and_by_advisory_id() {
    let Some(fx) = fixture("scenario_approval_by_cve_and_by_advisory_id") else {
        return;
    };
    let r = fx.root();
    let doc = baseline(
        serde_json::json!([]),
        serde_json::json!({"ApprovedPatches": ["CVE-2024-0006", "FXEA-2024:0004"]}),
    );
    let rep = scan_report(fx, &r, &doc, &["--no-refresh"]);
    let z = patch(&rep, "zlib-sim.noarch");
    assert_eq!(z["state"], "Missing", "approved through CVE-2024-0006");
    assert_eq!(z["target_version"], "1.1-1");
    let l = patch(&rep, "less-sim.noarch");
    assert_eq!(l["state"], "Missing", "approved through FXEA-2024:0004");
    assert_eq!(l["classification"], "Enhancement");
    assert_eq!(
        patch(&rep, "kernel.noarch")["state"],
        "InstalledOther",
        "nothing else approved"
    );
}

#[test]
fn scenario_update_in_no_advisory_needs_enable_non_security() {
    let Some(fx) = fixture("scenario_update_in_no_advisory_needs_enable_non_security") else {
        return;
    };
    let r = fx.root();
    let rules = serde_json::json!([rule(
        serde_json::json!([{"Key": "CLASSIFICATION", "Values": ["*"]}]),
        serde_json::json!({"ApproveAfterDays": 0, "EnableNonSecurity": true})
    )]);
    let rep = scan_report(
        fx,
        &r,
        &baseline(rules, serde_json::json!({})),
        &["--no-refresh"],
    );
    let v = patch(&rep, "vim-sim.noarch");
    assert_eq!(v["state"], "Missing");
    assert_eq!(v["target_version"], "1.1-1");
}

#[test]
fn scenario_baseline_sources_replace_the_root_repositories() {
    let Some(fx) = fixture("scenario_baseline_sources_replace_the_root_repositories") else {
        return;
    };
    let r = fx.root();
    let src = extra_source(fx);
    let doc = baseline(
        default_rules(0),
        serde_json::json!({"Sources": [{
            "Name": src.name, "Products": ["AmazonLinux2023"], "Configuration": src.configuration
        }]}),
    );
    let rep = scan_report(fx, &r, &doc, &[]);
    let o = patch(&rep, "openssl-sim.noarch");
    assert_eq!(o["target_version"], "1.3-1");
    assert_eq!(o["advisories"], serde_json::json!(["FXSA-2024:0100"]));
    assert!(patch(&rep, "kernel.noarch")["target_version"].is_null());
}

#[test]
fn scenario_predefined_al2023_baseline_waits_seven_days() {
    let Some(fx) = fixture("scenario_predefined_al2023_baseline_waits_seven_days") else {
        return;
    };
    let r = fx.root();
    let rep = scan_report_args(fx, &r, &["--no-refresh".as_ref()]);
    assert_eq!(
        rep["baseline"]["name"],
        "AWS-AmazonLinux2023DefaultPatchBaseline"
    );
    assert_eq!(patch(&rep, "kernel.noarch")["state"], "Missing");
    assert_eq!(patch(&rep, "openssl-sim.noarch")["target_version"], "1.2-1");
    assert_eq!(
        patch(&rep, "curl-sim.noarch")["state"],
        "InstalledOther",
        "issued 2 days ago"
    );
    assert_eq!(patch(&rep, "bash-sim.noarch")["state"], "Installed");
    assert_eq!(patch(&rep, "nginx-sim.noarch")["state"], "NotApplicable");
    let s = &rep["summary"];
    assert_eq!(
        (
            &s["InstalledCount"],
            &s["MissingCount"],
            &s["NotApplicableCount"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(4),
            &serde_json::json!(1)
        ),
        "{s:#}"
    );
    assert_eq!(s["Compliance"], "NON_COMPLIANT");
}

#[test]
fn updateinfo_zstd_compressed_metadata_is_read() {
    let Some(fx) = fixture("updateinfo_zstd_compressed_metadata_is_read") else {
        return;
    };
    // createrepo_c 1.x compresses with zstd by default; the 0.17 here cannot, the zstd tool can.
    if common::require_tool("updateinfo_zstd_compressed_metadata_is_read", "zstd").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let zst = tmp.path().join("abc-updateinfo.xml.zst");
    let out = run(Command::new("zstd")
        .arg("-q")
        .arg(fx.dir.join("updateinfo/updates/updateinfo.xml"))
        .arg("-o")
        .arg(&zst));
    assert!(out.status.success(), "{}", show(&out));
    let reader = patchbaseline::backend::updateinfo::open_metadata(&zst).expect("open zstd");
    let advs = patchbaseline::backend::updateinfo::parse_updateinfo(reader, "zst", &|_| true)
        .expect("parse zstd");
    assert_eq!(advs.len(), 10);
    assert!(advs
        .iter()
        .any(|a| a.id == "FXSA-2024:0001" && a.reboot_suggested));
}
