//! Packages, versions, advisories and per-package states: data only, no I/O.
//!
//! An [`Inventory`] is everything the decision engine needs to know about one system. Backends
//! (dnf, yum, apt) produce one from the real package manager; `scan --inventory FILE` reads one
//! from JSON (schema in `docs/inventory.md`), so the same engine can be asked "what if".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::baseline::OperatingSystem;

/// The package format, which decides version ordering and the pattern forms of §4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// RPM: versions are `[epoch:]version-release`, ordered like `rpm.vercmp`.
    #[default]
    Rpm,
    /// Debian: versions are written and ordered as dpkg does.
    Deb,
}

/// What one system has installed and what its repositories offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// rpm or deb; decides version ordering and name patterns.
    pub family: Family,
    /// The AWS OperatingSystem value of the system, when known (what-if inventories may omit it;
    /// `scan` then uses the baseline's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<OperatingSystem>,
    /// The AWS product string used by PRODUCT filters, e.g. `AmazonLinux2023`, `Ubuntu22.04`.
    #[serde(default)]
    pub product: String,
    /// Installed packages. An installonly name (kernel) may appear once per installed version.
    #[serde(default)]
    pub installed: Vec<InstalledPackage>,
    /// Every version the enabled repositories offer that is newer than what is installed, plus
    /// versions of names that are not installed at all (for NotApplicable).
    #[serde(default)]
    pub available: Vec<AvailablePackage>,
    /// Update notices (RPM updateinfo). Empty for apt systems.
    #[serde(default)]
    pub advisories: Vec<Advisory>,
}

/// One installed package version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledPackage {
    pub name: String,
    pub arch: String,
    /// RPM `[epoch:]version-release` (epoch 0 may be omitted); Debian as dpkg writes it.
    pub version: String,
    /// When this version was installed, if the package database says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_time: Option<DateTime<Utc>>,
}

/// One version a repository offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailablePackage {
    pub name: String,
    pub arch: String,
    pub version: String,
    /// Repository id (RPM) or the archive it came from (apt), for the report.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    /// RPM build time; the release date of an update that is in no advisory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_time: Option<DateTime<Utc>>,
    /// apt: this version is offered by a security archive (debian-security, `<codename>-security`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub security: bool,
    /// apt: the Priority field (required, important, standard, optional, extra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// apt: the Section field (admin, libs, net, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// apt: every archive offering this version, as `Label/Suite` (e.g. `Debian-Security/bookworm-security`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
}

/// An update notice from a repository's updateinfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// The notice id, e.g. `ALAS2023-2025-123`, `RHSA-2024:0001`.
    pub id: String,
    /// The notice type as the CLASSIFICATION value: Security, Bugfix, Enhancement, Newpackage.
    pub classification: String,
    /// The vendor's severity (Critical, Important, Moderate, Medium, Low), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugzillas: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub reboot_suggested: bool,
    /// The package versions this notice covers.
    #[serde(default)]
    pub packages: Vec<AdvisoryPackage>,
}

impl Advisory {
    /// The date that counts for ApproveAfterDays/ApproveUntilDate: the notice's updated date when
    /// present, else its issued date (AWS documentation, semantics §5.5).
    pub fn release_date(&self) -> Option<DateTime<Utc>> {
        self.updated.or(self.issued)
    }
}

/// A package version named by an advisory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisoryPackage {
    pub name: String,
    pub arch: String,
    pub version: String,
}

/// The AWS patch compliance states, spelled as AWS writes them in inventory items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PatchState {
    Installed,
    InstalledOther,
    InstalledPendingReboot,
    InstalledRejected,
    Missing,
    Failed,
    NotApplicable,
}

impl PatchState {
    pub const ALL: [PatchState; 7] = [
        PatchState::Installed,
        PatchState::InstalledOther,
        PatchState::InstalledPendingReboot,
        PatchState::InstalledRejected,
        PatchState::Missing,
        PatchState::Failed,
        PatchState::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PatchState::Installed => "Installed",
            PatchState::InstalledOther => "InstalledOther",
            PatchState::InstalledPendingReboot => "InstalledPendingReboot",
            PatchState::InstalledRejected => "InstalledRejected",
            PatchState::Missing => "Missing",
            PatchState::Failed => "Failed",
            PatchState::NotApplicable => "NotApplicable",
        }
    }

    /// NON_COMPLIANT states per the AWS documentation (semantics §6.2).
    pub fn is_non_compliant(self) -> bool {
        matches!(
            self,
            PatchState::Missing
                | PatchState::Failed
                | PatchState::InstalledRejected
                | PatchState::InstalledPendingReboot
        )
    }
}

impl std::fmt::Display for PatchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
