//! How many cancels per second the fake serves: 100,000 seeded pipeline jobs, one HTTP/2
//! channel, 64 calls in flight, the raw generated stub (the baseline the facade is measured
//! against). Client and server share one process and runtime, so the figure is a floor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use tonic::transport::Channel;
use vertex_cancel::State;
use vertex_cancel::fake::{FakeVertex, ResourceSpec};
use vertex_cancel::proto::google::cloud::aiplatform::v1::CancelPipelineJobRequest;
use vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;

const RESOURCES: usize = 100_000;
const CONCURRENCY: usize = 64;
/// Cancels per measured iteration.
const BATCH: usize = 10_000;

fn job(i: usize) -> String {
    format!("projects/p/locations/us-central1/pipelineJobs/j{i:06}")
}

fn cancels(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let names: Vec<String> = (0..RESOURCES).map(job).collect();
    let fake = rt
        .block_on(
            FakeVertex::builder()
                // Long enough that every cancel in the run finds a live or CANCELLING job.
                .cancel_delay(Duration::from_secs(24 * 3600))
                .record_calls(false)
                .resources(names.iter().map(|n| ResourceSpec::new(n, State::Running)))
                .start(),
        )
        .expect("fake starts");
    let channel = rt
        .block_on(
            Channel::from_shared(fake.endpoint())
                .expect("endpoint")
                .connect(),
        )
        .expect("connects");
    let client = PipelineServiceClient::new(channel);
    let next = AtomicUsize::new(0);

    let mut group = c.benchmark_group("fake");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.bench_function("cancel_pipeline_job/100k_seeded/c64", |b| {
        b.to_async(&rt).iter(|| {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            let client = client.clone();
            let names = &names;
            async move {
                futures::stream::iter(start..start + BATCH)
                    .map(|i| {
                        let mut client = client.clone();
                        let name = names[i % RESOURCES].clone();
                        async move {
                            client
                                .cancel_pipeline_job(CancelPipelineJobRequest { name })
                                .await
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .for_each(|result| {
                        result.expect("cancel answered OK");
                        async {}
                    })
                    .await;
            }
        });
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, cancels);
criterion_main!(benches);
