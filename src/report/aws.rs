//! The AWS views of a [`Report`] (semantics §6.4–§6.5):
//!
//! * [`put_inventory`]: the input of `aws ssm put-inventory --cli-input-json file://FILE`, i.e.
//!   `InstanceId` and two items, `AWS:PatchSummary` (counters as strings) and `AWS:ComplianceItem`
//!   (one entry per reported patch), exactly as AWS-RunPatchBaseline uploads them;
//! * [`put_compliance_items`]: the input of `aws ssm put-compliance-items --cli-input-json
//!   file://FILE` with ComplianceType `Patch` and UploadType `COMPLETE`.
//!
//! What a report does not know (instance, execution and snapshot ids, patch group, reboot option,
//! override list) comes in an [`Execution`]. Pure functions: no I/O, no clock, no environment —
//! except one warning on stderr when the baseline id had to be derived ([`baseline_id_note`]).
//!
//! Limits AWS enforces and that are handled here: at most 10,000 entries per item list (beyond
//! that, compliant entries are left out first — see [`uploaded_entries`]), and attribute values of
//! at most 4,096 characters (a longer `CVEIds` list is cut at a comma).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{aws_time, Operation, PatchEntry, Report};
use crate::model::PatchState;

/// PutInventory's `Content` and PutComplianceItems' `Items` hold at most this many entries.
pub const MAX_ENTRIES: usize = 10_000;

/// An inventory attribute value or compliance detail holds at most this many characters.
pub const MAX_VALUE_CHARS: usize = 4096;

/// The AWS-RunPatchBaseline `RebootOption` parameter, spelled as AWS does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RebootOption {
    #[default]
    #[value(name = "RebootIfNeeded")]
    RebootIfNeeded,
    #[value(name = "NoReboot")]
    NoReboot,
}

impl RebootOption {
    pub fn as_str(self) -> &'static str {
        match self {
            RebootOption::RebootIfNeeded => "RebootIfNeeded",
            RebootOption::NoReboot => "NoReboot",
        }
    }
}

/// The facts of one operation that the report does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// The managed node: `i-…` (EC2) or `mi-…` (hybrid); see [`check_instance_id`].
    pub instance_id: String,
    /// The Run Command id (`SSM_COMMAND_ID`), or a fresh UUID outside the agent.
    pub execution_id: String,
    /// The `SnapshotId` parameter; empty when none was given.
    pub snapshot_id: String,
    /// The node's patch group (empty when it has none).
    pub patch_group: String,
    pub reboot_option: RebootOption,
    /// Where the InstallOverrideList came from, when an Install used one.
    pub install_override_list: Option<String>,
    /// The last Install with NoReboot, from the pending-reboot state, when there was one.
    pub last_no_reboot_install_time: Option<DateTime<Utc>>,
}

impl Execution {
    /// The `SnapshotId`: the one given, else one derived from the instance and execution ids.
    /// AWS-RunPatchBaseline always has one (an empty parameter is replaced by a random UUID);
    /// the execution id is a fresh random UUID outside the agent and the Run Command id under
    /// it, so with the instance id the derived one is new for every run on every node, and the
    /// inventory and compliance files of one run name the same snapshot (no I/O here).
    pub fn snapshot_id(&self) -> String {
        if !self.snapshot_id.is_empty() {
            return self.snapshot_id.clone();
        }
        let digest = Sha256::digest(
            format!(
                "patchbaseline snapshot\0{}\0{}",
                self.instance_id, self.execution_id
            )
            .as_bytes(),
        );
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        uuid_v4_text(b)
    }
}

/// A JSON document for the AWS CLI, and how many patch entries the 10,000 cap left out of it.
#[derive(Debug, Clone)]
pub struct AwsDocument {
    pub value: Value,
    pub left_out: usize,
}

impl AwsDocument {
    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.value).expect("JSON values serialise");
        s.push('\n');
        s
    }
}

/// Check an instance id the way the PutInventory API's pattern does:
/// `i-` followed by 8 or 17 word characters, or `mi-` followed by 17.
pub fn check_instance_id(id: &str) -> Result<(), String> {
    let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let ok = match (id.strip_prefix("mi-"), id.strip_prefix("i-")) {
        (Some(rest), _) => rest.len() == 17 && word(rest),
        (None, Some(rest)) => (rest.len() == 8 || rest.len() == 17) && word(rest),
        (None, None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a managed node id (i-0123456789abcdef0, i-01234567 or mi-0123456789abcdef0)"
        ))
    }
}

/// Check a SnapshotId the way AWS-RunPatchBaseline's parameter pattern does: a UUID
/// (8-4-4-4-12 hexadecimal digits).
pub fn check_snapshot_id(id: &str) -> Result<(), String> {
    let groups: Vec<&str> = id.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == lens.len()
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a UUID (e.g. 6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21; `uuidgen` makes one)"
        ))
    }
}

/// The order AWS-RunPatchBaseline lists entries in: by state group, then by id.
fn group(state: PatchState) -> u8 {
    match state {
        PatchState::Installed => 0,
        PatchState::InstalledOther => 1,
        PatchState::InstalledRejected => 2,
        PatchState::InstalledPendingReboot => 3,
        PatchState::NotApplicable => 4,
        PatchState::Missing => 5,
        PatchState::Failed => 6,
    }
}

/// Which entries survive the 10,000 cap first: failures and missing patches, then the other
/// non-compliant states, then Installed, then InstalledOther.
fn keep_rank(state: PatchState) -> u8 {
    match state {
        PatchState::Failed => 0,
        PatchState::Missing => 1,
        PatchState::InstalledPendingReboot => 2,
        PatchState::InstalledRejected => 3,
        PatchState::Installed => 4,
        PatchState::InstalledOther => 5,
        PatchState::NotApplicable => 6,
    }
}

/// The entries that are uploaded, in AWS's order, and how many were left out. NotApplicable is
/// never uploaded for Linux (its count is in the summary). When more than [`MAX_ENTRIES`] remain,
/// the least important are left out (InstalledOther first, then Installed, …; never a
/// non-compliant entry while a compliant one is kept); the summary counters still count them all.
pub fn uploaded_entries(report: &Report) -> (Vec<&PatchEntry>, usize) {
    let mut entries: Vec<&PatchEntry> = report
        .patches
        .iter()
        .filter(|p| p.state != PatchState::NotApplicable)
        .collect();
    let mut left_out = 0;
    if entries.len() > MAX_ENTRIES {
        entries.sort_by(|a, b| {
            keep_rank(a.state)
                .cmp(&keep_rank(b.state))
                .then_with(|| a.id.cmp(&b.id))
        });
        left_out = entries.len() - MAX_ENTRIES;
        entries.truncate(MAX_ENTRIES);
    }
    entries.sort_by(|a, b| {
        group(a.state)
            .cmp(&group(b.state))
            .then_with(|| a.id.cmp(&b.id))
    });
    (entries, left_out)
}

/// The compliance Title (§6.1): `name.arch:epoch:version-release` on RPM systems (epoch always
/// written, 0 when none), `name.arch:version` on apt systems. The version is the target for
/// Missing/Failed/NotApplicable and the installed one otherwise.
pub fn title(report: &Report, p: &PatchEntry) -> String {
    let version = match p.state {
        PatchState::Missing | PatchState::Failed | PatchState::NotApplicable => {
            p.target_version.as_ref().or(p.installed_version.as_ref())
        }
        _ => p.installed_version.as_ref().or(p.target_version.as_ref()),
    };
    match version {
        None => p.id.clone(),
        Some(v) if report.operating_system.is_apt() || v.contains(':') => format!("{}:{v}", p.id),
        Some(v) => format!("{}:0:{v}", p.id),
    }
}

/// The baseline as AWS names it: its id when it has one that fits AWS's pattern for baseline
/// ids (`^[a-zA-Z0-9_\-:/]{20,128}$`: `pb-` and 17 hex digits, or an ARN), else (predefined
/// and override baselines have none, a local file may have anything) a stable id derived from
/// its operating system and name (or, without a name, the file it came from): `pb-` and 17 hex
/// digits of their sha256, the shape of AWS's own ids. [`baseline_id_note`] says so.
pub fn baseline_id(report: &Report) -> String {
    let b = &report.baseline;
    if let Some(id) = b.id.as_deref().filter(|id| fits_baseline_id(id)) {
        return id.to_string();
    }
    let what = b.name.as_deref().unwrap_or(&b.source);
    let digest = Sha256::digest(
        format!(
            "patchbaseline baseline\0{}\0{what}",
            b.operating_system.as_str()
        )
        .as_bytes(),
    );
    let hex: String = digest.iter().map(|x| format!("{x:02x}")).collect();
    format!("pb-{}", &hex[..17])
}

/// Why [`baseline_id`] is a derived one, when it is (for a warning on stderr).
pub fn baseline_id_note(report: &Report) -> Option<String> {
    let b = &report.baseline;
    if b.id.as_deref().is_some_and(fits_baseline_id) {
        return None;
    }
    let why = match b.id.as_deref() {
        Some(id) => {
            format!("its id {id:?} does not fit AWS's pattern ^[a-zA-Z0-9_\\-:/]{{20,128}}$")
        }
        None => "it has no BaselineId".to_string(),
    };
    Some(format!(
        "baseline {}: {why}; the AWS files name it {} (derived from its operating system and {})",
        b.name.as_deref().unwrap_or(&b.source),
        baseline_id(report),
        if b.name.is_some() { "name" } else { "file" }
    ))
}

/// [`baseline_id`], with [`baseline_id_note`] printed on stderr once per process (the inventory
/// and compliance files of one run both call this; the one side effect of this module).
fn checked_baseline_id(report: &Report) -> String {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if let Some(note) = baseline_id_note(report) {
        if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("warning: {note}");
        }
    }
    baseline_id(report)
}

/// AWS's pattern for a baseline id: `^[a-zA-Z0-9_\-:/]{20,128}$`.
fn fits_baseline_id(id: &str) -> bool {
    (20..=128).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b':' | b'/'))
}

/// `a,b,c` cut at the last comma that keeps it within [`MAX_VALUE_CHARS`].
fn joined_within_limit(items: &[String]) -> String {
    let mut out = String::new();
    for item in items {
        let extra = usize::from(!out.is_empty()) + item.len();
        if out.len() + extra > MAX_VALUE_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(item);
    }
    out
}

/// Every attribute of one entry, in AWS-RunPatchBaseline's order.
fn attributes(
    report: &Report,
    exec: &Execution,
    baseline_id: &str,
    p: &PatchEntry,
) -> Map<String, Value> {
    let installed_time = match p.state {
        PatchState::Installed
        | PatchState::InstalledOther
        | PatchState::InstalledRejected
        | PatchState::InstalledPendingReboot => p.installed_time.map(aws_time),
        _ => None,
    };
    let status = if p.state.is_non_compliant() {
        "NON_COMPLIANT"
    } else {
        "COMPLIANT"
    };
    let mut m = Map::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_string(), Value::String(v.to_string()));
    };
    put("Id", &p.id);
    put("Title", &title(report, p));
    put("Severity", p.compliance_level.as_str());
    put("Status", status);
    put("PatchBaselineId", baseline_id);
    put("PatchState", p.state.as_str());
    put("PatchGroup", &exec.patch_group);
    put("DocumentName", "");
    put("DocumentVersion", "");
    put("InstalledTime", installed_time.as_deref().unwrap_or(""));
    put("Classification", p.classification.as_deref().unwrap_or(""));
    put("PatchSeverity", p.severity.as_deref().unwrap_or(""));
    if matches!(p.state, PatchState::Missing | PatchState::Failed) && !p.cves.is_empty() {
        put("CVEIds", &joined_within_limit(&p.cves));
    }
    if let Some(list) = &exec.install_override_list {
        put("InstallOverrideList", list);
    }
    m
}

/// sha256 (hex) of the compact JSON of `v`: the ContentHash / ItemContentHash.
pub fn content_hash(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The one `AWS:PatchSummary` content object: every value a string.
fn summary_content(report: &Report, exec: &Execution) -> Value {
    let s = &report.summary;
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), Value::String(v));
    };
    put("BaselineId", baseline_id(report));
    put("PatchGroup", exec.patch_group.clone());
    put("SnapshotId", exec.snapshot_id());
    put("ExecutionId", exec.execution_id.clone());
    put("InstalledCount", s.installed_count.to_string());
    put("InstalledOtherCount", s.installed_other_count.to_string());
    put(
        "InstalledRejectedCount",
        s.installed_rejected_count.to_string(),
    );
    put(
        "InstalledPendingRebootCount",
        s.installed_pending_reboot_count.to_string(),
    );
    put("NotApplicableCount", s.not_applicable_count.to_string());
    put("MissingCount", s.missing_count.to_string());
    put("FailedCount", s.failed_count.to_string());
    put(
        "CriticalNonCompliantCount",
        s.critical_non_compliant_count.to_string(),
    );
    put(
        "SecurityNonCompliantCount",
        s.security_non_compliant_count.to_string(),
    );
    put(
        "OtherNonCompliantCount",
        s.other_non_compliant_count.to_string(),
    );
    let operation = match report.operation {
        Operation::Scan => "Scan",
        Operation::Install => "Install",
    };
    put("OperationType", operation.to_string());
    put("OperationStartTime", aws_time(report.started_at));
    put("OperationEndTime", aws_time(report.finished_at));
    put("RebootOption", exec.reboot_option.as_str().to_string());
    if let Some(list) = &exec.install_override_list {
        put("InstallOverrideList", list.clone());
    }
    if let Some(t) = exec.last_no_reboot_install_time {
        put("LastNoRebootInstallOperationTime", aws_time(t));
    }
    if let Some(level) = s.non_compliant_severity {
        put("NonCompliantSeverity", level.as_str().to_string());
    }
    Value::Object(m)
}

/// The input of `aws ssm put-inventory --cli-input-json file://FILE`.
pub fn put_inventory(report: &Report, exec: &Execution) -> AwsDocument {
    let baseline_id = checked_baseline_id(report);
    let (entries, left_out) = uploaded_entries(report);
    let capture_time = aws_time(report.finished_at);
    let summary = Value::Array(vec![summary_content(report, exec)]);
    let content = Value::Array(
        entries
            .iter()
            .map(|p| Value::Object(attributes(report, exec, &baseline_id, p)))
            .collect(),
    );
    let value = json!({
        "InstanceId": exec.instance_id,
        "Items": [
            {
                "TypeName": "AWS:PatchSummary",
                "SchemaVersion": "1.0",
                "ContentHash": content_hash(&summary),
                "CaptureTime": capture_time,
                "Content": summary,
            },
            {
                "TypeName": "AWS:ComplianceItem",
                "SchemaVersion": "1.0",
                "ContentHash": content_hash(&content),
                "CaptureTime": capture_time,
                "Context": {
                    "ComplianceType": "Patch",
                    "ExecutionId": exec.snapshot_id(),
                    "ExecutionType": "Command",
                    "ExecutionTime": aws_time(report.started_at),
                },
                "Content": content,
            }
        ]
    });
    AwsDocument { value, left_out }
}

/// The input of `aws ssm put-compliance-items --cli-input-json file://FILE`: the same entries,
/// with Id, Title, Severity and Status at the top of each item and the rest under `Details`.
pub fn put_compliance_items(report: &Report, exec: &Execution) -> AwsDocument {
    let baseline_id = checked_baseline_id(report);
    let (entries, left_out) = uploaded_entries(report);
    let items = Value::Array(
        entries
            .iter()
            .map(|p| {
                let mut details = attributes(report, exec, &baseline_id, p);
                let mut item = Map::new();
                for key in ["Id", "Title", "Severity", "Status"] {
                    if let Some(v) = details.shift_remove(key) {
                        item.insert(key.to_string(), v);
                    }
                }
                item.insert("Details".to_string(), Value::Object(details));
                Value::Object(item)
            })
            .collect(),
    );
    let value = json!({
        "ResourceId": exec.instance_id,
        "ResourceType": "ManagedInstance",
        "ComplianceType": "Patch",
        "ExecutionSummary": {
            "ExecutionTime": aws_time(report.started_at),
            "ExecutionId": exec.snapshot_id(),
            "ExecutionType": "Command",
        },
        "ItemContentHash": content_hash(&items),
        "Items": items,
        "UploadType": "COMPLETE",
    });
    AwsDocument { value, left_out }
}

/// Sixteen bytes written as a UUID shaped like a random one (version 4, RFC 4122 variant).
pub fn uuid_v4_text(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests;
