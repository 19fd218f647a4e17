//! `cancel_many`: many cancels at bounded concurrency, optionally confirmed, each target reported
//! exactly once.
//!
//! Two stages run as tasks joined by channels: the first cancels (`buffer_unordered`); the second
//! confirms the targets still in progress in polling rounds. Within a round, targets that share a
//! parent are confirmed with one filtered List (a page covers up to 100 of them) instead of one
//! Get each: Vertex AI counts Get and List against the same per-region quota of about 600 a
//! minute, so this is what lets a bulk cancel with confirmation fit in it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use futures::{Stream, StreamExt, TryStreamExt, stream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{Error, Result};
use crate::name::{LocationName, Service, Target, TargetKind};
use crate::outcome::{Outcome, State, TargetStatus};
use crate::proto::google::cloud::aiplatform::v1 as aip;
use crate::proto::google::longrunning as lro;

use super::builder::Client;
use super::call::RegionLimiter;
use super::kinds::Page;
use super::targets::CancelAck;
use super::wait::{Wait, is_missed_poll};

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

/// Targets confirmed together by one List: same kind, service and parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Group {
    kind: TargetKind,
    service: Service,
    parent: LocationName,
}

impl Client {
    /// Cancels every target of `targets` at bounded concurrency; each is reported exactly once,
    /// in no promised order. Dropping the stream stops the work.
    pub fn cancel_many<S>(
        &self,
        targets: S,
        options: CancelMany,
    ) -> impl Stream<Item = Report> + Send + 'static
    where
        S: Stream<Item = Target> + Send + 'static,
    {
        let capacity = options.concurrency * 2;
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
        while let Some((target, ack)) = cancels.next().await {
            let sent = match (ack, &confirm) {
                (Ok(CancelAck::Started), Some(confirm)) => {
                    let pending = Pending {
                        target,
                        deadline: Instant::now() + budget,
                        last: None,
                    };
                    confirm.send(pending).await.is_ok()
                }
                (ack, _) => out.send((target, report_ack(ack))).await.is_ok(),
            };
            if !sent {
                return; // the caller dropped the stream
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
        let mut pending: HashMap<Target, Pending> = HashMap::new();
        let mut intervals = wait.intervals();
        let mut next_round = Instant::now();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                received = incoming.recv(), if open => match received {
                    Some(p) => {
                        if pending.is_empty() {
                            intervals = wait.intervals();
                            next_round = Instant::now() + intervals.next().unwrap_or_default();
                        }
                        pending.insert(p.target.clone(), p);
                    }
                    None => open = false,
                },
                () = tokio::time::sleep_until(next_round), if !pending.is_empty() => {
                    let reports = self.confirm_round(&mut pending, &options, limiter.as_ref()).await;
                    for report in reports {
                        if out.send(report).await.is_err() {
                            return;
                        }
                    }
                    next_round = Instant::now() + intervals.next().unwrap_or_default();
                }
            }
        }
    }

    /// One polling round over every pending target; returns the finished ones.
    async fn confirm_round(
        &self,
        pending: &mut HashMap<Target, Pending>,
        options: &CancelMany,
        limiter: Option<&Arc<RegionLimiter>>,
    ) -> Vec<Report> {
        let mut groups: HashMap<Group, Vec<Target>> = HashMap::new();
        for target in pending.keys() {
            let group = Group {
                kind: target.kind(),
                service: target.service(),
                parent: target.parent(),
            };
            groups.entry(group).or_default().push(target.clone());
        }
        let mut seen: Vec<(Target, std::result::Result<TargetStatus, Error>)> = Vec::new();
        let mut singles = Vec::new();
        for (group, targets) in groups {
            if targets.len() < options.list_threshold {
                singles.extend(targets);
                continue;
            }
            match self.list_terminal(&group, limiter).await {
                Ok(mut found) => seen.extend(targets.into_iter().filter_map(|t| {
                    found
                        .remove(t.relative_name())
                        .map(|status| (t, Ok(status)))
                })),
                // A failed List only costs this round for the group.
                Err(error) => tracing::debug!(%error, "confirmation list missed"),
            }
        }
        let gets = stream::iter(singles)
            .map(|target| async move {
                let status = self.get_with(&target, limiter.map(|l| &**l)).await;
                (target, status)
            })
            .buffer_unordered(options.concurrency)
            .collect::<Vec<_>>()
            .await;
        seen.extend(gets);

        let mut reports = Vec::new();
        for (target, status) in seen {
            let report = match status {
                Ok(status) if status.state.is_terminal() => Some(Ok(status.outcome())),
                Ok(status) => {
                    if let Some(p) = pending.get_mut(&target) {
                        p.last = Some(status.state);
                    }
                    None
                }
                Err(error) if is_missed_poll(&error) => None,
                Err(error) => Some(Err(error)),
            };
            if let Some(report) = report {
                pending.remove(&target);
                reports.push((target, report));
            }
        }
        let now = Instant::now();
        let expired: Vec<Target> = pending
            .values()
            .filter(|p| p.deadline <= now)
            .map(|p| p.target.clone())
            .collect();
        for target in expired {
            let Some(p) = pending.remove(&target) else {
                continue;
            };
            let state = p.last.unwrap_or(State::Cancelling);
            reports.push((target, Ok(Outcome::StillRunning { state })));
        }
        reports
    }

    /// The terminal members of a group, by resource name, from one filtered List.
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
        };
        Ok(statuses
            .into_iter()
            .map(|s| (s.raw.name().to_owned(), s))
            .collect())
    }
}

impl Client {
    async fn list_statuses<Req: Page>(
        &self,
        group: &Group,
        filter: &str,
        limiter: Option<Arc<RegionLimiter>>,
    ) -> Result<Vec<TargetStatus>>
    where
        TargetStatus: From<Req::Item>,
    {
        self.list::<Req>(group.service, &group.parent, Some(filter), limiter)
            .map_ok(TargetStatus::from)
            .try_collect()
            .await
    }
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
