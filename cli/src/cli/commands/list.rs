//! `vertex-cancel list KINDS [--parent ... | --project P --region R | --regions R1,R2|all]`:
//! what is there, with an optional filter and limit, so an operator can look before
//! cancelling. Jobs go through the library's sweep (every state: a look, not a cancel);
//! operations are listed under one location, their filter passed through as given.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use vertex_cancel::{Client, Error, LocationName, Service, TargetKind, TargetStatus};

use crate::cli::args::{GlobalArgs, ListArgs, ListKinds};
use crate::cli::connect::{self, Stdin};
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{LIST_HEADERS, ListRow};

use super::cancel::name_context;
use super::sweep;

/// Runs `list`.
///
/// # Errors
/// A bad selection or filter (nothing sent), a client that cannot be built, a failed List of
/// operations (after printing what was listed before it failed), output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &ListArgs,
) -> Result<Exit, CliError> {
    match &args.kinds {
        ListKinds::Jobs(kinds) => jobs(global, style, args, kinds).await,
        ListKinds::Operations => operations(global, style, args).await,
    }
}

async fn jobs(
    global: &GlobalArgs,
    style: Style,
    args: &ListArgs,
    kinds: &[TargetKind],
) -> Result<Exit, CliError> {
    if args.service == Some(crate::cli::args::ServiceArg::Automl) {
        return Err(CliError::usage("--service automl lists operations only"));
    }
    let filter = args.filter.as_deref().unwrap_or_default();
    let search = sweep::search(global, &args.parent, kinds, filter)?.include_finished(true);
    let credentials = connect::credentials(global, Stdin::Free)?;
    let client = connect::client(global, credentials).await?;
    let found = sweep::find(&client, &search, style, args.limit).await?;
    let rows = found
        .jobs
        .iter()
        .filter_map(|job| ListRow::new(&job.status, Service::VertexAi));
    let mut table = Table::new(LIST_HEADERS.to_vec());
    for row in rows {
        if style.json {
            print_json(&row.json())?;
        } else {
            table.push(row.cells());
        }
    }
    // Nothing listed because every List failed: no header either.
    if !style.json && (!table.is_empty() || found.exit == Exit::Success) {
        print(&table.render(style.color))?;
    }
    Ok(found.exit)
}

async fn operations(global: &GlobalArgs, style: Style, args: &ListArgs) -> Result<Exit, CliError> {
    if args.parent.regions.is_some() {
        return Err(CliError::usage(
            "operations are listed under one location: --parent, or --project and --region",
        ));
    }
    let context = name_context(global, args.service);
    let parent = context.parent(args.parent.parent.as_deref())?;
    let credentials = connect::credentials(global, Stdin::Free)?;
    let client = connect::client(global, credentials).await?;
    let items = operation_rows(&client, &parent, args.filter.as_deref(), context.service());
    let items = items.take(args.limit.unwrap_or(usize::MAX));
    let mut items = std::pin::pin!(items);
    let mut table = Table::new(LIST_HEADERS.to_vec());
    let mut failed = None;
    while let Some(item) = items.next().await {
        match item {
            Ok(row) if style.json => print_json(&row.json())?,
            Ok(row) => table.push(row.cells()),
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    // A List refused outright (a bad filter) printed nothing: no header either.
    let listed_any = !table.is_empty() || failed.is_none();
    if !style.json && listed_any {
        print(&table.render(style.color))?;
    }
    match failed {
        Some(error) => Err(error.into()),
        None => Ok(Exit::Success),
    }
}

/// The operations of one List as rows, page after page.
fn operation_rows(
    client: &Client,
    parent: &LocationName,
    filter: Option<&str>,
    service: Service,
) -> BoxStream<'static, Result<ListRow, Error>> {
    client
        .list_operations(service, parent, filter)
        .map_ok(TargetStatus::from)
        .try_filter_map(move |status| {
            let row = ListRow::new(&status, service);
            if row.is_none() {
                tracing::warn!(
                    name = status.raw.name(),
                    "skipping an item whose name does not parse"
                );
            }
            futures::future::ready(Ok(row))
        })
        .boxed()
}
