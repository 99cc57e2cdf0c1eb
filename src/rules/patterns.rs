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
    /// The glob (lower-cased, matched against lower-cased forms) when it has wildcards.
    glob: Option<Glob>,
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
                glob: Some(Glob::new(&lower)),
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
            (None, Some(g)) => g.is_match(form),
            (None, None) => false,
        }
    }
}

/// One element of a compiled glob.
#[derive(Debug, Clone)]
enum Token {
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters.
    Star,
    /// `[...]` / `[!...]`: one character in (or not in) these inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Char(t) => *t == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A shell glob (`*`, `?`, `[...]`, `[!...]`) matched like fnmatch without flags. Hand-written
/// rather than a regex: compiling dozens of regexes into DFAs cost more than a whole
/// evaluation's matching, and a glob needs only the classic star-backtracking walk.
#[derive(Debug, Clone)]
struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    fn new(glob: &str) -> Glob {
        let chars: Vec<char> = glob.chars().collect();
        let mut tokens = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if !matches!(tokens.last(), Some(Token::Star)) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => match Glob::class(&chars[i + 1..]) {
                    Some((token, used)) => {
                        tokens.push(token);
                        i += used;
                    }
                    // An unclosed bracket is a literal '['.
                    None => tokens.push(Token::Char('[')),
                },
                c => tokens.push(Token::Char(c)),
            }
            i += 1;
        }
        Glob { tokens }
    }

    /// A bracket expression starting after its '['; returns the token and how many characters
    /// it used (up to and including the ']'). A ']' right after '[' or '[!' is a member.
    fn class(rest: &[char]) -> Option<(Token, usize)> {
        let mut j = 0;
        let negated = matches!(rest.first(), Some('!' | '^'));
        if negated {
            j += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        while j < rest.len() {
            let c = rest[j];
            if c == ']' && !first {
                return Some((Token::Class { negated, ranges }, j + 1));
            }
            first = false;
            if j + 2 < rest.len() && rest[j + 1] == '-' && rest[j + 2] != ']' {
                ranges.push((c, rest[j + 2]));
                j += 3;
            } else {
                ranges.push((c, c));
                j += 1;
            }
        }
        None
    }

    /// The star-backtracking walk: on a mismatch, let the last `*` swallow one more character.
    fn is_match(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut p) = (0, 0);
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    backtrack = Some((p + 1, t));
                    p += 1;
                }
                Some(tok) if tok.accepts(text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match backtrack {
                    Some((sp, st)) => {
                        p = sp;
                        t = st + 1;
                        backtrack = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..]
            .iter()
            .all(|tok| matches!(tok, Token::Star))
    }
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
    /// Patterns whose literal prefix is empty or starts with a digit: they may match a version,
    /// epoch or `e:name…` form, so every version is checked (by its ending first).
    digit_led: Vec<usize>,
    /// Patterns whose literal prefix starts with a letter (or another non-digit).
    letter_led: Vec<usize>,
}

impl PatternSet {
    /// Compile the package-name entries of `entries` (ids are left to the caller).
    pub fn new<'e>(entries: impl IntoIterator<Item = (usize, &'e str)>) -> PatternSet {
        let patterns: Vec<Pattern> = entries
            .into_iter()
            .map(|(i, e)| Pattern::compile(i, e))
            .collect();
        let (digit_led, letter_led) = (0..patterns.len()).partition(|&i| {
            patterns[i]
                .prefix
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_digit())
        });
        PatternSet {
            patterns,
            digit_led,
            letter_led,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns that could match some version of `name` (lower-cased): a cheap per-name
    /// pre-selection that lets most candidates skip building their forms.
    pub fn relevant_for(&self, name_lower: &str) -> Relevant<'_> {
        let mut r = Relevant {
            set: self,
            name_led: Vec::new(),
        };
        r.refill(name_lower);
        r
    }
}

/// The patterns worth testing for one name. Refilled per name without allocating.
pub struct Relevant<'s> {
    set: &'s PatternSet,
    /// Letter-led patterns whose literal prefix fits the name.
    name_led: Vec<usize>,
}

impl Relevant<'_> {
    /// Point at another name (lower-cased).
    pub fn refill(&mut self, name_lower: &str) {
        self.name_led.clear();
        let set = self.set;
        self.name_led.extend(
            set.letter_led
                .iter()
                .copied()
                .filter(|&i| set.patterns[i].may_start(name_lower)),
        );
    }
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
        if !self.set.digit_led.is_empty() {
            let evr = Evr::parse(version);
            let ends: [&str; 4] = match family {
                Family::Rpm => [name, arch, evr.version, evr.release],
                Family::Deb => [name, arch, version, version],
            };
            for &pi in &self.set.digit_led {
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
            for &pi in &self.set.letter_led {
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

#[cfg(test)]
mod glob_tests {
    use super::Glob;

    #[test]
    fn globs_match_like_fnmatch() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "a", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyyd", false),
            ("*-devel", "openssl-devel", true),
            ("*-devel", "openssl-devel-x", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[]]x", "]x", true),
            ("[!]]x", "ax", true),
            ("[!]]x", "]x", false),
            ("[a-c]1", "b1", true),
            ("[a-c]1", "d1", false),
            ("x[", "x[", true),
            ("**a", "ba", true),
            ("k*l-6.*", "kernel-6.1-1", true),
            ("é*", "éa", true),
        ];
        for &(glob, text, want) in cases {
            assert_eq!(Glob::new(glob).is_match(text), want, "{glob:?} ~ {text:?}");
        }
    }
}
