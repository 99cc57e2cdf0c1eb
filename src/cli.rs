//! The command line. AWS spellings are kept exactly (Scan, Install, RebootIfNeeded, NoReboot,
//! AMAZON_LINUX_2023) so that what users type matches their SSM documents.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::PatchState;
use crate::report::aws::{self, RebootOption};
use crate::report::Operation;

const ABOUT: &str = "Apply AWS Systems Manager patch baselines on one Linux host or image.";

const LONG_ABOUT: &str = "\
Apply AWS Systems Manager patch baselines on one Linux host or image.

patchbaseline reads a patch baseline document (the JSON that `aws ssm get-patch-baseline` prints, or
a BaselineOverride array), asks the system's package manager (dnf, yum or apt) what is installed and
what updates exist, decides for every package whether the baseline approves it and why, and reports
compliance the way AWS-RunPatchBaseline does.

Without --baseline the predefined baseline for the detected system is used (the equivalent of the
AWS-owned default baseline, e.g. AWS-AmazonLinux2023DefaultPatchBaseline).";

const AFTER_HELP: &str = "\
Examples:
  patchbaseline scan                                   what is missing on this host, and why
  patchbaseline scan --baseline baseline.json --report report.json
  patchbaseline scan --root /mnt/image --no-refresh    scan a mounted system image
  patchbaseline explain openssl-libs                   every version of a package and its verdict
  patchbaseline baseline default --os AMAZON_LINUX_2023 > baseline.json
  patchbaseline baseline validate baseline.json

Exit codes:
  0 success   1 some packages failed   2 invalid input (nothing was changed)
  3 operation failed   4 lock timeout   5 interrupted   194 reboot requested (SSM agent)";

#[derive(Debug, Parser)]
#[command(name = "patchbaseline", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// More detail on standard error (-v: decisions, -vv: every command run).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide every package against the baseline and report compliance. Never changes packages.
    #[command(after_help = "\
The summary on standard output fits the SSM Run Command console (2,500 characters); the full
report, with one decision and its reason for every version considered, goes to --report.

Examples:
  patchbaseline scan
  patchbaseline scan --baseline override.json --report /var/log/patchbaseline/scan.json
  patchbaseline scan --inventory what-if.json --baseline baseline.json --at 2026-12-24
  patchbaseline scan --aws-inventory inventory.json --instance-id i-0123456789abcdef0")]
    Scan {
        #[command(flatten)]
        scan: ScanArgs,
        #[command(flatten)]
        fleet: FleetArgs,
    },

    // --- install (wip/install) ---
    /// Decide as scan does, then install every Missing package at exactly its target version
    /// (one transaction; split on failure), and report the outcome (operation Install).
    #[command(after_help = "\
Only packages that are installed are upgraded; new packages come in only as dependencies. A
package that cannot be installed is Failed with the package manager's reason while the others
install. The flow, the override-list format and the exit codes: docs/install.md.

Examples:
  patchbaseline install --report /var/log/patchbaseline/install.json
  patchbaseline install --baseline baseline.json --reboot-option NoReboot
  patchbaseline install --install-override-list patches.yaml
  patchbaseline install --root /mnt/image --reboot-command /usr/local/bin/record-reboot")]
    Install(InstallArgs),
    // --- end install ---
    /// Show every version of a package that was considered and why each was or was not approved.
    #[command(after_help = "\
Examples:
  patchbaseline explain kernel
  patchbaseline explain openssl --baseline baseline.json --no-refresh")]
    Explain {
        /// The package name (all architectures are shown).
        name: String,
        #[command(flatten)]
        scan: ScanArgs,
    },

    /// Print or check baseline documents.
    #[command(subcommand)]
    Baseline(BaselineCommand),

    /// AWS-RunPatchBaseline's parameters as a command: what the SSM document runs.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),

    /// Write man pages or shell completions into a directory (packaging/build-dist.sh).
    #[command(hide = true, subcommand)]
    Generate(GenerateCommand),
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Print the predefined baseline for an operating system as JSON (get-patch-baseline shape).
    Default {
        /// AWS OperatingSystem value: AMAZON_LINUX_2, AMAZON_LINUX_2023, REDHAT_ENTERPRISE_LINUX,
        /// CENTOS, ORACLE_LINUX, ROCKY_LINUX, ALMA_LINUX, DEBIAN, UBUNTU, SUSE, ...
        #[arg(long, value_name = "OS")]
        os: String,
    },
    /// Check a baseline document (or BaselineOverride array). Exit 0 when valid, 2 when not,
    /// with every problem listed by JSON path.
    Validate {
        /// The document; `-` reads standard input.
        file: PathBuf,
        /// Also check that the document has a (single) baseline for this OperatingSystem.
        #[arg(long, value_name = "OS")]
        os: Option<String>,
    },
}

/// Options shared by everything that evaluates a system.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Baseline document: one baseline as `aws ssm get-patch-baseline` prints it, or a
    /// BaselineOverride array (the entry for this system's OperatingSystem is used). `-` reads
    /// standard input. Default: the predefined baseline for the detected system.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Evaluate the system image mounted at DIR instead of the running host (its os-release,
    /// package database and repository configuration; nothing of the host's is read or written).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Write the full JSON report to FILE (atomically). Schema: docs/report.md.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Do not refresh repository metadata first; use what is cached.
    #[arg(long)]
    pub no_refresh: bool,

    /// Evaluate this inventory JSON instead of asking a package manager (what-if; schema:
    /// docs/inventory.md).
    #[arg(long, value_name = "FILE", conflicts_with = "root")]
    pub inventory: Option<PathBuf>,

    /// Evaluate approval dates as of this time instead of now (RFC 3339, or YYYY-MM-DD for
    /// midnight UTC): what will ApproveAfterDays approve next week?
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Console summary limit in characters (the SSM Run Command console shows 2,500).
    #[arg(long, value_name = "N", default_value_t = 2500)]
    pub console_limit: usize,

    /// Read the current boot id from FILE instead of /proc/sys/kernel/random/boot_id (a different
    /// id means the system has rebooted since a package was recorded as pending). For tests and
    /// simulations.
    #[arg(
        long,
        value_name = "FILE",
        hide = true,
        env = "PATCHBASELINE_BOOT_ID_FILE"
    )]
    pub boot_id_file: Option<PathBuf>,
}

// --- reboot, state, locks (wip/reboot) ---

/// What keeps `install` safe: one operation at a time, other package managers left alone, an
/// interrupted dpkg handled. Flattened into the install options.
#[derive(Debug, Clone, Args)]
pub struct SafetyArgs {
    /// Wait up to SECONDS for another patchbaseline run, and for a running package manager
    /// (dpkg, apt, rpm, dnf, yum) to release its lock; then exit 4 naming the holder. Nothing is
    /// ever killed.
    #[arg(long, value_name = "SECONDS", default_value_t = crate::lock::DEFAULT_TIMEOUT_SECONDS)]
    pub lock_timeout: u64,

    /// When dpkg was interrupted (`dpkg --audit` not clean): refuse, naming the fix (default),
    /// or run `dpkg --configure -a` first (auto).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = crate::lock::DpkgRepair::Refuse)]
    pub dpkg_repair: crate::lock::DpkgRepair,
}

impl SafetyArgs {
    pub fn lock_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lock_timeout)
    }
}
// --- end reboot, state, locks ---

// --- install (wip/install) ---

/// Options of `install`: everything scan takes, plus what AWS-RunPatchBaseline's Install takes.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Reboot when the install needs one (RebootIfNeeded), or never (NoReboot: the pending
    /// reboot is recorded and later scans report InstalledPendingReboot).
    #[arg(long, value_enum, value_name = "OPTION", default_value_t = RebootOption::RebootIfNeeded)]
    pub reboot_option: RebootOption,

    /// Install exactly the patches this YAML file lists (AWS InstallOverrideList format: a
    /// `patches:` list of `id: name.arch` with optional `title: name.arch:version`) instead of
    /// the baseline's decision; compliance in the report still reflects the baseline.
    #[arg(long, value_name = "FILE")]
    pub install_override_list: Option<PathBuf>,

    /// When a reboot is needed, run CMD (with `sh -c`) instead of rebooting the machine, after
    /// the report is written: for schedulers and tests. It gets PATCHBASELINE_REBOOT_REASONS
    /// (one per line), PATCHBASELINE_REPORT and PATCHBASELINE_ROOT. See docs/reboot.md.
    #[arg(long, value_name = "CMD")]
    pub reboot_command: Option<String>,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,
}

// --- end install ---
// ================================================================================================
// Fleet: the AWS formats, `run` (AWS-RunPatchBaseline's parameters) and --fail-on.
// docs/fleet.md and docs/images.md describe them; src/app.rs has the matching block.

const RUN_AFTER_HELP: &str = "\
The parameters and exit codes of AWS-RunPatchBaseline, so an SSM document (packaging/ssm/) can pass
its parameters straight through. Scan and Install take the same path as `patchbaseline scan` and
`patchbaseline install`.

Exit codes for the SSM agent: 0 success, 1 failure (packages failed, or --fail-on matched),
194 reboot the instance and run the document again; 2 invalid input, 3 operation failed.

Examples:
  patchbaseline run --operation Scan --aws-inventory /var/log/patchbaseline/inventory.json
  patchbaseline run --operation Install --reboot-option NoReboot --fail-on failed,missing
  patchbaseline run --operation Scan --baseline-override override.json \\
      --snapshot-id 6f1b4f3e-0c1d-4b8a-9a43-2f0e5c8d7b21";

/// `patchbaseline generate`: files the packages carry, from the same definitions as --help.
#[derive(Debug, Clone, Subcommand)]
pub enum GenerateCommand {
    /// One man page per command (patchbaseline.1, patchbaseline-scan.1, ...).
    Man { dir: PathBuf },
    /// bash, zsh and fish completions.
    Completions { dir: PathBuf },
}

/// Outputs for AWS Systems Manager and the --fail-on check, shared by scan, install and run.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS Systems Manager and pipelines")]
pub struct FleetArgs {
    /// Write FILE for `aws ssm put-inventory --cli-input-json file://FILE`: the AWS:PatchSummary
    /// and AWS:ComplianceItem items AWS-RunPatchBaseline uploads. Needs --instance-id.
    #[arg(long, value_name = "FILE")]
    pub aws_inventory: Option<PathBuf>,

    /// Write FILE for `aws ssm put-compliance-items --cli-input-json file://FILE` (ComplianceType
    /// Patch, UploadType COMPLETE). Needs --instance-id.
    #[arg(long, value_name = "FILE")]
    pub aws_compliance: Option<PathBuf>,

    /// The managed node the AWS files are about (i-… or mi-…). The SSM agent sets
    /// AWS_SSM_INSTANCE_ID.
    #[arg(long, value_name = "ID", env = "AWS_SSM_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// The node's patch group, recorded in the AWS files (AWS reads it from the "Patch Group"
    /// tag).
    #[arg(long, value_name = "NAME", default_value = "")]
    pub patch_group: String,

    /// After the operation, exit 1 when any package is in one of these states (comma-separated:
    /// failed, missing, installed-rejected, installed-pending-reboot, installed, installed-other,
    /// not-applicable). Golden-image builds use `--fail-on failed,missing`.
    #[arg(long, value_name = "STATES", value_delimiter = ',', value_parser = parse_patch_state)]
    pub fail_on: Vec<PatchState>,
}

/// `patchbaseline run`: AWS-RunPatchBaseline's parameters.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scan (report only) or Install (install approved missing updates, then report).
    #[arg(long, value_name = "OPERATION", value_parser = parse_operation)]
    pub operation: Operation,

    /// Install only: reboot when something was installed (RebootIfNeeded; under the SSM agent by
    /// exiting 194), or never (NoReboot: installed patches become InstalledPendingReboot).
    #[arg(long, value_enum, value_name = "OPTION", default_value_t = RebootOption::RebootIfNeeded)]
    pub reboot_option: RebootOption,

    /// BaselineOverride: a JSON file holding an array of baselines (or one baseline); the entry
    /// for this system's OperatingSystem is used. Same as --baseline.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub baseline_override: Option<PathBuf>,

    /// InstallOverrideList: a YAML file of patches to install instead of the baseline's choice.
    /// Install only (Scan ignores it); cannot be combined with BaselineOverride.
    #[arg(long, value_name = "FILE")]
    pub install_override_list: Option<PathBuf>,

    /// SnapshotId: a UUID naming the operation across nodes; recorded in the AWS files.
    #[arg(long, value_name = "UUID", value_parser = parse_snapshot_id)]
    pub snapshot_id: Option<String>,

    #[command(flatten)]
    pub scan: ScanArgs,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub fleet: FleetArgs,
}

fn parse_operation(s: &str) -> Result<Operation, String> {
    match s {
        "Scan" => Ok(Operation::Scan),
        "Install" => Ok(Operation::Install),
        _ => Err(format!("{s:?}: use Scan or Install (spelled as AWS does)")),
    }
}

fn parse_snapshot_id(s: &str) -> Result<String, String> {
    aws::check_snapshot_id(s).map(|()| s.to_string())
}

/// A patch state for --fail-on: the AWS spelling or a lower-case, hyphenated one, any case.
pub fn parse_patch_state(s: &str) -> Result<PatchState, String> {
    let norm = |x: &str| x.replace(['-', '_'], "").to_ascii_lowercase();
    let wanted = norm(s.trim());
    PatchState::ALL
        .into_iter()
        .find(|st| norm(st.as_str()) == wanted)
        .ok_or_else(|| {
            format!(
                "{s:?} is not a patch state; use failed, missing, installed-rejected, \
                 installed-pending-reboot, installed, installed-other or not-applicable"
            )
        })
}
