//! SIGINT, SIGTERM and SIGHUP during an install are remembered, never fatal.
//!
//! Killing a package manager mid-transaction is how dpkg and rpm databases get broken (peer
//! survey §3, "Cross-cutting"). So once [`install`] has run, these signals only set a flag:
//! the package manager, started in a process group of its own ([`crate::exec::Cmd::own_process_group`]),
//! never sees a terminal's Ctrl-C or a SIGTERM sent to our process group; it finishes its
//! transaction, the install flow starts no further transaction once [`received`] says so, writes
//! the report marked `interrupted`, and exits 5 ([`crate::error::exit::INTERRUPTED`]).
//!
//! Hand-written on `sigaction` (nix) rather than the `signal-hook` crate: one flag and three
//! signals need a dozen lines, and the handler does only async-signal-safe things (an atomic store
//! and one `write(2)` to standard error).

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use crate::error::{Error, ErrorKind, Result};

/// The signals that interrupt an install.
pub const HANDLED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

const NOTICE: &[u8] = b"patchbaseline: signal received: letting the package manager finish, \
then writing the report (exit 5)\n";

extern "C" fn on_signal(sig: nix::libc::c_int) {
    if RECEIVED
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        // SAFETY: write(2) is async-signal-safe; NOTICE is a static buffer. A failed write (closed
        // stderr) is of no consequence.
        unsafe {
            nix::libc::write(2, NOTICE.as_ptr().cast(), NOTICE.len());
        }
    }
}

/// Install the handlers. Idempotent. Call it before the first package-manager transaction.
pub fn install() -> Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        // Restart interrupted reads and waits: the pipes of a running package manager are
        // drained to the end whatever arrives.
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in HANDLED {
        // SAFETY: the handler only touches an atomic and calls write(2).
        unsafe { sigaction(sig, &action) }
            .map_err(|e| Error::failed(format!("cannot install the {sig} handler: {e}")))?;
    }
    Ok(())
}

/// The first interrupting signal received since [`install`], if any.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// `Err` (exit 5) when a signal was received: for the points where the install flow may stop
/// cleanly, i.e. before the next transaction starts.
pub fn check() -> Result<()> {
    match received() {
        None => Ok(()),
        Some(sig) => Err(interrupted_error(sig)),
    }
}

/// The error (exit 5) for an install stopped by `sig`.
pub fn interrupted_error(sig: Signal) -> Error {
    Error::new(
        ErrorKind::Interrupted,
        format!("interrupted by {sig}: the running package-manager transaction was allowed to finish and no further one was started"),
    )
    .with_hint("run the same command again to install what is still missing")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The handlers themselves are exercised in a child process by tests/it/state.rs (installing
    // them here would change how this whole test process reacts to Ctrl-C).

    #[test]
    fn interrupted_error_exits_5_and_names_the_signal() {
        let e = interrupted_error(Signal::SIGTERM);
        assert_eq!(e.exit_code(), 5);
        assert!(e.message.contains("SIGTERM"), "{}", e.message);
    }
}
