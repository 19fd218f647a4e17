#![cfg(feature = "raw-stubs")]
//! A hostile server that answers every List page with the same `next_page_token`: paging ends
//! with a typed error at once instead of looping, and a bulk cancel's confirmation of a group
//! falls back to Gets instead of hanging.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TOKEN, fast_retry, quick_wait, target};
use futures::StreamExt;
use tonic::{Request, Response, Status};
use vertex_cancel::proto::google::cloud::aiplatform::v1 as aip;
use vertex_cancel::{CancelMany, Client, Credentials, Error, LocationName, Outcome};

use aip::pipeline_service_server::{PipelineService, PipelineServiceServer};

/// Every job is CANCELLED; every List page holds one job and the same next page token.
#[derive(Clone, Default)]
struct RepeatingToken {
    lists: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl PipelineService for RepeatingToken {
    async fn cancel_pipeline_job(
        &self,
        _: Request<aip::CancelPipelineJobRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn get_pipeline_job(
        &self,
        request: Request<aip::GetPipelineJobRequest>,
    ) -> Result<Response<aip::PipelineJob>, Status> {
        Ok(Response::new(aip::PipelineJob {
            name: request.into_inner().name,
            state: aip::PipelineState::Cancelled as i32,
            ..Default::default()
        }))
    }

    async fn list_pipeline_jobs(
        &self,
        request: Request<aip::ListPipelineJobsRequest>,
    ) -> Result<Response<aip::ListPipelineJobsResponse>, Status> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let parent = request.into_inner().parent;
        Ok(Response::new(aip::ListPipelineJobsResponse {
            pipeline_jobs: vec![aip::PipelineJob {
                name: format!("{parent}/pipelineJobs/other"),
                state: aip::PipelineState::Succeeded as i32,
                ..Default::default()
            }],
            next_page_token: "again".into(),
        }))
    }
}

async fn hostile() -> (RepeatingToken, Client) {
    let service = RepeatingToken::default();
    let client = serve(service.clone()).await;
    (service, client)
}

/// `service` on 127.0.0.1, and a client of it.
async fn serve(service: impl PipelineService) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server =
        tonic::transport::Server::builder().add_service(PipelineServiceServer::new(service));
    tokio::spawn(server.serve_with_incoming(incoming));
    Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .credentials(Credentials::static_token(TOKEN))
        .retry(fast_retry())
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_repeated_page_token_ends_a_list_with_an_error() {
    let (service, client) = hostile().await;
    let parent: LocationName = "projects/p/locations/us-central1".parse().unwrap();
    let items: Vec<_> = tokio::time::timeout(
        Duration::from_secs(5),
        client.list_pipeline_jobs(&parent, None).collect::<Vec<_>>(),
    )
    .await
    .expect("paging ends");
    let last = items.last().expect("an item");
    assert!(
        matches!(last, Err(Error::InvalidResponse { .. })),
        "{last:?}"
    );
    // The first page's item; the second page repeats its token and ends the List.
    assert_eq!(service.lists.load(Ordering::SeqCst), 2);
    assert_eq!(items.iter().filter(|item| item.is_ok()).count(), 1);
}

#[tokio::test]
async fn confirmation_falls_back_to_gets_when_paging_never_ends() {
    let (_service, client) = hostile().await;
    let names: Vec<String> = (0..5)
        .map(|i| format!("projects/p/locations/us-central1/pipelineJobs/j{i}"))
        .collect();
    let targets = futures::stream::iter(names.iter().map(|n| target(n)).collect::<Vec<_>>());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(3)));
    let reports: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        client.cancel_many(targets, options).collect::<Vec<_>>(),
    )
    .await
    .expect("the bulk cancel ends");
    assert_eq!(reports.len(), names.len());
    for (target, report) in reports {
        assert!(
            matches!(report, Ok(Outcome::Cancelled { .. })),
            "{target}: {report:?}"
        );
    }
}

/// Pages that shift under the List: the second page repeats a job of the first (as an offset
/// page token does when a job is created meanwhile).
#[derive(Clone, Default)]
struct ShiftingPages;

#[tonic::async_trait]
impl PipelineService for ShiftingPages {
    async fn list_pipeline_jobs(
        &self,
        request: Request<aip::ListPipelineJobsRequest>,
    ) -> Result<Response<aip::ListPipelineJobsResponse>, Status> {
        let request = request.into_inner();
        let job = |id: &str| aip::PipelineJob {
            name: format!("{}/pipelineJobs/{id}", request.parent),
            state: aip::PipelineState::Running as i32,
            ..Default::default()
        };
        let (jobs, next) = match request.page_token.as_str() {
            "" => (vec![job("a"), job("b")], "2"),
            _ => (vec![job("b"), job("c")], ""),
        };
        Ok(Response::new(aip::ListPipelineJobsResponse {
            pipeline_jobs: jobs,
            next_page_token: next.into(),
        }))
    }
}

#[tokio::test]
async fn a_sweep_finds_a_job_repeated_across_pages_once() {
    let client = serve(ShiftingPages).await;
    let search = vertex_cancel::client::JobSearch::new("p")
        .locations(["us-central1"])
        .kinds([vertex_cancel::TargetKind::PipelineJob]);
    let found: Vec<String> = tokio::time::timeout(
        Duration::from_secs(5),
        client.find_live_jobs(&search).unwrap().collect::<Vec<_>>(),
    )
    .await
    .expect("the sweep ends")
    .into_iter()
    .map(|finding| match finding {
        vertex_cancel::client::Finding::Job(job) => job.target.id().to_owned(),
        vertex_cancel::client::Finding::ListFailed(failure) => panic!("{failure:?}"),
    })
    .collect();
    assert_eq!(found, ["a", "b", "c"], "each job found once");
}
