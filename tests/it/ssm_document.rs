//! The SSM Command document in packaging/ssm/: its JSON and YAML forms agree with each other and
//! with the script file, its parameters are declared and guarded, and its script runs the way the
//! SSM agent runs it — parameter references substituted into the text, `sh`, AWS_SSM_INSTANCE_ID
//! and SSM_COMMAND_ID set, the test-built patchbaseline on PATH — against apt image roots built by
//! tests/fixtures/deb/build.sh (the `Root` parameter). Every aws CLI call the script makes goes to
//! a closed local port (PATCHBASELINE_AWS_ENDPOINT_URL) with dummy credentials.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regex::Regex;
use serde_json::Value;

use crate::common::{bin, read_json, require_tool, run, show};

const INSTANCE: &str = "i-0123456789abcdef0";
const SNAPSHOT: &str = "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21";

fn ssm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/ssm")
}

fn document() -> Value {
    read_json(&ssm_dir().join("PatchBaseline-Run.json"))
}

/// The YAML document as JSON values (strings stay strings: every scalar in the document is one).
fn yaml_document() -> Value {
    let path = ssm_dir().join("PatchBaseline-Run.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "one YAML document");
    to_json(&docs[0])
}

fn to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = k.as_str().expect("string keys").to_string();
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

fn run_command(doc: &Value) -> Vec<String> {
    doc["mainSteps"][0]["inputs"]["runCommand"]
        .as_array()
        .expect("runCommand")
        .iter()
        .map(|l| l.as_str().expect("a line").to_string())
        .collect()
}

fn reference() -> Regex {
    Regex::new(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}").unwrap()
}

// ---------------------------------------------------------------------------------------------
// The document itself

#[test]
fn json_and_yaml_documents_are_identical() {
    assert_eq!(
        document(),
        yaml_document(),
        "PatchBaseline-Run.yaml differs from the JSON: run packaging/ssm/sync.sh"
    );
}

#[test]
fn run_command_is_the_script_file() {
    let script = std::fs::read_to_string(ssm_dir().join("PatchBaseline-Run.sh")).unwrap();
    let lines: Vec<&str> = script
        .strip_suffix('\n')
        .unwrap_or(&script)
        .split('\n')
        .collect();
    assert_eq!(
        run_command(&document()),
        lines,
        "the document's runCommand differs from PatchBaseline-Run.sh: run packaging/ssm/sync.sh"
    );
}

#[test]
fn document_shape_and_parameters() {
    let doc = document();
    assert_eq!(doc["schemaVersion"], "2.2");
    let steps = doc["mainSteps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["action"], "aws:runShellScript");
    assert_eq!(
        steps[0]["precondition"],
        serde_json::json!({"StringEquals": ["platformType", "Linux"]})
    );
    assert_eq!(steps[0]["inputs"]["timeoutSeconds"], 7200);
    let params = doc["parameters"].as_object().unwrap();
    let declared: BTreeSet<&str> = params.keys().map(String::as_str).collect();
    for p in [
        "Operation",
        "RebootOption",
        "BaselineOverride",
        "InstallOverrideList",
        "SnapshotId",
        "ReportDirectory",
        "UploadInventory",
    ] {
        assert!(declared.contains(p), "parameter {p} is missing");
    }
    // Every reference names a declared parameter (SSM refuses the document otherwise) and every
    // parameter is used.
    let script = run_command(&doc).join("\n");
    let used: BTreeSet<&str> = reference()
        .captures_iter(&script)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(used, declared);
    for (name, p) in params {
        assert_eq!(p["type"], "String", "{name}");
        assert_eq!(p["interpolationType"], "ENV_VAR", "{name}");
        assert!(
            p["description"].as_str().is_some_and(|d| d.len() > 20),
            "{name}"
        );
        let default = p["default"].as_str().expect("a default");
        // Go's regexp (the SSM service) and Rust's regex agree on these simple patterns.
        if let Some(values) = p["allowedValues"].as_array() {
            assert!(
                values.iter().any(|v| v == default),
                "{name}: default not allowed"
            );
            continue;
        }
        let pattern = p["allowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has neither allowedValues nor allowedPattern"));
        let re = Regex::new(pattern).unwrap();
        assert!(
            re.is_match(default),
            "{name}: the default {default:?} is not allowed"
        );
        for hostile in ["'", "\"", "`", "$", ";", "\\", "\n", "$(id)", "a b;c"] {
            let v = format!("/x{hostile}");
            assert!(!re.is_match(&v), "{name} allows {v:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running the script as the agent does

/// The document's script with the given parameter values (others: their defaults) substituted.
fn substituted(values: &[(&str, &str)]) -> String {
    let doc = document();
    let params = doc["parameters"].as_object().unwrap();
    for (k, _) in values {
        assert!(params.contains_key(*k), "no parameter {k}");
    }
    let script = run_command(&doc).join("\n") + "\n";
    reference()
        .replace_all(&script, |c: &regex::Captures| {
            let name = &c[1];
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| params[name]["default"].as_str().unwrap().to_string())
        })
        .into_owned()
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One agent-style run: `_script.sh` in its own directory, `sh`, the agent's environment.
struct Agent {
    dir: tempfile::TempDir,
    /// The PATH the script sees (the test-built patchbaseline first).
    path: String,
    env: Vec<(String, String)>,
}

impl Agent {
    fn new() -> Agent {
        let bin_dir = bin().parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Agent {
            dir: tempfile::tempdir().unwrap(),
            path,
            env: Vec::new(),
        }
    }

    fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    fn run(&self, values: &[(&str, &str)]) -> Output {
        let script = self.dir.path().join("_script.sh");
        std::fs::write(&script, substituted(values)).unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg(&script).current_dir(self.dir.path()).env_clear();
        for k in ["HOME", "TMPDIR", "LANG"] {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        cmd.env("PATH", &self.path)
            .env("AWS_SSM_INSTANCE_ID", INSTANCE)
            .env("AWS_SSM_REGION_NAME", "us-east-1")
            .env("SSM_COMMAND_ID", "0b5d7c6e-1111-2222-3333-444455556666")
            .env("NO_COLOR", "1")
            // Every aws CLI call: a closed local port, dummy credentials, no user config.
            .env(
                "PATCHBASELINE_AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", closed_port()),
            )
            .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_MAX_ATTEMPTS", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hostile_parameter_values_are_rejected_and_never_run() {
    let agent = Agent::new();
    let marker = agent.dir.path().join("injected");
    let m = marker.display().to_string();
    let hostile = [
        format!("'; touch {m}; '"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("/tmp/x\"; touch {m}; \""),
        format!("/tmp/x;touch {m}"),
        "/tmp/a b".to_string(),
        "Scan\nInstall".to_string(),
    ];
    for name in [
        "Operation",
        "RebootOption",
        "BaselineOverride",
        "InstallOverrideList",
        "SnapshotId",
        "ReportDirectory",
        "UploadInventory",
        "FailOn",
        "Root",
    ] {
        for value in &hostile {
            let out = agent.run(&[(name, value)]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name}={value:?}\n{}",
                show(&out)
            );
            assert!(stderr(&out).contains("invalid parameter"), "{}", show(&out));
            assert!(!marker.exists(), "{name}={value:?} ran a command");
        }
    }
    // The agent's SSM_<Name> variables (interpolationType ENV_VAR) are checked the same way.
    let mut agent = Agent::new();
    agent
        .env
        .push(("SSM_Operation".into(), format!("Scan; touch {m}")));
    let out = agent.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr(&out).contains("invalid parameter Operation"));
    assert!(!marker.exists());
    assert!(!agent.reports().exists(), "nothing ran");
}

#[test]
fn missing_patchbaseline_is_a_clear_failure() {
    let mut agent = Agent::new();
    agent.path = "/usr/bin:/bin".into();
    let out = agent.run(&[("ReportDirectory", "/nonexistent/reports")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("patchbaseline is not installed")
            && stderr(&out).contains("AWS-ConfigureAWSPackage"),
        "{}",
        show(&out)
    );
}

#[test]
fn unreachable_override_fails_before_anything_runs() {
    let test = "unreachable_override_fails_before_anything_runs";
    if require_tool(test, "curl").is_none() {
        return;
    }
    let agent = Agent::new();
    let reports = agent.reports().display().to_string();
    let url = format!("https://127.0.0.1:{}/baseline.json", closed_port());
    let out = agent.run(&[("BaselineOverride", &url), ("ReportDirectory", &reports)]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains("cannot download BaselineOverride"),
        "{}",
        show(&out)
    );
    assert!(!agent.reports().join("report.json").exists());
    // A local path that does not exist is named.
    let out = agent.run(&[
        ("BaselineOverride", "/nonexistent/override.json"),
        ("ReportDirectory", &reports),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("cannot read /nonexistent/override.json"));
}

// ---------------------------------------------------------------------------------------------
// Against apt image roots

/// A copy of the apt template root (tests/it/apt.rs fixtures) inside the agent's directory,
/// with the install template's dpkg setting that lets its maintainer scripts run unchrooted
/// (the fixture root has no shell of its own).
fn apt_root(test: &str, agent: &Agent) -> Option<String> {
    let fix = crate::apt::fixtures(test)?;
    let template = fix.template();
    use std::os::unix::fs::PermissionsExt;
    // apt's download methods run as _apt: let it reach the copy.
    std::fs::set_permissions(agent.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = agent.dir.path().join("root");
    let out = run(Command::new("cp").arg("-a").arg(template).arg(&root));
    assert!(out.status.success(), "{}", show(&out));
    assert!(root.join("etc/fixture-root").exists());
    let dpkg_conf = "etc/apt/apt.conf.d/00fixture-dpkg";
    std::fs::copy(
        fix.dir.join("template-install").join(dpkg_conf),
        root.join(dpkg_conf),
    )
    .unwrap();
    Some(root.display().to_string())
}

#[test]
fn clean_scan_exits_0_and_reports() {
    let test = "clean_scan_exits_0_and_reports";
    let agent = Agent::new();
    let Some(root) = apt_root(test, &agent) else {
        return;
    };
    let reports = agent.reports().display().to_string();
    let status_before = std::fs::read(Path::new(&root).join("var/lib/dpkg/status")).unwrap();
    let out = agent.run(&[
        ("Operation", "Scan"),
        ("Root", &root),
        ("ReportDirectory", &reports),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let console = stdout(&out);
    assert!(console.contains("Scan: DEBIAN"), "{console}");
    assert!(console.contains("Compliance: NON_COMPLIANT"), "{console}");
    // The upload goes to a closed port (or the CLI is absent): reported, never a failure.
    assert!(
        console.contains("Inventory upload failed (the patch result stands)")
            || console.contains("Inventory upload: skipped (the AWS CLI is not installed)"),
        "{console}"
    );
    // The agent shows 2,500 characters of output.
    assert!(console.len() + stderr(&out).len() <= 2500, "{}", show(&out));
    let report = read_json(&agent.reports().join("report.json"));
    assert_eq!(report["operation"], "Scan");
    assert_eq!(report["root"], root.as_str());
    assert!(report["patches"].as_array().is_some_and(|p| !p.is_empty()));
    let inv = read_json(&agent.reports().join("aws-inventory.json"));
    assert_eq!(inv["InstanceId"], INSTANCE);
    let summary = &inv["Items"][0]["Content"][0];
    assert_eq!(
        summary["ExecutionId"],
        "0b5d7c6e-1111-2222-3333-444455556666"
    );
    assert_eq!(summary["OperationType"], "Scan");
    assert_eq!(
        summary["MissingCount"],
        report["summary"]["MissingCount"].to_string()
    );
    // A scan changes nothing in the image.
    assert_eq!(
        std::fs::read(Path::new(&root).join("var/lib/dpkg/status")).unwrap(),
        status_before
    );
}

#[test]
fn parameters_reach_the_report_and_the_inventory() {
    let test = "parameters_reach_the_report_and_the_inventory";
    let agent = Agent::new();
    let Some(root) = apt_root(test, &agent) else {
        return;
    };
    // A BaselineOverride on the instance: the predefined Debian baseline, renamed, rejecting
    // openssl-sim.
    let out = run(crate::common::patchbaseline().args(["baseline", "default", "--os", "DEBIAN"]));
    assert!(out.status.success(), "{}", show(&out));
    let mut baseline: Value = serde_json::from_slice(&out.stdout).unwrap();
    baseline["Name"] = "ssm-document-override".into();
    baseline["RejectedPatches"] = serde_json::json!(["openssl-sim"]);
    baseline["RejectedPatchesAction"] = "BLOCK".into();
    let override_file = agent.dir.path().join("override.json");
    std::fs::write(&override_file, serde_json::to_string(&[baseline]).unwrap()).unwrap();
    let reports = agent.reports().display().to_string();
    let out = agent.run(&[
        ("Root", &root),
        ("ReportDirectory", &reports),
        ("BaselineOverride", &override_file.display().to_string()),
        ("SnapshotId", SNAPSHOT),
        ("PatchGroup", "web servers"),
        ("UploadInventory", "false"),
        ("RebootOption", "NoReboot"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("Inventory upload: off"),
        "{}",
        show(&out)
    );
    let report = read_json(&agent.reports().join("report.json"));
    assert_eq!(report["baseline"]["name"], "ssm-document-override");
    let inv = read_json(&agent.reports().join("aws-inventory.json"));
    let summary = &inv["Items"][0]["Content"][0];
    assert_eq!(summary["SnapshotId"], SNAPSHOT);
    assert_eq!(summary["PatchGroup"], "web servers");
    assert_eq!(summary["RebootOption"], "NoReboot");
    // An override has no id: a stable one derived from its OS and name (docs/fleet.md).
    let id = summary["BaselineId"].as_str().unwrap();
    assert!(id.starts_with("pb-") && id.len() == 20, "{id}");
}

#[test]
fn fail_on_fails_the_command_but_keeps_the_data() {
    let test = "fail_on_fails_the_command_but_keeps_the_data";
    let agent = Agent::new();
    let Some(root) = apt_root(test, &agent) else {
        return;
    };
    let reports = agent.reports().display().to_string();
    let out = agent.run(&[
        ("Root", &root),
        ("ReportDirectory", &reports),
        ("FailOn", "failed,missing"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("fail-on:"), "{}", show(&out));
    assert!(agent.reports().join("report.json").exists());
    assert!(agent.reports().join("aws-inventory.json").exists());
    assert!(stdout(&out).contains("Inventory upload"), "{}", show(&out));
}

#[test]
fn install_that_needs_a_reboot_exits_194_then_0_after_the_reboot() {
    // Install with RebootIfNeeded upgrades linux-image-sim (its postinst asks for a reboot):
    // the script must exit 194 so the agent reboots; after the simulated reboot the agent runs
    // the same script again, which must exit 0 without installing anything more.
    let test = "install_that_needs_a_reboot_exits_194_then_0_after_the_reboot";
    let mut agent = Agent::new();
    // The boot id patchbaseline reads, so the test can "reboot" by changing it.
    let boot_id = agent.dir.path().join("boot_id");
    std::fs::write(&boot_id, "11111111-1111-1111-1111-111111111111\n").unwrap();
    agent.env.push((
        "PATCHBASELINE_BOOT_ID_FILE".into(),
        boot_id.display().to_string(),
    ));
    let Some(root) = apt_root(test, &agent) else {
        return;
    };
    let reports = agent.reports().display().to_string();
    let params = [
        ("Operation", "Install"),
        ("RebootOption", "RebootIfNeeded"),
        ("Root", root.as_str()),
        ("ReportDirectory", reports.as_str()),
    ];
    let out = agent.run(&params);
    assert_eq!(out.status.code(), Some(194), "{}", show(&out));
    let report = read_json(&agent.reports().join("report.json"));
    assert_eq!(report["reboot"]["required"], true);
    assert_eq!(report["reboot"]["action"], "ssm-exit-194", "{report:#}");
    let dpkg_status = std::fs::read(Path::new(&root).join("var/lib/dpkg/status")).unwrap();
    // The simulated reboot: a new boot id, and the reboot flag goes away as /run does at boot.
    std::fs::write(&boot_id, "22222222-2222-2222-2222-222222222222\n").unwrap();
    let _ = std::fs::remove_file(Path::new(&root).join("run/reboot-required"));
    let out = agent.run(&params);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // The re-run installs nothing and reports the post-reboot state.
    assert_eq!(
        std::fs::read(Path::new(&root).join("var/lib/dpkg/status")).unwrap(),
        dpkg_status,
        "the re-run after the reboot changed packages"
    );
    let report = read_json(&agent.reports().join("report.json"));
    assert_eq!(report["reboot"]["required"], false, "{report:#}");
    assert_eq!(
        report["summary"]["InstalledPendingRebootCount"], 0,
        "{report:#}"
    );
}

#[test]
fn install_with_no_reboot_exits_0_and_reports_pending_reboot() {
    let test = "install_with_no_reboot_exits_0_and_reports_pending_reboot";
    let agent = Agent::new();
    let Some(root) = apt_root(test, &agent) else {
        return;
    };
    let reports = agent.reports().display().to_string();
    let out = agent.run(&[
        ("Operation", "Install"),
        ("RebootOption", "NoReboot"),
        ("Root", &root),
        ("ReportDirectory", &reports),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let inv = read_json(&agent.reports().join("aws-inventory.json"));
    let summary = &inv["Items"][0]["Content"][0];
    assert_eq!(summary["OperationType"], "Install");
    assert_ne!(summary["InstalledPendingRebootCount"], "0");
}
