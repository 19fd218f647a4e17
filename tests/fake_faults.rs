#![cfg(feature = "raw-stubs")]
//! Auth, injected faults, the call log and scenario files, through the raw stubs.

#![cfg(feature = "fake")]

mod fake_common;

use std::time::Duration;

use fake_common::*;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request};
use tonic_types::StatusExt;
use vertex_cancel::State;
use vertex_cancel::fake::{FakeError, FakeVertex, FaultRule, ResourceSpec, Scenario};
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    CancelPipelineJobRequest, GetNasJobRequest, GetPipelineJobRequest, PipelineState,
};
use vertex_cancel::proto::google::longrunning::CancelOperationRequest;

const TOKEN: &str = "ya29.fake-token-for-tests";

fn get_job() -> Request<GetPipelineJobRequest> {
    Request::new(GetPipelineJobRequest { name: JOB.into() })
}

fn with_auth<T>(mut request: Request<T>, value: &str) -> Request<T> {
    request
        .metadata_mut()
        .insert("authorization", MetadataValue::try_from(value).unwrap());
    request
}

#[tokio::test]
async fn token_missing_wrong_and_right() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;

    let err = client.get_pipeline_job(get_job()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let info = err.get_details_error_info().unwrap();
    assert_eq!(info.reason, "CREDENTIALS_MISSING");
    assert_eq!(info.domain, "googleapis.com");

    for wrong in ["Bearer nope", &format!("Basic {TOKEN}"), TOKEN] {
        let err = client
            .get_pipeline_job(with_auth(get_job(), wrong))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{wrong}");
        assert_eq!(
            err.get_details_error_info().unwrap().reason,
            "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        );
    }

    let ok = client
        .get_pipeline_job(with_auth(get_job(), &format!("Bearer {TOKEN}")))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().state(), PipelineState::Running);
}

#[tokio::test]
async fn fail_first_n_then_succeed_with_retry_info() {
    let fake = FakeVertex::builder()
        .pipeline_job(JOB, State::Running)
        .fault(
            FaultRule::fail(Code::Unavailable)
                .on_methods(["GetPipelineJob"])
                .first(2)
                .with_retry_delay(Duration::from_millis(250))
                .with_message("backend is resting"),
        )
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    for _ in 0..2 {
        let err = client.get_pipeline_job(get_job()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(err.message(), "backend is resting");
        let retry = err.get_details_retry_info().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_millis(250)));
    }
    client.get_pipeline_job(get_job()).await.unwrap();
    // Another method was never affected.
    client
        .cancel_pipeline_job(CancelPipelineJobRequest { name: JOB.into() })
        .await
        .unwrap();
}

#[tokio::test]
async fn every_call_faults_carry_googles_error_info() {
    for (code, reason) in [
        (Code::PermissionDenied, "IAM_PERMISSION_DENIED"),
        (Code::ResourceExhausted, "RATE_LIMIT_EXCEEDED"),
    ] {
        let fake = FakeVertex::builder()
            .pipeline_job(JOB, State::Running)
            .fault(FaultRule::fail(code))
            .start()
            .await
            .unwrap();
        let mut client = pipelines(&fake).await;
        for _ in 0..3 {
            let err = client.get_pipeline_job(get_job()).await.unwrap_err();
            assert_eq!(err.code(), code);
            let info = err.get_details_error_info().unwrap();
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, "googleapis.com");
            assert_eq!(
                info.metadata.get("method").map(String::as_str),
                Some("google.cloud.aiplatform.v1.PipelineService.GetPipelineJob")
            );
        }
    }
}

#[tokio::test]
async fn per_resource_faults_hit_only_that_resource() {
    let other = format!("{LOCATION}/pipelineJobs/other");
    let fake = FakeVertex::builder()
        .resource(
            ResourceSpec::new(JOB, State::Running)
                .with_fault(FaultRule::fail(Code::Internal).on_methods(["CancelPipelineJob"])),
        )
        .pipeline_job(&other, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let err = client
        .cancel_pipeline_job(CancelPipelineJobRequest { name: JOB.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    client
        .cancel_pipeline_job(CancelPipelineJobRequest { name: other })
        .await
        .unwrap();
    assert_eq!(
        fake.state_of(JOB),
        Some(State::Running),
        "the fault stopped the cancel"
    );
}

#[tokio::test]
async fn delay_then_auth_then_fault() {
    let delay = Duration::from_millis(60);
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .fault(FaultRule::slow(delay).on_methods(["GetPipelineJob"]))
        .fault(FaultRule::fail(Code::Unavailable).on_methods(["GetPipelineJob"]))
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    // Without a token, auth answers before the injected fault...
    let err = client.get_pipeline_job(get_job()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // ...with one, the fault answers.
    let err = client
        .get_pipeline_job(with_auth(get_job(), &format!("Bearer {TOKEN}")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    // Both were delayed first.
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.duration >= delay), "{calls:?}");
}

#[tokio::test]
async fn an_abandoned_call_is_logged_as_deadline_exceeded() {
    let fake = FakeVertex::builder()
        .pipeline_job(JOB, State::Running)
        .fault(FaultRule::slow(Duration::from_secs(30)))
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let mut request = get_job();
    request.set_timeout(Duration::from_millis(50));
    let err = client.get_pipeline_job(request).await.unwrap_err();
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err:?}"
    );
    let calls = poll_until(async || fake.calls(), |c| !c.is_empty()).await;
    assert_eq!(calls[0].code, Code::DeadlineExceeded);
    assert_eq!(calls[0].deadline, Some(Duration::from_millis(50)));
}

#[tokio::test]
async fn the_call_log_records_headers_deadline_code_and_cuts_the_token() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .nas_job(NAS, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = jobs(&fake).await;
    let mut request = with_auth(
        Request::new(GetNasJobRequest { name: NAS.into() }),
        &format!("Bearer {TOKEN}"),
    );
    request.metadata_mut().insert(
        "x-goog-request-params",
        MetadataValue::try_from(format!("name={NAS}")).unwrap(),
    );
    request.set_timeout(Duration::from_secs(5));
    client.get_nas_job(request).await.unwrap();
    let missing = format!("{LOCATION}/nasJobs/404");
    let err = client
        .get_nas_job(with_auth(
            Request::new(GetNasJobRequest {
                name: missing.clone(),
            }),
            &format!("Bearer {TOKEN}"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    let first = &calls[0];
    assert_eq!(
        first.method,
        "/google.cloud.aiplatform.v1.JobService/GetNasJob"
    );
    assert_eq!(first.rpc, "GetNasJob");
    assert_eq!(first.target, NAS);
    assert_eq!(first.code, Code::Ok);
    assert_eq!(first.deadline, Some(Duration::from_secs(5)));
    assert_eq!(first.header("authorization"), Some("Bearer ya29.…"));
    assert_eq!(
        first.header("x-goog-request-params"),
        Some(format!("name={NAS}").as_str())
    );
    assert!(first.header("te").is_some(), "all headers are kept");
    let line = first.to_json_line();
    assert!(!line.contains(TOKEN), "the token never reaches the log");
    assert_eq!(calls[1].target, missing);
    assert_eq!(calls[1].code, Code::NotFound);
    assert_eq!(calls[1].deadline, None);

    fake.clear_calls();
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn recording_can_be_turned_off() {
    let fake = FakeVertex::builder()
        .record_calls(false)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    pipelines(&fake)
        .await
        .get_pipeline_job(get_job())
        .await
        .unwrap();
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn the_documented_scenario_file_drives_the_fake() {
    let dir = tempdir();
    let path = dir.join("scenario.json");
    std::fs::write(
        &path,
        r#"{"cancel_delay_ms": 600,
 "faults": [{"methods": ["CancelOperation"], "code": "UNIMPLEMENTED"}],
 "resources": [
  {"name": "projects/p/locations/us-central1/pipelineJobs/a", "state": "RUNNING",
   "cancel_outcome": "CANCELLED",
   "faults": [{"methods": ["GetPipelineJob"], "code": "UNAVAILABLE", "fail_first": 2, "retry_delay_ms": 250}]},
  {"name": "projects/p/locations/europe-west4/nasJobs/7", "state": "FAILED"},
  {"name": "projects/p/locations/us-central1/operations/9", "state": "RUNNING"}]}"#,
    )
    .unwrap();
    let fake = FakeVertex::builder()
        .scenario(Scenario::from_file(&path).unwrap())
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    for _ in 0..2 {
        let err = client.get_pipeline_job(get_job()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
    }
    assert_eq!(
        client
            .get_pipeline_job(get_job())
            .await
            .unwrap()
            .into_inner()
            .state(),
        PipelineState::Running
    );
    let err = operations(&fake)
        .await
        .cancel_operation(CancelOperationRequest { name: OP.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    let nas = jobs(&fake)
        .await
        .get_nas_job(GetNasJobRequest {
            name: "projects/p/locations/europe-west4/nasJobs/7".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nas.error.map(|e| e.code), Some(13));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bad_seeds_fail_start_with_typed_errors() {
    let err = FakeVertex::builder()
        .pipeline_job("projects/p/pipelineJobs/a", State::Running)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, FakeError::InvalidResource { .. }), "{err:?}");
    let err = FakeVertex::builder()
        .fault(FaultRule::fail(Code::Internal).on_methods(["CreatePipelineJob"]))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, FakeError::InvalidFault { .. }), "{err:?}");
    let taken = FakeVertex::builder().start().await.unwrap();
    let err = FakeVertex::builder()
        .port(taken.addr().port())
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, FakeError::Bind { .. }), "{err:?}");
}

/// A fresh directory under the system temp dir, unique to this process and call.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vertex-cancel-fake-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The codes `calls` Gets of [`JOB`] got from a fake run with `scenario`, with the number of
/// RESOURCE_EXHAUSTED answers that carried a RetryInfo; every call is in the log.
async fn codes_under(scenario: &str, calls: usize) -> (Vec<Code>, usize) {
    let fake = FakeVertex::builder()
        .scenario(Scenario::from_json(scenario).unwrap())
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let mut codes = Vec::with_capacity(calls);
    let mut with_retry_info = 0;
    for _ in 0..calls {
        let code = match client.get_pipeline_job(get_job()).await {
            Ok(_) => Code::Ok,
            Err(status) => {
                with_retry_info += usize::from(status.get_details_retry_info().is_some());
                status.code()
            }
        };
        codes.push(code);
    }
    let logged: Vec<Code> = fake.calls().iter().map(|c| c.code).collect();
    assert_eq!(
        logged, codes,
        "the call log holds every call with its answer"
    );
    (codes, with_retry_info)
}

#[tokio::test]
async fn every_nth_call_faults() {
    let scenario =
        r#"{"faults": [{"methods": ["GetPipelineJob"], "code": "UNAVAILABLE", "every": 3}]}"#;
    let (codes, _) = codes_under(scenario, 9).await;
    let failed: Vec<usize> = (0..9).filter(|&i| codes[i] != Code::Ok).collect();
    assert_eq!(failed, [2, 5, 8]);
}

#[tokio::test]
async fn seeded_fractions_of_calls_fault_the_same_way_every_run() {
    let scenario = r#"{"faults": [
        {"code": "UNAVAILABLE", "probability": 0.2, "seed": 7},
        {"code": "RESOURCE_EXHAUSTED", "probability": 0.125, "seed": 7, "retry_delay_ms": 100}]}"#;
    let (first, retry_infos) = codes_under(scenario, 500).await;
    let (second, _) = codes_under(scenario, 500).await;
    assert_eq!(first, second, "one seed, one sequence of faults");
    let count = |code| first.iter().filter(|c| **c == code).count();
    let (unavailable, exhausted) = (count(Code::Unavailable), count(Code::ResourceExhausted));
    assert!(
        (70..=130).contains(&unavailable),
        "{unavailable} UNAVAILABLE of 500"
    );
    assert!(
        (30..=75).contains(&exhausted),
        "{exhausted} RESOURCE_EXHAUSTED of 500"
    );
    assert_eq!(unavailable + exhausted + count(Code::Ok), 500);
    assert_eq!(
        retry_infos, exhausted,
        "each RESOURCE_EXHAUSTED carries its RetryInfo"
    );
}
