//! Unit tests for loading, validation, selection, serialisation and the predefined baselines.
//! Each check of validate.rs has at least one test that fails when the check is removed, and
//! one that shows the boundary value still loads.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::validate::suggest;
use super::*;

/// A small valid AL2023 baseline; tests change one thing in it.
fn base() -> Value {
    json!({
        "Name": "al2023-security",
        "OperatingSystem": "AMAZON_LINUX_2023",
        "GlobalFilters": { "PatchFilters": [] },
        "ApprovalRules": { "PatchRules": [ {
            "PatchFilterGroup": { "PatchFilters": [
                { "Key": "CLASSIFICATION", "Values": ["Security"] },
                { "Key": "SEVERITY", "Values": ["Critical", "Important"] } ] },
            "ApproveAfterDays": 7, "ComplianceLevel": "UNSPECIFIED", "EnableNonSecurity": false } ] },
        "ApprovedPatches": [],
        "RejectedPatches": [],
        "Sources": []
    })
}

/// `base()` for another system, with a rule valid there.
fn base_for(os: &str) -> Value {
    let mut doc = base();
    doc["OperatingSystem"] = json!(os);
    if OperatingSystem::parse(os).is_some_and(OperatingSystem::is_apt) {
        doc["ApprovalRules"]["PatchRules"][0]["PatchFilterGroup"]["PatchFilters"] =
            json!([{ "Key": "PRIORITY", "Values": ["Required"] }]);
    }
    doc
}

fn rule0(doc: &mut Value) -> &mut Value {
    &mut doc["ApprovalRules"]["PatchRules"][0]
}

fn filters0(doc: &mut Value) -> &mut Value {
    &mut rule0(doc)["PatchFilterGroup"]["PatchFilters"]
}

fn source() -> Value {
    json!({ "Name": "internal-mirror", "Products": ["AmazonLinux2023"],
            "Configuration": "[internal]\nbaseurl=https://mirror.example.com/\n" })
}

/// Every problem as `path: message` (or just the message at the document level).
fn problems_in(text: &str) -> Vec<String> {
    match load("b.json", text) {
        Ok(doc) => panic!("loaded without error: {doc:#?}"),
        Err(e) => {
            assert_eq!(e.source, "b.json");
            e.problems
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        p.message.clone()
                    } else {
                        format!("{}: {}", p.path, p.message)
                    }
                })
                .collect()
        }
    }
}

fn problems(doc: &Value) -> Vec<String> {
    problems_in(&doc.to_string())
}

/// The only problem of `doc`.
fn problem(doc: &Value) -> String {
    let all = problems(doc);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    all.into_iter().next().unwrap_or_default()
}

fn single(doc: &Value) -> Baseline {
    match load("b.json", &doc.to_string()) {
        Ok(BaselineDocument::Single(b)) => b,
        Ok(other) => panic!("not a single baseline: {other:#?}"),
        Err(e) => panic!("{e}"),
    }
}

fn strings(n: usize, f: impl Fn(usize) -> String) -> Vec<String> {
    (0..n).map(f).collect()
}

// ----- the document as a whole -----

#[test]
fn the_smallest_document_is_just_an_operating_system() {
    let b = single(&json!({ "OperatingSystem": "AMAZON_LINUX_2" }));
    assert_eq!(b.operating_system, OperatingSystem::AmazonLinux2);
    assert!(b.global_filters.is_empty());
    assert!(b.approval_rules.is_empty());
    assert_eq!(
        b.approved_patches_compliance_level,
        ComplianceLevel::Unspecified
    );
    assert!(!b.approved_patches_enable_non_security);
    assert_eq!(
        b.rejected_patches_action,
        RejectedPatchesAction::AllowAsDependency
    );
    assert_eq!(b.name, None);
}

#[test]
fn a_full_get_patch_baseline_response_keeps_the_read_only_fields() {
    let mut doc = base();
    doc["BaselineId"] =
        json!("arn:aws:ssm:us-east-2:733109147000:patchbaseline/pb-0574b43a65ea646ed");
    doc["Description"] = json!("web servers");
    doc["PatchGroups"] = json!(["web", "db"]);
    doc["CreatedDate"] = json!(1_700_000_000.25);
    doc["ModifiedDate"] = json!("2024-05-01T12:00:00.5+02:00");
    doc["AvailableSecurityUpdatesComplianceStatus"] = json!("NON_COMPLIANT");
    doc["ApprovedPatchesComplianceLevel"] = json!("HIGH");
    doc["ApprovedPatchesEnableNonSecurity"] = json!(true);
    doc["RejectedPatchesAction"] = json!("BLOCK");
    let b = single(&doc);
    assert_eq!(
        b.baseline_id.as_deref(),
        Some("arn:aws:ssm:us-east-2:733109147000:patchbaseline/pb-0574b43a65ea646ed")
    );
    assert_eq!(b.name.as_deref(), Some("al2023-security"));
    assert_eq!(b.description.as_deref(), Some("web servers"));
    assert_eq!(b.patch_groups, ["web", "db"]);
    assert_eq!(b.created_date, Some(1_700_000_000.25));
    // 2024-05-01T10:00:00.5Z
    assert_eq!(b.modified_date, Some(1_714_557_600.5));
    assert_eq!(b.approved_patches_compliance_level, ComplianceLevel::High);
    assert!(b.approved_patches_enable_non_security);
    assert_eq!(b.rejected_patches_action, RejectedPatchesAction::Block);
    assert_eq!(
        b.approval_rules[0],
        PatchRule {
            filters: vec![
                PatchFilter {
                    key: FilterKey::Classification,
                    values: vec!["Security".into()]
                },
                PatchFilter {
                    key: FilterKey::Severity,
                    values: vec!["Critical".into(), "Important".into()]
                },
            ],
            approval: Approval::AfterDays(7),
            compliance_level: ComplianceLevel::Unspecified,
            enable_non_security: false,
        }
    );
}

#[test]
fn not_json_names_line_and_column() {
    assert_eq!(
        problems_in("{\n  \"OperatingSystem\": \"AMAZON_LINUX_2\",\n}"),
        ["not valid JSON: trailing comma at line 3 column 1"]
    );
    assert_eq!(
        problems_in("{\"OperatingSystem\": \"AMAZON_LINUX_2\"} x"),
        ["not valid JSON: trailing characters at line 1 column 39"]
    );
}

#[test]
fn an_empty_file_says_what_is_expected() {
    for text in ["", "  \n"] {
        let p = problems_in(text);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("empty; expected a baseline object"),
            "{p:?}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!("\u{feff}{}", json!({ "OperatingSystem": "DEBIAN" }));
    assert!(load("b.json", &text).is_ok());
}

#[test]
fn the_top_level_must_be_an_object_or_an_array() {
    for (text, found) in [
        ("7", "the number 7"),
        ("null", "null"),
        ("true", "true"),
        ("\"UBUNTU\"", "the string \"UBUNTU\""),
    ] {
        assert_eq!(
            problems_in(text),
            [format!(
                "expected a baseline object (the output of `aws ssm get-patch-baseline`) or a \
                 BaselineOverride array of them, found {found}"
            )]
        );
    }
}

#[test]
fn an_override_array_loads_every_entry_and_prefixes_paths() {
    let doc = json!([base(), base_for("DEBIAN")]);
    let Ok(BaselineDocument::Override(entries)) = load("o.json", &doc.to_string()) else {
        panic!("override expected");
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].operating_system, OperatingSystem::Debian);

    let mut bad = base();
    rule0(&mut bad)["ApproveAfterDays"] = json!(400);
    assert_eq!(
        problems(&json!([base(), bad, 3])),
        [
            "[1].ApprovalRules.PatchRules[0].ApproveAfterDays: 400 is outside 0..=360",
            "[2]: expected a baseline object, found the number 3",
        ]
    );
    assert_eq!(
        problems(&json!([])),
        ["empty BaselineOverride array; it needs one entry per operating system"]
    );
}

#[test]
fn all_problems_are_reported_in_document_order() {
    let mut doc = base();
    doc["Name"] = json!("a b");
    rule0(&mut doc)["ApproveAfterDays"] = json!(-3);
    doc["ApprovedPatches"] = json!(["-rf"]);
    doc["Extra"] = json!(1);
    let p = problems(&doc);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(p[0].starts_with("Name: "));
    assert!(p[1].starts_with("ApprovalRules.PatchRules[0].ApproveAfterDays: -3 is outside"));
    assert!(p[2].starts_with("ApprovedPatches[0]: \"-rf\" starts with '-'"));
    assert!(p[3].starts_with("unknown field Extra;"));
}

#[test]
fn load_error_display_names_the_source_and_path() {
    let mut doc = base();
    rule0(&mut doc)["ApproveAfterDays"] = json!(400);
    let err = load("baseline.json", &doc.to_string()).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "baseline.json: ApprovalRules.PatchRules[0].ApproveAfterDays: 400 is outside 0..=360"
    );
    let err = load("-", "[]").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "<stdin>: empty BaselineOverride array; it needs one entry per operating system"
    );
    let err = load("b.json", &json!({ "Name": "x", "Foo": 1 }).to_string()).expect_err("x");
    assert_eq!(err.to_string().lines().count(), 3, "{err}");
}

// ----- OperatingSystem -----

#[test]
fn operating_system_is_required() {
    assert_eq!(
        problem(&json!({ "Name": "abc" })),
        "OperatingSystem: required but missing (AWS would default to WINDOWS when creating a \
         baseline; patchbaseline needs it stated, e.g. \"AMAZON_LINUX_2023\")"
    );
}

#[test]
fn operating_system_must_be_a_known_value() {
    let p = problem(&json!({ "OperatingSystem": "amazon-linux-2" }));
    assert!(
        p.starts_with(
            "OperatingSystem: unknown OperatingSystem \"amazon-linux-2\" (did you mean AMAZON_LINUX_2?); \
             allowed: WINDOWS, AMAZON_LINUX,"
        ),
        "{p}"
    );
    assert!(p.ends_with("ROCKY_LINUX, ALMA_LINUX"), "{p}");
    assert_eq!(
        problem(&json!({ "OperatingSystem": ["UBUNTU"] })),
        "OperatingSystem: expected a string, found an array"
    );
}

#[test]
fn every_operating_system_parses() {
    for os in OperatingSystem::ALL {
        let doc = json!([{ "OperatingSystem": os.as_str() }]);
        let Ok(BaselineDocument::Override(entries)) = load("o.json", &doc.to_string()) else {
            panic!("{os} did not load");
        };
        assert_eq!(entries[0].operating_system, os);
    }
}

#[test]
fn windows_and_macos_load_only_inside_an_override_array() {
    for os in ["WINDOWS", "MACOS"] {
        assert_eq!(
            problem(&json!({ "OperatingSystem": os })),
            format!(
                "OperatingSystem: {os} baselines cannot be applied by patchbaseline, which patches \
                 Linux; only a BaselineOverride array may carry {os} entries (they are skipped)"
            )
        );
    }
    let windows = json!({
        "OperatingSystem": "WINDOWS",
        "ApprovalRules": { "PatchRules": [ {
            "PatchFilterGroup": { "PatchFilters": [
                { "Key": "MSRC_SEVERITY", "Values": ["Critical"] },
                { "Key": "CLASSIFICATION", "Values": ["SecurityUpdates"] } ] },
            "ApproveAfterDays": 7 } ] },
        "AvailableSecurityUpdatesComplianceStatus": "COMPLIANT"
    });
    let doc = json!([windows, base()]);
    assert!(load("o.json", &doc.to_string()).is_ok());
}

// ----- unknown fields -----

#[test]
fn a_misspelled_field_gets_a_suggestion() {
    let mut doc = base();
    doc["ApprovedPatch"] = json!([]);
    assert_eq!(
        problem(&doc),
        "unknown field ApprovedPatch (did you mean ApprovedPatches?)"
    );
    let mut doc = base();
    doc["rejectedPatchesAction"] = json!("BLOCK");
    assert_eq!(
        problem(&doc),
        "unknown field rejectedPatchesAction (did you mean RejectedPatchesAction?)"
    );
}

#[test]
fn a_misspelled_required_field_is_reported_once() {
    let doc = json!({ "OperatingSytem": "AMAZON_LINUX_2" });
    assert_eq!(
        problem(&doc),
        "unknown field OperatingSytem (did you mean OperatingSystem?)"
    );
    let mut doc = base();
    let days = rule0(&mut doc)
        .as_object_mut()
        .and_then(|r| r.remove("ApproveAfterDays"));
    rule0(&mut doc)["ApproveAfterDay"] = days.unwrap_or_default();
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0]: unknown field ApproveAfterDay (did you mean ApproveAfterDays?)"
    );
    let doc = json!({ "OperatingSystem": "AMAZON_LINUX_2",
                      "GlobalFilters": { "PatchFilter": [] } });
    assert_eq!(
        problem(&doc),
        "GlobalFilters: unknown field PatchFilter (did you mean PatchFilters?)"
    );
}

#[test]
fn an_unrelated_unknown_field_lists_the_allowed_ones() {
    let mut doc = base();
    doc["Owner"] = json!("me");
    let p = problem(&doc);
    assert!(
        p.starts_with(
            "unknown field Owner; fields allowed here: BaselineId, Name, OperatingSystem"
        ),
        "{p}"
    );
    let mut doc = base();
    doc["a b"] = json!(1);
    assert!(problem(&doc).starts_with("unknown field \"a b\"; "));
}

#[test]
fn unknown_fields_are_found_at_every_level() {
    let mut doc = base();
    doc["ApprovalRules"]["Rules"] = json!([]);
    rule0(&mut doc)["Approve"] = json!(true);
    filters0(&mut doc)[0]["Value"] = json!(["x"]);
    doc["Sources"] = json!([source()]);
    doc["Sources"][0]["Product"] = json!("x");
    assert_eq!(
        problems(&doc),
        [
            "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0]: unknown field Value (did you mean Values?)",
            "ApprovalRules.PatchRules[0]: unknown field Approve; fields allowed here: PatchFilterGroup, ComplianceLevel, ApproveAfterDays, ApproveUntilDate, EnableNonSecurity",
            "ApprovalRules: unknown field Rules; fields allowed here: PatchRules",
            "Sources[0]: unknown field Product (did you mean Products?)",
        ]
    );
}

#[test]
fn a_patch_snapshot_is_recognised() {
    let doc = json!({ "patchBaseline": { "operatingSystem": "UBUNTU" }, "patchGroup": "" });
    assert!(problem(&doc).starts_with("this looks like a patch snapshot"));
}

// ----- types -----

#[test]
fn wrong_types_name_what_was_expected_and_found() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("BaselineId", json!(7), "BaselineId: expected a string, found the number 7"),
        ("Name", json!(true), "Name: expected a string, found true"),
        ("Description", json!([]), "Description: expected a string, found an array"),
        ("Description", Value::Null, "Description: expected a string, found null"),
        ("PatchGroups", json!("web"), "PatchGroups: expected an array of strings, found the string \"web\""),
        ("PatchGroups", json!([1]), "PatchGroups[0]: expected a string, found the number 1"),
        ("GlobalFilters", json!([]), "GlobalFilters: expected an object {\"PatchFilters\": [...]}, found an array"),
        ("ApprovalRules", json!([]), "ApprovalRules: expected an object {\"PatchRules\": [...]}, found an array"),
        ("ApprovalRules", json!({ "PatchRules": {} }), "ApprovalRules.PatchRules: expected an array of rules, found an object"),
        ("ApprovedPatches", json!("x"), "ApprovedPatches: expected an array of strings, found the string \"x\""),
        ("ApprovedPatchesComplianceLevel", json!(3), "ApprovedPatchesComplianceLevel: expected a string, found the number 3"),
        ("ApprovedPatchesEnableNonSecurity", json!("true"), "ApprovedPatchesEnableNonSecurity: expected true or false, found the string \"true\""),
        ("RejectedPatches", json!({}), "RejectedPatches: expected an array of strings, found an object"),
        ("RejectedPatchesAction", Value::Null, "RejectedPatchesAction: expected a string, found null"),
        ("Sources", json!({}), "Sources: expected an array of sources, found an object"),
        ("Sources", json!(["x"]), "Sources[0]: expected a source object, found the string \"x\""),
        ("CreatedDate", json!(false), "CreatedDate: expected epoch seconds (a number) or an ISO 8601 timestamp string, found false"),
        ("AvailableSecurityUpdatesComplianceStatus", json!(1), "AvailableSecurityUpdatesComplianceStatus: expected a string, found the number 1"),
    ];
    for (field, value, want) in cases {
        let mut doc = base();
        doc[field] = value;
        assert_eq!(problem(&doc), want, "{field}");
    }
}

#[test]
fn wrong_types_inside_rules_and_filters() {
    type Change = fn(&mut Value);
    let cases: Vec<(Change, &str)> = vec![
        (|d| *rule0(d) = json!("rule"), "ApprovalRules.PatchRules[0]: expected a rule object, found the string \"rule\""),
        (|d| rule0(d)["PatchFilterGroup"] = json!([]), "ApprovalRules.PatchRules[0].PatchFilterGroup: expected an object {\"PatchFilters\": [...]}, found an array"),
        (|d| rule0(d)["PatchFilterGroup"]["PatchFilters"] = json!({}), "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters: expected an array of filters, found an object"),
        (|d| filters0(d)[0] = json!(["CLASSIFICATION"]), "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0]: expected a filter {\"Key\": ..., \"Values\": [...]}, found an array"),
        (|d| filters0(d)[0]["Key"] = json!(1), "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key: expected a string, found the number 1"),
        (|d| filters0(d)[0]["Values"] = json!("Security"), "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Values: expected an array of strings, found the string \"Security\""),
        (|d| filters0(d)[0]["Values"] = json!([true]), "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Values[0]: expected a string, found true"),
        (|d| rule0(d)["ComplianceLevel"] = json!(0), "ApprovalRules.PatchRules[0].ComplianceLevel: expected a string, found the number 0"),
        (|d| rule0(d)["EnableNonSecurity"] = json!(1), "ApprovalRules.PatchRules[0].EnableNonSecurity: expected true or false, found the number 1"),
    ];
    for (change, want) in cases {
        let mut doc = base();
        change(&mut doc);
        assert_eq!(problem(&doc), want);
    }
}

// ----- filters -----

#[test]
fn filter_keys_must_suit_the_operating_system() {
    let rpm = [
        "AMAZON_LINUX",
        "AMAZON_LINUX_2",
        "AMAZON_LINUX_2023",
        "REDHAT_ENTERPRISE_LINUX",
        "CENTOS",
        "ORACLE_LINUX",
        "SUSE",
        "ROCKY_LINUX",
        "ALMA_LINUX",
    ];
    for os in rpm {
        for key in ["PRIORITY", "SECTION", "ARCH", "MSRC_SEVERITY"] {
            let mut doc = base_for(os);
            doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": key, "Values": ["*"] }]);
            assert_eq!(
                problem(&doc),
                format!("GlobalFilters.PatchFilters[0].Key: {key} is not a filter key for {os}; allowed: PRODUCT, CLASSIFICATION, SEVERITY")
            );
        }
    }
    for os in ["DEBIAN", "UBUNTU", "RASPBIAN"] {
        for key in ["CLASSIFICATION", "SEVERITY"] {
            let mut doc = base_for(os);
            doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": key, "Values": ["*"] }]);
            assert_eq!(
                problem(&doc),
                format!("GlobalFilters.PatchFilters[0].Key: {key} is not a filter key for {os}; allowed: PRODUCT, PRIORITY, SECTION")
            );
        }
        let mut doc = base_for(os);
        doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": "SECTION", "Values": ["python", "libs"] }, { "Key": "PRODUCT", "Values": ["Ubuntu22.04"] }]);
        assert_eq!(single(&doc).global_filters.len(), 2);
    }
}

#[test]
fn an_unknown_filter_key_lists_the_keys_of_the_system() {
    let mut doc = base_for("UBUNTU");
    filters0(&mut doc)[0]["Key"] = json!("PRIORTY");
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key: unknown filter key \"PRIORTY\" (did you mean PRIORITY?); allowed for UBUNTU: PRODUCT, PRIORITY, SECTION"
    );
    // Without a usable OperatingSystem, every key of the enum is listed.
    let doc = json!({ "OperatingSystem": "LINUX", "GlobalFilters": { "PatchFilters": [ { "Key": "FOO", "Values": ["*"] } ] } });
    let p = problems(&doc);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[1].starts_with("GlobalFilters.PatchFilters[0].Key: unknown filter key \"FOO\"; allowed: ARCH, ADVISORY_ID,"), "{}", p[1]);
}

#[test]
fn a_filter_key_may_appear_once_per_group() {
    let mut doc = base();
    doc["GlobalFilters"]["PatchFilters"] = json!([
        { "Key": "PRODUCT", "Values": ["AmazonLinux2023"] },
        { "Key": "CLASSIFICATION", "Values": ["Security"] },
        { "Key": "PRODUCT", "Values": ["*"] } ]);
    assert_eq!(
        problem(&doc),
        "GlobalFilters.PatchFilters[2].Key: PRODUCT appears twice in this group (first at PatchFilters[0]); put all its values in one filter"
    );
    // The same key in different groups is fine.
    let mut doc = base();
    doc["GlobalFilters"]["PatchFilters"] =
        json!([{ "Key": "CLASSIFICATION", "Values": ["Security"] }]);
    assert!(load("b.json", &doc.to_string()).is_ok());
}

#[test]
fn filter_key_and_values_are_required() {
    let mut doc = base();
    filters0(&mut doc)[0] = json!({ "Values": ["Security"] });
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Key: required but missing"
    );
    let mut doc = base();
    filters0(&mut doc)[0] = json!({ "Key": "CLASSIFICATION" });
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Values: required but missing"
    );
}

#[test]
fn filter_values_count_between_1_and_20() {
    let mut doc = base();
    filters0(&mut doc)[0]["Values"] = json!([]);
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].PatchFilterGroup.PatchFilters[0].Values: empty; a filter needs 1 to 20 values (use [\"*\"] to match everything)"
    );
    let mut doc = base();
    doc["GlobalFilters"]["PatchFilters"] =
        json!([{ "Key": "PRODUCT", "Values": strings(20, |i| format!("P{i}")) }]);
    assert_eq!(single(&doc).global_filters[0].values.len(), 20);
    doc["GlobalFilters"]["PatchFilters"][0]["Values"] = json!(strings(21, |i| format!("P{i}")));
    assert_eq!(
        problem(&doc),
        "GlobalFilters.PatchFilters[0].Values: 21 values; at most 20 allowed"
    );
}

#[test]
fn filter_values_are_1_to_64_characters() {
    let mut doc = base();
    doc["GlobalFilters"]["PatchFilters"] =
        json!([{ "Key": "PRODUCT", "Values": ["p".repeat(64)] }]);
    assert!(load("b.json", &doc.to_string()).is_ok());
    doc["GlobalFilters"]["PatchFilters"][0]["Values"] = json!(["p".repeat(65)]);
    assert_eq!(
        problem(&doc),
        format!("GlobalFilters.PatchFilters[0].Values[0]: \"{}\"… has 65 characters; at most 64 allowed", "p".repeat(40))
    );
    doc["GlobalFilters"]["PatchFilters"][0]["Values"] = json!([""]);
    assert_eq!(
        problem(&doc),
        "GlobalFilters.PatchFilters[0].Values[0]: empty string; 1 to 64 characters allowed"
    );
    // Characters, not bytes.
    doc["GlobalFilters"]["PatchFilters"][0]["Values"] = json!(["é".repeat(64)]);
    assert!(load("b.json", &doc.to_string()).is_ok());
}

#[test]
fn classification_severity_and_priority_values_are_checked_per_system() {
    let ok: &[(&str, &str, &str)] = &[
        ("AMAZON_LINUX_2023", "SEVERITY", "None"),
        ("AMAZON_LINUX_2", "SEVERITY", "Medium"),
        ("ORACLE_LINUX", "SEVERITY", "Moderate"),
        ("REDHAT_ENTERPRISE_LINUX", "CLASSIFICATION", "Newpackage"),
        ("SUSE", "CLASSIFICATION", "Yast"),
        ("SUSE", "SEVERITY", "Moderate"),
        ("CENTOS", "CLASSIFICATION", "*"),
        ("AMAZON_LINUX_2", "PRODUCT", "anything goes"),
    ];
    for (os, key, value) in ok {
        let mut doc = base_for(os);
        doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": key, "Values": [value] }]);
        assert!(
            load("b.json", &doc.to_string()).is_ok(),
            "{os} {key} {value}"
        );
    }
    let mut doc = base_for("UBUNTU");
    doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": "SECTION", "Values": ["anything"] }]);
    assert!(load("b.json", &doc.to_string()).is_ok());

    let bad: &[(&str, &str, &str, &str)] = &[
        ("SUSE", "SEVERITY", "Medium", "unknown SEVERITY value \"Medium\"; allowed for SUSE: Critical, Important, Moderate, Low, *"),
        ("SUSE", "CLASSIFICATION", "Bugfix", "unknown CLASSIFICATION value \"Bugfix\"; allowed for SUSE: Security, Recommended, Optional, Feature, Document, Yast, *"),
        ("AMAZON_LINUX_2", "CLASSIFICATION", "security", "unknown CLASSIFICATION value \"security\" (did you mean Security?); allowed for AMAZON_LINUX_2: Security, Bugfix, Enhancement, Recommended, Newpackage, *"),
        ("AMAZON_LINUX_2", "SEVERITY", "Critcal", "unknown SEVERITY value \"Critcal\" (did you mean Critical?); allowed for AMAZON_LINUX_2: Critical, Important, Medium, Moderate, Low, None, *"),
        ("DEBIAN", "PRIORITY", "required", "unknown PRIORITY value \"required\" (did you mean Required?); allowed for DEBIAN: Required, Important, Standard, Optional, Extra, *"),
    ];
    for (os, key, value, want) in bad {
        let mut doc = base_for(os);
        doc["GlobalFilters"]["PatchFilters"] = json!([{ "Key": key, "Values": ["*", value] }]);
        assert_eq!(
            problem(&doc),
            format!("GlobalFilters.PatchFilters[0].Values[1]: {want}")
        );
    }
}

#[test]
fn global_filters_may_be_absent_or_empty_but_not_shapeless() {
    let mut doc = base();
    doc.as_object_mut().map(|d| d.remove("GlobalFilters"));
    assert!(single(&doc).global_filters.is_empty());
    doc["GlobalFilters"] = json!({ "PatchFilters": [] });
    assert!(single(&doc).global_filters.is_empty());
    doc["GlobalFilters"] = json!({});
    assert_eq!(
        problem(&doc),
        "GlobalFilters.PatchFilters: required but missing (use [] for no filters)"
    );
}

// ----- rules -----

#[test]
fn approval_rules_may_be_absent_and_hold_at_most_10() {
    let mut doc = base();
    doc.as_object_mut().map(|d| d.remove("ApprovalRules"));
    assert!(single(&doc).approval_rules.is_empty());

    let rule = base()["ApprovalRules"]["PatchRules"][0].clone();
    let mut doc = base();
    doc["ApprovalRules"]["PatchRules"] = json!(vec![rule.clone(); 10]);
    assert_eq!(single(&doc).approval_rules.len(), 10);
    doc["ApprovalRules"]["PatchRules"] = json!(vec![rule; 11]);
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules: 11 rules; at most 10 allowed"
    );
    doc["ApprovalRules"] = json!({});
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules: required but missing (use [] for no rules)"
    );
}

#[test]
fn a_rule_needs_a_filter_group_which_may_be_empty() {
    let mut doc = base();
    rule0(&mut doc)
        .as_object_mut()
        .map(|r| r.remove("PatchFilterGroup"));
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].PatchFilterGroup: required but missing (every rule needs one; {\"PatchFilters\": []} matches every update)"
    );
    rule0(&mut doc)["PatchFilterGroup"] = json!({ "PatchFilters": [] });
    assert!(single(&doc).approval_rules[0].filters.is_empty());
}

#[test]
fn approve_after_days_is_a_whole_number_from_0_to_360() {
    for (days, want) in [(json!(0), 0), (json!(360), 360), (json!(7.0), 7)] {
        let mut doc = base();
        rule0(&mut doc)["ApproveAfterDays"] = days;
        assert_eq!(
            single(&doc).approval_rules[0].approval,
            Approval::AfterDays(want)
        );
    }
    let at = "ApprovalRules.PatchRules[0].ApproveAfterDays";
    for (days, want) in [
        (json!(361), format!("{at}: 361 is outside 0..=360")),
        (json!(400), format!("{at}: 400 is outside 0..=360")),
        (json!(-1), format!("{at}: -1 is outside 0..=360")),
        (json!(1e3), format!("{at}: 1000.0 is outside 0..=360")),
        (
            json!(u64::MAX),
            format!("{at}: 18446744073709551615 is outside 0..=360"),
        ),
        (
            json!(7.5),
            format!("{at}: 7.5 is not a whole number of days (0..=360)"),
        ),
        (
            json!("7"),
            format!("{at}: expected a whole number of days 0..=360, found the string \"7\""),
        ),
    ] {
        let mut doc = base();
        rule0(&mut doc)["ApproveAfterDays"] = days;
        assert_eq!(problem(&doc), want);
    }
}

#[test]
fn approve_until_date_is_a_real_yyyy_mm_dd_date() {
    let with_date = |date: Value| {
        let mut doc = base();
        let rule = rule0(&mut doc);
        rule.as_object_mut().map(|r| r.remove("ApproveAfterDays"));
        rule["ApproveUntilDate"] = date;
        doc
    };
    assert_eq!(
        single(&with_date(json!("2024-02-29"))).approval_rules[0].approval,
        Approval::UntilDate(NaiveDate::from_ymd_opt(2024, 2, 29).expect("leap day"))
    );
    let at = "ApprovalRules.PatchRules[0].ApproveUntilDate";
    for (date, want) in [
        (
            json!("2025-02-29"),
            format!("{at}: \"2025-02-29\" is not a real date: 2025-02 has 28 days"),
        ),
        (
            json!("2025-04-31"),
            format!("{at}: \"2025-04-31\" is not a real date: 2025-04 has 30 days"),
        ),
        (
            json!("2025-13-01"),
            format!("{at}: \"2025-13-01\" is not a real date: there is no month 13"),
        ),
        (
            json!("2025-00-10"),
            format!("{at}: \"2025-00-10\" is not a real date: there is no month 0"),
        ),
        (
            json!("2025-1-5"),
            format!("{at}: \"2025-1-5\" is not a date in the form YYYY-MM-DD"),
        ),
        (
            json!("2025-01-05T00:00:00Z"),
            format!("{at}: \"2025-01-05T00:00:00Z\" is not a date in the form YYYY-MM-DD"),
        ),
        (
            json!("2025/01/05"),
            format!("{at}: \"2025/01/05\" is not a date in the form YYYY-MM-DD"),
        ),
        (
            json!(20250105),
            format!("{at}: expected a string, found the number 20250105"),
        ),
    ] {
        assert_eq!(problem(&with_date(date)), want);
    }
}

#[test]
fn a_rule_has_exactly_one_of_days_and_date() {
    let mut doc = base();
    rule0(&mut doc)["ApproveUntilDate"] = json!("2025-01-01");
    assert_eq!(problem(&doc), "ApprovalRules.PatchRules[0]: has both ApproveAfterDays and ApproveUntilDate; use exactly one");
    let mut doc = base();
    rule0(&mut doc)
        .as_object_mut()
        .map(|r| r.remove("ApproveAfterDays"));
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0]: has neither ApproveAfterDays nor ApproveUntilDate; add one (ApproveAfterDays: 0..=360 days after release, or ApproveUntilDate: \"YYYY-MM-DD\")"
    );
    // With an unusable OperatingSystem the rule cannot be judged; only the system is reported.
    doc["OperatingSystem"] = json!("LINUX");
    assert_eq!(problems(&doc).len(), 1);
}

#[test]
fn apt_systems_accept_a_rule_without_dates_and_keep_what_aws_stores() {
    for os in ["DEBIAN", "UBUNTU", "RASPBIAN"] {
        let mut doc = base_for(os);
        rule0(&mut doc)
            .as_object_mut()
            .map(|r| r.remove("ApproveAfterDays"));
        assert_eq!(
            single(&doc).approval_rules[0].approval,
            Approval::AfterDays(0),
            "{os}"
        );

        rule0(&mut doc)["ApproveAfterDays"] = json!(7);
        assert_eq!(
            single(&doc).approval_rules[0].approval,
            Approval::AfterDays(7)
        );
        rule0(&mut doc)["ApproveAfterDays"] = json!(361);
        assert_eq!(
            problem(&doc),
            "ApprovalRules.PatchRules[0].ApproveAfterDays: 361 is outside 0..=360"
        );

        let mut doc = base_for(os);
        rule0(&mut doc)
            .as_object_mut()
            .map(|r| r.remove("ApproveAfterDays"));
        rule0(&mut doc)["ApproveUntilDate"] = json!("2025-01-31");
        assert_eq!(
            single(&doc).approval_rules[0].approval,
            Approval::UntilDate(NaiveDate::from_ymd_opt(2025, 1, 31).expect("date"))
        );
        rule0(&mut doc)["ApproveAfterDays"] = json!(0);
        assert_eq!(problem(&doc), "ApprovalRules.PatchRules[0]: has both ApproveAfterDays and ApproveUntilDate; use exactly one");
        let apt = OperatingSystem::parse(os).expect("os");
        assert!(apt.is_apt());
    }
    assert!(!OperatingSystem::AmazonLinux2023.is_apt());
}

#[test]
fn compliance_levels_and_rejected_action_are_enums() {
    for level in ComplianceLevel::ALL {
        let mut doc = base();
        rule0(&mut doc)["ComplianceLevel"] = json!(level.as_str());
        doc["ApprovedPatchesComplianceLevel"] = json!(level.as_str());
        let b = single(&doc);
        assert_eq!(b.approval_rules[0].compliance_level, level);
        assert_eq!(b.approved_patches_compliance_level, level);
    }
    let mut doc = base();
    rule0(&mut doc)["ComplianceLevel"] = json!("SEVERE");
    assert_eq!(
        problem(&doc),
        "ApprovalRules.PatchRules[0].ComplianceLevel: unknown ComplianceLevel \"SEVERE\"; allowed: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNSPECIFIED"
    );
    let mut doc = base();
    doc["ApprovedPatchesComplianceLevel"] = json!("Critical");
    assert!(problem(&doc).contains("(did you mean CRITICAL?)"));
    let mut doc = base();
    doc["RejectedPatchesAction"] = json!("DENY");
    assert_eq!(
        problem(&doc),
        "RejectedPatchesAction: unknown RejectedPatchesAction \"DENY\"; allowed: ALLOW_AS_DEPENDENCY, BLOCK"
    );
    let mut doc = base();
    doc["AvailableSecurityUpdatesComplianceStatus"] = json!("OK");
    assert_eq!(
        problem(&doc),
        "AvailableSecurityUpdatesComplianceStatus: unknown AvailableSecurityUpdatesComplianceStatus \"OK\"; allowed: COMPLIANT, NON_COMPLIANT"
    );
}

#[test]
fn enable_non_security_is_read() {
    let mut doc = base();
    rule0(&mut doc)["EnableNonSecurity"] = json!(true);
    assert!(single(&doc).approval_rules[0].enable_non_security);
    rule0(&mut doc)
        .as_object_mut()
        .map(|r| r.remove("EnableNonSecurity"));
    assert!(!single(&doc).approval_rules[0].enable_non_security);
}

// ----- approved and rejected lists -----

#[test]
fn patch_lists_hold_at_most_50_entries_of_1_to_100_characters() {
    for field in ["ApprovedPatches", "RejectedPatches"] {
        let mut doc = base();
        doc[field] = json!(strings(50, |i| format!("pkg{i}")));
        assert!(load("b.json", &doc.to_string()).is_ok());
        doc[field] = json!(strings(51, |i| format!("pkg{i}")));
        assert_eq!(
            problem(&doc),
            format!("{field}: 51 entries; at most 50 allowed")
        );
        doc[field] = json!(["a".repeat(100)]);
        assert!(load("b.json", &doc.to_string()).is_ok());
        doc[field] = json!(["ok", "a".repeat(101)]);
        assert_eq!(
            problem(&doc),
            format!(
                "{field}[1]: \"{}\"… has 101 characters; at most 100 allowed",
                "a".repeat(40)
            )
        );
        doc[field] = json!([""]);
        assert_eq!(
            problem(&doc),
            format!("{field}[0]: empty string; 1 to 100 characters allowed")
        );
        doc[field] = json!([1]);
        assert_eq!(
            problem(&doc),
            format!("{field}[0]: expected a string, found the number 1")
        );
    }
    let mut doc = base();
    doc["ApprovedPatches"] = json!(["CVE-2024-6387", "ALAS2023-2025-123", "dbus*"]);
    doc["RejectedPatches"] = json!(["system-release.*"]);
    let b = single(&doc);
    assert_eq!(
        b.approved_patches,
        ["CVE-2024-6387", "ALAS2023-2025-123", "dbus*"]
    );
    assert_eq!(b.rejected_patches, ["system-release.*"]);
}

#[test]
fn a_pattern_may_not_start_with_a_dash() {
    for field in ["ApprovedPatches", "RejectedPatches"] {
        let mut doc = base();
        doc[field] = json!(["kernel", "-y"]);
        assert_eq!(
            problem(&doc),
            format!("{field}[1]: \"-y\" starts with '-', which a package manager could take as an option; package names never start with '-'")
        );
    }
    // A dash inside a pattern is normal.
    let mut doc = base();
    doc["RejectedPatches"] = json!(["kernel-*", "python3-*"]);
    assert!(load("b.json", &doc.to_string()).is_ok());
}

// ----- sources -----

#[test]
fn sources_are_checked() {
    let mut doc = base();
    doc["Sources"] = json!([source()]);
    let b = single(&doc);
    assert_eq!(b.sources[0].name, "internal-mirror");
    assert_eq!(b.sources[0].products, ["AmazonLinux2023"]);

    let sources: Vec<Value> = (0..20)
        .map(|i| {
            let mut s = source();
            s["Name"] = json!(format!("mirror-{i}"));
            s
        })
        .collect();
    doc["Sources"] = json!(sources);
    assert_eq!(single(&doc).sources.len(), 20);
    let mut more = sources.clone();
    let mut extra = source();
    extra["Name"] = json!("mirror-20");
    more.push(extra);
    doc["Sources"] = json!(more);
    assert_eq!(problem(&doc), "Sources: 21 sources; at most 20 allowed");

    let cases: Vec<(&str, Value, String)> = vec![
        ("Name", json!("a.b_c-d"), String::new()),
        ("Name", json!("n".repeat(50)), String::new()),
        ("Name", json!("n".repeat(51)), format!("Sources[0].Name: \"{}\"… has 51 characters; ^[a-zA-Z0-9_\\-.]{{3,50}}$ needs 3 to 50", "n".repeat(40))),
        ("Name", json!("ab"), "Sources[0].Name: \"ab\" has 2 characters; ^[a-zA-Z0-9_\\-.]{3,50}$ needs 3 to 50".into()),
        ("Name", json!("my/mirror"), "Sources[0].Name: \"my/mirror\" contains '/', which ^[a-zA-Z0-9_\\-.]{3,50}$ does not allow".into()),
        ("Products", json!([]), "Sources[0].Products: empty; a source needs 1 to 20 products (use [\"*\"] for all)".into()),
        ("Products", json!(strings(20, |i| format!("P{i}"))), String::new()),
        ("Products", json!(strings(21, |i| format!("P{i}"))), "Sources[0].Products: 21 products; at most 20 allowed".into()),
        ("Products", json!(["p".repeat(129)]), format!("Sources[0].Products[0]: \"{}\"… has 129 characters; at most 128 allowed", "p".repeat(40))),
        ("Configuration", json!(""), "Sources[0].Configuration: empty string; 1 to 1024 characters allowed".into()),
        ("Configuration", json!("c".repeat(1024)), String::new()),
        ("Configuration", json!("c".repeat(1025)), format!("Sources[0].Configuration: \"{}\"… has 1025 characters; at most 1024 allowed", "c".repeat(40))),
        ("Configuration", json!(["[repo]"]), "Sources[0].Configuration: expected a string, found an array".into()),
    ];
    for (field, value, want) in cases {
        let mut s = source();
        s[field] = value;
        let mut doc = base();
        doc["Sources"] = json!([s]);
        if want.is_empty() {
            assert!(load("b.json", &doc.to_string()).is_ok(), "{field}");
        } else {
            assert_eq!(problem(&doc), want);
        }
    }
    for field in ["Name", "Products", "Configuration"] {
        let mut s = source();
        s.as_object_mut().map(|s| s.remove(field));
        let mut doc = base();
        doc["Sources"] = json!([s]);
        assert_eq!(
            problem(&doc),
            format!("Sources[0].{field}: required but missing")
        );
    }
}

#[test]
fn source_names_are_unique() {
    let mut doc = base();
    doc["Sources"] = json!([source(), source()]);
    assert_eq!(
        problem(&doc),
        "Sources[1].Name: \"internal-mirror\" is also the name of Sources[0]; source names must be unique"
    );
}

// ----- read-only fields -----

#[test]
fn baseline_id_and_name_follow_the_aws_patterns() {
    let ok = [
        ("BaselineId", "pb-0c7e89f711c3095f4"),
        (
            "BaselineId",
            "arn:aws:ssm:us-east-2:733109147000:patchbaseline/pb-0574b43a65ea646ed",
        ),
        ("Name", "abc"),
        ("Name", "AWS-AmazonLinux2023DefaultPatchBaseline"),
        ("Name", "v1.2_prod-web"),
    ];
    for (field, value) in ok {
        let mut doc = base();
        doc[field] = json!(value);
        assert!(load("b.json", &doc.to_string()).is_ok(), "{field} {value}");
    }
    let id = r"^[a-zA-Z0-9_\-:/]{20,128}$";
    let name = r"^[a-zA-Z0-9_\-.]{3,128}$";
    let bad = [
        (
            "BaselineId",
            "pb-0123".to_string(),
            format!("BaselineId: \"pb-0123\" has 7 characters; {id} needs 20 to 128"),
        ),
        (
            "BaselineId",
            "pb-0c7e89f711c3095f4.x".to_string(),
            format!(
                "BaselineId: \"pb-0c7e89f711c3095f4.x\" contains '.', which {id} does not allow"
            ),
        ),
        (
            "BaselineId",
            "p".repeat(129),
            format!(
                "BaselineId: \"{}\"… has 129 characters; {id} needs 20 to 128",
                "p".repeat(40)
            ),
        ),
        (
            "Name",
            "ab".to_string(),
            format!("Name: \"ab\" has 2 characters; {name} needs 3 to 128"),
        ),
        (
            "Name",
            "my baseline".to_string(),
            format!("Name: \"my baseline\" contains ' ', which {name} does not allow"),
        ),
        (
            "Name",
            "n".repeat(129),
            format!(
                "Name: \"{}\"… has 129 characters; {name} needs 3 to 128",
                "n".repeat(40)
            ),
        ),
    ];
    for (field, value, want) in bad {
        let mut doc = base();
        doc[field] = json!(value);
        assert_eq!(problem(&doc), want);
    }
}

#[test]
fn description_and_patch_groups_have_lengths() {
    let mut doc = base();
    doc["Description"] = json!("d".repeat(1024));
    assert!(load("b.json", &doc.to_string()).is_ok());
    doc["Description"] = json!("d".repeat(1025));
    assert!(problem(&doc).starts_with("Description: \"dddd"));
    doc["Description"] = json!("");
    assert_eq!(
        problem(&doc),
        "Description: empty string; 1 to 1024 characters allowed"
    );
    let mut doc = base();
    doc["PatchGroups"] = json!(["g".repeat(256)]);
    assert!(load("b.json", &doc.to_string()).is_ok());
    doc["PatchGroups"] = json!(["g".repeat(257)]);
    assert!(problem(&doc).ends_with("has 257 characters; at most 256 allowed"));
}

#[test]
fn dates_are_epoch_seconds_or_iso_8601() {
    for (value, want) in [
        (json!(1_600_000_000), 1_600_000_000.0),
        (json!(1_621_359_431.345), 1_621_359_431.345),
        (json!("2020-09-13T12:26:40Z"), 1_600_000_000.0),
        (json!("2020-09-13T14:26:40.250000+02:00"), 1_600_000_000.25),
    ] {
        let mut doc = base();
        doc["CreatedDate"] = value.clone();
        assert_eq!(single(&doc).created_date, Some(want), "{value}");
    }
    let mut doc = base();
    doc["ModifiedDate"] = json!("13/09/2020");
    assert_eq!(
        problem(&doc),
        "ModifiedDate: \"13/09/2020\" is not an ISO 8601 timestamp such as 2024-05-01T12:00:00+00:00 (epoch seconds as a number also work)"
    );
}

// ----- select -----

#[test]
fn a_single_baseline_is_selected_only_for_its_system() {
    let doc = BaselineDocument::Single(single(&base()));
    assert!(doc
        .clone()
        .select(OperatingSystem::AmazonLinux2023, "b.json")
        .is_ok());
    let err = doc
        .select(OperatingSystem::Debian, "b.json")
        .expect_err("wrong os");
    assert_eq!(
        err.to_string(),
        "b.json: the baseline is for AMAZON_LINUX_2023 but this system is DEBIAN"
    );
}

#[test]
fn an_override_needs_exactly_one_entry_for_the_system() {
    let load_override = |doc: Value| match load("o.json", &doc.to_string()) {
        Ok(doc @ BaselineDocument::Override(_)) => doc,
        other => panic!("{other:?}"),
    };
    let mut debian = base_for("DEBIAN");
    debian["Name"] = json!("debian-one");
    let doc = load_override(json!([
        base_for("AMAZON_LINUX_2"),
        debian,
        base_for("CENTOS"),
        base_for("AMAZON_LINUX_2")
    ]));
    let picked = doc
        .clone()
        .select(OperatingSystem::Debian, "o.json")
        .expect("one DEBIAN entry");
    assert_eq!(picked.name.as_deref(), Some("debian-one"));

    let err = doc
        .clone()
        .select(OperatingSystem::Ubuntu, "o.json")
        .expect_err("no UBUNTU");
    assert_eq!(
        err.to_string(),
        "o.json: no entry for UBUNTU; the file has entries for AMAZON_LINUX_2, DEBIAN, CENTOS"
    );
    let err = doc
        .select(OperatingSystem::AmazonLinux2, "o.json")
        .expect_err("two AL2");
    assert_eq!(
        err.to_string(),
        "o.json: 2 entries for AMAZON_LINUX_2 (at [0], [3]); keep exactly one"
    );
}

// ----- to_aws_json -----

#[test]
fn to_aws_json_prints_the_get_patch_baseline_shape() {
    let mut doc = base();
    doc["BaselineId"] = json!("pb-0123456789abcdef0");
    doc["Description"] = json!("d");
    doc["PatchGroups"] = json!(["web"]);
    doc["CreatedDate"] = json!(1_600_000_000.5);
    doc["Sources"] = json!([source()]);
    doc["ApprovalRules"]["PatchRules"] = json!([
        { "PatchFilterGroup": { "PatchFilters": [ { "Key": "CLASSIFICATION", "Values": ["Bugfix"] } ] },
          "ApproveUntilDate": "2025-06-30", "ComplianceLevel": "LOW", "EnableNonSecurity": true } ]);
    let b = single(&doc);
    let printed = b.to_aws_json();
    let keys: Vec<&str> = printed
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "BaselineId",
            "Name",
            "OperatingSystem",
            "GlobalFilters",
            "ApprovalRules",
            "ApprovedPatches",
            "ApprovedPatchesComplianceLevel",
            "ApprovedPatchesEnableNonSecurity",
            "RejectedPatches",
            "RejectedPatchesAction",
            "PatchGroups",
            "CreatedDate",
            "Description",
            "Sources"
        ]
    );
    assert_eq!(
        printed["ApprovalRules"],
        json!({ "PatchRules": [ {
            "PatchFilterGroup": { "PatchFilters": [ { "Key": "CLASSIFICATION", "Values": ["Bugfix"] } ] },
            "ComplianceLevel": "LOW", "ApproveUntilDate": "2025-06-30", "EnableNonSecurity": true } ] })
    );
    assert_eq!(printed["ApprovedPatchesComplianceLevel"], "UNSPECIFIED");
    assert_eq!(printed["RejectedPatchesAction"], "ALLOW_AS_DEPENDENCY");
    assert_eq!(printed["Sources"], json!([source()]));
    let again = single(&printed);
    assert_eq!(again, b);
}

#[test]
fn to_aws_json_round_trips_the_custom_rhel_example() {
    let text = include_str!("../../testdata/baselines/rhel-custom-cli-iso-dates.json");
    let Ok(BaselineDocument::Single(b)) = load("rhel.json", text) else {
        panic!("example loads");
    };
    assert_eq!(single(&b.to_aws_json()), b);
}

// ----- predefined -----

#[test]
fn predefined_baselines_exist_for_every_linux_system() {
    for os in OperatingSystem::ALL {
        let b = predefined(os);
        match os {
            OperatingSystem::Windows | OperatingSystem::Macos => assert_eq!(b, None),
            _ => {
                let b = b.unwrap_or_else(|| panic!("{os} has no predefined baseline"));
                assert_eq!(b.operating_system, os);
                assert_eq!(b.baseline_id, None);
                let name = b.name.as_deref().unwrap_or_default();
                assert!(
                    name.starts_with("AWS-") && name.ends_with("DefaultPatchBaseline"),
                    "{name}"
                );
                assert!(b.description.as_deref().is_some_and(|d| d.contains(name)));
                assert!(b
                    .approval_rules
                    .iter()
                    .all(|r| r.compliance_level == ComplianceLevel::Unspecified));
                assert_eq!(
                    b.approved_patches_compliance_level,
                    ComplianceLevel::Unspecified
                );
                assert!(b.approved_patches.is_empty() && b.rejected_patches.is_empty());
                assert_eq!(
                    b.rejected_patches_action,
                    RejectedPatchesAction::AllowAsDependency
                );
                // It passes our own validation.
                let text = b.to_aws_json().to_string();
                assert!(
                    load("d.json", &text).is_ok(),
                    "{os}: {:?}",
                    load("d.json", &text)
                );
            }
        }
    }
}

#[test]
fn predefined_names_follow_aws() {
    let name = |os| predefined(os).and_then(|b| b.name).unwrap_or_default();
    assert_eq!(
        name(OperatingSystem::AmazonLinux2023),
        "AWS-AmazonLinux2023DefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::AmazonLinux2),
        "AWS-AmazonLinux2DefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::AmazonLinux),
        "AWS-AmazonLinuxDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::RedhatEnterpriseLinux),
        "AWS-RedHatDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::Centos),
        "AWS-CentOSDefaultPatchBaseline"
    );
    assert_eq!(name(OperatingSystem::Suse), "AWS-SuseDefaultPatchBaseline");
    assert_eq!(
        name(OperatingSystem::Debian),
        "AWS-DebianDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::Ubuntu),
        "AWS-UbuntuDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::OracleLinux),
        "AWS-OracleLinuxDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::AlmaLinux),
        "AWS-AlmaLinuxDefaultPatchBaseline"
    );
    assert_eq!(
        name(OperatingSystem::RockyLinux),
        "AWS-RockyLinuxDefaultPatchBaseline"
    );
}

/// `(key, values)` of each filter of each rule.
fn rule_filters(b: &Baseline) -> Vec<Vec<(FilterKey, Vec<&str>)>> {
    b.approval_rules
        .iter()
        .map(|r| {
            r.filters
                .iter()
                .map(|f| (f.key, f.values.iter().map(String::as_str).collect()))
                .collect()
        })
        .collect()
}

#[test]
fn predefined_rpm_baselines_approve_security_and_bugfix_after_7_days() {
    use FilterKey::{Classification, Product, Severity};
    for (os, severities) in [
        (OperatingSystem::AmazonLinux, ["Critical", "Important"]),
        (OperatingSystem::AmazonLinux2, ["Critical", "Important"]),
        (OperatingSystem::AmazonLinux2022, ["Critical", "Important"]),
        (OperatingSystem::AmazonLinux2023, ["Critical", "Important"]),
        (
            OperatingSystem::RedhatEnterpriseLinux,
            ["Critical", "Important"],
        ),
        (OperatingSystem::RockyLinux, ["Critical", "Important"]),
        (OperatingSystem::AlmaLinux, ["Critical", "Important"]),
        (OperatingSystem::OracleLinux, ["Important", "Moderate"]),
    ] {
        let b = predefined(os).unwrap_or_else(|| panic!("{os}"));
        assert!(b.global_filters.is_empty());
        assert_eq!(
            rule_filters(&b),
            vec![
                vec![
                    (Product, vec!["*"]),
                    (Classification, vec!["Security"]),
                    (Severity, severities.to_vec())
                ],
                vec![(Product, vec!["*"]), (Classification, vec!["Bugfix"])],
            ],
            "{os}"
        );
        assert!(b
            .approval_rules
            .iter()
            .all(|r| r.approval == Approval::AfterDays(7) && !r.enable_non_security));
    }
}

#[test]
fn predefined_centos_approves_everything_including_non_security() {
    use FilterKey::{Classification, Product, Severity};
    let b = predefined(OperatingSystem::Centos).expect("CENTOS");
    assert_eq!(
        rule_filters(&b),
        vec![vec![
            (Product, vec!["*"]),
            (Classification, vec!["*"]),
            (Severity, vec!["*"])
        ]]
    );
    assert_eq!(b.approval_rules[0].approval, Approval::AfterDays(7));
    assert!(b.approval_rules[0].enable_non_security);
}

#[test]
fn predefined_suse_approves_critical_and_important_security() {
    use FilterKey::{Classification, Product, Severity};
    let b = predefined(OperatingSystem::Suse).expect("SUSE");
    assert_eq!(
        rule_filters(&b),
        vec![vec![
            (Product, vec!["*"]),
            (Classification, vec!["Security"]),
            (Severity, vec!["Critical", "Important"])
        ]]
    );
    assert_eq!(b.approval_rules[0].approval, Approval::AfterDays(7));
    assert!(!b.approval_rules[0].enable_non_security);
}

#[test]
fn predefined_apt_baselines_approve_every_priority_immediately() {
    for os in [
        OperatingSystem::Debian,
        OperatingSystem::Ubuntu,
        OperatingSystem::Raspbian,
    ] {
        let b = predefined(os).unwrap_or_else(|| panic!("{os}"));
        assert_eq!(
            b.global_filters,
            [PatchFilter {
                key: FilterKey::Product,
                values: vec!["*".into()]
            }]
        );
        assert_eq!(
            rule_filters(&b),
            vec![vec![(
                FilterKey::Priority,
                vec!["Required", "Important", "Standard", "Optional", "Extra"]
            )]]
        );
        assert_eq!(b.approval_rules[0].approval, Approval::AfterDays(0));
        assert!(!b.approval_rules[0].enable_non_security);
    }
}

// ----- suggestions -----

#[test]
fn suggestions_catch_typos_but_not_unrelated_words() {
    let fields = super::validate::BASELINE_FIELDS;
    assert_eq!(suggest("ApprovedPatch", fields), Some("ApprovedPatches"));
    assert_eq!(suggest("approvedpatches", fields), Some("ApprovedPatches"));
    assert_eq!(suggest("Sourcse", fields), Some("Sources"));
    assert_eq!(suggest("Nmae", fields), Some("Name"));
    assert_eq!(suggest("Owner", fields), None);
    assert_eq!(suggest("Tags", fields), None);
    let os: Vec<&str> = OperatingSystem::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(suggest("AMAZON_LINUX2", &os), Some("AMAZON_LINUX_2"));
    assert_eq!(suggest("amazon-linux-2023", &os), Some("AMAZON_LINUX_2023"));
    assert_eq!(suggest("REDHAT", &os), None);
}
