//! Approved and rejected patch lists (semantics §4): package-name expressions matched
//! case-insensitively against every written form of a candidate, with shell-style globs, plus
//! advisory, CVE and Bugzilla ids in ApprovedPatches.
//!
//! Patterns are compiled once per run. Matching stays cheap with 50 approved and 50 rejected
//! patterns over 100,000 candidates because each pattern keeps its literal prefix (the text before
//! the first wildcard, lower-cased): a pattern can only match a form that starts with that
//! prefix, and every form starts with the name, the version or the epoch, so most patterns are
//! ruled out for a name with two prefix comparisons and no string is built.

use regex::Regex;

use crate::model::Family;
use crate::version::Evr;

/// How a list entry is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A package-name expression (with or without wildcards).
    Package,
    /// An advisory id such as `RHSA-2024:0001`, `ALAS2023-2025-123` (RPM systems only).
    Advisory,
    /// A CVE id (RPM systems only).
    Cve,
    /// A Bugzilla id: any all-digit entry (RPM systems only).
    Bugzilla,
}

/// Classify an ApprovedPatches entry (RPM systems; on apt systems every entry is a package name).
pub fn entry_kind(entry: &str, family: Family) -> EntryKind {
    if family == Family::Deb {
        return EntryKind::Package;
    }
    if !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit()) {
        return EntryKind::Bugzilla;
    }
    if advisory_like(entry, "CVE") {
        return EntryKind::Cve;
    }
    // Vendor advisory ids: upper-case letters (and digits), '-', a four-digit year, ':' or '-', digits.
    let re = advisory_re();
    if re.is_match(entry) {
        EntryKind::Advisory
    } else {
        EntryKind::Package
    }
}

fn advisory_like(entry: &str, prefix: &str) -> bool {
    entry
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(year, num)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && !num.is_empty()
                && num.bytes().all(|b| b.is_ascii_digit())
        })
}

fn advisory_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Z][A-Z0-9]*-[0-9]{4}[:-][0-9]+$").expect("valid regex"))
}

/// One compiled package-name expression.
#[derive(Debug)]
struct Pattern {
    /// Index in the baseline list (for reasons).
    index: usize,
    /// Lower-cased literal text before the first wildcard.
    prefix: String,
    /// Lower-cased literal text after the last wildcard (empty when it ends with one).
    suffix: String,
    /// The whole entry lower-cased when it has no wildcard; matched by equality.
    literal: Option<String>,
    /// The glob compiled to an anchored, case-insensitive regex when it has wildcards.
    glob: Option<Regex>,
}

impl Pattern {
    fn compile(index: usize, entry: &str) -> Pattern {
        let lower = entry.to_lowercase();
        let wildcard_at = lower.find(['*', '?', '[']);
        match wildcard_at {
            None => Pattern {
                index,
                prefix: lower.clone(),
                suffix: lower.clone(),
                literal: Some(lower),
                glob: None,
            },
            Some(at) => Pattern {
                index,
                prefix: lower[..at].to_string(),
                suffix: lower
                    .rfind(['*', '?', ']'])
                    .map(|end| lower[end + 1..].to_string())
                    .unwrap_or_default(),
                literal: None,
                glob: Some(glob_to_regex(&lower)),
            },
        }
    }

    /// Could this pattern match some form, judging by how forms end? Every form ends with the
    /// name, the arch, the version or the release, so the literal after the last wildcard must
    /// end one of those (or contain one of them as its own ending, when it spans components).
    fn may_end(&self, ends: &[&str]) -> bool {
        let t = self.suffix.as_str();
        t.is_empty()
            || ends.iter().any(|c| {
                let c_ends_with_t = c.len() >= t.len()
                    && c.is_char_boundary(c.len() - t.len())
                    && c[c.len() - t.len()..].eq_ignore_ascii_case(t);
                let t_ends_with_c = !c.is_empty()
                    && t.len() > c.len()
                    && t.is_char_boundary(t.len() - c.len())
                    && t[t.len() - c.len()..].eq_ignore_ascii_case(c);
                c_ends_with_t || t_ends_with_c
            })
    }

    /// Could this pattern match some form that starts with `start`? (Both lower-cased.)
    fn may_start(&self, start: &str) -> bool {
        start.starts_with(&self.prefix) || self.prefix.starts_with(start)
    }

    fn matches(&self, form: &str) -> bool {
        if !form.starts_with(&self.prefix) {
            return false;
        }
        match (&self.literal, &self.glob) {
            (Some(l), _) => l == form,
            (None, Some(re)) => re.is_match(form),
            (None, None) => false,
        }
    }
}

/// Translate a shell glob (`*`, `?`, `[...]`, `[!...]`) into an anchored regex, like fnmatch.
fn glob_to_regex(glob: &str) -> Regex {
    let mut re = String::with_capacity(glob.len() * 2 + 8);
    re.push_str("(?is)^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                // A bracket expression runs to the next ']' (a ']' right after '[' or '[!' is literal).
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '!' || chars[j] == '^') {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str(r"\[");
                } else {
                    let mut class = String::from("[");
                    let mut k = i + 1;
                    if chars[k] == '!' || chars[k] == '^' {
                        class.push('^');
                        k += 1;
                    }
                    while k < j {
                        let c = chars[k];
                        if c == '\\' || c == '[' || c == '&' || c == '~' || (c == '^' && k > i + 1)
                        {
                            class.push('\\');
                        }
                        class.push(c);
                        k += 1;
                    }
                    class.push(']');
                    re.push_str(&class);
                    i = j;
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    Regex::new(&re).unwrap_or_else(|_| {
        // An odd bracket expression that the regex engine refuses: match it literally.
        Regex::new(&format!("(?is)^{}$", regex::escape(glob)))
            .expect("escaped text is a valid regex")
    })
}

/// The written forms of one package version (§4.1 and §4.4), lower-cased.
pub struct Forms {
    forms: Vec<String>,
}

impl Forms {
    /// Build the forms for a candidate.
    pub fn new(family: Family, name: &str, arch: &str, version: &str) -> Forms {
        let name = name.to_lowercase();
        let arch = arch.to_lowercase();
        let version = version.to_lowercase();
        let forms = match family {
            Family::Rpm => {
                let evr = Evr::parse(&version);
                let e = evr.epoch_num().to_string();
                let v = evr.version;
                let r = evr.release;
                vec![
                    name.clone(),
                    format!("{name}.{arch}"),
                    format!("{name}-{v}"),
                    format!("{name}-{v}-{r}"),
                    format!("{name}-{v}-{r}.{arch}"),
                    v.to_string(),
                    format!("{v}-{r}"),
                    format!("{e}:{v}-{r}"),
                    format!("{name}-{e}:{v}-{r}"),
                    format!("{name}-{e}:{v}-{r}.{arch}"),
                    format!("{e}:{name}-{v}-{r}.{arch}"),
                    format!("{name}.{arch}:{e}:{v}-{r}"),
                ]
            }
            Family::Deb => vec![
                name.clone(),
                version.clone(),
                format!("{name}.{arch}"),
                format!("{name}-{version}"),
                format!("{arch}:{version}"),
                format!("{name}.{arch}:{version}"),
            ],
        };
        Forms { forms }
    }
}

/// A compiled list of package-name expressions.
#[derive(Debug, Default)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

impl PatternSet {
    /// Compile the package-name entries of `entries` (ids are left to the caller).
    pub fn new<'e>(entries: impl IntoIterator<Item = (usize, &'e str)>) -> PatternSet {
        PatternSet {
            patterns: entries
                .into_iter()
                .map(|(i, e)| Pattern::compile(i, e))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns that could match some version of `name` (lower-cased): a cheap per-name
    /// pre-selection that lets most candidates skip building their forms.
    pub fn relevant_for(&self, name_lower: &str) -> Relevant<'_> {
        let mut name_led = Vec::new();
        let mut digit_led = Vec::new();
        let mut letter_led = Vec::new();
        for (i, p) in self.patterns.iter().enumerate() {
            let leads_with_digit = p.prefix.chars().next().is_none_or(|c| c.is_ascii_digit());
            if leads_with_digit {
                // May match the version, epoch or `e:name…` forms: decided per version.
                digit_led.push(i);
            } else if p.may_start(name_lower) {
                name_led.push(i);
            } else {
                // A letter-led pattern can still match a version that starts with a letter.
                letter_led.push(i);
            }
        }
        Relevant {
            set: self,
            name_led,
            digit_led,
            letter_led,
        }
    }
}

/// The patterns worth testing for one name.
pub struct Relevant<'s> {
    set: &'s PatternSet,
    name_led: Vec<usize>,
    digit_led: Vec<usize>,
    letter_led: Vec<usize>,
}

impl Relevant<'_> {
    /// The list index of the first pattern that matches this version, if any.
    pub fn first_match(
        &self,
        family: Family,
        name: &str,
        arch: &str,
        version: &str,
    ) -> Option<usize> {
        let version_first = version.chars().next().map(|c| c.to_ascii_lowercase());
        let mut forms: Option<Forms> = None;
        let mut best: Option<usize> = None;
        let mut test = |pi: usize, forms: &mut Option<Forms>| {
            let p = &self.set.patterns[pi];
            let f = forms.get_or_insert_with(|| Forms::new(family, name, arch, version));
            if f.forms.iter().any(|form| p.matches(form)) {
                best = Some(best.map_or(p.index, |b: usize| b.min(p.index)));
            }
        };
        for &pi in &self.name_led {
            test(pi, &mut forms);
        }
        // Digit- or wildcard-led patterns may match any form: rule most out by their ending.
        if !self.digit_led.is_empty() {
            let evr = Evr::parse(version);
            let ends: [&str; 4] = match family {
                Family::Rpm => [name, arch, evr.version, evr.release],
                Family::Deb => [name, arch, version, version],
            };
            for &pi in &self.digit_led {
                if self.set.patterns[pi].may_end(&ends) {
                    test(pi, &mut forms);
                }
            }
        }
        // Letter-led patterns that do not fit the name can only match a version form when the
        // version starts with that letter, or (Debian) the `arch:version` form.
        let letter_version = version_first.filter(|c| !c.is_ascii_digit());
        if letter_version.is_some() || family == Family::Deb {
            let arch_lower = arch.to_lowercase();
            for &pi in &self.letter_led {
                let p = &self.set.patterns[pi];
                let by_version = letter_version.is_some_and(|c| p.prefix.starts_with(c));
                let by_arch = family == Family::Deb && p.may_start(&arch_lower);
                if by_version || by_arch {
                    test(pi, &mut forms);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, family: Family, name: &str, arch: &str, version: &str) -> bool {
        let set = PatternSet::new([(0, pattern)]);
        set.relevant_for(&name.to_lowercase())
            .first_match(family, name, arch, version)
            .is_some()
    }

    const RPM: Family = Family::Rpm;

    #[test]
    fn every_documented_rpm_form_matches() {
        // dbus.x86_64:1:1.12.28-1.amzn2023.0.1, the example of §4.1
        let forms = [
            "dbus",
            "dbus.x86_64",
            "dbus-1.12.28",
            "dbus-1.12.28-1.amzn2023.0.1",
            "dbus-1.12.28-1.amzn2023.0.1.x86_64",
            "1.12.28",
            "1.12.28-1.amzn2023.0.1",
            "1:1.12.28-1.amzn2023.0.1",
            "dbus-1:1.12.28-1.amzn2023.0.1",
            "dbus-1:1.12.28-1.amzn2023.0.1.x86_64",
            "1:dbus-1.12.28-1.amzn2023.0.1.x86_64",
            "dbus.x86_64:1:1.12.28-1.amzn2023.0.1",
            "dbus*",
            "dbus-1.12.2*",
            "dbus-*:1.12.28-1.amzn2023.0.1.x86_64",
            "DBUS.X86_64",
        ];
        for f in forms {
            assert!(
                m(f, RPM, "dbus", "x86_64", "1:1.12.28-1.amzn2023.0.1"),
                "{f}"
            );
        }
    }

    #[test]
    fn near_misses_do_not_match() {
        for f in [
            "dbus.i686",
            "dbus-1.12.29",
            "dbus-libs",
            "dbu",
            "2:1.12.28-1.amzn2023.0.1",
            "dbus?",
        ] {
            assert!(
                !m(f, RPM, "dbus", "x86_64", "1:1.12.28-1.amzn2023.0.1"),
                "{f}"
            );
        }
    }

    #[test]
    fn system_release_dot_star_covers_every_version_and_arch() {
        for (arch, v) in [
            ("noarch", "2023.6.20250101-0.amzn2023"),
            ("x86_64", "1-1"),
            ("aarch64", "3:9-9"),
        ] {
            assert!(m("system-release.*", RPM, "system-release", arch, v));
        }
        assert!(!m(
            "system-release.*",
            RPM,
            "system-release-notes",
            "noarch",
            "1-1"
        ));
    }

    #[test]
    fn zero_epoch_is_written_as_zero() {
        assert!(m("0:1.0-1", RPM, "curl", "x86_64", "1.0-1"));
        assert!(m("curl.x86_64:0:1.0-1", RPM, "curl", "x86_64", "1.0-1"));
    }

    #[test]
    fn debian_forms() {
        let d = Family::Deb;
        for f in [
            "openssl",
            "openssl.amd64",
            "openssl-3.0.11-1~deb12u2",
            "amd64:3.0.11-1~deb12u2",
            "amd64:3.0.*",
            "OpenSSL*",
            "3.0.11-1~deb12u2",
        ] {
            assert!(m(f, d, "openssl", "amd64", "3.0.11-1~deb12u2"), "{f}");
        }
        assert!(!m("openssl-dev", d, "openssl", "amd64", "3.0.11-1~deb12u2"));
    }

    #[test]
    fn globs_question_mark_and_brackets() {
        assert!(m("kern?l", RPM, "kernel", "x86_64", "6.1-1"));
        assert!(m("kernel-[56].*", RPM, "kernel", "x86_64", "6.1-1"));
        assert!(!m("kernel-[!6].*", RPM, "kernel", "x86_64", "6.1-1"));
        assert!(m("*-6.1-1.x86_64", RPM, "kernel", "x86_64", "6.1-1"));
        // An unclosed bracket is literal.
        assert!(!m("kernel[", RPM, "kernel", "x86_64", "6.1-1"));
    }

    #[test]
    fn leading_wildcards_match_by_any_ending() {
        assert!(m("*-devel", RPM, "openssl-devel", "x86_64", "3.0-1"));
        assert!(!m("*-devel", RPM, "openssl", "x86_64", "3.0-1"));
        assert!(m("*.x86_64", RPM, "openssl", "x86_64", "3.0-1"));
        assert!(m(
            "*-1.amzn2023.x86_64",
            RPM,
            "openssl",
            "x86_64",
            "3.0-1.amzn2023"
        ));
        assert!(m("*:3.0-1", RPM, "openssl", "x86_64", "1:3.0-1"));
        assert!(m("*3.0", RPM, "openssl", "x86_64", "3.0-1"));
        assert!(m("*debug*", RPM, "gdb-debuginfo", "x86_64", "13-1"));
        assert!(m("*:3.0-1*", Family::Deb, "openssl", "amd64", "3.0-1"));
        assert!(m("*.AMD64", Family::Deb, "openssl", "amd64", "3.0-1"));
    }

    #[test]
    fn a_letter_led_pattern_can_match_a_letter_led_version() {
        assert!(m("beta*", RPM, "tool", "noarch", "beta2-1"));
    }

    #[test]
    fn lowest_index_wins() {
        let set = PatternSet::new([(3, "curl*"), (1, "curl")]);
        assert_eq!(
            set.relevant_for("curl")
                .first_match(RPM, "curl", "x86_64", "1-1"),
            Some(1)
        );
    }

    #[test]
    fn entry_kinds() {
        assert_eq!(entry_kind("1234567", RPM), EntryKind::Bugzilla);
        assert_eq!(entry_kind("CVE-2018-1234567", RPM), EntryKind::Cve);
        for a in [
            "RHSA-2017:0864",
            "ALAS-2018-123",
            "ALAS2023-2025-123",
            "ELSA-2025-123",
            "FXSA-2024:0001",
        ] {
            assert_eq!(entry_kind(a, RPM), EntryKind::Advisory, "{a}");
        }
        for p in ["dbus", "dbus-1.12.28", "python*", "kernel-2024-1"] {
            assert_eq!(entry_kind(p, RPM), EntryKind::Package, "{p}");
        }
        assert_eq!(entry_kind("1234567", Family::Deb), EntryKind::Package);
    }
}
