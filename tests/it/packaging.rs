//! packaging/: the hidden `generate` command, the systemd units, the image-pipeline examples, and
//! the artifacts of packaging/build-dist.sh — the portable binary (no GLIBC symbol newer than
//! 2.17), the .deb installed into a throwaway dpkg root, the .rpm installed into an rpm image root,
//! the Distributor package installed and removed under a throwaway prefix.
//!
//! The artifact tests use `$PATCHBASELINE_DIST_DIR` (default `dist/`) when it holds this version's
//! artifacts; with `PATCHBASELINE_DIST_TESTS=1` they build them first with build-dist.sh (minutes:
//! zig cross-links for glibc 2.17). Otherwise they print SKIP.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{patchbaseline, read_json, require_root, require_tool, run, show, skip};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Always: what the packages are made of

#[test]
fn generate_writes_man_pages_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("man");
    let out = run(patchbaseline().arg("generate").arg("man").arg(&man));
    assert!(out.status.success(), "{}", show(&out));
    for page in [
        "patchbaseline.1",
        "patchbaseline-scan.1",
        "patchbaseline-run.1",
        "patchbaseline-explain.1",
    ] {
        assert!(man.join(page).is_file(), "{page} missing");
    }
    assert!(
        !man.join("patchbaseline-generate.1").exists(),
        "the hidden command has no page"
    );
    let run_page = read(&man.join("patchbaseline-run.1"));
    assert!(run_page.contains("reboot\\-option") || run_page.contains("reboot-option"));

    let comp = dir.path().join("completions");
    let out = run(patchbaseline()
        .arg("generate")
        .arg("completions")
        .arg(&comp));
    assert!(out.status.success(), "{}", show(&out));
    for f in ["patchbaseline.bash", "_patchbaseline", "patchbaseline.fish"] {
        let text = read(&comp.join(f));
        assert!(text.contains("aws-inventory"), "{f} lacks run's options");
    }
}

#[test]
fn systemd_units_scan_daily_and_are_not_enabled_by_the_packages() {
    let service = read(&repo("packaging/systemd/patchbaseline-scan.service"));
    let timer = read(&repo("packaging/systemd/patchbaseline-scan.timer"));
    assert!(service.contains("Type=oneshot"));
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(
        exec.starts_with("/usr/bin/patchbaseline scan "),
        "the unit only scans: {exec}"
    );
    // The unit's arguments are ones the scan command accepts (checked on a what-if inventory so
    // the host is not scanned).
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|a| {
            if a.starts_with("/var/log/") {
                dir.path().join("scan.json").display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let out = run(patchbaseline()
        .args(&args)
        .arg("--inventory")
        .arg(repo("testdata/fleet/al2023-inventory.json")));
    assert!(out.status.success(), "{args:?}\n{}", show(&out));
    assert!(dir.path().join("scan.json").is_file());
    assert!(timer.contains("OnCalendar=daily") && timer.contains("WantedBy=timers.target"));
    // Nothing in the package scripts enables it.
    let build = read(&repo("packaging/build-dist.sh"));
    assert!(!build.contains("systemctl enable"));
    assert!(!read(&repo("packaging/distributor/install.sh")).contains("systemctl enable"));
}

/// The shell commands of an Image Builder component, parameters replaced by their defaults.
fn component_commands(doc: &yaml_rust2::Yaml) -> Vec<(String, String)> {
    let mut defaults = Vec::new();
    for p in doc["parameters"].as_vec().expect("parameters") {
        for (name, spec) in p.as_hash().expect("a parameter") {
            let default = spec["default"].as_str().expect("a default").to_string();
            defaults.push((name.as_str().unwrap().to_string(), default));
        }
    }
    let mut out = Vec::new();
    for phase in doc["phases"].as_vec().expect("phases") {
        for step in phase["steps"].as_vec().expect("steps") {
            if step["action"].as_str() != Some("ExecuteBash") {
                continue;
            }
            let name = step["name"].as_str().unwrap().to_string();
            for c in step["inputs"]["commands"].as_vec().expect("commands") {
                let mut text = c.as_str().expect("a command").to_string();
                for (k, v) in &defaults {
                    text = text.replace(&format!("{{{{ {k} }}}}"), v);
                }
                assert!(!text.contains("{{"), "{name}: unknown parameter in\n{text}");
                out.push((name.clone(), text));
            }
        }
    }
    out
}

#[test]
fn image_builder_component_is_valid_and_fails_on_failed_or_missing() {
    let path = repo("packaging/imagebuilder/patchbaseline-component.yaml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&read(&path)).expect("YAML");
    let doc = &docs[0];
    assert_eq!(doc["schemaVersion"].as_f64(), Some(1.0));
    let commands = component_commands(doc);
    assert!(commands.len() >= 3);
    for (name, text) in &commands {
        let out = run(Command::new("sh").arg("-n").arg("-c").arg(text));
        assert!(out.status.success(), "{name}: sh -n\n{}", show(&out));
    }
    let install = &commands
        .iter()
        .find(|(n, _)| n == "InstallUpdates")
        .expect("InstallUpdates")
        .1;
    assert!(install.contains("--operation Install --reboot-option NoReboot"));
    assert!(install.contains("'failed,missing'"), "{install}");
    assert!(install.contains("--report /var/log/patchbaseline/image-install.json"));
}

#[test]
fn packer_example_installs_with_no_reboot_and_keeps_the_reports() {
    let hcl = read(&repo("packaging/packer/patchbaseline.pkr.hcl"));
    assert!(hcl.contains("run --operation Install --reboot-option NoReboot"));
    assert!(hcl.contains("--fail-on failed,missing"));
    assert!(hcl.contains("direction   = \"download\""));
}

// ---------------------------------------------------------------------------------------------
// The artifacts of build-dist.sh

struct Dist {
    dir: PathBuf,
}

impl Dist {
    fn binary(&self) -> PathBuf {
        self.dir
            .join(format!("patchbaseline-{VERSION}-x86_64-linux"))
    }
    fn deb(&self) -> PathBuf {
        self.dir
            .join(format!("patchbaseline_{VERSION}-1_amd64.deb"))
    }
    fn rpm(&self) -> PathBuf {
        self.dir
            .join(format!("patchbaseline-{VERSION}-1.x86_64.rpm"))
    }
    fn zip(&self) -> PathBuf {
        self.dir.join(format!(
            "distributor/patchbaseline-{VERSION}-linux-x86_64.zip"
        ))
    }
    fn complete(&self) -> bool {
        [self.binary(), self.deb(), self.rpm(), self.zip()]
            .iter()
            .all(|p| p.is_file())
    }
}

/// This version's artifacts, built first when PATCHBASELINE_DIST_TESTS=1; else None after SKIP.
fn dist(test: &str) -> Option<&'static Dist> {
    static DIST: OnceLock<Result<Dist, String>> = OnceLock::new();
    let d = DIST.get_or_init(|| {
        let dir = std::env::var_os("PATCHBASELINE_DIST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo("dist"));
        let existing = Dist { dir };
        if existing.complete() {
            return Ok(existing);
        }
        if std::env::var("PATCHBASELINE_DIST_TESTS").as_deref() != Ok("1") {
            return Err(format!(
                "no {VERSION} artifacts in {} (run packaging/build-dist.sh, or set \
                 PATCHBASELINE_DIST_TESTS=1 to build them: minutes)",
                existing.dir.display()
            ));
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dist");
        let out = run(Command::new("bash")
            .arg(repo("packaging/build-dist.sh"))
            .env("DIST", &dir));
        assert!(
            out.status.success(),
            "build-dist.sh failed:\n{}",
            show(&out)
        );
        Ok(Dist { dir })
    });
    match d {
        Ok(d) => Some(d),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

#[test]
fn portable_binary_needs_glibc_2_17_at_most() {
    let test = "portable_binary_needs_glibc_2_17_at_most";
    let Some(d) = dist(test) else { return };
    require_tool(test, "objdump").expect("objdump");
    let out = run(Command::new("objdump").arg("-T").arg(d.binary()));
    assert!(out.status.success(), "{}", show(&out));
    let symbols = String::from_utf8_lossy(&out.stdout);
    let re = regex::Regex::new(r"GLIBC_(\d+)\.(\d+)").unwrap();
    let newest = re
        .captures_iter(&symbols)
        .map(|c| (c[1].parse::<u32>().unwrap(), c[2].parse::<u32>().unwrap()))
        .max()
        .expect("the binary links glibc");
    assert!(newest <= (2, 17), "needs GLIBC_{}.{}", newest.0, newest.1);
    let out = run(Command::new(d.binary()).arg("--version"));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("patchbaseline {VERSION}")
    );
}

/// A throwaway root with the fixture marker.
fn throwaway_root(tmp: &Path) -> PathBuf {
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/fixture-root"), "packaging test\n").unwrap();
    root
}

/// The files every package must carry, relative to its root.
const PAYLOAD: [&str; 7] = [
    "usr/bin/patchbaseline",
    "usr/share/man/man1/patchbaseline-run.1.gz",
    "usr/share/bash-completion/completions/patchbaseline",
    "usr/lib/systemd/system/patchbaseline-scan.service",
    "usr/lib/systemd/system/patchbaseline-scan.timer",
    "usr/share/patchbaseline/ssm/PatchBaseline-Run.json",
    "usr/share/patchbaseline/ssm/PatchBaseline-Run.yaml",
];

fn assert_installed(root: &Path) {
    for f in PAYLOAD {
        assert!(root.join(f).is_file(), "{f} not installed");
    }
    // Installed, not enabled: no wants/ link anywhere in the root.
    assert!(!root.join("etc/systemd/system/timers.target.wants").exists());
    let out = run(Command::new(root.join("usr/bin/patchbaseline")).arg("--version"));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("patchbaseline {VERSION}")
    );
}

#[test]
fn deb_installs_into_a_throwaway_dpkg_root() {
    let test = "deb_installs_into_a_throwaway_dpkg_root";
    let Some(d) = dist(test) else { return };
    if require_tool(test, "dpkg").is_none() || !require_root(test) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = throwaway_root(tmp.path());
    let admin = root.join("var/lib/dpkg");
    for sub in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(sub)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--instdir={}", root.display()))
            .arg(format!("--admindir={}", admin.display()))
            .arg(format!("--log={}", root.join("dpkg.log").display()))
            .arg("--force-script-chrootless")
            .args(args);
        run(&mut cmd)
    };
    // libc6 is not in the throwaway database: dependencies are the only thing forced.
    let out = dpkg(&["--force-depends", "-i", &d.deb().display().to_string()]);
    assert!(out.status.success(), "{}", show(&out));
    assert_installed(&root);
    let out = dpkg(&["-s", "patchbaseline"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("Version: {VERSION}-1")),
        "{}",
        show(&out)
    );
    let out = dpkg(&["-r", "patchbaseline"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!root.join("usr/bin/patchbaseline").exists());
}

#[test]
fn rpm_installs_into_an_rpm_image_root() {
    let test = "rpm_installs_into_an_rpm_image_root";
    let Some(d) = dist(test) else { return };
    if require_tool(test, "rpm").is_none() || !require_root(test) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = throwaway_root(tmp.path());
    // Debian's rpm keeps its database under ~ unless told otherwise (test-isolation.md §2.2).
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".rpmmacros"), "%_dbpath /var/lib/rpm\n").unwrap();
    let rpm = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.env("HOME", &home)
            .arg("--root")
            .arg(&root)
            .args(["--dbpath", "/var/lib/rpm"])
            .args(args);
        run(&mut cmd)
    };
    let out = rpm(&["--initdb"]);
    assert!(out.status.success(), "{}", show(&out));
    // glibc is not in the fresh database: dependencies are the only thing skipped.
    let out = rpm(&["-i", "--nodeps", &d.rpm().display().to_string()]);
    assert!(out.status.success(), "{}", show(&out));
    assert_installed(&root);
    let out = rpm(&["-q", "patchbaseline"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("patchbaseline-{VERSION}-1.x86_64"),
        "{}",
        show(&out)
    );
    let out = rpm(&["-e", "patchbaseline"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!root.join("usr/bin/patchbaseline").exists());
}

#[test]
fn distributor_package_installs_and_uninstalls() {
    let test = "distributor_package_installs_and_uninstalls";
    let Some(d) = dist(test) else { return };
    if require_tool(test, "unzip").is_none() {
        return;
    }
    // The manifest names the zip with its real checksum.
    let manifest: Value = read_json(&d.dir.join("distributor/manifest.json"));
    assert_eq!(manifest["schemaVersion"], "2.0");
    assert_eq!(manifest["version"], VERSION);
    let zip_name = d.zip().file_name().unwrap().to_string_lossy().into_owned();
    let out = run(Command::new("sha256sum").arg(d.zip()));
    let sum = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(manifest["files"][&zip_name]["checksums"]["sha256"], sum);
    for platform in ["amazon", "redhat", "debian", "ubuntu"] {
        assert_eq!(
            manifest["packages"][platform]["_any"]["x86_64"]["file"], zip_name,
            "{platform}"
        );
    }
    // install.sh / uninstall.sh as the agent runs them, under a throwaway prefix.
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let out = run(Command::new("unzip")
        .arg("-q")
        .arg(d.zip())
        .arg("-d")
        .arg(&pkg));
    assert!(out.status.success(), "{}", show(&out));
    let prefix = tmp.path().join("prefix");
    let units = tmp.path().join("units");
    let script = |name: &str| {
        run(Command::new("sh")
            .arg(pkg.join(name))
            .env("PATCHBASELINE_PREFIX", &prefix)
            .env("PATCHBASELINE_UNIT_DIR", &units)
            .env("PATH", "/usr/bin:/bin"))
    };
    let out = script("install.sh");
    assert!(out.status.success(), "{}", show(&out));
    let installed = prefix.join("bin/patchbaseline");
    let out = run(Command::new(&installed).arg("--version"));
    assert!(out.status.success(), "{}", show(&out));
    assert!(prefix.join("share/man/man1/patchbaseline.1.gz").is_file());
    assert!(prefix
        .join("share/patchbaseline/ssm/PatchBaseline-Run.yaml")
        .is_file());
    let unit = read(&units.join("patchbaseline-scan.service"));
    assert!(
        unit.contains(&format!("ExecStart={} scan", installed.display())),
        "{unit}"
    );
    // Installing again (an update) works.
    let out = script("install.sh");
    assert!(out.status.success(), "{}", show(&out));
    let out = script("uninstall.sh");
    assert!(out.status.success(), "{}", show(&out));
    assert!(!installed.exists());
    assert!(!units.join("patchbaseline-scan.service").exists());
    assert!(!prefix.join("share/patchbaseline").exists());
}
