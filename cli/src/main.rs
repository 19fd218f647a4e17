//! The `vertex-cancel` operator CLI: cancel Vertex AI pipeline jobs, NAS jobs and operations
//! from a terminal or a script, see what happened, and run the built-in fake or the demo.
//!
//! `main` only turns the result of [`cli::run`] into an exit code; a closed stdout (`| head`)
//! ends the process quietly, as a well-behaved filter does, but not with success: what was not
//! written was not done (a command that had finished its work exits with its own code instead).

mod cli;

use std::process::ExitCode;

use cli::exit::{CliError, Exit};

fn main() -> ExitCode {
    match cli::run() {
        Ok(exit) => exit.into(),
        Err(error) if error.is_broken_pipe() => Exit::StdoutClosed.into(),
        Err(error) => report(&error),
    }
}

fn report(error: &CliError) -> ExitCode {
    eprintln!("vertex-cancel: error: {}", error.message());
    error.exit().into()
}
