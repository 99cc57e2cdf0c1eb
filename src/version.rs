//! Version ordering: RPM EVR exactly as rpm orders it, Debian versions exactly as dpkg does
//! (stub: implemented by the version work; proven against the real tools in tests/it/version.rs).

use std::cmp::Ordering;

use crate::model::Family;

/// Compare two RPM version strings `[epoch:]version[-release]` like `rpm.vercmp` (a missing epoch
/// is 0).
pub fn compare_rpm(a: &str, b: &str) -> Ordering {
    let _ = (a, b);
    todo!("rpm ordering")
}

/// Compare two Debian versions like `dpkg --compare-versions`.
pub fn compare_deb(a: &str, b: &str) -> Ordering {
    let _ = (a, b);
    todo!("dpkg ordering")
}

/// Compare two versions of the given family.
pub fn compare(family: Family, a: &str, b: &str) -> Ordering {
    match family {
        Family::Rpm => compare_rpm(a, b),
        Family::Deb => compare_deb(a, b),
    }
}

/// The parts of an RPM `[epoch:]version-release` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evr<'a> {
    /// The epoch as written ("" when absent, which means 0).
    pub epoch: &'a str,
    pub version: &'a str,
    /// "" when absent.
    pub release: &'a str,
}

impl<'a> Evr<'a> {
    /// Split `[epoch:]version[-release]`: the epoch is the digits before the first `:`, the
    /// release is what follows the last `-`.
    pub fn parse(s: &'a str) -> Evr<'a> {
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e, rest),
            _ => ("", s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, r),
            None => (rest, ""),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }

    /// The epoch as a number (absent = 0).
    pub fn epoch_num(&self) -> u64 {
        self.epoch.parse().unwrap_or(0)
    }
}

/// The canonical report form of an RPM EVR: `[epoch:]version-release` with a zero epoch omitted.
pub fn display_rpm(s: &str) -> String {
    let evr = Evr::parse(s);
    let mut out = String::with_capacity(s.len());
    if evr.epoch_num() != 0 {
        out.push_str(&evr.epoch_num().to_string());
        out.push(':');
    }
    out.push_str(evr.version);
    if !evr.release.is_empty() {
        out.push('-');
        out.push_str(evr.release);
    }
    out
}
