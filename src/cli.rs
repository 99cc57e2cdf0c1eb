//! The command line. AWS spellings are kept exactly (Scan, Install, RebootIfNeeded, NoReboot,
//! AMAZON_LINUX_2023) so that what users type matches their SSM documents.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
  patchbaseline scan --inventory what-if.json --baseline baseline.json --at 2026-12-24")]
    Scan(ScanArgs),

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
}

// --- install (wip/install) ---

/// Options of `install`: everything scan takes, plus what AWS-RunPatchBaseline's Install takes.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Reboot when the install needs one (RebootIfNeeded), or never (NoReboot: the pending
    /// reboot is recorded and later scans report InstalledPendingReboot).
    #[arg(long, value_enum, value_name = "OPTION", ignore_case = true, default_value_t = RebootOption::RebootIfNeeded)]
    pub reboot_option: RebootOption,

    /// Install exactly the patches this YAML file lists (AWS InstallOverrideList format: a
    /// `patches:` list of `id: name.arch` with optional `title: name.arch:version`) instead of
    /// the baseline's decision; compliance in the report still reflects the baseline.
    #[arg(long, value_name = "FILE")]
    pub install_override_list: Option<PathBuf>,

    /// Run CMD instead of rebooting the machine when a reboot is needed (for schedulers and
    /// tests).
    #[arg(long, value_name = "CMD")]
    pub reboot_command: Option<String>,
}

/// AWS RebootOption, spelled as AWS does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RebootOption {
    #[value(name = "RebootIfNeeded")]
    RebootIfNeeded,
    #[value(name = "NoReboot")]
    NoReboot,
}

impl RebootOption {
    pub fn as_str(self) -> &'static str {
        match self {
            RebootOption::RebootIfNeeded => "RebootIfNeeded",
            RebootOption::NoReboot => "NoReboot",
        }
    }
}
// --- end install ---
