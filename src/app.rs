//! Each command wired together: load and validate input, detect the system, gather the
//! inventory, evaluate, report. `main` only parses the command line and maps errors to exit codes.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use crate::backend::{self, ScanOptions};
use crate::baseline::{self, Baseline, BaselineDocument, OperatingSystem};
use crate::cli::{
    BaselineCommand, Cli, Command, FleetArgs, GenerateCommand, InstallArgs, RunArgs, SafetyArgs,
    ScanArgs,
};
use crate::error::{exit, Error, Result};
use crate::fsutil::write_atomic;
use crate::install::{self as installing, InstallOverrideList};
use crate::model::{Inventory, PatchState};
use crate::reboot::{self, Prepared};
use crate::report::aws::{self, RebootOption};
use crate::report::{console_summary, Context, Operation, Report};
use crate::rules::{self, describe};
use crate::signals;
use crate::system::{self, System};

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Scan { scan: args, fleet } => scan(&args, &fleet),
        Command::Install(args) => install(&args),
        Command::Explain { name, scan } => explain(&name, &scan),
        Command::Baseline(BaselineCommand::Default { os }) => baseline_default(&os),
        Command::Baseline(BaselineCommand::Validate { file, os }) => {
            baseline_validate(&file, os.as_deref())
        }
        Command::Run(args) => run_operation(&args),
        Command::Generate(what) => generate(&what),
    }
}

/// How a file argument is named in messages.
fn label(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Read a user-supplied file (`-` = standard input); a missing file is invalid input.
pub fn read_input(path: &Path, what: &str) -> Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::invalid(format!("<stdin>: cannot read the {what}: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(format!("{}: cannot read the {what}: {e}", path.display())).with_hint(
            format!("pass the path of an existing {what} file, or - for standard input"),
        )
    })
}

fn parse_os(s: &str) -> Result<OperatingSystem> {
    OperatingSystem::parse(s).ok_or_else(|| {
        let all: Vec<&str> = OperatingSystem::ALL.iter().map(|o| o.as_str()).collect();
        Error::invalid(format!(
            "--os: unknown OperatingSystem {s:?}; allowed: {}",
            all.join(", ")
        ))
    })
}

fn parse_at(at: Option<&str>) -> Result<DateTime<Utc>> {
    let Some(s) = at else {
        return Ok(Utc::now());
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(Error::invalid(format!(
        "--at: {s:?} is not a time; use RFC 3339 (2026-12-24T08:00:00Z) or a date (2026-12-24)"
    )))
}

/// Everything a scan evaluated, ready to report.
pub struct Evaluated {
    pub baseline: Baseline,
    pub baseline_source: String,
    pub inventory: Inventory,
    pub system: Option<System>,
    pub operating_system: OperatingSystem,
    pub root: PathBuf,
    /// The baseline `Sources` used instead of the configured repositories (those whose
    /// Products match this system); empty for what-if inventories.
    pub sources: Vec<crate::baseline::PatchSource>,
    pub now: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
}

/// Load the baseline, find the system, gather its inventory. Validation of every input happens
/// before the package manager is asked anything.
pub fn gather(args: &ScanArgs) -> Result<Evaluated> {
    gather_inputs(args, load_inputs(args)?)
}

/// Every input of a scan, validated, before the package manager is asked anything: the
/// baseline (loaded and selected for the system), the what-if inventory, the system.
pub struct Inputs {
    baseline: Baseline,
    baseline_source: String,
    what_if: Option<Inventory>,
    system: Option<System>,
    operating_system: OperatingSystem,
    root: PathBuf,
    sources: Vec<crate::baseline::PatchSource>,
    now: DateTime<Utc>,
    started_at: DateTime<Utc>,
}

/// The first half of [`gather`]: read and validate every input (exit 2 on a bad one) without
/// running the package manager, taking a lock or waiting for anything.
pub fn load_inputs(args: &ScanArgs) -> Result<Inputs> {
    let started_at = Utc::now();
    let now = parse_at(args.at.as_deref())?;
    let document = match &args.baseline {
        Some(path) => {
            let text = read_input(path, "baseline")?;
            Some((label(path), baseline::load(&label(path), &text)?))
        }
        None => None,
    };
    let what_if = match &args.inventory {
        Some(path) => {
            let text = read_input(path, "inventory")?;
            let inv: Inventory = serde_json::from_str(&text).map_err(|e| {
                Error::invalid(format!("{}: {e}", label(path)))
                    .with_hint("the inventory schema is in docs/inventory.md")
            })?;
            Some(inv)
        }
        None => None,
    };
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if what_if.is_none() && !root.is_dir() {
        return Err(Error::invalid(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }

    // The system: detected from os-release, or (what-if) named by the inventory or the baseline.
    let system = match what_if {
        Some(_) => None,
        None => Some(system::detect(&root)?),
    };
    let operating_system =
        match (&system, &what_if, &document) {
            (Some(s), _, _) => s.operating_system,
            (None, Some(inv), _) if inv.operating_system.is_some() => {
                inv.operating_system.expect("checked above")
            }
            (None, _, Some((_, BaselineDocument::Single(b)))) => b.operating_system,
            _ => return Err(Error::invalid(
                "the inventory has no operating_system and no single --baseline names one",
            )
            .with_hint(
                "add \"operating_system\": \"AMAZON_LINUX_2023\" (for example) to the inventory",
            )),
        };
    let (baseline, baseline_source) = match document {
        Some((source, doc)) => (doc.select(operating_system, &source)?, source),
        None => (
            baseline::predefined(operating_system).ok_or_else(|| {
                Error::invalid(format!(
                    "there is no predefined baseline for {operating_system}"
                ))
                .with_hint("pass --baseline FILE")
            })?,
            "predefined".to_string(),
        ),
    };

    let sources: Vec<_> = match &system {
        Some(sys) => baseline
            .sources
            .iter()
            .filter(|s| s.products.iter().any(|p| p == "*" || p == &sys.product))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    Ok(Inputs {
        baseline,
        baseline_source,
        what_if,
        system,
        operating_system,
        root,
        sources,
        now,
        started_at,
    })
}

/// The second half of [`gather`]: the inventory of the system the inputs name (refreshing the
/// package manager's metadata unless `--no-refresh`).
pub fn gather_inputs(args: &ScanArgs, inputs: Inputs) -> Result<Evaluated> {
    let Inputs {
        baseline,
        baseline_source,
        what_if,
        system,
        operating_system,
        root,
        sources,
        now,
        started_at,
    } = inputs;
    let inventory = match (what_if, &system) {
        (Some(inv), _) => inv,
        (None, Some(sys)) => {
            if !sources.is_empty() {
                tracing::info!(
                    sources = ?sources.iter().map(|s| &s.name).collect::<Vec<_>>(),
                    "using the baseline's Sources instead of the configured repositories"
                );
            }
            let mut refresh = !args.no_refresh;
            if refresh && !nix::unistd::Uid::effective().is_root() {
                // Refreshing writes the package manager's metadata cache, which only root may do.
                eprintln!(
                    "warning: not running as root: using the cached repository metadata \
                     (run as root to refresh it, or pass --no-refresh to silence this)"
                );
                refresh = false;
            }
            backend::inventory(
                sys,
                &ScanOptions {
                    root: &root,
                    refresh,
                    sources: &sources,
                },
            )?
        }
        (None, None) => unreachable!("a system is detected whenever there is no what-if inventory"),
    };
    Ok(Evaluated {
        baseline,
        baseline_source,
        inventory,
        system,
        operating_system,
        root,
        sources,
        now,
        started_at,
    })
}

/// Build the report of a gathered system.
pub fn report_of(ev: &Evaluated, operation: Operation) -> Report {
    let evaluation = rules::evaluate(&ev.baseline, &ev.inventory, ev.now);
    let product = match &ev.system {
        Some(s) => s.product.clone(),
        None => ev.inventory.product.clone(),
    };
    let root = if ev.system.is_some() {
        ev.root.display().to_string()
    } else {
        "(inventory)".to_string()
    };
    let mut report = Report::new(
        &Context {
            operation,
            operating_system: ev.operating_system,
            product: &product,
            root: &root,
            started_at: ev.started_at,
            baseline_source: &ev.baseline_source,
        },
        &ev.baseline,
        &evaluation,
    );
    report.finished_at = Utc::now();
    report
}

/// Write the report (when asked) and print the console summary.
pub fn publish(report: &Report, path: Option<&Path>, console_limit: usize) -> Result<()> {
    if let Some(p) = path {
        crate::fsutil::write_atomic_with(p, |w| report.write_json(w))
            .map_err(|e| Error::failed(format!("cannot write the report: {e}")))?;
    }
    let shown = path.map(|p| p.display().to_string());
    print!(
        "{}",
        console_summary(report, shown.as_deref(), console_limit)
    );
    Ok(())
}

/// Gather and report a scan, with the pending reboots recorded by installs and whether the
/// system needs a reboot now (for a system; a what-if inventory has neither).
pub fn scan_report(args: &ScanArgs) -> Result<Report> {
    let ev = gather(args)?;
    let mut report = report_of(&ev, Operation::Scan);
    // Under BLOCK, say which Missing updates would bring in a rejected package (dry runs only).
    installing::annotate_blocked(&ev, &mut report);
    if ev.system.is_some() {
        crate::reboot::scan_status(
            &mut report,
            &ev.root,
            &ev.inventory,
            args.boot_id_file.as_deref(),
            Utc::now(),
        )?;
    }
    Ok(report)
}

fn scan(args: &ScanArgs, fleet: &FleetArgs) -> Result<i32> {
    let mut plan = fleet_prepare(fleet, &RunParams::default())?;
    let report = scan_report(args)?;
    plan.scanned(args);
    publish(&report, args.report.as_deref(), args.console_limit)?;
    fleet_finish(&report, &plan, exit::SUCCESS)
}

// --- install (wip/install) ---

/// `patchbaseline install`: validate every input, gather as scan does, install, report.
fn install(args: &InstallArgs) -> Result<i32> {
    install_flow(&InstallRequest {
        scan: &args.scan,
        fleet: &args.fleet,
        params: RunParams {
            reboot_option: args.reboot_option,
            snapshot_id: None,
            install_override_list: args.install_override_list.as_ref().map(|p| label(p)),
        },
        override_list: args.install_override_list.as_deref(),
        reboot_command: args.reboot_command.as_deref(),
        safety: &args.safety,
    })
}

/// One install run, from `install` or `run --operation Install`.
struct InstallRequest<'a> {
    scan: &'a ScanArgs,
    fleet: &'a FleetArgs,
    params: RunParams,
    override_list: Option<&'a Path>,
    reboot_command: Option<&'a str>,
    safety: &'a SafetyArgs,
}

fn install_flow(req: &InstallRequest) -> Result<i32> {
    if req.scan.inventory.is_some() {
        return Err(Error::invalid(
            "install needs a system to change: --inventory is for what-if scans",
        )
        .with_hint("use --root DIR for an image, or no option for this host"));
    }
    let override_list = match req.override_list {
        Some(path) => {
            let text = read_input(path, "install override list")?;
            Some(InstallOverrideList::parse(&label(path), &text)?)
        }
        None => None,
    };
    // Every input is validated before the locks, the waits and the state (exit 2 at once).
    let inputs = load_inputs(req.scan)?;
    let mut plan = fleet_prepare(req.fleet, &req.params)?;
    if !nix::unistd::Uid::effective().is_root() {
        return Err(Error::invalid(
            "install changes packages and must run as root (nothing was changed)",
        )
        .with_hint("run it with sudo, or use `patchbaseline scan` to see what it would do"));
    }
    // Signals only set a flag from here on: a transaction is never cut short (docs/reboot.md).
    signals::install()?;
    let root = req.scan.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if !root.is_dir() {
        return Err(Error::invalid(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }
    let family = system::detect(&root)?.operating_system.family();
    let flow = reboot::Flow {
        root: &root,
        family,
        boot_id_file: req.scan.boot_id_file.as_deref(),
        lock_timeout: req.safety.lock_timeout(),
        dpkg_repair: req.safety.dpkg_repair,
        reboot_if_needed: req.params.reboot_option == RebootOption::RebootIfNeeded,
        reboot_command: req.reboot_command,
        ssm: reboot::under_ssm_agent(),
        started_at: Utc::now(),
    };
    // One run at a time; the SSM agent's re-run after our reboot request; other package managers.
    let (mut session, after_reboot) = match reboot::prepare(&flow)? {
        Prepared::AskAgain(_) => return Ok(exit::SSM_REBOOT),
        Prepared::AfterReboot(session, request) => (session, Some(request.exit_code)),
        Prepared::Install(session) => (session, None),
    };
    // A terminal's Ctrl-C reaches the refresh (it is harmless to stop): the run ends with
    // exit 5 as documented, nothing changed, whether the refresh failed from it or not.
    let ev = gather_inputs(req.scan, inputs).or_else(|e| {
        signals::check()?;
        Err(e)
    })?;
    signals::check()?;
    let (mut report, after, changed, code) = match after_reboot {
        // The reboot we asked for happened: report the system as it is, install nothing.
        Some(code) => {
            let mut report = report_of(&ev, Operation::Install);
            installing::mark_after_reboot(&ev, &mut report, override_list.as_ref());
            (report, ev.inventory, Vec::new(), code)
        }
        None => {
            reboot::before_install(&flow)?;
            let outcome = installing::run(
                &ev,
                &installing::Options {
                    reboot_option: req.params.reboot_option.as_str(),
                    reboot_command: req.reboot_command,
                    override_list: override_list.as_ref(),
                    lock_timeout: flow.lock_timeout,
                },
            )?;
            let code = if let Some(e) = &outcome.fatal {
                // A lock taken by another package manager mid-run is exit 4; the rest 3.
                if e.kind == crate::error::ErrorKind::LockTimeout {
                    e.exit_code()
                } else {
                    exit::OPERATION_FAILED
                }
            } else if outcome.report.summary.failed_count > 0 {
                exit::PACKAGES_FAILED
            } else {
                exit::SUCCESS
            };
            (
                outcome.report,
                outcome.after.inventory,
                outcome.changed,
                code,
            )
        }
    };
    // Reboot need and reasons, pending state, InstalledPendingReboot, `interrupted`.
    let finished = reboot::finish(
        &mut session,
        &mut report,
        &flow,
        &reboot::Finish {
            changed: &changed,
            after: &after,
            exit_code: code,
            after_reboot: after_reboot.is_some(),
        },
    )?;
    publish(&report, req.scan.report.as_deref(), req.scan.console_limit)?;
    plan.set_last_no_reboot_install(session.state.last_no_reboot_install);
    let code = fleet_finish(&report, &plan, finished.exit_code)?;
    // Every output is on disk: now the reboot (command, 194 or systemctl), if any.
    finished.perform(&flow, req.scan.report.as_deref(), code)
}
// --- end install ---

fn explain(name: &str, args: &ScanArgs) -> Result<i32> {
    let ev = gather(args)?;
    let evaluation = rules::evaluate(&ev.baseline, &ev.inventory, ev.now);
    let fmt = |v: &str| crate::version::display(evaluation.family, v);
    let mut out = String::new();
    let wanted = |n: &str| n == name || n.eq_ignore_ascii_case(name);
    for d in evaluation.packages.iter().filter(|d| wanted(d.name)) {
        out.push_str(&format!(
            "{}: {}{}\n  {}\n",
            d.id(),
            d.state,
            match (d.installed, d.target) {
                (Some(i), Some(t)) => format!(
                    " (installed {}, target {})",
                    fmt(&i.version),
                    fmt(evaluation.candidates[t].version)
                ),
                (Some(i), None) => format!(" (installed {})", fmt(&i.version)),
                (None, Some(t)) => format!(" (target {})", fmt(evaluation.candidates[t].version)),
                (None, None) => String::new(),
            },
            rules::package_reason(&ev.baseline, &evaluation, d)
        ));
        for c in &evaluation.candidates[d.candidates.clone()] {
            let mut flags = Vec::new();
            if c.installed {
                flags.push("installed");
            }
            if c.available.is_some() {
                flags.push("available");
            }
            let verdict = match &c.verdict {
                rules::Verdict::Approved { .. } => "APPROVED",
                rules::Verdict::Rejected { .. } => "REJECTED",
                rules::Verdict::NotApproved { .. } => "not approved",
            };
            let why = describe(&ev.baseline, c);
            let why = why
                .strip_prefix("not approved: ")
                .or_else(|| why.strip_prefix("approved by "))
                .map(|w| {
                    if c.is_approved() {
                        format!("by {w}")
                    } else {
                        w.to_string()
                    }
                })
                .unwrap_or(why);
            out.push_str(&format!(
                "    {:<28} {:<12} [{}] {}\n",
                fmt(c.version),
                verdict,
                flags.join(","),
                why
            ));
        }
    }
    // Versions of a name that is neither installed nor approved are still worth showing.
    let listed: Vec<_> = evaluation
        .packages
        .iter()
        .filter(|d| wanted(d.name))
        .collect();
    if listed.is_empty() {
        for c in evaluation.candidates.iter().filter(|c| wanted(c.name)) {
            out.push_str(&format!(
                "{} {}: not installed; {}\n",
                c.id(),
                fmt(c.version),
                describe(&ev.baseline, c)
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::invalid(format!(
            "{name}: no such package is installed or offered by the enabled repositories"
        ))
        .with_hint("check the spelling; `rpm -qa` / `dpkg -l` list installed names"));
    }
    print!("{out}");
    Ok(exit::SUCCESS)
}

fn baseline_default(os: &str) -> Result<i32> {
    let os = parse_os(os)?;
    let b = baseline::predefined(os).ok_or_else(|| {
        Error::invalid(format!(
            "there is no predefined baseline for {os} (Linux only)"
        ))
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&b.to_aws_json()).expect("JSON values serialise")
    );
    Ok(exit::SUCCESS)
}

fn baseline_validate(file: &Path, os: Option<&str>) -> Result<i32> {
    let os = os.map(parse_os).transpose()?;
    let text = read_input(file, "baseline")?;
    let source = label(file);
    let doc = baseline::load(&source, &text)?;
    let summary = match (&doc, os) {
        (_, Some(os)) => {
            let b = doc.clone().select(os, &source)?;
            format!(
                "valid: the baseline for {os} has {} approval rule(s)",
                b.approval_rules.len()
            )
        }
        (BaselineDocument::Single(b), None) => format!(
            "valid: one {} baseline with {} approval rule(s)",
            b.operating_system,
            b.approval_rules.len()
        ),
        (BaselineDocument::Override(v), None) => {
            let oss: Vec<&str> = v.iter().map(|b| b.operating_system.as_str()).collect();
            format!(
                "valid: BaselineOverride with {} entries ({})",
                v.len(),
                oss.join(", ")
            )
        }
    };
    println!("{source}: {summary}");
    Ok(exit::SUCCESS)
}

// ================================================================================================
// Fleet: the AWS formats, `run` (AWS-RunPatchBaseline's parameters) and --fail-on (docs/fleet.md).
// Every command that reports calls `fleet_prepare` before gathering anything (so bad options fail
// before the system is touched) and `fleet_finish` after the report is published. `install`
// does the same: flatten `FleetArgs` into its arguments, build `RunParams` from its
// --reboot-option (and override list), and pass its own exit code (0, 1 or 194) to
// `fleet_finish`; `run --operation Install` then calls that install flow.

/// What `run` (or `install`) knows beyond scan's options; the defaults are a plain scan's.
#[derive(Debug, Clone, Default)]
pub struct RunParams {
    pub reboot_option: RebootOption,
    pub snapshot_id: Option<String>,
    /// Where the InstallOverrideList came from, when an Install uses one.
    pub install_override_list: Option<String>,
}

/// The fleet outputs of one operation, checked before the system is touched.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    execution: Option<aws::Execution>,
    inventory: Option<PathBuf>,
    compliance: Option<PathBuf>,
    fail_on: Vec<PatchState>,
}

impl FleetPlan {
    /// AWS's LastNoRebootInstallOperationTime, from the pending-reboot state.
    fn set_last_no_reboot_install(&mut self, at: Option<DateTime<Utc>>) {
        if let Some(exec) = &mut self.execution {
            exec.last_no_reboot_install_time = at;
        }
    }

    /// For a scan of a system (not a what-if inventory): the time from its state, read without
    /// the run lock (nothing when there is none or it cannot be read).
    fn scanned(&mut self, args: &ScanArgs) {
        if args.inventory.is_none() {
            let root = args.root.as_deref().unwrap_or(Path::new("/"));
            self.set_last_no_reboot_install(crate::state::last_no_reboot_install(root, Utc::now()));
        }
    }
}

/// Check the fleet options: the AWS files need a valid instance id.
pub fn fleet_prepare(args: &FleetArgs, run: &RunParams) -> Result<FleetPlan> {
    let wants_aws = args.aws_inventory.is_some() || args.aws_compliance.is_some();
    let execution = if wants_aws {
        let flag = if args.aws_inventory.is_some() {
            "--aws-inventory"
        } else {
            "--aws-compliance"
        };
        let instance_id = match args.instance_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(Error::invalid(format!(
                    "{flag} needs the managed node's id, and neither --instance-id nor \
                     AWS_SSM_INSTANCE_ID is set"
                ))
                .with_hint(
                    "pass --instance-id i-0123456789abcdef0 (under the SSM agent \
                     AWS_SSM_INSTANCE_ID is set for you)",
                ))
            }
        };
        aws::check_instance_id(&instance_id)
            .map_err(|e| Error::invalid(format!("--instance-id / AWS_SSM_INSTANCE_ID: {e}")))?;
        Some(aws::Execution {
            instance_id,
            execution_id: execution_id(),
            snapshot_id: run.snapshot_id.clone().unwrap_or_default(),
            patch_group: args.patch_group.clone(),
            reboot_option: run.reboot_option,
            install_override_list: run.install_override_list.clone(),
            last_no_reboot_install_time: None,
        })
    } else {
        None
    };
    Ok(FleetPlan {
        execution,
        inventory: args.aws_inventory.clone(),
        compliance: args.aws_compliance.clone(),
        fail_on: args.fail_on.clone(),
    })
}

/// After the report is published: write the AWS files, then apply --fail-on. `code` is the
/// operation's own exit code; a reboot request (194) or a failure already decided wins over
/// --fail-on (the SSM agent re-runs the document after the reboot, and that run checks again).
pub fn fleet_finish(report: &Report, plan: &FleetPlan, code: i32) -> Result<i32> {
    if let Some(exec) = &plan.execution {
        let outputs = [
            (
                &plan.inventory,
                aws::put_inventory as fn(_, _) -> _,
                "put-inventory",
            ),
            (
                &plan.compliance,
                aws::put_compliance_items,
                "put-compliance-items",
            ),
        ];
        for (path, make, what) in outputs {
            let Some(path) = path else { continue };
            let doc = make(report, exec);
            if doc.left_out > 0 {
                eprintln!(
                    "warning: {}: AWS accepts at most {} entries; {} were left out, compliant ones \
                     first (the counters still count them; the full list is in --report)",
                    path.display(),
                    aws::MAX_ENTRIES,
                    doc.left_out
                );
            }
            write_atomic(path, doc.to_json().as_bytes())
                .map_err(|e| Error::failed(format!("cannot write the {what} input: {e}")))?;
        }
    }
    if code != exit::SUCCESS || plan.fail_on.is_empty() {
        return Ok(code);
    }
    let matched: Vec<&crate::report::PatchEntry> = report
        .patches
        .iter()
        .filter(|p| plan.fail_on.contains(&p.state))
        .collect();
    if matched.is_empty() {
        return Ok(code);
    }
    let states: Vec<&str> = plan.fail_on.iter().map(|s| s.as_str()).collect();
    let shown: Vec<String> = matched
        .iter()
        .take(10)
        .map(|p| format!("{} ({})", p.id, p.state))
        .collect();
    eprintln!(
        "fail-on: {} package(s) in {}: {}{}",
        matched.len(),
        states.join("/"),
        shown.join(", "),
        if matched.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    );
    Ok(exit::PACKAGES_FAILED)
}

/// `patchbaseline run`: AWS-RunPatchBaseline's parameters on the scan/install code path.
fn run_operation(args: &RunArgs) -> Result<i32> {
    let overridden = args.baseline_override.is_some() || args.scan.baseline.is_some();
    if overridden && args.install_override_list.is_some() {
        // AWS's rule, for `run` only (it takes AWS-RunPatchBaseline's parameters): `install`
        // accepts both (docs/install.md, docs/fleet.md).
        return Err(Error::invalid(
            "run: --install-override-list cannot be combined with --baseline-override or --baseline \
             (AWS-RunPatchBaseline rejects InstallOverrideList together with BaselineOverride)",
        )
        .with_hint(
            "drop one of them (the override list installs what it names whatever the baseline \
             says), or use `patchbaseline install --baseline FILE --install-override-list FILE`, \
             which accepts both",
        ));
    }
    let mut scan_args = args.scan.clone();
    if let Some(file) = &args.baseline_override {
        scan_args.baseline = Some(file.clone());
    }
    let mut params = RunParams {
        reboot_option: args.reboot_option,
        snapshot_id: args.snapshot_id.clone(),
        install_override_list: None,
    };
    match args.operation {
        Operation::Scan => {
            if let Some(list) = &args.install_override_list {
                tracing::info!(list = %list.display(), "Scan ignores the InstallOverrideList");
            }
            let mut plan = fleet_prepare(&args.fleet, &params)?;
            let report = scan_report(&scan_args)?;
            plan.scanned(&scan_args);
            publish(
                &report,
                scan_args.report.as_deref(),
                scan_args.console_limit,
            )?;
            fleet_finish(&report, &plan, exit::SUCCESS)
        }
        Operation::Install => {
            params.install_override_list = args
                .install_override_list
                .as_ref()
                .map(|p| p.display().to_string());
            install_flow(&InstallRequest {
                scan: &scan_args,
                fleet: &args.fleet,
                params,
                override_list: args.install_override_list.as_deref(),
                reboot_command: None,
                safety: &args.safety,
            })
        }
    }
}

/// The ExecutionId AWS records: the Run Command id under the SSM agent, else a fresh UUID.
fn execution_id() -> String {
    match std::env::var("SSM_COMMAND_ID") {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => new_uuid(),
    }
}

/// A random (version 4) UUID from the kernel, without a crate: /proc/sys/kernel/random/uuid, or
/// 16 bytes of /dev/urandom where /proc is not mounted (a chroot).
fn new_uuid() -> String {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/random/uuid") {
        let s = s.trim();
        if aws::check_snapshot_id(s).is_ok() {
            return s.to_string();
        }
    }
    let mut b = [0u8; 16];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| {
        use std::io::Read as _;
        f.read_exact(&mut b)
    }) {
        Ok(()) => {}
        Err(_) => {
            // Neither is available: not random, but unique enough to tell runs apart.
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            let digest = <sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes());
            b.copy_from_slice(&digest[..16]);
        }
    }
    crate::report::aws::uuid_v4_text(b)
}

/// `patchbaseline generate man|completions DIR`.
fn generate(what: &GenerateCommand) -> Result<i32> {
    use clap::CommandFactory;
    let (GenerateCommand::Man { dir } | GenerateCommand::Completions { dir }) = what;
    fs_err::create_dir_all(dir)?;
    let cmd = Cli::command();
    match what {
        GenerateCommand::Man { .. } => clap_mangen::generate_to(cmd, dir)?,
        GenerateCommand::Completions { .. } => {
            use clap_complete::Shell;
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                clap_complete::generate_to(shell, &mut cmd.clone(), "patchbaseline", dir)?;
            }
        }
    }
    Ok(exit::SUCCESS)
}
