//! The apt backend (stub: implemented by the apt scan work).

use crate::error::{Error, Result};
use crate::model::Inventory;
use crate::system::System;

use super::ScanOptions;

/// Gather the inventory through apt.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let _ = (system, opts);
    Err(Error::failed("the apt backend is not implemented yet"))
}
