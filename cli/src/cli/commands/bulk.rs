//! The cancel loop shared by `cancel`, `cancel-matching` and `demo`: hand the targets to
//! [`Client::cancel_many`] as a stream, print each result as it comes (a JSON line at once, a
//! table row in input order), stop launching cancels on Ctrl-C or a closed stdout, and print the
//! summary at the end. Rows are printed and counted, not kept, so a million names take no more
//! memory than the cancels in flight.
//!
//! Ctrl-C is `cancel_many`'s stop signal: no new cancel is started, and each cancel already sent
//! is still reported (`requested`, or its error) once answered, within one attempt timeout.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::sync::watch;
use vertex_cancel::{CancelMany, Client, State, Target, Wait};

use crate::cli::args::CancelRunArgs;
use crate::cli::exit::{CliError, Exit};
use crate::cli::names::CheckedNames;
use crate::cli::output::{Style, TableWriter, print_json};
use crate::cli::report::{CANCEL_HEADERS, CancelRow, Tally, cancel_widths};

/// The longest delay between polls with `--wait`.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// How one bulk cancel runs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Options for `cancel_many`.
    pub(crate) options: CancelMany,
    /// The `cancel_many` concurrency in `options`, which bounds the rows a table holds.
    pub(crate) concurrency: usize,
}

impl Plan {
    /// The plan `--wait`, `--timeout`, `--poll-interval`, `--concurrency`, `--rate` and
    /// `--no-batch` describe.
    pub(crate) fn from_args(run: &CancelRunArgs) -> Self {
        let concurrency = run.concurrency.into();
        let mut options = CancelMany::default()
            .concurrency(concurrency)
            .batch(!run.no_batch);
        if run.wait {
            options = options.wait(
                Wait::up_to(run.timeout)
                    .first_interval(run.poll_interval)
                    .max_interval(MAX_POLL_INTERVAL.max(run.poll_interval)),
            );
        }
        if let Some(rate) = run.rate.and_then(NonZeroU32::new) {
            options = options.rate_per_region(rate);
        }
        Self {
            options,
            concurrency,
        }
    }

    /// How many names may be handed on past the earliest row not yet printed: what
    /// `cancel_many` itself holds at once (its cancels and confirmations in flight), so a
    /// slow target stalls the input, not the memory, while its row holds up the table.
    fn held_rows(&self) -> usize {
        self.concurrency
            .saturating_mul(vertex_cancel::client::PENDING_PER_SLOT + 2)
    }
}

/// Where the rows of a bulk cancel go besides JSON Lines.
#[derive(Debug)]
pub(crate) enum Rows {
    /// A table on stdout, printed in input order as the rows become ready (not with `--json`).
    Print,
    /// Kept, in input order, for the caller to print (the demo adds a column).
    Keep(Vec<CancelRow>),
}

/// What a bulk cancel reported.
#[derive(Debug)]
pub(crate) struct Ran {
    /// The outcomes, counted.
    pub(crate) tally: Tally,
    /// How many targets there were.
    pub(crate) total: usize,
    /// Whether Ctrl-C cut the run short.
    pub(crate) interrupted: bool,
    /// The rows, with [`Rows::Keep`].
    pub(crate) rows: Rows,
}

impl Ran {
    /// 130 if interrupted, else the most serious code of any row.
    pub(crate) fn exit(&self) -> Exit {
        if self.interrupted {
            return Exit::Interrupted;
        }
        self.tally.exit()
    }

    /// The summary line, mentioning an interruption.
    pub(crate) fn summary(&self) -> String {
        let text = self.tally.summary();
        if self.interrupted {
            format!(
                "interrupted: {} of {} targets reported, no new cancels started (every cancel \
                 sent is reported above); {text}",
                self.tally.reported(),
                self.total
            )
        } else {
            text
        }
    }
}

/// Cancels `names`, printing each result as it is reported: a JSON line at once (with
/// `--json`), a table row once every earlier target's row is out (input order). Only counts are
/// kept, so memory follows the concurrency, not the number of names. `before` adds the state
/// each target was in before the cancel (the demo).
///
/// A closed stdout (`| head`) stops the run (no new cancels) and comes back as the broken-pipe
/// error, unless every target had been reported already: then the run's own result stands.
pub(crate) async fn cancel_all(
    client: &Client,
    names: CheckedNames,
    plan: &Plan,
    style: Style,
    rows: Rows,
    before: &HashMap<Target, State>,
) -> Result<Ran, CliError> {
    let total = names.len();
    let mut out = Output::start(&names, style, rows)?;
    let order = Arc::new(InputOrder::default());
    let numbered = order.clone();
    let unread = Arc::new(OnceLock::new());
    let printed = out.printed.subscribe();
    let held_rows = plan.held_rows();
    let targets = names
        .into_stream(unread.clone())
        .enumerate()
        .then(move |(n, target)| {
            let mut printed = printed.clone();
            async move {
                // Closed: the run is over, nothing more is held.
                let _ = printed.wait_for(|&p| n < p.saturating_add(held_rows)).await;
                (n, target)
            }
        })
        .map(move |(n, target)| {
            numbered.number(&target, n);
            target
        });
    let progress = style.progress(total, "cancelling");
    let interrupt = interrupted().boxed().shared();
    let options = plan.options.clone().stop_on(interrupt.clone());
    let results = client.cancel_many(targets, options);
    let mut results = std::pin::pin!(results);
    let mut interrupt = std::pin::pin!(interrupt);
    let mut tally = Tally::default();
    let mut was_interrupted = false;
    loop {
        // Biased: the signal is polled (so registered) before the first result is printed. Once
        // it fired, the stream itself ends after reporting the cancels already sent.
        let next = tokio::select! {
            biased;
            () = &mut interrupt, if !was_interrupted => { was_interrupted = true; continue }
            next = results.next() => next,
        };
        let Some((target, result)) = next else { break };
        let mut row = CancelRow::new(target, result);
        row.before = before.get(&row.target).copied();
        tally.add(&row);
        progress.inc(1);
        let n = order.take(&row.target);
        out.emit(n, row)
            .or_else(|e| finished_anyway(e, tally.reported() == total))?;
    }
    progress.finish_and_clear();
    out.flush()
        .or_else(|e| finished_anyway(e, tally.reported() == total))?;
    if let Some(reason) = unread.get() {
        let context = format!("{reason}; the run stopped early");
        return Err(CliError::io(context)(std::io::Error::other(
            "temporary file",
        )));
    }
    Ok(Ran {
        tally,
        total,
        interrupted: was_interrupted,
        rows: out.into_rows(),
    })
}

/// A closed stdout after the last report does not change what was done.
fn finished_anyway(error: CliError, finished: bool) -> Result<(), CliError> {
    if finished && error.is_broken_pipe() {
        Ok(())
    } else {
        Err(error)
    }
}

/// Numbers targets as they are handed to `cancel_many`, so that a report (which names its
/// target, not its position) can be put back in input order; a name given twice gets each of
/// its numbers in turn. Only targets in flight are held.
#[derive(Debug, Default)]
struct InputOrder(Mutex<HashMap<Target, VecDeque<usize>>>);

impl InputOrder {
    fn number(&self, target: &Target, n: usize) {
        let mut numbers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        numbers.entry(target.clone()).or_default().push_back(n);
    }

    /// The number of the earliest unreported occurrence of `target`.
    fn take(&self, target: &Target) -> usize {
        let mut numbers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = numbers.get_mut(target) else {
            return usize::MAX;
        };
        let n = queue.pop_front().unwrap_or(usize::MAX);
        if queue.is_empty() {
            numbers.remove(target);
        }
        n
    }
}

/// Where rows go as they are reported.
struct Output {
    json: bool,
    table: Option<TableWriter>,
    rows: Rows,
    /// Rows waiting for an earlier one, by input number.
    held: BTreeMap<usize, CancelRow>,
    next: usize,
    /// `next`, for the input to wait on; it never moves when no row is kept in order.
    printed: watch::Sender<usize>,
}

impl Output {
    fn start(names: &CheckedNames, style: Style, rows: Rows) -> Result<Self, CliError> {
        let table = match rows {
            Rows::Print if !style.json => Some(TableWriter::start(
                &CANCEL_HEADERS,
                &cancel_widths(names.widest()),
                style.color,
            )?),
            _ => None,
        };
        // Kept rows (the demo's, a sweep's) are what a List found, in memory already: only a
        // table printed as it goes holds the input back.
        let printed = watch::Sender::new(if table.is_some() { 0 } else { usize::MAX });
        Ok(Self {
            json: style.json,
            table,
            rows,
            held: BTreeMap::new(),
            next: 0,
            printed,
        })
    }

    /// JSON at once; the table and kept rows in input order.
    fn emit(&mut self, n: usize, row: CancelRow) -> Result<(), CliError> {
        if self.json {
            print_json(&row.json())?;
        }
        if self.table.is_none() && matches!(self.rows, Rows::Print) {
            return Ok(());
        }
        self.held.insert(n, row);
        while let Some(row) = self.held.remove(&self.next) {
            self.next += 1;
            self.deliver(row)?;
        }
        if self.table.is_some() {
            self.printed.send_replace(self.next);
        }
        Ok(())
    }

    /// Rows still held (an earlier target was never reported: Ctrl-C), in order.
    fn flush(&mut self) -> Result<(), CliError> {
        while let Some((_, row)) = self.held.pop_first() {
            self.deliver(row)?;
        }
        Ok(())
    }

    fn deliver(&mut self, row: CancelRow) -> Result<(), CliError> {
        if let Some(table) = &self.table {
            table.row(&row.cells())?;
        }
        if let Rows::Keep(kept) = &mut self.rows {
            kept.push(row);
        }
        Ok(())
    }

    fn into_rows(self) -> Rows {
        self.rows
    }
}

/// Completes on Ctrl-C; never, if the signal cannot be listened for.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Prints the summary on stderr; returns the exit code.
pub(crate) fn finish(ran: &Ran, style: Style) -> Exit {
    if ran.interrupted {
        eprintln!("{}", ran.summary());
    } else {
        style.note(&ran.summary());
    }
    ran.exit()
}
