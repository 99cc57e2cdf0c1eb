use chrono::TimeZone;

use super::*;
use crate::baseline::{ComplianceLevel, OperatingSystem};
use crate::report::{BaselineRef, Reboot, Summary, Tool};

fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, h, m, s).unwrap()
}

fn entry(id: &str, state: PatchState) -> PatchEntry {
    let (name, arch) = id.rsplit_once('.').unwrap();
    PatchEntry {
        id: id.into(),
        name: name.into(),
        arch: arch.into(),
        state,
        installed_version: Some("1.0-1".into()),
        target_version: Some("1:1.1-2".into()),
        classification: Some("Security".into()),
        severity: Some("Important".into()),
        compliance_level: ComplianceLevel::High,
        advisories: vec!["ALAS-1".into()],
        cves: vec!["CVE-2026-0001".into(), "CVE-2026-0002".into()],
        reboot_suggested: false,
        installed_time: Some(t(5, 0, 0)),
        reason: String::new(),
    }
}

fn report(os: OperatingSystem, patches: Vec<PatchEntry>) -> Report {
    let mut r = Report {
        schema_version: 1,
        tool: Tool {
            name: "patchbaseline".into(),
            version: "0.1.0".into(),
        },
        operation: Operation::Scan,
        operating_system: os,
        product: "AmazonLinux2023".into(),
        root: "/".into(),
        started_at: t(6, 0, 0),
        finished_at: t(6, 0, 2),
        interrupted: false,
        baseline: BaselineRef {
            id: Some("pb-0123456789abcdef0".into()),
            name: Some("mine".into()),
            operating_system: os,
            source: "baseline.json".into(),
        },
        summary: Summary::default(),
        patches,
        candidates: vec![],
        reboot: Reboot::default(),
        install: None,
        errors: vec![],
    };
    r.refresh_summary();
    r
}

fn exec() -> Execution {
    Execution {
        instance_id: "i-0123456789abcdef0".into(),
        execution_id: "5f2aa4e3-5039-49ac-8f34-dba5b83d6e04".into(),
        snapshot_id: String::new(),
        patch_group: "web".into(),
        reboot_option: RebootOption::NoReboot,
        install_override_list: None,
        last_no_reboot_install_time: None,
    }
}

/// `exec().snapshot_id()`: no SnapshotId given.
const DERIVED_SNAPSHOT: &str = "ae6b679b-d9c0-48f8-8241-0c879e42002a";

fn every_state() -> Vec<PatchEntry> {
    vec![
        entry("a.x86_64", PatchState::Installed),
        entry("b.x86_64", PatchState::InstalledOther),
        entry("c.x86_64", PatchState::InstalledPendingReboot),
        entry("d.x86_64", PatchState::InstalledRejected),
        entry("e.x86_64", PatchState::Missing),
        entry("f.x86_64", PatchState::Failed),
        entry("g.x86_64", PatchState::NotApplicable),
    ]
}

fn items(doc: &AwsDocument) -> (&Value, &Value) {
    let items = doc.value["Items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    (&items[0], &items[1])
}

#[test]
fn summary_item_has_every_counter_as_a_string() {
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let doc = put_inventory(&r, &exec());
    assert_eq!(doc.value["InstanceId"], "i-0123456789abcdef0");
    let (summary, _) = items(&doc);
    assert_eq!(summary["TypeName"], "AWS:PatchSummary");
    assert_eq!(summary["SchemaVersion"], "1.0");
    assert_eq!(summary["CaptureTime"], "2026-11-29T06:00:02Z");
    let content = summary["Content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    let c = content[0].as_object().unwrap();
    for (k, v) in c {
        assert!(v.is_string(), "{k} is not a string: {v}");
    }
    let expect = [
        ("BaselineId", "pb-0123456789abcdef0"),
        ("PatchGroup", "web"),
        // Derived from the instance and execution ids when none was given.
        ("SnapshotId", DERIVED_SNAPSHOT),
        ("ExecutionId", "5f2aa4e3-5039-49ac-8f34-dba5b83d6e04"),
        ("InstalledCount", "1"),
        ("InstalledOtherCount", "1"),
        ("InstalledRejectedCount", "1"),
        ("InstalledPendingRebootCount", "1"),
        ("NotApplicableCount", "1"),
        ("MissingCount", "1"),
        ("FailedCount", "1"),
        ("OperationType", "Scan"),
        ("OperationStartTime", "2026-11-29T06:00:00Z"),
        ("OperationEndTime", "2026-11-29T06:00:02Z"),
        ("RebootOption", "NoReboot"),
        ("NonCompliantSeverity", "HIGH"),
    ];
    for (k, v) in expect {
        assert_eq!(c.get(k).and_then(Value::as_str), Some(v), "{k}");
    }
    for k in [
        "CriticalNonCompliantCount",
        "SecurityNonCompliantCount",
        "OtherNonCompliantCount",
    ] {
        assert!(c.contains_key(k), "{k}");
    }
    assert!(!c.contains_key("InstallOverrideList"));
    assert!(!c.contains_key("LastNoRebootInstallOperationTime"));
}

#[test]
fn compliant_summary_has_no_non_compliant_severity() {
    let r = report(
        OperatingSystem::AmazonLinux2023,
        vec![entry("a.x86_64", PatchState::Installed)],
    );
    let doc = put_inventory(&r, &exec());
    let (summary, _) = items(&doc);
    assert!(summary["Content"][0].get("NonCompliantSeverity").is_none());
}

#[test]
fn optional_summary_fields_appear_when_known() {
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let mut e = exec();
    e.snapshot_id = "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21".into();
    e.install_override_list = Some("s3://bucket/list.yaml".into());
    e.last_no_reboot_install_time = Some(t(4, 0, 0));
    let doc = put_inventory(&r, &e);
    let (summary, compliance) = items(&doc);
    let c = &summary["Content"][0];
    assert_eq!(c["SnapshotId"], "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21");
    assert_eq!(c["InstallOverrideList"], "s3://bucket/list.yaml");
    assert_eq!(
        c["LastNoRebootInstallOperationTime"],
        "2026-11-29T04:00:00Z"
    );
    // The compliance context names the snapshot, as AWS-RunPatchBaseline does.
    assert_eq!(
        compliance["Context"]["ExecutionId"],
        "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21"
    );
    for item in compliance["Content"].as_array().unwrap() {
        assert_eq!(item["InstallOverrideList"], "s3://bucket/list.yaml");
    }
}

#[test]
fn compliance_item_lists_every_state_but_not_applicable_in_aws_order() {
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let doc = put_inventory(&r, &exec());
    let (_, compliance) = items(&doc);
    assert_eq!(compliance["TypeName"], "AWS:ComplianceItem");
    assert_eq!(compliance["SchemaVersion"], "1.0");
    assert_eq!(
        compliance["Context"],
        json!({
            "ComplianceType": "Patch",
            "ExecutionId": DERIVED_SNAPSHOT,
            "ExecutionType": "Command",
            "ExecutionTime": "2026-11-29T06:00:00Z",
        })
    );
    let content = compliance["Content"].as_array().unwrap();
    let states: Vec<&str> = content
        .iter()
        .map(|i| i["PatchState"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        [
            "Installed",
            "InstalledOther",
            "InstalledRejected",
            "InstalledPendingReboot",
            "Missing",
            "Failed"
        ]
    );
    let status: Vec<&str> = content
        .iter()
        .map(|i| i["Status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        [
            "COMPLIANT",
            "COMPLIANT",
            "NON_COMPLIANT",
            "NON_COMPLIANT",
            "NON_COMPLIANT",
            "NON_COMPLIANT"
        ]
    );
}

#[test]
fn compliance_entry_fields() {
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let doc = put_inventory(&r, &exec());
    let (_, compliance) = items(&doc);
    let by_id = |id: &str| {
        compliance["Content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["Id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_id("a.x86_64"),
        json!({
            "Id": "a.x86_64",
            "Title": "a.x86_64:0:1.0-1",
            "Severity": "HIGH",
            "Status": "COMPLIANT",
            "PatchBaselineId": "pb-0123456789abcdef0",
            "PatchState": "Installed",
            "PatchGroup": "web",
            "DocumentName": "",
            "DocumentVersion": "",
            "InstalledTime": "2026-11-29T05:00:00Z",
            "Classification": "Security",
            "PatchSeverity": "Important",
        })
    );
    let missing = by_id("e.x86_64");
    // Missing: the target's title (its epoch as written), CVEs, no installed time.
    assert_eq!(missing["Title"], "e.x86_64:1:1.1-2");
    assert_eq!(missing["CVEIds"], "CVE-2026-0001,CVE-2026-0002");
    assert_eq!(missing["InstalledTime"], "");
    assert_eq!(by_id("f.x86_64")["CVEIds"], "CVE-2026-0001,CVE-2026-0002");
    for id in ["a.x86_64", "b.x86_64", "c.x86_64", "d.x86_64"] {
        assert!(by_id(id).get("CVEIds").is_none(), "{id}");
    }
    assert_eq!(by_id("c.x86_64")["InstalledTime"], "2026-11-29T05:00:00Z");
}

#[test]
fn apt_titles_are_name_arch_version() {
    let mut e = entry("openssl.amd64", PatchState::Installed);
    e.installed_version = Some("3.0.15-1~deb12u1".into());
    let mut m = entry("ssh.amd64", PatchState::Missing);
    m.target_version = Some("1:9.2p1-2+deb12u3".into());
    let r = report(OperatingSystem::Debian, vec![e, m]);
    assert_eq!(title(&r, &r.patches[0]), "openssl.amd64:3.0.15-1~deb12u1");
    assert_eq!(title(&r, &r.patches[1]), "ssh.amd64:1:9.2p1-2+deb12u3");
}

#[test]
fn missing_values_are_empty_strings() {
    let mut e = entry("b.x86_64", PatchState::InstalledOther);
    e.classification = None;
    e.severity = None;
    e.installed_time = None;
    let mut r = report(OperatingSystem::AmazonLinux2023, vec![e]);
    r.baseline.id = None;
    let doc = put_inventory(&r, &exec());
    let (summary, compliance) = items(&doc);
    let item = &compliance["Content"][0];
    assert_eq!(item["Classification"], "");
    assert_eq!(item["PatchSeverity"], "");
    assert_eq!(item["InstalledTime"], "");
    // Without an id: a stable one derived from the OS and name, in AWS's pattern.
    let derived = baseline_id(&r);
    assert_eq!(derived, "pb-3bd1d213a0f8d00f1");
    assert_eq!(item["PatchBaselineId"], derived);
    assert_eq!(summary["Content"][0]["BaselineId"], derived);
}

#[test]
fn baseline_ids_always_fit_the_aws_pattern() {
    let pattern = regex::Regex::new(r"^[a-zA-Z0-9_\-:/]{20,128}$").unwrap();
    let mut r = report(OperatingSystem::AmazonLinux2023, vec![]);
    assert_eq!(
        baseline_id(&r),
        "pb-0123456789abcdef0",
        "a fitting id is kept"
    );
    assert_eq!(baseline_id_note(&r), None);
    let arn = "arn:aws:ssm:us-east-1:075727635805:patchbaseline/pb-0c7e89f711c3095f4";
    r.baseline.id = Some(arn.into());
    assert_eq!(baseline_id(&r), arn);
    for id in [None, Some("short"), Some("has spaces in it, twenty+ chars")] {
        r.baseline.id = id.map(String::from);
        let derived = baseline_id(&r);
        assert!(pattern.is_match(&derived), "{derived}");
        assert_eq!(derived.len(), 20);
        let note = baseline_id_note(&r).unwrap();
        assert!(note.contains(&derived) && note.contains("mine"), "{note}");
    }
    // Stable, and different for another name or OS; a nameless baseline uses its file.
    let first = baseline_id(&r);
    assert_eq!(baseline_id(&r), first);
    r.baseline.name = Some("other".into());
    assert_ne!(baseline_id(&r), first);
    r.baseline.name = None;
    let by_file = baseline_id(&r);
    assert!(pattern.is_match(&by_file));
    r.baseline.source = "elsewhere.json".into();
    assert_ne!(baseline_id(&r), by_file);
}

#[test]
fn snapshot_id_is_the_given_one_else_a_uuid_per_node_and_execution() {
    let mut e = exec();
    let derived = e.snapshot_id();
    assert!(check_snapshot_id(&derived).is_ok(), "{derived}");
    assert_eq!(derived, DERIVED_SNAPSHOT);
    assert_eq!(&derived[14..15], "4", "version 4 shape");
    e.instance_id = "i-0123456789abcdef1".into();
    assert_ne!(e.snapshot_id(), derived, "another node, another snapshot");
    e.execution_id = "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21".into();
    e.snapshot_id = "0b5d7c6e-1111-2222-3333-444455556666".into();
    assert_eq!(e.snapshot_id(), "0b5d7c6e-1111-2222-3333-444455556666");
}

#[test]
fn content_hashes_are_sha256_of_the_compact_content() {
    assert_eq!(
        content_hash(&json!([])),
        "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
    );
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let doc = put_inventory(&r, &exec());
    let (summary, compliance) = items(&doc);
    assert_eq!(summary["ContentHash"], content_hash(&summary["Content"]));
    assert_eq!(
        compliance["ContentHash"],
        content_hash(&compliance["Content"])
    );
    assert_eq!(compliance["ContentHash"].as_str().unwrap().len(), 64);
    // The same report hashes the same (AWS skips unchanged content by hash).
    let again = put_inventory(&r, &exec());
    assert_eq!(doc.value, again.value);
}

#[test]
fn put_compliance_items_shape() {
    let r = report(OperatingSystem::AmazonLinux2023, every_state());
    let doc = put_compliance_items(&r, &exec());
    let v = &doc.value;
    assert_eq!(v["ResourceId"], "i-0123456789abcdef0");
    assert_eq!(v["ResourceType"], "ManagedInstance");
    assert_eq!(v["ComplianceType"], "Patch");
    assert_eq!(v["UploadType"], "COMPLETE");
    assert_eq!(
        v["ExecutionSummary"],
        json!({
            "ExecutionTime": "2026-11-29T06:00:00Z",
            "ExecutionId": DERIVED_SNAPSHOT,
            "ExecutionType": "Command",
        })
    );
    let items = v["Items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(v["ItemContentHash"], content_hash(&v["Items"]));
    let missing = items.iter().find(|i| i["Id"] == "e.x86_64").unwrap();
    assert_eq!(missing["Severity"], "HIGH");
    assert_eq!(missing["Status"], "NON_COMPLIANT");
    assert_eq!(missing["Title"], "e.x86_64:1:1.1-2");
    let details = missing["Details"].as_object().unwrap();
    assert_eq!(details["PatchState"], "Missing");
    assert_eq!(details["CVEIds"], "CVE-2026-0001,CVE-2026-0002");
    for k in ["Id", "Title", "Severity", "Status"] {
        assert!(!details.contains_key(k), "{k} belongs outside Details");
    }
    for k in [
        "Classification",
        "PatchSeverity",
        "PatchBaselineId",
        "PatchGroup",
        "InstalledTime",
        "DocumentName",
        "DocumentVersion",
    ] {
        assert!(details.contains_key(k), "{k}");
    }
}

#[test]
fn beyond_ten_thousand_entries_compliant_ones_are_left_out_first() {
    let mut patches: Vec<PatchEntry> = (0..MAX_ENTRIES + 5)
        .map(|i| entry(&format!("p{i:05}.x86_64"), PatchState::InstalledOther))
        .collect();
    patches.push(entry("zz-missing.x86_64", PatchState::Missing));
    patches.push(entry("zz-failed.x86_64", PatchState::Failed));
    patches.push(entry("zz-installed.x86_64", PatchState::Installed));
    let r = report(OperatingSystem::AmazonLinux2023, patches);
    let doc = put_inventory(&r, &exec());
    assert_eq!(doc.left_out, 8);
    let (summary, compliance) = items(&doc);
    let content = compliance["Content"].as_array().unwrap();
    assert_eq!(content.len(), MAX_ENTRIES);
    for id in [
        "zz-missing.x86_64",
        "zz-failed.x86_64",
        "zz-installed.x86_64",
    ] {
        assert!(content.iter().any(|i| i["Id"] == id), "{id} was dropped");
    }
    // The counters still count everything.
    assert_eq!(
        summary["Content"][0]["InstalledOtherCount"],
        (MAX_ENTRIES + 5).to_string()
    );
    // Still in AWS order: Installed first, Failed last.
    assert_eq!(content[0]["Id"], "zz-installed.x86_64");
    assert_eq!(content[MAX_ENTRIES - 1]["Id"], "zz-failed.x86_64");
    assert_eq!(put_compliance_items(&r, &exec()).left_out, 8);
}

#[test]
fn long_cve_lists_are_cut_at_a_comma_within_the_value_limit() {
    let cves: Vec<String> = (0..1000).map(|i| format!("CVE-2026-{i:05}")).collect();
    let joined = joined_within_limit(&cves);
    assert!(joined.len() <= MAX_VALUE_CHARS);
    assert!(joined.ends_with(&cves[joined.split(',').count() - 1]));
    assert!(joined.split(',').all(|c| c.len() == 14), "a CVE id was cut");
    assert_eq!(
        joined_within_limit(&cves[..2]),
        "CVE-2026-00000,CVE-2026-00001"
    );
}

#[test]
fn instance_ids() {
    for ok in ["i-0123456789abcdef0", "i-01234567", "mi-0123456789abcdef0"] {
        assert!(check_instance_id(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "i-",
        "i-0123",
        "i-0123456789abcdef",
        "mi-01234567",
        "x-0123456789abcdef0",
        "i-0123456789abcdef0 ",
        "i-012345678-abcdef0",
    ] {
        let err = check_instance_id(bad).unwrap_err();
        assert!(err.contains("managed node id"), "{bad}: {err}");
    }
}

#[test]
fn snapshot_ids() {
    for ok in [
        "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21",
        "6F1B4F3E-0C1D-4B8A-9A43-2F0E5C8D7B21",
    ] {
        assert!(check_snapshot_id(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "snapshot",
        "6f1b4f3e0c1d4b8a9a432f0e5c8d7b21",
        "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b2",
        "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b2g",
        "6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21-00",
    ] {
        let err = check_snapshot_id(bad).unwrap_err();
        assert!(err.contains("not a UUID"), "{bad}: {err}");
    }
}
