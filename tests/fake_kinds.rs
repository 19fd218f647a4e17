#![cfg(feature = "raw-stubs")]
//! The fake's RPCs beyond Cancel/Get/List of one job, through the complete raw stubs (as
//! Google's own clients would call them): BatchCancelPipelineJobs and its operation,
//! ListLocations, `read_mask` on Lists.

#![cfg(feature = "fake")]

mod fake_common;

use std::time::Duration;

use fake_common::*;
use prost::Message;
use tonic::Code;
use vertex_cancel::State;
use vertex_cancel::fake::{CancelOutcome, FakeVertex, ResourceSpec, Scenario};
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    BatchCancelPipelineJobsOperationMetadata, BatchCancelPipelineJobsRequest,
    BatchCancelPipelineJobsResponse, ListCustomJobsRequest, ListPipelineJobsRequest,
};
use vertex_cancel::proto::google::cloud::location::ListLocationsRequest;
use vertex_cancel::proto::google::cloud::location::locations_client::LocationsClient;
use vertex_cancel::proto::google::longrunning::{GetOperationRequest, operation};

fn job(id: &str) -> String {
    format!("{LOCATION}/pipelineJobs/{id}")
}

fn batch(names: impl IntoIterator<Item = String>) -> BatchCancelPipelineJobsRequest {
    BatchCancelPipelineJobsRequest {
        parent: LOCATION.into(),
        names: names.into_iter().collect(),
    }
}

#[tokio::test]
async fn batch_cancel_skips_finished_jobs_and_its_operation_completes_with_the_cancelled_ones() {
    let fake = FakeVertex::builder()
        .cancel_delay(Duration::from_millis(40))
        .pipeline_job(job("a"), State::Running)
        .pipeline_job(job("b"), State::Queued)
        .pipeline_job(job("done"), State::Succeeded)
        .resource(
            ResourceSpec::new(job("late"), State::Running)
                .with_cancel_outcome(CancelOutcome::Failed),
        )
        .pipeline_job(job("untouched"), State::Running)
        .start()
        .await
        .unwrap();
    let mut pipelines = pipelines(&fake).await;
    let op = pipelines
        .batch_cancel_pipeline_jobs(batch(["a", "b", "done", "late"].map(job)))
        .await
        .unwrap()
        .into_inner();
    assert!(
        op.name.starts_with(&format!("{LOCATION}/operations/")),
        "{}",
        op.name
    );
    let metadata = op.metadata.as_ref().unwrap();
    assert!(
        metadata
            .type_url
            .ends_with("BatchCancelPipelineJobsOperationMetadata")
    );
    let metadata = BatchCancelPipelineJobsOperationMetadata::decode(metadata.value.as_slice());
    assert!(metadata.unwrap().generic_metadata.is_some());
    assert!(!op.done, "the jobs are still CANCELLING");
    for id in ["a", "b", "late"] {
        assert_eq!(fake.state_of(&job(id)), Some(State::Cancelling), "{id}");
    }
    assert_eq!(fake.state_of(&job("done")), Some(State::Succeeded));
    assert_eq!(fake.state_of(&job("untouched")), Some(State::Running));

    let operations = operations(&fake).await;
    let get = GetOperationRequest {
        name: op.name.clone(),
    };
    let done = poll_until(
        || {
            let mut ops = operations.clone();
            let get = get.clone();
            async move { ops.get_operation(get).await.unwrap().into_inner() }
        },
        |op| op.done,
    )
    .await;
    let Some(operation::Result::Response(response)) = done.result else {
        panic!("{done:?}")
    };
    assert!(
        response
            .type_url
            .ends_with("BatchCancelPipelineJobsResponse")
    );
    let response = BatchCancelPipelineJobsResponse::decode(response.value.as_slice()).unwrap();
    let mut cancelled: Vec<(String, i32)> = response
        .pipeline_jobs
        .into_iter()
        .map(|j| (j.name, j.state))
        .collect();
    cancelled.sort();
    // PIPELINE_STATE_CANCELLED is 7, PIPELINE_STATE_FAILED 5; the finished job was skipped.
    assert_eq!(cancelled, [(job("a"), 7), (job("b"), 7), (job("late"), 5)]);
    assert_eq!(fake.state_of(&job("a")), Some(State::Cancelled));
    assert_eq!(fake.state_of(&job("late")), Some(State::Failed));
    assert_eq!(fake.state_of(&job("untouched")), Some(State::Running));
    assert_eq!(calls_named(&fake, "BatchCancelPipelineJobs"), 1);
}

#[tokio::test]
async fn a_batch_naming_an_unknown_job_fails_its_operation_and_cancels_none() {
    let fake = one_running_job().await;
    let mut pipelines = pipelines(&fake).await;
    let op = pipelines
        .batch_cancel_pipeline_jobs(batch([job("a"), job("nope")]))
        .await
        .unwrap()
        .into_inner();
    assert!(op.done);
    let Some(operation::Result::Error(status)) = op.result else {
        panic!("{op:?}")
    };
    assert_eq!(status.code, Code::NotFound as i32);
    assert_eq!(fake.state_of(&job("a")), Some(State::Running));
}

#[tokio::test]
async fn batch_cancel_refuses_what_the_proto_forbids() {
    let fake = one_running_job().await;
    let mut pipelines = pipelines(&fake).await;
    let too_many = (0..33).map(|i| job(&i.to_string()));
    let elsewhere = "projects/p/locations/europe-west4/pipelineJobs/a".to_owned();
    for (request, field) in [
        (batch(std::iter::empty()), "names"),
        (batch(too_many), "names"),
        (batch([elsewhere]), "names"),
        (batch([format!("{LOCATION}/customJobs/1")]), "names"),
        (
            BatchCancelPipelineJobsRequest {
                parent: "projects/p".into(),
                names: vec![job("a")],
            },
            "parent",
        ),
    ] {
        let err = pipelines
            .batch_cancel_pipeline_jobs(request.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{request:?}");
        assert!(err.message().contains(field), "{}", err.message());
    }
    assert_eq!(fake.state_of(&job("a")), Some(State::Running));
    // 32 is allowed.
    let most = (0..31).map(|i| job(&i.to_string())).chain([job("a")]);
    let op = pipelines
        .batch_cancel_pipeline_jobs(batch(most))
        .await
        .unwrap();
    assert!(
        op.into_inner().done,
        "unknown names fail the operation at once"
    );
    assert_eq!(fake.state_of(&job("a")), Some(State::Running));
}

#[tokio::test]
async fn list_locations_names_the_projects_resource_locations_and_the_scenarios() {
    let scenario = Scenario::from_json(
        r#"{"locations": ["asia-east1"],
            "resources": [
              {"name": "projects/p/locations/us-central1/customJobs/1"},
              {"name": "projects/p/locations/europe-west4/tuningJobs/2"},
              {"name": "projects/other/locations/us-east1/pipelineJobs/x"}]}"#,
    )
    .unwrap();
    let fake = FakeVertex::builder()
        .scenario(scenario)
        .start()
        .await
        .unwrap();
    let mut locations = LocationsClient::new(channel(&fake).await);
    let list = |page_token: &str, page_size| ListLocationsRequest {
        name: "projects/p".into(),
        page_size,
        page_token: page_token.into(),
        ..Default::default()
    };
    let all = locations
        .list_locations(list("", 0))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = all
        .locations
        .iter()
        .map(|l| l.location_id.as_str())
        .collect();
    assert_eq!(ids, ["asia-east1", "europe-west4", "us-central1"]);
    assert_eq!(all.locations[0].name, "projects/p/locations/asia-east1");
    assert!(all.next_page_token.is_empty());

    let first = locations
        .list_locations(list("", 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.locations.len(), 2);
    let rest = locations
        .list_locations(list(&first.next_page_token, 2))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.locations[0].location_id, "us-central1");
    assert!(rest.next_page_token.is_empty());

    for bad in ["projects/p/locations/us-central1", "p", "projects/a b"] {
        let err = locations
            .list_locations(ListLocationsRequest {
                name: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
    }
    assert!(Scenario::from_json(r#"{"locations": [1]}"#).is_err());
    let bad_location = FakeVertex::builder().location("US.evil").start().await;
    assert!(bad_location.is_err());
}

#[tokio::test]
async fn read_mask_returns_only_the_fields_it_names() {
    let custom = format!("{LOCATION}/customJobs/1");
    let fake = FakeVertex::builder()
        .resource(
            ResourceSpec::new(&custom, State::Failed)
                .with_display_name("nightly")
                .with_label("team", "search"),
        )
        .pipeline_job(job("a"), State::Running)
        .start()
        .await
        .unwrap();
    let mask = |paths: &[&str]| {
        Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        })
    };
    let mut jobs = jobs(&fake).await;
    let listed = jobs
        .list_custom_jobs(ListCustomJobsRequest {
            parent: LOCATION.into(),
            read_mask: mask(&["name", "state", "error"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .custom_jobs;
    assert_eq!(listed.len(), 1);
    let got = &listed[0];
    assert_eq!((got.name.as_str(), got.state), (custom.as_str(), 5));
    assert_eq!(got.error.as_ref().map(|e| e.code), Some(13));
    assert!(got.display_name.is_empty() && got.labels.is_empty() && got.create_time.is_none());

    let full = jobs
        .list_custom_jobs(ListCustomJobsRequest {
            parent: LOCATION.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .custom_jobs;
    assert_eq!(full[0].display_name, "nightly");

    let mut pipelines = pipelines(&fake).await;
    let err = pipelines
        .list_pipeline_jobs(ListPipelineJobsRequest {
            parent: LOCATION.into(),
            read_mask: mask(&["name", "no_such_field"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("read_mask"), "{}", err.message());

    // Any field of Google's resource may be named, modelled or not (Google's Python client got
    // INVALID_ARGUMENT for `pipeline_spec`); the fake has no spec to return, so it is unset.
    let listed = pipelines
        .list_pipeline_jobs(ListPipelineJobsRequest {
            parent: LOCATION.into(),
            read_mask: mask(&["name", "pipeline_spec", "runtime_config.parameter_values"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .pipeline_jobs;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, job("a"));
    assert_eq!(listed[0].state, 0, "state is not in the mask");
    assert!(listed[0].pipeline_spec.is_none());
    let listed = jobs
        .list_custom_jobs(ListCustomJobsRequest {
            parent: LOCATION.into(),
            read_mask: mask(&["job_spec", "error.code"]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .custom_jobs;
    assert_eq!(listed[0].error.as_ref().map(|e| e.code), Some(13));
    assert!(listed[0].name.is_empty());
}

async fn one_running_job() -> vertex_cancel::fake::FakeHandle {
    FakeVertex::builder()
        .pipeline_job(job("a"), State::Running)
        .start()
        .await
        .unwrap()
}

fn calls_named(fake: &vertex_cancel::fake::FakeHandle, rpc: &str) -> usize {
    fake.calls().iter().filter(|c| c.rpc == rpc).count()
}
