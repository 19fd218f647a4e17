//! Retry against the fake: transient faults, RetryInfo, a cancel whose earlier attempt landed,
//! and adaptive throttling when everything fails.

mod common;

use std::time::Duration;

use common::{TOKEN, builder, calls_of, client, target};
use futures::StreamExt;
use vertex_cancel::fake::{FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Error, RetryConfig, State};

const PIPELINE: &str = "projects/p/locations/us-central1/pipelineJobs/a";

#[tokio::test]
async fn transient_failures_are_retried_after_the_server_asked_delay() {
    let retry_delay = Duration::from_millis(200);
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resource(
            ResourceSpec::new(PIPELINE, State::Running).with_fault(
                FaultRule::fail(tonic::Code::Unavailable)
                    .on_methods(["GetPipelineJob"])
                    .first(2)
                    .with_retry_delay(retry_delay),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let status = client.get(&target(PIPELINE)).await.unwrap();
    assert_eq!(status.state, State::Running);

    let gets = calls_of(&fake, "GetPipelineJob");
    let codes: Vec<_> = gets.iter().map(|c| c.code).collect();
    assert_eq!(
        codes,
        [
            tonic::Code::Unavailable,
            tonic::Code::Unavailable,
            tonic::Code::Ok
        ]
    );
    for pair in gets.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        assert!(gap >= retry_delay, "RetryInfo honoured: gap {gap:?}");
    }
}

#[tokio::test]
async fn retries_end_with_retries_exhausted_carrying_the_last_error() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Running)
        .fault(FaultRule::fail(tonic::Code::ResourceExhausted))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .retry(common::fast_retry().with_max_attempts(3))
        .build()
        .await
        .unwrap();
    let err = client.cancel(&target(PIPELINE)).await.unwrap_err();
    let Error::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 3);
    let Error::ResourceExhausted(rpc) = last.as_ref() else {
        panic!("{last:?}")
    };
    assert_eq!(rpc.reason(), Some("RATE_LIMIT_EXCEEDED"));
    assert_eq!(err.code(), Some(tonic::Code::ResourceExhausted));
    assert_eq!(calls_of(&fake, "CancelPipelineJob").len(), 3);
}

#[tokio::test]
async fn a_retried_cancel_that_already_landed_is_a_success() {
    // The first attempt "fails" with UNAVAILABLE while, as far as the server is concerned, the
    // cancel went through; the retry then meets a terminal target (FAILED_PRECONDITION).
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resource(
            ResourceSpec::new(PIPELINE, State::Running).with_fault(
                FaultRule::fail(tonic::Code::Unavailable)
                    .on_methods(["CancelPipelineJob"])
                    .first(1)
                    .with_retry_delay(Duration::from_millis(300)),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let job = target(PIPELINE);
    let cancel = tokio::spawn({
        let client = client.clone();
        async move { client.cancel(&job).await }
    });
    // Once the first attempt is on record, the "landed" cancel completes on the server.
    while calls_of(&fake, "CancelPipelineJob").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fake.set_state(PIPELINE, State::Cancelled).unwrap();
    cancel.await.unwrap().expect("confirmed by Get: a success");
    let codes: Vec<_> = calls_of(&fake, "CancelPipelineJob")
        .iter()
        .map(|c| c.code)
        .collect();
    assert_eq!(
        codes,
        [tonic::Code::Unavailable, tonic::Code::FailedPrecondition]
    );
    assert_eq!(calls_of(&fake, "GetPipelineJob").len(), 1);
}

#[tokio::test]
async fn a_total_outage_is_throttled_to_about_one_attempt_per_call() {
    let targets = 300;
    let mut builder = FakeVertex::builder()
        .token(TOKEN)
        .fault(FaultRule::fail(tonic::Code::Unavailable).on_methods(["CancelPipelineJob"]));
    for i in 0..targets {
        builder = builder.pipeline_job(
            format!("projects/p/locations/us-central1/pipelineJobs/j{i}"),
            State::Running,
        );
    }
    let fake = builder.record_calls(true).start().await.unwrap();
    let client = common::builder(&fake)
        .retry(common::fast_retry().with_max_attempts(5))
        .build()
        .await
        .unwrap();
    let names = (0..targets).map(|i| {
        target(&format!(
            "projects/p/locations/us-central1/pipelineJobs/j{i}"
        ))
    });
    let results: Vec<_> = client
        .cancel_many(
            futures::stream::iter(names),
            // One call per target: the throttle is counted per call.
            CancelMany::default().concurrency(16).batch(false),
        )
        .collect()
        .await;
    assert_eq!(results.len(), targets);
    assert!(results.iter().all(|(_, r)| {
        r.as_ref()
            .is_err_and(|e| e.code() == Some(tonic::Code::Unavailable))
    }));
    let attempts = calls_of(&fake, "CancelPipelineJob").len();
    // Unthrottled this would be 5 attempts per call (1,500).
    assert!(
        attempts < targets * 13 / 10,
        "{attempts} attempts for {targets} calls"
    );
}

#[tokio::test]
async fn no_retry_policy_means_one_attempt() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Running)
        .fault(FaultRule::fail(tonic::Code::Unavailable).first(1))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .retry(RetryConfig::none())
        .build()
        .await
        .unwrap();
    let err = client.cancel(&target(PIPELINE)).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert_eq!(fake.calls().len(), 1);
}
