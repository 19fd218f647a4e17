//! The test bed every benchmark shares: the built-in fake on loopback, one tonic channel with
//! TCP_NODELAY, the raw generated stub on it, and the facade twice (on that same channel, and on
//! its own default channel). Only the facade differs between the rows it feeds.

#![allow(dead_code)] // each bench target uses part of it

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use vertex_cancel::client::routing_header;
use vertex_cancel::fake::{FakeHandle, FakeVertex, ResourceSpec};
use vertex_cancel::proto::google::cloud::aiplatform::v1::CancelPipelineJobRequest;
use vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
use vertex_cancel::{CancelMany, Client, Credentials, Outcome, State, Target};

/// Pipeline jobs seeded in the fake; the one-cancel benches cycle through them.
pub(crate) const JOBS: usize = 10_000;

/// The bearer token every row sends (the fake requires it), so every row carries the same
/// `authorization` header the facade sends.
const TOKEN: &str = "bench-token-0123456789abcdef0123456789abcdef";

/// The facade's per-attempt deadline (its default attempt timeout), sent by the
/// header-matched raw row as `grpc-timeout`.
const DEADLINE: Duration = vertex_cancel::client::DEFAULT_ATTEMPT_TIMEOUT;

/// An `x-goog-api-client` value of the facade's shape (rustc, crate and tonic versions).
const API_CLIENT: &str = "gl-rust/1.95.0 gccl/0.1.0 grpc/0.14.2";

/// A fake with `jobs` pipeline jobs, all moved to CANCELLING before any measurement, so every
/// measured cancel takes the same path (OK, no change) in every row.
pub(crate) struct Bed {
    pub(crate) fake: FakeHandle,
    pub(crate) names: Arc<Vec<String>>,
    pub(crate) targets: Arc<Vec<Target>>,
    pub(crate) raw: PipelineServiceClient<Channel>,
    /// The facade on the raw stub's own channel.
    pub(crate) shared: Client,
    /// The facade on the channel it makes itself from the endpoint.
    pub(crate) own: Client,
}

pub(crate) fn job(i: usize) -> String {
    format!("projects/p/locations/us-central1/pipelineJobs/j{i:06}")
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

impl Bed {
    pub(crate) async fn start(jobs: usize) -> Bed {
        let names: Vec<String> = (0..jobs).map(job).collect();
        let fake = FakeVertex::builder()
            // No job reaches a terminal state during a run: a cancel of a terminal job would be
            // FAILED_PRECONDITION, and the facade would add a Get.
            .cancel_delay(Duration::from_secs(24 * 3600))
            .record_calls(false)
            .token(TOKEN)
            .resources(names.iter().map(|n| ResourceSpec::new(n, State::Running)))
            .start()
            .await
            .expect("fake starts");
        let channel = Channel::from_shared(fake.endpoint())
            .expect("endpoint")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connects");
        let shared = Client::builder()
            .credentials(Credentials::static_token(TOKEN))
            .channel(fake.endpoint(), channel.clone())
            .build()
            .await
            .expect("client on the shared channel");
        let own = Client::builder()
            .credentials(Credentials::static_token(TOKEN))
            .endpoint(fake.endpoint())
            .build()
            .await
            .expect("client on its own channel");
        let targets = names
            .iter()
            .map(|n| n.parse().expect("valid name"))
            .collect();
        let bed = Bed {
            fake,
            names: Arc::new(names),
            targets: Arc::new(targets),
            raw: PipelineServiceClient::new(channel),
            shared,
            own,
        };
        bed.raw_matched_batch(0, jobs, 256).await;
        // Connect the facade's own channel before anything is timed.
        bed.facade_batch(&bed.own, 0, 1, 1).await;
        bed
    }

    /// `n` cancels through the raw stub, `concurrency` in flight, from job `start` on, with
    /// only the `authorization` header the fake requires.
    pub(crate) async fn raw_batch(&self, start: usize, n: usize, concurrency: usize) {
        let bearer = AsciiMetadataValue::try_from(format!("Bearer {TOKEN}")).expect("header");
        self.raw_loop(start, n, concurrency, |name| {
            let mut request = tonic::Request::new(CancelPipelineJobRequest { name });
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
            request
        })
        .await;
    }

    /// As [`raw_batch`](Self::raw_batch), each request carrying every header the facade sends
    /// (`authorization`, `x-goog-api-client`, `x-goog-request-params`) and its deadline
    /// (`grpc-timeout`): the honest floor for any correct client.
    pub(crate) async fn raw_matched_batch(&self, start: usize, n: usize, concurrency: usize) {
        let bearer = AsciiMetadataValue::try_from(format!("Bearer {TOKEN}")).expect("header");
        let api_client = AsciiMetadataValue::from_static(API_CLIENT);
        self.raw_loop(start, n, concurrency, |name| {
            let routing = routing_header("name", &name);
            let mut request = tonic::Request::new(CancelPipelineJobRequest { name });
            request.set_timeout(DEADLINE);
            let headers = request.metadata_mut();
            headers.insert("authorization", bearer.clone());
            headers.insert("x-goog-api-client", api_client.clone());
            headers.insert("x-goog-request-params", routing);
            request
        })
        .await;
    }

    async fn raw_loop(
        &self,
        start: usize,
        n: usize,
        concurrency: usize,
        request: impl Fn(String) -> tonic::Request<CancelPipelineJobRequest>,
    ) {
        let names = &self.names;
        let request = &request;
        stream::iter(start..start + n)
            .map(|i| {
                let mut stub = self.raw.clone();
                let name = names[i % names.len()].clone();
                async move {
                    stub.cancel_pipeline_job(request(name))
                        .await
                        .expect("raw cancel answered OK");
                }
            })
            .buffer_unordered(concurrency)
            .for_each(|()| async {})
            .await;
    }

    /// `n` cancels through `client.cancel`, `concurrency` in flight, from job `start` on.
    pub(crate) async fn facade_batch(
        &self,
        client: &Client,
        start: usize,
        n: usize,
        concurrency: usize,
    ) {
        let targets = &self.targets;
        stream::iter(start..start + n)
            .map(|i| {
                let target = &targets[i % targets.len()];
                async move { client.cancel(target).await.expect("facade cancel OK") }
            })
            .buffer_unordered(concurrency)
            .for_each(|()| async {})
            .await;
    }

    /// `cancel_many` over the first `n` targets (cloned as the stream is read), pipeline jobs
    /// in batches or one cancel each.
    pub(crate) async fn facade_many(
        &self,
        client: &Client,
        n: usize,
        concurrency: usize,
        batch: bool,
    ) {
        let targets = Arc::clone(&self.targets);
        let input = stream::iter(0..n).map(move |i| targets[i % targets.len()].clone());
        let options = CancelMany::default().concurrency(concurrency).batch(batch);
        let reports = client.cancel_many(input, options);
        let count = reports
            .map(|(target, result)| match result {
                Ok(Outcome::Requested) => {}
                other => panic!("{target}: {other:?}"),
            })
            .count()
            .await;
        assert_eq!(count, n, "every target reported once");
    }
}

/// Wall-clock and process CPU time (every thread: client, fake, runtime) of one piece of work.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cost {
    pub(crate) wall: Duration,
    pub(crate) cpu: Duration,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            wall: self.wall + other.wall,
            cpu: self.cpu + other.cpu,
        }
    }
}

/// CPU time consumed so far by every thread of this process.
pub(crate) fn process_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or_default(),
        u32::try_from(now.tv_nsec).unwrap_or_default(),
    )
}

/// Times one future, in wall-clock and CPU time.
pub(crate) async fn timed(work: impl Future<Output = ()>) -> Cost {
    let (started, cpu) = (Instant::now(), process_cpu());
    work.await;
    Cost {
        wall: started.elapsed(),
        cpu: process_cpu().saturating_sub(cpu),
    }
}

/// The median of `values` (sorted in place).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        f64::midpoint(values[mid - 1], values[mid])
    }
}
