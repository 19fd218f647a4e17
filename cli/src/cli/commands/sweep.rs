//! What `list` and `cancel-matching` share for jobs: the search their selection describes
//! (kinds; `--parent`, or `--project` with `--region`, `--regions R1,R2` or `--regions all`;
//! `--filter`), the jobs it finds with counts per region and kind on stderr, and each failed
//! List reported on its own line (a JSON line with `--json`), never dropped.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::json;
use vertex_cancel::client::{Finding, JobSearch, ListFailure, LiveJob};
use vertex_cancel::escape::for_terminal;
use vertex_cancel::{Client, TargetKind};

use crate::cli::args::{GlobalArgs, ParentArgs, Regions, kind_word};
use crate::cli::exit::{CliError, Exit, error_chain};
use crate::cli::output::{Style, print_json};
use crate::cli::report::ErrorView;

use super::cancel::name_context;

/// The search `--parent` / `--project` with `--region` / `--regions`, the kinds and the filter
/// describe. Checked by the library before anything is sent.
///
/// # Errors
/// A usage error for a selection that names no project or contradicts itself.
pub(crate) fn search(
    global: &GlobalArgs,
    parent: &ParentArgs,
    kinds: &[TargetKind],
    filter: &str,
) -> Result<JobSearch, CliError> {
    let search = match (&parent.parent, &parent.regions, &global.project) {
        (Some(text), _, _) => {
            let parent = name_context(global, None).parent(Some(text))?;
            JobSearch::new(parent.project()).locations([parent.location()])
        }
        (None, Some(_), _) if global.region.is_some() => {
            return Err(CliError::usage(
                "give --region (one region) or --regions (several, or all), not both",
            ));
        }
        (None, Some(Regions::All), Some(project)) => JobSearch::new(project).all_locations(),
        (None, Some(Regions::Only(regions)), Some(project)) => {
            JobSearch::new(project).locations(regions.iter().cloned())
        }
        (None, None, Some(project)) if global.region.is_some() => {
            JobSearch::new(project).locations(global.region.iter().cloned())
        }
        _ => {
            return Err(CliError::usage(
                "say where: --parent projects/P/locations/L, or --project P with --region R, \
                 --regions R1,R2 or --regions all",
            ));
        }
    };
    Ok(search.kinds(kinds.iter().copied()).filter(filter))
}

/// What a search found, and the exit code its failed Lists imply.
#[derive(Debug)]
pub(crate) struct Found {
    /// The jobs, in the order found.
    pub(crate) jobs: Vec<LiveJob>,
    /// 0, or 1 / 4 (permission) when a List failed.
    pub(crate) exit: Exit,
}

/// Runs `search`, keeping at most `limit` jobs; each failed List is reported as it comes (a
/// JSON line on stdout with `--json`, a line on stderr otherwise), then the counts per region
/// and kind go to stderr.
///
/// # Errors
/// A search the library refuses (bad filter, project or region; nothing sent), output that
/// fails.
pub(crate) async fn find(
    client: &Client,
    search: &JobSearch,
    style: Style,
    limit: Option<usize>,
) -> Result<Found, CliError> {
    let findings = client.find_live_jobs(search)?;
    let mut findings = std::pin::pin!(findings);
    let mut found = Found {
        jobs: Vec::new(),
        exit: Exit::Success,
    };
    while found.jobs.len() < limit.unwrap_or(usize::MAX) {
        let Some(finding) = findings.next().await else {
            break;
        };
        match finding {
            Finding::Job(job) => found.jobs.push(*job),
            Finding::ListFailed(failure) => {
                found.exit = found.exit.max(failure_exit(&failure));
                report_failure(&failure, style)?;
            }
        }
    }
    for ((location, kind), n) in counts(&found.jobs) {
        style.note(&format!("{location} {kind}: {n} found"));
    }
    Ok(found)
}

/// 4 for a permission (or credential) failure, else 1.
fn failure_exit(failure: &ListFailure) -> Exit {
    if failure.error.is_auth() {
        Exit::Auth
    } else {
        Exit::Failed
    }
}

fn report_failure(failure: &ListFailure, style: Style) -> Result<(), CliError> {
    let kind = failure.kind.map(kind_word);
    if style.json {
        let error = ErrorView::of_error(&failure.error);
        return print_json(&json!({
            "location": failure.location,
            "kind": failure.kind.map(TargetKind::as_str),
            "error": error.json(),
        }));
    }
    let what = kind.map_or_else(|| "locations".to_owned(), |k| format!("{k} in"));
    eprintln!(
        "vertex-cancel: listing {what} {} failed: {}",
        failure.location,
        for_terminal(&error_chain(&failure.error), usize::MAX)
    );
    Ok(())
}

/// How many jobs were found per (location, kind).
pub(crate) fn counts(jobs: &[LiveJob]) -> BTreeMap<(String, &'static str), usize> {
    let mut counts = BTreeMap::new();
    for job in jobs {
        let key = (job.target.location().to_owned(), job.target.kind().as_str());
        *counts.entry(key).or_default() += 1;
    }
    counts
}
