//! `cancel_many`: many cancels at bounded concurrency, optionally confirmed, each target reported
//! exactly once.
//!
//! Without a wait the cancels run inside the stream the caller polls (`buffer_unordered`, no
//! task, no channel): as lazy and as cheap as a hand loop over `cancel`. With a wait, two stages
//! run as tasks joined by channels: the first cancels; the second confirms the targets still in
//! progress in polling rounds. Within a round, targets that share a
//! parent may be confirmed with one List (a page covers up to 100 of them) instead of one Get
//! each: Vertex AI counts Get and List against the same per-region quota of about 600 a minute,
//! so this is what lets a bulk cancel with confirmation fit in it. A List is used only while it
//! costs fewer calls than the Gets it replaces, whatever history the location holds (see
//! `confirm_list`): a round never spends more than one call per pending target.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, Stream, StreamExt, stream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::Result;
use crate::name::{Service, Target, TargetKind};
use crate::outcome::{Outcome, State, TargetStatus};

use super::batch::{CancelRun, Sent, gather};
use super::call::RegionLimiter;
use super::confirm_list::{MemberList, can_list, updated_window, wall_time};
use super::handle::Client;
use super::targets::{Bounds, CancelAck, CancelProgress};
use super::wait::{Wait, deadline_after, is_missed_poll, no_answer};

/// With a wait, at most this many targets per unit of concurrency wait for confirmation at
/// once (64 x concurrency in all); while that many do, `cancel_many` reads no further input,
/// so its memory is bounded by the concurrency, not by the length of the input.
pub const PENDING_PER_SLOT: usize = 64;

/// Consecutive confirmation Lists of a group that may fail transiently (UNAVAILABLE, a
/// timeout, ...) before the group is confirmed by Get instead.
const MISSED_LISTS_BEFORE_GETS: u32 = 2;

/// A caller's stop signal, shared by both stages (fired once, seen by every clone).
#[derive(Clone)]
pub(super) struct StopSignal(Shared<BoxFuture<'static, ()>>);

impl StopSignal {
    /// Whether it has fired (as seen by a clone that was polled).
    pub(super) fn fired(&self) -> bool {
        self.0.peek().is_some()
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignal")
    }
}

/// Resolves when `stop` has fired; never without one.
pub(super) async fn stopped(stop: Option<&StopSignal>) {
    match stop {
        Some(stop) => stop.0.clone().await,
        None => std::future::pending().await,
    }
}

/// Options of [`Client::cancel_many`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CancelMany {
    pub(super) concurrency: usize,
    wait: Option<Wait>,
    rate_per_region: Option<NonZeroU32>,
    list_threshold: usize,
    pub(super) stop: Option<StopSignal>,
    pub(super) batch: bool,
}

impl Default for CancelMany {
    fn default() -> Self {
        Self {
            concurrency: 64,
            wait: None,
            rate_per_region: None,
            list_threshold: 3,
            stop: None,
            batch: true,
        }
    }
}

impl CancelMany {
    /// At most this many RPCs in flight per stage (default 64); a batch cancel counts as one,
    /// and so does each Get or single cancel that follows it. Clamped, not rejected: 0 is
    /// taken as 1, since a run with no slot would never send anything.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Also wait for each outcome (default: report [`Outcome::Requested`] once cancel is accepted).
    ///
    /// Each target's wait starts when its cancel is sent and ends within the budget plus
    /// [`WAIT_GRACE`](super::WAIT_GRACE); its cancel (and the read-back of a refused one) is
    /// retried while the budget lasts. See [`Wait`].
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
    /// Clamped, not rejected: 0 is taken as 1 (List even for a single pending target).
    ///
    /// Only where the List can be bounded to the targets' own recent changes, i.e. its filter
    /// documents `update_time` (pipeline jobs); other kinds are confirmed by Get, since their
    /// List would page through the location's whole history. Within a round a List reads no
    /// more items than targets are pending; the members it did not reach are read by Get.
    pub fn list_threshold(mut self, targets: usize) -> Self {
        self.list_threshold = targets.max(1);
        self
    }

    /// Whether pipeline jobs sharing a location are cancelled in batches of up to
    /// [`MAX_BATCH`](super::MAX_BATCH) with `BatchCancelPipelineJobs` (default `true`; see
    /// [`Client::cancel_many`]). Off, each gets its own `CancelPipelineJob`: one call, and one
    /// audit log entry, per job.
    pub fn batch(mut self, on: bool) -> Self {
        self.batch = on;
        self
    }

    /// Stops the run early when `signal` resolves (e.g. Ctrl-C: `tokio::signal::ctrl_c()`
    /// mapped to `()`).
    ///
    /// Once it fires: no further target is read from the input and no further cancel is sent;
    /// each cancel already sent is given at most one attempt timeout
    /// ([`ClientBuilder::attempt_timeout`](super::ClientBuilder::attempt_timeout)) more to be
    /// answered and is reported, [`Outcome::Requested`] if accepted (also a target that was
    /// waiting for confirmation: its cancel was accepted, its outcome is not known), else its
    /// error ([`Error::DeadlineExceeded`](crate::Error::DeadlineExceeded) if still unanswered,
    /// [`Error::AlreadyFinished`](crate::Error::AlreadyFinished) if refused and its state not
    /// read back by then); then the stream ends. Targets never read from the input are not
    /// reported, nor those read but not yet sent when it fired (pipeline jobs gathered for a
    /// batch, a cancel waiting for the rate limit or a token): no cancel was sent for them. A pipeline job
    /// of a batch accepted but not yet read back is `Requested`, even if the batch skipped it
    /// as already finished.
    pub fn stop_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.stop = Some(StopSignal(signal.boxed().shared()));
        self
    }

    fn max_pending(&self) -> usize {
        self.concurrency.saturating_mul(PENDING_PER_SLOT)
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

/// What the confirmation stage remembers about groups across rounds.
#[derive(Default)]
struct Groups {
    /// Confirmed by Get: their List cannot work, or kept failing.
    get_only: HashSet<Group>,
    /// Consecutive transiently failed Lists.
    misses: HashMap<Group, u32>,
    /// Confirmed by Get in the next round: their List did not pay for itself.
    resting: HashSet<Group>,
    /// Pending targets (by arrival) their group's window does not hold: confirmed by Get.
    outside: HashSet<u64>,
}

impl Groups {
    fn missed(&mut self, group: Group) {
        let misses = self.misses.entry(group.clone()).or_default();
        *misses += 1;
        if *misses >= MISSED_LISTS_BEFORE_GETS {
            tracing::debug!(?group, "confirmation lists keep failing: confirming by Get");
            self.get_only.insert(group);
        }
    }
}

impl Client {
    /// Cancels every target of `targets` at bounded concurrency; each is reported exactly once
    /// (a target given twice, twice, with the same true outcome), in no promised order.
    /// Dropping the stream stops the work: no further cancel or poll is sent. See
    /// [`CancelMany::stop_on`] to stop early and still hear about every cancel sent.
    ///
    /// Pipeline jobs that share a location go in batches of up to
    /// [`MAX_BATCH`](super::MAX_BATCH) (`BatchCancelPipelineJobs`, one request against the
    /// region's quota instead of 32), gathered for at most [`BATCH_LINGER`](super::BATCH_LINGER);
    /// a lone job gets `CancelPipelineJob`. Each job is still reported as its own cancel would
    /// have been: a batch that is refused, or whose operation fails, is sent again one job at a
    /// time (so an unknown name is [`Error::NotFound`](crate::Error::NotFound) and the others
    /// are cancelled); a job the batch skipped as already finished is reported as it finished.
    /// With a wait, confirmation reads every job; without, the batch's operation is read until
    /// done (at most 1 s) and the jobs it does not list as cancelled are read back, with one
    /// `ListPipelineJobs` naming them by id where the server answers it (one call where a Get
    /// each would cost up to 32), else by Get. A location whose server answers UNIMPLEMENTED gets no further batch in the run.
    /// [`CancelMany::batch`] turns batches off.
    pub fn cancel_many<S>(
        &self,
        targets: S,
        options: CancelMany,
    ) -> impl Stream<Item = Report> + Send + Unpin + 'static + use<S>
    where
        S: Stream<Item = Target> + Send + 'static,
    {
        let limiter = options.rate_per_region.map(RegionLimiter::per_second);
        let sent = self.sent(targets, &options, limiter.clone());
        let Some(wait) = options.wait else {
            // Nothing to confirm: the caller's own polling drives the cancels, with no task or
            // channel between them (as lazy and as cheap as a hand loop over `cancel`).
            return sent
                .boxed()
                .map(|sent| match sent {
                    Sent::Ack(target, _, ack) => (target, report_ack(ack)),
                    Sent::Report(target, report) => (target, report),
                })
                .left_stream();
        };
        let capacity = options.concurrency.saturating_mul(2).min(1 << 16);
        let (out, reports) = mpsc::channel(capacity);
        let (confirm, incoming) = mpsc::channel(capacity);
        let stage = self
            .clone()
            .confirm_stage(incoming, out.clone(), options, wait, limiter);
        tokio::spawn(stage);
        tokio::spawn(hand_on(sent, out, confirm));
        ReceiverStream::new(reports).right_stream()
    }

    /// What the cancels of a run sent, target by target, as the stream is polled.
    fn sent<S>(
        &self,
        targets: S,
        options: &CancelMany,
        limiter: Option<Arc<RegionLimiter>>,
    ) -> impl Stream<Item = Sent> + Send + 'static + use<S>
    where
        S: Stream<Item = Target> + Send + 'static,
    {
        let budget = options.wait.map(|w| w.budget());
        let input = match &options.stop {
            Some(stop) => targets.take_until(stop.0.clone()).left_stream(),
            None => targets.right_stream(),
        };
        let run = CancelRun::new(self.clone(), options, limiter, budget);
        // Each cancel's future holds the run, and through it the client: one shared count to
        // touch per target, not two.
        if !options.batch {
            // Every target is a unit of its own: no gathering, and no per-unit iterator to
            // flatten (each report would be moved through it).
            return input
                .map(move |target| {
                    let run = Arc::clone(&run);
                    async move { run.client.cancel_alone(target, &run).await }
                })
                .buffer_unordered(options.concurrency)
                .filter_map(std::future::ready)
                .left_stream();
        }
        gather(input, Arc::clone(&run))
            .map(move |unit| {
                let run = Arc::clone(&run);
                async move { run.client.cancel_unit(unit, &run).await }
            })
            .buffer_unordered(options.concurrency)
            .flat_map(stream::iter)
            .right_stream()
    }

    /// One target's cancel: within its wait's deadline when there is one.
    pub(super) async fn cancel_one(
        &self,
        target: &Target,
        limiter: Option<&RegionLimiter>,
        deadline: Option<Instant>,
        progress: &CancelProgress,
    ) -> Result<CancelAck> {
        match deadline {
            // Boxed: the wait's cancel (retries within a deadline, the read-back) makes a future
            // several times the size of a plain cancel's, and without a wait every one of the
            // run's futures in flight would be that size (cache misses, not instructions).
            Some(deadline) => {
                Box::pin(self.cancel_within(target, limiter, deadline, progress)).await
            }
            None => {
                let bounds = Bounds {
                    limiter,
                    deadline: None,
                };
                self.cancel_ack(target, bounds, progress).await
            }
        }
    }

    /// `call`'s answer, given at most one attempt timeout once `stop` has fired (`None`: none
    /// came by then). A call that had sent nothing (`sent` counts its attempts sent) when the
    /// signal fired is dropped at once: nothing is sent after a stop.
    pub(super) fn answered_after<'a, T: Send + 'a>(
        &'a self,
        call: impl Future<Output = T> + Send + 'a,
        stop: Option<&'a StopSignal>,
        sent: &'a AtomicU32,
    ) -> impl Future<Output = Option<T>> + Send + 'a {
        match stop {
            None => call.map(Some).left_future(),
            // Boxed: racing the signal keeps `call` and the race's own state, several times the
            // size of `call`; unboxed, every future a run has in flight would be that size,
            // signal or not.
            Some(stop) => self
                .answered_or_stopped(call, stop, sent)
                .boxed()
                .right_future(),
        }
    }

    async fn answered_or_stopped<T>(
        &self,
        call: impl Future<Output = T>,
        stop: &StopSignal,
        sent: &AtomicU32,
    ) -> Option<T> {
        let mut call = std::pin::pin!(call);
        tokio::select! {
            answer = &mut call => Some(answer),
            () = stopped(Some(stop)) => {
                if sent.load(Ordering::Relaxed) == 0 {
                    return None;
                }
                tokio::time::timeout(self.inner.attempt_timeout, call).await.ok()
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
        let mut groups = Groups::default();
        let mut arrivals = 0_u64;
        let mut intervals = wait.intervals();
        let mut next_round = Instant::now();
        let mut open = true;
        let mut halted = false;
        let max_pending = options.max_pending();
        let stop = options.stop.as_ref();
        while open || !pending.is_empty() {
            let room = halted || pending.len() < max_pending;
            tokio::select! {
                biased;
                () = out.closed() => return,
                () = stopped(stop), if !halted => {
                    // Accepted, outcome unknown: reported as such, in arrival order.
                    halted = true;
                    let mut accepted: Vec<(u64, Pending)> = pending.drain().collect();
                    accepted.sort_unstable_by_key(|(key, _)| *key);
                    for (_, p) in accepted {
                        if out.send((p.target, Ok(Outcome::Requested))).await.is_err() {
                            return;
                        }
                    }
                }
                received = incoming.recv(), if open && room => match received {
                    Some(p) if halted => {
                        if out.send((p.target, Ok(Outcome::Requested))).await.is_err() {
                            return;
                        }
                    }
                    Some(p) => {
                        if pending.is_empty() {
                            intervals = wait.intervals();
                            next_round = deadline_after(intervals.next().unwrap_or_default());
                        }
                        // No first poll is scheduled past a deadline.
                        next_round = next_round.min(p.deadline);
                        arrivals += 1;
                        pending.insert(arrivals, p);
                    }
                    None => open = false,
                },
                () = tokio::time::sleep_until(next_round), if !pending.is_empty() && !halted => {
                    let round = Round { options: &options, limiter: limiter.as_ref(), wait: &wait };
                    let reports = tokio::select! {
                        reports = self.confirm_round(&mut pending, &mut groups, round) => reports,
                        () = stopped(stop) => continue,
                    };
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

    /// One polling round over every pending target; returns the finished ones, and those whose
    /// wait ended. Nothing leaves `pending` before the round's last await, so a round dropped
    /// half-way (the run stopped) loses no target.
    async fn confirm_round(
        &self,
        pending: &mut PendingSet,
        groups: &mut Groups,
        round: Round<'_>,
    ) -> Vec<Report> {
        let seen = self.read_states(pending, groups, round).await;
        let mut finished = Vec::new();
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
            if let Some(report) = report {
                finished.push((key, report));
            }
        }
        let now = Instant::now();
        let done: HashSet<u64> = finished.iter().map(|(key, _)| *key).collect();
        let expired: Vec<(u64, Target, Option<State>)> = pending
            .iter()
            .filter(|(key, p)| p.deadline <= now && !done.contains(key))
            .map(|(&key, p)| (key, p.target.clone(), p.last))
            .collect();
        let limiter = round.limiter.map(|l| &**l);
        let waited = round.wait.budget();
        let ended: Vec<(u64, Result<Outcome>)> = stream::iter(expired)
            .map(|(key, target, last)| async move {
                (key, self.wait_ended(&target, last, limiter, waited).await)
            })
            .buffer_unordered(round.options.concurrency)
            .collect()
            .await;
        finished
            .into_iter()
            .chain(ended)
            .filter_map(|(key, report)| pending.remove(&key).map(|p| (p.target, report)))
            .collect()
    }

    /// The states one round reads: a bounded List per group big enough whose kind's List can
    /// be bounded, a Get for every other target, never more calls per group than one Get per
    /// pending member. Each read is cut at its target's (a List: its group's earliest)
    /// deadline. Targets whose deadline has come are left to their last read: a round landing
    /// on one target's deadline must not cut its group's List at once.
    async fn read_states(
        &self,
        pending: &PendingSet,
        groups: &mut Groups,
        round: Round<'_>,
    ) -> Vec<(u64, Result<TargetStatus>)> {
        let now = Instant::now();
        groups.outside.retain(|key| pending.contains_key(key));
        let resting = std::mem::take(&mut groups.resting);
        let mut by_group: HashMap<Group, Vec<u64>> = HashMap::new();
        let mut singles = Vec::new();
        for (&key, p) in pending.iter().filter(|(_, p)| p.deadline > now) {
            if groups.outside.contains(&key) {
                singles.push(key);
            } else {
                by_group.entry(Group::of(&p.target)).or_default().push(key);
            }
        }
        let mut seen = Vec::new();
        for (group, keys) in by_group {
            let listed = keys.len() >= round.options.list_threshold
                && can_list(group.kind)
                && !groups.get_only.contains(&group)
                && !resting.contains(&group);
            if listed {
                let gets = self.list_group(group, keys, pending, groups, round, &mut seen);
                singles.extend(gets.await);
            } else {
                singles.extend(keys);
            }
        }
        let limiter = round.limiter.map(|l| &**l);
        let gets = stream::iter(singles)
            .map(|key| {
                let p = &pending[&key];
                let (target, deadline) = (p.target.clone(), p.deadline);
                async move {
                    let bounds = Bounds {
                        limiter,
                        deadline: None,
                    };
                    let read = tokio::time::timeout_at(deadline, self.get_with(&target, bounds));
                    let started = Instant::now();
                    let status = read
                        .await
                        .unwrap_or_else(|_| Err(no_answer("read", &target, started.elapsed())));
                    (key, status)
                }
            })
            .buffer_unordered(round.options.concurrency)
            .collect::<Vec<_>>()
            .await;
        seen.extend(gets);
        seen
    }

    /// Reads one group's members with its bounded List into `seen`; returns the members to
    /// read by Get this round: those the List did not find, as many as the calls it left of
    /// the group's budget (one per member). A List that found fewer members than it cost
    /// pages rests the next round, so that the members it left unread are read by Get then.
    async fn list_group(
        &self,
        group: Group,
        keys: Vec<u64>,
        pending: &PendingSet,
        groups: &mut Groups,
        round: Round<'_>,
        seen: &mut Vec<(u64, Result<TargetStatus>)>,
    ) -> Vec<u64> {
        let budget = round.wait.budget();
        let members = || keys.iter().map(|key| &pending[key]);
        let deadline = members().map(|p| p.deadline).min();
        let sent = members()
            .map(|p| p.deadline.checked_sub(budget).and_then(wall_time))
            .collect::<Option<Vec<_>>>()
            .and_then(|sent| sent.into_iter().min());
        let (Some(deadline), Some(since)) = (deadline, sent) else {
            return keys;
        };
        let by_id: HashMap<&str, &Target> = members().map(|p| (p.target.id(), &p.target)).collect();
        let list = MemberList {
            kind: group.kind,
            service: group.service,
            location: &group.location,
            parent: &group.parent,
            filter: updated_window(since),
            members: &by_id,
            budget: keys.len(),
            limiter: round.limiter,
        };
        let listed = match tokio::time::timeout_at(deadline, self.list_members(list)).await {
            Ok(Ok(listed)) => listed,
            Ok(Err(error)) if is_missed_poll(&error) => {
                tracing::debug!(%error, "confirmation list missed");
                groups.missed(group);
                return Vec::new();
            }
            Err(_) => {
                groups.missed(group);
                return Vec::new();
            }
            Ok(Err(error)) => {
                // A List that cannot work (no list permission, a server paging without
                // end) is not tried again.
                tracing::debug!(%error, "confirming this group by Get from now on");
                groups.get_only.insert(group);
                return Vec::new();
            }
        };
        groups.misses.remove(&group);
        let gets_left = keys.len().saturating_sub(listed.pages);
        // Every pending occurrence of an id gets the status.
        let (found, mut unfound): (Vec<u64>, Vec<u64>) = keys
            .into_iter()
            .partition(|key| listed.found.contains_key(pending[key].target.id()));
        seen.extend(found.into_iter().map(|key| {
            let status = listed.found[pending[&key].target.id()].clone();
            (key, Ok(status))
        }));
        if listed.complete {
            // Outside the window (cancelled before it opened, or a clock far off): read by Get
            // from now on, so that the List can stop without seeking it.
            groups.outside.extend(unfound.iter().copied());
        }
        if unfound.len() > gets_left {
            tracing::debug!(?group, "confirmation list did not pay: Gets next round");
            groups.resting.insert(group);
            unfound.truncate(gets_left);
        }
        unfound
    }
}

/// What one confirmation round works with.
#[derive(Clone, Copy)]
struct Round<'a> {
    options: &'a CancelMany,
    limiter: Option<&'a Arc<RegionLimiter>>,
    wait: &'a Wait,
}

/// With a wait: each cancel started goes on to confirmation, any other answer is reported.
/// Ends when the cancels do, or once the caller dropped the stream.
async fn hand_on(
    sent: impl Stream<Item = Sent> + Send,
    out: mpsc::Sender<Report>,
    confirm: mpsc::Sender<Pending>,
) {
    let mut sent = std::pin::pin!(sent);
    loop {
        let next = tokio::select! {
            biased;
            () = out.closed() => return,
            next = sent.next() => next,
        };
        let delivered = match next {
            None => return,
            Some(Sent::Ack(target, Some(deadline), Ok(CancelAck::Started))) => {
                let pending = Pending {
                    target,
                    deadline,
                    last: None,
                };
                confirm.send(pending).await.is_ok()
            }
            Some(Sent::Ack(target, _, ack)) => out.send((target, report_ack(ack))).await.is_ok(),
            Some(Sent::Report(target, report)) => out.send((target, report)).await.is_ok(),
        };
        if !delivered {
            return;
        }
    }
}

/// What the cancel stage reports when it does not hand a target on for confirmation.
fn report_ack(ack: Result<CancelAck>) -> Result<Outcome> {
    ack?.into_finished().unwrap_or(Ok(Outcome::Requested))
}
