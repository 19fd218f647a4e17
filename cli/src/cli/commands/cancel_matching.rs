//! `vertex-cancel cancel-matching KINDS [--parent ... | --project P --region R | --regions
//! R1,R2|all] --filter F`: find the live jobs the filter matches (the library's sweep), show the
//! counts per region and kind, confirm, and cancel through the same loop as `cancel`.
//!
//! Jobs already finished are left out (cancelling them would only be refused). Without `--yes`
//! the operator must confirm on a terminal; a script that forgets `--yes` gets exit 2 rather
//! than a bulk cancel nobody confirmed, before even the List is sent. An empty filter needs
//! `--all-matching`, and one that stops every job of a project (all kinds, `--regions all`)
//! needs `--all-matching` and `--yes`: possible, never an accident. A List that fails for a
//! region is reported and makes the exit code non-zero; the other regions are still swept.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};

use crate::cli::args::{CancelMatchingArgs, GlobalArgs};
use crate::cli::connect::{self, Stdin};
use crate::cli::exit::{CliError, Exit};
use crate::cli::names::CheckedNames;
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{CANCEL_HEADERS, CancelRow, LIST_HEADERS, ListRow, Tally};

use super::bulk::{self, Plan, Rows};
use super::sweep;

/// Runs `cancel-matching`.
///
/// # Errors
/// A bad selection or filter (nothing sent), a missing `--all-matching` or `--yes`, a client
/// that cannot be built, no confirmation possible, output that fails.
pub(crate) async fn run(
    global: &GlobalArgs,
    style: Style,
    args: &CancelMatchingArgs,
) -> Result<Exit, CliError> {
    let search = sweep::search(global, &args.parent, &args.kinds.0, &args.filter)?;
    check_safety(args, search.selects_everything())?;
    let credentials = connect::credentials(global, Stdin::Free)?;
    let client = connect::client(global, credentials).await?;
    let found = sweep::find(&client, &search, style, None).await?;
    let jobs = found.jobs;
    style.note(&format!(
        "{} live {} to cancel matching {:?}",
        jobs.len(),
        if jobs.len() == 1 { "job" } else { "jobs" },
        args.filter,
    ));
    if args.dry_run {
        print_rows(&jobs, style)?;
        return Ok(found.exit);
    }
    if jobs.is_empty() {
        return Ok(found.exit);
    }
    if !args.yes && !confirm(&format!("Cancel {} jobs?", jobs.len()))? {
        style.note("nothing cancelled");
        return Ok(Exit::Failed.max(found.exit));
    }
    let targets = CheckedNames::from_targets(jobs.into_iter().map(|job| job.target).collect());
    let plan = Plan::from_args(&args.run);
    let ran = bulk::cancel_all(
        &client,
        targets,
        &plan,
        style,
        Rows::Keep(Vec::new()),
        &HashMap::new(),
    )
    .await?;
    if let Rows::Keep(rows) = &ran.rows {
        if !style.json {
            let mut table = Table::new(CANCEL_HEADERS.to_vec());
            rows.iter().for_each(|row| table.push(row.cells()));
            print(&table.render(style.color))?;
        }
        for ((location, kind), tally) in by_region_and_kind(rows) {
            style.note(&format!("{location} {kind}: {}", tally.summary()));
        }
    }
    Ok(bulk::finish(&ran, style).max(found.exit))
}

/// Refuses, before anything is sent, a cancel nobody can have meant or confirmed.
fn check_safety(args: &CancelMatchingArgs, everything: bool) -> Result<(), CliError> {
    if args.dry_run {
        return Ok(());
    }
    if args.filter.trim().is_empty() && !args.all_matching {
        return Err(CliError::usage(
            "--filter is empty: it matches every live job of the kinds and regions selected; \
             pass --all-matching to cancel them all (or --dry-run to look first); nothing was \
             sent",
        ));
    }
    if everything && !args.yes {
        return Err(CliError::usage(
            "an empty filter with every kind and --regions all stops every job in the project: \
             that needs --all-matching and --yes; nothing was sent",
        ));
    }
    if !(args.yes || can_confirm()) {
        return Err(CliError::usage(
            "stdin is not a terminal, so the cancel cannot be confirmed; pass --yes (or \
             --dry-run to see what would be cancelled); nothing was sent",
        ));
    }
    Ok(())
}

/// The outcomes counted per (location, kind), for the summary.
fn by_region_and_kind(rows: &[CancelRow]) -> BTreeMap<(String, &'static str), Tally> {
    let mut tallies: BTreeMap<(String, &'static str), Tally> = BTreeMap::new();
    for row in rows {
        let key = (row.target.location().to_owned(), row.target.kind().as_str());
        tallies.entry(key).or_default().add(row);
    }
    tallies
}

fn print_rows(jobs: &[vertex_cancel::client::LiveJob], style: Style) -> Result<(), CliError> {
    let rows = jobs
        .iter()
        .filter_map(|job| ListRow::new(&job.status, vertex_cancel::Service::VertexAi));
    if style.json {
        return rows.into_iter().try_for_each(|row| print_json(&row.json()));
    }
    let mut table = Table::new(LIST_HEADERS.to_vec());
    rows.for_each(|row| table.push(row.cells()));
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
