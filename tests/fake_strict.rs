#![cfg(feature = "raw-stubs")]
//! The fake is as strict as Vertex AI: what Google refuses, the fake refuses, and the client and
//! the fake agree on what a valid name is.

#![cfg(feature = "fake")]

mod fake_common;

use std::time::Duration;

use fake_common::*;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request};
use vertex_cancel::fake::{FakeError, FakeVertex, FaultRule, ResourceSpec, Scenario};
use vertex_cancel::proto::google::cloud::aiplatform::v1::GetPipelineJobRequest;
use vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
use vertex_cancel::{State, Target};

const TOKEN: &str = "ya29.fake-token-for-strict-tests";

#[test]
fn a_scenario_that_is_not_an_object_is_refused() {
    for text in [
        "[]",
        "[0, [], []]",
        r#"{"resources": [["projects/p/locations/l/pipelineJobs/a"]]}"#,
    ] {
        let err = Scenario::from_json(text).unwrap_err();
        assert!(
            matches!(err, FakeError::ScenarioJson { .. }),
            "{text}: {err:?}"
        );
        let reason = std::error::Error::source(&err).unwrap().to_string();
        assert!(reason.contains("expected"), "{text}: {reason}");
    }
    assert!(Scenario::from_json("{}").is_ok());
}

#[tokio::test]
async fn upper_case_locations_are_refused() {
    let upper = "projects/p/locations/US-central1/pipelineJobs/a";
    let err = FakeVertex::builder()
        .pipeline_job(upper, State::Running)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, FakeError::InvalidResource { .. }), "{err:?}");

    let fake = FakeVertex::builder().start().await.unwrap();
    let err = pipelines(&fake)
        .await
        .get_pipeline_job(GetPipelineJobRequest { name: upper.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}

#[tokio::test]
async fn duplicate_resource_names_are_refused() {
    let text = format!(
        r#"{{"resources": [{{"name": "{JOB}", "state": "RUNNING"}},
                           {{"name": "{NAS}"}},
                           {{"name": "{JOB}", "state": "SUCCEEDED"}}]}}"#
    );
    match Scenario::from_json(&text) {
        Err(FakeError::InvalidResource { name, reason }) => {
            assert_eq!(name, JOB);
            assert!(reason.contains("more than once"), "{reason}");
        }
        other => panic!("expected InvalidResource, got {other:?}"),
    }
    let err = FakeVertex::builder()
        .pipeline_job(JOB, State::Running)
        .resource(ResourceSpec::new(JOB, State::Succeeded))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, FakeError::InvalidResource { .. }), "{err:?}");
}

#[tokio::test]
async fn two_authorization_headers_are_refused_even_if_the_first_is_right() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let right = MetadataValue::try_from(format!("Bearer {TOKEN}")).unwrap();
    let mut once = Request::new(GetPipelineJobRequest { name: JOB.into() });
    once.metadata_mut().insert("authorization", right.clone());
    client.get_pipeline_job(once).await.unwrap();

    for second in [right.clone(), MetadataValue::from_static("Bearer other")] {
        let mut twice = Request::new(GetPipelineJobRequest { name: JOB.into() });
        twice.metadata_mut().append("authorization", right.clone());
        twice.metadata_mut().append("authorization", second);
        let err = client.get_pipeline_job(twice).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    }
}

/// The client sends only names the fake accepts, and the fake refuses only names the client
/// would refuse before sending: the two apply one rule.
#[tokio::test]
async fn client_and_fake_agree_on_valid_names() {
    let fake = FakeVertex::builder().start().await.unwrap();
    let mut client = pipelines(&fake).await;
    let base = "projects/p/locations/us-central1/pipelineJobs";
    let names = [
        format!("{base}/a"),
        format!("{base}/0-train-2024"),
        format!("{base}/{}", "a".repeat(128)),
        format!("{base}/{}", "a".repeat(129)),
        "projects/example.com:p/locations/us-central1/pipelineJobs/a".into(),
        "projects/123/locations/global/pipelineJobs/456".into(),
        "projects/p~1/locations/us-central1/pipelineJobs/a".into(),
        format!("{base}/a:b"),
        format!("{base}/a~b"),
        format!("{base}/a.b"),
        format!("{base}/a_b"),
        format!("{base}/A"),
        format!("{base}/-a"),
        format!("{base}/."),
        format!("{base}/.."),
        format!("{base}/a%2Fb"),
        "projects/./locations/us-central1/pipelineJobs/a".into(),
        "projects/p/locations/US-central1/pipelineJobs/a".into(),
        "projects/p/locations/us_central1/pipelineJobs/a".into(),
        "projects/p/locations/us.central1/pipelineJobs/a".into(),
    ];
    let mut refused_by_both = 0;
    for name in &names {
        let client_accepts = name.parse::<Target>().is_ok();
        let answer = client
            .get_pipeline_job(GetPipelineJobRequest { name: name.clone() })
            .await;
        let code = answer.map_or_else(|s| s.code(), |_| Code::Ok);
        let fake_accepts = code != Code::InvalidArgument;
        assert_eq!(
            client_accepts, fake_accepts,
            "{name:?}: client accepts = {client_accepts}, fake answered {code:?}"
        );
        refused_by_both += usize::from(!client_accepts);
    }
    // The list holds both kinds, so the test cannot pass by one side accepting everything.
    assert!(
        (3..names.len() - 2).contains(&refused_by_both),
        "{refused_by_both}"
    );
}

/// A call whose deadline passes is answered DEADLINE_EXCEEDED, as Google answers it, every
/// time: never tonic's CANCELLED "Timeout expired".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_deadline_is_deadline_exceeded_every_time() {
    let fake = FakeVertex::builder()
        .pipeline_job(JOB, State::Running)
        .fault(FaultRule::slow(Duration::from_secs(10)).on_methods(["GetPipelineJob"]))
        .start()
        .await
        .unwrap();
    // A tonic Channel enforces grpc-timeout itself and would report its own CANCELLED; a bare
    // HTTP/2 client runs no timer, so the status seen is the one the fake sent.
    let mut connector = HttpConnector::new();
    // Without it the body trails the headers by a delayed ACK (~40 ms), past the deadline.
    connector.set_nodelay(true);
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build::<_, tonic::body::Body>(connector);
    let mut client = PipelineServiceClient::with_origin(http, fake.endpoint().parse().unwrap());
    for round in 0..20 {
        let mut request = Request::new(GetPipelineJobRequest { name: JOB.into() });
        request.set_timeout(Duration::from_millis(30));
        let err = client.get_pipeline_job(request).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "round {round}: {err:?}");
        let logged = poll_until(|| async { fake.calls().len() }, |n| *n == round + 1).await;
        assert_eq!(logged, round + 1);
        let record = &fake.calls()[round];
        assert_eq!(record.code, Code::DeadlineExceeded, "round {round}");
        assert_eq!(record.deadline, Some(Duration::from_millis(30)));
    }
    fake.shutdown().await.unwrap();
}
