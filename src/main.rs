//! The `vertex-cancel` operator CLI.
//!
//! Only the `fake` subcommand so far; the cancel/get/list commands join `Command` later.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vertex_cancel::fake::{StandaloneOptions, run_standalone};

/// Cancel Vertex AI pipeline jobs, NAS jobs and operations over gRPC.
#[derive(Debug, Parser)]
#[command(name = "vertex-cancel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the built-in fake Vertex AI server on 127.0.0.1 until SIGINT/SIGTERM.
    ///
    /// The first stdout line is `PORT n`.
    Fake(FakeArgs),
}

#[derive(Debug, Args)]
struct FakeArgs {
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Scenario JSON file seeding resources and faults.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Require this bearer token (a test token: it is visible in the process list; prefer
    /// --token-file).
    #[arg(long, value_name = "T", conflicts_with = "token_file")]
    token: Option<String>,
    /// Require the bearer token read from this file (surrounding whitespace trimmed).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Append every call to this file as a JSON line.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Exit status for usage and setup errors (clap itself uses 2 for bad arguments).
const EXIT_SETUP: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vertex-cancel: {}", chain(error.as_ref()));
            ExitCode::from(EXIT_SETUP)
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Fake(args) => runtime.block_on(run_fake(args)),
    }
}

async fn run_fake(args: FakeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let token = match (args.token, args.token_file) {
        (Some(token), _) => Some(token),
        (None, Some(path)) => Some(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    run_standalone(StandaloneOptions {
        port: args.port,
        scenario: args.scenario,
        token,
        log: args.log,
    })
    .await?;
    Ok(())
}

/// The error and its causes on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
