//! `Wait::up_to(d)` is a bound: `cancel_and_wait` and `cancel_many` with a wait end within d
//! plus `WAIT_GRACE` (2 s), whatever the poll interval and however slowly the server answers
//! (or never does). Budgets are small; each test asserts the elapsed time.

mod common;

use std::time::{Duration, Instant};

use common::{TOKEN, client, target};
use futures::StreamExt;
use vertex_cancel::fake::{CancelOutcome, FakeHandle, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Error, Outcome, State, Wait};

const BUDGET: Duration = Duration::from_secs(1);
/// `WAIT_GRACE` (2 s), plus room for a loaded machine.
const GRACE: Duration = Duration::from_millis(2_500);
/// What each test is given before it fails on its own.
const LIMIT: Duration = Duration::from_secs(20);

fn job(i: usize) -> String {
    format!("projects/p/locations/us-central1/pipelineJobs/j{i}")
}

async fn stuck_fake(n: usize, fault: Option<FaultRule>) -> FakeHandle {
    let mut builder = FakeVertex::builder()
        .token(TOKEN)
        .resources((0..n).map(|i| {
            ResourceSpec::new(job(i), State::Running).with_cancel_outcome(CancelOutcome::Stuck)
        }));
    if let Some(fault) = fault {
        builder = builder.fault(fault);
    }
    builder.start().await.unwrap()
}

/// Runs `cancel_many` of `n` jobs with `wait`; returns the reports and the time taken.
async fn bulk(
    fake: &FakeHandle,
    n: usize,
    wait: Wait,
) -> (
    Vec<(vertex_cancel::Target, vertex_cancel::Result<Outcome>)>,
    Duration,
) {
    let client = client(fake).await;
    let targets = futures::stream::iter((0..n).map(|i| target(&job(i))).collect::<Vec<_>>());
    let started = Instant::now();
    let reports = tokio::time::timeout(
        LIMIT,
        client
            .cancel_many(targets, CancelMany::default().wait(wait))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the run ends on its own");
    (reports, started.elapsed())
}

#[tokio::test]
async fn a_first_interval_longer_than_the_budget_is_cut() {
    let wait = Wait::up_to(BUDGET).first_interval(Duration::from_secs(30));
    for n in [1, 4] {
        let fake = stuck_fake(n, None).await;
        let (reports, took) = bulk(&fake, n, wait).await;
        assert!(took < BUDGET + GRACE, "{n} targets took {took:?}");
        for (target, report) in reports {
            assert!(
                matches!(
                    report,
                    Ok(Outcome::StillRunning {
                        state: State::Cancelling
                    })
                ),
                "{target}: {report:?}"
            );
        }
    }
    let fake = stuck_fake(1, None).await;
    let client = client(&fake).await;
    let started = Instant::now();
    let outcome = tokio::time::timeout(LIMIT, client.cancel_and_wait(&target(&job(0)), wait))
        .await
        .unwrap();
    assert!(
        started.elapsed() < BUDGET + GRACE,
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(outcome, Ok(Outcome::StillRunning { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn reads_the_server_delays_are_cut_at_the_deadline() {
    let slow =
        FaultRule::slow(Duration::from_secs(30)).on_methods(["GetPipelineJob", "ListPipelineJobs"]);
    let wait = Wait::up_to(BUDGET).first_interval(Duration::from_millis(100));
    // One target (confirmed by Get) and four (by List).
    for n in [1, 4] {
        let fake = stuck_fake(n, Some(slow.clone())).await;
        let (reports, took) = bulk(&fake, n, wait).await;
        assert!(took < BUDGET + GRACE, "{n} targets took {took:?}");
        assert_eq!(reports.len(), n);
        // No state could be read: an error, and the server holds the job still cancelling.
        for (target, report) in reports {
            assert!(report.is_err(), "{target}: {report:?}");
            assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelling));
        }
    }
    let fake = stuck_fake(1, Some(slow)).await;
    let client = client(&fake).await;
    let started = Instant::now();
    let outcome = tokio::time::timeout(LIMIT, client.cancel_and_wait(&target(&job(0)), wait))
        .await
        .unwrap();
    assert!(
        started.elapsed() < BUDGET + GRACE,
        "{:?}",
        started.elapsed()
    );
    assert!(outcome.is_err(), "{outcome:?}");
}

#[tokio::test]
async fn a_cancel_the_server_never_answers_ends_at_the_deadline() {
    let never = FaultRule::slow(Duration::from_secs(600))
        .on_methods(["CancelPipelineJob", "BatchCancelPipelineJobs"]);
    let wait = Wait::up_to(BUDGET).first_interval(Duration::from_millis(100));
    for n in [1, 4] {
        let fake = stuck_fake(n, Some(never.clone())).await;
        let (reports, took) = bulk(&fake, n, wait).await;
        assert!(took < BUDGET + GRACE, "{n} targets took {took:?}");
        assert_eq!(reports.len(), n);
        for (target, report) in reports {
            let error = report.expect_err("no answer to the cancel");
            assert_eq!(
                error.code(),
                Some(tonic::Code::DeadlineExceeded),
                "{target}: {error}"
            );
        }
    }
    let fake = stuck_fake(1, Some(never)).await;
    let client = client(&fake).await;
    let started = Instant::now();
    let outcome = tokio::time::timeout(LIMIT, client.cancel_and_wait(&target(&job(0)), wait))
        .await
        .unwrap();
    assert!(
        started.elapsed() < BUDGET + GRACE,
        "{:?}",
        started.elapsed()
    );
    let error = outcome.expect_err("no answer to the cancel");
    assert_eq!(error.code(), Some(tonic::Code::DeadlineExceeded), "{error}");
}

#[tokio::test]
async fn a_cancel_the_rate_limit_never_let_out_is_reported_as_not_sent() {
    // One request a second per region and a wait of 1 s: the first cancel goes at once, the
    // others wait for the limiter until their budget is spent. Their reports must not blame
    // the server ("no answer") for cancels it never received; the fake proves they were not.
    let n = 4;
    let fake = stuck_fake(n, None).await;
    let client = common::builder(&fake)
        .rate_limit_per_region(std::num::NonZeroU32::new(1).unwrap())
        .build()
        .await
        .unwrap();
    let targets = futures::stream::iter((0..n).map(|i| target(&job(i))));
    let options = CancelMany::default()
        .batch(false)
        .wait(Wait::up_to(BUDGET).first_interval(Duration::from_millis(50)));
    let run = client.cancel_many(targets, options).collect::<Vec<_>>();
    let reports = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the run ends");
    assert_eq!(reports.len(), n);
    let sent = fake
        .calls()
        .iter()
        .filter(|c| c.rpc == "CancelPipelineJob")
        .count();
    let mut unsent = 0;
    for (target, report) in &reports {
        let state = fake.state_of(&target.to_string());
        match report {
            Err(error) if error.to_string().contains("not sent") => {
                unsent += 1;
                assert_eq!(state, Some(State::Running), "{target}: never cancelled");
            }
            // Sent: its polls share the one request a second with the queued cancels, so its
            // state may never be read (README: the one case a wait ends in an error).
            Ok(Outcome::StillRunning { .. }) | Err(Error::WaitTimedOut { .. }) => {
                assert_eq!(state, Some(State::Cancelling), "{target}");
            }
            // Sent as its deadline came: unanswered, and said to be possibly in effect.
            Err(error) if error.to_string().contains("may have taken effect") => {}
            other => panic!("{target}: {other:?} ({state:?})"),
        }
    }
    assert!(unsent >= 2, "{reports:?}");
    assert_eq!(
        sent,
        n - unsent,
        "one cancel sent per target not reported unsent"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn a_short_attempt_timeout_without_a_deadline_still_sends() {
    // Only a caller's deadline keeps an attempt from being sent; a short attempt timeout alone
    // never does (it bounds the wait for the answer, not whether to ask).
    let fake = stuck_fake(1, None).await;
    let client = common::builder(&fake)
        .attempt_timeout(Duration::from_millis(15))
        .build()
        .await
        .unwrap();
    let result = client.cancel(&target(&job(0))).await;
    if let Err(error) = &result {
        assert!(!error.to_string().contains("not sent"), "{error}");
    }
    let sent = fake
        .calls()
        .iter()
        .filter(|c| c.rpc == "CancelPipelineJob")
        .count();
    assert!(sent >= 1, "{result:?}");
    client.shutdown().await;
}
