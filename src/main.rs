//! The thin binary: parse the command line, set up logging on standard error, run, map the
//! outcome to an exit code (see `patchbaseline --help` and the README).

use clap::Parser;
use tracing_subscriber::EnvFilter;

use patchbaseline::cli::Cli;
use patchbaseline::error::exit;

fn main() {
    let cli = Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("PATCHBASELINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("patchbaseline={default_level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .init();
    let code = match patchbaseline::app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(if code == exit::SUCCESS { 0 } else { code });
}
