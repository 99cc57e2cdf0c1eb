//! Baseline documents: every malformed document in testdata/bad-baselines/ fails with exactly
//! the message in its `.expected` file (library and CLI), the valid ones in testdata/baselines/
//! load, and every predefined baseline survives `to_aws_json` → `load`.
//!
//! `UPDATE_EXPECTED=1 cargo test baseline` rewrites the `.expected` files from the current
//! messages; review the diff before committing.

use std::path::{Path, PathBuf};

use patchbaseline::baseline::{load, predefined, BaselineDocument, OperatingSystem};

use crate::common::{patchbaseline, run, show, testdata};

/// The `.json` files of a testdata directory, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The expected error text of a bad document: its `.expected` file without the final newline.
fn expected(path: &Path) -> String {
    read(&path.with_extension("expected"))
        .trim_end_matches('\n')
        .to_string()
}

#[test]
fn every_bad_baseline_fails_with_its_exact_message() {
    let dir = testdata("bad-baselines");
    let files = json_files(&dir);
    assert!(files.len() >= 30, "only {} bad documents", files.len());
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut failures = Vec::new();
    for path in &files {
        let name = file_name(path);
        let message = match load(&name, &read(path)) {
            Ok(doc) => format!("loaded without error: {doc:?}"),
            Err(e) => e.to_string(),
        };
        if update {
            std::fs::write(path.with_extension("expected"), format!("{message}\n"))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        let want = expected(path);
        if message != want {
            failures.push(format!("{name}\n  expected: {want}\n  actual:   {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expected_file_belongs_to_a_bad_baseline() {
    let dir = testdata("bad-baselines");
    for entry in std::fs::read_dir(&dir).expect("bad-baselines readable") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "expected") {
            assert!(
                path.with_extension("json").is_file(),
                "{} has no .json next to it",
                path.display()
            );
        }
    }
}

#[test]
fn cli_validate_rejects_every_bad_baseline_with_exit_2() {
    let dir = testdata("bad-baselines");
    let mut failures = Vec::new();
    for path in json_files(&dir) {
        let name = file_name(&path);
        // Run inside the directory with the bare file name, so the message names the file the
        // way the user typed it.
        let out = run(patchbaseline()
            .current_dir(&dir)
            .args(["baseline", "validate", &name]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = format!("error: {}", expected(&path));
        if out.status.code() != Some(2) || !stderr.contains(&want) {
            failures.push(format!(
                "{name}: wanted exit 2 and `{want}`\n{}",
                show(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn cli_validate_accepts_the_valid_baselines() {
    for path in json_files(&testdata("baselines")) {
        let out = run(patchbaseline().arg("baseline").arg("validate").arg(&path));
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
}

#[test]
fn cli_default_prints_the_predefined_baseline() {
    let out = run(patchbaseline().args(["baseline", "default", "--os", "AMAZON_LINUX_2023"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", show(&out)));
    let want = predefined(OperatingSystem::AmazonLinux2023)
        .expect("AL2023 has a predefined baseline")
        .to_aws_json();
    assert_eq!(printed, want);
}

#[test]
fn valid_baselines_load() {
    let dir = testdata("baselines");
    let files = json_files(&dir);
    assert!(files.len() >= 4, "only {} valid documents", files.len());
    for path in &files {
        let name = file_name(path);
        if let Err(e) = load(&name, &read(path)) {
            panic!("{e}");
        }
    }
}

#[test]
fn the_ubuntu_capture_loads_as_aws_stores_it() {
    let path = testdata("baselines/ubuntu-default-capture.json");
    let doc = load("ubuntu-default-capture.json", &read(&path)).expect("capture loads");
    let BaselineDocument::Single(b) = doc else {
        panic!("a single baseline expected: {doc:?}");
    };
    assert_eq!(b.operating_system, OperatingSystem::Ubuntu);
    assert_eq!(b.baseline_id.as_deref(), Some("pb-0c7e89f711c3095f4"));
    assert_eq!(b.name.as_deref(), Some("AWS-UbuntuDefaultPatchBaseline"));
    assert_eq!(b.approval_rules.len(), 1);
    // AWS stores 7 on Ubuntu; it is kept (round trip) but means nothing there.
    assert_eq!(
        b.approval_rules[0].approval,
        patchbaseline::baseline::Approval::AfterDays(7)
    );
    assert!(b.operating_system.is_apt());
}

#[test]
fn the_override_example_selects_each_system_and_refuses_others() {
    let path = testdata("baselines/override-al2-centos.json");
    let text = read(&path);
    let doc = load("override.json", &text).expect("override loads");
    let BaselineDocument::Override(entries) = &doc else {
        panic!("an override array expected: {doc:?}");
    };
    assert_eq!(entries.len(), 2);
    let centos = doc
        .clone()
        .select(OperatingSystem::Centos, "override.json")
        .expect("CENTOS entry");
    assert_eq!(centos.approved_patches, ["open-ssl*"]);
    assert_eq!(centos.rejected_patches, ["python*"]);
    let err = doc
        .select(OperatingSystem::Debian, "override.json")
        .expect_err("no DEBIAN entry");
    assert_eq!(
        err.to_string(),
        "override.json: no entry for DEBIAN; the file has entries for AMAZON_LINUX_2, CENTOS"
    );
}

#[test]
fn every_predefined_baseline_round_trips_through_aws_json() {
    for os in OperatingSystem::ALL {
        let Some(b) = predefined(os) else {
            assert!(matches!(
                os,
                OperatingSystem::Windows | OperatingSystem::Macos
            ));
            continue;
        };
        let text = serde_json::to_string_pretty(&b.to_aws_json()).expect("serialises");
        let doc = load("default.json", &text).unwrap_or_else(|e| panic!("{os}: {e}\n{text}"));
        assert_eq!(doc, BaselineDocument::Single(b), "{os}");
    }
}
