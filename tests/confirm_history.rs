//! Confirmation in a location holding years of finished jobs (issue 15 item 2): a bulk cancel
//! with a wait never spends more confirmation calls in a round than one Get per target pending
//! then, whatever the history, and reports each target as the fake itself ends up.
//!
//! Rounds are read from the fake's call log: the confirmation calls (List and Get) cluster into
//! rounds the wait's interval apart. A target is pending in a round once its cancel has been
//! answered and until its report has arrived, so counting cancels answered and reports received
//! before a round starts bounds that round's pending targets from above: a late report only
//! makes the bound looser, never the check falsely fail.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{TOKEN, client};
use futures::StreamExt;
use vertex_cancel::fake::{CallRecord, CancelOutcome, FakeHandle, FakeVertex, ResourceSpec};
use vertex_cancel::{CancelMany, Outcome, State, Target, Wait};

const PARENT: &str = "projects/p/locations/us-central1";
const HISTORY: usize = 100_000;
const LIVE: usize = 300;
/// Finished thirty days ago: far outside any confirmation window.
const HISTORY_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The live targets have run this long when they are cancelled: created and last updated well
/// before the cancel, as a real job is.
const LIVE_AGE: Duration = Duration::from_secs(3600);
/// Rounds are this far apart, so calls further apart than half of it are different rounds.
const INTERVAL: Duration = Duration::from_millis(250);

/// Ids are digits, as custom job ids must be: history from 1,000,000, other live jobs from
/// 5,000,000, the targets from 9,000,000 (names sort in that order).
fn name(collection: &str, id: usize) -> String {
    format!("{PARENT}/{collection}/{id}")
}

/// The location's history: finished jobs, half SUCCEEDED and half FAILED, long untouched.
fn history(collection: &str) -> impl Iterator<Item = ResourceSpec> + '_ {
    (0..HISTORY).map(move |i| {
        let state = if i % 2 == 0 {
            State::Succeeded
        } else {
            State::Failed
        };
        ResourceSpec::new(name(collection, 1_000_000 + i), state).with_age(HISTORY_AGE)
    })
}

/// The live targets: most end CANCELLED, every tenth SUCCEEDED and every tenth FAILED anyway;
/// their cancels take effect over five rounds, so rounds see fewer and fewer pending.
fn live(collection: &str) -> Vec<ResourceSpec> {
    (0..LIVE)
        .map(|i| {
            let outcome = match i % 10 {
                0 => CancelOutcome::Succeeded,
                1 => CancelOutcome::Failed,
                _ => CancelOutcome::Cancelled,
            };
            let delay = Duration::from_millis(200) + INTERVAL * u32::try_from(i % 5).unwrap();
            ResourceSpec::new(name(collection, 9_000_000 + i), State::Running)
                .with_cancel_outcome(outcome)
                .with_cancel_delay(delay)
                .with_age(LIVE_AGE)
        })
        .collect()
}

async fn seeded(specs: impl IntoIterator<Item = ResourceSpec>) -> FakeHandle {
    let started = Instant::now();
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(300))
        .resources(specs)
        .start()
        .await
        .unwrap();
    println!(
        "seeded {} resources in {:?}",
        fake.state().len(),
        started.elapsed()
    );
    fake
}

/// When each report arrived, after cancelling every `targets` with a wait; checks each report
/// against the fake's own final state.
async fn cancel_all(fake: &FakeHandle, targets: &[ResourceSpec]) -> Vec<SystemTime> {
    let client = client(fake).await;
    let wait = Wait::up_to(Duration::from_secs(10))
        .first_interval(INTERVAL)
        .max_interval(INTERVAL);
    let names: Vec<Target> = targets.iter().map(|t| t.name.parse().unwrap()).collect();
    let mut reports = client.cancel_many(
        futures::stream::iter(names),
        // Single cancels: the round detection below counts one answered cancel per target
        // (batching is tested in batch_cancel.rs; confirmation is the same after either).
        CancelMany::default().wait(wait).batch(false),
    );
    let mut arrived = Vec::new();
    while let Some((target, report)) = reports.next().await {
        arrived.push(SystemTime::now());
        let state = fake.state_of(&target.to_string()).unwrap();
        let outcome = report.unwrap_or_else(|e| panic!("{target}: {e}"));
        let expected = match state {
            State::Cancelled => matches!(outcome, Outcome::Cancelled { .. }),
            State::Succeeded | State::Failed => {
                matches!(outcome, Outcome::FinishedAnyway { state: s, .. } if s == state)
            }
            _ => false,
        };
        assert!(
            expected,
            "{target} is {state} in the fake, reported {outcome:?}"
        );
    }
    assert_eq!(arrived.len(), targets.len(), "one report per target");
    arrived
}

/// One round's confirmation calls and the bound on the targets pending when it began.
#[derive(Debug)]
struct Round {
    calls: usize,
    pending: usize,
}

fn ends_at(call: &CallRecord) -> SystemTime {
    call.at + call.duration
}

/// The confirmation rounds in the call log (`cancel` names the cancel RPC; every other call
/// confirms), each with its pending bound; `reported` holds when each report arrived.
fn rounds(calls: &[CallRecord], cancel: &str, reported: &[SystemTime]) -> Vec<Round> {
    let answered: Vec<SystemTime> = calls
        .iter()
        .filter(|c| c.rpc == cancel)
        .map(ends_at)
        .collect();
    let mut confirms: Vec<&CallRecord> = calls.iter().filter(|c| c.rpc != cancel).collect();
    confirms.sort_by_key(|c| c.at);
    let mut rounds: Vec<Round> = Vec::new();
    let mut last_end: Option<SystemTime> = None;
    for call in confirms {
        let new_round = last_end.is_none_or(|end| {
            call.at
                .duration_since(end)
                .is_ok_and(|gap| gap > INTERVAL / 2)
        });
        if new_round {
            let before = |t: &&SystemTime| **t <= call.at;
            let pending = answered
                .iter()
                .filter(before)
                .count()
                .saturating_sub(reported.iter().filter(before).count());
            rounds.push(Round { calls: 0, pending });
        }
        if let Some(round) = rounds.last_mut() {
            round.calls += 1;
        }
        last_end = Some(last_end.map_or(ends_at(call), |end| end.max(ends_at(call))));
    }
    rounds
}

fn assert_within_pending(rounds: &[Round]) {
    assert!(!rounds.is_empty(), "confirmation made calls");
    for (i, round) in rounds.iter().enumerate() {
        assert!(
            round.calls <= round.pending,
            "round {i}: {} confirmation calls for at most {} pending targets; rounds: {rounds:?}",
            round.calls,
            round.pending
        );
    }
}

fn count(calls: &[CallRecord], rpc: &str) -> usize {
    calls.iter().filter(|c| c.rpc == rpc).count()
}

/// Seeds `collection`'s history, `others` and the live targets, cancels the targets with a
/// wait, checks every round against its pending targets; returns the call log and the rounds.
async fn confirm_with_history(
    collection: &str,
    cancel: &str,
    others: impl IntoIterator<Item = ResourceSpec>,
) -> (Vec<CallRecord>, Vec<Round>) {
    let targets = live(collection);
    let specs = history(collection).chain(others).chain(targets.clone());
    let fake = seeded(specs).await;
    let reported = cancel_all(&fake, &targets).await;
    let calls = fake.calls();
    let rounds = rounds(&calls, cancel, &reported);
    println!("{collection} rounds: {rounds:?}");
    assert_within_pending(&rounds);
    (calls, rounds)
}

#[tokio::test]
async fn pipeline_jobs_are_confirmed_by_a_window_list_not_by_paging_through_history() {
    let (calls, rounds) = confirm_with_history("pipelineJobs", "CancelPipelineJob", []).await;
    assert!(count(&calls, "ListPipelineJobs") > 0, "Lists confirmed");
    // The window holds the targets alone, not the history: the Lists cost a fraction of the
    // Gets they replace.
    let spent: usize = rounds.iter().map(|r| r.calls).sum();
    let by_gets: usize = rounds.iter().map(|r| r.pending).sum();
    assert!(spent * 2 <= by_gets, "{spent} calls; Gets: {by_gets}");
}

#[tokio::test]
async fn a_kind_whose_list_cannot_be_bounded_is_confirmed_by_gets() {
    // ListCustomJobs documents create_time but no update_time: no window can hold a job
    // created long ago and cancelled now, so no List is sent at all.
    let (calls, _) = confirm_with_history("customJobs", "CancelCustomJob", []).await;
    assert_eq!(
        count(&calls, "ListCustomJobs"),
        0,
        "never pages through history"
    );
}

#[tokio::test]
async fn a_crowded_window_falls_back_to_gets_within_the_round() {
    // 300 other jobs, running and touched just now, sort before the targets: the window's
    // first 300 items are none of them, so the List stops there and Gets read the rest.
    let busy =
        (0..LIVE).map(|i| ResourceSpec::new(name("pipelineJobs", 5_000_000 + i), State::Running));
    let (calls, _) = confirm_with_history("pipelineJobs", "CancelPipelineJob", busy).await;
    assert!(count(&calls, "ListPipelineJobs") > 0, "a List was tried");
    assert!(count(&calls, "GetPipelineJob") > 0, "Gets took over");
}
