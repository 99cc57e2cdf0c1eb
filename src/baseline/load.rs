//! Loading and validating baseline documents (stub: implemented by the baseline work).

use super::{Baseline, OperatingSystem};

/// A loaded document: one baseline (`get-patch-baseline` output) or a `BaselineOverride` array.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one document per run
pub enum BaselineDocument {
    Single(Baseline),
    Override(Vec<Baseline>),
}

impl BaselineDocument {
    /// The baseline for `os`: a single document must be for `os`; an array must have exactly one
    /// entry for `os`. `source` names the file in errors.
    pub fn select(self, os: OperatingSystem, source: &str) -> Result<Baseline, LoadError> {
        let _ = (os, source);
        todo!("baseline selection")
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

/// Every problem found in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file as the user named it (`-` is shown as `<stdin>`).
    pub source: String,
    pub problems: Vec<Problem>,
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

/// Parse and validate `text` (the content of `source`).
pub fn load(source: &str, text: &str) -> Result<BaselineDocument, LoadError> {
    let _ = (source, text);
    todo!("baseline loading")
}

impl Baseline {
    /// The document in the `aws ssm get-patch-baseline` shape (PascalCase), as `baseline default`
    /// prints it; `load` of this output gives back an equal baseline.
    pub fn to_aws_json(&self) -> serde_json::Value {
        todo!("baseline serialisation")
    }
}
