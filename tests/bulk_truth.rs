//! `cancel_many` tells the truth within its bounds (issue 17): targets still running are
//! `StillRunning`, never an error; duplicates get the same true report; a group whose List keeps
//! failing is confirmed by Get; failures are ridden out while the wait budget lasts; memory of
//! pending confirmations is bounded; a stop signal still reports every cancel sent. Every
//! outcome is checked against the fake's own state.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{TOKEN, builder, calls_of, client, quick_wait, target};
use futures::StreamExt;
use tonic::Code;
use vertex_cancel::fake::{CancelOutcome, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Outcome, State, Target};

const LOCATION: &str = "us-central1";

fn job(i: usize) -> String {
    format!("projects/p/locations/{LOCATION}/pipelineJobs/j{i}")
}

fn stream_of(names: Vec<String>) -> impl futures::Stream<Item = Target> + Send + 'static {
    futures::stream::iter(names.into_iter().map(|name| target(&name)))
}

async fn stuck_jobs_are_still_running(n: usize) {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resources((0..n).map(|i| {
            ResourceSpec::new(job(i), State::Running).with_cancel_outcome(CancelOutcome::Stuck)
        }))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let wait = vertex_cancel::Wait::up_to(Duration::from_secs(1))
        .first_interval(Duration::from_millis(200));
    let names: Vec<String> = (0..n).map(job).collect();
    let reports: Vec<_> = client
        .cancel_many(stream_of(names), CancelMany::default().wait(wait))
        .collect()
        .await;
    assert_eq!(reports.len(), n);
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
        assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelling));
    }
}

#[tokio::test]
async fn three_stuck_jobs_in_one_location_are_still_running() {
    stuck_jobs_are_still_running(3).await;
}

#[tokio::test]
async fn five_stuck_jobs_in_one_location_are_still_running() {
    stuck_jobs_are_still_running(5).await;
}

#[tokio::test]
async fn a_group_whose_list_keeps_failing_is_confirmed_by_get() {
    let n = 5;
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .fault(FaultRule::fail(Code::Unavailable).on_methods(["ListPipelineJobs"]))
        .resources((0..n).map(|i| ResourceSpec::new(job(i), State::Running)))
        .record_calls(true)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let names: Vec<String> = (0..n).map(job).collect();
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(3)));
    let reports: Vec<_> = client
        .cancel_many(stream_of(names), options)
        .collect()
        .await;
    assert_eq!(reports.len(), n);
    for (target, report) in reports {
        assert!(
            matches!(report, Ok(Outcome::Cancelled { .. })),
            "{target}: {report:?}"
        );
        assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelled));
    }
    assert!(
        !calls_of(&fake, "ListPipelineJobs").is_empty(),
        "a List was tried"
    );
    assert!(!calls_of(&fake, "GetPipelineJob").is_empty(), "then Gets");
}

#[tokio::test]
async fn a_name_given_six_times_gets_six_true_reports() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .pipeline_job(job(0), State::Running)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let names = vec![job(0); 6];
    // Room for about four confirmation rounds: fewer than the six occurrences.
    let every = Duration::from_millis(300);
    let wait = vertex_cancel::Wait::up_to(Duration::from_secs(1))
        .first_interval(every)
        .max_interval(every);
    let options = CancelMany::default().wait(wait);
    let reports: Vec<_> = client
        .cancel_many(stream_of(names), options)
        .collect()
        .await;
    assert_eq!(reports.len(), 6);
    assert_eq!(fake.state_of(&job(0)), Some(State::Cancelled));
    for (target, report) in reports {
        assert!(
            matches!(report, Ok(Outcome::Cancelled { .. })),
            "{target}: {report:?}"
        );
    }
}

/// The fault plan of target `i` (fake fault rules per resource: the fake has no probabilistic
/// fault, so 20% of the targets answer UNAVAILABLE and 10% RESOURCE_EXHAUSTED with a RetryInfo,
/// each for its first 2 to 8 calls, more than the 5 attempts of the retry policy for many).
fn ride_out_spec(i: usize) -> ResourceSpec {
    let state = if i.is_multiple_of(25) {
        // Already finished: the cancel is refused and the read-back Get must get through.
        State::Succeeded
    } else {
        State::Running
    };
    let spec = ResourceSpec::new(job(i), state);
    let times = 2 + u32::try_from(i % 7).unwrap();
    let rule = match i % 10 {
        0 | 1 => FaultRule::fail(Code::Unavailable),
        2 => FaultRule::fail(Code::ResourceExhausted).with_retry_delay(Duration::from_millis(10)),
        _ => return spec,
    };
    spec.with_fault(rule.first(times))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_ridden_out_while_the_wait_budget_lasts() {
    let n = 1_000;
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(20))
        .resources((0..n).map(ride_out_spec))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let options = CancelMany::default()
        .concurrency(64)
        .wait(quick_wait(Duration::from_secs(20)));
    let names: Vec<String> = (0..n).map(job).collect();
    let reports: Vec<_> = tokio::time::timeout(
        Duration::from_secs(30),
        client
            .cancel_many(stream_of(names), options)
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the run ends");
    assert_eq!(reports.len(), n);
    for (target, report) in reports {
        let held = fake.state_of(&target.to_string());
        match held {
            Some(State::Cancelled) => assert!(
                matches!(report, Ok(Outcome::Cancelled { .. })),
                "{target}: {report:?}"
            ),
            Some(State::Succeeded) => assert!(
                matches!(
                    report,
                    Ok(Outcome::FinishedAnyway {
                        state: State::Succeeded,
                        ..
                    })
                ),
                "{target}: {report:?}"
            ),
            other => panic!("{target} held {other:?}, reported {report:?}"),
        }
    }
}

#[tokio::test]
async fn pending_confirmations_are_bounded_by_the_concurrency() {
    let n = 2_000;
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resources((0..n).map(|i| {
            ResourceSpec::new(job(i), State::Running).with_cancel_outcome(CancelOutcome::Stuck)
        }))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let counted = {
        let pulled = Arc::clone(&pulled);
        stream_of((0..n).map(job).collect()).inspect(move |_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        })
    };
    let concurrency = 2;
    let options = CancelMany::default()
        .concurrency(concurrency)
        .wait(vertex_cancel::Wait::up_to(Duration::from_secs(60)));
    let reports = client.cancel_many(counted, options);
    // Long enough to cancel many hundreds at concurrency 2 on loopback, were nothing to stop it.
    let mut seen = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = pulled.load(Ordering::SeqCst);
    }
    // 64 per slot pending, plus the channel (2 per slot), a batch in flight per slot, the batch
    // being handed on, and the jobs gathered for the next batches.
    let batch = vertex_cancel::client::MAX_BATCH;
    let bound = concurrency * (64 + 2 + batch) + batch + 2 * batch;
    assert!(seen > 64 * concurrency / 2, "the run got going ({seen})");
    assert!(seen <= bound, "{seen} targets read, bound {bound}");
    drop(reports);
}

#[tokio::test]
async fn a_stop_signal_reports_every_cancel_already_sent() {
    let n = 200;
    let fake = FakeVertex::builder()
        .token(TOKEN)
        // Every call takes 100 ms, so cancels are in flight when the signal fires.
        .fault(FaultRule::slow(Duration::from_millis(100)))
        .cancel_delay(Duration::from_secs(600))
        .resources((0..2 * n).map(|i| ResourceSpec::new(job(i), State::Running)))
        .record_calls(true)
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .attempt_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    let waits = [None, Some(quick_wait(Duration::from_secs(30)))];
    for (round, wait) in waits.into_iter().enumerate() {
        fake.clear_calls();
        let (fire, fired) = tokio::sync::oneshot::channel::<()>();
        // One cancel per target, so that the call log tells which targets were sent.
        let mut options = CancelMany::default()
            .batch(false)
            .concurrency(8)
            .stop_on(async move {
                let _ = fired.await;
            });
        if let Some(wait) = wait {
            options = options.wait(wait);
        }
        let started = Instant::now();
        let run = tokio::spawn(
            client
                .cancel_many(
                    stream_of((round * n..(round + 1) * n).map(job).collect()),
                    options,
                )
                .collect::<Vec<_>>(),
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        fire.send(()).unwrap();
        let reports = tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("the run ends after the stop")
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by one attempt timeout"
        );
        let sent: std::collections::HashSet<String> = calls_of(&fake, "CancelPipelineJob")
            .into_iter()
            .map(|c| c.target)
            .collect();
        assert!(
            !sent.is_empty() && sent.len() < n,
            "stopped midway ({})",
            sent.len()
        );
        // Every cancel the server received is reported, and nothing else.
        let reported: std::collections::HashSet<String> =
            reports.iter().map(|(t, _)| t.to_string()).collect();
        assert_eq!(reported.len(), reports.len());
        assert_eq!(reported, sent, "wait: {wait:?}");
        for (target, report) in &reports {
            assert!(
                matches!(report, Ok(Outcome::Requested)),
                "{target}: {report:?}"
            );
            assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelling));
        }
    }
}
