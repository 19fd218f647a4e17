//! The cancel stage of `cancel_many`: what it sends, one cancel or one batch at a time.
//!
//! `PipelineService.BatchCancelPipelineJobs` cancels up to [`MAX_BATCH`] pipeline jobs of one
//! location in one request: against Vertex AI's per-region quota of about 600 requests a minute,
//! up to 32 times cheaper than a CancelPipelineJob each. [`gather`] holds pipeline jobs back for
//! at most [`BATCH_LINGER`] to group them by parent; every other target goes at once.
//!
//! Each job of a batch comes out as a single cancel would have: its [`CancelAck`], or its report.
//! The batch answers with a long-running operation which, as Google documents it, skips jobs
//! already finished and, if it fails, cancels none. So a batch that is refused, or whose
//! operation failed, is sent again as single cancels, each job getting its own answer
//! (NOT_FOUND, already finished ...). An accepted batch with a wait hands every job to
//! confirmation, which reads each one's true state (a job the batch skipped reads terminal:
//! that is its outcome; were the operation to fail only after answering, its jobs would read
//! as still running, and be reported so). Without a wait the operation is read until done, for at
//! most [`OPERATION_SETTLE`] (1 s): the jobs it lists as cancelled are `Requested`, any other is
//! read back and reported as it is, all of them with one `ListPipelineJobs` naming them by id
//! (`pipeline_job_user_id`) where the server answers it, the rest by Get.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::stream::{self, BoxStream, Fuse};
use futures::{Stream, StreamExt};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::name::{LocationName, OperationName, Service, Target, TargetKind};
use crate::outcome::Outcome;
use crate::outcome::TargetStatus;
use crate::wire::google::cloud::aiplatform::v1 as aip;
use crate::wire::google::longrunning as lro;
use aip::pipeline_service_client::PipelineServiceClient;

use super::bulk::{CancelMany, StopSignal, stopped};
use super::call::not_sent;
use super::call::{CallSite, RegionLimiter};
use super::confirm_list::MemberList;
use super::filter::pipeline_job_ids;
use super::handle::Client;
use super::kinds::{BATCH_CANCEL_PIPELINE_JOBS, Operations};
use super::targets::{Bounds, CancelAck, CancelProgress};
use super::wait::{cut_at, cut_short, deadline_after, is_missed_poll, no_answer};

/// The most pipeline jobs one BatchCancelPipelineJobs may name (its `names` field says so).
pub const MAX_BATCH: usize = 32;

/// How long a pipeline job waits for others of its location to share its batch: short enough
/// that a trickling input is not held up, long enough for a burst to fill batches.
pub const BATCH_LINGER: Duration = Duration::from_millis(5);

/// The most pipeline jobs held back at once (over all locations); past it the fullest group
/// goes, so that an input spread over many locations does not grow the stage's memory.
const MAX_GATHERED: usize = 2 * MAX_BATCH;

/// How long a batch's operation is read (without a wait) for it to finish. Google's finishes
/// only once every job it cancels has reached its outcome, minutes for a running pipeline: past
/// this the jobs are read one by one instead of holding the run up for an attempt timeout.
const OPERATION_SETTLE: Duration = Duration::from_secs(1);

/// Reading a batch's operation: the first delay, growing fourfold (25, 100, 400 ms, ...).
const OPERATION_POLL_FIRST: Duration = Duration::from_millis(25);
const OPERATION_POLL_GROWTH: u32 = 4;

/// What the cancel stage sends next.
pub(super) enum Unit {
    /// One target, cancelled alone.
    One(Target),
    /// Pipeline jobs under one parent, 2 to [`MAX_BATCH`] of them.
    Batch {
        parent: LocationName,
        jobs: Vec<Target>,
    },
}

/// A target once its cancel has been sent.
pub(super) enum Sent {
    /// Its cancel's answer and its wait's deadline: reported, or handed to confirmation.
    Ack(Target, Option<Instant>, Result<CancelAck>),
    /// Its report, already known (a job a batch left terminal).
    Report(Target, Result<Outcome>),
}

/// What one unit sent, target by target.
pub(super) type UnitSent = std::iter::Chain<std::option::IntoIter<Sent>, std::vec::IntoIter<Sent>>;

/// What every cancel of one `cancel_many` run shares.
pub(super) struct CancelRun {
    pub(super) client: Client,
    limiter: Option<Arc<RegionLimiter>>,
    stop: Option<StopSignal>,
    /// The wait's budget (with a wait), from when a target's cancel is sent.
    budget: Option<Duration>,
    /// The stage's RPCs in flight: a batch is one, the Gets and single cancels that follow it
    /// one each.
    permits: Semaphore,
    /// Whether pipeline jobs go in batches at all ([`CancelMany::batch`](super::CancelMany::batch)).
    batch: bool,
    /// Locations whose server does not offer batches (UNIMPLEMENTED): their jobs go singly.
    unbatched: Mutex<HashSet<String>>,
    /// Locations whose batched jobs are read back by Get only (see `list_back`).
    unlisted: Mutex<HashSet<String>>,
}

impl CancelRun {
    pub(super) fn new(
        client: Client,
        options: &CancelMany,
        limiter: Option<Arc<RegionLimiter>>,
        budget: Option<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            client,
            batch: options.batch,
            limiter,
            stop: options.stop.clone(),
            budget,
            permits: Semaphore::new(options.concurrency.clamp(1, Semaphore::MAX_PERMITS)),
            unbatched: Mutex::default(),
            unlisted: Mutex::default(),
        })
    }

    fn is_stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(StopSignal::fired)
    }

    /// A slot for one RPC (`Some(None)` when slots are not counted); `None` once the run
    /// stopped (nothing more is sent then). Without batches every RPC is a unit of its own,
    /// which the stage's `buffer_unordered` already bounds: no semaphore to pass.
    async fn permit(&self) -> Option<Option<SemaphorePermit<'_>>> {
        let permit = if self.batch {
            Some(self.permits.acquire().await.ok()?)
        } else {
            None
        };
        (!self.is_stopped()).then_some(permit)
    }

    fn limiter(&self) -> Option<&RegionLimiter> {
        self.limiter.as_deref()
    }

    fn deadline(&self) -> Option<Instant> {
        self.budget.map(deadline_after)
    }

    fn batches_in(&self, location: &str) -> bool {
        self.batch && !self.unbatched().contains(location)
    }

    fn unbatched(&self) -> MutexGuard<'_, HashSet<String>> {
        locked(&self.unbatched)
    }

    fn lists_in(&self, location: &str) -> bool {
        !self.unlisted().contains(location)
    }

    fn unlisted(&self) -> MutexGuard<'_, HashSet<String>> {
        locked(&self.unlisted)
    }
}

fn locked<T>(set: &Mutex<T>) -> MutexGuard<'_, T> {
    set.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The units `input` makes: pipeline jobs grouped by parent, until [`MAX_BATCH`] are gathered
/// or [`BATCH_LINGER`] has passed since the first, or the input ends; anything else at once.
/// Jobs still gathered when the run stops are never sent (nor reported).
pub(super) fn gather<S>(input: S, run: Arc<CancelRun>) -> impl Stream<Item = Unit> + Send + 'static
where
    S: Stream<Item = Target> + Send + 'static,
{
    let gatherer = Gatherer {
        input: input.boxed().fuse(),
        run,
        groups: HashMap::new(),
        gathered: 0,
        ready: VecDeque::new(),
        flush_at: None,
    };
    stream::unfold(gatherer, |mut gatherer| async move {
        let unit = gatherer.next_unit().await?;
        Some((unit, gatherer))
    })
}

struct Gatherer {
    input: Fuse<BoxStream<'static, Target>>,
    run: Arc<CancelRun>,
    groups: HashMap<LocationName, Vec<Target>>,
    gathered: usize,
    ready: VecDeque<Unit>,
    /// When the jobs gathered go, full or not.
    flush_at: Option<Instant>,
}

impl Gatherer {
    async fn next_unit(&mut self) -> Option<Unit> {
        loop {
            if let Some(unit) = self.ready.pop_front() {
                return Some(unit);
            }
            let next = match self.flush_at {
                None => self.input.next().await,
                Some(at) => match tokio::time::timeout_at(at, self.input.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.flush_all();
                        continue;
                    }
                },
            };
            match next {
                Some(target) => {
                    if let Some(unit) = self.take(target) {
                        return Some(unit);
                    }
                }
                None if self.gathered == 0 || self.run.is_stopped() => return None,
                None => self.flush_all(),
            }
        }
    }

    /// Gathers a pipeline job (making a full group ready); anything else is a unit of its own.
    fn take(&mut self, target: Target) -> Option<Unit> {
        let Target::PipelineJob(job) = &target else {
            return Some(Unit::One(target));
        };
        let parent = job.parent();
        if !self.run.batches_in(parent.location()) {
            return Some(Unit::One(target));
        }
        let group = self.groups.entry(parent.clone()).or_default();
        // A name twice in one request is not what Google documents: the second goes alone.
        if group.contains(&target) {
            return Some(Unit::One(target));
        }
        group.push(target);
        let full = group.len() >= MAX_BATCH;
        self.gathered += 1;
        self.flush_at
            .get_or_insert_with(|| deadline_after(BATCH_LINGER));
        if full {
            self.flush(&parent);
        } else if self.gathered >= MAX_GATHERED {
            let fullest = self.groups.iter().max_by_key(|(_, jobs)| jobs.len());
            if let Some(fullest) = fullest.map(|(parent, _)| parent.clone()) {
                self.flush(&fullest);
            }
        }
        None
    }

    fn flush(&mut self, parent: &LocationName) {
        if let Some((parent, jobs)) = self.groups.remove_entry(parent) {
            self.gathered -= jobs.len();
            self.ready.push_back(unit_of(parent, jobs));
        }
        if self.gathered == 0 {
            self.flush_at = None;
        }
    }

    fn flush_all(&mut self) {
        let groups = std::mem::take(&mut self.groups);
        self.ready.extend(
            groups
                .into_iter()
                .map(|(parent, jobs)| unit_of(parent, jobs)),
        );
        self.gathered = 0;
        self.flush_at = None;
    }
}

/// A lone job needs no batch: CancelPipelineJob answers for it directly.
fn unit_of(parent: LocationName, mut jobs: Vec<Target>) -> Unit {
    match jobs.len() {
        1 => Unit::One(jobs.remove(0)),
        _ => Unit::Batch { parent, jobs },
    }
}

/// What a batch's operation tells.
enum Verdict {
    /// It failed: no job was cancelled.
    Failed(Error),
    /// It is done: the jobs named were cancelled, any other was skipped.
    Cancelled(Vec<Target>),
    /// Not done (or not readable): which jobs it skipped is not known.
    Unknown,
}

impl Verdict {
    fn of(operation: &lro::Operation) -> Self {
        use lro::operation::Result as Done;
        match &operation.result {
            _ if !operation.done => Self::Unknown,
            Some(Done::Error(status)) => Self::Failed(Error::from(tonic::Status::new(
                tonic::Code::from(status.code),
                status.message.clone(),
            ))),
            Some(Done::Response(any)) => any
                .to_msg::<aip::BatchCancelPipelineJobsResponse>()
                .map_or(Self::Unknown, |response| {
                    let named = response.pipeline_jobs.iter();
                    Self::Cancelled(named.filter_map(|job| job.name.parse().ok()).collect())
                }),
            None => Self::Unknown,
        }
    }
}

/// A batched job as a read told it: terminal, its report; otherwise its cancel is under way.
fn read_as(job: Target, status: TargetStatus, deadline: Option<Instant>) -> Sent {
    if status.state.is_terminal() {
        Sent::Report(job, Ok(status.outcome()))
    } else {
        Sent::Ack(job, deadline, Ok(CancelAck::Started))
    }
}

/// The batch's error again, for each job it leaves without a cancel of its own.
fn copy_of(error: &Error) -> Error {
    match error.rpc() {
        Some(rpc) => Error::from(rpc.status().clone()),
        None => Error::from(tonic::Status::unknown(error.to_string())),
    }
}

impl Client {
    /// Sends one unit; every target it holds comes out once, except those the run stopped
    /// before sending.
    pub(super) async fn cancel_unit(&self, unit: Unit, run: &CancelRun) -> UnitSent {
        // A single cancel's answer comes out without a `Vec` (an empty one does not allocate).
        // A batch's state is boxed: it is several KiB, and every future of the run in flight
        // would be that size (and copied at each move), single cancels too.
        match unit {
            Unit::One(target) => self
                .cancel_alone(target, run)
                .await
                .into_iter()
                .chain(Vec::new()),
            Unit::Batch { parent, jobs } => {
                let sent = Box::pin(self.cancel_batch(&parent, jobs, run)).await;
                None.into_iter().chain(sent)
            }
        }
    }

    /// One target cancelled alone: what it sent, `None` if the run stopped before.
    pub(super) async fn cancel_alone(&self, target: Target, run: &CancelRun) -> Option<Sent> {
        self.cancel_single(target, run.deadline(), run).await.ok()
    }

    /// One target's own cancel; the target back if the run stopped before it was sent.
    async fn cancel_single(
        &self,
        target: Target,
        deadline: Option<Instant>,
        run: &CancelRun,
    ) -> std::result::Result<Sent, Target> {
        let Some(_permit) = run.permit().await else {
            return Err(target);
        };
        let progress = CancelProgress::default();
        let ack = self.cancel_one(&target, run.limiter(), deadline, &progress);
        let answered = self.answered_after(ack, run.stop.as_ref(), &progress.sent);
        let ack = match answered.await {
            Some(ack) => ack,
            // Stopped, and unanswered within the grace: told by what it had done.
            None => match cut_short(&progress, &target, self.inner.attempt_timeout) {
                Some(told) => told,
                None => return Err(target),
            },
        };
        Ok(Sent::Ack(target, deadline, ack))
    }

    async fn cancel_batch(
        &self,
        parent: &LocationName,
        jobs: Vec<Target>,
        run: &CancelRun,
    ) -> Vec<Sent> {
        let deadline = run.deadline();
        let started = Instant::now();
        let sent = AtomicU32::new(0);
        let answer = {
            let Some(_permit) = run.permit().await else {
                return Vec::new();
            };
            let call = cut_at(
                deadline,
                self.send_batch(parent, &jobs, run, deadline, &sent),
            );
            self.answered_after(call, run.stop.as_ref(), &sent)
                .await
                .flatten()
        };
        let operation = match answer {
            Some(Ok(operation)) => operation,
            Some(Err(refused)) => {
                return self.one_by_one(parent, jobs, deadline, refused, run).await;
            }
            // Never sent: the run stopped first (not reported), or the wait's deadline came.
            None if sent.load(Ordering::Relaxed) == 0 && run.is_stopped() => return Vec::new(),
            None => {
                let waited = started.elapsed();
                let never_sent = sent.load(Ordering::Relaxed) == 0;
                return (jobs.into_iter())
                    .map(|job| {
                        let unanswered = if never_sent {
                            not_sent(&job, waited)
                        } else {
                            no_answer("cancel", &job, waited)
                        };
                        Sent::Ack(job, deadline, Err(unanswered))
                    })
                    .collect();
            }
        };
        let operation = self.settle(operation, parent, run).await;
        let requested = |job| Sent::Ack(job, deadline, Ok(CancelAck::Started));
        match Verdict::of(&operation) {
            Verdict::Failed(error) => self.one_by_one(parent, jobs, deadline, error, run).await,
            // Confirmation reads every job, the skipped ones included.
            _ if run.budget.is_some() => jobs.into_iter().map(requested).collect(),
            Verdict::Cancelled(named) => {
                let (cancelled, skipped) = (jobs.into_iter())
                    .partition::<Vec<_>, _>(|job| named.iter().any(|n| job.is_named_by(n)));
                let mut sent: Vec<Sent> = cancelled.into_iter().map(requested).collect();
                sent.extend(self.read_back(parent, skipped, deadline, run).await);
                sent
            }
            Verdict::Unknown => self.read_back(parent, jobs, deadline, run).await,
        }
    }

    async fn send_batch(
        &self,
        parent: &LocationName,
        jobs: &[Target],
        run: &CancelRun,
        deadline: Option<Instant>,
        sent: &AtomicU32,
    ) -> Result<lro::Operation> {
        let request = aip::BatchCancelPipelineJobsRequest {
            parent: parent.to_string(),
            names: jobs
                .iter()
                .map(|job| job.relative_name().to_owned())
                .collect(),
        };
        let site = CallSite {
            service: Service::VertexAi,
            location: parent.location(),
            param: "parent",
            resource: parent.relative_name(),
            limiter: run.limiter(),
            deadline,
        };
        self.call(
            &BATCH_CANCEL_PIPELINE_JOBS,
            site,
            request,
            Some(sent),
            |channel, request| async move {
                let mut stub = PipelineServiceClient::new(channel);
                stub.batch_cancel_pipeline_jobs(request).await
            },
        )
        .await
    }

    /// Without a wait: `operation` read again until done, for at most [`OPERATION_SETTLE`] (or
    /// until the run stops). With a wait, or when the server names an operation of another
    /// location (not followed), it is returned as it is.
    async fn settle(
        &self,
        operation: lro::Operation,
        parent: &LocationName,
        run: &CancelRun,
    ) -> lro::Operation {
        let name = OperationName::vertex_ai(&operation.name)
            .ok()
            .filter(|name| name.location() == parent.location());
        let Some(name) = name.filter(|_| !operation.done && run.budget.is_none()) else {
            return operation;
        };
        let target = Target::from(name);
        let until = deadline_after(OPERATION_SETTLE.min(self.inner.attempt_timeout));
        let mut latest = operation;
        let mut interval = OPERATION_POLL_FIRST;
        while !latest.done {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(interval.min(left)) => {}
                () = stopped(run.stop.as_ref()) => break,
            }
            let Some(_permit) = run.permit().await else {
                break;
            };
            let bounds = Bounds {
                limiter: run.limiter(),
                deadline: Some(until),
            };
            match self.get_kind::<Operations>(&target, bounds).await {
                Ok(operation) => latest = operation,
                Err(error) if is_missed_poll(&error) => {}
                Err(error) => {
                    tracing::debug!(%error, "the batch's operation cannot be read");
                    break;
                }
            }
            interval *= OPERATION_POLL_GROWTH;
        }
        latest
    }

    /// Jobs of an accepted batch whose fate the operation does not tell, read back: a
    /// terminal one is reported as it is (skipped, or already through its cancel), any other,
    /// or one whose read fails, is cancel requested. First with one List naming them by id
    /// ([`list_back`](Self::list_back)), then by Get for those it did not list; each read gets
    /// one attempt timeout, retries included. Once the run stopped nothing more is read: each
    /// is cancel requested, as its batch was accepted.
    async fn read_back(
        &self,
        parent: &LocationName,
        jobs: Vec<Target>,
        deadline: Option<Instant>,
        run: &CancelRun,
    ) -> Vec<Sent> {
        let (mut sent, unlisted) = self.list_back(parent, jobs, deadline, run).await;
        let gets = stream::iter(unlisted)
            .map(|job| async move {
                let Some(_permit) = run.permit().await else {
                    return Sent::Ack(job, deadline, Ok(CancelAck::Started));
                };
                let bounds = Bounds {
                    limiter: run.limiter(),
                    deadline: Some(deadline_after(self.inner.attempt_timeout)),
                };
                match self.get_with(&job, bounds).await {
                    Ok(status) => read_as(job, status, deadline),
                    // Its batch was accepted: a read that fails leaves it cancel requested,
                    // not failed (the cancel was not refused; only its state is unknown).
                    Err(error) => {
                        tracing::debug!(%error, %job, "a batched job's state cannot be read");
                        Sent::Ack(job, deadline, Ok(CancelAck::Started))
                    }
                }
            })
            .buffer_unordered(MAX_BATCH);
        sent.extend(gets.collect::<Vec<_>>().await);
        sent
    }

    /// Reads back the jobs of an accepted batch with one `ListPipelineJobs` naming them by id
    /// (`pipeline_job_user_id`, read mask and page sized to the batch): one call for up to 32
    /// jobs where a Get each would cost 32. Returns what it read and the jobs it did not list,
    /// which are read by Get. A location whose server refuses the filter, or lists fewer than
    /// half of the jobs (ids it did not create them with), gets no such List again in the run,
    /// so the List costs at most one call more than the Gets, once per location.
    async fn list_back(
        &self,
        parent: &LocationName,
        jobs: Vec<Target>,
        deadline: Option<Instant>,
        run: &CancelRun,
    ) -> (Vec<Sent>, Vec<Target>) {
        let location = parent.location();
        let ids: Vec<&str> = jobs.iter().map(Target::id).collect();
        let filter = pipeline_job_ids(&ids).filter(|_| jobs.len() > 1 && run.lists_in(location));
        let Some(filter) = filter else {
            return (Vec::new(), jobs);
        };
        let listed = {
            let Some(_permit) = run.permit().await else {
                return (Vec::new(), jobs);
            };
            let members: HashMap<&str, &Target> = jobs.iter().map(|j| (j.id(), j)).collect();
            let list = MemberList {
                kind: TargetKind::PipelineJob,
                service: Service::VertexAi,
                location,
                parent: &parent.to_string(),
                filter,
                members: &members,
                budget: jobs.len(),
                limiter: run.limiter.as_ref(),
            };
            let list = self.list_members(list);
            tokio::time::timeout(self.inner.attempt_timeout, list).await
        };
        let mut found = match listed {
            Ok(Ok(listed)) => listed.found,
            failed => {
                tracing::debug!(?failed, %parent, "batched jobs cannot be listed by id: Gets");
                run.unlisted().insert(location.to_owned());
                return (Vec::new(), jobs);
            }
        };
        if found.len() * 2 < jobs.len() {
            tracing::debug!(%parent, "a List by id found few batched jobs: Gets from now on");
            run.unlisted().insert(location.to_owned());
        }
        let (listed, unlisted): (Vec<Target>, Vec<Target>) =
            (jobs.into_iter()).partition(|job| found.contains_key(job.id()));
        let sent = (listed.into_iter())
            .filter_map(|job| {
                let status = found.remove(job.id())?;
                Some(read_as(job, status, deadline))
            })
            .collect();
        (sent, unlisted)
    }

    /// A batch refused, or whose operation failed (`error`): each job cancelled alone, so each
    /// gets its own answer. Once the run stopped or the deadline passed, no cancel is sent
    /// again: each job is reported with the batch's error.
    async fn one_by_one(
        &self,
        parent: &LocationName,
        jobs: Vec<Target>,
        deadline: Option<Instant>,
        error: Error,
        run: &CancelRun,
    ) -> Vec<Sent> {
        tracing::debug!(%error, %parent, "batch cancel refused: cancelling one by one");
        if error.code() == Some(tonic::Code::Unimplemented) {
            run.unbatched().insert(parent.location().to_owned());
        }
        let late = deadline.is_some_and(|deadline| deadline <= Instant::now());
        let error = &error;
        stream::iter(jobs)
            .map(|job| async move {
                let unsent = if late {
                    job
                } else {
                    match self.cancel_single(job, deadline, run).await {
                        Ok(sent) => return sent,
                        Err(job) => job,
                    }
                };
                Sent::Ack(unsent, deadline, Err(copy_of(error)))
            })
            .buffer_unordered(MAX_BATCH)
            .collect()
            .await
    }
}
