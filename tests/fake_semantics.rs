#![cfg(feature = "raw-stubs")]
//! Google's cancel semantics, as the fake serves them over real HTTP/2 to the raw stubs.

#![cfg(feature = "fake")]

mod fake_common;

use std::time::Duration;

use fake_common::*;
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;
use vertex_cancel::State;
use vertex_cancel::fake::{CancelOutcome, FakeVertex, ResourceSpec};
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    BatchCancelPipelineJobsRequest, CancelNasJobRequest, CancelPipelineJobRequest,
    GenericOperationMetadata, GetNasJobRequest, GetPipelineJobRequest, JobState, PipelineState,
};
use vertex_cancel::proto::google::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, WaitOperationRequest,
    operation,
};
use vertex_cancel::proto::google::rpc::Status as RpcStatus;

const SHORT: Duration = Duration::from_millis(50);

fn cancel_job(name: &str) -> CancelPipelineJobRequest {
    CancelPipelineJobRequest { name: name.into() }
}

fn get_job(name: &str) -> GetPipelineJobRequest {
    GetPipelineJobRequest { name: name.into() }
}

#[tokio::test]
async fn pipeline_job_cancel_goes_cancelling_then_cancelled_with_code_1() {
    let fake = FakeVertex::builder()
        .cancel_delay(SHORT)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    client.cancel_pipeline_job(cancel_job(JOB)).await.unwrap();
    let job = client
        .get_pipeline_job(get_job(JOB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.state(), PipelineState::Cancelling);
    assert!(job.end_time.is_none());

    // Cancelling a CANCELLING job is OK and changes nothing.
    client.cancel_pipeline_job(cancel_job(JOB)).await.unwrap();

    let job = poll_until(
        || {
            let mut c = client.clone();
            async move { c.get_pipeline_job(get_job(JOB)).await.unwrap().into_inner() }
        },
        |j| j.state() != PipelineState::Cancelling,
    )
    .await;
    assert_eq!(job.state(), PipelineState::Cancelled);
    assert_eq!(job.error.as_ref().map(|e| e.code), Some(1));
    assert!(job.end_time.is_some());

    let err = client
        .cancel_pipeline_job(cancel_job(JOB))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn the_cancel_lands_even_when_the_client_is_gone() {
    let fake = FakeVertex::builder()
        .cancel_delay(SHORT)
        .nas_job(NAS, State::Running)
        .start()
        .await
        .unwrap();
    {
        let mut client = jobs(&fake).await;
        client
            .cancel_nas_job(CancelNasJobRequest { name: NAS.into() })
            .await
            .unwrap();
    } // client and its connection dropped
    let mut client = jobs(&fake).await;
    let job = poll_until(
        || {
            let mut c = client.clone();
            async move {
                c.get_nas_job(GetNasJobRequest { name: NAS.into() })
                    .await
                    .unwrap()
                    .into_inner()
            }
        },
        |j| j.state() != JobState::Cancelling,
    )
    .await;
    assert_eq!(job.state(), JobState::Cancelled);
    assert_eq!(job.error.unwrap().code, 1);
    let again = client
        .cancel_nas_job(CancelNasJobRequest { name: NAS.into() })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn operation_cancel_is_not_done_then_done_with_error_1() {
    let fake = FakeVertex::builder()
        .cancel_delay(SHORT)
        .operation(OP, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = operations(&fake).await;
    let op = client
        .get_operation(GetOperationRequest { name: OP.into() })
        .await
        .unwrap()
        .into_inner();
    assert!(!op.done);
    let metadata = op.metadata.unwrap();
    assert_eq!(
        metadata.type_url,
        "type.googleapis.com/google.cloud.aiplatform.v1.GenericOperationMetadata"
    );
    GenericOperationMetadata::decode(metadata.value.as_slice()).unwrap();

    client
        .cancel_operation(CancelOperationRequest { name: OP.into() })
        .await
        .unwrap();
    let op = client
        .get_operation(GetOperationRequest { name: OP.into() })
        .await
        .unwrap()
        .into_inner();
    assert!(!op.done, "an operation being cancelled is not done");
    let op = poll_until(
        || {
            let mut c = client.clone();
            async move {
                c.get_operation(GetOperationRequest { name: OP.into() })
                    .await
                    .unwrap()
                    .into_inner()
            }
        },
        |op| op.done,
    )
    .await;
    match op.result {
        Some(operation::Result::Error(status)) => assert_eq!(status.code, 1),
        other => panic!("expected error 1, got {other:?}"),
    }
    let err = client
        .cancel_operation(CancelOperationRequest { name: OP.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn cancel_outcomes_finished_anyway_and_stuck() {
    let name = |id: &str| format!("{LOCATION}/pipelineJobs/{id}");
    let fake = FakeVertex::builder()
        .cancel_delay(SHORT)
        .resource(
            ResourceSpec::new(name("s"), State::Running)
                .with_cancel_outcome(CancelOutcome::Succeeded),
        )
        .resource(
            ResourceSpec::new(name("f"), State::Running).with_cancel_outcome(CancelOutcome::Failed),
        )
        .resource(
            ResourceSpec::new(name("stuck"), State::Running)
                .with_cancel_outcome(CancelOutcome::Stuck)
                .with_cancel_delay(Duration::ZERO),
        )
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    for id in ["s", "f", "stuck"] {
        client
            .cancel_pipeline_job(cancel_job(&name(id)))
            .await
            .unwrap();
    }
    for (id, want, code) in [
        ("s", PipelineState::Succeeded, None),
        ("f", PipelineState::Failed, Some(13)),
    ] {
        let job = poll_until(
            || {
                let mut c = client.clone();
                let n = name(id);
                async move { c.get_pipeline_job(get_job(&n)).await.unwrap().into_inner() }
            },
            |j| j.state() != PipelineState::Cancelling,
        )
        .await;
        assert_eq!(job.state(), want);
        assert_eq!(job.error.map(|e| e.code), code);
    }
    // Its own zero delay has long passed, and it is still CANCELLING.
    let stuck = client
        .get_pipeline_job(get_job(&name("stuck")))
        .await
        .unwrap();
    assert_eq!(stuck.into_inner().state(), PipelineState::Cancelling);
}

#[tokio::test]
async fn operation_outcomes_and_seeded_states() {
    let op = |id: &str| format!("{LOCATION}/operations/{id}");
    let fake = FakeVertex::builder()
        .operation(op("ok"), State::Succeeded)
        .operation(op("failed"), State::Failed)
        .resource(ResourceSpec::new(op("custom"), State::Failed).with_error(9, "quota gone"))
        .resource(
            ResourceSpec::new(op("finishes"), State::Running)
                .with_cancel_outcome(CancelOutcome::Succeeded)
                .with_cancel_delay(Duration::ZERO),
        )
        .start()
        .await
        .unwrap();
    let client = operations(&fake).await;
    let get = async |id: &str| {
        let mut client = client.clone();
        client
            .get_operation(GetOperationRequest { name: op(id) })
            .await
            .unwrap()
            .into_inner()
    };
    let ok = get("ok").await;
    assert!(ok.done);
    match ok.result {
        Some(operation::Result::Response(any)) => {
            assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.Empty");
        }
        other => panic!("expected an empty response, got {other:?}"),
    }
    let failed = get("failed").await;
    assert!(matches!(failed.result, Some(operation::Result::Error(s)) if s.code == 13));
    let custom = get("custom").await;
    assert!(
        matches!(custom.result, Some(operation::Result::Error(s)) if s.code == 9 && s.message == "quota gone")
    );
    client
        .clone()
        .cancel_operation(CancelOperationRequest {
            name: op("finishes"),
        })
        .await
        .unwrap();
    let finished = get("finishes").await;
    assert!(finished.done);
    assert!(matches!(
        finished.result,
        Some(operation::Result::Response(_))
    ));
}

#[tokio::test]
async fn seeded_terminal_jobs_carry_errors_and_refuse_cancel() {
    let job = |id: &str| format!("{LOCATION}/pipelineJobs/{id}");
    let fake = FakeVertex::builder()
        .pipeline_job(job("failed"), State::Failed)
        .pipeline_job(job("cancelled"), State::Cancelled)
        .pipeline_job(job("done"), State::Succeeded)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    for (id, code) in [("failed", Some(13)), ("cancelled", Some(1)), ("done", None)] {
        let got = client
            .get_pipeline_job(get_job(&job(id)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.error.map(|e| e.code), code, "{id}");
        assert!(got.end_time.is_some());
        let err = client
            .cancel_pipeline_job(cancel_job(&job(id)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{id}");
        assert!(
            err.message().contains("PIPELINE_STATE_"),
            "{}",
            err.message()
        );
    }
}

#[tokio::test]
async fn unknown_is_not_found_and_malformed_is_invalid_with_bad_request() {
    let fake = FakeVertex::builder().start().await.unwrap();
    let mut client = pipelines(&fake).await;
    let err = client
        .cancel_pipeline_job(cancel_job(JOB))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    for bad in [
        "pipelineJobs/a",
        "projects/p/locations/l/pipelineJobs/a/extra",
        NAS, // a well-formed name of the wrong kind
        "",
    ] {
        let err = client.get_pipeline_job(get_job(bad)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        let bad_request = err.get_details_bad_request().expect("BadRequest detail");
        assert_eq!(bad_request.field_violations[0].field, "name");
    }
    let mut ops = operations(&fake).await;
    let err = ops
        .cancel_operation(CancelOperationRequest { name: JOB.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn every_error_carries_its_rpc_status_in_details_bin() {
    let fake = FakeVertex::builder()
        .pipeline_job(JOB, State::Succeeded)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let errors = [
        client
            .cancel_pipeline_job(cancel_job(JOB))
            .await
            .unwrap_err(),
        client
            .get_pipeline_job(get_job(&format!("{JOB}x")))
            .await
            .unwrap_err(),
        client.get_pipeline_job(get_job("bad")).await.unwrap_err(),
    ];
    for err in errors {
        let status = RpcStatus::decode(err.details()).expect("google.rpc.Status");
        assert_eq!(status.code, err.code() as i32);
        assert_eq!(status.message, err.message());
    }
}

#[tokio::test]
async fn batch_cancel_is_served_and_logged_under_its_parent() {
    // Once answered UNIMPLEMENTED; the fake now serves it (tests/fake_kinds.rs has the rest).
    let fake = FakeVertex::builder().start().await.unwrap();
    let mut client = pipelines(&fake).await;
    let op = client
        .batch_cancel_pipeline_jobs(BatchCancelPipelineJobsRequest {
            parent: LOCATION.into(),
            names: vec![JOB.into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(op.done, "an unknown job fails the operation at once");
    assert!(matches!(
        op.result,
        Some(vertex_cancel::proto::google::longrunning::operation::Result::Error(ref e))
            if e.code == Code::NotFound as i32
    ));
    assert_eq!(fake.calls()[0].rpc, "BatchCancelPipelineJobs");
    assert_eq!(fake.calls()[0].target, LOCATION);
}

#[tokio::test]
async fn delete_operation_removes_it() {
    let fake = FakeVertex::builder()
        .operation(OP, State::Succeeded)
        .start()
        .await
        .unwrap();
    let mut client = operations(&fake).await;
    client
        .delete_operation(DeleteOperationRequest { name: OP.into() })
        .await
        .unwrap();
    let err = client
        .get_operation(GetOperationRequest { name: OP.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .delete_operation(DeleteOperationRequest { name: OP.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

/// Vertex AI serves WaitOperation (Google's Python client has `wait_operation`); the fake
/// answered UNIMPLEMENTED.
#[tokio::test]
async fn wait_operation_answers_once_done_or_when_its_timeout_passes() {
    let running = "projects/p/locations/us-central1/operations/10";
    let fake = FakeVertex::builder()
        .cancel_delay(Duration::from_millis(300))
        .operation(OP, State::Running)
        .operation(running, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = operations(&fake).await;
    let wait = |name: &str, timeout: Option<Duration>| WaitOperationRequest {
        name: name.into(),
        timeout: timeout.map(|t| t.try_into().unwrap()),
    };
    client
        .cancel_operation(CancelOperationRequest { name: OP.into() })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let done = client
        .wait_operation(wait(OP, Some(Duration::from_secs(5))))
        .await
        .unwrap()
        .into_inner();
    assert!(done.done, "{done:?}");
    assert!(matches!(
        done.result,
        Some(operation::Result::Error(RpcStatus { code: 1, .. }))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let started = std::time::Instant::now();
    let still = client
        .wait_operation(wait(running, Some(Duration::from_millis(100))))
        .await
        .unwrap()
        .into_inner();
    assert!(!still.done);
    assert!(started.elapsed() >= Duration::from_millis(100));

    let unknown = client
        .wait_operation(wait("projects/p/locations/us-central1/operations/99", None))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let negative = client
        .wait_operation(WaitOperationRequest {
            name: running.into(),
            timeout: Some(prost_types::Duration {
                seconds: -1,
                nanos: 0,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(negative.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn runtime_state_changes_are_served() {
    let fake = FakeVertex::builder()
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    fake.set_state(JOB, State::Succeeded).unwrap();
    assert_eq!(fake.state_of(JOB), Some(State::Succeeded));
    assert!(fake.set_state(JOB, State::Expired).is_err());
    fake.insert(ResourceSpec::new(NAS, State::Queued)).unwrap();
    let mut client = jobs(&fake).await;
    let got = client
        .get_nas_job(GetNasJobRequest { name: NAS.into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state(), JobState::Queued);
    assert!(got.start_time.is_none(), "a queued job has not started");
    let got = pipelines(&fake)
        .await
        .get_pipeline_job(get_job(JOB))
        .await
        .unwrap();
    assert_eq!(got.into_inner().state(), PipelineState::Succeeded);
}

#[tokio::test]
async fn a_restart_on_the_same_port_keeps_the_state() {
    let fake = FakeVertex::builder()
        .cancel_delay(SHORT)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let port = fake.addr().port();
    pipelines(&fake)
        .await
        .cancel_pipeline_job(cancel_job(JOB))
        .await
        .unwrap();
    let state = fake.state();
    fake.shutdown().await.unwrap();

    let fake = FakeVertex::builder()
        .port(port)
        .state(state)
        .start()
        .await
        .unwrap();
    assert_eq!(fake.addr().port(), port);
    let client = pipelines(&fake).await;
    let job = poll_until(
        || {
            let mut c = client.clone();
            async move { c.get_pipeline_job(get_job(JOB)).await.unwrap().into_inner() }
        },
        |j| j.state() != PipelineState::Cancelling,
    )
    .await;
    assert_eq!(job.state(), PipelineState::Cancelled);
}

#[tokio::test]
async fn holds_100_000_resources() {
    let specs = (0..100_000).map(|i| {
        let location = if i % 2 == 0 {
            "us-central1"
        } else {
            "europe-west4"
        };
        ResourceSpec::new(
            format!("projects/p/locations/{location}/pipelineJobs/j{i:06}"),
            State::Running,
        )
    });
    let fake = FakeVertex::builder()
        .cancel_delay(Duration::from_secs(3600))
        .resources(specs)
        .start()
        .await
        .unwrap();
    assert_eq!(fake.state().len(), 100_000);
    let mut client = pipelines(&fake).await;
    let last = "projects/p/locations/europe-west4/pipelineJobs/j099999";
    client.cancel_pipeline_job(cancel_job(last)).await.unwrap();
    assert_eq!(fake.state_of(last), Some(State::Cancelling));
}
