//! Pure parsers for what apt and dpkg write: deb822 stanzas (dpkg `status`, `Packages` indexes,
//! `apt-get indextargets`), and the step that turns them into the inventory's installed and
//! available lists. No I/O here; tested on real captures in the tests below and on real apt in
//! tests/it/apt.rs.
//!
//! The formats are modelled leniently: unknown fields are ignored, continuation lines are skipped
//! (none of the fields we read is multi-line), and a stanza missing a field we need is dropped
//! rather than failing the scan.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::model::{AvailablePackage, InstalledPackage};
use crate::version::compare_deb;

/// One deb822 paragraph: its raw text, fields parsed on demand.
#[derive(Debug, Clone, Copy)]
pub struct Stanza<'a> {
    text: &'a str,
}

impl<'a> Stanza<'a> {
    /// The first line's value when the stanza starts with `key:` (cheap: used to skip the 98%
    /// of a distribution's Packages index that is not installed).
    pub fn leading(&self, key: &str) -> Option<&'a str> {
        let line = self.text.split('\n').next()?;
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(key).then(|| v.trim())
    }

    /// The value of `key` (field names are case-insensitive in deb822), first line only.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.text
            .split('\n')
            .filter(|l| !l.starts_with([' ', '\t', '#']))
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }
}

/// The paragraphs of a deb822 text, separated by one or more empty lines (like apt's own tag
/// file reader: a line of blanks is not a separator; apt and dpkg never write one).
pub fn stanzas(text: &str) -> impl Iterator<Item = Stanza<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches('\n');
        if rest.is_empty() {
            return None;
        }
        let (this, next) = match rest.find("\n\n") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, ""),
        };
        rest = next;
        Some(Stanza { text: this })
    })
}

/// An installed package as dpkg's status file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub name: String,
    pub arch: String,
    pub version: String,
}

/// The installed packages of a dpkg `status` file: every paragraph whose Status says the
/// package is on disk (anything but `not-installed` and `config-files`, which is how apt decides
/// a package has a current version).
pub fn parse_status(text: &str) -> Vec<StatusEntry> {
    stanzas(text)
        .filter_map(|s| {
            let state = s.get("Status")?.split_whitespace().nth(2)?;
            if matches!(state, "not-installed" | "config-files") {
                return None;
            }
            Some(StatusEntry {
                name: s.get("Package")?.to_string(),
                arch: s.get("Architecture").unwrap_or("all").to_string(),
                version: s.get("Version")?.to_string(),
            })
        })
        .collect()
}

/// One Packages index apt has downloaded, with the Release fields of its archive
/// (`apt-get indextargets` output).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTarget {
    /// The downloaded file (possibly compressed), an absolute path.
    pub filename: String,
    /// e.g. `http://deb.debian.org/debian-security bookworm-security/main amd64 Packages`.
    pub description: String,
    pub origin: String,
    pub label: String,
    pub suite: String,
    pub codename: String,
    pub site: String,
    pub trusted: bool,
}

impl IndexTarget {
    /// A security archive, as AWS's apt code and unattended-upgrades see one (semantics §5.3):
    /// trusted, and labelled `Debian-Security`, or served from security.debian.org, or a suite
    /// or codename ending in `-security` (Ubuntu's `jammy-security`, Debian's
    /// `bookworm-security`).
    pub fn is_security(&self) -> bool {
        let ends = |s: &str| s.to_ascii_lowercase().ends_with("-security");
        self.trusted
            && (self.label.eq_ignore_ascii_case("Debian-Security")
                || self
                    .site
                    .to_ascii_lowercase()
                    .contains("security.debian.org")
                || ends(&self.suite)
                || ends(&self.codename))
    }

    /// How the report names this archive: `Label/Suite` (apt-get's simulate lines use the same
    /// pair), falling back to Origin and Codename when the Release file lacks them.
    pub fn origin_name(&self) -> String {
        let label = first_non_empty(&self.label, &self.origin);
        let suite = first_non_empty(&self.suite, &self.codename);
        match (label.is_empty(), suite.is_empty()) {
            (false, false) => format!("{label}/{suite}"),
            (true, false) => suite.to_string(),
            _ => label.to_string(),
        }
    }

    /// The archive as `apt-cache policy` names it, without the trailing ` Packages`.
    pub fn repository(&self) -> &str {
        self.description
            .strip_suffix(" Packages")
            .unwrap_or(&self.description)
    }
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// The Packages indexes in `apt-get indextargets` output (other index types are skipped).
pub fn parse_index_targets(text: &str) -> Vec<IndexTarget> {
    stanzas(text)
        .filter(|s| s.get("Identifier") == Some("Packages"))
        .filter_map(|s| {
            let field = |k: &str| s.get(k).unwrap_or("").to_string();
            Some(IndexTarget {
                filename: s.get("Filename")?.to_string(),
                description: field("Description"),
                origin: field("Origin"),
                label: field("Label"),
                suite: field("Suite"),
                codename: field("Codename"),
                site: field("Site"),
                trusted: s.get("Trusted") == Some("yes"),
            })
        })
        .collect()
}

/// The field that starts each index's part of the concatenated index text (see
/// [`split_marked`]); no real index has it.
pub const MARKER_FIELD: &str = "X-Patchbaseline-Index";

/// The content of the marker file placed before index `i` in one `apt-helper cat-file` call.
/// The leading blank line ends the previous file's last paragraph even if it lacks a newline.
pub fn marker(i: usize) -> String {
    format!("\n\n{MARKER_FIELD}: {i}\n\n")
}

/// Which index each paragraph of a concatenated `marker(0) file0 marker(1) file1 …` text came
/// from: yields (index number, paragraph).
pub fn split_marked(text: &str) -> impl Iterator<Item = (usize, Stanza<'_>)> {
    let mut current = None;
    stanzas(text).filter_map(move |s| {
        if let Some(i) = s.leading(MARKER_FIELD) {
            current = i.parse().ok();
            return None;
        }
        current.map(|i| (i, s))
    })
}

/// Whether a package of architecture `available` can replace an installed one of `installed`:
/// the same architecture, or both native-like (`all` packages count as native, so a package
/// may move between `all` and the native architecture from one version to the next).
fn same_arch(installed: &str, available: &str, native: &str) -> bool {
    let native_like = |a: &str| a == "all" || a == native;
    installed == available || (native_like(installed) && native_like(available))
}

/// Everything the indexes offer that the inventory needs:
/// * for each installed (name, arch), every version **at or above** the installed one (the equal
///   one tells the engine whether the installed version itself came from a security archive:
///   Installed vs InstalledOther), reported under the installed arch;
/// * for names not installed, the versions offered by security archives only (for
///   NotApplicable: that is exact for every baseline without EnableNonSecurity, and bounded: a
///   security archive has a few thousand packages where the main archive has 60 000).
///
/// A version offered by several archives is one entry listing every origin; it is security when
/// any of them is. Sorted by name, arch, then version (oldest first).
pub fn collect_available<'t>(
    installed: &[StatusEntry],
    native: &str,
    targets: &[IndexTarget],
    indexes: impl IntoIterator<Item = (usize, Stanza<'t>)>,
) -> Vec<AvailablePackage> {
    let mut by_name: HashMap<&str, Vec<&StatusEntry>> = HashMap::new();
    for p in installed {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    let security: Vec<bool> = targets.iter().map(IndexTarget::is_security).collect();
    let mut out: Vec<AvailablePackage> = Vec::new();
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for (ti, stanza) in indexes {
        let Some(target) = targets.get(ti) else {
            continue;
        };
        let Some(name) = stanza.leading("Package").or_else(|| stanza.get("Package")) else {
            continue;
        };
        let mine = by_name.get(name);
        if mine.is_none() && !security[ti] {
            continue;
        }
        let (Some(version), Some(arch)) = (stanza.get("Version"), stanza.get("Architecture"))
        else {
            continue;
        };
        let report_arch = match mine {
            Some(entries) => {
                let newer = entries.iter().find(|p| {
                    same_arch(&p.arch, arch, native)
                        && compare_deb(version, &p.version) != Ordering::Less
                });
                match newer {
                    Some(p) => p.arch.as_str(),
                    None => continue,
                }
            }
            None => arch,
        };
        let key = (
            name.to_string(),
            report_arch.to_string(),
            version.to_string(),
        );
        let idx = *seen.entry(key).or_insert_with(|| {
            out.push(AvailablePackage {
                name: name.to_string(),
                arch: report_arch.to_string(),
                version: version.to_string(),
                repository: String::new(),
                build_time: None,
                security: false,
                priority: None,
                section: None,
                origins: Vec::new(),
            });
            out.len() - 1
        });
        let entry = &mut out[idx];
        let origin = target.origin_name();
        if !entry.origins.contains(&origin) {
            entry.origins.push(origin);
        }
        // The repository shown is a security archive's when there is one, else the first seen.
        if entry.repository.is_empty() || (security[ti] && !entry.security) {
            entry.repository = target.repository().to_string();
        }
        entry.security |= security[ti];
        if entry.priority.is_none() {
            entry.priority = stanza.get("Priority").map(str::to_string);
        }
        if entry.section.is_none() {
            entry.section = stanza.get("Section").map(str::to_string);
        }
    }
    out.sort_by(|a, b| {
        (a.name.as_str(), a.arch.as_str())
            .cmp(&(b.name.as_str(), b.arch.as_str()))
            .then_with(|| compare_deb(&a.version, &b.version))
    });
    out
}

/// The installed packages for the inventory, sorted by name and arch.
pub fn installed_packages(entries: &[StatusEntry]) -> Vec<InstalledPackage> {
    let mut out: Vec<InstalledPackage> = entries
        .iter()
        .map(|e| InstalledPackage {
            name: e.name.clone(),
            arch: e.arch.clone(),
            version: e.version.clone(),
            install_time: None,
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    out
}

/// The native architecture: that of the installed `dpkg` package (always built for it).
pub fn native_arch(entries: &[StatusEntry]) -> Option<&str> {
    entries
        .iter()
        .find(|e| e.name == "dpkg" && e.arch != "all")
        .map(|e| e.arch.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    // From this Debian 12 host's /var/lib/dpkg/status (trimmed), plus a removed package whose
    // configuration files remain.
    const STATUS: &str = "\
Package: openssh-client
Status: install ok installed
Priority: standard
Section: net
Installed-Size: 4021
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
Architecture: amd64
Multi-Arch: foreign
Source: openssh
Version: 1:9.2p1-2+deb12u5
Description: secure shell (SSH) client, for secure access to remote machines
 This is the portable version of OpenSSH.
 .
 Continuation lines are skipped.

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2025b-0+deb12u1

Package: dpkg
Status: install ok installed
Architecture: amd64
Version: 1.21.22

Package: oldthing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
";

    // The shape of `apt-get indextargets` on this host (two records, fields trimmed).
    const TARGETS: &str = "\
MetaKey: main/binary-amd64/Packages
ShortDesc: Packages
Description: http://deb.debian.org/debian bookworm/main amd64 Packages
Filename: /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4
Codename: bookworm
Label: Debian
Origin: Debian
Suite: oldstable
Trusted: yes
Version: 12.15
Architecture: amd64
Identifier: Packages
Site: http://deb.debian.org/debian

MetaKey: main/dep11/Components-amd64.yml
Description: http://deb.debian.org/debian bookworm/main amd64 DEP-11 Metadata
Filename: /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_dep11_Components-amd64.yml.gz
Identifier: DEP-11

MetaKey: main/binary-amd64/Packages
Description: http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
Filename: /var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4
Codename: bookworm-security
Label: Debian-Security
Origin: Debian
Suite: oldstable-security
Trusted: yes
Identifier: Packages
Site: http://deb.debian.org/debian-security
";

    #[test]
    fn status_keeps_installed_and_drops_config_files() {
        let s = parse_status(STATUS);
        let names: Vec<_> = s.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["openssh-client", "tzdata", "dpkg"]);
        assert_eq!(s[0].version, "1:9.2p1-2+deb12u5");
        assert_eq!(s[0].arch, "amd64");
        assert_eq!(native_arch(&s), Some("amd64"));
    }

    #[test]
    fn index_targets_keep_packages_only_with_release_fields() {
        let t = parse_index_targets(TARGETS);
        assert_eq!(t.len(), 2);
        assert!(!t[0].is_security());
        assert!(t[1].is_security());
        assert_eq!(t[1].origin_name(), "Debian-Security/oldstable-security");
        assert_eq!(
            t[1].repository(),
            "http://deb.debian.org/debian-security bookworm-security/main amd64"
        );
    }

    #[test]
    fn untrusted_security_archive_is_not_security() {
        let mut t = parse_index_targets(TARGETS).remove(1);
        t.trusted = false;
        assert!(!t.is_security());
    }

    #[test]
    fn ubuntu_security_pocket_is_security() {
        let t = IndexTarget {
            label: "Ubuntu".into(),
            suite: "jammy-security".into(),
            trusted: true,
            ..Default::default()
        };
        assert!(t.is_security());
        let updates = IndexTarget {
            suite: "jammy-updates".into(),
            ..t.clone()
        };
        assert!(!updates.is_security());
    }

    #[test]
    fn stanzas_tolerate_extra_empty_lines_and_no_final_newline() {
        let text = "\n\nPackage: a\nVersion: 1\n\n\n\nPackage: b\n Version: 2\n\nPackage: c";
        let got: Vec<_> = stanzas(text)
            .map(|s| (s.get("package"), s.get("Version")))
            .collect();
        assert_eq!(
            got,
            [(Some("a"), Some("1")), (Some("b"), None), (Some("c"), None)]
        );
    }

    #[test]
    fn openssh_case_lists_both_newer_versions_with_their_own_security_flag() {
        let targets = parse_index_targets(TARGETS);
        let installed = parse_status(STATUS);
        let text = format!(
            "{}Package: openssh-client\nVersion: 1:9.2p1-2+deb12u7\nArchitecture: amd64\nPriority: standard\nSection: net\n\n\
             Package: openssh-client\nVersion: 1:9.2p1-2+deb12u3\nArchitecture: amd64\n\n\
             Package: unrelated\nVersion: 1\nArchitecture: amd64\n\
             {}Package: openssh-client\nVersion: 1:9.2p1-2+deb12u6\nArchitecture: amd64\nPriority: standard\nSection: net\n\n\
             Package: tzdata\nVersion: 2025b-0+deb12u1\nArchitecture: all\n\n\
             Package: not-installed-sec\nVersion: 2\nArchitecture: amd64\n",
            marker(0),
            marker(1)
        );
        let avail = collect_available(&installed, "amd64", &targets, split_marked(&text));
        let got: Vec<_> = avail
            .iter()
            .map(|a| (a.name.as_str(), a.version.as_str(), a.security))
            .collect();
        assert_eq!(
            got,
            [
                ("not-installed-sec", "2", true),
                ("openssh-client", "1:9.2p1-2+deb12u6", true),
                ("openssh-client", "1:9.2p1-2+deb12u7", false),
                ("tzdata", "2025b-0+deb12u1", true),
            ]
        );
        assert_eq!(avail[2].origins, ["Debian/oldstable"]);
        assert_eq!(avail[2].priority.as_deref(), Some("standard"));
        assert_eq!(avail[1].section.as_deref(), Some("net"));
    }

    #[test]
    fn all_and_native_are_the_same_package_foreign_is_not() {
        let installed = vec![StatusEntry {
            name: "x".into(),
            arch: "amd64".into(),
            version: "1".into(),
        }];
        let targets = vec![IndexTarget::default()];
        let text = format!(
            "{}Package: x\nVersion: 2\nArchitecture: all\n\nPackage: x\nVersion: 3\nArchitecture: i386\n",
            marker(0)
        );
        let avail = collect_available(&installed, "amd64", &targets, split_marked(&text));
        assert_eq!(avail.len(), 1);
        assert_eq!(
            (avail[0].arch.as_str(), avail[0].version.as_str()),
            ("amd64", "2")
        );
    }

    #[test]
    fn same_version_in_two_archives_is_one_entry_with_both_origins() {
        let targets = parse_index_targets(TARGETS);
        let installed = parse_status(STATUS);
        let v = "Package: tzdata\nVersion: 2025c-0+deb12u1\nArchitecture: all\nPriority: required\nSection: localization\n";
        let text = format!("{}{v}{}{v}", marker(0), marker(1));
        let avail = collect_available(&installed, "amd64", &targets, split_marked(&text));
        assert_eq!(avail.len(), 1);
        assert!(avail[0].security);
        assert_eq!(
            avail[0].origins,
            ["Debian/oldstable", "Debian-Security/oldstable-security"]
        );
        assert_eq!(
            avail[0].repository,
            "http://deb.debian.org/debian-security bookworm-security/main amd64"
        );
    }
}
