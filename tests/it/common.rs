//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The patchbaseline binary built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_patchbaseline"))
}

/// A command for the patchbaseline binary with a clean environment: no SSM agent variables, so
/// nothing a test does can ask for a reboot through exit 194 by accident.
pub fn patchbaseline() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("AWS_SSM_INSTANCE_ID")
        .env_remove("SSM_COMMAND_ID")
        .env_remove("AWS_SSM_REGION_NAME")
        .env("NO_COLOR", "1");
    c
}

/// Path of a file under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// Return the path of `tool` on PATH, or print a loud skip line naming the test and return None.
pub fn require_tool(test: &str, tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip(
            test,
            &format!("`{tool}` is not installed (CI installs it: see .ci/run)"),
        );
    }
    found
}

/// True when running as root; otherwise prints a skip line.
pub fn require_root(test: &str) -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    if !root {
        skip(
            test,
            "needs root (package managers write rpm/dpkg databases inside the image root)",
        );
    }
    root
}

/// Print a loud skip line (visible with `--nocapture` and in nextest's output) and, when
/// `PATCHBASELINE_SKIP_LOG` names a file (scripts/test.sh sets it), append it there so the test
/// run ends with the list of everything skipped.
pub fn skip(test: &str, reason: &str) {
    eprintln!("SKIP {test}: {reason}");
    println!("SKIP {test}: {reason}");
    if let Some(log) = std::env::var_os("PATCHBASELINE_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "SKIP {test}: {reason}");
        }
    }
}

/// Run and capture; panics with the full output when the process could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// Render an Output for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parse a JSON file, panicking with its path on error.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// The report entry for `id` (`name.arch`), panicking with the whole report when absent.
pub fn patch<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["patches"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no patch {id} in report:\n{report:#}"))
}

/// sha256-free fingerprint of a file for "unchanged" assertions: its full bytes.
pub fn snapshot(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
