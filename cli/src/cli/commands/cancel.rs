//! `vertex-cancel cancel NAME...`: cancel the named targets, optionally waiting for outcomes.

use std::collections::HashMap;

use crate::cli::args::{CancelArgs, GlobalArgs, NameArgs, ServiceArg};
use crate::cli::connect::{self, Stdin};
use crate::cli::exit::{CliError, Exit};
use crate::cli::names::{self, CheckedNames, NameContext};
use crate::cli::output::Style;

use super::bulk::{self, Plan, Rows};

/// Runs `cancel`.
///
/// # Errors
/// Bad names or options (nothing sent), a client that cannot be built, output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &CancelArgs,
) -> Result<Exit, CliError> {
    let (names, stdin) = targets(global, &args.names)?;
    let credentials = connect::credentials(global, stdin)?;
    let client = connect::client(global, credentials).await?;
    let plan = Plan::from_args(&args.run);
    let ran = bulk::cancel_all(&client, names, &plan, style, Rows::Print, &HashMap::new()).await?;
    Ok(bulk::finish(&ran, style))
}

/// Reads and checks every name (before anything is sent); says whether stdin held them.
pub(crate) fn targets(
    global: &GlobalArgs,
    args: &NameArgs,
) -> Result<(CheckedNames, Stdin), CliError> {
    let context = name_context(global, args.service);
    let names = context.check(&args.names, &connect::resolver(global)?)?;
    let stdin = if names::from_stdin(&args.names) {
        Stdin::Names
    } else {
        Stdin::Free
    };
    Ok((names, stdin))
}

/// How names are completed and checked, from the global options.
pub(crate) fn name_context(global: &GlobalArgs, service: Option<ServiceArg>) -> NameContext {
    NameContext {
        project: global.project.clone(),
        region: global.region.clone(),
        service,
    }
}
