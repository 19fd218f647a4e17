//! The cancel loop shared by `cancel`, `cancel-matching` and `demo`: hand the targets to
//! [`Client::cancel_many`], report each as it comes (JSON line, progress bar), stop launching
//! cancels on Ctrl-C, and print the table and summary at the end.
//!
//! Ctrl-C drops the results stream, which is what stops `cancel_many` from starting more
//! cancels; cancels already sent stay sent, and the targets reported so far are printed.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use futures::{StreamExt, stream};
use vertex_cancel::{CancelMany, Client, State, Target, Wait};

use crate::cli::args::CancelRunArgs;
use crate::cli::exit::{CliError, Exit};
use crate::cli::output::{Style, Table, print, print_json};
use crate::cli::report::{CANCEL_HEADERS, CancelRow, summary};

/// The longest delay between polls with `--wait`.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// How one bulk cancel runs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Options for `cancel_many`.
    pub(crate) options: CancelMany,
    /// Whether outcomes are awaited (changes what exit 3 means).
    pub(crate) waited: bool,
}

impl Plan {
    /// The plan `--wait`, `--timeout`, `--poll-interval`, `--concurrency`, `--rate` describe.
    pub(crate) fn from_args(run: &CancelRunArgs) -> Self {
        let mut options = CancelMany::default().concurrency(run.concurrency.into());
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
            waited: run.wait,
        }
    }
}

/// What a bulk cancel reported.
#[derive(Debug)]
pub(crate) struct Ran {
    /// One row per reported target, in the order the targets were given.
    pub(crate) rows: Vec<CancelRow>,
    /// How many targets there were.
    pub(crate) total: usize,
    /// Whether Ctrl-C cut the run short.
    pub(crate) interrupted: bool,
}

impl Ran {
    /// 130 if interrupted, else the most serious code of any row.
    pub(crate) fn exit(&self, waited: bool) -> Exit {
        if self.interrupted {
            return Exit::Interrupted;
        }
        self.rows
            .iter()
            .fold(Exit::Success, |worst, row| worst.max(row.exit(waited)))
    }

    /// The summary line, mentioning an interruption.
    pub(crate) fn summary(&self) -> String {
        let text = summary(&self.rows);
        if self.interrupted {
            format!(
                "interrupted: {} of {} targets reported, no new cancels started (cancels already \
                 sent may still take effect); {text}",
                self.rows.len(),
                self.total
            )
        } else {
            text
        }
    }
}

/// Cancels `targets`; prints a JSON line per target as it is reported (with `--json`).
/// `before` adds the state each target was in before the cancel (the demo).
pub(crate) async fn cancel_all(
    client: &Client,
    targets: Vec<Target>,
    plan: &Plan,
    style: Style,
    before: &HashMap<Target, State>,
) -> Result<Ran, CliError> {
    let total = targets.len();
    let mut order: HashMap<Target, usize> = HashMap::with_capacity(total);
    for (i, target) in targets.iter().enumerate() {
        order.entry(target.clone()).or_insert(i);
    }
    let progress = style.progress(total, "cancelling");
    let results = client.cancel_many(stream::iter(targets), plan.options.clone());
    let mut results = std::pin::pin!(results);
    let mut interrupt = std::pin::pin!(interrupted());
    let mut rows = Vec::with_capacity(total);
    let mut was_interrupted = false;
    loop {
        // Biased: the signal is polled (so registered) before the first result is printed.
        let next = tokio::select! {
            biased;
            () = &mut interrupt => { was_interrupted = true; None }
            next = results.next() => next,
        };
        let Some((target, result)) = next else { break };
        let mut row = CancelRow::new(target, result);
        row.before = before.get(&row.target).copied();
        if style.json {
            print_json(&row.json())?;
        }
        progress.inc(1);
        rows.push(row);
    }
    progress.finish_and_clear();
    rows.sort_by_key(|row| order.get(&row.target).copied().unwrap_or(usize::MAX));
    Ok(Ran {
        rows,
        total,
        interrupted: was_interrupted,
    })
}

/// Completes on Ctrl-C; never, if the signal cannot be listened for.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Prints the table (unless `--json`) and the summary on stderr; returns the exit code.
pub(crate) fn finish(ran: &Ran, plan: &Plan, style: Style) -> Result<Exit, CliError> {
    if !style.json {
        let mut table = Table::new(CANCEL_HEADERS.to_vec());
        for row in &ran.rows {
            table.push(row.cells());
        }
        print(&table.render(style.color))?;
    }
    if ran.interrupted {
        eprintln!("{}", ran.summary());
    } else {
        style.note(&ran.summary());
    }
    Ok(ran.exit(plan.waited))
}
