//! The client against the fake over real HTTP/2: cancel and confirm each kind, typed errors,
//! headers, bad input.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::{TOKEN, builder, calls_of, client, quick_wait, target};
use futures::{StreamExt, TryStreamExt};
use vertex_cancel::fake::{CancelOutcome, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{
    CancelMany, Client, Credentials, Error, LocationName, Outcome, RetryConfig, Service, State,
    Target,
};

const PIPELINE: &str = "projects/p/locations/us-central1/pipelineJobs/a";
const NAS: &str = "projects/p/locations/europe-west4/nasJobs/7";
const OPERATION: &str = "projects/p/locations/us-central1/operations/9";
const NESTED_OPERATION: &str = "projects/p/locations/us-central1/pipelineJobs/a/operations/5";

#[tokio::test]
async fn each_kind_is_cancelled_and_confirmed() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(50))
        .pipeline_job(PIPELINE, State::Running)
        .nas_job(NAS, State::Running)
        .operation(OPERATION, State::Running)
        .operation(NESTED_OPERATION, State::Running)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    for name in [PIPELINE, NAS, OPERATION, NESTED_OPERATION] {
        let outcome = client
            .cancel_and_wait(&target(name), quick_wait(Duration::from_secs(5)))
            .await
            .unwrap();
        let Outcome::Cancelled { error } = outcome else {
            panic!("{name}: {outcome:?}")
        };
        assert_eq!(error.map(|e| e.code), Some(1), "{name}");
        assert_eq!(fake.state_of(name), Some(State::Cancelled), "{name}");
    }
}

#[tokio::test]
async fn cancel_only_starts_and_get_shows_cancelling() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_secs(30))
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    client.cancel(&target(PIPELINE)).await.unwrap();
    let status = client.get(&target(PIPELINE)).await.unwrap();
    assert_eq!(status.state, State::Cancelling);
    assert_eq!(status.raw.name(), PIPELINE);
}

#[tokio::test]
async fn work_that_finishes_anyway_is_reported_as_such() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .resource(
            ResourceSpec::new(PIPELINE, State::Running)
                .with_cancel_outcome(CancelOutcome::Succeeded),
        )
        .resource(ResourceSpec::new(NAS, State::Running).with_cancel_outcome(CancelOutcome::Failed))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let wait = quick_wait(Duration::from_secs(5));
    let pipeline = client
        .cancel_and_wait(&target(PIPELINE), wait)
        .await
        .unwrap();
    assert!(
        matches!(
            pipeline,
            Outcome::FinishedAnyway {
                state: State::Succeeded,
                ..
            }
        ),
        "{pipeline:?}"
    );
    let nas = client.cancel_and_wait(&target(NAS), wait).await.unwrap();
    let Outcome::FinishedAnyway {
        state: State::Failed,
        error: Some(error),
    } = nas
    else {
        panic!("{nas:?}")
    };
    assert_eq!(error.code, 13);
}

#[tokio::test]
async fn a_stuck_target_is_still_running_when_the_budget_is_spent() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(10))
        .resource(
            ResourceSpec::new(PIPELINE, State::Running).with_cancel_outcome(CancelOutcome::Stuck),
        )
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let outcome = client
        .cancel_and_wait(&target(PIPELINE), quick_wait(Duration::from_millis(400)))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::StillRunning {
            state: State::Cancelling
        }
    );
    assert!(calls_of(&fake, "GetPipelineJob").len() >= 2);
}

#[tokio::test]
async fn already_finished_targets_carry_their_state() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Succeeded)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let err = client.cancel(&target(PIPELINE)).await.unwrap_err();
    let Error::AlreadyFinished { rpc, state } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(rpc.code(), tonic::Code::FailedPrecondition);
    assert_eq!(*state, Some(State::Succeeded));
    // cancel_and_wait reports the same fact as an outcome, not an error.
    let outcome = client
        .cancel_and_wait(&target(PIPELINE), quick_wait(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        Outcome::FinishedAnyway {
            state: State::Succeeded,
            ..
        }
    ));
}

#[tokio::test]
async fn server_errors_map_to_their_variants() {
    let denied = "projects/p/locations/us-central1/pipelineJobs/denied";
    let automl_op = "projects/p/locations/us-central1/operations/42";
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resource(
            ResourceSpec::new(denied, State::Running)
                .with_fault(FaultRule::fail(tonic::Code::PermissionDenied)),
        )
        .resource(ResourceSpec::new(automl_op, State::Running).with_fault(
            FaultRule::fail(tonic::Code::Unimplemented).on_methods(["CancelOperation"]),
        ))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;

    let missing = client
        .cancel(&target(
            "projects/p/locations/us-central1/pipelineJobs/nope",
        ))
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");

    let err = client.cancel(&target(denied)).await.unwrap_err();
    let Error::PermissionDenied(rpc) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(rpc.reason(), Some("IAM_PERMISSION_DENIED"));
    assert!(err.is_auth());

    let automl: Target = format!("//automl.googleapis.com/{automl_op}")
        .parse()
        .unwrap();
    assert_eq!(automl.service(), Service::AutoMl);
    let err = client.cancel(&automl).await.unwrap_err();
    assert!(matches!(err, Error::Unimplemented(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        calls_of(&fake, "CancelOperation").len(),
        1,
        "UNIMPLEMENTED is not retried"
    );

    let wrong_token = builder(&fake)
        .credentials(Credentials::static_token("ya29.wrong"))
        .build()
        .await
        .unwrap();
    let err = wrong_token.cancel(&target(denied)).await.unwrap_err();
    let Error::Unauthenticated(rpc) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(rpc.reason(), Some("ACCESS_TOKEN_TYPE_UNSUPPORTED"));
}

#[tokio::test]
async fn every_call_carries_googles_headers() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .quota_project("billing-project")
        .user_agent_suffix("my-service/2.1")
        .build()
        .await
        .unwrap();
    client.cancel(&target(PIPELINE)).await.unwrap();
    let parent = LocationName::new("p", "us-central1").unwrap();
    let jobs: Vec<_> = client
        .list_pipeline_jobs(&parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);

    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    let cancel = &calls[0];
    assert_eq!(
        cancel.header("x-goog-request-params"),
        Some("name=projects%2Fp%2Flocations%2Fus-central1%2FpipelineJobs%2Fa")
    );
    assert_eq!(
        calls[1].header("x-goog-request-params"),
        Some("parent=projects%2Fp%2Flocations%2Fus-central1")
    );
    for call in &calls {
        let api_client = call.header("x-goog-api-client").unwrap();
        assert!(api_client.starts_with("gl-rust/"), "{api_client}");
        assert!(api_client.contains(&format!("gccl/{}", env!("CARGO_PKG_VERSION"))));
        assert!(api_client.contains("grpc/"));
        assert_eq!(call.header("x-goog-user-project"), Some("billing-project"));
        let agent = call.header("user-agent").unwrap();
        assert!(
            agent.starts_with("vertex-cancel/") && agent.contains("my-service/2.1"),
            "{agent}"
        );
        assert!(
            call.header("authorization")
                .unwrap()
                .starts_with("Bearer ya29")
        );
        let deadline = call.deadline.expect("a grpc-timeout is sent");
        assert!(deadline <= Duration::from_secs(10) && deadline > Duration::from_secs(8));
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let fake = FakeVertex::builder().token(TOKEN).start().await.unwrap();

    for bad in [
        "projects/p/locations/us-central1.evil.com/pipelineJobs/a",
        "projects/p/locations/us-central1/pipelinejobs/a",
        "projects/p/locations/us-central1/pipelineJobs/",
        "//evil.example.com/projects/p/locations/l/pipelineJobs/a",
    ] {
        let err = bad.parse::<Target>().unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{bad}: {err:?}");
    }

    // A region that disagrees with the name's location.
    let client = builder(&fake).region("europe-west4").build().await.unwrap();
    let err = client.cancel(&target(PIPELINE)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidLocation { .. }), "{err:?}");

    // A region that is not a plain location id.
    let err = builder(&fake)
        .region("us-central1.evil.com")
        .build()
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");

    // Plaintext to a non-loopback host, with or without a token.
    let err = Client::builder()
        .endpoint("http://10.0.0.1:8080")
        .credentials(Credentials::static_token(TOKEN))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureEndpoint { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(TOKEN));

    // No credentials towards Google's endpoints.
    let err = Client::builder()
        .credentials(Credentials::none())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");

    // A token that cannot be a header value.
    let err = builder(&fake)
        .credentials(Credentials::static_token("abc\ndef"))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");

    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn no_credentials_to_a_loopback_fake_sends_no_authorization() {
    let fake = FakeVertex::builder()
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::none())
        .build()
        .await
        .unwrap();
    client.cancel(&target(PIPELINE)).await.unwrap();
    assert_eq!(fake.calls()[0].header("authorization"), None);
}

#[tokio::test]
async fn a_slow_server_is_a_deadline_exceeded() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Running)
        .fault(FaultRule::slow(Duration::from_secs(5)))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .attempt_timeout(Duration::from_millis(150))
        .retry(RetryConfig::none())
        .build()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn lists_follow_page_tokens_and_filters() {
    let mut builder = FakeVertex::builder().token(TOKEN);
    for i in 0..250 {
        let state = if i % 5 == 0 {
            State::Succeeded
        } else {
            State::Running
        };
        builder = builder.pipeline_job(
            format!("projects/p/locations/us-central1/pipelineJobs/j{i}"),
            state,
        );
    }
    for i in 0..7 {
        builder = builder.operation(
            format!("projects/p/locations/us-central1/operations/{i}"),
            State::Running,
        );
    }
    let fake = builder.start().await.unwrap();
    let client = client(&fake).await;
    let parent = LocationName::new("p", "us-central1").unwrap();

    let all: Vec<_> = client
        .list_pipeline_jobs(&parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    assert!(calls_of(&fake, "ListPipelineJobs").len() >= 3, "paged");

    let done: Vec<_> = client
        .list_pipeline_jobs(&parent, Some("state=\"PIPELINE_STATE_SUCCEEDED\""))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(done.len(), 50);

    let ops: Vec<_> = client
        .list_operations(Service::VertexAi, &parent, Some("done=false"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ops.len(), 7);

    let err = client
        .list_pipeline_jobs(&parent, Some("state=NOT_A_STATE"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[tokio::test]
async fn watch_streams_each_state_change_until_terminal() {
    use futures::StreamExt;
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(150))
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let job = target(PIPELINE);
    let mut states = Vec::new();
    let mut updates = std::pin::pin!(client.watch(&job, quick_wait(Duration::from_secs(5))));
    let first = updates.next().await.unwrap().unwrap();
    states.push(first.state);
    client.cancel(&job).await.unwrap();
    while let Some(update) = updates.next().await {
        states.push(update.unwrap().state);
    }
    assert_eq!(
        states,
        [State::Running, State::Cancelling, State::Cancelled]
    );
}

#[tokio::test]
async fn a_call_after_shutdown_is_its_own_error_not_bad_input_and_sends_nothing() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let clone = client.clone();
    client.shutdown().await;
    let err = clone.cancel(&target(PIPELINE)).await.unwrap_err();
    assert!(matches!(err, Error::Shutdown), "{err:?}");
    assert!(!err.is_bad_input(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(calls_of(&fake, "CancelPipelineJob").is_empty());
    assert_eq!(fake.state_of(PIPELINE), Some(State::Running));
}

#[tokio::test]
async fn zero_connections_per_endpoint_is_refused_at_build() {
    let fake = FakeVertex::builder().token(TOKEN).start().await.unwrap();
    let err = builder(&fake)
        .connections_per_endpoint(0)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert!(
        err.to_string().contains("connections per endpoint"),
        "{err}"
    );
    assert!(fake.calls().is_empty());
    builder(&fake)
        .connections_per_endpoint(1)
        .build()
        .await
        .expect("one connection is fine");
}

#[tokio::test]
async fn a_refused_cancel_whose_state_cannot_be_read_in_time_is_already_finished() {
    // The run's rate limit allows one call a second. The first target's cancel takes the first
    // slot and is answered FAILED_PRECONDITION (it succeeded long ago); its read-back Get then
    // queues behind the other targets' cancels for the next slots, past the wait's cut. The
    // cancel was answered, so the report must not say it went unanswered: it is what a failed
    // read-back gives, finished in a state not read.
    let running = |i| format!("projects/p/locations/us-central1/pipelineJobs/r{i}");
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, State::Succeeded)
        .resources((0..8).map(|i| ResourceSpec::new(running(i), State::Running)))
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    // Room for the first cancel to be answered on a loaded machine; the next slot of the rate
    // limit (1 s) is still far past the wait's cut (the budget plus half the grace).
    let budget = Duration::from_millis(300);
    let options = CancelMany::default()
        .batch(false)
        .wait(quick_wait(budget))
        .rate_per_region(NonZeroU32::MIN);
    let targets: Vec<_> = std::iter::once(target(PIPELINE))
        .chain((0..8).map(|i| target(&running(i))))
        .collect();
    let started = std::time::Instant::now();
    let reports: Vec<_> = client
        .cancel_many(futures::stream::iter(targets), options)
        .collect()
        .await;
    assert!(started.elapsed() < budget + Duration::from_secs(3));
    let first = reports.iter().find(|(t, _)| t.to_string() == PIPELINE);
    let Some((_, Err(Error::AlreadyFinished { rpc, state }))) = first else {
        panic!("{first:?}")
    };
    assert_eq!(rpc.code(), tonic::Code::FailedPrecondition);
    assert_eq!(*state, None);
    assert_eq!(fake.state_of(PIPELINE), Some(State::Succeeded));
    let cancels = calls_of(&fake, "CancelPipelineJob");
    assert_eq!(cancels.len(), 1, "only the first slot's cancel went out");
}

#[tokio::test]
async fn a_stop_sends_nothing_more_and_reports_only_what_was_sent_as_it_stood() {
    // One call a second. The first target's cancel takes the first slot and is refused (the
    // job succeeded long ago); the others queue for the next slots when the stop fires at
    // 150 ms. Those were never sent: not reported, and not sent after the stop. The first
    // is reported from its read-back if that comes within the grace (an attempt timeout),
    // else as a refused cancel whose state was not read: already finished.
    let running = |i| format!("projects/p/locations/us-central1/pipelineJobs/r{i}");
    for grace in [Duration::from_millis(300), Duration::from_secs(2)] {
        let fake = FakeVertex::builder()
            .token(TOKEN)
            .pipeline_job(PIPELINE, State::Succeeded)
            .resources((0..3).map(|i| ResourceSpec::new(running(i), State::Running)))
            .start()
            .await
            .unwrap();
        let client = builder(&fake).attempt_timeout(grace).build().await.unwrap();
        let options = CancelMany::default()
            .batch(false)
            .rate_per_region(NonZeroU32::MIN)
            .stop_on(tokio::time::sleep(Duration::from_millis(150)));
        let targets: Vec<_> = std::iter::once(target(PIPELINE))
            .chain((0..3).map(|i| target(&running(i))))
            .collect();
        let reports: Vec<_> = client
            .cancel_many(futures::stream::iter(targets), options)
            .collect()
            .await;
        let [(first, report)] = &reports[..] else {
            panic!("{grace:?}: {reports:?}")
        };
        assert_eq!(first.to_string(), PIPELINE);
        match report {
            Err(Error::AlreadyFinished { rpc, state: None }) if grace < Duration::from_secs(1) => {
                assert_eq!(rpc.code(), tonic::Code::FailedPrecondition);
            }
            Ok(Outcome::FinishedAnyway {
                state: State::Succeeded,
                ..
            }) if grace > Duration::from_secs(1) => {}
            other => panic!("{grace:?}: {other:?}"),
        }
        assert_eq!(calls_of(&fake, "CancelPipelineJob").len(), 1, "{grace:?}");
        for i in 0..3 {
            assert_eq!(fake.state_of(&running(i)), Some(State::Running));
        }
    }
}
