//! `cancel_many`: many cancels at bounded concurrency, optionally confirmed, each target reported
//! exactly once.
//!
//! Two stages run as tasks joined by channels: the first cancels (`buffer_unordered`); the second
//! confirms the targets still in progress in polling rounds. Within a round, targets that share a
//! parent are confirmed with one filtered List (a page covers up to 100 of them) instead of one
//! Get each: Vertex AI counts Get and List against the same per-region quota of about 600 a
//! minute, so this is what lets a bulk cancel with confirmation fit in it.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt, stream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{Error, Result};
use crate::name::{Service, Target, TargetKind};
use crate::outcome::{Outcome, State, TargetStatus};
use crate::wire::google::cloud::aiplatform::v1 as aip;
use crate::wire::google::longrunning as lro;

use super::builder::Client;
use super::call::RegionLimiter;
use super::kinds::Page;
use super::targets::CancelAck;
use super::wait::{Wait, deadline_after, is_missed_poll};

/// Options of [`Client::cancel_many`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CancelMany {
    concurrency: usize,
    wait: Option<Wait>,
    rate_per_region: Option<NonZeroU32>,
    list_threshold: usize,
}

impl Default for CancelMany {
    fn default() -> Self {
        Self {
            concurrency: 64,
            wait: None,
            rate_per_region: None,
            list_threshold: 3,
        }
    }
}

impl CancelMany {
    /// At most this many RPCs in flight per stage (default 64).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Also wait for each outcome (default: report [`Outcome::Requested`] once cancel is accepted).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = Some(wait);
        self
    }

    /// Client-side limit on requests per second per (service, region), Get and List included.
    pub fn rate_per_region(mut self, rate: NonZeroU32) -> Self {
        self.rate_per_region = Some(rate);
        self
    }

    /// Confirm targets sharing a parent with List once at least this many are pending (default 3).
    pub fn list_threshold(mut self, targets: usize) -> Self {
        self.list_threshold = targets.max(1);
        self
    }
}

type Report = (Target, Result<Outcome>);

/// A target waiting for confirmation.
struct Pending {
    target: Target,
    deadline: Instant,
    last: Option<State>,
}

/// Targets confirmed together by one List: same kind, service and parent (for an operation, the
/// resource owning it, which is what ListOperations takes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    kind: TargetKind,
    service: Service,
    location: String,
    parent: String,
}

impl Group {
    fn of(target: &Target) -> Self {
        let parent = match target {
            Target::Operation(op) => op.owner().to_owned(),
            other => other.parent().to_string(),
        };
        Self {
            kind: target.kind(),
            service: target.service(),
            location: target.location().to_owned(),
            parent,
        }
    }
}

/// The pending targets, keyed by arrival so that a target given twice is reported twice.
type PendingSet = HashMap<u64, Pending>;

impl Client {
    /// Cancels every target of `targets` at bounded concurrency; each is reported exactly once
    /// (a target given twice, twice), in no promised order. Dropping the stream stops the work:
    /// no further cancel or poll is sent.
    pub fn cancel_many<S>(
        &self,
        targets: S,
        options: CancelMany,
    ) -> impl Stream<Item = Report> + Send + 'static
    where
        S: Stream<Item = Target> + Send + 'static,
    {
        let capacity = options.concurrency.saturating_mul(2).min(1 << 16);
        let (out, reports) = mpsc::channel(capacity);
        let limiter = options.rate_per_region.map(RegionLimiter::per_second);
        let confirm = options.wait.map(|wait| {
            let (tx, rx) = mpsc::channel(capacity);
            tokio::spawn(self.clone().confirm_stage(
                rx,
                out.clone(),
                options.clone(),
                wait,
                limiter.clone(),
            ));
            tx
        });
        tokio::spawn(
            self.clone()
                .cancel_stage(targets, out, confirm, options, limiter),
        );
        ReceiverStream::new(reports)
    }

    async fn cancel_stage<S>(
        self,
        targets: S,
        out: mpsc::Sender<Report>,
        confirm: Option<mpsc::Sender<Pending>>,
        options: CancelMany,
        limiter: Option<Arc<RegionLimiter>>,
    ) where
        S: Stream<Item = Target> + Send + 'static,
    {
        let budget = options.wait.map(|w| w.budget()).unwrap_or_default();
        let cancels = targets
            .map(|target| {
                let client = self.clone();
                let limiter = limiter.clone();
                async move {
                    let ack = client.cancel_ack(&target, limiter.as_deref()).await;
                    (target, ack)
                }
            })
            .buffer_unordered(options.concurrency);
        let mut cancels = std::pin::pin!(cancels);
        loop {
            let next = tokio::select! {
                biased;
                () = out.closed() => return, // the caller dropped the stream
                next = cancels.next() => next,
            };
            let Some((target, ack)) = next else { return };
            let sent = match (ack, &confirm) {
                (Ok(CancelAck::Started), Some(confirm)) => {
                    let deadline = deadline_after(budget);
                    let pending = Pending {
                        target,
                        deadline,
                        last: None,
                    };
                    confirm.send(pending).await.is_ok()
                }
                (ack, _) => out.send((target, report_ack(ack))).await.is_ok(),
            };
            if !sent {
                return;
            }
        }
    }

    async fn confirm_stage(
        self,
        mut incoming: mpsc::Receiver<Pending>,
        out: mpsc::Sender<Report>,
        options: CancelMany,
        wait: Wait,
        limiter: Option<Arc<RegionLimiter>>,
    ) {
        let mut pending = PendingSet::new();
        let mut get_only: HashSet<Group> = HashSet::new();
        let mut arrivals = 0_u64;
        let mut intervals = wait.intervals();
        let mut next_round = Instant::now();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                biased;
                () = out.closed() => return,
                received = incoming.recv(), if open => match received {
                    Some(p) => {
                        if pending.is_empty() {
                            intervals = wait.intervals();
                            next_round = deadline_after(intervals.next().unwrap_or_default());
                        }
                        arrivals += 1;
                        pending.insert(arrivals, p);
                    }
                    None => open = false,
                },
                () = tokio::time::sleep_until(next_round), if !pending.is_empty() => {
                    let round = Round { options: &options, limiter: limiter.as_ref(), wait: &wait };
                    let reports = self.confirm_round(&mut pending, &mut get_only, round).await;
                    for report in reports {
                        if out.send(report).await.is_err() {
                            return;
                        }
                    }
                    let earliest = pending.values().map(|p| p.deadline).min();
                    let scheduled = deadline_after(intervals.next().unwrap_or_default());
                    next_round = earliest.map_or(scheduled, |e| e.min(scheduled));
                }
            }
        }
    }

    /// One polling round over every pending target; returns the finished ones.
    async fn confirm_round(
        &self,
        pending: &mut PendingSet,
        get_only: &mut HashSet<Group>,
        round: Round<'_>,
    ) -> Vec<Report> {
        let mut groups: HashMap<Group, Vec<u64>> = HashMap::new();
        for (&key, p) in pending.iter() {
            groups.entry(Group::of(&p.target)).or_default().push(key);
        }
        let mut seen: Vec<(u64, std::result::Result<TargetStatus, Error>)> = Vec::new();
        let mut singles = Vec::new();
        for (group, keys) in groups {
            if keys.len() < round.options.list_threshold || get_only.contains(&group) {
                singles.extend(keys);
                continue;
            }
            match self.list_terminal(&group, round.limiter).await {
                // Matched by id: within a group only the id differs, and the server may spell
                // the project differently (its number for the id the caller gave).
                Ok(mut found) => seen.extend(keys.into_iter().filter_map(|key| {
                    found
                        .remove(pending[&key].target.id())
                        .map(|status| (key, Ok(status)))
                })),
                Err(error) if is_missed_poll(&error) => {
                    tracing::debug!(%error, "confirmation list missed");
                }
                Err(error) => {
                    // A List that cannot work (e.g. no list permission) is not tried again.
                    tracing::debug!(%error, "confirming this group by Get from now on");
                    get_only.insert(group);
                }
            }
        }
        let limiter = round.limiter.map(|l| &**l);
        let gets = stream::iter(singles)
            .map(|key| {
                let target = pending[&key].target.clone();
                async move { (key, self.get_with(&target, limiter).await) }
            })
            .buffer_unordered(round.options.concurrency)
            .collect::<Vec<_>>()
            .await;
        seen.extend(gets);

        let mut reports = Vec::new();
        for (key, status) in seen {
            let report = match status {
                Ok(status) if status.state.is_terminal() => Some(Ok(status.outcome())),
                Ok(status) => {
                    if let Some(p) = pending.get_mut(&key) {
                        p.last = Some(status.state);
                    }
                    None
                }
                Err(error) if is_missed_poll(&error) => None,
                Err(error) => Some(Err(error)),
            };
            if let Some(report) = report
                && let Some(p) = pending.remove(&key)
            {
                reports.push((p.target, report));
            }
        }
        let now = Instant::now();
        let expired: Vec<u64> = pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(&key, _)| key)
            .collect();
        for key in expired {
            let Some(p) = pending.remove(&key) else {
                continue;
            };
            let report = match p.last {
                Some(state) => Ok(Outcome::StillRunning { state }),
                None => Err(Error::WaitTimedOut {
                    target: p.target.to_string(),
                    waited: round.wait.budget(),
                    last_state: None,
                }),
            };
            reports.push((p.target, report));
        }
        reports
    }

    /// The terminal members of a group, by id, from one filtered List.
    async fn list_terminal(
        &self,
        group: &Group,
        limiter: Option<&Arc<RegionLimiter>>,
    ) -> Result<HashMap<String, TargetStatus>> {
        let limiter = limiter.cloned();
        let statuses = match group.kind {
            TargetKind::PipelineJob => {
                self.list_statuses::<aip::ListPipelineJobsRequest>(
                    group,
                    TERMINAL_PIPELINE_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::NasJob => {
                self.list_statuses::<aip::ListNasJobsRequest>(group, TERMINAL_JOB_FILTER, limiter)
                    .await?
            }
            TargetKind::Operation => {
                self.list_statuses::<lro::ListOperationsRequest>(group, "done=true", limiter)
                    .await?
            }
            TargetKind::CustomJob => {
                self.list_statuses::<aip::ListCustomJobsRequest>(
                    group,
                    TERMINAL_JOB_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::HyperparameterTuningJob => {
                self.list_statuses::<aip::ListHyperparameterTuningJobsRequest>(
                    group,
                    TERMINAL_JOB_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::BatchPredictionJob => {
                self.list_statuses::<aip::ListBatchPredictionJobsRequest>(
                    group,
                    TERMINAL_JOB_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::DataLabelingJob => {
                self.list_statuses::<aip::ListDataLabelingJobsRequest>(
                    group,
                    TERMINAL_JOB_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::TrainingPipeline => {
                self.list_statuses::<aip::ListTrainingPipelinesRequest>(
                    group,
                    TERMINAL_PIPELINE_FILTER,
                    limiter,
                )
                .await?
            }
            TargetKind::TuningJob => {
                self.list_statuses::<aip::ListTuningJobsRequest>(
                    group,
                    TERMINAL_JOB_FILTER,
                    limiter,
                )
                .await?
            }
        };
        Ok(statuses
            .into_iter()
            .map(|s| (last_segment(s.raw.name()).to_owned(), s))
            .collect())
    }

    async fn list_statuses<Req: Page>(
        &self,
        group: &Group,
        filter: &str,
        limiter: Option<Arc<RegionLimiter>>,
    ) -> Result<Vec<TargetStatus>>
    where
        TargetStatus: From<Req::Item>,
    {
        let first = Req::first(group.parent.clone(), filter.to_owned());
        self.list_from(group.service, &group.location, first, limiter)
            .map_ok(TargetStatus::from)
            .try_collect()
            .await
    }
}

/// What one confirmation round works with.
#[derive(Clone, Copy)]
struct Round<'a> {
    options: &'a CancelMany,
    limiter: Option<&'a Arc<RegionLimiter>>,
    wait: &'a Wait,
}

fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

const TERMINAL_PIPELINE_FILTER: &str = "state=\"PIPELINE_STATE_SUCCEEDED\" OR state=\"PIPELINE_STATE_FAILED\" OR state=\"PIPELINE_STATE_CANCELLED\"";
const TERMINAL_JOB_FILTER: &str = "state=\"JOB_STATE_SUCCEEDED\" OR state=\"JOB_STATE_FAILED\" OR state=\"JOB_STATE_CANCELLED\" OR state=\"JOB_STATE_EXPIRED\" OR state=\"JOB_STATE_PARTIALLY_SUCCEEDED\"";

/// What the cancel stage reports when it does not hand a target on for confirmation.
fn report_ack(ack: Result<CancelAck>) -> Result<Outcome> {
    match ack? {
        CancelAck::Started => Ok(Outcome::Requested),
        CancelAck::AlreadyTerminal {
            status: Some(status),
            ..
        } if status.state.is_terminal() => Ok(status.outcome()),
        CancelAck::AlreadyTerminal { rpc, status } => {
            Err(Error::already_finished(rpc, status.map(|s| s.state)))
        }
    }
}
