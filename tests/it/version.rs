//! Our version orderings against the real tools: thousands of generated pairs, biased toward the
//! shapes where the algorithms differ (epochs, `~`, `^`, letters against digits, leading zeros,
//! odd separators, long digit runs, equal prefixes), each compared by us and by rpm 4.18's
//! `rpm.vercmp` or `dpkg --compare-versions`. Generation uses a fixed seed so every run checks
//! the same pairs, and every disagreement is reported, not just the first.

use std::cmp::Ordering;
use std::path::Path;
use std::process::Command;

use patchbaseline::version::{compare_deb, compare_rpm};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use crate::common::{require_tool, run, show};

const RPM_PAIRS: usize = 4000;
const DEB_PAIRS: usize = 4000;

/// A runner whose cases come from a fixed seed, whatever PROPTEST_* says, so CI is reproducible.
fn runner(seed: u64, cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

/// `n` values drawn from `strategy` with a fixed seed.
fn sample<S: Strategy>(strategy: S, n: usize, seed: u64) -> Vec<S::Value> {
    let mut runner = runner(seed, 1);
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the version strategies never reject")
                .current()
        })
        .collect()
}

fn pick(choices: &'static [&'static str]) -> BoxedStrategy<String> {
    select(choices).prop_map(String::from).boxed()
}

/// Digit runs: small numbers that collide often, leading zeros, and runs past u64.
fn digits() -> BoxedStrategy<String> {
    prop_oneof![
        4 => pick(&["0", "1", "2", "9", "10", "01", "001", "00", "11"]),
        1 => "[0-9]{1,4}".boxed(),
        1 => "[1-9][0-9]{19,30}".boxed(),
        1 => "0{1,3}[0-9]{20,25}".boxed(),
    ]
    .boxed()
}

/// Letter runs, both cases (`A < a` for both tools).
fn letters() -> BoxedStrategy<String> {
    prop_oneof![
        3 => pick(&["a", "b", "z", "A", "Z", "rc", "git", "el", "fc", "beta"]),
        1 => "[a-zA-Z]{1,3}".boxed(),
    ]
    .boxed()
}

/// Two strings with a common prefix: each is `prefix + own suffix`.
fn shared_prefix(part: BoxedStrategy<String>) -> BoxedStrategy<(String, String)> {
    (part.clone(), part.clone(), part)
        .prop_map(|(prefix, x, y)| (format!("{prefix}{x}"), format!("{prefix}{y}")))
        .boxed()
}

/// A pair of optional parts: both absent, equal, or drawn independently.
fn optional_pair(part: BoxedStrategy<String>) -> BoxedStrategy<(Option<String>, Option<String>)> {
    prop_oneof![
        Just((None, None)),
        part.clone().prop_map(|p| (Some(p.clone()), Some(p))),
        (
            proptest::option::of(part.clone()),
            proptest::option::of(part)
        ),
    ]
    .boxed()
}

/// Rewrite `v` in ways both tools should treat as the same version, chosen by `bits`: swap
/// separators among `separators`, add a leading zero to some digit runs, add `epoch` when
/// there is no `:` and `revision` when there is no `-`.
fn rewrite(v: &str, bits: u32, separators: &[char], epoch: &str, revision: &str) -> String {
    let mut out = String::new();
    if bits & 1 != 0 && !v.contains(':') {
        out.push_str(epoch);
    }
    let mut previous_digit = false;
    for (i, c) in v.chars().enumerate() {
        let bit = |n: usize| bits >> ((i * 3 + n) % 29 + 3) & 1 != 0;
        if c.is_ascii_digit() && !previous_digit && bit(0) {
            out.push('0');
        }
        match separators.iter().position(|&s| s == c) {
            Some(_) if bit(1) => out.push(separators[(i + bits as usize) % separators.len()]),
            _ => out.push(c),
        }
        previous_digit = c.is_ascii_digit();
    }
    if bits & 2 != 0 && !v.contains('-') {
        out.push_str(revision);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// rpm

/// One rpm version or release: any mix of segments and separators, including `-` and `:`
/// inside (which move rpm's split points) and bytes rpm treats as separators (`%`, `é`).
fn rpm_part() -> BoxedStrategy<String> {
    let token = prop_oneof![
        4 => digits(),
        3 => letters(),
        4 => pick(&["."]),
        2 => pick(&["~", "^"]),
        1 => pick(&["~~", "^^", "~^", "^~"]),
        1 => pick(&["_", "+", "-", ":", "%", "é", "..", "#"]),
    ];
    proptest::collection::vec(token, 0..5)
        .prop_map(|t| t.concat())
        .boxed()
}

fn rpm_epoch() -> BoxedStrategy<String> {
    prop_oneof![
        4 => pick(&["0", "1", "2", "00", "01", "10", ""]),
        1 => "[0-9]{18,25}".boxed(),
    ]
    .boxed()
}

/// Mostly independent-ish pairs, and one in five a version against a rewrite of itself that
/// should compare equal (or nearly: the tools decide).
fn rpm_pair() -> BoxedStrategy<(String, String)> {
    prop_oneof![
        4 => rpm_different_pair(),
        1 => (rpm_different_pair(), any::<u32>())
            .prop_map(|((a, _), bits)| {
                let b = rewrite(&a, bits, &['.', '_', '+', '%'], "0:", "");
                (a, b)
            }),
    ]
    .boxed()
}

fn rpm_different_pair() -> BoxedStrategy<(String, String)> {
    let part_pair = prop_oneof![3 => shared_prefix(rpm_part()), 1 => (rpm_part(), rpm_part())];
    let release_pair = prop_oneof![
        optional_pair(rpm_part()),
        shared_prefix(rpm_part()).prop_map(|(a, b)| (Some(a), Some(b))),
    ];
    (optional_pair(rpm_epoch()), part_pair, release_pair)
        .prop_map(|((ea, eb), (va, vb), (ra, rb))| (evr(ea, va, ra), evr(eb, vb, rb)))
        .boxed()
}

fn evr(epoch: Option<String>, version: String, release: Option<String>) -> String {
    let mut s = epoch.map(|e| format!("{e}:")).unwrap_or_default();
    s.push_str(&version);
    if let Some(r) = release {
        s.push('-');
        s.push_str(&r);
    }
    if s.is_empty() {
        // rpm.vercmp raises "invalid version" on an empty string.
        s.push('0');
    }
    s
}

/// rpm.vercmp over every pair in one rpm process: the pairs go in a file (tab-separated, one per
/// line), a Lua loop writes one result per line to another file.
fn rpm_vercmp_batch(pairs: &[(String, String)]) -> Vec<i32> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("pairs.tsv");
    let output = dir.path().join("results.txt");
    let script = dir.path().join("vercmp.lua");
    let lines: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&input, lines).expect("write pairs");
    // A script file, not inline Lua: rpm would macro-expand any `%` in `--eval`'s argument.
    std::fs::write(
        &script,
        "local out = assert(io.open(os.getenv('PB_RESULTS'), 'w'))\n\
         for line in io.lines(os.getenv('PB_PAIRS')) do\n\
           local tab = line:find('\\t', 1, true)\n\
           out:write(rpm.vercmp(line:sub(1, tab - 1), line:sub(tab + 1)), '\\n')\n\
         end\n\
         out:close()\n",
    )
    .expect("write script");
    let out = run(Command::new("rpm")
        .arg("--eval")
        .arg("%{lua: dofile(os.getenv('PB_SCRIPT'))}")
        // No ~/.rpmmacros of the host's user can change anything.
        .env("HOME", dir.path())
        .env("PB_PAIRS", &input)
        .env("PB_RESULTS", &output)
        .env("PB_SCRIPT", &script));
    assert!(out.status.success(), "rpm --eval failed:\n{}", show(&out));
    parse_results(&output, pairs.len())
}

fn parse_results(path: &Path, expected: usize) -> Vec<i32> {
    let text = std::fs::read_to_string(path).expect("read results");
    let results: Vec<i32> = text
        .lines()
        .map(|l| {
            l.trim()
                .parse()
                .unwrap_or_else(|e| panic!("bad result line {l:?}: {e}"))
        })
        .collect();
    assert_eq!(results.len(), expected, "one result per pair:\n{text}");
    results
}

fn ordering(result: i32) -> Ordering {
    result.cmp(&0)
}

#[test]
fn rpm_order_matches_rpm_vercmp_on_generated_pairs() {
    let test = "version::rpm_order_matches_rpm_vercmp_on_generated_pairs";
    if require_tool(test, "rpm").is_none() {
        return;
    }
    let pairs = sample(rpm_pair(), RPM_PAIRS, 0x7270_6d31);
    let theirs = rpm_vercmp_batch(&pairs);
    let wrong: Vec<String> = pairs
        .iter()
        .zip(&theirs)
        .filter(|((a, b), &t)| compare_rpm(a, b) != ordering(t))
        .map(|((a, b), t)| {
            format!(
                "{a:?} vs {b:?}: rpm.vercmp {t}, ours {:?}",
                compare_rpm(a, b)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} pairs disagree with rpm.vercmp:\n{}",
        wrong.len(),
        pairs.len(),
        wrong.join("\n")
    );
    // The sample must exercise every outcome, or it proves little.
    let counts = [-1, 0, 1].map(|want| theirs.iter().filter(|&&t| t == want).count());
    println!("rpm.vercmp results -1/0/1: {counts:?}");
    assert!(
        counts.iter().all(|&n| n > pairs.len() / 20),
        "too few pairs of some outcome (-1/0/1): {counts:?}"
    );
    println!("checked {} generated pairs against rpm.vercmp", pairs.len());
}

/// Fixed rows, each first checked by hand against rpm 4.18, and checked again here.
#[test]
fn rpm_fixed_table_matches_rpm_vercmp() {
    let test = "version::rpm_fixed_table_matches_rpm_vercmp";
    if require_tool(test, "rpm").is_none() {
        return;
    }
    let table: &[(&str, &str, i32)] = &[
        ("1.0~rc1", "1.0", -1),
        ("1.0^", "1.0", 1),
        ("1.0^git1", "1.0.1", -1),
        ("1:1.0", "2.0", 1),
        ("1.0a", "1.0", 1),
        ("1.0a", "1.0.1", -1),
        ("1.0", "1.0-1", -1),
        ("1.0-", "1.0-0", -1),
        ("0:1.0-1", "1.0-1", 0),
        ("1.01", "1.1", 0),
        ("1.0_1", "1.0.1", 0),
        ("2.el9", "10.el9", -1),
    ];
    let pairs: Vec<(String, String)> = table
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let theirs = rpm_vercmp_batch(&pairs);
    for (&(a, b, want), t) in table.iter().zip(theirs) {
        assert_eq!(t, want, "rpm.vercmp({a:?}, {b:?}) changed");
        assert_eq!(compare_rpm(a, b), ordering(want), "{a:?} vs {b:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// dpkg

/// A valid Debian upstream version or revision: starts with a digit (upstream), made of
/// `[A-Za-z0-9.+~]`, plus `-` and `:` when `extra` allows them. A few pairs also use `_` and
/// `é`, which dpkg warns about but still orders.
fn deb_part(extra: &'static [&'static str]) -> BoxedStrategy<String> {
    let token = prop_oneof![
        4 => digits(),
        3 => letters(),
        4 => pick(&["."]),
        2 => pick(&["~", "+"]),
        1 => pick(&["~~", "+~", "~+", "..", "_", "é"]),
        1 => select(extra).prop_map(String::from),
    ];
    proptest::collection::vec(token, 0..5)
        .prop_map(|t| t.concat())
        .boxed()
}

/// Like [`rpm_pair`]: one in five pairs is a version against a rewrite of itself.
fn deb_pair() -> BoxedStrategy<(String, String)> {
    prop_oneof![
        4 => deb_different_pair(),
        1 => (deb_different_pair(), any::<u32>())
            .prop_map(|((a, _), bits)| {
                let b = rewrite(&a, bits, &[], "0:", "-0");
                (a, b)
            }),
    ]
    .boxed()
}

fn deb_different_pair() -> BoxedStrategy<(String, String)> {
    let upstream = || deb_part(&["-", ":", "."]);
    let upstream_pair = prop_oneof![
        3 => shared_prefix(upstream()),
        1 => (upstream(), upstream()),
    ];
    let revision_pair = prop_oneof![
        optional_pair(deb_part(&["."])),
        shared_prefix(deb_part(&["."])).prop_map(|(a, b)| (Some(a), Some(b))),
    ];
    let epoch = prop_oneof![
        4 => pick(&["0", "1", "2", "00", "01", "10"]),
        1 => pick(&["2147483647", "0002147483647", "2147483646"]),
    ]
    .boxed();
    // The leading digits that make an upstream valid, usually the same on both sides so the
    // shared prefixes stay shared.
    let first_digits = prop_oneof![
        3 => digits().prop_map(|d| (d.clone(), d)),
        1 => (digits(), digits()),
    ];
    (
        optional_pair(epoch),
        first_digits,
        upstream_pair,
        revision_pair,
    )
        .prop_map(|((ea, eb), (da, db), (ua, ub), (ra, rb))| {
            (
                deb_version(ea, format!("{da}{ua}"), ra),
                deb_version(eb, format!("{db}{ub}"), rb),
            )
        })
        .boxed()
}

/// Assemble a version dpkg accepts: a `:` in the upstream needs an epoch, a `-` needs a
/// revision, and a revision cannot be empty.
fn deb_version(epoch: Option<String>, upstream: String, revision: Option<String>) -> String {
    let epoch = epoch.or_else(|| upstream.contains(':').then(|| "0".to_string()));
    let revision = match revision {
        Some(r) if r.is_empty() => Some("0".to_string()),
        None if upstream.contains('-') => Some("1".to_string()),
        r => r,
    };
    let mut s = epoch.map(|e| format!("{e}:")).unwrap_or_default();
    s.push_str(&upstream);
    if let Some(r) = revision {
        s.push('-');
        s.push_str(&r);
    }
    s
}

fn relation(order: Ordering) -> &'static str {
    match order {
        Ordering::Less => "lt",
        Ordering::Equal => "eq",
        Ordering::Greater => "gt",
    }
}

/// For each `(a, relation, b)` line, dpkg's exit code for `dpkg --compare-versions a rel b`:
/// 0 true, 1 false, 2 rejected. dpkg has no batch mode, so one `sh` loop runs it once per line.
fn dpkg_batch(lines: &[(String, &str, String)]) -> Vec<i32> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("pairs.txt");
    let output = dir.path().join("results.txt");
    let text: String = lines
        .iter()
        .map(|(a, rel, b)| format!("{a} {rel} {b}\n"))
        .collect();
    std::fs::write(&input, text).expect("write pairs");
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(
            "while read -r a rel b; do \
               dpkg --compare-versions \"$a\" \"$rel\" \"$b\" 2>/dev/null; echo $?; \
             done < \"$1\" > \"$2\"",
        )
        .arg("sh")
        .arg(&input)
        .arg(&output));
    assert!(out.status.success(), "dpkg loop failed:\n{}", show(&out));
    parse_results(&output, lines.len())
}

/// dpkg's own answer for one pair, for the failure message.
fn dpkg_says(a: &str, b: &str) -> &'static str {
    let lines = [
        (a.to_string(), "lt", b.to_string()),
        (a.to_string(), "eq", b.to_string()),
    ];
    match dpkg_batch(&lines)[..] {
        [0, _] => "lt",
        [1, 0] => "eq",
        [1, 1] => "gt",
        _ => "rejects the pair",
    }
}

#[test]
fn deb_order_matches_dpkg_on_generated_pairs() {
    let test = "version::deb_order_matches_dpkg_on_generated_pairs";
    if require_tool(test, "dpkg").is_none() {
        return;
    }
    let pairs = sample(deb_pair(), DEB_PAIRS, 0x6470_6b67);
    // One dpkg run per pair: ask whether our answer holds (exit 0), which is exact.
    let lines: Vec<(String, &str, String)> = pairs
        .iter()
        .map(|(a, b)| (a.clone(), relation(compare_deb(a, b)), b.clone()))
        .collect();
    let codes = dpkg_batch(&lines);
    let wrong: Vec<String> = lines
        .iter()
        .zip(&codes)
        .filter(|(_, &code)| code != 0)
        .map(|((a, ours, b), code)| {
            format!(
                "{a:?} vs {b:?}: ours {ours}, dpkg {} (exit {code} for {ours})",
                dpkg_says(a, b)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} pairs disagree with dpkg:\n{}",
        wrong.len(),
        pairs.len(),
        wrong.join("\n")
    );
    let counts = ["lt", "eq", "gt"].map(|want| lines.iter().filter(|(_, r, _)| *r == want).count());
    println!("dpkg results lt/eq/gt: {counts:?}");
    assert!(
        counts.iter().all(|&n| n > pairs.len() / 20),
        "too few pairs of some outcome (lt/eq/gt): {counts:?}"
    );
    println!("checked {} generated pairs against dpkg", pairs.len());
}

/// Fixed rows, each first checked by hand against dpkg 1.21, and checked again here.
#[test]
fn deb_fixed_table_matches_dpkg() {
    let test = "version::deb_fixed_table_matches_dpkg";
    if require_tool(test, "dpkg").is_none() {
        return;
    }
    let table: &[(&str, &str, Ordering)] = &[
        ("1.0~rc1", "1.0", Ordering::Less),
        ("1.0~~", "1.0~", Ordering::Less),
        ("1:1.0", "2.0", Ordering::Greater),
        ("1.0a", "1.0", Ordering::Greater),
        ("1.0a", "1.0+", Ordering::Less),
        ("1.0+", "1.0.", Ordering::Less),
        ("1.0", "1.0-0", Ordering::Equal),
        ("1.0-1", "1.0", Ordering::Greater),
        ("01", "1", Ordering::Equal),
        ("2.0-1ubuntu1", "2.0-1", Ordering::Greater),
        ("2.0-1~deb12u1", "2.0-1", Ordering::Less),
        ("1.2.3+dfsg-1", "1.2.3-1", Ordering::Greater),
    ];
    let lines: Vec<(String, &str, String)> = table
        .iter()
        .map(|&(a, b, want)| (a.to_string(), relation(want), b.to_string()))
        .collect();
    for ((a, rel, b), code) in lines.iter().zip(dpkg_batch(&lines)) {
        assert_eq!(code, 0, "dpkg no longer says {a} {rel} {b}");
    }
    for &(a, b, want) in table {
        assert_eq!(compare_deb(a, b), want, "{a:?} vs {b:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties that need no tool: any string at all, never a panic, always a total order.

fn check_total_order(cmp: fn(&str, &str) -> Ordering, strings: BoxedStrategy<String>, seed: u64) {
    let result =
        runner(seed, 1000).run(&(strings.clone(), strings.clone(), strings), |(a, b, c)| {
            prop_assert_eq!(cmp(&a, &a), Ordering::Equal);
            prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse());
            let mut sorted = [a.as_str(), b.as_str(), c.as_str()];
            sorted.sort_by(|x, y| cmp(x, y));
            let [x, y, z] = sorted;
            prop_assert!(cmp(x, y).is_le() && cmp(y, z).is_le() && cmp(x, z).is_le());
            if cmp(x, y).is_eq() && cmp(y, z).is_eq() {
                prop_assert!(cmp(x, z).is_eq());
            }
            Ok(())
        });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn rpm_order_is_total_on_any_string() {
    check_total_order(compare_rpm, any::<String>().boxed(), 1);
    check_total_order(compare_rpm, rpm_pair().prop_map(|(a, _)| a).boxed(), 2);
}

#[test]
fn deb_order_is_total_on_any_string() {
    check_total_order(compare_deb, any::<String>().boxed(), 3);
    check_total_order(compare_deb, deb_pair().prop_map(|(a, _)| a).boxed(), 4);
    // Strings dpkg rejects (bad epochs, blanks) must still order consistently.
    check_total_order(compare_deb, "[ +:0-9a~-]{0,8}".boxed(), 5);
}
