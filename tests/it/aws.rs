//! The AWS files (`--aws-inventory`, `--aws-compliance`), `run` and `--fail-on`, end to end on a
//! what-if inventory (testdata/fleet/: every uploaded state, a Critical and an Important security
//! update, a rejected package).
//!
//! The files are proven against the AWS CLI's own parameter validation: the CLI validates the
//! request against the SSM API model before it connects, so a valid file fails with "Could not
//! connect" (the endpoint is a closed local port; dummy credentials; real AWS is never contacted)
//! and a broken one with "Parameter validation failed". The CLI is `aws` on PATH, else
//! `$PATCHBASELINE_AWS_CLI`, else it is installed once from PyPI (`pip install awscli`) into a
//! venv under the target directory; without it those tests print SKIP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{patchbaseline, read_json, run, show, skip, testdata};

const INSTANCE: &str = "i-0123456789abcdef0";
const SNAPSHOT: &str = "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21";

fn inventory() -> PathBuf {
    testdata("fleet/al2023-inventory.json")
}

fn baseline() -> PathBuf {
    testdata("fleet/al2023-baseline.json")
}

/// A what-if evaluation with the test baseline, as of a fixed date.
fn whatif(cmd: &mut Command) -> &mut Command {
    cmd.arg("--inventory")
        .arg(inventory())
        .arg("--baseline")
        .arg(baseline())
        .args(["--at", "2026-11-29"])
}

/// The files one run wrote.
struct Outputs {
    dir: tempfile::TempDir,
}

impl Outputs {
    fn new() -> Outputs {
        Outputs {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// `scan` (or `run --operation Scan`) writing inventory.json, compliance.json, report.json.
    fn scan(&self, sub: &[&str], extra: &[&str]) -> Output {
        let mut cmd = patchbaseline();
        cmd.args(sub);
        whatif(&mut cmd)
            .arg("--report")
            .arg(self.path("report.json"))
            .arg("--aws-inventory")
            .arg(self.path("inventory.json"))
            .arg("--aws-compliance")
            .arg(self.path("compliance.json"))
            .args(extra);
        run(&mut cmd)
    }
}

fn by_id<'a>(entries: &'a Value, id: &str) -> &'a Value {
    entries
        .as_array()
        .and_then(|v| v.iter().find(|e| e["Id"] == id))
        .unwrap_or_else(|| panic!("no entry {id} in {entries:#}"))
}

// ---------------------------------------------------------------------------------------------
// The AWS CLI

/// The AWS CLI, or None after printing why the test is skipped.
fn aws_cli(test: &str) -> Option<&'static Path> {
    static CLI: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = CLI.get_or_init(|| {
        if let Some(p) = std::env::var_os("PATCHBASELINE_AWS_CLI") {
            return Ok(PathBuf::from(p));
        }
        if let Some(p) = std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join("aws"))
                .find(|p| p.is_file())
        }) {
            return Ok(p);
        }
        install_awscli()
    });
    match found {
        Ok(p) => Some(p.as_path()),
        Err(why) => {
            skip(test, why);
            None
        }
    }
}

/// `python3 -m venv` + `pip install awscli` under the target directory (kept between runs).
fn install_awscli() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("awscli-venv");
    let aws = venv.join("bin/aws");
    if aws.is_file() {
        return Ok(aws);
    }
    let step = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "the AWS CLI is not installed and `{cmd:?}` failed:\n{}",
                show(&out)
            ))
        }
    };
    step(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    step(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "awscli",
    ]))?;
    Ok(aws)
}

/// A local TCP port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `aws ssm <op> --cli-input-json file://FILE` against a closed local port with dummy
/// credentials; nothing of the user's AWS configuration is read.
fn aws_ssm(cli: &Path, op: &str, file: &Path) -> Output {
    let mut cmd = Command::new(cli);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTESTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["ssm", op, "--cli-input-json"])
        .arg(format!("file://{}", file.display()))
        .arg("--endpoint-url")
        .arg(format!("http://127.0.0.1:{}", closed_port()))
        .args(["--cli-connect-timeout", "5"]);
    run(&mut cmd)
}

fn assert_valid(cli: &Path, op: &str, file: &Path) {
    let out = aws_ssm(cli, op, file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Could not connect"),
        "aws ssm {op} should pass validation and fail to connect:\n{}",
        show(&out)
    );
    assert!(
        !stderr.contains("Parameter validation failed"),
        "{}",
        show(&out)
    );
}

fn assert_invalid(cli: &Path, op: &str, file: &Path, what: &str) {
    let out = aws_ssm(cli, op, file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Parameter validation failed") && stderr.contains(what),
        "aws ssm {op} should reject the broken file ({what}):\n{}",
        show(&out)
    );
}

/// Write a modified copy of a JSON file.
fn broken(src: &Path, dst: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut v = read_json(src);
    edit(&mut v);
    std::fs::write(dst, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    dst.to_path_buf()
}

#[test]
fn aws_files_pass_the_aws_cli_parameter_validation() {
    let test = "aws_files_pass_the_aws_cli_parameter_validation";
    let Some(cli) = aws_cli(test) else { return };
    let o = Outputs::new();
    let out = o.scan(&["scan"], &["--instance-id", INSTANCE]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_valid(cli, "put-inventory", &o.path("inventory.json"));
    assert_valid(cli, "put-compliance-items", &o.path("compliance.json"));
}

/// A predefined baseline has no id: the files carry a derived one in AWS's pattern (said on
/// stderr), a generated SnapshotId, and still pass the AWS CLI's validation.
#[test]
fn baseline_without_an_id_gets_a_derived_one_that_fits_aws() {
    let o = Outputs::new();
    let out = run(patchbaseline()
        .arg("scan")
        .arg("--inventory")
        .arg(inventory())
        .args(["--at", "2026-11-29", "--instance-id", INSTANCE])
        .arg("--aws-inventory")
        .arg(o.path("inventory.json"))
        .arg("--aws-compliance")
        .arg(o.path("compliance.json")));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let pattern = regex::Regex::new(r"^[a-zA-Z0-9_\-:/]{20,128}$").unwrap();
    let inv = read_json(&o.path("inventory.json"));
    let s = &inv["Items"][0]["Content"][0];
    let id = s["BaselineId"].as_str().unwrap();
    assert!(pattern.is_match(id), "{id}");
    assert!(id.starts_with("pb-"), "{id}");
    assert!(
        stderr.contains("warning: baseline") && stderr.contains(id),
        "{stderr}"
    );
    assert!(
        patchbaseline::report::aws::check_snapshot_id(s["SnapshotId"].as_str().unwrap()).is_ok(),
        "{s:#}"
    );
    let comp = read_json(&o.path("compliance.json"));
    for item in comp["Items"].as_array().unwrap() {
        assert_eq!(item["Details"]["PatchBaselineId"], id);
    }
    for e in inv["Items"][1]["Content"].as_array().unwrap() {
        assert_eq!(e["PatchBaselineId"], id);
    }
    let Some(cli) = aws_cli("baseline_without_an_id_gets_a_derived_one_that_fits_aws") else {
        return;
    };
    assert_valid(cli, "put-inventory", &o.path("inventory.json"));
    assert_valid(cli, "put-compliance-items", &o.path("compliance.json"));
}

#[test]
fn broken_aws_files_fail_the_aws_cli_parameter_validation() {
    let test = "broken_aws_files_fail_the_aws_cli_parameter_validation";
    let Some(cli) = aws_cli(test) else { return };
    let o = Outputs::new();
    let out = o.scan(&["scan"], &["--instance-id", INSTANCE]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let inv = o.path("inventory.json");
    let comp = o.path("compliance.json");

    // A counter as a number: why every summary value is written as a string.
    let f = broken(&inv, &o.path("b1.json"), |v| {
        v["Items"][0]["Content"][0]["MissingCount"] = Value::from(2);
    });
    assert_invalid(cli, "put-inventory", &f, "MissingCount");
    let f = broken(&inv, &o.path("b2.json"), |v| {
        v.as_object_mut().unwrap().remove("InstanceId");
    });
    assert_invalid(cli, "put-inventory", &f, "InstanceId");
    let f = broken(&inv, &o.path("b3.json"), |v| {
        v["Items"][1].as_object_mut().unwrap().remove("CaptureTime");
    });
    assert_invalid(cli, "put-inventory", &f, "CaptureTime");
    let f = broken(&comp, &o.path("b4.json"), |v| {
        v["Items"][0].as_object_mut().unwrap().remove("Severity");
    });
    assert_invalid(cli, "put-compliance-items", &f, "Severity");
    let f = broken(&comp, &o.path("b5.json"), |v| {
        v["Items"][0]["Details"]["Unknown"] = Value::from(1);
    });
    assert_invalid(cli, "put-compliance-items", &f, "Details");
}

#[test]
fn inventory_file_content() {
    let o = Outputs::new();
    let out = patchbaseline()
        .env("SSM_COMMAND_ID", "0b5d7c6e-1111-2222-3333-444455556666")
        .arg("scan")
        .arg("--inventory")
        .arg(inventory())
        .arg("--baseline")
        .arg(baseline())
        .args(["--at", "2026-11-29", "--patch-group", "web-servers"])
        .arg("--aws-inventory")
        .arg(o.path("inventory.json"))
        .env("AWS_SSM_INSTANCE_ID", INSTANCE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v = read_json(&o.path("inventory.json"));
    assert_eq!(v["InstanceId"], INSTANCE, "from AWS_SSM_INSTANCE_ID");
    let summary = &v["Items"][0];
    let compliance = &v["Items"][1];
    assert_eq!(summary["TypeName"], "AWS:PatchSummary");
    assert_eq!(compliance["TypeName"], "AWS:ComplianceItem");
    let s = &summary["Content"][0];
    let expected = [
        ("BaselineId", "pb-0123456789abcdef0"),
        ("PatchGroup", "web-servers"),
        ("ExecutionId", "0b5d7c6e-1111-2222-3333-444455556666"),
        ("InstalledCount", "1"),
        ("InstalledOtherCount", "1"),
        ("InstalledRejectedCount", "1"),
        ("InstalledPendingRebootCount", "0"),
        ("MissingCount", "2"),
        ("FailedCount", "0"),
        ("NotApplicableCount", "1"),
        ("CriticalNonCompliantCount", "1"),
        ("OperationType", "Scan"),
        ("RebootOption", "RebootIfNeeded"),
        ("NonCompliantSeverity", "CRITICAL"),
    ];
    for (k, want) in expected {
        assert_eq!(s[k], want, "{k} in {s:#}");
    }
    let time = regex::Regex::new(r"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$").unwrap();
    for t in [
        &summary["CaptureTime"],
        &s["OperationStartTime"],
        &s["OperationEndTime"],
        &compliance["Context"]["ExecutionTime"],
    ] {
        assert!(time.is_match(t.as_str().unwrap()), "{t}");
    }
    // Without a snapshot id one is made (AWS always has one), and the context names it.
    let snapshot = s["SnapshotId"].as_str().unwrap();
    assert!(
        patchbaseline::report::aws::check_snapshot_id(snapshot).is_ok(),
        "{s:#}"
    );
    assert_eq!(compliance["Context"]["ExecutionId"], snapshot);
    let content = &compliance["Content"];
    assert_eq!(
        content.as_array().unwrap().len(),
        5,
        "NotApplicable curl is not uploaded"
    );
    assert!(content
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["Id"] != "curl.x86_64"));
    let openssl = by_id(content, "openssl-libs.x86_64");
    assert_eq!(openssl["PatchState"], "Missing");
    assert_eq!(
        openssl["Title"],
        "openssl-libs.x86_64:1:3.0.8-1.amzn2023.0.3"
    );
    assert_eq!(openssl["CVEIds"], "CVE-2026-0001,CVE-2026-0002");
    assert_eq!(openssl["Severity"], "HIGH");
    assert_eq!(openssl["Classification"], "Security");
    assert_eq!(openssl["PatchSeverity"], "Important");
    let bash = by_id(content, "bash.x86_64");
    assert_eq!(bash["PatchState"], "Installed");
    assert_eq!(bash["InstalledTime"], "2026-10-02T09:30:00Z");
    assert!(bash.get("CVEIds").is_none());
    assert_eq!(by_id(content, "telnet.x86_64")["Status"], "NON_COMPLIANT");
    assert_eq!(by_id(content, "vim-minimal.x86_64")["Status"], "COMPLIANT");
}

#[test]
fn aws_files_need_an_instance_id() {
    let o = Outputs::new();
    let out = o.scan(&["scan"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--instance-id") && stderr.contains("AWS_SSM_INSTANCE_ID"),
        "{stderr}"
    );
    // Checked before anything ran: nothing was written.
    for f in ["inventory.json", "compliance.json", "report.json"] {
        assert!(!o.path(f).exists(), "{f} was written");
    }
    let out = o.scan(&["scan"], &["--instance-id", "web-1"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a managed node id"));
}

#[test]
fn fail_on_exits_1_when_a_package_is_in_a_listed_state() {
    let o = Outputs::new();
    let out = o.scan(
        &["scan"],
        &["--instance-id", INSTANCE, "--fail-on", "failed,missing"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kernel.x86_64 (Missing)") && stderr.contains("2 package(s)"),
        "{stderr}"
    );
    // The report and the AWS files are written all the same (a build keeps them as artifacts).
    for f in ["inventory.json", "compliance.json", "report.json"] {
        assert!(o.path(f).exists(), "{f} missing");
    }
    // AWS spellings work too; a state nothing is in passes.
    let out = o.scan(
        &["scan"],
        &[
            "--instance-id",
            INSTANCE,
            "--fail-on",
            "Failed,InstalledPendingReboot",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = o.scan(
        &["scan"],
        &["--instance-id", INSTANCE, "--fail-on", "installed-rejected"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("telnet.x86_64 (InstalledRejected)"));
}

#[test]
fn fail_on_rejects_unknown_states() {
    let out = run(whatif(patchbaseline().arg("scan")).args(["--fail-on", "broken"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a patch state"));
}

// ---------------------------------------------------------------------------------------------
// run: AWS-RunPatchBaseline's parameters

#[test]
fn run_scan_reports_like_scan_and_records_its_parameters() {
    let a = Outputs::new();
    let out = a.scan(&["scan"], &["--instance-id", INSTANCE]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let b = Outputs::new();
    let out = b.scan(
        &["run", "--operation", "Scan", "--reboot-option", "NoReboot"],
        &["--instance-id", INSTANCE, "--snapshot-id", SNAPSHOT],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (ra, rb) = (
        read_json(&a.path("report.json")),
        read_json(&b.path("report.json")),
    );
    assert_eq!(ra["summary"], rb["summary"]);
    assert_eq!(ra["patches"], rb["patches"]);
    let v = read_json(&b.path("inventory.json"));
    let s = &v["Items"][0]["Content"][0];
    assert_eq!(s["SnapshotId"], SNAPSHOT);
    assert_eq!(s["RebootOption"], "NoReboot");
    assert_eq!(v["Items"][1]["Context"]["ExecutionId"], SNAPSHOT);
    let c = read_json(&b.path("compliance.json"));
    assert_eq!(c["ExecutionSummary"]["ExecutionId"], SNAPSHOT);
}

#[test]
fn run_baseline_override_is_the_baseline() {
    let o = Outputs::new();
    let out = run(patchbaseline()
        .args(["run", "--operation", "Scan", "--inventory"])
        .arg(inventory())
        .arg("--baseline-override")
        .arg(baseline())
        .args(["--at", "2026-11-29", "--report"])
        .arg(o.path("report.json")));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = read_json(&o.path("report.json"));
    assert_eq!(r["baseline"]["name"], "fleet-test-al2023");
    assert_eq!(r["summary"]["InstalledRejectedCount"], 1);
}

#[test]
fn run_rejects_what_aws_rejects() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--operation",
                "Install",
                "--install-override-list",
                "list.yaml",
            ],
            "cannot be combined with --baseline-override or --baseline",
        ),
        (
            &[
                "--operation",
                "Install",
                "--install-override-list",
                "list.yaml",
            ],
            "`patchbaseline install --baseline FILE --install-override-list FILE`, which accepts both",
        ),
        (
            &["--operation", "Scan", "--snapshot-id", "nightly"],
            "not a UUID",
        ),
        (&["--operation", "scan"], "use Scan or Install"),
        (
            &["--operation", "Scan", "--reboot-option", "Always"],
            "RebootIfNeeded",
        ),
    ];
    for (args, message) in cases {
        let mut cmd = patchbaseline();
        cmd.arg("run").args(args);
        whatif(&mut cmd);
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn run_scan_ignores_the_install_override_list() {
    // Scan never reads the list (AWS does not even download it), so a missing file is fine.
    let o = Outputs::new();
    let out = run(patchbaseline()
        .args(["run", "--operation", "Scan", "--inventory"])
        .arg(inventory())
        .args(["--at", "2026-11-29", "--install-override-list"])
        .arg(o.path("no-such-list.yaml"))
        .arg("--report")
        .arg(o.path("report.json")));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(o.path("report.json").exists());
}

#[test]
fn run_install_with_an_inventory_is_refused_before_anything_runs() {
    // Install needs a real system: a what-if inventory cannot be installed into (exit 2), and
    // nothing is written.
    let o = Outputs::new();
    let out = o.scan(
        &[
            "run",
            "--operation",
            "Install",
            "--reboot-option",
            "NoReboot",
        ],
        &["--instance-id", INSTANCE],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("inventory"),
        "{}",
        show(&out)
    );
    for f in ["report.json", "inventory.json", "compliance.json"] {
        assert!(!o.path(f).exists(), "{f} was written by a refused run");
    }
}
