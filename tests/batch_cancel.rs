//! `cancel_many` sends pipeline jobs of one location in batches (BatchCancelPipelineJobs), and
//! every job still gets its own true report: proven against the fake's own state and call log.

mod common;

use std::time::Duration;

use common::{TOKEN, calls_of, client, quick_wait};
use futures::StreamExt;
use vertex_cancel::fake::{FakeHandle, FakeVertex, FakeVertexBuilder, FaultRule};
use vertex_cancel::{CancelMany, Error, Outcome, Result, State, Target, Wait};

const PARENT: &str = "projects/p/locations/us-central1";

fn job(i: usize) -> String {
    format!("{PARENT}/pipelineJobs/j{i}")
}

fn running(n: usize) -> FakeVertexBuilder {
    running_for(n, Duration::from_millis(30))
}

/// `n` running pipeline jobs, each taking `delay` to cancel.
fn running_for(n: usize, delay: Duration) -> FakeVertexBuilder {
    (0..n).fold(
        FakeVertex::builder()
            .token(TOKEN)
            .cancel_delay(delay)
            .record_calls(true),
        |b, i| b.pipeline_job(job(i), State::Running),
    )
}

async fn cancel_all(
    fake: &FakeHandle,
    names: Vec<String>,
    wait: Option<Wait>,
) -> Vec<(Target, Result<Outcome>)> {
    let client = client(fake).await;
    let mut options = CancelMany::default();
    if let Some(wait) = wait {
        options = options.wait(wait);
    }
    let targets = futures::stream::iter(names.into_iter().map(|n| n.parse().unwrap()));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    client.shutdown().await;
    reports
}

fn cancel_rpcs(fake: &FakeHandle) -> usize {
    calls_of(fake, "CancelPipelineJob").len() + calls_of(fake, "BatchCancelPipelineJobs").len()
}

fn waits() -> [Option<Wait>; 2] {
    [None, Some(quick_wait(Duration::from_secs(10)))]
}

/// What a report must say about a job that was running and had no reason not to be cancelled.
fn assert_cancelled(fake: &FakeHandle, target: &Target, report: &Result<Outcome>, wait: bool) {
    let state = fake.state_of(&target.to_string());
    match report {
        Ok(Outcome::Requested) if !wait => assert!(
            matches!(state, Some(State::Cancelling | State::Cancelled)),
            "{target}: requested but {state:?}"
        ),
        Ok(Outcome::Cancelled { .. }) if wait => assert_eq!(state, Some(State::Cancelled)),
        other => panic!("{target}: {other:?} (wait: {wait}, state {state:?})"),
    }
}

#[tokio::test]
async fn three_hundred_twenty_jobs_in_one_region_cost_at_most_twenty_cancel_rpcs() {
    let n = 320;
    for wait in waits() {
        let fake = running(n).start().await.unwrap();
        let reports = cancel_all(&fake, (0..n).map(job).collect(), wait).await;
        assert_eq!(reports.len(), n);
        let names: std::collections::HashSet<String> =
            reports.iter().map(|(t, _)| t.to_string()).collect();
        assert_eq!(names.len(), n, "each job reported exactly once");
        for (target, report) in &reports {
            assert_cancelled(&fake, target, report, wait.is_some());
        }
        let rpcs = cancel_rpcs(&fake);
        assert!(rpcs <= 20, "{rpcs} cancel RPCs (wait: {wait:?})");
        for batch in calls_of(&fake, "BatchCancelPipelineJobs") {
            assert_eq!(batch.target, PARENT);
            let routing = batch.header("x-goog-request-params").unwrap_or_default();
            assert_eq!(routing, "parent=projects%2Fp%2Flocations%2Fus-central1");
        }
        fake.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn an_unknown_name_in_a_batch_is_not_found_and_every_other_job_is_cancelled() {
    let n = 40;
    let unknown = format!("{PARENT}/pipelineJobs/nobody");
    for wait in waits() {
        let fake = running(n).start().await.unwrap();
        let mut names: Vec<String> = (0..n).map(job).collect();
        names.insert(7, unknown.clone());
        let reports = cancel_all(&fake, names, wait).await;
        assert_eq!(reports.len(), n + 1);
        for (target, report) in &reports {
            if target.to_string() == unknown {
                assert!(matches!(report, Err(Error::NotFound(_))), "{report:?}");
            } else {
                assert_cancelled(&fake, target, report, wait.is_some());
            }
        }
        assert!(
            !calls_of(&fake, "BatchCancelPipelineJobs").is_empty(),
            "a batch was tried"
        );
        fake.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_job_already_succeeded_in_a_batch_is_finished_anyway_and_the_others_cancelled() {
    let n = 10;
    let done = format!("{PARENT}/pipelineJobs/done");
    for wait in waits() {
        let fake = running(n)
            .pipeline_job(done.clone(), State::Succeeded)
            .start()
            .await
            .unwrap();
        let mut names: Vec<String> = (0..n).map(job).collect();
        names.insert(3, done.clone());
        let reports = cancel_all(&fake, names, wait).await;
        assert_eq!(reports.len(), n + 1);
        for (target, report) in &reports {
            if target.to_string() == done {
                assert!(
                    matches!(
                        report,
                        Ok(Outcome::FinishedAnyway {
                            state: State::Succeeded,
                            ..
                        })
                    ),
                    "{report:?}"
                );
                assert_eq!(fake.state_of(&done), Some(State::Succeeded));
            } else {
                assert_cancelled(&fake, target, report, wait.is_some());
            }
        }
        assert_eq!(calls_of(&fake, "BatchCancelPipelineJobs").len(), 1);
        assert!(calls_of(&fake, "CancelPipelineJob").is_empty());
        fake.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_server_without_batches_gets_single_cancels() {
    let n = 100;
    for wait in waits() {
        let fake = running(n)
            .fault(
                FaultRule::fail(tonic::Code::Unimplemented).on_methods(["BatchCancelPipelineJobs"]),
            )
            .start()
            .await
            .unwrap();
        let reports = cancel_all(&fake, (0..n).map(job).collect(), wait).await;
        assert_eq!(reports.len(), n);
        for (target, report) in &reports {
            assert_cancelled(&fake, target, report, wait.is_some());
        }
        assert_eq!(calls_of(&fake, "CancelPipelineJob").len(), n);
        // Once refused, the location is not offered another batch.
        let batches = calls_of(&fake, "BatchCancelPipelineJobs").len();
        assert!((1..=n / 32 + 1).contains(&batches), "{batches} batches");
        fake.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn a_stop_signal_reports_every_batch_already_sent_and_sends_no_more() {
    let n = 2_000;
    let fake = running(n)
        // Every call takes 100 ms, so batches are in flight when the signal fires.
        .fault(FaultRule::slow(Duration::from_millis(100)))
        .cancel_delay(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let client = common::builder(&fake)
        .attempt_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    for wait in waits() {
        let (fire, fired) = tokio::sync::oneshot::channel::<()>();
        let mut options = CancelMany::default().concurrency(4).stop_on(async move {
            let _ = fired.await;
        });
        if let Some(wait) = wait {
            options = options.wait(wait);
        }
        let round = usize::from(wait.is_some()) * n / 2;
        let names = (round..round + n / 2).map(|i| job(i).parse::<Target>().unwrap());
        let started = std::time::Instant::now();
        let run = tokio::spawn(
            client
                .cancel_many(futures::stream::iter(names), options)
                .collect::<Vec<_>>(),
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        fire.send(()).unwrap();
        let reports = tokio::time::timeout(Duration::from_secs(8), run)
            .await
            .expect("the run ends after the stop")
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(7), "bounded");
        // Every job the server started cancelling is reported (as requested), and no other.
        let cancelling: std::collections::HashSet<String> = (round..round + n / 2)
            .map(job)
            .filter(|name| fake.state_of(name) == Some(State::Cancelling))
            .collect();
        let reported: std::collections::HashSet<String> =
            reports.iter().map(|(t, _)| t.to_string()).collect();
        assert_eq!(reported.len(), reports.len(), "each once");
        assert!(
            !cancelling.is_empty() && cancelling.len() < n / 2,
            "stopped midway ({})",
            cancelling.len()
        );
        assert_eq!(reported, cancelling, "wait: {wait:?}");
        for (target, report) in &reports {
            assert!(
                matches!(report, Ok(Outcome::Requested)),
                "{target}: {report:?}"
            );
        }
    }
}

#[tokio::test]
async fn jobs_are_not_held_back_waiting_for_more_input() {
    let fake = running(3).start().await.unwrap();
    let client = client(&fake).await;
    // Two jobs, then an input that never ends: they go (in one batch) without waiting for more.
    let first = [job(0), job(1)].map(|name| name.parse::<Target>().unwrap());
    let targets = futures::stream::iter(first).chain(futures::stream::pending());
    let mut reports = Box::pin(client.cancel_many(targets, CancelMany::default()));
    for _ in 0..2 {
        let (target, report) = tokio::time::timeout(Duration::from_secs(5), reports.next())
            .await
            .expect("reported while the input is still open")
            .unwrap();
        assert_cancelled(&fake, &target, &report, false);
    }
    assert_eq!(calls_of(&fake, "BatchCancelPipelineJobs").len(), 1);
    assert_eq!(fake.state_of(&job(2)), Some(State::Running));
}

#[tokio::test]
async fn a_refused_batch_falls_back_to_single_cancels() {
    let n = 40;
    for code in [tonic::Code::InvalidArgument, tonic::Code::NotFound] {
        let fake = running(n)
            .fault(FaultRule::fail(code).on_methods(["BatchCancelPipelineJobs"]))
            .start()
            .await
            .unwrap();
        let reports = cancel_all(&fake, (0..n).map(job).collect(), None).await;
        assert_eq!(reports.len(), n);
        for (target, report) in &reports {
            assert_cancelled(&fake, target, report, false);
        }
        assert_eq!(calls_of(&fake, "CancelPipelineJob").len(), n, "{code:?}");
        fake.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn without_a_wait_a_batch_whose_jobs_cancel_slowly_is_reported_within_a_second_or_two() {
    // Google's operation finishes only once every job has been cancelled (minutes for a
    // running pipeline): the run must not sit on it for an attempt timeout (10 s).
    let n = 40;
    let fake = running_for(n, Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let reports = cancel_all(&fake, (0..n).map(job).collect(), None).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(reports.len(), n);
    for (target, report) in &reports {
        assert!(
            matches!(report, Ok(Outcome::Requested)),
            "{target}: {report:?}"
        );
        assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelling));
    }
    assert!(!calls_of(&fake, "BatchCancelPipelineJobs").is_empty());
    fake.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_wait_a_batched_job_whose_state_cannot_be_read_is_requested_not_an_error() {
    // The batch was accepted; only the read-back after it fails (the operation is not done:
    // the jobs cancel slowly). The cancel was not refused, so no job is reported as failed.
    let n = 40;
    let fake = running_for(n, Duration::from_secs(60))
        .fault(
            FaultRule::fail(tonic::Code::Unavailable)
                .on_methods(["GetPipelineJob", "ListPipelineJobs"]),
        )
        .start()
        .await
        .unwrap();
    let client = common::builder(&fake)
        .attempt_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let targets = futures::stream::iter((0..n).map(|i| job(i).parse::<Target>().unwrap()));
    let reports: Vec<_> = client
        .cancel_many(targets, CancelMany::default())
        .collect()
        .await;
    assert_eq!(reports.len(), n);
    for (target, report) in &reports {
        assert!(
            matches!(report, Ok(Outcome::Requested)),
            "{target}: {report:?}"
        );
        assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelling));
    }
    client.shutdown().await;
    fake.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_wait_a_slow_batch_is_read_back_with_one_list_not_a_get_per_job() {
    // 30 jobs cancel slowly, so the batch's operation is not done within the second it is
    // read; 2 succeeded long ago, so the batch skips them. One List naming the 32 by id tells
    // each its state: a Get each would cost 32 calls.
    let fake = running_for(30, Duration::from_secs(60))
        .pipeline_job(job(30), State::Succeeded)
        .pipeline_job(job(31), State::Succeeded)
        .start()
        .await
        .unwrap();
    let reports = cancel_all(&fake, (0..32).map(job).collect(), None).await;
    assert_eq!(reports.len(), 32);
    for (target, report) in &reports {
        let state = fake.state_of(&target.to_string());
        match state {
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
            _ => assert_cancelled(&fake, target, report, false),
        }
    }
    assert_eq!(calls_of(&fake, "BatchCancelPipelineJobs").len(), 1);
    assert_eq!(calls_of(&fake, "ListPipelineJobs").len(), 1);
    assert!(calls_of(&fake, "GetPipelineJob").is_empty());
    fake.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_refusing_the_list_by_id_gets_a_get_per_job_and_no_second_list() {
    let n = 64;
    let fake = running_for(n, Duration::from_secs(60))
        .fault(FaultRule::fail(tonic::Code::InvalidArgument).on_methods(["ListPipelineJobs"]))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let targets = futures::stream::iter((0..n).map(|i| job(i).parse::<Target>().unwrap()));
    // One unit at a time: the second batch is read back after the first List was refused.
    let options = CancelMany::default().concurrency(1);
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    assert_eq!(reports.len(), n);
    for (target, report) in &reports {
        assert_cancelled(&fake, target, report, false);
    }
    assert_eq!(calls_of(&fake, "BatchCancelPipelineJobs").len(), 2);
    assert_eq!(calls_of(&fake, "ListPipelineJobs").len(), 1);
    assert_eq!(calls_of(&fake, "GetPipelineJob").len(), n);
    fake.shutdown().await.unwrap();
}
