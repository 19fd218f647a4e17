//! `cancel_many` against the fake: exactly one report per target, survival of a 30% fault rate,
//! List-based confirmation, and the per-region rate limit.

mod common;

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::time::Duration;

use common::{TOKEN, calls_of, client, quick_wait};
use futures::StreamExt;
use vertex_cancel::fake::{
    CancelOutcome, FakeHandle, FakeVertex, FakeVertexBuilder, FaultRule, ResourceSpec,
};
use vertex_cancel::{CancelMany, Outcome, State, Target};

fn job(location: &str, i: usize) -> String {
    format!("projects/p/locations/{location}/pipelineJobs/j{i}")
}

fn seeded(n: usize, location: &str) -> FakeVertexBuilder {
    (0..n).fold(FakeVertex::builder().token(TOKEN), |b, i| {
        b.pipeline_job(job(location, i), State::Running)
    })
}

fn targets(n: usize, location: &str) -> impl futures::Stream<Item = Target> + Send + 'static {
    let location = location.to_owned();
    futures::stream::iter((0..n).map(move |i| job(&location, i).parse().unwrap()))
}

#[tokio::test]
async fn every_target_is_reported_exactly_once() {
    let n = 1_000;
    let fake = seeded(n, "us-central1")
        .record_calls(true)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let results: Vec<_> = client
        .cancel_many(targets(n, "us-central1"), CancelMany::default())
        .collect()
        .await;
    assert_eq!(results.len(), n);
    let names: HashSet<String> = results.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(names.len(), n);
    assert!(
        results
            .iter()
            .all(|(_, r)| matches!(r, Ok(Outcome::Requested)))
    );
    for (target, _) in &results {
        let state = fake.state_of(&target.to_string());
        assert!(
            matches!(state, Some(State::Cancelling | State::Cancelled)),
            "{target}: {state:?}"
        );
    }
    // In batches of up to 32.
    let cancels = calls_of(&fake, "CancelPipelineJob").len()
        + calls_of(&fake, "BatchCancelPipelineJobs").len();
    assert!(cancels <= n / 32 + 2, "{cancels} cancel calls");
}

#[tokio::test]
async fn a_30_percent_fault_rate_is_survived_and_every_target_confirmed() {
    let n = 1_000;
    let location = "us-central1";
    let mut builder = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(20));
    for i in 0..n {
        let mut spec = ResourceSpec::new(job(location, i), State::Running);
        if i % 10 < 3 {
            let code = if i % 2 == 0 {
                tonic::Code::Unavailable
            } else {
                tonic::Code::ResourceExhausted
            };
            let mut rule = FaultRule::fail(code).first(1);
            if i % 4 < 2 {
                rule = rule.with_retry_delay(Duration::from_millis(10));
            }
            spec = spec.with_fault(rule);
        }
        builder = builder.resource(spec);
    }
    let fake = builder.start().await.unwrap();
    let client = client(&fake).await;
    let options = CancelMany::default()
        .concurrency(64)
        .wait(quick_wait(Duration::from_secs(20)));
    let results: Vec<_> = client
        .cancel_many(targets(n, location), options)
        .collect()
        .await;
    assert_eq!(results.len(), n);
    for (target, result) in &results {
        assert!(
            matches!(result, Ok(Outcome::Cancelled { .. })),
            "{target}: {result:?}"
        );
        assert_eq!(fake.state_of(&target.to_string()), Some(State::Cancelled));
    }
}

/// The reports of cancelling the first `n` jobs of `location` with a 20 s wait, confirmed by
/// List once `list_threshold` share a parent.
async fn confirmed(
    fake: &FakeHandle,
    n: usize,
    location: &str,
    list_threshold: usize,
) -> Vec<(Target, vertex_cancel::Result<Outcome>)> {
    let options = CancelMany::default()
        .wait(quick_wait(Duration::from_secs(20)))
        .list_threshold(list_threshold);
    client(fake)
        .await
        .cancel_many(targets(n, location), options)
        .collect()
        .await
}

#[tokio::test]
async fn targets_sharing_a_parent_are_confirmed_by_list_pages_not_gets() {
    let n = 300;
    let location = "us-central1";
    let run = |list_threshold: usize| async move {
        // Running for an hour: their update_time moves only when they are cancelled.
        let running = (0..n).map(|i| {
            ResourceSpec::new(job(location, i), State::Running).with_age(Duration::from_secs(3600))
        });
        let fake = FakeVertex::builder()
            .token(TOKEN)
            .resources(running)
            .cancel_delay(Duration::from_millis(30))
            .start()
            .await
            .unwrap();
        let results = confirmed(&fake, n, location, list_threshold).await;
        assert!(
            results
                .iter()
                .all(|(_, r)| matches!(r, Ok(Outcome::Cancelled { .. })))
        );
        let confirm_calls =
            calls_of(&fake, "GetPipelineJob").len() + calls_of(&fake, "ListPipelineJobs").len();
        (confirm_calls, calls_of(&fake, "GetPipelineJob").len())
    };
    let (with_list, gets_with_list) = run(3).await;
    let (with_gets, _) = run(usize::MAX).await;
    // Targets confirmed in earlier rounds stay in the window (cancelling moved their
    // update_time), so a later round's List stops once it has read as many items as targets
    // are pending, and Gets read the members it did not reach.
    assert!(
        gets_with_list < n,
        "the List confirmed most: {gets_with_list} Gets"
    );
    assert!(with_gets >= n, "one Get per target per poll: {with_gets}");
    assert!(
        with_list * 3 <= with_gets,
        "List: {with_list} calls ({gets_with_list} Gets) vs Get: {with_gets}"
    );
}

#[tokio::test]
async fn the_rate_limit_is_per_region() {
    let per_region = 40;
    let fake = (0..per_region)
        .fold(seeded(per_region, "us-central1"), |b, i| {
            b.pipeline_job(job("europe-west4", i), State::Running)
        })
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let both = targets(per_region, "us-central1").chain(targets(per_region, "europe-west4"));
    let rate = NonZeroU32::new(20).unwrap();
    let results: Vec<_> = client
        .cancel_many(
            both,
            // One call per target, so that 40 calls meet the limit in each region.
            CancelMany::default().rate_per_region(rate).batch(false),
        )
        .collect()
        .await;
    assert_eq!(results.len(), per_region * 2);
    // 40 calls at 20/s with a burst of 20 need at least one second in each region.
    for location in ["us-central1", "europe-west4"] {
        let times: Vec<_> = calls_of(&fake, "CancelPipelineJob")
            .into_iter()
            .filter(|c| c.target.contains(location))
            .map(|c| c.at)
            .collect();
        let span = times
            .iter()
            .max()
            .unwrap()
            .duration_since(*times.iter().min().unwrap())
            .unwrap();
        assert!(span >= Duration::from_millis(900), "{location}: {span:?}");
    }
}

#[tokio::test]
async fn dropping_the_stream_stops_launching_cancels() {
    let n = 500;
    let fake = seeded(n, "us-central1")
        .fault(FaultRule::slow(Duration::from_millis(20)))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let mut results = Box::pin(client.cancel_many(
        targets(n, "us-central1"),
        // One call per target, so that the call log counts the targets sent.
        CancelMany::default().concurrency(4).batch(false),
    ));
    for _ in 0..8 {
        results.next().await.unwrap().1.unwrap();
    }
    drop(results);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = calls_of(&fake, "CancelPipelineJob").len();
    assert!(
        sent < 100,
        "{sent} cancels sent after the stream was dropped"
    );
}

#[tokio::test]
async fn a_client_wide_rate_limit_covers_single_calls_too() {
    let n = 30;
    let fake = seeded(n, "us-central1").start().await.unwrap();
    let client = common::builder(&fake)
        .rate_limit_per_region(NonZeroU32::new(20).unwrap())
        .build()
        .await
        .unwrap();
    let gets = (0..n).map(|i| {
        let client = client.clone();
        async move {
            client
                .get(&job("us-central1", i).parse().unwrap())
                .await
                .unwrap()
        }
    });
    futures::future::join_all(gets).await;
    // 30 Gets at 20/s with a burst of 20 need at least half a second.
    let times: Vec<_> = fake.calls().into_iter().map(|c| c.at).collect();
    let span = times
        .iter()
        .max()
        .unwrap()
        .duration_since(*times.iter().min().unwrap())
        .unwrap();
    assert!(span >= Duration::from_millis(400), "{span:?}");
}

#[tokio::test]
async fn a_server_ignoring_the_confirmation_lists_filter_still_gets_each_outcome_right() {
    // The List lists every job of the parent, targets or not, in or out of the window: only a
    // target's own item may stand for its state.
    let location = "us-central1";
    let others = (0..40).map(|i| {
        let state = if i % 2 == 0 {
            State::Running
        } else {
            State::Succeeded
        };
        ResourceSpec::new(job(location, 1_000 + i), state)
    });
    let n = 20;
    let targets_seeded = (0..n).map(|i| {
        let spec = ResourceSpec::new(job(location, i), State::Running);
        if i % 4 == 0 {
            spec.with_cancel_outcome(CancelOutcome::Succeeded)
        } else {
            spec
        }
    });
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .lists_ignore_filter(true)
        .resources(others.chain(targets_seeded))
        .cancel_delay(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let results = confirmed(&fake, n, location, 1).await;
    assert_eq!(results.len(), n);
    for (target, result) in &results {
        let state = fake.state_of(&target.to_string()).unwrap();
        let right = match state {
            State::Cancelled => matches!(result, Ok(Outcome::Cancelled { .. })),
            other => matches!(result, Ok(Outcome::FinishedAnyway { state, .. }) if *state == other),
        };
        assert!(right, "{target} is {state}: {result:?}");
    }
    assert!(!calls_of(&fake, "ListPipelineJobs").is_empty());
    for i in 0..40 {
        let expected = if i % 2 == 0 {
            State::Running
        } else {
            State::Succeeded
        };
        assert_eq!(fake.state_of(&job(location, 1_000 + i)), Some(expected));
    }
}
