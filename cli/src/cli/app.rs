//! From `argv` to an exit code: parse, set up logging, start the runtime, run the command.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use super::args::{Cli, Command, GlobalArgs};
use super::commands;
use super::exit::{CliError, Exit};
use super::output::Style;

/// Runs the CLI with the process's arguments.
///
/// # Errors
/// What stopped the command before it could report per target; the error knows its exit code.
pub(crate) fn run() -> Result<Exit, CliError> {
    let cli = Cli::parse();
    let style = Style::detect(cli.global.json, cli.global.quiet);
    init_tracing(&cli.global, style);
    if let Command::Completions(args) = &cli.command {
        return commands::completions::run(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))?;
    runtime.block_on(dispatch(cli, style))
}

async fn dispatch(cli: Cli, style: Style) -> Result<Exit, CliError> {
    let global = &cli.global;
    match cli.command {
        Command::Cancel(args) => commands::cancel::run(global, style, &args).await,
        Command::Status(args) => commands::status::run(global, style, &args).await,
        Command::List(args) => commands::list::run(global, style, &args).await,
        Command::CancelMatching(args) => commands::cancel_matching::run(global, style, &args).await,
        Command::Fake(args) => commands::fake::run(args).await,
        Command::Demo(args) => commands::demo::run(style, &args).await,
        Command::Completions(args) => commands::completions::run(&args),
    }
}

/// Logs to stderr: `RUST_LOG` if set, else warnings (`-q`: errors; `-v`/`-vv`/`-vvv`: more).
/// Colour codes only when stderr is a terminal and `NO_COLOR` is unset, so that logs written to
/// a file or a pipe stay plain text.
fn init_tracing(global: &GlobalArgs, style: Style) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        // gcp_auth warns on every retry of every credential source it probes; without -v a
        // missing credential is reported once, with what to do (`connect::client`).
        (false, 0) => "warn,gcp_auth=error",
        (false, 1) => "warn,vertex_cancel=info",
        (false, 2) => "info,vertex_cancel=debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(style.log_color)
        .with_target(false)
        .try_init();
}
