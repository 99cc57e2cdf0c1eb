//! The dnf backend (stub: implemented by the dnf scan work).

use crate::error::{Error, Result};
use crate::model::Inventory;
use crate::system::System;

use super::ScanOptions;

/// Gather the inventory through dnf.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let _ = (system, opts);
    Err(Error::failed("the dnf backend is not implemented yet"))
}
