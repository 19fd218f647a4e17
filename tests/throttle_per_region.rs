//! Adaptive throttling is kept per region: a region answering UNAVAILABLE to everything has its
//! retries throttled, while a healthy region's retries (after its occasional transient error)
//! all go out, whether the two regions are two hosts or one endpoint override serving both.

mod common;

use std::collections::HashSet;

use common::{TOKEN, calls_of, fast_retry};
use futures::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use vertex_cancel::fake::{FakeHandle, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Client, Credentials, Error, Outcome, State, Target};

const HEALTHY: &str = "us-central1";
const DEAD: &str = "europe-west4";
/// Targets per region: the dead region's first ones fill the throttle's window before the
/// healthy region's calls start.
const PER_REGION: usize = 60;

fn job(location: &str, i: usize) -> String {
    format!("projects/p/locations/{location}/pipelineJobs/j{i}")
}

/// The dead region's targets first, then the healthy region's.
fn targets() -> Vec<Target> {
    [DEAD, HEALTHY]
        .iter()
        .flat_map(|location| (0..PER_REGION).map(move |i| job(location, i).parse().unwrap()))
        .collect()
}

fn spec(location: &str, i: usize) -> ResourceSpec {
    ResourceSpec::new(job(location, i), State::Running)
}

/// A healthy region's target: one in three answers its first cancel with UNAVAILABLE.
fn healthy_spec(i: usize) -> ResourceSpec {
    let spec = spec(HEALTHY, i);
    if i.is_multiple_of(3) {
        spec.with_fault(FaultRule::fail(Code::Unavailable).first(1))
    } else {
        spec
    }
}

/// Cancels every target and checks, against the fakes' own records, that every healthy target
/// was cancelled (so no retry of it was refused) and that the dead region's attempts stayed near
/// one per target (five each without the throttle).
async fn check(client: &Client, healthy: &FakeHandle, dead: &FakeHandle) {
    let results: Vec<(Target, Result<Outcome, Error>)> = client
        .cancel_many(
            futures::stream::iter(targets()),
            // One call per target: the throttle is counted per call.
            CancelMany::default().concurrency(8).batch(false),
        )
        .collect()
        .await;
    assert_eq!(results.len(), 2 * PER_REGION);
    for (target, result) in &results {
        if target.location() == HEALTHY {
            assert!(
                matches!(result, Ok(Outcome::Requested)),
                "{target}: {result:?}"
            );
        } else {
            assert!(result.is_err(), "{target}: {result:?}");
        }
    }
    for i in 0..PER_REGION {
        assert_eq!(healthy.state_of(&job(HEALTHY, i)), Some(State::Cancelling));
        assert_eq!(dead.state_of(&job(DEAD, i)), Some(State::Running));
    }

    let of_region = |fake: &FakeHandle, location: &str| {
        calls_of(fake, "CancelPipelineJob")
            .into_iter()
            .filter(|c| c.target.contains(&format!("/locations/{location}/")))
            .collect::<Vec<_>>()
    };
    let healthy_calls = of_region(healthy, HEALTHY);
    let refused = healthy_calls.iter().filter(|c| c.code != Code::Ok).count();
    assert_eq!(refused, PER_REGION.div_ceil(3), "one in three failed once");
    assert_eq!(
        healthy_calls.len(),
        PER_REGION + refused,
        "each transient error of the healthy region was retried"
    );
    let dead_calls = of_region(dead, DEAD);
    let attempted: HashSet<&str> = dead_calls.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(
        attempted.len(),
        PER_REGION,
        "first attempts are never throttled"
    );
    assert!(
        dead_calls.len() <= PER_REGION + PER_REGION / 2,
        "{} attempts for {PER_REGION} targets in the dead region",
        dead_calls.len()
    );
}

#[tokio::test]
async fn a_dead_region_does_not_throttle_a_healthy_one_on_another_host() {
    let healthy = FakeVertex::builder()
        .token(TOKEN)
        .resources((0..PER_REGION).map(healthy_spec))
        .start()
        .await
        .unwrap();
    let dead = FakeVertex::builder()
        .token(TOKEN)
        .resources((0..PER_REGION).map(|i| spec(DEAD, i)))
        .fault(FaultRule::fail(Code::Unavailable))
        .start()
        .await
        .unwrap();
    let channel = |fake: &FakeHandle| {
        Channel::from_shared(fake.endpoint())
            .unwrap()
            .connect_lazy()
    };
    let (to_healthy, to_dead) = (channel(&healthy), channel(&dead));
    // Google's regional hosts, each served by one of the fakes.
    let client = Client::builder()
        .credentials(Credentials::static_token(TOKEN))
        .retry(fast_retry())
        .channel_resolver(move |endpoint| {
            assert!(endpoint.host().ends_with("-aiplatform.googleapis.com"));
            if endpoint.host().starts_with(HEALTHY) {
                to_healthy.clone()
            } else {
                to_dead.clone()
            }
        })
        .build()
        .await
        .unwrap();
    check(&client, &healthy, &dead).await;
}

#[tokio::test]
async fn a_dead_region_does_not_throttle_a_healthy_one_behind_one_endpoint() {
    let specs = (0..PER_REGION).flat_map(|i| {
        let dead = spec(DEAD, i).with_fault(FaultRule::fail(Code::Unavailable));
        [dead, healthy_spec(i)]
    });
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resources(specs)
        .start()
        .await
        .unwrap();
    let client = common::client(&fake).await;
    check(&client, &fake, &fake).await;
}
