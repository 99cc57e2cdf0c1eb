//! The InstallOverrideList (`--install-override-list FILE`, semantics §7.2): install exactly the
//! listed patches instead of the baseline's decision.
//!
//! ```yaml
//! patches:
//!   - id: openssl-libs.x86_64            # name.arch; wildcards allowed (dhcp*)
//!     title: openssl-libs.x86_64:1:3.0.8-1.amzn2023.0.3   # optional: pins the version
//!   - id: 'curl-sim.all'
//!     title: 'curl-sim.all:2.0-1'        # apt: name.arch:version
//! ```
//!
//! `id` and `title` are matched with the same matcher as ApprovedPatches/RejectedPatches
//! ([`crate::rules::patterns`]: every written form of a version, case-insensitive, shell globs);
//! an entry with both requires both to match. Extra fields are ignored, as AWS does. Every
//! problem in the file is reported at once, each naming its entry; nothing is installed then.

use yaml_rust2::{Yaml, YamlLoader};

use crate::error::{Error, Result};
use crate::model::Family;
use crate::rules::patterns::PatternSet;

/// One `patches:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideEntry {
    pub id: String,
    pub title: Option<String>,
}

/// A loaded, validated override list.
#[derive(Debug)]
pub struct InstallOverrideList {
    /// Where it was read from (for the report and messages).
    pub source: String,
    pub entries: Vec<OverrideEntry>,
    /// Per entry: the compiled id and title patterns.
    compiled: Vec<(PatternSet, Option<PatternSet>)>,
}

impl InstallOverrideList {
    /// Parse and validate the YAML text of `source`.
    pub fn parse(source: &str, text: &str) -> Result<InstallOverrideList> {
        let fail = |problems: Vec<String>| {
            Error::invalid(format!(
                "{source}: not a valid InstallOverrideList:\n  {}",
                problems.join("\n  ")
            ))
            .with_hint(
                "the file is YAML: a top-level `patches:` list of entries with `id: name.arch` \
                 and optional `title: name.arch:version` (see docs/install.md)",
            )
        };
        let docs = YamlLoader::load_from_str(text).map_err(|e| {
            fail(vec![format!(
                "YAML syntax: {} (line {}, column {})",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            )])
        })?;
        let doc = match docs.as_slice() {
            [doc] => doc,
            [] => return Err(fail(vec!["the file is empty; expected `patches:`".into()])),
            _ => {
                return Err(fail(vec![format!(
                    "{} YAML documents; expected one",
                    docs.len()
                )]))
            }
        };
        let Yaml::Hash(top) = doc else {
            return Err(fail(vec![format!(
                "the top level is {}; expected a mapping with `patches:`",
                kind(doc)
            )]));
        };
        let patches = match top.get(&Yaml::String("patches".into())) {
            Some(Yaml::Array(items)) => items,
            Some(other) => {
                return Err(fail(vec![format!(
                    "patches: is {}; expected a list (write `patches: []` to install nothing)",
                    kind(other)
                )]))
            }
            None => return Err(fail(vec!["no `patches:` key at the top level".into()])),
        };
        let mut problems = Vec::new();
        let mut entries = Vec::with_capacity(patches.len());
        for (i, item) in patches.iter().enumerate() {
            match entry(item) {
                Ok(e) => entries.push(e),
                Err(why) => problems.push(format!("patches[{i}]: {why}")),
            }
        }
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        let compiled = entries
            .iter()
            .map(|e| {
                (
                    PatternSet::new([(0, e.id.as_str())]),
                    e.title.as_deref().map(|t| PatternSet::new([(0, t)])),
                )
            })
            .collect();
        Ok(InstallOverrideList {
            source: source.to_string(),
            entries,
            compiled,
        })
    }

    /// The index of the first entry this package version matches (id, and title when given).
    pub fn matching_entry(
        &self,
        family: Family,
        name: &str,
        arch: &str,
        version: &str,
    ) -> Option<usize> {
        let lower = name.to_lowercase();
        let hit = |set: &PatternSet| {
            set.relevant_for(&lower)
                .first_match(family, name, arch, version)
                .is_some()
        };
        self.compiled
            .iter()
            .position(|(id, title)| hit(id) && title.as_ref().is_none_or(hit))
    }
}

/// One entry, or why it is not valid.
fn entry(item: &Yaml) -> std::result::Result<OverrideEntry, String> {
    let Yaml::Hash(map) = item else {
        return Err(format!(
            "is {}; expected a mapping with `id:` (and optionally `title:`)",
            kind(item)
        ));
    };
    let field = |key: &str| -> std::result::Result<Option<String>, String> {
        match map.get(&Yaml::String(key.into())) {
            None | Some(Yaml::Null) => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.trim().to_string())),
            // An unquoted number is still text here (a version, say): keep what was written.
            Some(Yaml::Real(s)) => Ok(Some(s.clone())),
            Some(Yaml::Integer(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(format!("{key} is {}; expected text", kind(other))),
        }
    };
    let id = field("id")?;
    let title = field("title")?;
    let Some(id) = id.filter(|s| !s.is_empty()) else {
        return Err("id is missing or empty; expected name.arch, e.g. openssl.x86_64".into());
    };
    if id.starts_with('-') {
        return Err(format!(
            "id {id:?} starts with '-', which no package name does"
        ));
    }
    if let Some(t) = &title {
        if t.is_empty() {
            return Err(format!(
                "title of {id:?} is empty; omit it or give name.arch:version"
            ));
        }
    }
    Ok(OverrideEntry { id, title })
}

fn kind(y: &Yaml) -> &'static str {
    match y {
        Yaml::Real(_) => "a number",
        Yaml::Integer(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Boolean(_) => "a boolean",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a mapping",
        Yaml::Alias(_) => "an alias",
        Yaml::Null => "empty (null)",
        Yaml::BadValue => "not a value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<InstallOverrideList> {
        InstallOverrideList::parse("list.yaml", text)
    }

    #[test]
    fn aws_example_layout_with_quoted_values_and_dash_lines() {
        // The layout of the AWS documentation's example: `-` on its own line, quoted scalars.
        let l = parse(
            "---\npatches:\n    -\n        id: 'openssl-sim.all'\n        title: 'openssl-sim.all:1.1-1'\n    -\n        id: 'curl*'\n        extra: ignored\n",
        )
        .unwrap();
        assert_eq!(
            l.entries,
            vec![
                OverrideEntry {
                    id: "openssl-sim.all".into(),
                    title: Some("openssl-sim.all:1.1-1".into())
                },
                OverrideEntry {
                    id: "curl*".into(),
                    title: None
                }
            ]
        );
    }

    #[test]
    fn flow_style_and_empty_list() {
        let l =
            parse("patches: [{id: a.x86_64}, {id: b.noarch, title: 'b.noarch:0:1-1'}]").unwrap();
        assert_eq!(l.entries.len(), 2);
        assert!(parse("patches: []\n").unwrap().entries.is_empty());
    }

    #[test]
    fn id_and_title_both_must_match() {
        let l = parse(
            "patches:\n- id: kern-sim.noarch\n  title: 'kern-sim.noarch:0:2.0-*'\n- id: 'openssl*'\n",
        )
        .unwrap();
        let rpm = Family::Rpm;
        assert_eq!(
            l.matching_entry(rpm, "kern-sim", "noarch", "2.0-1"),
            Some(0)
        );
        assert_eq!(l.matching_entry(rpm, "kern-sim", "noarch", "3.0-1"), None);
        assert_eq!(l.matching_entry(rpm, "kern-sim", "x86_64", "2.0-1"), None);
        assert_eq!(
            l.matching_entry(rpm, "openssl-sim", "noarch", "1:9-9"),
            Some(1)
        );
        assert_eq!(l.matching_entry(rpm, "curl-sim", "noarch", "2.0-1"), None);
        let deb = parse("patches:\n- id: curl-sim.all\n  title: curl-sim.all:2.0-1\n").unwrap();
        assert_eq!(
            deb.matching_entry(Family::Deb, "curl-sim", "all", "2.0-1"),
            Some(0)
        );
        assert_eq!(
            deb.matching_entry(Family::Deb, "curl-sim", "all", "2.1-1"),
            None
        );
    }

    #[test]
    fn every_bad_entry_is_named_at_once() {
        let e = parse(
            "patches:\n- id: good.x86_64\n- title: no-id\n- just text\n- id: '-rf'\n- id: [a]\n- id: x.noarch\n  title: ''\n",
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = &e.message;
        assert!(m.starts_with("list.yaml: "), "{m}");
        assert!(m.contains("patches[1]: id is missing"), "{m}");
        assert!(m.contains("patches[2]: is text; expected a mapping"), "{m}");
        assert!(m.contains("patches[3]: id \"-rf\" starts with '-'"), "{m}");
        assert!(m.contains("patches[4]: id is a list; expected text"), "{m}");
        assert!(
            m.contains("patches[5]: title of \"x.noarch\" is empty"),
            "{m}"
        );
        assert!(!m.contains("patches[0]"), "{m}");
    }

    #[test]
    fn shape_errors_name_the_problem() {
        let cases = [
            ("", "the file is empty"),
            ("- id: a\n", "the top level is a list"),
            ("other: 1\n", "no `patches:` key"),
            ("patches:\n", "patches: is empty (null)"),
            ("patches: {id: a}\n", "patches: is a mapping"),
            ("patches: [\n", "YAML syntax"),
            ("patches: []\n---\npatches: []\n", "2 YAML documents"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(want), "{text:?}: {}", e.message);
            assert_eq!(e.exit_code(), 2);
        }
    }
}
