//! Evaluation: every candidate version gets a [`Verdict`] with the facts behind it, every
//! installed or approvable `name.arch` gets a [`PatchState`]. Reasons are rendered from the
//! verdicts on demand, so a large evaluation allocates no prose it does not print.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::baseline::{
    Approval, Baseline, ComplianceLevel, FilterKey, PatchFilter, PatchRule, RejectedPatchesAction,
};
use crate::model::{Advisory, AvailablePackage, Family, InstalledPackage, Inventory, PatchState};
use crate::rules::patterns::{entry_kind, EntryKind, PatternSet, Relevant};
use crate::version;

/// The result of evaluating one inventory against one baseline.
#[derive(Debug)]
pub struct Evaluation<'a> {
    pub family: Family,
    pub now: DateTime<Utc>,
    /// Every version considered, grouped by `name.arch` (sorted), newest first within a group.
    pub candidates: Vec<Candidate<'a>>,
    /// One entry per installed `name.arch` and per approved `name.arch` that is not installed.
    pub packages: Vec<PackageDecision<'a>>,
}

/// One version of one `name.arch` that the baseline was asked about.
#[derive(Debug)]
pub struct Candidate<'a> {
    pub name: &'a str,
    pub arch: &'a str,
    /// As the inventory wrote it.
    pub version: &'a str,
    /// The repository entry, when a repository offers this version.
    pub available: Option<&'a AvailablePackage>,
    /// This exact version is installed.
    pub installed: bool,
    /// Advisories naming this exact version (RPM).
    pub advisories: Vec<&'a Advisory>,
    /// The advisory whose attributes (classification, severity, date) this version carries:
    /// the first one that approves it, else the first one.
    pub primary: Option<&'a Advisory>,
    /// In an update notice (RPM) or offered by a security archive (apt).
    pub security: bool,
    /// The date ApproveAfterDays/ApproveUntilDate measure from (none on apt).
    pub release_date: Option<DateTime<Utc>>,
    pub verdict: Verdict<'a>,
    pub compliance_level: ComplianceLevel,
}

impl Candidate<'_> {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.arch)
    }

    pub fn is_approved(&self) -> bool {
        matches!(self.verdict, Verdict::Approved { .. })
    }

    pub fn classification(&self) -> Option<&str> {
        match self.primary {
            Some(a) => Some(a.classification.as_str()),
            None if self.security => Some("Security"),
            None => None,
        }
    }

    /// Vendor severity (RPM) or Priority (apt).
    pub fn severity(&self) -> Option<&str> {
        match self.primary {
            Some(a) => a.severity.as_deref(),
            None => self.available.and_then(|a| a.priority.as_deref()),
        }
    }
}

/// Why a version is or is not approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Approved by these rules (indexes into ApprovalRules.PatchRules) and/or the approved list.
    Approved {
        rules: RuleSet,
        list: Option<ListMatch>,
    },
    /// Matches RejectedPatches[entry]; rejection beats every approval.
    Rejected { entry: usize },
    /// Nothing approves it; one miss per rule (and per matching list entry) says why.
    NotApproved { misses: Rc<[Miss<'a>]> },
}

/// A set of approval-rule indexes (a baseline has at most 10 rules; 64 are representable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleSet(u64);

impl RuleSet {
    pub fn insert(&mut self, rule: usize) {
        if rule < 64 {
            self.0 |= 1 << rule;
        }
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The indexes, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |i| self.0 & (1 << i) != 0)
    }
}

/// How the approved list matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMatch {
    /// Index into ApprovedPatches.
    pub entry: usize,
    /// For an advisory, CVE or Bugzilla entry: the advisory that carries it.
    pub via_advisory: Option<String>,
}

/// Why one rule (or the approved list) did not approve a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss<'a> {
    /// The baseline has no approval rules and the list does not name it.
    NoRules,
    /// GlobalFilters.PatchFilters[filter] rejects it.
    GlobalFilter {
        filter: usize,
        actual: Option<&'a str>,
    },
    /// PatchRules[rule].PatchFilterGroup.PatchFilters[filter] does not match.
    Filter {
        rule: usize,
        filter: usize,
        actual: Option<&'a str>,
    },
    /// PatchRules[rule] matches but the version is not a security update and the rule's
    /// EnableNonSecurity is off.
    NonSecurity { rule: usize },
    /// PatchRules[rule] matches but the version is too recent.
    TooRecent {
        rule: usize,
        released: DateTime<Utc>,
        approvable_from: DateTime<Utc>,
    },
    /// ApprovedPatches[entry] names it, but it is not a security update and
    /// ApprovedPatchesEnableNonSecurity is off.
    ListNonSecurity { entry: usize },
}

/// The decision for one `name.arch`.
#[derive(Debug)]
pub struct PackageDecision<'a> {
    pub name: &'a str,
    pub arch: &'a str,
    /// The newest installed version (several for installonly packages such as kernel).
    pub installed: Option<&'a InstalledPackage>,
    /// How many versions of this name.arch are installed.
    pub installed_count: usize,
    pub state: PatchState,
    /// Index into `candidates` of the version to install (Missing) or that makes it compliant
    /// (Installed): the newest approved version.
    pub target: Option<usize>,
    /// Index into `candidates` of the range this entry spans (for advisories and CVEs).
    pub candidates: std::ops::Range<usize>,
    /// Index into RejectedPatches when the installed version is rejected.
    pub rejected_installed: Option<usize>,
    pub compliance_level: ComplianceLevel,
    /// Why the state is what it is (see [`package_reason`]).
    pub why: Why,
}

impl PackageDecision<'_> {
    pub fn id(&self) -> String {
        format!("{}.{}", self.name, self.arch)
    }
}

/// Evaluate `inventory` against `baseline` at `now`.
pub fn evaluate<'a>(
    baseline: &Baseline,
    inventory: &'a Inventory,
    now: DateTime<Utc>,
) -> Evaluation<'a> {
    Engine::new(baseline, inventory.family).run(inventory, now)
}

/// An ApprovedPatches entry that is an id, not a package expression.
struct IdEntry<'b> {
    index: usize,
    kind: EntryKind,
    text: &'b str,
}

/// The compiled baseline (`'b`), evaluating an inventory that lives for `'a`.
struct Engine<'b, 'a> {
    baseline: &'b Baseline,
    family: Family,
    approved: PatternSet,
    approved_ids: Vec<IdEntry<'b>>,
    rejected: PatternSet,
    inventory: std::marker::PhantomData<&'a Inventory>,
}

/// The attributes filters look at.
#[derive(Clone, Copy, Default)]
struct Attrs<'a> {
    product: &'a str,
    classification: Option<&'a str>,
    severity: Option<&'a str>,
    priority: Option<&'a str>,
    section: Option<&'a str>,
}

/// One version while it is being gathered.
struct Version<'a> {
    version: &'a str,
    /// The version without a zero epoch: equal for equal versions.
    bare: &'a str,
    available: Option<&'a AvailablePackage>,
    installed: bool,
    /// Indexes into the inventory's advisories.
    advisories: Vec<usize>,
}

/// Rule outcomes per advisory: (approving rules, misses).
struct RuleCache<'a> {
    by_advisory: Vec<Option<(RuleSet, Rc<[Miss<'a>]>)>>,
    /// The ApprovedPatches id entry naming each advisory (by id, CVE or Bugzilla), if any.
    id_by_advisory: Vec<Option<Option<usize>>>,
}

/// `0:1.0-1` → `1.0-1`; any other version unchanged.
fn strip_zero_epoch(v: &str) -> &str {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b == b'0') => rest,
        _ => v,
    }
}

/// FNV-1a: the (name, arch) index hashes short trusted strings, where SipHash's DoS resistance
/// buys nothing and costs a tenth of the evaluation time.
#[derive(Clone, Copy, Default)]
struct BuildFnv;

struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

struct Group<'a> {
    name: &'a str,
    arch: &'a str,
    installed: Vec<&'a InstalledPackage>,
    versions: Vec<Version<'a>>,
}

impl<'b, 'a> Engine<'b, 'a> {
    fn new(baseline: &'b Baseline, family: Family) -> Engine<'b, 'a> {
        let mut approved_ids = Vec::new();
        let mut approved_pkgs = Vec::new();
        for (i, e) in baseline.approved_patches.iter().enumerate() {
            match entry_kind(e, family) {
                EntryKind::Package => approved_pkgs.push((i, e.as_str())),
                kind => approved_ids.push(IdEntry {
                    index: i,
                    kind,
                    text: e,
                }),
            }
        }
        Engine {
            baseline,
            family,
            approved: PatternSet::new(approved_pkgs),
            approved_ids,
            rejected: PatternSet::new(
                baseline
                    .rejected_patches
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i, e.as_str())),
            ),
            inventory: std::marker::PhantomData,
        }
    }

    fn run(&self, inv: &'a Inventory, now: DateTime<Utc>) -> Evaluation<'a> {
        let family = self.family;
        let mut groups: Vec<Group<'a>> = Vec::new();
        let mut index: HashMap<(&'a str, &'a str), usize, BuildFnv> =
            HashMap::with_capacity_and_hasher(
                inv.installed.len() + inv.available.len() / 2,
                BuildFnv,
            );
        let mut group_of = |groups: &mut Vec<Group<'a>>, name: &'a str, arch: &'a str| -> usize {
            *index.entry((name, arch)).or_insert_with(|| {
                groups.push(Group {
                    name,
                    arch,
                    installed: Vec::new(),
                    versions: Vec::new(),
                });
                groups.len() - 1
            })
        };
        // Versions of one name.arch are few; a zero epoch is optional in both formats, so
        // `0:1.0-1` and `1.0-1` are one version.
        let version_of = |group: &mut Group<'a>, v: &'a str| -> usize {
            let v_bare = strip_zero_epoch(v);
            if let Some(i) = group.versions.iter().position(|x| x.bare == v_bare) {
                return i;
            }
            group.versions.push(Version {
                version: v,
                bare: v_bare,
                available: None,
                installed: false,
                advisories: Vec::new(),
            });
            group.versions.len() - 1
        };
        for p in &inv.installed {
            let g = group_of(&mut groups, &p.name, &p.arch);
            groups[g].installed.push(p);
            let vi = version_of(&mut groups[g], &p.version);
            groups[g].versions[vi].installed = true;
        }
        for a in &inv.available {
            let g = group_of(&mut groups, &a.name, &a.arch);
            let vi = version_of(&mut groups[g], &a.version);
            groups[g].versions[vi].available.get_or_insert(a);
        }
        for (ai, adv) in inv.advisories.iter().enumerate() {
            for p in &adv.packages {
                let g = group_of(&mut groups, &p.name, &p.arch);
                let vi = version_of(&mut groups[g], &p.version);
                let advs = &mut groups[g].versions[vi].advisories;
                if !advs.contains(&ai) {
                    advs.push(ai);
                }
            }
        }
        groups.sort_unstable_by(|a, b| (a.name, a.arch).cmp(&(b.name, b.arch)));

        let mut cache = RuleCache {
            by_advisory: vec![None; inv.advisories.len()],
            id_by_advisory: vec![None; inv.advisories.len()],
        };
        let mut candidates = Vec::with_capacity(inv.available.len() + inv.installed.len());
        let mut packages = Vec::with_capacity(groups.len());
        let mut name_lower = String::new();
        let mut approved = self.approved.relevant_for("");
        let mut rejected = self.rejected.relevant_for("");
        for mut group in groups {
            group.versions.sort_by_cached_key(|v| {
                std::cmp::Reverse(version::SortKey::new(family, v.version))
            });
            group
                .installed
                .sort_by(|a, b| version::compare(family, &b.version, &a.version));
            name_lower.clear();
            name_lower.extend(group.name.chars().flat_map(char::to_lowercase));
            approved.refill(&name_lower);
            rejected.refill(&name_lower);
            let start = candidates.len();
            for v in std::mem::take(&mut group.versions) {
                candidates
                    .push(self.candidate(inv, &group, v, &approved, &rejected, now, &mut cache));
            }
            let range = start..candidates.len();
            if let Some(d) = self.decide(&group, &candidates, range, &rejected) {
                packages.push(d);
            }
        }
        Evaluation {
            family,
            now,
            candidates,
            packages,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn candidate(
        &self,
        inv: &'a Inventory,
        group: &Group<'a>,
        v: Version<'a>,
        approved: &Relevant<'_>,
        rejected: &Relevant<'_>,
        now: DateTime<Utc>,
        cache: &mut RuleCache<'a>,
    ) -> Candidate<'a> {
        let family = self.family;
        let advisories: Vec<&'a Advisory> =
            v.advisories.iter().map(|&i| &inv.advisories[i]).collect();
        let security = match family {
            Family::Rpm => !advisories.is_empty(),
            Family::Deb => v.available.is_some_and(|a| a.security),
        };
        let mut cand = Candidate {
            name: group.name,
            arch: group.arch,
            version: v.version,
            available: v.available,
            installed: v.installed,
            primary: advisories.first().copied(),
            advisories,
            security,
            release_date: None,
            verdict: Verdict::NotApproved {
                misses: Rc::from(Vec::new()),
            },
            compliance_level: ComplianceLevel::Unspecified,
        };
        if let Some(entry) = rejected.first_match(family, group.name, group.arch, v.version) {
            cand.verdict = Verdict::Rejected { entry };
            cand.release_date = self.release_date(&cand, cand.primary);
            return cand;
        }

        // The approved list: a package expression, or an advisory/CVE/Bugzilla id of one of the
        // advisories naming this version.
        let mut list = approved
            .first_match(family, group.name, group.arch, v.version)
            .map(|entry| ListMatch {
                entry,
                via_advisory: None,
            });
        if list.is_none() {
            list = v.advisories.iter().find_map(|&ai| {
                let adv = &inv.advisories[ai];
                let entry = *cache.id_by_advisory[ai].get_or_insert_with(|| self.id_entry(adv));
                entry.map(|entry| ListMatch {
                    entry,
                    via_advisory: Some(adv.id.clone()),
                })
            });
        }

        // The rules, once per advisory (a version may be in several; an advisory's outcome is
        // the same for every package in it, so it is computed once); the first advisory that
        // some rule approves becomes the version's primary one.
        let mut approving_rules = RuleSet::default();
        let mut misses: Rc<[Miss<'a>]> = Rc::from(Vec::new());
        if v.advisories.is_empty() {
            let date = self.release_date(&cand, None);
            let attrs = self.attrs(&inv.product, &cand, None);
            (approving_rules, misses) = self.rules(&attrs, security, date, now);
            cand.release_date = date;
        } else {
            for (k, &ai) in v.advisories.iter().enumerate() {
                let adv = cand.advisories[k];
                // An advisory's outcome is the same for every package in it, unless it has no
                // date and each package's build time stands in.
                let mut uncached = None;
                let outcome = if adv.release_date().is_some() {
                    &*cache.by_advisory[ai].get_or_insert_with(|| {
                        let attrs = self.attrs(&inv.product, &cand, Some(adv));
                        self.rules(&attrs, true, adv.release_date(), now)
                    })
                } else {
                    let attrs = self.attrs(&inv.product, &cand, Some(adv));
                    &*uncached.insert(self.rules(
                        &attrs,
                        true,
                        self.release_date(&cand, Some(adv)),
                        now,
                    ))
                };
                if !outcome.0.is_empty() {
                    approving_rules = outcome.0;
                    cand.primary = Some(adv);
                    cand.release_date = self.release_date(&cand, Some(adv));
                    break;
                }
                if k == 0 {
                    misses = Rc::clone(&outcome.1);
                    cand.release_date = self.release_date(&cand, Some(adv));
                }
            }
        }

        let list_ok = list
            .as_ref()
            .is_some_and(|_| security || self.baseline.approved_patches_enable_non_security);
        if let (Some(l), false) = (&list, list_ok) {
            let mut more = misses.to_vec();
            more.push(Miss::ListNonSecurity { entry: l.entry });
            misses = Rc::from(more);
        }
        if approving_rules.is_empty() && !list_ok {
            if misses.is_empty() {
                misses = Rc::from(vec![Miss::NoRules]);
            }
            cand.verdict = Verdict::NotApproved { misses };
            return cand;
        }
        let mut level = approving_rules
            .iter()
            .map(|r| self.baseline.approval_rules[r].compliance_level)
            .max()
            .unwrap_or_default();
        if list_ok {
            level = level.max(self.baseline.approved_patches_compliance_level);
        }
        cand.compliance_level = level;
        cand.verdict = Verdict::Approved {
            rules: approving_rules,
            list: if list_ok { list } else { None },
        };
        cand
    }

    /// The first ApprovedPatches id entry (advisory, CVE or Bugzilla id) naming `adv`.
    /// Advisory ids come in many shapes (`FEDORA-2024-5bd2c5a0b7`, `ALAS2KERNEL-5.10-2023-028`):
    /// an entry read as a package expression still approves an advisory whose id it spells
    /// exactly.
    fn id_entry(&self, adv: &Advisory) -> Option<usize> {
        let by_id = self
            .approved_ids
            .iter()
            .find(|id| match id.kind {
                EntryKind::Advisory => adv.id == id.text,
                EntryKind::Cve => adv.cves.iter().any(|c| c == id.text),
                EntryKind::Bugzilla => adv.bugzillas.iter().any(|b| b == id.text),
                EntryKind::Package => false,
            })
            .map(|id| id.index);
        let by_spelling = || {
            self.baseline
                .approved_patches
                .iter()
                .position(|e| *e == adv.id)
        };
        match (by_id, by_spelling()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The date a rule's cut-off is measured from: the advisory's updated (else issued) date;
    /// for an update in no advisory its build time; none on apt (dates are not supported there).
    fn release_date(
        &self,
        cand: &Candidate<'a>,
        adv: Option<&'a Advisory>,
    ) -> Option<DateTime<Utc>> {
        match self.family {
            Family::Deb => None,
            // An advisory without dates is dated by the package's build time, as an update in
            // no advisory is (AWS: no release date → build time → no delay).
            Family::Rpm => adv
                .and_then(Advisory::release_date)
                .or_else(|| cand.available.and_then(|a| a.build_time)),
        }
    }

    fn attrs(
        &self,
        product: &'a str,
        cand: &Candidate<'a>,
        adv: Option<&'a Advisory>,
    ) -> Attrs<'a> {
        match adv {
            Some(a) => Attrs {
                product,
                classification: Some(a.classification.as_str()),
                severity: a.severity.as_deref(),
                ..Attrs::default()
            },
            None => Attrs {
                product,
                classification: None,
                severity: None,
                priority: cand.available.and_then(|a| a.priority.as_deref()),
                section: cand.available.and_then(|a| a.section.as_deref()),
            },
        }
    }

    /// Which rules approve a version with these attributes, and why the others do not.
    fn rules(
        &self,
        attrs: &Attrs<'a>,
        security: bool,
        date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (RuleSet, Rc<[Miss<'a>]>) {
        let b = self.baseline;
        if let Some((filter, actual)) = failing_filter(&b.global_filters, attrs) {
            return (
                RuleSet::default(),
                Rc::from(vec![Miss::GlobalFilter { filter, actual }]),
            );
        }
        let mut approving = RuleSet::default();
        let mut misses = Vec::new();
        for (ri, rule) in b.approval_rules.iter().enumerate() {
            match self.rule_outcome(ri, rule, attrs, security, date, now) {
                None => approving.insert(ri),
                Some(m) => misses.push(m),
            }
        }
        (approving, Rc::from(misses))
    }

    fn rule_outcome(
        &self,
        ri: usize,
        rule: &PatchRule,
        attrs: &Attrs<'a>,
        security: bool,
        date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Miss<'a>> {
        if let Some((filter, actual)) = failing_filter(&rule.filters, attrs) {
            return Some(Miss::Filter {
                rule: ri,
                filter,
                actual,
            });
        }
        if !security && !rule.enable_non_security {
            return Some(Miss::NonSecurity { rule: ri });
        }
        // apt systems have no release dates: the cut-off does not apply (AWS documents
        // auto-approval as unsupported there). No date at all means a delay of 0.
        let released = date?;
        let approvable_from = match rule.approval {
            // A date so far in the future that the delay overflows is never approvable.
            Approval::AfterDays(days) => released
                .checked_add_signed(Duration::days(i64::from(days)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            Approval::UntilDate(d) => {
                // Released on or before that UTC day: anything released later never qualifies.
                let end_of_day = d.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |next| {
                    next.and_time(NaiveTime::MIN).and_utc()
                });
                if released < end_of_day {
                    return None;
                }
                return Some(Miss::TooRecent {
                    rule: ri,
                    released,
                    approvable_from: DateTime::<Utc>::MAX_UTC,
                });
            }
        };
        if now >= approvable_from {
            None
        } else {
            Some(Miss::TooRecent {
                rule: ri,
                released,
                approvable_from,
            })
        }
    }

    /// The state of one name.arch from its candidates.
    fn decide(
        &self,
        group: &Group<'a>,
        candidates: &[Candidate<'a>],
        range: std::ops::Range<usize>,
        rejected: &Relevant<'_>,
    ) -> Option<PackageDecision<'a>> {
        let family = self.family;
        let installed = group.installed.first().copied();
        let cands = &candidates[range.clone()];
        // Newest first: the first approved candidate is the newest approved version.
        let newest_approved = cands.iter().position(|c| c.is_approved());
        let newest_approved_available = cands
            .iter()
            .position(|c| c.is_approved() && (c.available.is_some() || c.installed));
        let mut d = PackageDecision {
            name: group.name,
            arch: group.arch,
            installed,
            installed_count: group.installed.len(),
            state: PatchState::InstalledOther,
            target: None,
            candidates: range.clone(),
            rejected_installed: None,
            compliance_level: ComplianceLevel::Unspecified,
            why: Why::NothingApproved,
        };
        let abs = |i: usize| range.start + i;
        let Some(inst) = installed else {
            // Not installed: NotApplicable when a repository offers an approved version.
            let i = newest_approved_available?;
            cands[i].available?;
            d.state = PatchState::NotApplicable;
            d.target = Some(abs(i));
            d.compliance_level = cands[i].compliance_level;
            d.why = Why::NotInstalled;
            return Some(d);
        };

        let rejected_entry = rejected.first_match(family, group.name, group.arch, &inst.version);
        d.rejected_installed = rejected_entry;
        if let (Some(_), RejectedPatchesAction::Block) =
            (rejected_entry, self.baseline.rejected_patches_action)
        {
            d.state = PatchState::InstalledRejected;
            d.why = Why::InstalledRejected;
            return Some(d);
        }
        let Some(na) = newest_approved else {
            d.why = if rejected_entry.is_some() {
                Why::RejectedAllowed
            } else {
                Why::NothingApproved
            };
            return Some(d);
        };

        let newer =
            |c: &Candidate| version::compare(family, c.version, &inst.version) == Ordering::Greater;
        match newest_approved_available {
            Some(i) if newer(&cands[i]) => {
                d.state = PatchState::Missing;
                d.target = Some(abs(i));
                d.compliance_level = cands[i].compliance_level;
                d.why = Why::Behind {
                    unavailable_newer: (na < i).then(|| abs(na)),
                };
            }
            _ => {
                // The newest approved version that is installed or older than what is installed.
                match cands[na..]
                    .iter()
                    .position(|c| c.is_approved() && !newer(c))
                {
                    Some(i) => {
                        d.state = PatchState::Installed;
                        d.target = Some(abs(na + i));
                        d.compliance_level = cands[na + i].compliance_level;
                        d.why = Why::UpToDate;
                    }
                    None => d.why = Why::ApprovedUnavailable { newest: abs(na) },
                }
            }
        }
        Some(d)
    }
}

/// Why a name.arch has its state; rendered by [`package_reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Not installed; an approved version is offered.
    NotInstalled,
    /// Installed version rejected under BLOCK.
    InstalledRejected,
    /// Installed version rejected under ALLOW_AS_DEPENDENCY: kept as InstalledOther.
    RejectedAllowed,
    /// No version of it is approved.
    NothingApproved,
    /// Installed below the target; maybe an even newer approved version is not offered.
    Behind { unavailable_newer: Option<usize> },
    /// Installed at or above the newest approved version.
    UpToDate,
    /// The only approved versions are newer but no repository offers them.
    ApprovedUnavailable { newest: usize },
}

/// A sentence saying why `d` has its state.
pub fn package_reason(b: &Baseline, eval: &Evaluation, d: &PackageDecision) -> String {
    let c = |i: usize| &eval.candidates[i];
    let inst = d.installed.map(|i| i.version.as_str()).unwrap_or("");
    let target = d.target.map(c);
    match (d.why, target) {
        (Why::NotInstalled, Some(t)) => format!(
            "not installed; {} {} is approved ({})",
            d.id(),
            t.version,
            describe(b, t)
        ),
        (Why::InstalledRejected, _) => {
            let e = d.rejected_installed.unwrap_or_default();
            format!(
                "installed {inst} matches RejectedPatches[{e}] {:?} and RejectedPatchesAction is BLOCK",
                b.rejected_patches.get(e).map(String::as_str).unwrap_or("")
            )
        }
        (Why::RejectedAllowed, _) => {
            let e = d.rejected_installed.unwrap_or_default();
            format!(
                "installed {inst} matches RejectedPatches[{e}] {:?}; RejectedPatchesAction ALLOW_AS_DEPENDENCY keeps it as InstalledOther",
                b.rejected_patches.get(e).map(String::as_str).unwrap_or("")
            )
        }
        (Why::Behind { unavailable_newer }, Some(t)) => {
            let mut s = format!("installed {inst} < approved {}: {}", t.version, describe(b, t));
            if let Some(n) = unavailable_newer {
                s.push_str(&format!(
                    "; the newer approved {} is not offered by any enabled repository",
                    c(n).version
                ));
            }
            s
        }
        (Why::UpToDate, Some(t)) => format!(
            "installed {inst} is at or above the newest approved {} ({})",
            t.version,
            describe(b, t)
        ),
        (Why::ApprovedUnavailable { newest }, _) => format!(
            "approved {} is not offered by any enabled repository; installed {inst} is not approved",
            c(newest).version
        ),
        _ => {
            let newer = eval.candidates[d.candidates.clone()]
                .iter()
                .find(|x| version::compare(eval.family, x.version, inst) == Ordering::Greater);
            match newer {
                None => format!("installed {inst}; no newer version offered and no approved version"),
                Some(n) => format!("installed {inst}; no version is approved (newest {}: {})", n.version, describe(b, n)),
            }
        }
    }
}

/// The first filter of `filters` that `attrs` fails, with the value it had.
fn failing_filter<'s>(
    filters: &[PatchFilter],
    attrs: &Attrs<'s>,
) -> Option<(usize, Option<&'s str>)> {
    filters.iter().enumerate().find_map(|(i, f)| {
        let actual = attr(attrs, f.key);
        (!filter_matches(f, actual)).then_some((i, actual))
    })
}

fn attr<'s>(attrs: &Attrs<'s>, key: FilterKey) -> Option<&'s str> {
    match key {
        FilterKey::Product => Some(attrs.product),
        FilterKey::Classification => attrs.classification,
        FilterKey::Severity => attrs.severity,
        FilterKey::Priority => attrs.priority,
        FilterKey::Section => attrs.section,
        _ => None,
    }
}

/// `*` passes everything (even a missing attribute); other values compare case-insensitively.
/// A missing severity is the value `None`; `Medium` and `Moderate` are the same severity (AWS
/// documents that `Medium` matches repositories that say `Moderate`); a Debian section such as
/// `universe/net` also matches `net`.
fn filter_matches(f: &PatchFilter, actual: Option<&str>) -> bool {
    if f.values.iter().any(|v| v == "*") {
        return true;
    }
    let actual = match (actual, f.key) {
        (Some(a), _) => a,
        (None, FilterKey::Severity) => "None",
        (None, _) => return false,
    };
    let same = |v: &str| {
        v.eq_ignore_ascii_case(actual)
            || (f.key == FilterKey::Severity && is_medium(v) && is_medium(actual))
            || (f.key == FilterKey::Section
                && actual
                    .rsplit_once('/')
                    .is_some_and(|(_, s)| v.eq_ignore_ascii_case(s)))
    };
    f.values.iter().any(|v| same(v))
}

fn is_medium(s: &str) -> bool {
    s.eq_ignore_ascii_case("medium") || s.eq_ignore_ascii_case("moderate")
}

/// Render a candidate's verdict as a sentence, e.g. `approved by ApprovalRules.PatchRules[1]
/// (CLASSIFICATION Bugfix; released 2024-01-15, approvable from 2024-01-22 (ApproveAfterDays 7))`.
pub fn describe(b: &Baseline, c: &Candidate) -> String {
    match &c.verdict {
        Verdict::Rejected { entry } => {
            format!(
                "rejected by RejectedPatches[{entry}] {:?}",
                b.rejected_patches[*entry]
            )
        }
        Verdict::Approved { rules, list } => {
            let mut parts: Vec<String> = rules
                .iter()
                .map(|r| {
                    let mut s = format!("approved by ApprovalRules.PatchRules[{r}]");
                    let mut facts = Vec::new();
                    if let Some(cls) = c.classification() {
                        facts.push(match c.severity() {
                            Some(sev) => format!("{cls}/{sev}"),
                            None => cls.to_string(),
                        });
                    }
                    if let Some(adv) = c.primary {
                        facts.push(adv.id.clone());
                    }
                    if let Some(d) = c.release_date {
                        facts.push(date_fact(&b.approval_rules[r], d));
                    }
                    if !facts.is_empty() {
                        s.push_str(&format!(" ({})", facts.join("; ")));
                    }
                    s
                })
                .collect();
            if let Some(l) = list {
                let entry = &b.approved_patches[l.entry];
                parts.push(match &l.via_advisory {
                    Some(adv) if adv != entry => {
                        format!(
                            "approved by ApprovedPatches[{}] {entry:?} (in advisory {adv})",
                            l.entry
                        )
                    }
                    _ => format!("approved by ApprovedPatches[{}] {entry:?}", l.entry),
                });
            }
            parts.join("; ")
        }
        Verdict::NotApproved { .. } if c.available.is_none() && c.advisories.is_empty() => {
            "not approved: no enabled repository or advisory offers this version, so nothing is known to approve it by".to_string()
        }
        Verdict::NotApproved { misses } => {
            let parts: Vec<String> = misses.iter().map(|m| describe_miss(b, c, m)).collect();
            format!("not approved: {}", parts.join("; "))
        }
    }
}

fn date_fact(rule: &PatchRule, released: DateTime<Utc>) -> String {
    match rule.approval {
        Approval::AfterDays(d) => format!(
            "released {}, approvable from {} (ApproveAfterDays {d})",
            fmt_date(released),
            fmt_date(
                released
                    .checked_add_signed(Duration::days(i64::from(d)))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            )
        ),
        Approval::UntilDate(u) => format!(
            "released {}, on or before ApproveUntilDate {u}",
            fmt_date(released)
        ),
    }
}

fn fmt_date(d: DateTime<Utc>) -> String {
    if d.time() == NaiveTime::MIN {
        d.format("%Y-%m-%d").to_string()
    } else {
        d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

fn describe_miss(b: &Baseline, c: &Candidate, m: &Miss) -> String {
    let filter_text = |f: &PatchFilter, actual: &Option<&str>| {
        format!(
            "{} {} not in [{}]",
            f.key,
            actual.unwrap_or("(none)"),
            f.values.join(", ")
        )
    };
    match m {
        Miss::NoRules => "the baseline has no approval rules and ApprovedPatches does not name it".into(),
        Miss::GlobalFilter { filter, actual } => format!(
            "GlobalFilters.PatchFilters[{filter}]: {}",
            filter_text(&b.global_filters[*filter], actual)
        ),
        Miss::Filter { rule, filter, actual } => format!(
            "PatchRules[{rule}]: {}",
            filter_text(&b.approval_rules[*rule].filters[*filter], actual)
        ),
        Miss::NonSecurity { rule } => format!(
            "PatchRules[{rule}]: not a security update ({}) and EnableNonSecurity is off",
            match c.available.map(|a| a.origins.as_slice()) {
                Some(o) if !o.is_empty() => format!("from {}", o.join(", ")),
                _ => "in no advisory".to_string(),
            }
        ),
        Miss::TooRecent {
            rule,
            released,
            approvable_from,
        } => match b.approval_rules[*rule].approval {
            Approval::AfterDays(d) => format!(
                "PatchRules[{rule}]: released {}, approvable from {} (ApproveAfterDays {d})",
                fmt_date(*released),
                fmt_date(*approvable_from)
            ),
            Approval::UntilDate(u) => format!(
                "PatchRules[{rule}]: released {}, after ApproveUntilDate {u}",
                fmt_date(*released)
            ),
        },
        Miss::ListNonSecurity { entry } => format!(
            "ApprovedPatches[{entry}] {:?} names it, but it is not a security update and ApprovedPatchesEnableNonSecurity is off",
            b.approved_patches[*entry]
        ),
    }
}
