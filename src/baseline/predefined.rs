//! The equivalents of the AWS-owned default baselines (semantics §3).

use super::{Baseline, OperatingSystem};

/// The predefined baseline for `os`, or None for systems this tool does not patch (WINDOWS, MACOS).
pub fn predefined(os: OperatingSystem) -> Option<Baseline> {
    let _ = os;
    todo!("predefined baselines")
}
