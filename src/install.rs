//! Install: plan → transaction(s) → re-read → per-package outcome (docs/install.md).
//!
//! 1. **Plan.** Decide as scan does; every Missing `name.arch` gets its target version (or, with
//!    an InstallOverrideList, the newest offered version the list names for each installed
//!    `name.arch`). Only installed packages are named; new ones come in only as dependencies.
//! 2. **Transactions.** Everything in ONE transaction. If it fails: finish what the package
//!    manager left half-done, re-read what is installed, drop what landed, and retry the rest —
//!    together when the failed transaction still installed something, else split in halves —
//!    down to single packages, whose failure reason is then that package's own. Under
//!    RejectedPatchesAction BLOCK every transaction is simulated first, and one that would bring
//!    in a version matching RejectedPatches is split the same way: a single package that would
//!    is left out, its reason naming the rejected package.
//! 3. **Re-read** the inventory (no refresh) and evaluate again with the same baseline and time.
//! 4. **Outcome.** The report is the baseline's view of the system after the install, with
//!    operation Install: an approved package still below its target is Failed with the package
//!    manager's reason (an Install report never contains Missing; with an override list only the
//!    listed packages can be Failed and the rest keep their state, as AWS does).
//!
//! Reboot detection, pending-reboot state and the reboot itself happen after this, in the app
//! (see `app::install`).

pub mod override_list;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::app::{report_of, Evaluated};
use crate::backend::install::{index_installed, Change, Installer, Simulation, Target};
use crate::baseline::{Baseline, RejectedPatchesAction};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Family, InstalledPackage, PatchState};
use crate::report::{InstallRecord, Operation, PackageChange, Report, TransactionRecord};
use crate::rules::{self, patterns::PatternSet};
use crate::system::System;
use crate::version;

pub use override_list::InstallOverrideList;

/// What the install run was asked for besides the scan options.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// `RebootIfNeeded` or `NoReboot` (recorded here; acted on after the install).
    pub reboot_option: &'a str,
    pub reboot_command: Option<&'a str>,
    pub override_list: Option<&'a InstallOverrideList>,
    /// How long the package manager may wait for its own locks (`--lock-timeout`).
    pub lock_timeout: std::time::Duration,
}

/// The result of an install run.
pub struct Outcome {
    /// The Install report (before reboot detection).
    pub report: Report,
    /// The system as evaluated after the install.
    pub after: Evaluated,
    /// What changed between the installed sets before and after ([`crate::reboot::changes`]).
    pub changed: Vec<crate::reboot::Change>,
    /// An error that stopped the transactions early; the report still says what happened.
    pub fatal: Option<Error>,
}

/// One `name.arch` the run sets out to change.
#[derive(Debug, Clone)]
struct Planned {
    target: Target,
    from: String,
}

/// Install what `ev` says is missing (or what the override list names).
pub fn run(ev: &Evaluated, opts: &Options) -> Result<Outcome> {
    let system = system_of(ev)?;
    let family = ev.inventory.family;
    let planned = plan(ev, opts.override_list);
    tracing::info!(packages = planned.len(), "install plan");
    let mut installer =
        Installer::new(system, &ev.root, &ev.sources, block_patterns(&ev.baseline))?;
    installer.set_lock_timeout(opts.lock_timeout);
    let mut run = Run::new(&installer, family, &ev.baseline);
    let mut fatal = run
        .apply(planned.iter().map(|p| p.target.clone()).collect())
        .err();
    if let Some(e) = fatal.as_mut().filter(|e| e.kind == ErrorKind::LockTimeout) {
        if let Some((path, holder)) = crate::lock::held_package_manager_lock(&ev.root, family) {
            e.message
                .push_str(&format!(" ({} is held by {holder})", path.display()));
        }
        if run.installed_now.is_none() {
            // Another package manager held the lock before anything was installed: nothing
            // changed, so nothing failed; exit 4 as for a lock held before the run.
            return Err(fatal.expect("just matched"));
        }
    }
    if let Some(e) = &fatal {
        tracing::error!("install stopped: {e}");
    }

    // Evaluate again with what is installed now. What the repositories offer and the advisories
    // are the ones read before the install: a second repository query would cost another
    // package-manager start (a third of a dnf install's overhead) and tell nothing new.
    // From here on transactions may have run: no error may lose the report. What cannot be
    // read again is reported, and the last installed set known stands in for it.
    let fully_installed = match (run.installed_now.take(), &fatal) {
        (Some(now), None) => now,
        (last, _) => installer.installed().unwrap_or_else(|e| {
            run.notes.push(format!(
                "cannot read the installed packages after the install ({e}): the report shows {}",
                if last.is_some() {
                    "them as of the last transaction that could be read"
                } else {
                    "them as before the install"
                }
            ));
            last.unwrap_or_else(|| ev.inventory.installed.clone())
        }),
    };
    let after = Evaluated {
        baseline: ev.baseline.clone(),
        baseline_source: ev.baseline_source.clone(),
        inventory: crate::model::Inventory {
            installed: fully_installed.clone(),
            ..ev.inventory.clone()
        },
        system: ev.system.clone(),
        operating_system: ev.operating_system,
        root: ev.root.clone(),
        sources: ev.sources.clone(),
        now: ev.now,
        started_at: ev.started_at,
    };
    let changed =
        crate::reboot::changes(family, &ev.inventory.installed, &after.inventory.installed);
    let mut report = report_of(&after, Operation::Install);
    // A target dpkg left unfinished is Failed; anything else it left unfinished is an error.
    let planned_ids: HashSet<String> = planned.iter().map(|p| p.target.id()).collect();
    let mut unfinished: HashMap<String, String> = HashMap::new();
    let left_unfinished = installer.unfinished().unwrap_or_else(|e| {
        run.notes.push(format!(
            "cannot read which packages the package manager left unfinished: {e}"
        ));
        Vec::new()
    });
    for (name, arch, state) in left_unfinished {
        let id = format!("{name}.{arch}");
        if planned_ids.contains(&id) {
            unfinished.insert(id, state);
        } else {
            run.notes.push(format!(
                "the package manager left {id} {state} (not a target of this run)"
            ));
        }
    }
    let targets: Vec<Target> = planned.iter().map(|p| p.target.clone()).collect();
    let not_done: HashMap<String, Target> = pending(&installer, family, targets, &fully_installed)
        .into_iter()
        .map(|t| (t.id(), t))
        .collect();
    mark_failures(
        &mut report,
        &not_done,
        &run.failed,
        &unfinished,
        opts.override_list.is_none(),
    );
    report.refresh_summary();
    report.errors.append(&mut run.notes);
    if let Some(e) = &fatal {
        report.errors.push(e.to_string());
    }
    report.install = Some(InstallRecord {
        reboot_option: opts.reboot_option.to_string(),
        reboot_command: opts.reboot_command.map(str::to_string),
        install_override_list: opts.override_list.map(|l| l.source.clone()),
        requested: planned
            .iter()
            .map(|p| PackageChange {
                id: p.target.id(),
                from: Some(version::display(family, &p.from)),
                to: Some(version::display(family, &p.target.version)),
            })
            .collect(),
        transactions: std::mem::take(&mut run.transactions),
        simulations: run.simulations,
        changed: package_changes(family, &changed),
    });
    Ok(Outcome {
        report,
        after,
        changed,
        fatal,
    })
}

/// Scan under RejectedPatchesAction BLOCK: say in each Missing package's reason when installing
/// it would bring in a rejected package (it stays Missing; install will leave it out and report
/// it Failed). Runs only dry runs of the package manager.
pub fn annotate_blocked(ev: &Evaluated, report: &mut Report) {
    let Some(system) = &ev.system else {
        return;
    };
    if ev.baseline.rejected_patches_action != RejectedPatchesAction::Block
        || ev.baseline.rejected_patches.is_empty()
    {
        return;
    }
    let planned = plan(ev, None);
    if planned.is_empty() {
        return;
    }
    // The dry runs only add to the reasons: when they cannot run, the scan still reports.
    let block = block_patterns(&ev.baseline);
    let checked = Installer::new(system, &ev.root, &ev.sources, block).and_then(|installer| {
        let mut run = Run::new(&installer, ev.inventory.family, &ev.baseline);
        let mut stack = vec![planned.into_iter().map(|p| p.target).collect::<Vec<_>>()];
        while let Some(batch) = stack.pop() {
            if let BlockCheck::Split([left, right]) = run.check_block(&batch)? {
                stack.push(right);
                stack.push(left);
            }
        }
        Ok(run.failed)
    });
    let blocked = match checked {
        Ok(b) => b,
        Err(e) => {
            let msg = format!(
                "could not check which updates would bring in a rejected package (BLOCK): {e}"
            );
            tracing::warn!("{msg}");
            report.errors.push(msg);
            return;
        }
    };
    for p in &mut report.patches {
        if let Some(why) = blocked.get(&p.id) {
            p.reason = format!("{why}; {}", p.reason);
        }
    }
}

/// RejectedPatches when RejectedPatchesAction is BLOCK, else nothing.
fn block_patterns(b: &Baseline) -> &[String] {
    if b.rejected_patches_action == RejectedPatchesAction::Block {
        &b.rejected_patches
    } else {
        &[]
    }
}

fn system_of(ev: &Evaluated) -> Result<&System> {
    ev.system.as_ref().ok_or_else(|| {
        Error::invalid("install needs a system to change: --inventory is for what-if scans")
            .with_hint("use --root DIR for an image, or no option for this host")
    })
}

/// What to install: the targets of every Missing package, or what the override list names.
fn plan(ev: &Evaluated, list: Option<&InstallOverrideList>) -> Vec<Planned> {
    let family = ev.inventory.family;
    let Some(list) = list else {
        let eval = rules::evaluate(&ev.baseline, &ev.inventory, ev.now);
        return eval
            .packages
            .iter()
            .filter(|d| d.state == PatchState::Missing)
            .filter_map(|d| {
                let t = &eval.candidates[d.target?];
                Some(Planned {
                    target: Target {
                        name: d.name.to_string(),
                        arch: d.arch.to_string(),
                        version: t.version.to_string(),
                    },
                    from: d.installed?.version.clone(),
                })
            })
            .collect();
    };
    // The override list: for each installed name.arch, the newest offered version newer than
    // the installed one that an entry matches.
    let mut newest_installed: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for p in &ev.inventory.installed {
        let slot = newest_installed
            .entry((p.name.as_str(), p.arch.as_str()))
            .or_insert(p.version.as_str());
        if version::compare(family, &p.version, slot).is_gt() {
            *slot = p.version.as_str();
        }
    }
    let mut chosen: BTreeMap<(&str, &str), (&str, &str)> = BTreeMap::new();
    let mut used = vec![false; list.entries.len()];
    for a in &ev.inventory.available {
        let key = (a.name.as_str(), a.arch.as_str());
        let Some(&installed) = newest_installed.get(&key) else {
            continue;
        };
        if !version::compare(family, &a.version, installed).is_gt() {
            continue;
        }
        let Some(entry) = list.matching_entry(family, &a.name, &a.arch, &a.version) else {
            continue;
        };
        used[entry] = true;
        let better = chosen
            .get(&key)
            .is_none_or(|(v, _)| version::compare(family, &a.version, v).is_gt());
        if better {
            chosen.insert(key, (a.version.as_str(), installed));
        }
    }
    for (i, e) in list.entries.iter().enumerate().filter(|(i, _)| !used[*i]) {
        tracing::warn!(
            "{}: patches[{i}] (id {:?}) names no update of an installed package",
            list.source,
            e.id
        );
    }
    chosen
        .into_iter()
        .map(|((name, arch), (v, from))| Planned {
            target: Target {
                name: name.to_string(),
                arch: arch.to_string(),
                version: v.to_string(),
            },
            from: from.to_string(),
        })
        .collect()
}

/// The targets not yet reached: no fully installed version of the package is at or above the
/// target.
fn pending(
    installer: &Installer,
    family: Family,
    targets: Vec<Target>,
    installed: &[InstalledPackage],
) -> Vec<Target> {
    let index = index_installed(installer, installed);
    targets
        .into_iter()
        .filter(|t| {
            let key = (t.name.as_str(), installer.arch_key(&t.arch).to_string());
            !index.get(&key).is_some_and(|versions| {
                versions
                    .iter()
                    .any(|v| !version::compare(family, v, &t.version).is_lt())
            })
        })
        .collect()
}

/// The state of one install run.
struct Run<'a> {
    installer: &'a Installer,
    family: Family,
    baseline: &'a Baseline,
    /// RejectedPatches compiled, under BLOCK only.
    block: Option<PatternSet>,
    /// id → why it was not installed.
    failed: HashMap<String, String>,
    transactions: Vec<TransactionRecord>,
    simulations: usize,
    notes: Vec<String>,
    /// The fully installed packages as read after the last transaction.
    installed_now: Option<Vec<InstalledPackage>>,
}

impl<'a> Run<'a> {
    fn new(installer: &'a Installer, family: Family, baseline: &'a Baseline) -> Run<'a> {
        let block = (baseline.rejected_patches_action == RejectedPatchesAction::Block
            && !baseline.rejected_patches.is_empty())
        .then(|| {
            PatternSet::new(
                baseline
                    .rejected_patches
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i, e.as_str())),
            )
        });
        Run {
            installer,
            family,
            baseline,
            block,
            failed: HashMap::new(),
            transactions: Vec::new(),
            simulations: 0,
            notes: Vec::new(),
            installed_now: None,
        }
    }

    /// Install `targets`, splitting on failure (see the module documentation).
    fn apply(&mut self, targets: Vec<Target>) -> Result<()> {
        // Each failure either installs something or splits the batch, so this bounds the work;
        // the cap only guards against a package manager that lies about what it did.
        let budget = 4 * targets.len() + 8;
        let mut stack = vec![targets];
        while let Some(batch) = stack.pop() {
            // After SIGINT/SIGTERM no further transaction starts (the running one was left to
            // finish); what is left is reported, and the run exits 5 (src/signals.rs).
            if let Some(sig) = crate::signals::received() {
                for t in batch {
                    self.failed
                        .insert(t.id(), format!("not attempted: interrupted by {sig}"));
                }
                continue;
            }
            // Until the first transaction the plan itself says what is below its target.
            let batch = match &self.installed_now {
                Some(now) => pending(self.installer, self.family, batch, now),
                None => batch,
            };
            if batch.is_empty() {
                continue;
            }
            if self.transactions.len() >= budget {
                for t in batch {
                    self.failed.insert(
                        t.id(),
                        format!("not attempted: gave up after {budget} transactions"),
                    );
                }
                continue;
            }
            let Some(batch) = self.unblocked(batch, &mut stack)? else {
                continue;
            };
            let tx = self.installer.install(&batch)?;
            self.transactions.push(TransactionRecord {
                packages: batch.iter().map(Target::label).collect(),
                command: tx.output.command.clone(),
                exit_code: tx.output.code(),
                seconds: (tx.seconds * 1000.0).round() / 1000.0,
            });
            if let Some(said) = self.installer.lock_problem(&tx) {
                // Not the packages' fault: stop (no split), every target stays as it was.
                return Err(Error::new(
                    ErrorKind::LockTimeout,
                    format!("the package manager could not get its lock: {said}"),
                )
                .with_hint("let it finish, or wait longer with --lock-timeout SECONDS; never kill a running package manager"));
            }
            if !tx.ok() {
                self.notes.extend(self.installer.after_failure()?);
            }
            let now = self.installer.installed()?;
            let remaining = pending(self.installer, self.family, batch.clone(), &now);
            self.installed_now = Some(now);
            if remaining.is_empty() {
                continue;
            }
            if tx.ok() || batch.len() == 1 {
                // Its own transaction (or one that claims success): the reason is final.
                for t in &remaining {
                    let why = self.installer.failure_reason(&tx, t);
                    let why = if tx.ok() {
                        format!("the package manager finished without installing it: {why}")
                    } else {
                        why
                    };
                    self.failed.insert(t.id(), why);
                }
            } else if remaining.len() < batch.len() {
                // Progress: the rest together again.
                stack.push(remaining);
            } else {
                let (left, right) = halves(remaining);
                stack.push(right);
                stack.push(left);
            }
        }
        Ok(())
    }

    /// Under BLOCK: the batch when its dry run brings in nothing rejected; else None, with the
    /// halves pushed (or, for a single package, its reason recorded).
    fn unblocked(
        &mut self,
        batch: Vec<Target>,
        stack: &mut Vec<Vec<Target>>,
    ) -> Result<Option<Vec<Target>>> {
        if self.block.is_none() {
            return Ok(Some(batch));
        }
        Ok(match self.check_block(&batch)? {
            BlockCheck::Clean => Some(batch),
            BlockCheck::Blocked => None,
            BlockCheck::Split([left, right]) => {
                stack.push(right);
                stack.push(left);
                None
            }
        })
    }

    /// Dry-run `batch` and look for rejected versions among what would come in.
    fn check_block(&mut self, batch: &[Target]) -> Result<BlockCheck> {
        let Some(rejected) = &self.block else {
            return Ok(BlockCheck::Clean);
        };
        let simulation = self.installer.simulate(batch)?;
        if simulation != Simulation::Unsupported {
            self.simulations += 1;
        }
        let changes = match simulation {
            Simulation::Changes(c) => c,
            // The real transaction will fail too, and be split: nothing to decide here.
            Simulation::Failed(_) => return Ok(BlockCheck::Clean),
            // yum: the rejected packages are excluded from its resolver instead.
            Simulation::Unsupported => return Ok(BlockCheck::Clean),
        };
        let offenders: Vec<String> = changes
            .iter()
            .filter_map(|c| {
                let entry = rejected.relevant_for(&c.name.to_lowercase()).first_match(
                    self.family,
                    &c.name,
                    &c.arch,
                    &c.version,
                )?;
                Some(self.offender(c, entry))
            })
            .collect();
        if offenders.is_empty() {
            return Ok(BlockCheck::Clean);
        }
        if let [t] = batch {
            self.failed.insert(
                t.id(),
                format!(
                    "left out: installing {} {} would bring in {} (RejectedPatchesAction is BLOCK)",
                    t.id(),
                    version::display(self.family, &t.version),
                    offenders.join(", ")
                ),
            );
            return Ok(BlockCheck::Blocked);
        }
        let (left, right) = halves(batch.to_vec());
        Ok(BlockCheck::Split([left, right]))
    }

    fn offender(&self, c: &Change, entry: usize) -> String {
        format!(
            "{}.{} {}, which matches RejectedPatches[{entry}] {:?}",
            c.name,
            c.arch,
            version::display(self.family, &c.version),
            self.baseline
                .rejected_patches
                .get(entry)
                .map(String::as_str)
                .unwrap_or("")
        )
    }
}

/// What a dry run under BLOCK decided about a batch.
enum BlockCheck {
    /// Nothing rejected would come in (or the dry run failed: the real transaction will too).
    Clean,
    /// A single package that would bring in a rejected one: its reason is recorded.
    Blocked,
    /// Several packages, some of which would: check each half.
    Split([Vec<Target>; 2]),
}

fn halves(mut batch: Vec<Target>) -> (Vec<Target>, Vec<Target>) {
    let right = batch.split_off(batch.len() / 2);
    (batch, right)
}

/// Turn the after-install report into the Install outcome: targets not reached are Failed with
/// their reason; in normal mode every remaining Missing is Failed too (an Install report never
/// contains Missing); a package dpkg left unfinished is Failed whatever its version says.
fn mark_failures(
    report: &mut Report,
    not_done: &HashMap<String, Target>,
    failed: &HashMap<String, String>,
    unfinished: &HashMap<String, String>,
    baseline_mode: bool,
) {
    for p in &mut report.patches {
        let why = if let Some(state) = unfinished.get(&p.id) {
            Some(format!(
                "the package manager left it {state}{}",
                failed
                    .get(&p.id)
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default()
            ))
        } else if not_done.contains_key(&p.id) {
            Some(
                failed
                    .get(&p.id)
                    .cloned()
                    .unwrap_or_else(|| "not installed (the run stopped before it)".to_string()),
            )
        } else if baseline_mode && p.state == PatchState::Missing {
            Some(failed.get(&p.id).cloned().unwrap_or_else(|| {
                "still below its target after the install (it became applicable during the run)"
                    .to_string()
            }))
        } else {
            None
        };
        if let Some(why) = why {
            if let Some(t) = not_done.get(&p.id) {
                p.reason = format!("install of {} failed: {why}; {}", t.version, p.reason);
            } else {
                p.reason = format!("install failed: {why}; {}", p.reason);
            }
            p.state = PatchState::Failed;
        }
    }
}

/// The re-run after the reboot an install asked for (the SSM agent's, which installs nothing):
/// what is still below its target was not installed by the run before the reboot, and is Failed
/// as in that run's report (an Install report never contains Missing; with an override list only
/// the listed packages can be Failed).
pub fn mark_after_reboot(
    ev: &Evaluated,
    report: &mut Report,
    override_list: Option<&InstallOverrideList>,
) {
    const WHY: &str = "not installed by the run before the reboot";
    let not_done: HashMap<String, Target> = plan(ev, override_list)
        .into_iter()
        .map(|p| (p.target.id(), p.target))
        .collect();
    let failed: HashMap<String, String> = report
        .patches
        .iter()
        .filter(|p| not_done.contains_key(&p.id) || p.state == PatchState::Missing)
        .map(|p| (p.id.clone(), WHY.to_string()))
        .collect();
    mark_failures(
        report,
        &not_done,
        &failed,
        &HashMap::new(),
        override_list.is_none(),
    );
    report.refresh_summary();
}

/// The report's `install.changed`: one entry per `name.arch` of [`crate::reboot::changes`],
/// newest version before → newest version this run installed (None: new / removed).
fn package_changes(family: Family, changed: &[crate::reboot::Change]) -> Vec<PackageChange> {
    let mut by_id: BTreeMap<String, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for c in changed {
        let (_, newest) = by_id
            .entry(c.id())
            .or_insert((c.old_version.as_deref(), None));
        if let Some(v) = c.new_version.as_deref() {
            if newest.is_none_or(|n| version::compare(family, v, n).is_gt()) {
                *newest = Some(v);
            }
        }
    }
    by_id
        .into_iter()
        .map(|(id, (from, to))| PackageChange {
            id,
            from: from.map(|v| version::display(family, v)),
            to: to.map(|v| version::display(family, v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            arch: "noarch".into(),
            version: version.into(),
            install_time: None,
        }
    }

    #[test]
    fn changes_lists_upgrades_new_and_removed_packages() {
        let before = [pkg("a", "1.0-1"), pkg("b", "1.0-1"), pkg("k", "1.0-1")];
        let after = [
            pkg("a", "2.0-1"),
            pkg("c", "1.0-1"),
            pkg("k", "1.0-1"),
            pkg("k", "2.0-1"),
        ];
        let c = package_changes(
            Family::Rpm,
            &crate::reboot::changes(Family::Rpm, &before, &after),
        );
        let got: Vec<(&str, Option<&str>, Option<&str>)> = c
            .iter()
            .map(|c| (c.id.as_str(), c.from.as_deref(), c.to.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("a.noarch", Some("1.0-1"), Some("2.0-1")),
                ("b.noarch", Some("1.0-1"), None),
                ("c.noarch", None, Some("1.0-1")),
                ("k.noarch", Some("1.0-1"), Some("2.0-1")),
            ]
        );
    }

    #[test]
    fn halves_split_down_the_middle() {
        let t = |n: &str| Target {
            name: n.into(),
            arch: "all".into(),
            version: "1".into(),
        };
        let (l, r) = halves(vec![t("a"), t("b"), t("c")]);
        assert_eq!((l.len(), r.len()), (1, 2));
        let (l, r) = halves(vec![t("a"), t("b")]);
        assert_eq!((l[0].name.as_str(), r[0].name.as_str()), ("a", "b"));
    }
}
