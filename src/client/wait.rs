//! Learning what a cancel led to: poll Get with backoff until the target is terminal or the wait
//! budget is spent.
//!
//! A poll that fails transiently (UNAVAILABLE, RESOURCE_EXHAUSTED, a timeout) is a missed poll,
//! not a failed target: polling goes on until the budget is spent. A permanent answer
//! (NOT_FOUND, PERMISSION_DENIED, ...) ends the wait with that error.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::{Stream, stream};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::name::Target;
use crate::outcome::{Outcome, State, TargetStatus};

use super::call::{RegionLimiter, not_sent};
use super::handle::Client;
use super::targets::{Bounds, CancelAck, CancelProgress};

/// The shortest delay between two polls of one target.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long past its budget a wait may end: the time allowed for one last read (a Get) of a
/// target whose state no poll has seen, so that it is reported as it is rather than as an
/// error. The cancel's retries and each poll stop at the budget itself (a cancel stuck where
/// retries cannot see it, e.g. queued by a rate limit, is cut half a grace after it).
pub const WAIT_GRACE: Duration = Duration::from_secs(2);

/// How long and how often to poll for an outcome.
///
/// The setters clamp out-of-range values to the nearest usable one (each says how) instead of
/// failing: a `Wait` is plain data with no build step, and every clamp keeps the bound.
///
/// A wait is a bound: `cancel_and_wait`, `wait_for_outcome` and `cancel_many` with a wait end
/// (per target) within the budget plus [`WAIT_GRACE`] (2 s). The cancel is sent, and retried,
/// within the budget; no poll is scheduled past it (a first interval longer than the budget
/// is cut); a Get or List the server delays is cut at it; a target whose state no poll saw is
/// read once more within the grace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wait {
    budget: Duration,
    first_interval: Duration,
    multiplier: f64,
    max_interval: Duration,
}

impl Wait {
    /// Poll for up to `budget`: first after 1 s, then growing x2 to at most 30 s.
    ///
    /// No call is sent with less than 20 ms of the budget left (it could not be answered in
    /// time, yet the server would act on it): a budget that short cancels nothing, and says so.
    pub fn up_to(budget: Duration) -> Self {
        Self {
            budget,
            first_interval: Duration::from_secs(1),
            multiplier: 2.0,
            max_interval: Duration::from_secs(30),
        }
    }

    /// Delay before the first poll. Clamped, not rejected: a shorter one is raised to
    /// [`MIN_POLL_INTERVAL`] (polls spend quota), and one above
    /// [`max_interval`](Self::max_interval) is cut to it.
    #[must_use]
    pub fn first_interval(mut self, interval: Duration) -> Self {
        self.first_interval = interval.max(MIN_POLL_INTERVAL);
        self
    }

    /// Growth of the delay between polls (default 2). Clamped, not rejected: to 1 ..= 10, and
    /// not a number means 1 (no growth).
    #[must_use]
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_nan() {
            1.0
        } else {
            multiplier.clamp(1.0, 10.0)
        };
        self
    }

    /// Largest delay between polls (default 30 s). Clamped, not rejected: a shorter one is
    /// raised to [`MIN_POLL_INTERVAL`].
    #[must_use]
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval.max(MIN_POLL_INTERVAL);
        self
    }

    /// The whole budget.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The delays between polls, in order.
    pub(crate) fn intervals(&self) -> impl Iterator<Item = Duration> + use<> {
        let (multiplier, max) = (self.multiplier, self.max_interval);
        std::iter::successors(Some(self.first_interval.min(max)), move |d| {
            let grown = Duration::try_from_secs_f64(d.as_secs_f64() * multiplier).unwrap_or(max);
            Some(grown.min(max))
        })
    }
}

impl Client {
    /// Cancels `target` and polls until it is terminal or `wait` is spent; the cancel itself
    /// (retried while the budget lasts) counts against the budget.
    ///
    /// A target that was already terminal is reported as its outcome (`Cancelled` or
    /// `FinishedAnyway`), not as an error; one still running when the budget is spent is
    /// [`Outcome::StillRunning`].
    ///
    /// # Errors
    /// Errors of the cancel itself ([`Error::DeadlineExceeded`] if it got no answer within the
    /// budget), a permanent error while polling, or the error of the last read when no state
    /// could be read at all ([`Error::WaitTimedOut`] if that read went unanswered too).
    pub async fn cancel_and_wait(&self, target: &Target, wait: Wait) -> Result<Outcome> {
        let deadline = deadline_after(wait.budget);
        match self
            .cancel_within(target, None, deadline, &CancelProgress::default())
            .await?
            .into_finished()
        {
            Some(report) => report,
            None => self.wait_until(target, wait, deadline).await,
        }
    }

    /// Polls `target` until it is terminal or `wait` is spent (without cancelling it).
    ///
    /// # Errors
    /// As [`cancel_and_wait`](Self::cancel_and_wait), minus the cancel.
    pub async fn wait_for_outcome(&self, target: &Target, wait: Wait) -> Result<Outcome> {
        self.wait_until(target, wait, deadline_after(wait.budget))
            .await
    }

    /// Cancels `target`, retrying within `deadline`; a cancel unanswered by then is
    /// [`Error::DeadlineExceeded`].
    pub(crate) async fn cancel_within(
        &self,
        target: &Target,
        limiter: Option<&RegionLimiter>,
        deadline: Instant,
        progress: &CancelProgress,
    ) -> Result<CancelAck> {
        let bounds = Bounds {
            limiter,
            deadline: Some(deadline),
        };
        let started = Instant::now();
        let cut = cut_at(Some(deadline), self.cancel_ack(target, bounds, progress)).await;
        cut.unwrap_or_else(|| {
            let waited = started.elapsed();
            // Not one attempt left: the wait went on a rate limit or a token, not on the server.
            cut_short(progress, target, waited).unwrap_or_else(|| Err(not_sent(target, waited)))
        })
    }

    async fn wait_until(&self, target: &Target, wait: Wait, deadline: Instant) -> Result<Outcome> {
        let mut last: Option<State> = None;
        for interval in wait.intervals() {
            let Some(status) = self
                .poll(target, deadline, interval, wait.first_interval)
                .await?
            else {
                break;
            };
            match status {
                Ok(status) if status.state.is_terminal() => return Ok(status.outcome()),
                Ok(status) => last = Some(status.state),
                Err(missed) => tracing::debug!(error = %missed, %target, "poll missed"),
            }
        }
        self.wait_ended(target, last, None, wait.budget).await
    }

    /// The report of a target whose wait ended still in progress: `StillRunning` with the last
    /// state seen; if none was, one Get (retried) within [`WAIT_GRACE`] tells it, else that
    /// read's error ([`Error::WaitTimedOut`] if it went unanswered too).
    pub(crate) async fn wait_ended(
        &self,
        target: &Target,
        last: Option<State>,
        limiter: Option<&RegionLimiter>,
        waited: Duration,
    ) -> Result<Outcome> {
        if let Some(state) = last {
            return Ok(Outcome::StillRunning { state });
        }
        let bounds = Bounds {
            limiter,
            deadline: Some(deadline_after(WAIT_GRACE)),
        };
        let read = tokio::time::timeout(WAIT_GRACE, self.get_with(target, bounds)).await;
        match read {
            Ok(Ok(status)) if status.state.is_terminal() => Ok(status.outcome()),
            Ok(Ok(status)) => Ok(Outcome::StillRunning {
                state: status.state,
            }),
            // Unanswered in time, like every poll before it: the wait timed out, nothing seen.
            Ok(Err(error)) if error.code() != Some(tonic::Code::DeadlineExceeded) => Err(error),
            Ok(Err(_)) | Err(_) => Err(Error::WaitTimedOut {
                target: target.to_string(),
                waited,
                last_state: None,
            }),
        }
    }

    /// Streams `target`'s status each time its state changes, ending at a terminal state or when
    /// `wait` is spent. Missed polls are skipped; a permanent error ends the stream after it.
    pub fn watch(
        &self,
        target: &Target,
        wait: Wait,
    ) -> impl Stream<Item = Result<TargetStatus>> + Send + 'static {
        struct Watch {
            client: Client,
            target: Target,
            deadline: Instant,
            intervals: Box<dyn Iterator<Item = Duration> + Send>,
            min_gap: Duration,
            last: Option<State>,
            first: bool,
            done: bool,
        }
        let start = Watch {
            client: self.clone(),
            target: target.clone(),
            deadline: deadline_after(wait.budget),
            intervals: Box::new(wait.intervals()),
            min_gap: wait.first_interval,
            last: None,
            first: true,
            done: false,
        };
        stream::unfold(start, |mut w| async move {
            while !w.done {
                let delay = if w.first {
                    Duration::ZERO
                } else {
                    w.intervals.next()?
                };
                w.first = false;
                match w.client.poll(&w.target, w.deadline, delay, w.min_gap).await {
                    Ok(None) => return None,
                    Ok(Some(Err(_missed))) => {}
                    Ok(Some(Ok(status))) if Some(status.state) == w.last => {}
                    Ok(Some(Ok(status))) => {
                        w.last = Some(status.state);
                        w.done = status.state.is_terminal();
                        return Some((Ok(status), w));
                    }
                    Err(error) => {
                        w.done = true;
                        return Some((Err(error), w));
                    }
                }
            }
            None
        })
    }

    /// Sleeps `delay` (shortened to land before `deadline`, see [`fit_to_deadline`]) then reads
    /// the status once, within `deadline`.
    /// `Ok(None)`: the budget is spent; `Ok(Some(Err))`: a missed poll; `Err`: a permanent error.
    async fn poll(
        &self,
        target: &Target,
        deadline: Instant,
        delay: Duration,
        min_gap: Duration,
    ) -> Result<Option<std::result::Result<TargetStatus, Error>>> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Some(delay) = fit_to_deadline(delay, remaining, min_gap) else {
            return Ok(None);
        };
        tokio::time::sleep(delay).await;
        match tokio::time::timeout_at(deadline, self.get(target)).await {
            Err(_) => Ok(None),
            Ok(Ok(status)) => Ok(Some(Ok(status))),
            Ok(Err(error)) if is_missed_poll(&error) => Ok(Some(Err(error))),
            Ok(Err(error)) => Err(error),
        }
    }
}

/// The delay before the next poll: as scheduled when that lands before the deadline; otherwise
/// half the time left, so the last poll still happens late in the budget, until less than two
/// `min_gap`s remain (`None`: stop polling).
fn fit_to_deadline(delay: Duration, remaining: Duration, min_gap: Duration) -> Option<Duration> {
    if delay < remaining {
        Some(delay)
    } else if remaining >= min_gap * 2 && !remaining.is_zero() {
        Some(remaining / 2)
    } else {
        None
    }
}

/// `call`'s answer, `None` if it has none soon after `deadline` (no deadline: no cut). A call's
/// retries stop at the deadline by themselves, with their own error; this only cuts what they
/// do not bound (a rate limit's queue), half the grace later so as not to race them on a loaded
/// machine.
pub(crate) async fn cut_at<T>(
    deadline: Option<Instant>,
    call: impl Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline + WAIT_GRACE / 2, call)
            .await
            .ok(),
        None => Some(call.await),
    }
}

/// What a cancel cut short (by a wait's deadline, or a stop signal's grace) tells from what it
/// had done; `None` if it was never sent. Refused once, its state not read back: already
/// finished, as when the read-back fails. Otherwise it was sent and may have taken effect.
pub(crate) fn cut_short(
    progress: &CancelProgress,
    target: &Target,
    waited: Duration,
) -> Option<Result<CancelAck>> {
    if progress.sent.load(Ordering::Relaxed) == 0 {
        return None;
    }
    if let Some(refused) = progress.refusal() {
        return Some(Ok(refused));
    }
    let told = if progress.refused.get().is_some() {
        format!(
            "the cancel of {target} was refused after a retry and its state could not be read \
             within {waited:.1?}: an earlier attempt may have taken effect"
        )
    } else {
        format!(
            "no answer to the cancel of {target} within {waited:.1?} (it was sent: it may have \
             taken effect)"
        )
    };
    Some(Err(Error::from(tonic::Status::deadline_exceeded(told))))
}

/// A call that got no answer within the caller's budget.
pub(crate) fn no_answer(what: &str, target: &Target, waited: Duration) -> Error {
    Error::from(tonic::Status::deadline_exceeded(format!(
        "no answer to the {what} of {target} within {waited:.1?}"
    )))
}

/// `now + d`, saturating far in the future rather than panicking on a huge budget.
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Transient failures only cost a poll.
pub(crate) fn is_missed_poll(error: &Error) -> bool {
    error.is_retryable() || matches!(error, Error::RetriesExhausted { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_polls_fit_in_the_budget() {
        let s = Duration::from_secs;
        assert_eq!(fit_to_deadline(s(4), s(10), s(1)), Some(s(4)));
        assert_eq!(
            fit_to_deadline(s(8), s(3), s(1)),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            fit_to_deadline(s(8), Duration::from_millis(1500), s(1)),
            None
        );
        assert_eq!(fit_to_deadline(s(0), s(0), s(0)), None);
    }

    #[test]
    fn intervals_grow_to_the_cap() {
        let wait = Wait::up_to(Duration::from_secs(600));
        let first: Vec<u64> = wait.intervals().take(7).map(|d| d.as_secs()).collect();
        assert_eq!(first, [1, 2, 4, 8, 16, 30, 30]);
    }
}
