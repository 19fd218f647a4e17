#![cfg(feature = "raw-stubs")]
//! List with parents, filters and paging, through the raw stubs.

#![cfg(feature = "fake")]

mod fake_common;

use fake_common::*;
use tonic::Code;
use tonic_types::StatusExt;
use vertex_cancel::State;
use vertex_cancel::fake::{FakeVertex, ResourceSpec};
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    ListDataLabelingJobsRequest, ListNasJobsRequest, ListPipelineJobsRequest,
};
use vertex_cancel::proto::google::longrunning::{CancelOperationRequest, ListOperationsRequest};

fn list(parent: &str, filter: &str, page_size: i32, page_token: &str) -> ListPipelineJobsRequest {
    ListPipelineJobsRequest {
        parent: parent.into(),
        filter: filter.into(),
        page_size,
        page_token: page_token.into(),
        ..Default::default()
    }
}

async fn seeded() -> vertex_cancel::fake::FakeHandle {
    let job = |id: &str| format!("{LOCATION}/pipelineJobs/{id}");
    FakeVertex::builder()
        .pipeline_job(job("r1"), State::Running)
        .pipeline_job(job("r2"), State::Running)
        .pipeline_job(job("q1"), State::Queued)
        .pipeline_job(job("f1"), State::Failed)
        .resource(ResourceSpec::new(job("n1"), State::Running).with_display_name("nightly run"))
        .pipeline_job(
            "projects/p/locations/europe-west4/pipelineJobs/e1",
            State::Running,
        )
        .nas_job(NAS, State::Running)
        .start()
        .await
        .unwrap()
}

async fn names(
    client: &mut vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient<tonic::transport::Channel>,
    filter: &str,
) -> Vec<String> {
    let page = client
        .list_pipeline_jobs(list(LOCATION, filter, 0, ""))
        .await
        .unwrap();
    // Pipeline jobs come newest first; these tests are about which jobs, not their order.
    let mut names: Vec<String> = page
        .into_inner()
        .pipeline_jobs
        .into_iter()
        .map(|j| j.name.rsplit('/').next().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn filters_by_state_display_name_and_their_combinations() {
    let fake = seeded().await;
    let mut client = pipelines(&fake).await;
    assert_eq!(names(&mut client, "").await, ["f1", "n1", "q1", "r1", "r2"]);
    assert_eq!(
        names(&mut client, "state=PIPELINE_STATE_RUNNING").await,
        ["n1", "r1", "r2"]
    );
    assert_eq!(
        names(&mut client, r#"state!="PIPELINE_STATE_RUNNING""#).await,
        ["f1", "q1"]
    );
    assert_eq!(
        names(&mut client, r#"display_name="nightly run""#).await,
        ["n1"]
    );
    assert_eq!(
        names(
            &mut client,
            r#"state=PIPELINE_STATE_RUNNING AND display_name="nightly run""#
        )
        .await,
        ["n1"]
    );
    assert_eq!(
        names(
            &mut client,
            "state=PIPELINE_STATE_QUEUED OR state=PIPELINE_STATE_FAILED"
        )
        .await,
        ["f1", "q1"]
    );
}

/// AIP-160 lets one filter mix `AND` and `OR` (`OR` binding tighter), group with parentheses
/// and quote with `'`: Google's Lists take all three, and so does the fake (it once refused
/// the first two).
#[tokio::test]
async fn filters_mix_and_or_group_and_quote_as_aip_160_says() {
    let fake = seeded().await;
    let mut client = pipelines(&fake).await;
    let mixed = "state=PIPELINE_STATE_RUNNING AND state=PIPELINE_STATE_FAILED OR state=PIPELINE_STATE_QUEUED";
    assert!(
        names(&mut client, mixed).await.is_empty(),
        "RUNNING AND (FAILED OR QUEUED)"
    );
    assert_eq!(
        names(
            &mut client,
            r#"(state=PIPELINE_STATE_RUNNING AND display_name="nightly run") OR state=PIPELINE_STATE_QUEUED"#
        )
        .await,
        ["n1", "q1"]
    );
    assert_eq!(
        names(
            &mut client,
            "NOT (state=PIPELINE_STATE_RUNNING OR state=PIPELINE_STATE_QUEUED)"
        )
        .await,
        ["f1"]
    );
    assert_eq!(
        names(&mut client, "display_name='nightly run'").await,
        ["n1"]
    );
}

#[tokio::test]
async fn bad_filters_and_parents_are_invalid_argument() {
    let fake = seeded().await;
    let mut client = pipelines(&fake).await;
    for (parent, filter, field) in [
        (LOCATION, "state=RUNNING", "filter"),
        (LOCATION, "state=JOB_STATE_RUNNING", "filter"),
        (LOCATION, "create_time>\"2020-01-01\"", "filter"),
        (LOCATION, "(state=PIPELINE_STATE_RUNNING", "filter"),
        (
            LOCATION,
            "state=PIPELINE_STATE_RUNNING and state=PIPELINE_STATE_FAILED",
            "filter",
        ),
        ("projects/p", "", "parent"),
        (JOB, "", "parent"),
    ] {
        let err = client
            .list_pipeline_jobs(list(parent, filter, 0, ""))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{filter}");
        let violations = err.get_details_bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, field);
    }
    let err = client
        .list_pipeline_jobs(list(LOCATION, "", -1, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .list_pipeline_jobs(list(LOCATION, "", 0, "garbage"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn pages_through_everything_exactly_once() {
    let specs = (0..25)
        .map(|i| ResourceSpec::new(format!("{LOCATION}/pipelineJobs/j{i:02}"), State::Running));
    let fake = FakeVertex::builder()
        .resources(specs)
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_pipeline_jobs(list(LOCATION, "", 10, &token))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.pipeline_jobs.len() <= 10);
        seen.extend(page.pipeline_jobs.into_iter().map(|j| j.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    seen.sort();
    let want: Vec<String> = (0..25)
        .map(|i| format!("{LOCATION}/pipelineJobs/j{i:02}"))
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn nas_jobs_list_with_job_state_names() {
    let fake = seeded().await;
    let mut client = jobs(&fake).await;
    let page = client
        .list_nas_jobs(ListNasJobsRequest {
            parent: LOCATION.into(),
            filter: "state=JOB_STATE_RUNNING".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.nas_jobs.len(), 1);
    assert_eq!(page.nas_jobs[0].name, NAS);
    assert!(page.next_page_token.is_empty());
}

#[tokio::test]
async fn operations_list_under_their_owner_with_done_filter() {
    let nested = format!("{LOCATION}/pipelineJobs/j/operations/n1");
    let fake = FakeVertex::builder()
        .operation(format!("{LOCATION}/operations/run"), State::Running)
        .operation(format!("{LOCATION}/operations/ok"), State::Succeeded)
        .operation(&nested, State::Running)
        .start()
        .await
        .unwrap();
    let mut client = operations(&fake).await;
    let mut list = async |name: &str, filter: &str| -> Result<Vec<String>, tonic::Status> {
        Ok(client
            .list_operations(ListOperationsRequest {
                name: name.into(),
                filter: filter.into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .operations
            .into_iter()
            .map(|o| o.name)
            .collect())
    };
    assert_eq!(
        list(LOCATION, "").await.unwrap(),
        [
            format!("{LOCATION}/operations/ok"),
            format!("{LOCATION}/operations/run")
        ]
    );
    assert_eq!(
        list(LOCATION, "done=true").await.unwrap(),
        [format!("{LOCATION}/operations/ok")]
    );
    assert_eq!(
        list(LOCATION, "done=false").await.unwrap(),
        [format!("{LOCATION}/operations/run")]
    );
    assert_eq!(
        list(&format!("{LOCATION}/pipelineJobs/j"), "")
            .await
            .unwrap(),
        std::slice::from_ref(&nested)
    );
    let err = list(LOCATION, "state=PIPELINE_STATE_RUNNING")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = list("projects/p", "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_details_bad_request().unwrap().field_violations[0].field,
        "name"
    );

    // A cancelled (CANCELLING) operation is still not done.
    operations(&fake)
        .await
        .cancel_operation(CancelOperationRequest {
            name: nested.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        list(&format!("{LOCATION}/pipelineJobs/j"), "done=false")
            .await
            .unwrap(),
        [nested]
    );
}

/// ListPipelineJobs documents its default order (create time, newest first) and an `order_by`
/// over the time fields; the fake listed by name and ignored `order_by`, which Google's Python
/// client showed (scripts/python_conformance.py).
#[tokio::test]
async fn order_by_orders_and_pipeline_jobs_default_to_newest_first() {
    // Creation order (oldest first) c, a, d, b; name order a, b, c, d.
    let ages = [("a", 3), ("b", 1), ("c", 4), ("d", 2)];
    let fake = FakeVertex::builder()
        .resources(ages.iter().flat_map(|(id, age)| {
            let age = std::time::Duration::from_secs(*age);
            [
                ResourceSpec::new(format!("{LOCATION}/pipelineJobs/{id}"), State::Running)
                    .with_age(age),
                ResourceSpec::new(
                    format!("{LOCATION}/dataLabelingJobs/{}", age.as_secs()),
                    State::Running,
                )
                .with_age(age),
            ]
        }))
        .start()
        .await
        .unwrap();
    let mut client = pipelines(&fake).await;
    let mut listed = async |order_by: &str, page_size: i32| {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let request = ListPipelineJobsRequest {
                order_by: order_by.into(),
                ..list(LOCATION, "", page_size, &token)
            };
            let page = client.list_pipeline_jobs(request).await?.into_inner();
            seen.extend(
                page.pipeline_jobs
                    .iter()
                    .map(|j| j.name.rsplit('/').next().unwrap().to_owned()),
            );
            if page.next_page_token.is_empty() {
                return Ok::<_, tonic::Status>(seen);
            }
            token = page.next_page_token;
        }
    };
    assert_eq!(listed("", 0).await.unwrap(), ["b", "d", "a", "c"]);
    assert_eq!(
        listed("", 1).await.unwrap(),
        ["b", "d", "a", "c"],
        "paged one by one"
    );
    assert_eq!(
        listed("create_time", 3).await.unwrap(),
        ["c", "a", "d", "b"]
    );
    assert_eq!(
        listed("end_time desc, create_time", 2).await.unwrap(),
        ["c", "a", "d", "b"]
    );
    let refused = listed("name", 0).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.get_details_bad_request().unwrap().field_violations[0].field,
        "order_by"
    );

    // ListDataLabelingJobs has an order_by too, and no documented default: name order.
    let mut jobs = jobs(&fake).await;
    let mut labeling = async |order_by: &str| {
        let request = ListDataLabelingJobsRequest {
            parent: LOCATION.into(),
            order_by: order_by.into(),
            ..Default::default()
        };
        let page = jobs
            .list_data_labeling_jobs(request)
            .await
            .unwrap()
            .into_inner();
        page.data_labeling_jobs
            .iter()
            .map(|j| j.name.rsplit('/').next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(labeling("").await, ["1", "2", "3", "4"]);
    assert_eq!(labeling("create_time desc").await, ["1", "2", "3", "4"]);
    assert_eq!(labeling("create_time").await, ["4", "3", "2", "1"]);
}
