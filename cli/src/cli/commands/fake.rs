//! `vertex-cancel fake`: the built-in fake as its own process (first stdout line `PORT n`,
//! stops cleanly on SIGINT/SIGTERM), for tests in other languages and for trying the CLI.

use vertex_cancel::fake::{StandaloneOptions, TlsFiles, run_standalone_tls};

use crate::cli::args::FakeArgs;
use crate::cli::exit::{CliError, Exit};

/// Runs the fake until a signal stops it.
///
/// # Errors
/// A bad scenario or token file (exit 2), a port or log file that cannot be used.
pub(crate) async fn run(args: FakeArgs) -> Result<Exit, CliError> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(path)) => Some(read_token(path)?),
        (None, None) => None,
    };
    let tls = args
        .tls_cert
        .zip(args.tls_key)
        .map(|(cert, key)| TlsFiles { cert, key });
    let options = StandaloneOptions {
        port: args.port,
        scenario: args.scenario,
        token,
        log: args.log,
    };
    run_standalone_tls(options, tls).await?;
    Ok(Exit::Success)
}

fn read_token(path: &std::path::Path) -> Result<String, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read token file {}: {e}", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(CliError::usage(format!(
            "token file {} is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}
