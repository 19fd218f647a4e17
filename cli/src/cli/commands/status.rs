//! `vertex-cancel status NAME...`: the state and recorded error of each target, in input order.

use futures::{StreamExt, stream};

use crate::cli::args::{GlobalArgs, StatusArgs};
use crate::cli::connect;
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{STATUS_HEADERS, StatusRow};

use super::cancel::targets;

/// Runs `status`: 0 when every Get succeeded, else the most serious failure's code.
///
/// # Errors
/// Bad names or options (nothing sent), a client that cannot be built, output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &StatusArgs,
) -> Result<Exit, CliError> {
    let (targets, stdin) = targets(global, &args.names)?;
    let credentials = connect::credentials(global, stdin)?;
    let client = connect::client(global, credentials).await?;
    let progress = style.progress(targets.len(), "reading");
    let reads = stream::iter(targets)
        .map(|target| {
            let client = client.clone();
            async move {
                let result = client.get(&target).await;
                StatusRow::new(target, result)
            }
        })
        .buffered(args.concurrency.into());
    let mut reads = std::pin::pin!(reads);
    let mut table = Table::new(STATUS_HEADERS.to_vec());
    let mut exit = Exit::Success;
    while let Some(row) = reads.next().await {
        if style.json {
            print_json(&row.json())?;
        } else {
            table.push(row.cells());
        }
        progress.inc(1);
        exit = exit.max(row.exit());
    }
    progress.finish_and_clear();
    if !style.json {
        print(&table.render(style.color))?;
    }
    Ok(exit)
}
