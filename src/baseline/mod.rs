//! The AWS patch baseline document: the serde-free typed model the engine reads, loading and
//! validation of the JSON that `aws ssm get-patch-baseline` prints (or a `BaselineOverride` array),
//! and the predefined baselines.
//!
//! Loading walks the JSON by hand rather than through `#[derive(Deserialize)]` so that every
//! problem is reported with its JSON path and the allowed values, and so that the whole document
//! is checked before anything else happens (all problems at once, not the first one).

mod load;
mod predefined;
mod validate;

pub use load::{load, BaselineDocument, LoadError, Problem};
pub use predefined::predefined;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The AWS `OperatingSystem` enum. Linux values are supported by the engine; WINDOWS and MACOS are
/// accepted in BaselineOverride arrays (so a fleet-wide file loads) but never selected here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatingSystem {
    Windows,
    AmazonLinux,
    #[serde(rename = "AMAZON_LINUX_2")]
    AmazonLinux2,
    #[serde(rename = "AMAZON_LINUX_2022")]
    AmazonLinux2022,
    #[serde(rename = "AMAZON_LINUX_2023")]
    AmazonLinux2023,
    Ubuntu,
    RedhatEnterpriseLinux,
    Suse,
    Centos,
    OracleLinux,
    Debian,
    Macos,
    Raspbian,
    RockyLinux,
    AlmaLinux,
}

impl OperatingSystem {
    pub const ALL: [OperatingSystem; 15] = [
        OperatingSystem::Windows,
        OperatingSystem::AmazonLinux,
        OperatingSystem::AmazonLinux2,
        OperatingSystem::AmazonLinux2022,
        OperatingSystem::AmazonLinux2023,
        OperatingSystem::Ubuntu,
        OperatingSystem::RedhatEnterpriseLinux,
        OperatingSystem::Suse,
        OperatingSystem::Centos,
        OperatingSystem::OracleLinux,
        OperatingSystem::Debian,
        OperatingSystem::Macos,
        OperatingSystem::Raspbian,
        OperatingSystem::RockyLinux,
        OperatingSystem::AlmaLinux,
    ];

    /// The AWS spelling, e.g. `AMAZON_LINUX_2023`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatingSystem::Windows => "WINDOWS",
            OperatingSystem::AmazonLinux => "AMAZON_LINUX",
            OperatingSystem::AmazonLinux2 => "AMAZON_LINUX_2",
            OperatingSystem::AmazonLinux2022 => "AMAZON_LINUX_2022",
            OperatingSystem::AmazonLinux2023 => "AMAZON_LINUX_2023",
            OperatingSystem::Ubuntu => "UBUNTU",
            OperatingSystem::RedhatEnterpriseLinux => "REDHAT_ENTERPRISE_LINUX",
            OperatingSystem::Suse => "SUSE",
            OperatingSystem::Centos => "CENTOS",
            OperatingSystem::OracleLinux => "ORACLE_LINUX",
            OperatingSystem::Debian => "DEBIAN",
            OperatingSystem::Macos => "MACOS",
            OperatingSystem::Raspbian => "RASPBIAN",
            OperatingSystem::RockyLinux => "ROCKY_LINUX",
            OperatingSystem::AlmaLinux => "ALMA_LINUX",
        }
    }

    pub fn parse(s: &str) -> Option<OperatingSystem> {
        OperatingSystem::ALL.into_iter().find(|os| os.as_str() == s)
    }

    /// apt systems (Debian, Ubuntu, Raspbian): PRIORITY/SECTION filters, no dates, plain names.
    pub fn is_apt(self) -> bool {
        matches!(
            self,
            OperatingSystem::Debian | OperatingSystem::Ubuntu | OperatingSystem::Raspbian
        )
    }

    /// The package format of this system (apt systems are Debian, every other Linux is RPM).
    pub fn family(self) -> crate::model::Family {
        if self.is_apt() {
            crate::model::Family::Deb
        } else {
            crate::model::Family::Rpm
        }
    }

    /// The filter keys a baseline for this system may use (DescribePatchProperties, semantics §2).
    pub fn allowed_filter_keys(self) -> &'static [FilterKey] {
        use FilterKey::*;
        match self {
            OperatingSystem::Debian | OperatingSystem::Ubuntu | OperatingSystem::Raspbian => {
                &[Product, Priority, Section]
            }
            OperatingSystem::Windows => &[
                Product,
                ProductFamily,
                Classification,
                MsrcSeverity,
                PatchSet,
            ],
            OperatingSystem::Macos => &[Product, Classification],
            _ => &[Product, Classification, Severity],
        }
    }

    /// The values a filter `key` may take on this system (besides `*`, always allowed), or None
    /// when the values are free text (PRODUCT, SECTION) or not checked (WINDOWS, MACOS).
    ///
    /// The authoritative lists come from `aws ssm describe-patch-properties`; these are the
    /// documented ones (semantics §2). SEVERITY on the RPM family is the union of what AWS
    /// documents (Critical, Important, Medium, Low), what vendor updateinfo uses and the Oracle
    /// default baseline relies on (Moderate), and AL2023's `None`.
    pub fn filter_values(self, key: FilterKey) -> Option<&'static [&'static str]> {
        use OperatingSystem::*;
        match (self, key) {
            (Windows | Macos, _) => None,
            (Debian | Ubuntu | Raspbian, FilterKey::Priority) => {
                Some(&["Required", "Important", "Standard", "Optional", "Extra"])
            }
            (Suse, FilterKey::Classification) => Some(&[
                "Security",
                "Recommended",
                "Optional",
                "Feature",
                "Document",
                "Yast",
            ]),
            (Suse, FilterKey::Severity) => Some(&["Critical", "Important", "Moderate", "Low"]),
            (_, FilterKey::Classification) if !self.is_apt() => Some(&[
                "Security",
                "Bugfix",
                "Enhancement",
                "Recommended",
                "Newpackage",
            ]),
            (_, FilterKey::Severity) if !self.is_apt() => {
                Some(&["Critical", "Important", "Medium", "Moderate", "Low", "None"])
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for OperatingSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `PatchFilter.Key` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilterKey {
    Arch,
    AdvisoryId,
    BugzillaId,
    PatchSet,
    Product,
    ProductFamily,
    Classification,
    CveId,
    Epoch,
    MsrcSeverity,
    Name,
    PatchId,
    Section,
    Priority,
    Repository,
    Release,
    Severity,
    Security,
    Version,
}

impl FilterKey {
    pub const ALL: [FilterKey; 19] = [
        FilterKey::Arch,
        FilterKey::AdvisoryId,
        FilterKey::BugzillaId,
        FilterKey::PatchSet,
        FilterKey::Product,
        FilterKey::ProductFamily,
        FilterKey::Classification,
        FilterKey::CveId,
        FilterKey::Epoch,
        FilterKey::MsrcSeverity,
        FilterKey::Name,
        FilterKey::PatchId,
        FilterKey::Section,
        FilterKey::Priority,
        FilterKey::Repository,
        FilterKey::Release,
        FilterKey::Severity,
        FilterKey::Security,
        FilterKey::Version,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FilterKey::Arch => "ARCH",
            FilterKey::AdvisoryId => "ADVISORY_ID",
            FilterKey::BugzillaId => "BUGZILLA_ID",
            FilterKey::PatchSet => "PATCH_SET",
            FilterKey::Product => "PRODUCT",
            FilterKey::ProductFamily => "PRODUCT_FAMILY",
            FilterKey::Classification => "CLASSIFICATION",
            FilterKey::CveId => "CVE_ID",
            FilterKey::Epoch => "EPOCH",
            FilterKey::MsrcSeverity => "MSRC_SEVERITY",
            FilterKey::Name => "NAME",
            FilterKey::PatchId => "PATCH_ID",
            FilterKey::Section => "SECTION",
            FilterKey::Priority => "PRIORITY",
            FilterKey::Repository => "REPOSITORY",
            FilterKey::Release => "RELEASE",
            FilterKey::Severity => "SEVERITY",
            FilterKey::Security => "SECURITY",
            FilterKey::Version => "VERSION",
        }
    }

    pub fn parse(s: &str) -> Option<FilterKey> {
        FilterKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for FilterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ComplianceLevel`, ordered: UNSPECIFIED < INFORMATIONAL < LOW < MEDIUM < HIGH < CRITICAL.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceLevel {
    #[default]
    Unspecified,
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl ComplianceLevel {
    pub const ALL: [ComplianceLevel; 6] = [
        ComplianceLevel::Critical,
        ComplianceLevel::High,
        ComplianceLevel::Medium,
        ComplianceLevel::Low,
        ComplianceLevel::Informational,
        ComplianceLevel::Unspecified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceLevel::Unspecified => "UNSPECIFIED",
            ComplianceLevel::Informational => "INFORMATIONAL",
            ComplianceLevel::Low => "LOW",
            ComplianceLevel::Medium => "MEDIUM",
            ComplianceLevel::High => "HIGH",
            ComplianceLevel::Critical => "CRITICAL",
        }
    }

    pub fn parse(s: &str) -> Option<ComplianceLevel> {
        ComplianceLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for ComplianceLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `RejectedPatchesAction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectedPatchesAction {
    /// A rejected package may still be installed as a dependency of an approved one; installed
    /// rejected packages are InstalledOther.
    #[default]
    AllowAsDependency,
    /// A rejected package is never installed; installed ones are InstalledRejected.
    Block,
}

impl RejectedPatchesAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectedPatchesAction::AllowAsDependency => "ALLOW_AS_DEPENDENCY",
            RejectedPatchesAction::Block => "BLOCK",
        }
    }
}

/// One `PatchFilter`: the package passes when its attribute for `key` is one of `values`
/// (`*` matches everything, including a missing attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchFilter {
    pub key: FilterKey,
    pub values: Vec<String>,
}

/// The cut-off of an approval rule. Ignored on apt systems ([`OperatingSystem::is_apt`]): their
/// repositories carry no reliable release dates, AWS documents both fields as not supported
/// there, and every update that passes the filters is approved immediately; there a rule with
/// neither field loads as `AfterDays(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Approved this many days after the release date (0..=360).
    AfterDays(u32),
    /// Approved when released on or before this UTC date (the whole day).
    UntilDate(NaiveDate),
}

/// One `PatchRule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchRule {
    /// `PatchFilterGroup.PatchFilters`: all must pass.
    pub filters: Vec<PatchFilter>,
    pub approval: Approval,
    pub compliance_level: ComplianceLevel,
    pub enable_non_security: bool,
}

/// One `PatchSource`: alternative repositories for the products it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchSource {
    pub name: String,
    pub products: Vec<String>,
    /// A yum/dnf `.repo` file body, or `sources.list` lines for apt.
    pub configuration: String,
}

/// A validated patch baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Read-only fields of `get-patch-baseline`, kept for the report.
    pub baseline_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub patch_groups: Vec<String>,
    pub created_date: Option<f64>,
    pub modified_date: Option<f64>,

    pub operating_system: OperatingSystem,
    pub global_filters: Vec<PatchFilter>,
    pub approval_rules: Vec<PatchRule>,
    pub approved_patches: Vec<String>,
    pub approved_patches_compliance_level: ComplianceLevel,
    pub approved_patches_enable_non_security: bool,
    pub rejected_patches: Vec<String>,
    pub rejected_patches_action: RejectedPatchesAction,
    pub sources: Vec<PatchSource>,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod serde_spelling {
    use super::OperatingSystem;

    #[test]
    fn serde_uses_the_aws_spelling_for_every_system() {
        for os in OperatingSystem::ALL {
            let json = serde_json::to_string(&os).unwrap();
            assert_eq!(json, format!("\"{}\"", os.as_str()));
            assert_eq!(serde_json::from_str::<OperatingSystem>(&json).unwrap(), os);
        }
    }
}
