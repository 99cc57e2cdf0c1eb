//! The one error type every command returns, and the one place that maps errors to exit codes.
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0    | success (scan done, install done, nothing failed) |
//! | 1    | the operation ran, but some packages failed to install (or `--fail-on` matched) |
//! | 2    | invalid input: baseline, inventory, override list, options, unsupported system; nothing was changed |
//! | 3    | the operation failed: package manager error, I/O error, corrupt state |
//! | 4    | timed out waiting for another patchbaseline run or a package-manager lock |
//! | 5    | interrupted by SIGTERM/SIGINT; the report is marked interrupted |
//! | 194  | under the SSM agent: reboot the instance and run the document again |

use std::fmt;

/// Exit codes (see the module documentation and the README).
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const PACKAGES_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const OPERATION_FAILED: i32 = 3;
    pub const LOCK_TIMEOUT: i32 = 4;
    pub const INTERRUPTED: i32 = 5;
    pub const SSM_REBOOT: i32 = 194;
}

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input of any kind; nothing was touched (exit 2).
    InvalidInput,
    /// The package manager, the file system or our state failed us (exit 3).
    OperationFailed,
    /// Another run or a package-manager lock held on past the timeout (exit 4).
    LockTimeout,
    /// SIGTERM/SIGINT (exit 5).
    Interrupted,
}

/// An error a person can act on: what happened, and optionally how to fix it.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::OperationFailed, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::InvalidInput => exit::INVALID_INPUT,
            ErrorKind::OperationFailed => exit::OPERATION_FAILED,
            ErrorKind::LockTimeout => exit::LOCK_TIMEOUT,
            ErrorKind::Interrupted => exit::INTERRUPTED,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<crate::baseline::LoadError> for Error {
    fn from(e: crate::baseline::LoadError) -> Error {
        Error::invalid(e.to_string())
    }
}

impl From<crate::exec::ExecError> for Error {
    fn from(e: crate::exec::ExecError) -> Error {
        Error::failed(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        // fs-err errors already name their path.
        Error::failed(e.to_string())
    }
}
