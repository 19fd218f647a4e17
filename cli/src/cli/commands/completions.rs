//! `vertex-cancel completions bash|zsh|fish|...`: a completion script generated from the same
//! clap description as `--help`.

use clap::CommandFactory;

use crate::cli::args::{Cli, CompletionsArgs};
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::print;

/// Prints the completion script for the shell asked for.
///
/// # Errors
/// Output that fails.
pub(crate) fn run(args: &CompletionsArgs) -> Result<Exit, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "vertex-cancel",
        &mut script,
    );
    print(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}
