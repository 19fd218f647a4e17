//! `vertex-cancel status NAME...`: the state and recorded error of each target, in input order,
//! each row printed as soon as it and the rows before it are read.

use std::sync::{Arc, OnceLock};

use futures::StreamExt;

use crate::cli::args::{GlobalArgs, StatusArgs};
use crate::cli::connect;
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{Style, TableWriter, print_json};
use crate::cli::report::{STATUS_HEADERS, StatusRow, status_widths};

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
    let (names, stdin) = targets(global, &args.names)?;
    let credentials = connect::credentials(global, stdin)?;
    let client = connect::client(global, credentials).await?;
    let progress = style.progress(names.len(), "reading");
    let table = if style.json {
        None
    } else {
        let widths = status_widths(names.widest());
        Some(TableWriter::start(&STATUS_HEADERS, &widths, style.color)?)
    };
    let unread = Arc::new(OnceLock::new());
    let reads = names
        .into_stream(unread.clone())
        .map(|target| {
            let client = client.clone();
            async move {
                let result = client.get(&target).await;
                StatusRow::new(target, result)
            }
        })
        .buffered(args.concurrency.into());
    let mut reads = std::pin::pin!(reads);
    let mut exit = Exit::Success;
    while let Some(row) = reads.next().await {
        match &table {
            Some(table) => table.row(&row.cells())?,
            None => print_json(&row.json())?,
        }
        progress.inc(1);
        exit = exit.max(row.exit());
    }
    progress.finish_and_clear();
    if let Some(reason) = unread.get() {
        let context = format!("{reason}; stopped early");
        return Err(CliError::io(context)(std::io::Error::other(
            "temporary file",
        )));
    }
    Ok(exit)
}
