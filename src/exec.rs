//! The only place that spawns processes: argv only (never a shell), a scrubbed environment,
//! no prompts, stdout/stderr captured concurrently so a full pipe cannot deadlock the child, and
//! errors that carry the command line, the exit code and a bounded stderr tail.
//!
//! The runner never interprets exit codes: `dnf check-update` exits 100 when updates exist and
//! `needs-restarting -r` exits 1 when a reboot is needed, so that belongs to each backend.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// Variables that could redirect or reconfigure a package manager behind our back. They are
/// removed from every child's environment unless the command sets them itself.
const SCRUBBED_ENV: &[&str] = &[
    "APT_CONFIG",
    "DPKG_ROOT",
    "DPKG_ADMINDIR",
    "DNF_CONFIG",
    "YUM_CONF",
    "RPM_CONFIGDIR",
    "LD_PRELOAD",
    "PYTHONPATH",
    "PYTHONHOME",
    "LANGUAGE",
    "LC_ALL",
    "LANG",
];

/// A command to run: program, arguments, extra environment.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    own_process_group: bool,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            own_process_group: false,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Feed these bytes to the child's standard input (otherwise it reads /dev/null).
    pub fn stdin(mut self, input: Vec<u8>) -> Cmd {
        self.stdin = Some(input);
        self
    }

    /// Start the child in a process group of its own, so that SIGINT from the terminal and
    /// SIGTERM sent to our process group never reach it: a package manager must be left to finish
    /// its transaction (see [`crate::signals`]). Its standard input is never the terminal, so
    /// it cannot be stopped for reading from a background group.
    pub fn own_process_group(mut self) -> Cmd {
        self.own_process_group = true;
        self
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The command line as a human reads it (for errors and logs; never executed).
    pub fn display(&self) -> String {
        let mut parts = Vec::with_capacity(self.args.len() + 1);
        parts.push(quote(&self.program));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for key in SCRUBBED_ENV {
            c.env_remove(key);
        }
        // Machine-readable output in a fixed language, and no interactive front ends.
        c.env("LC_ALL", "C.UTF-8");
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c.env("DEBCONF_NONINTERACTIVE_SEEN", "true");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped());
        c.stderr(Stdio::piped());
        if self.own_process_group {
            use std::os::unix::process::CommandExt;
            c.process_group(0);
        }
        c
    }

    /// Run to completion and capture everything. Fails only when the program could not be
    /// started or its output could not be read; a non-zero exit is returned in [`Output`] for the
    /// caller to interpret.
    pub fn output(&self) -> Result<Output, ExecError> {
        tracing::debug!(command = %self.display(), "running");
        let started = std::time::Instant::now();
        let mut child = self.command().spawn().map_err(|e| ExecError::Spawn {
            command: self.display(),
            source: e,
        })?;
        let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stdin_pipe = child.stdin.take();
        let input = self.stdin.clone();
        let (stdout, stderr) = std::thread::scope(|s| {
            if let (Some(mut pipe), Some(input)) = (stdin_pipe, input) {
                s.spawn(move || {
                    use std::io::Write;
                    // A child that exits without reading its input is not our error.
                    let _ = pipe.write_all(&input);
                });
            }
            let err = s.spawn(move || {
                let mut buf = Vec::new();
                let r = stderr_pipe.read_to_end(&mut buf);
                r.map(|_| buf)
            });
            let mut out = Vec::new();
            let r_out = stdout_pipe.read_to_end(&mut out).map(|_| out);
            let r_err = err.join().expect("stderr reader does not panic");
            (r_out, r_err)
        });
        let status = child.wait().map_err(|e| ExecError::Spawn {
            command: self.display(),
            source: e,
        })?;
        let read_err = |e| ExecError::Spawn {
            command: self.display(),
            source: e,
        };
        let output = Output {
            command: self.display(),
            status,
            stdout: stdout.map_err(read_err)?,
            stderr: stderr.map_err(read_err)?,
        };
        tracing::debug!(
            command = %output.command,
            code = ?output.status.code(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "finished"
        );
        Ok(output)
    }
}

/// What a finished command produced.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The exit code, or None when the child was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    pub fn stderr_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }

    /// Succeed when the exit code is one of `ok`, else an [`ExecError::Failed`] with the tail of
    /// stderr.
    pub fn expect_codes(self, ok: &[i32]) -> Result<Output, ExecError> {
        match self.code() {
            Some(c) if ok.contains(&c) => Ok(self),
            code => Err(ExecError::Failed {
                command: self.command.clone(),
                code,
                stderr_tail: tail(&self.stderr_str(), 20, 2000),
            }),
        }
    }

    /// Succeed on exit code 0.
    pub fn expect_success(self) -> Result<Output, ExecError> {
        self.expect_codes(&[0])
    }

    /// An error saying the command printed something we could not understand.
    pub fn garbage(&self, what: impl Into<String>) -> ExecError {
        ExecError::Garbage {
            command: self.command.clone(),
            what: what.into(),
        }
    }
}

/// Why running a command did not give a usable result.
#[derive(Debug)]
pub enum ExecError {
    /// The program could not be started (missing binary, permissions) or read.
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// It ran and exited with a code the caller does not accept.
    Failed {
        command: String,
        /// None when killed by a signal.
        code: Option<i32>,
        stderr_tail: String,
    },
    /// It exited as expected but printed something the parser could not understand.
    Garbage { command: String, what: String },
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Spawn { command, source } => {
                write!(f, "could not run `{command}`: {source}")
            }
            ExecError::Failed {
                command,
                code,
                stderr_tail,
            } => {
                match code {
                    Some(c) => write!(f, "`{command}` exited with code {c}")?,
                    None => write!(f, "`{command}` was killed by a signal")?,
                }
                if !stderr_tail.trim().is_empty() {
                    write!(f, ":\n{}", stderr_tail.trim_end())?;
                }
                Ok(())
            }
            ExecError::Garbage { command, what } => {
                write!(f, "`{command}` printed output we could not parse: {what}")
            }
        }
    }
}

impl std::error::Error for ExecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecError::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The last `max_lines` lines of `s`, at most `max_chars` characters.
pub fn tail(s: &str, max_lines: usize, max_chars: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    let joined = lines[start..].join("\n");
    if joined.len() <= max_chars {
        return joined;
    }
    let mut cut = joined.len() - max_chars;
    while !joined.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &joined[cut..])
}

/// Whether `program` can be found on PATH (or is an existing path).
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+*".contains(&b))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonzero_exit_is_returned_not_an_error() {
        let out = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .output()
            .unwrap();
        assert_eq!(out.code(), Some(3));
        assert_eq!(out.stdout_str(), "out\n");
        let err = out.expect_success().unwrap_err().to_string();
        assert!(err.contains("exited with code 3"), "{err}");
        assert!(err.contains("err"), "{err}");
    }

    #[test]
    fn missing_program_names_the_command() {
        let err = Cmd::new("/nonexistent/prog").arg("x").output().unwrap_err();
        assert!(err.to_string().contains("/nonexistent/prog x"), "{err}");
    }

    #[test]
    fn environment_is_scrubbed_and_stdin_fed() {
        std::env::set_var("APT_CONFIG", "/should/not/leak");
        let out = Cmd::new("sh")
            .args(["-c", "echo \"${APT_CONFIG:-unset}\"; cat"])
            .stdin(b"fed".to_vec())
            .output()
            .unwrap();
        assert_eq!(out.stdout_str(), "unset\nfed");
    }

    #[test]
    fn big_outputs_on_both_pipes_do_not_deadlock() {
        let out = Cmd::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2",
            ])
            .output()
            .unwrap();
        assert_eq!(out.stdout.len(), 300000);
        assert_eq!(out.stderr.len(), 300000);
    }

    #[test]
    fn own_process_group_puts_the_child_in_a_new_group() {
        let ours = nix::unistd::getpgrp().as_raw();
        let group_of_child = |cmd: Cmd| -> i32 {
            // Field 5 of /proc/self/stat is the process group (the command name, field 2, is
            // `(sh)` here, without spaces).
            let out = cmd
                .args(["-c", "cut -d' ' -f5 /proc/$$/stat"])
                .output()
                .unwrap()
                .expect_success()
                .unwrap();
            out.stdout_str().trim().parse().unwrap()
        };
        assert_eq!(group_of_child(Cmd::new("sh")), ours);
        let own = group_of_child(Cmd::new("sh").own_process_group());
        assert_ne!(own, ours);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("a\nb\nc", 2, 100), "b\nc");
        assert_eq!(tail("abcdef", 5, 3), "…def");
    }
}
