//! `vertex-cancel cancel-matching pipeline-jobs|nas-jobs --parent ... --filter F`: list what the
//! filter matches, show the count, confirm, and cancel through the same loop as `cancel`.
//!
//! Jobs already finished are left out (cancelling them would only be refused). Without `--yes`
//! the operator must confirm on a terminal; a script that forgets `--yes` gets exit 2 rather
//! than a bulk cancel nobody confirmed, before even the List is sent.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use futures::TryStreamExt;

use crate::cli::args::{CancelMatchingArgs, GlobalArgs, JobKind, ListKind};
use crate::cli::connect::{self, Stdin};
use crate::cli::exit::{CliError, Exit};
use crate::cli::names::CheckedNames;
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{LIST_HEADERS, ListRow};

use super::bulk::{self, Plan, Rows};
use super::cancel::name_context;
use super::list::rows;

/// Runs `cancel-matching`.
///
/// # Errors
/// A bad parent (nothing sent), a client that cannot be built, a failed List (nothing
/// cancelled), no confirmation possible, output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &CancelMatchingArgs,
) -> Result<Exit, CliError> {
    let context = name_context(global, None);
    let parent = context.parent(args.parent.parent.as_deref())?;
    if args.filter.trim().is_empty() {
        return Err(CliError::usage(
            "--filter must not be empty (it would match every job)",
        ));
    }
    if !(args.yes || args.dry_run || can_confirm()) {
        return Err(CliError::usage(
            "stdin is not a terminal, so the cancel cannot be confirmed; pass --yes (or \
             --dry-run to see what would be cancelled); nothing was sent",
        ));
    }
    let credentials = connect::credentials(global, Stdin::Free)?;
    let client = connect::client(global, credentials).await?;
    let kind = ListKind::from(args.kind);
    let matched: Vec<ListRow> = rows(
        &client,
        kind,
        &parent,
        Some(&args.filter),
        context.service(),
    )
    .try_collect()
    .await?;
    let (live, finished): (Vec<ListRow>, Vec<ListRow>) = matched
        .into_iter()
        .partition(|row| !row.state.is_terminal());
    let what = noun(args.kind, live.len());
    style.note(&format!(
        "{} {what} to cancel under {parent} matching {:?} ({} already finished, left out)",
        live.len(),
        args.filter,
        finished.len()
    ));
    if args.dry_run {
        print_rows(&live, style)?;
        return Ok(Exit::Success);
    }
    if live.is_empty() {
        return Ok(Exit::Success);
    }
    if !args.yes && !confirm(&format!("Cancel {} {what} under {parent}?", live.len()))? {
        style.note("nothing cancelled");
        return Ok(Exit::Failed);
    }
    let targets = CheckedNames::from_targets(live.into_iter().map(|row| row.target).collect());
    let plan = Plan::from_args(&args.run);
    let ran =
        bulk::cancel_all(&client, targets, &plan, style, Rows::Print, &HashMap::new()).await?;
    Ok(bulk::finish(&ran, style))
}

fn noun(kind: JobKind, n: usize) -> &'static str {
    match (kind, n == 1) {
        (JobKind::PipelineJobs, true) => "pipeline job",
        (JobKind::PipelineJobs, false) => "pipeline jobs",
        (JobKind::NasJobs, true) => "NAS job",
        (JobKind::NasJobs, false) => "NAS jobs",
    }
}

fn print_rows(rows: &[ListRow], style: Style) -> Result<(), CliError> {
    if style.json {
        return rows.iter().try_for_each(|row| print_json(&row.json()));
    }
    let mut table = Table::new(LIST_HEADERS.to_vec());
    for row in rows {
        table.push(row.cells());
    }
    print(&table.render(style.color))
}

/// Whether there is a terminal to ask on; checked before anything is sent.
fn can_confirm() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on the terminal (which [`can_confirm`] said is there).
fn confirm(question: &str) -> Result<bool, CliError> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{question} [y/N] ")
        .and_then(|()| stderr.flush())
        .map_err(CliError::io("asking for confirmation"))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::io("reading the confirmation"))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
