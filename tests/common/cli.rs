//! The `sportello` binary as a maintainer runs it.

use std::process::{Command, Output};

/// The binary under test, ready for arguments.
pub fn sportello_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sportello"))
}

/// What one run of the binary gave.
pub struct Ran {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Ran {
    /// Whether it exited 0.
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Standard output then standard error, as a terminal shows them.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl From<Output> for Ran {
    fn from(out: Output) -> Ran {
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `sportello args` to the end.
pub fn run_sportello(args: &[&str]) -> Ran {
    sportello_command()
        .args(args)
        .output()
        .expect("run the sportello binary")
        .into()
}

/// Runs `sportello args`: (success, stdout, stderr).
pub fn sportello(args: &[&str]) -> (bool, String, String) {
    let ran = run_sportello(args);
    (ran.ok(), ran.stdout, ran.stderr)
}
