//! `vertex-cancel fake`: the built-in fake as its own process (first stdout line `PORT n`,
//! stops cleanly on SIGINT/SIGTERM), for tests in other languages and for trying the CLI.

use vertex_cancel::fake::{StandaloneOptions, TlsFiles, run_standalone_tls};

use crate::cli::args::FakeArgs;
use crate::cli::connect::read_token_at;
use crate::cli::exit::{CliError, Exit};

/// Runs the fake until a signal stops it.
///
/// # Errors
/// A bad scenario or token file (exit 2), a port or log file that cannot be used.
pub(crate) async fn run(args: FakeArgs) -> Result<Exit, CliError> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(path)) => Some(read_token_at(path, "token file")?),
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
