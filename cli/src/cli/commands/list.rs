//! `vertex-cancel list pipeline-jobs|nas-jobs|operations --parent ...`: what is there, with an
//! optional filter and limit. `cancel-matching` lists through the same path.

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use vertex_cancel::{Client, Error, LocationName, Service, TargetStatus};

use crate::cli::args::{GlobalArgs, ListArgs, ListKind};
use crate::cli::connect::{self, Stdin};
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{LIST_HEADERS, ListRow};

use super::cancel::name_context;

/// Runs `list`.
///
/// # Errors
/// A bad parent (nothing sent), a client that cannot be built, a failed List (after printing
/// what was listed before it failed), output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &ListArgs,
) -> Result<Exit, CliError> {
    let context = name_context(global, args.service);
    let parent = context.parent(args.parent.parent.as_deref())?;
    if args.kind != ListKind::Operations && context.service() == Service::AutoMl {
        return Err(CliError::usage("--service automl lists operations only"));
    }
    let credentials = connect::credentials(global, Stdin::Free)?;
    let client = connect::client(global, credentials).await?;
    let items = rows(
        &client,
        args.kind,
        &parent,
        args.filter.as_deref(),
        context.service(),
    );
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

/// The items of one List as rows, page after page.
pub(crate) fn rows(
    client: &Client,
    kind: ListKind,
    parent: &LocationName,
    filter: Option<&str>,
    service: Service,
) -> BoxStream<'static, Result<ListRow, Error>> {
    let statuses: BoxStream<'static, Result<TargetStatus, Error>> = match kind {
        ListKind::PipelineJobs => client
            .list_pipeline_jobs(parent, filter)
            .map_ok(TargetStatus::from)
            .boxed(),
        ListKind::NasJobs => client
            .list_nas_jobs(parent, filter)
            .map_ok(TargetStatus::from)
            .boxed(),
        ListKind::Operations => client
            .list_operations(service, parent, filter)
            .map_ok(TargetStatus::from)
            .boxed(),
    };
    statuses
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
