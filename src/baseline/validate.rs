//! The hand-written walk over a parsed document: builds the typed [`Baseline`] and records every
//! problem with its JSON path. Nothing here stops at the first problem; a value with a problem
//! is replaced by a default so the walk can go on, and the caller throws the result away when
//! any problem was recorded.
//!
//! Limits are the AWS API's (semantics §1.1); the extra checks (filter values per OS, a leading
//! `-` in package patterns, duplicate source names) are documented in docs/baseline.md.

use chrono::{DateTime, Datelike, NaiveDate};
use serde_json::{Map, Value};

use super::load::Problem;
use super::{
    Approval, Baseline, ComplianceLevel, FilterKey, OperatingSystem, PatchFilter, PatchRule,
    PatchSource, RejectedPatchesAction,
};

type Object = Map<String, Value>;

/// Fields of a `get-patch-baseline` response, in the order AWS prints them. The read-only ones
/// (BaselineId, Name, CreatedDate, ModifiedDate, Description, PatchGroups) are kept;
/// AvailableSecurityUpdatesComplianceStatus (Windows only) is checked and dropped.
pub(super) const BASELINE_FIELDS: &[&str] = &[
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
    "ModifiedDate",
    "Description",
    "Sources",
    "AvailableSecurityUpdatesComplianceStatus",
];
const GROUP_FIELDS: &[&str] = &["PatchFilters"];
const RULES_FIELDS: &[&str] = &["PatchRules"];
const RULE_FIELDS: &[&str] = &[
    "PatchFilterGroup",
    "ComplianceLevel",
    "ApproveAfterDays",
    "ApproveUntilDate",
    "EnableNonSecurity",
];
const FILTER_FIELDS: &[&str] = &["Key", "Values"];
const SOURCE_FIELDS: &[&str] = &["Name", "Products", "Configuration"];

pub(super) const MAX_RULES: usize = 10;
pub(super) const MAX_FILTER_VALUES: usize = 20;
pub(super) const MAX_FILTER_VALUE_CHARS: usize = 64;
pub(super) const MAX_PATCHES: usize = 50;
pub(super) const MAX_PATCH_CHARS: usize = 100;
pub(super) const MAX_SOURCES: usize = 20;
pub(super) const MAX_PRODUCTS: usize = 20;
pub(super) const MAX_PRODUCT_CHARS: usize = 128;
pub(super) const MAX_CONFIGURATION_CHARS: usize = 1024;
pub(super) const MAX_DESCRIPTION_CHARS: usize = 1024;
pub(super) const MAX_PATCH_GROUP_CHARS: usize = 256;
pub(super) const MAX_APPROVE_AFTER_DAYS: u32 = 360;

const REJECTED_ACTIONS: [RejectedPatchesAction; 2] = [
    RejectedPatchesAction::AllowAsDependency,
    RejectedPatchesAction::Block,
];
const SECURITY_COMPLIANCE_STATUSES: [&str; 2] = ["COMPLIANT", "NON_COMPLIANT"];

/// `path.key`, or `key` at the top of a single document.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[i]`.
pub(super) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Collects problems while building a [`Baseline`].
#[derive(Debug, Default)]
pub(super) struct Walker {
    pub(super) problems: Vec<Problem>,
}

impl Walker {
    pub(super) fn report(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn wrong_type(&mut self, path: &str, expected: &str, found: &Value) {
        self.report(
            path,
            format!("expected {expected}, found {}", describe(found)),
        );
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str, expected: &str) -> Option<&'v Object> {
        match v {
            Value::Object(map) => Some(map),
            other => {
                self.wrong_type(path, expected, other);
                None
            }
        }
    }

    fn array<'v>(&mut self, v: &'v Value, path: &str, expected: &str) -> Option<&'v [Value]> {
        match v {
            Value::Array(items) => Some(items),
            other => {
                self.wrong_type(path, expected, other);
                None
            }
        }
    }

    fn string<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, path: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(path, "true or false", other);
                None
            }
        }
    }

    /// The value of a required field, or a "required but missing" problem at `path.key` —
    /// unless the object has a misspelling of it, which [`Self::unknown_fields`] reports.
    fn required<'v>(
        &mut self,
        obj: &'v Object,
        path: &str,
        (key, known): (&str, &[&str]),
        hint: &str,
    ) -> Option<&'v Value> {
        let v = obj.get(key);
        if v.is_none() && !misspelled(obj, key, known) {
            self.report(&join(path, key), format!("required but missing{hint}"));
        }
        v
    }

    /// Run `check` on an optional field (with its path) when it is present.
    fn optional<T>(
        &mut self,
        obj: &Object,
        path: &str,
        key: &str,
        check: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<T> {
        let v = obj.get(key)?;
        check(self, v, &join(path, key))
    }

    /// Report every field of `obj` that is not in `known`, suggesting a near miss.
    fn unknown_fields(&mut self, obj: &Object, path: &str, known: &[&str]) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let message = match suggest(key, known) {
                Some(near) => format!("unknown field {} (did you mean {near}?)", show_key(key)),
                None => format!(
                    "unknown field {}; fields allowed here: {}",
                    show_key(key),
                    known.join(", ")
                ),
            };
            self.report(path, message);
        }
    }

    /// A string that must be one of `all` (by their AWS spelling).
    fn enumerated<T: Copy>(
        &mut self,
        v: &Value,
        path: &str,
        what: &str,
        all: &[T],
        name: fn(T) -> &'static str,
    ) -> Option<T> {
        let s = self.string(v, path)?;
        if let Some(found) = all.iter().copied().find(|t| name(*t) == s) {
            return Some(found);
        }
        let names: Vec<&str> = all.iter().map(|t| name(*t)).collect();
        self.report(path, unknown_value(what, s, &names, "allowed"));
        None
    }

    /// Check a string's length in characters; false (with a problem) when out of `min..=max`.
    fn length(&mut self, s: &str, path: &str, min: usize, max: usize) -> bool {
        let n = s.chars().count();
        if n == 0 && min > 0 {
            self.report(
                path,
                format!("empty string; {min} to {max} characters allowed"),
            );
            false
        } else if n < min {
            self.report(
                path,
                format!(
                    "{} has {n} characters; at least {min} required",
                    show_str(s)
                ),
            );
            false
        } else if n > max {
            self.report(
                path,
                format!("{} has {n} characters; at most {max} allowed", show_str(s)),
            );
            false
        } else {
            true
        }
    }

    /// A string of ASCII letters, digits and `extra`, `min..=max` long (`pattern` names it).
    fn pattern(
        &mut self,
        v: &Value,
        path: &str,
        extra: &str,
        (min, max): (usize, usize),
        pattern: &str,
    ) -> Option<String> {
        let s = self.string(v, path)?;
        let n = s.chars().count();
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(*c)))
        {
            self.report(
                path,
                format!(
                    "{} contains {c:?}, which {pattern} does not allow",
                    show_str(s)
                ),
            );
            return None;
        }
        if !(min..=max).contains(&n) {
            self.report(
                path,
                format!(
                    "{} has {n} characters; {pattern} needs {min} to {max}",
                    show_str(s)
                ),
            );
            return None;
        }
        Some(s.to_string())
    }

    /// An array that may hold at most `max` items; too many is reported, the items still walked.
    fn bounded_array<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        expected: &str,
        max: usize,
        noun: &str,
    ) -> &'v [Value] {
        let Some(items) = self.array(v, path, expected) else {
            return &[];
        };
        if items.len() > max {
            self.report(
                path,
                format!("{} {noun}; at most {max} allowed", items.len()),
            );
        }
        items
    }

    // ----- the document -----

    /// One baseline object at `path` (empty for a single document, `[i]` in an array).
    /// `single`: the document is one baseline, so it must be for a system this tool patches.
    pub(super) fn baseline(&mut self, v: &Value, path: &str, single: bool) -> Option<Baseline> {
        let before = self.problems.len();
        let obj = self.object(v, path, "a baseline object")?;
        if obj.contains_key("patchBaseline") {
            self.report(
                path,
                "this looks like a patch snapshot (camelCase keys under patchBaseline); \
                 patchbaseline reads the PascalCase output of `aws ssm get-patch-baseline` \
                 or a BaselineOverride array of such objects",
            );
            return None;
        }

        let os_path = join(path, "OperatingSystem");
        let os = match obj.get("OperatingSystem") {
            None if misspelled(obj, "OperatingSystem", BASELINE_FIELDS) => None,
            None => {
                self.report(
                    &os_path,
                    "required but missing (AWS would default to WINDOWS when creating a \
                     baseline; patchbaseline needs it stated, e.g. \"AMAZON_LINUX_2023\")",
                );
                None
            }
            Some(v) => self.enumerated(
                v,
                &os_path,
                "OperatingSystem",
                &OperatingSystem::ALL,
                OperatingSystem::as_str,
            ),
        };
        if let Some(os @ (OperatingSystem::Windows | OperatingSystem::Macos)) = os {
            if single {
                self.report(
                    &os_path,
                    format!(
                        "{os} baselines cannot be applied by patchbaseline, which patches Linux; \
                         only a BaselineOverride array may carry {os} entries (they are skipped)"
                    ),
                );
            }
        }

        let baseline_id = self.optional(obj, path, "BaselineId", |w, v, p| {
            w.pattern(v, p, "_-:/", (20, 128), r"^[a-zA-Z0-9_\-:/]{20,128}$")
        });
        let name = self.optional(obj, path, "Name", |w, v, p| {
            w.pattern(v, p, "_-.", (3, 128), r"^[a-zA-Z0-9_\-.]{3,128}$")
        });
        let description = self.optional(obj, path, "Description", |w, v, p| {
            let s = w.string(v, p)?;
            w.length(s, p, 1, MAX_DESCRIPTION_CHARS)
                .then(|| s.to_string())
        });
        let patch_groups = self
            .optional(obj, path, "PatchGroups", |w, v, p| {
                Some(w.string_list(v, p, usize::MAX, MAX_PATCH_GROUP_CHARS, "patch groups"))
            })
            .unwrap_or_default();
        let created_date = self.optional(obj, path, "CreatedDate", Self::timestamp);
        let modified_date = self.optional(obj, path, "ModifiedDate", Self::timestamp);

        let global_filters = self
            .optional(obj, path, "GlobalFilters", |w, v, p| {
                Some(w.filter_group(v, p, os))
            })
            .unwrap_or_default();
        let approval_rules = self
            .optional(obj, path, "ApprovalRules", |w, v, p| {
                Some(w.rules(v, p, os))
            })
            .unwrap_or_default();
        let approved_patches = self
            .optional(obj, path, "ApprovedPatches", |w, v, p| {
                Some(w.patch_list(v, p))
            })
            .unwrap_or_default();
        let approved_patches_compliance_level = self
            .optional(obj, path, "ApprovedPatchesComplianceLevel", |w, v, p| {
                w.compliance_level(v, p)
            })
            .unwrap_or_default();
        let approved_patches_enable_non_security = self
            .optional(obj, path, "ApprovedPatchesEnableNonSecurity", |w, v, p| {
                w.boolean(v, p)
            })
            .unwrap_or(false);
        let rejected_patches = self
            .optional(obj, path, "RejectedPatches", |w, v, p| {
                Some(w.patch_list(v, p))
            })
            .unwrap_or_default();
        let rejected_patches_action = self
            .optional(obj, path, "RejectedPatchesAction", |w, v, p| {
                w.enumerated(
                    v,
                    p,
                    "RejectedPatchesAction",
                    &REJECTED_ACTIONS,
                    RejectedPatchesAction::as_str,
                )
            })
            .unwrap_or_default();
        let sources = self
            .optional(obj, path, "Sources", |w, v, p| Some(w.sources(v, p)))
            .unwrap_or_default();
        // Windows only (semantics §1.1): checked so a typo is caught, then dropped.
        self.optional(
            obj,
            path,
            "AvailableSecurityUpdatesComplianceStatus",
            |w, v, p| {
                w.enumerated(
                    v,
                    p,
                    "AvailableSecurityUpdatesComplianceStatus",
                    &SECURITY_COMPLIANCE_STATUSES,
                    |s| s,
                )
            },
        );
        self.unknown_fields(obj, path, BASELINE_FIELDS);

        if self.problems.len() > before {
            return None;
        }
        Some(Baseline {
            baseline_id,
            name,
            description,
            patch_groups,
            created_date,
            modified_date,
            operating_system: os?,
            global_filters,
            approval_rules,
            approved_patches,
            approved_patches_compliance_level,
            approved_patches_enable_non_security,
            rejected_patches,
            rejected_patches_action,
            sources,
        })
    }

    fn compliance_level(&mut self, v: &Value, path: &str) -> Option<ComplianceLevel> {
        self.enumerated(
            v,
            path,
            "ComplianceLevel",
            &ComplianceLevel::ALL,
            ComplianceLevel::as_str,
        )
    }

    /// Epoch seconds (what the AWS CLI prints by default) or an ISO 8601 / RFC 3339 string
    /// (what it prints with `cli_timestamp_format = iso8601`), as epoch seconds.
    fn timestamp(&mut self, v: &Value, path: &str) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9),
                Err(_) => {
                    self.report(
                        path,
                        format!(
                            "{} is not an ISO 8601 timestamp such as \
                             2024-05-01T12:00:00+00:00 (epoch seconds as a number also work)",
                            show_str(s)
                        ),
                    );
                    None
                }
            },
            other => {
                self.wrong_type(
                    path,
                    "epoch seconds (a number) or an ISO 8601 timestamp string",
                    other,
                );
                None
            }
        }
    }

    /// A `PatchFilterGroup`: `{"PatchFilters": [...]}`, each key at most once.
    fn filter_group(
        &mut self,
        v: &Value,
        path: &str,
        os: Option<OperatingSystem>,
    ) -> Vec<PatchFilter> {
        let mut out = Vec::new();
        let Some(obj) = self.object(v, path, r#"an object {"PatchFilters": [...]}"#) else {
            return out;
        };
        let filters_path = join(path, "PatchFilters");
        if let Some(v) = self.required(
            obj,
            path,
            ("PatchFilters", GROUP_FIELDS),
            " (use [] for no filters)",
        ) {
            if let Some(items) = self.array(v, &filters_path, "an array of filters") {
                let mut seen: Vec<(FilterKey, usize)> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let filter_path = index(&filters_path, i);
                    let Some(filter) = self.filter(item, &filter_path, os) else {
                        continue;
                    };
                    match seen.iter().find(|(k, _)| *k == filter.key) {
                        Some((key, first)) => self.report(
                            &join(&filter_path, "Key"),
                            format!(
                                "{key} appears twice in this group (first at PatchFilters[{first}]); \
                                 put all its values in one filter"
                            ),
                        ),
                        None => seen.push((filter.key, i)),
                    }
                    out.push(filter);
                }
            }
        }
        self.unknown_fields(obj, path, GROUP_FIELDS);
        out
    }

    /// One `PatchFilter`.
    fn filter(
        &mut self,
        v: &Value,
        path: &str,
        os: Option<OperatingSystem>,
    ) -> Option<PatchFilter> {
        let obj = self.object(v, path, r#"a filter {"Key": ..., "Values": [...]}"#)?;
        let key_path = join(path, "Key");
        let key = self
            .required(obj, path, ("Key", FILTER_FIELDS), "")
            .and_then(|v| self.string(v, &key_path))
            .and_then(|s| self.filter_key(s, &key_path, os));
        let values = self
            .required(obj, path, ("Values", FILTER_FIELDS), "")
            .map(|v| self.filter_values(v, &join(path, "Values"), os, key))
            .unwrap_or_default();
        self.unknown_fields(obj, path, FILTER_FIELDS);
        Some(PatchFilter { key: key?, values })
    }

    fn filter_key(
        &mut self,
        s: &str,
        path: &str,
        os: Option<OperatingSystem>,
    ) -> Option<FilterKey> {
        let allowed: Vec<&str> = match os {
            Some(os) => os
                .allowed_filter_keys()
                .iter()
                .map(|k| k.as_str())
                .collect(),
            None => FilterKey::ALL.iter().map(|k| k.as_str()).collect(),
        };
        let label = match os {
            Some(os) => format!("allowed for {os}"),
            None => "allowed".to_string(),
        };
        match FilterKey::parse(s) {
            None => {
                self.report(path, unknown_value("filter key", s, &allowed, &label));
                None
            }
            Some(key) if !allowed.contains(&key.as_str()) => {
                let os = os.map(|os| os.as_str()).unwrap_or_default();
                self.report(
                    path,
                    format!(
                        "{key} is not a filter key for {os}; allowed: {}",
                        allowed.join(", ")
                    ),
                );
                None
            }
            Some(key) => Some(key),
        }
    }

    fn filter_values(
        &mut self,
        v: &Value,
        path: &str,
        os: Option<OperatingSystem>,
        key: Option<FilterKey>,
    ) -> Vec<String> {
        let items = self.bounded_array(v, path, "an array of strings", MAX_FILTER_VALUES, "values");
        if let Value::Array(a) = v {
            if a.is_empty() {
                self.report(
                    path,
                    format!(
                        "empty; a filter needs 1 to {MAX_FILTER_VALUES} values (use [\"*\"] to match everything)"
                    ),
                );
            }
        }
        let vocabulary = match (os, key) {
            (Some(os), Some(key)) => os.filter_values(key).map(|values| (os, key, values)),
            _ => None,
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = index(path, i);
            let Some(s) = self.string(item, &item_path) else {
                continue;
            };
            if !self.length(s, &item_path, 1, MAX_FILTER_VALUE_CHARS) {
                continue;
            }
            if let Some((os, key, values)) = vocabulary {
                if s != "*" && !values.contains(&s) {
                    let mut allowed = values.to_vec();
                    allowed.push("*");
                    self.report(
                        &item_path,
                        unknown_value(
                            &format!("{key} value"),
                            s,
                            &allowed,
                            &format!("allowed for {os}"),
                        ),
                    );
                    continue;
                }
            }
            out.push(s.to_string());
        }
        out
    }

    /// `ApprovalRules`: `{"PatchRules": [...]}`, at most 10 rules.
    fn rules(&mut self, v: &Value, path: &str, os: Option<OperatingSystem>) -> Vec<PatchRule> {
        let mut out = Vec::new();
        let Some(obj) = self.object(v, path, r#"an object {"PatchRules": [...]}"#) else {
            return out;
        };
        let rules_path = join(path, "PatchRules");
        if let Some(v) = self.required(
            obj,
            path,
            ("PatchRules", RULES_FIELDS),
            " (use [] for no rules)",
        ) {
            let items = self.bounded_array(v, &rules_path, "an array of rules", MAX_RULES, "rules");
            for (i, item) in items.iter().enumerate() {
                out.extend(self.rule(item, &index(&rules_path, i), os));
            }
        }
        self.unknown_fields(obj, path, RULES_FIELDS);
        out
    }

    /// One `PatchRule`.
    fn rule(&mut self, v: &Value, path: &str, os: Option<OperatingSystem>) -> Option<PatchRule> {
        let obj = self.object(v, path, "a rule object")?;
        let filters = self
            .required(
                obj,
                path,
                ("PatchFilterGroup", RULE_FIELDS),
                r#" (every rule needs one; {"PatchFilters": []} matches every update)"#,
            )
            .map(|v| self.filter_group(v, &join(path, "PatchFilterGroup"), os))
            .unwrap_or_default();
        let days = self.optional(obj, path, "ApproveAfterDays", Self::approve_after_days);
        let until = self.optional(obj, path, "ApproveUntilDate", Self::approve_until_date);
        let compliance_level = self
            .optional(obj, path, "ComplianceLevel", Self::compliance_level)
            .unwrap_or_default();
        let enable_non_security = self
            .optional(obj, path, "EnableNonSecurity", Self::boolean)
            .unwrap_or(false);
        self.unknown_fields(obj, path, RULE_FIELDS);

        let approval = match (
            obj.contains_key("ApproveAfterDays"),
            obj.contains_key("ApproveUntilDate"),
        ) {
            (true, true) => {
                self.report(
                    path,
                    "has both ApproveAfterDays and ApproveUntilDate; use exactly one",
                );
                None
            }
            (true, false) => days.map(Approval::AfterDays),
            (false, true) => until.map(Approval::UntilDate),
            // apt systems ignore approval delays; AWS stores a rule without either.
            (false, false) if os.is_some_and(OperatingSystem::is_apt) => {
                Some(Approval::AfterDays(0))
            }
            (false, false) => {
                let misspelled_one = misspelled(obj, "ApproveAfterDays", RULE_FIELDS)
                    || misspelled(obj, "ApproveUntilDate", RULE_FIELDS);
                if os.is_some() && !misspelled_one {
                    self.report(
                        path,
                        format!(
                            "has neither ApproveAfterDays nor ApproveUntilDate; add one \
                             (ApproveAfterDays: 0..={MAX_APPROVE_AFTER_DAYS} days after release, \
                             or ApproveUntilDate: \"YYYY-MM-DD\")"
                        ),
                    );
                }
                None
            }
        };
        Some(PatchRule {
            filters,
            approval: approval?,
            compliance_level,
            enable_non_security,
        })
    }

    fn approve_after_days(&mut self, v: &Value, path: &str) -> Option<u32> {
        let Value::Number(n) = v else {
            self.wrong_type(
                path,
                &format!("a whole number of days 0..={MAX_APPROVE_AFTER_DAYS}"),
                v,
            );
            return None;
        };
        let max = f64::from(MAX_APPROVE_AFTER_DAYS);
        let days = n.as_f64().unwrap_or(f64::NAN);
        if days.fract() != 0.0 {
            self.report(
                path,
                format!("{n} is not a whole number of days (0..={MAX_APPROVE_AFTER_DAYS})"),
            );
            None
        } else if !(0.0..=max).contains(&days) {
            self.report(path, format!("{n} is outside 0..={MAX_APPROVE_AFTER_DAYS}"));
            None
        } else {
            // Whole and within 0..=360, so the conversion is exact.
            Some(days as u32)
        }
    }

    fn approve_until_date(&mut self, v: &Value, path: &str) -> Option<NaiveDate> {
        let s = self.string(v, path)?;
        let shape = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape {
            self.report(
                path,
                format!("{} is not a date in the form YYYY-MM-DD", show_str(s)),
            );
            return None;
        }
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.report(
                    path,
                    format!("{} is not a real date: {}", show_str(s), why_no_date(s)),
                );
                None
            }
        }
    }

    /// `ApprovedPatches` / `RejectedPatches`.
    fn patch_list(&mut self, v: &Value, path: &str) -> Vec<String> {
        let list = self.string_list(v, path, MAX_PATCHES, MAX_PATCH_CHARS, "entries");
        for (i, s) in list.iter().enumerate() {
            if s.starts_with('-') {
                self.report(
                    &index(path, i),
                    format!(
                        "{} starts with '-', which a package manager could take as an option; \
                         package names never start with '-'",
                        show_str(s)
                    ),
                );
            }
        }
        list
    }

    /// An array of at most `max_items` strings of 1..=`max_chars` characters each; the valid
    /// strings are returned (their indexes shift when some are bad, but then the walk's result
    /// is discarded anyway).
    fn string_list(
        &mut self,
        v: &Value,
        path: &str,
        max_items: usize,
        max_chars: usize,
        noun: &str,
    ) -> Vec<String> {
        let items = self.bounded_array(v, path, "an array of strings", max_items, noun);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = index(path, i);
            if let Some(s) = self.string(item, &item_path) {
                if self.length(s, &item_path, 1, max_chars) {
                    out.push(s.to_string());
                }
            }
        }
        out
    }

    /// `Sources`: at most 20, names unique.
    fn sources(&mut self, v: &Value, path: &str) -> Vec<PatchSource> {
        let items = self.bounded_array(v, path, "an array of sources", MAX_SOURCES, "sources");
        let mut out: Vec<PatchSource> = Vec::new();
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let source_path = index(path, i);
            let Some(source) = self.source(item, &source_path) else {
                continue;
            };
            match names.iter().find(|(n, _)| *n == source.name) {
                Some((name, first)) => self.report(
                    &join(&source_path, "Name"),
                    format!(
                        "{} is also the name of Sources[{first}]; source names must be unique",
                        show_str(name)
                    ),
                ),
                None => names.push((source.name.clone(), i)),
            }
            out.push(source);
        }
        out
    }

    fn source(&mut self, v: &Value, path: &str) -> Option<PatchSource> {
        let obj = self.object(v, path, "a source object")?;
        let name_path = join(path, "Name");
        let name = self
            .required(obj, path, ("Name", SOURCE_FIELDS), "")
            .and_then(|v| self.pattern(v, &name_path, "_-.", (3, 50), r"^[a-zA-Z0-9_\-.]{3,50}$"));
        let products_path = join(path, "Products");
        let products = self
            .required(obj, path, ("Products", SOURCE_FIELDS), "")
            .map(|v| {
                let products = self.string_list(
                    v,
                    &products_path,
                    MAX_PRODUCTS,
                    MAX_PRODUCT_CHARS,
                    "products",
                );
                if v.as_array().is_some_and(|a| a.is_empty()) {
                    self.report(
                        &products_path,
                        format!(
                        "empty; a source needs 1 to {MAX_PRODUCTS} products (use [\"*\"] for all)"
                    ),
                    );
                }
                products
            });
        let configuration_path = join(path, "Configuration");
        let configuration = self
            .required(obj, path, ("Configuration", SOURCE_FIELDS), "")
            .and_then(|v| self.string(v, &configuration_path))
            .filter(|s| self.length(s, &configuration_path, 1, MAX_CONFIGURATION_CHARS))
            .map(str::to_string);
        self.unknown_fields(obj, path, SOURCE_FIELDS);
        Some(PatchSource {
            name: name?,
            products: products?,
            configuration: configuration?,
        })
    }
}

/// Whether `obj` has an unknown field that is a near miss of `key` (so a "missing" problem for
/// `key` would only repeat the "unknown field … (did you mean key?)" one).
fn misspelled(obj: &Object, key: &str, known: &[&str]) -> bool {
    obj.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .any(|k| suggest(k, known) == Some(key))
}

/// How a found value reads in a message: `the number 400`, `the string "x"`, `an array`, ….
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", show_str(s)),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// A string as JSON, cut after 40 characters.
pub(super) fn show_str(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() <= SHOWN {
        Value::from(s).to_string()
    } else {
        let head: String = s.chars().take(SHOWN).collect();
        format!("{}…", Value::from(head))
    }
}

/// A field name as written: bare when it is a plain identifier, quoted otherwise.
fn show_key(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        key.to_string()
    } else {
        show_str(key)
    }
}

/// `unknown <what> "<found>" (did you mean X?); <label>: A, B, C`.
fn unknown_value(what: &str, found: &str, allowed: &[&str], label: &str) -> String {
    let hint = suggest(found, allowed)
        .map(|near| format!(" (did you mean {near}?)"))
        .unwrap_or_default();
    format!(
        "unknown {what} {}{hint}; {label}: {}",
        show_str(found),
        allowed.join(", ")
    )
}

/// The candidate closest to `found` (ignoring case), when it is close enough to be a typo.
pub(super) fn suggest<'a>(found: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Same letters, only case or separators differ (`amazon-linux-2`, `AMAZON_LINUX2`).
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    if let Some(same) = candidates.iter().find(|c| bare(c) == bare(found)) {
        return Some(same);
    }
    let found_lower = found.to_lowercase();
    let limit = match found.chars().count() {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (edit_distance(&found_lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Why a `YYYY-MM-DD` string that has the right shape is not a date.
fn why_no_date(s: &str) -> String {
    let field = |range: std::ops::Range<usize>| s.get(range).and_then(|f| f.parse::<u32>().ok());
    let (Some(year), Some(month)) = (field(0..4), field(5..7)) else {
        return "expected YYYY-MM-DD".to_string();
    };
    if !(1..=12).contains(&month) {
        return format!("there is no month {month}");
    }
    let first = NaiveDate::from_ymd_opt(year as i32, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year as i32 + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year as i32, month + 1, 1)
    };
    match (first, next) {
        (Some(first), Some(next)) => {
            let days = next.signed_duration_since(first).num_days();
            format!("{year:04}-{:02} has {days} days", first.month())
        }
        _ => "expected YYYY-MM-DD".to_string(),
    }
}
