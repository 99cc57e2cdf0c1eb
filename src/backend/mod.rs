//! One module per package manager. Each splits the functions that only run a command (through
//! [`crate::exec`]) from pure `parse_*` functions tested on real output.

pub mod apt;
pub mod dnf;
pub mod dnf_install;
pub mod install;
pub mod updateinfo;
pub mod yum;

use std::path::Path;

use crate::baseline::PatchSource;
use crate::error::Result;
use crate::model::Inventory;
use crate::system::{BackendKind, System};

/// How to gather the inventory.
#[derive(Debug, Clone)]
pub struct ScanOptions<'a> {
    /// The system image to read: `/` for the running host, else the `--root` directory. Every
    /// file and package-manager invocation is confined to it.
    pub root: &'a Path,
    /// Refresh repository metadata first (`--no-refresh` turns it off).
    pub refresh: bool,
    /// Baseline `Sources` whose Products match this system: used instead of the configured
    /// repositories for this run, without editing the system's repository configuration.
    pub sources: &'a [PatchSource],
}

/// Ask the system's package manager what is installed, what is available and which advisories
/// cover it. Never changes installed packages.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    match system.backend {
        BackendKind::Dnf => dnf::inventory(system, opts),
        BackendKind::Yum => yum::inventory(system, opts),
        BackendKind::Apt => apt::inventory(system, opts),
    }
}
