//! Running short commands (`ip`, `sysctl`, ...) whose failure must say what
//! was run, how it ended and what it printed on stderr.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::process::{Command, ExitStatus, Stdio};

/// A command that could not be started, or exited unsuccessfully.
#[derive(Debug)]
pub struct CommandError {
    /// The command line, as a shell would show it.
    pub command: String,
    /// What went wrong.
    pub failure: Failure,
}

/// How a [`CommandError`]'s command failed.
#[derive(Debug)]
pub enum Failure {
    /// It could not be started (not installed, not permitted).
    Start(io::Error),
    /// It ran and exited unsuccessfully.
    Exit {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr, trimmed.
        stderr: String,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            Failure::Start(e) if e.kind() == io::ErrorKind::NotFound && self.command.starts_with("ip ") => {
                write!(f, "cannot run `{}`: {e} (install iproute2)", self.command)
            }
            Failure::Start(e) => write!(f, "cannot run `{}`: {e}", self.command),
            Failure::Exit { status, stderr } if stderr.is_empty() => write!(f, "`{}` failed ({status})", self.command),
            Failure::Exit { status, stderr } => write!(f, "`{}` failed ({status}): {stderr}", self.command),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<CommandError> for io::Error {
    fn from(e: CommandError) -> Self {
        let kind = match &e.failure {
            Failure::Start(cause) => cause.kind(),
            Failure::Exit { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// `cmd` as a shell would show it: the program, then its arguments.
pub fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(OsStr::to_string_lossy).collect::<Vec<_>>().join(" ")
}

/// Runs `cmd` (stdin closed) to completion and returns its stdout; failing
/// to start it or a non-zero exit is a [`CommandError`].
pub fn run_checked(cmd: &mut Command) -> Result<String, CommandError> {
    let command = command_line(cmd);
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => return Err(CommandError { command, failure: Failure::Start(e) }),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(CommandError { command, failure: Failure::Exit { status: out.status, stderr } });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `ip args...` and returns its stdout.
pub fn ip(args: &[&str]) -> Result<String, CommandError> {
    run_checked(Command::new("ip").args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_names_the_command_its_status_and_its_stderr() {
        let err = run_checked(Command::new("sh").args(["-c", "echo out; echo 'it broke' >&2; exit 3"])).unwrap_err();
        assert_eq!(err.to_string(), "`sh -c echo out; echo 'it broke' >&2; exit 3` failed (exit status: 3): it broke");
        let io: io::Error = err.into();
        assert!(io.to_string().contains("it broke"), "{io}");
    }

    #[test]
    fn success_returns_stdout_and_a_missing_program_says_so() {
        assert_eq!(run_checked(Command::new("sh").args(["-c", "echo hi"])).unwrap(), "hi\n");
        let err = run_checked(&mut Command::new("netlab-no-such-program")).unwrap_err();
        assert!(matches!(err.failure, Failure::Start(ref e) if e.kind() == io::ErrorKind::NotFound), "{err:?}");
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
    }
}
