//! Loading baseline documents: parse, validate (see [`super::validate`]), select the entry for
//! this system, and print a baseline back in the `get-patch-baseline` shape.

use serde_json::{json, Map, Value};

use super::validate::{describe, index, Walker};
use super::{Approval, Baseline, OperatingSystem, PatchFilter};

/// A loaded document: one baseline (`get-patch-baseline` output) or a `BaselineOverride` array.
// One value per loaded file: boxing the single baseline would buy nothing but a harder match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineDocument {
    Single(Baseline),
    Override(Vec<Baseline>),
}

impl BaselineDocument {
    /// The baseline for `os`: a single document must be for `os`; an array must have exactly one
    /// entry for `os`. `source` names the file in errors.
    pub fn select(self, os: OperatingSystem, source: &str) -> Result<Baseline, LoadError> {
        let fail = |message: String| LoadError::new(source, vec![Problem::new("", message)]);
        match self {
            BaselineDocument::Single(baseline) if baseline.operating_system == os => Ok(baseline),
            BaselineDocument::Single(baseline) => Err(fail(format!(
                "the baseline is for {} but this system is {os}",
                baseline.operating_system
            ))),
            BaselineDocument::Override(entries) => {
                let matching: Vec<usize> = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.operating_system == os)
                    .map(|(i, _)| i)
                    .collect();
                match matching.as_slice() {
                    [one] => Ok(entries
                        .into_iter()
                        .nth(*one)
                        .ok_or_else(|| fail(format!("no entry [{one}]")))?),
                    [] => {
                        let mut present: Vec<&str> = Vec::new();
                        for b in &entries {
                            let name = b.operating_system.as_str();
                            if !present.contains(&name) {
                                present.push(name);
                            }
                        }
                        Err(fail(format!(
                            "no entry for {os}; the file has entries for {}",
                            present.join(", ")
                        )))
                    }
                    several => {
                        let at: Vec<String> = several.iter().map(|i| index("", *i)).collect();
                        Err(fail(format!(
                            "{} entries for {os} (at {}); keep exactly one",
                            several.len(),
                            at.join(", ")
                        )))
                    }
                }
            }
        }
    }
}

/// One problem in a document, at a JSON path such as `ApprovalRules.PatchRules[0].ApproveAfterDays`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The JSON path; empty for the document itself.
    pub path: String,
    /// What is wrong and what is allowed, e.g. `400 is outside 0..=360`.
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file as the user named it (`-` is shown as `<stdin>`).
    pub source: String,
    pub problems: Vec<Problem>,
}

impl LoadError {
    fn new(source: &str, problems: Vec<Problem>) -> LoadError {
        LoadError {
            source: display_source(source).to_string(),
            problems,
        }
    }
}

fn display_source(source: &str) -> &str {
    if source == "-" {
        "<stdin>"
    } else {
        source
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.path.is_empty() {
                write!(f, "{}: {}", self.source, p.message)?;
            } else {
                write!(f, "{}: {}: {}", self.source, p.path, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

const WHAT_WE_READ: &str =
    "a baseline object (the output of `aws ssm get-patch-baseline`) or a BaselineOverride array of them";

/// Parse and validate `text` (the content of `source`). Every problem in the document is
/// reported, each with its JSON path.
pub fn load(source: &str, text: &str) -> Result<BaselineDocument, LoadError> {
    let fail = |problem: Problem| LoadError::new(source, vec![problem]);
    // Editors on Windows like to start files with a byte-order mark; JSON parsers do not.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(fail(Problem::new(
            "",
            format!("empty; expected {WHAT_WE_READ}"),
        )));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| fail(Problem::new("", format!("not valid JSON: {e}"))))?;

    let mut walker = Walker::default();
    let document = match &value {
        Value::Object(_) => walker
            .baseline(&value, "", true)
            .map(BaselineDocument::Single),
        Value::Array(items) if items.is_empty() => {
            walker.report(
                "",
                "empty BaselineOverride array; it needs one entry per operating system",
            );
            None
        }
        Value::Array(items) => {
            let entries: Vec<Option<Baseline>> = items
                .iter()
                .enumerate()
                .map(|(i, item)| walker.baseline(item, &index("", i), false))
                .collect();
            entries
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(BaselineDocument::Override)
        }
        other => {
            walker.report(
                "",
                format!("expected {WHAT_WE_READ}, found {}", describe(other)),
            );
            None
        }
    };
    match document {
        Some(document) if walker.problems.is_empty() => Ok(document),
        _ => Err(LoadError::new(source, walker.problems)),
    }
}

impl Baseline {
    /// The document in the `aws ssm get-patch-baseline` shape (PascalCase), as `baseline default`
    /// prints it; `load` of this output gives back an equal baseline.
    pub fn to_aws_json(&self) -> Value {
        let mut doc = Map::new();
        let mut put = |key: &str, value: Value| {
            doc.insert(key.to_string(), value);
        };
        if let Some(id) = &self.baseline_id {
            put("BaselineId", json!(id));
        }
        if let Some(name) = &self.name {
            put("Name", json!(name));
        }
        put("OperatingSystem", json!(self.operating_system.as_str()));
        put("GlobalFilters", filter_group_json(&self.global_filters));
        let rules: Vec<Value> = self
            .approval_rules
            .iter()
            .map(|rule| {
                let mut r = Map::new();
                r.insert("PatchFilterGroup".into(), filter_group_json(&rule.filters));
                r.insert(
                    "ComplianceLevel".into(),
                    json!(rule.compliance_level.as_str()),
                );
                match rule.approval {
                    Approval::AfterDays(days) => r.insert("ApproveAfterDays".into(), json!(days)),
                    Approval::UntilDate(date) => r.insert(
                        "ApproveUntilDate".into(),
                        json!(date.format("%Y-%m-%d").to_string()),
                    ),
                };
                r.insert("EnableNonSecurity".into(), json!(rule.enable_non_security));
                Value::Object(r)
            })
            .collect();
        put("ApprovalRules", json!({ "PatchRules": rules }));
        put("ApprovedPatches", json!(self.approved_patches));
        put(
            "ApprovedPatchesComplianceLevel",
            json!(self.approved_patches_compliance_level.as_str()),
        );
        put(
            "ApprovedPatchesEnableNonSecurity",
            json!(self.approved_patches_enable_non_security),
        );
        put("RejectedPatches", json!(self.rejected_patches));
        put(
            "RejectedPatchesAction",
            json!(self.rejected_patches_action.as_str()),
        );
        put("PatchGroups", json!(self.patch_groups));
        if let Some(t) = self.created_date {
            put("CreatedDate", json!(t));
        }
        if let Some(t) = self.modified_date {
            put("ModifiedDate", json!(t));
        }
        if let Some(description) = &self.description {
            put("Description", json!(description));
        }
        let sources: Vec<Value> = self
            .sources
            .iter()
            .map(|s| {
                json!({
                    "Name": s.name,
                    "Products": s.products,
                    "Configuration": s.configuration,
                })
            })
            .collect();
        put("Sources", Value::Array(sources));
        Value::Object(doc)
    }
}

fn filter_group_json(filters: &[PatchFilter]) -> Value {
    let filters: Vec<Value> = filters
        .iter()
        .map(|f| json!({ "Key": f.key.as_str(), "Values": f.values }))
        .collect();
    json!({ "PatchFilters": filters })
}
