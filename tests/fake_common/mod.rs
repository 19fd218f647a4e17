//! Helpers shared by the `fake_*` integration tests: raw clients and bounded polling.

#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use vertex_cancel::fake::FakeHandle;
use vertex_cancel::proto::google::cloud::aiplatform::v1::job_service_client::JobServiceClient;
use vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
use vertex_cancel::proto::google::longrunning::operations_client::OperationsClient;

pub(crate) const LOCATION: &str = "projects/p/locations/us-central1";
pub(crate) const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";
pub(crate) const NAS: &str = "projects/p/locations/us-central1/nasJobs/7";
pub(crate) const OP: &str = "projects/p/locations/us-central1/operations/9";

/// How long polling for a lazily settling state may take before the test fails.
pub(crate) const POLL_BUDGET: Duration = Duration::from_secs(2);

pub(crate) async fn channel(fake: &FakeHandle) -> Channel {
    Channel::from_shared(fake.endpoint())
        .expect("endpoint is a valid URI")
        .connect()
        .await
        .expect("fake accepts connections")
}

pub(crate) async fn pipelines(fake: &FakeHandle) -> PipelineServiceClient<Channel> {
    PipelineServiceClient::new(channel(fake).await)
}

pub(crate) async fn jobs(fake: &FakeHandle) -> JobServiceClient<Channel> {
    JobServiceClient::new(channel(fake).await)
}

pub(crate) async fn operations(fake: &FakeHandle) -> OperationsClient<Channel> {
    OperationsClient::new(channel(fake).await)
}

/// Polls `read` every 10 ms until it returns `want`, failing the test after [`POLL_BUDGET`].
/// Returns the value read.
pub(crate) async fn poll_until<T, F, Fut>(mut read: F, want: impl Fn(&T) -> bool) -> T
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let start = Instant::now();
    loop {
        let value = read().await;
        if want(&value) {
            return value;
        }
        assert!(
            start.elapsed() < POLL_BUDGET,
            "still {value:?} after {POLL_BUDGET:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
