//! The yum backend (stub: implemented by the yum scan work).

use crate::error::{Error, Result};
use crate::model::Inventory;
use crate::system::System;

use super::ScanOptions;

/// Gather the inventory through yum.
pub fn inventory(system: &System, opts: &ScanOptions) -> Result<Inventory> {
    let _ = (system, opts);
    Err(Error::failed("the yum backend is not implemented yet"))
}
