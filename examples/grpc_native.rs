//! Fitting vertex-cancel into your own gRPC stack, against the built-in fake:
//! your own tonic channel, tower layers on every call, the raw generated stubs with this crate's
//! auth for an RPC the facade does not wrap, and an explicit shutdown.
//!
//! Run: `cargo run --example grpc_native` (add `--features metrics` to also record
//! `rpc.client.duration` through the `metrics` facade; install a recorder of your choice).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tonic::transport::Channel;
use vertex_cancel::client::routing_header;
use vertex_cancel::fake::FakeVertex;
use vertex_cancel::proto::google::cloud::aiplatform::v1::BatchCancelPipelineJobsRequest;
use vertex_cancel::{Client, Credentials, State, Target};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let parent = "projects/demo/locations/us-central1";
    let job = format!("{parent}/pipelineJobs/train");
    let fake = FakeVertex::builder()
        .token("example-token")
        .pipeline_job(&job, State::Running)
        .start()
        .await?;

    // 1. Your own channel (service mesh, custom connector, load balancer ...).
    let channel = Channel::from_shared(fake.endpoint())?.connect_lazy();

    // 2. Your own tower layers: a concurrency limit and a request counter here.
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let count_requests = tower::util::MapRequestLayer::new(move |request| {
        counter.fetch_add(1, Ordering::Relaxed);
        request
    });

    let client = Client::builder()
        .credentials(Credentials::static_token("example-token"))
        .channel(fake.endpoint(), channel)
        .layer(count_requests)
        .layer(tower::limit::ConcurrencyLimitLayer::new(64))
        .attempt_timeout(Duration::from_secs(5))
        .build()
        .await?;

    let target: Target = job.parse()?;
    client.cancel(&target).await?;
    println!(
        "cancel sent: {target} is {}",
        client.get(&target).await?.state
    );

    // 3. A raw stub with this crate's auth and headers; the routing header is per request.
    let mut stub = client.pipeline_service("us-central1").await?;
    let mut request = tonic::Request::new(BatchCancelPipelineJobsRequest {
        parent: parent.into(),
        names: vec![job.clone()],
    });
    request
        .metadata_mut()
        .insert("x-goog-request-params", routing_header("parent", parent));
    match stub.batch_cancel_pipeline_jobs(request).await {
        Ok(_) => println!("batch cancel accepted"),
        // The fake serves only the RPCs the facade wraps.
        Err(status) => println!(
            "batch cancel: {:?} (the fake does not serve it)",
            status.code()
        ),
    }

    println!(
        "requests seen by the layer: {}",
        requests.load(Ordering::Relaxed)
    );
    for call in fake.calls() {
        println!("server saw {} {}", call.rpc, call.target);
    }

    // 4. Explicit shutdown: the token task ends and channels close; dropping does the same.
    client.shutdown().await;
    fake.shutdown().await?;
    Ok(())
}
