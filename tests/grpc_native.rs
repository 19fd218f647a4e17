#![cfg(feature = "raw-stubs")]
//! Fitting into a caller's gRPC stack: their own channel, their tower layers, the raw stubs with
//! this crate's auth, and a shutdown that leaves no task behind.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TOKEN, builder, calls_of};
use tonic::transport::Channel;
use vertex_cancel::client::routing_header;
use vertex_cancel::fake::{FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    BatchCancelPipelineJobsRequest, GetPipelineJobRequest,
};
use vertex_cancel::{Client, Credentials, Error, Service, State, Target};

const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";

fn target() -> Target {
    JOB.parse().unwrap()
}

#[tokio::test]
async fn a_caller_channel_keeps_auth_headers_and_retry() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resource(
            ResourceSpec::new(JOB, State::Running)
                .with_fault(FaultRule::fail(tonic::Code::Unavailable).first(1)),
        )
        .start()
        .await
        .unwrap();
    let own = Channel::from_shared(fake.endpoint())
        .unwrap()
        .connect_lazy();
    let client = Client::builder()
        .credentials(Credentials::static_token(TOKEN))
        .retry(common::fast_retry())
        .channel(fake.endpoint(), own)
        .build()
        .await
        .unwrap();
    client.cancel(&target()).await.unwrap();
    let cancels = calls_of(&fake, "CancelPipelineJob");
    assert_eq!(cancels.len(), 2, "retried through the caller's channel");
    let last = &cancels[1];
    assert!(last.header("authorization").unwrap().starts_with("Bearer "));
    assert!(
        last.header("x-goog-request-params")
            .unwrap()
            .starts_with("name=")
    );
}

#[tokio::test]
async fn a_caller_channel_to_a_plaintext_remote_host_gets_no_token() {
    let fake = FakeVertex::builder().start().await.unwrap();
    let own = Channel::from_shared(fake.endpoint())
        .unwrap()
        .connect_lazy();
    let err = Client::builder()
        .credentials(Credentials::static_token(TOKEN))
        .channel("http://mesh.internal:8080", own)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureEndpoint { .. }), "{err:?}");
}

#[tokio::test]
async fn layers_see_every_attempt() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resource(
            ResourceSpec::new(JOB, State::Running)
                .with_fault(FaultRule::fail(tonic::Code::Unavailable).first(2)),
        )
        .start()
        .await
        .unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let client = builder(&fake)
        .layer(tower::util::MapRequestLayer::new(
            move |request: http::Request<tonic::body::Body>| {
                counter.fetch_add(1, Ordering::SeqCst);
                request
            },
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(8))
        .build()
        .await
        .unwrap();
    client.get(&target()).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(seen.load(Ordering::SeqCst), fake.calls().len());
}

#[tokio::test]
async fn raw_stubs_carry_auth_and_api_headers() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .quota_project("billing")
        .build()
        .await
        .unwrap();

    let mut stub = client.pipeline_service("us-central1").await.unwrap();
    let mut request = tonic::Request::new(GetPipelineJobRequest { name: JOB.into() });
    request
        .metadata_mut()
        .insert("x-goog-request-params", routing_header("name", JOB));
    let job = stub.get_pipeline_job(request).await.unwrap().into_inner();
    assert_eq!(job.name, JOB);

    // An RPC the facade does not wrap goes out with the same plumbing.
    let parent = "projects/p/locations/us-central1";
    let mut request = tonic::Request::new(BatchCancelPipelineJobsRequest {
        parent: parent.into(),
        names: vec![JOB.into()],
    });
    request
        .metadata_mut()
        .insert("x-goog-request-params", routing_header("parent", parent));
    let op = stub.batch_cancel_pipeline_jobs(request).await.unwrap();
    assert!(op.into_inner().name.starts_with(parent));
    assert_eq!(fake.state_of(JOB), Some(State::Cancelling));

    for call in fake.calls() {
        assert!(
            call.header("authorization").unwrap().starts_with("Bearer "),
            "{call:?}"
        );
        assert!(
            call.header("x-goog-api-client")
                .unwrap()
                .starts_with("gl-rust/")
        );
        assert_eq!(call.header("x-goog-user-project"), Some("billing"));
        assert!(call.header("x-goog-request-params").is_some());
    }
    assert_eq!(fake.calls().len(), 2);

    let mut operations = client
        .operations(Service::AutoMl, "us-central1")
        .await
        .unwrap();
    drop(operations.clone());
    let err = client
        .pipeline_service("us-central1.evil.com")
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err:?}");
    let _ = &mut operations;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_outlives_the_client() {
    struct Source;
    impl vertex_cancel::TokenSource for Source {
        fn fetch(
            &self,
        ) -> futures::future::BoxFuture<
            '_,
            Result<vertex_cancel::AccessToken, vertex_cancel::error::BoxError>,
        > {
            Box::pin(async {
                Ok(vertex_cancel::AccessToken::new(
                    TOKEN,
                    Some(Duration::from_secs(3600)),
                ))
            })
        }
    }
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap();
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();

    for explicit in [false, true] {
        let client = Client::builder()
            .endpoint(fake.endpoint())
            .credentials(Credentials::from_provider(Source))
            .build()
            .await
            .unwrap();
        client.get(&target()).await.unwrap();
        let clone = client.clone();
        assert!(
            metrics.num_alive_tasks() > before,
            "refresh task and connection are running"
        );
        if explicit {
            client.shutdown().await;
            let err = clone.get(&target()).await.unwrap_err();
            assert!(matches!(err, Error::Shutdown), "{err:?}");
        }
        drop((client, clone));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while metrics.num_alive_tasks() > before {
            assert!(
                std::time::Instant::now() < deadline,
                "{} tasks left",
                metrics.num_alive_tasks() - before
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn connections_per_endpoint_opens_that_many_connections() {
    use futures::StreamExt;
    let names: Vec<String> = (0..60)
        .map(|i| format!("projects/p/locations/us-central1/pipelineJobs/j{i}"))
        .collect();
    let fake = names
        .iter()
        .fold(FakeVertex::builder().token(TOKEN), |b, n| {
            b.pipeline_job(n, State::Running)
        })
        .start()
        .await
        .unwrap();
    let peers = |client: Client| {
        let fake = &fake;
        let names = names.clone();
        async move {
            fake.clear_calls();
            let targets = names
                .iter()
                .map(|n| n.parse::<Target>().unwrap())
                .collect::<Vec<_>>();
            let gets = futures::stream::iter(targets)
                .map(|t| {
                    let client = client.clone();
                    async move { client.get(&t).await.unwrap() }
                })
                .buffer_unordered(30)
                .collect::<Vec<_>>();
            gets.await;
            fake.calls()
                .iter()
                .filter_map(|c| c.peer)
                .collect::<std::collections::HashSet<_>>()
                .len()
        }
    };
    assert_eq!(peers(builder(&fake).build().await.unwrap()).await, 1);
    let three = builder(&fake)
        .connections_per_endpoint(3)
        .build()
        .await
        .unwrap();
    assert_eq!(peers(three).await, 3);
}
