//! Tokens never reach logs: every kind of call, success and failure, runs under a TRACE
//! subscriber for all crates (tonic, h2, hyper included), and the captured text must not
//! contain the token.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TOKEN, builder, client, quick_wait};
use futures::{StreamExt, TryStreamExt};
use vertex_cancel::fake::{FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Credentials, LocationName, State, Target};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_token_in_trace_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Global, not `set_default`: callsites first hit by another test thread would otherwise
    // cache "no interest" and hide their events from a thread-local subscriber.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber here");

    let job = "projects/p/locations/us-central1/pipelineJobs/a";
    let flaky = "projects/p/locations/us-central1/pipelineJobs/flaky";
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(20))
        .pipeline_job(job, State::Running)
        .resource(
            ResourceSpec::new(flaky, State::Running)
                .with_fault(FaultRule::fail(tonic::Code::Unavailable).first(2)),
        )
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let target: Target = job.parse().unwrap();
    client
        .cancel_and_wait(&target, quick_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    client.get(&flaky.parse().unwrap()).await.unwrap();
    let parent = LocationName::new("p", "us-central1").unwrap();
    let listed: Vec<_> = client
        .list_pipeline_jobs(&parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let many: Vec<_> = client
        .cancel_many(
            futures::stream::iter([target.clone(), flaky.parse().unwrap()]),
            CancelMany::default(),
        )
        .collect()
        .await;
    assert_eq!(many.len(), 2);

    // Failures: a wrong token (its text must not leak either) and a refused bad endpoint.
    let wrong = format!("{TOKEN}-wrong");
    let bad = builder(&fake)
        .credentials(Credentials::static_token(wrong.clone()))
        .build()
        .await
        .unwrap();
    let err = bad.cancel(&target).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    let err = vertex_cancel::Client::builder()
        .endpoint("http://192.0.2.1:80")
        .credentials(Credentials::static_token(TOKEN))
        .build()
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(TOKEN));
    tracing::trace!(client = ?client, "client debug output");

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("rpc"), "spans were captured");
    assert!(
        text.lines().count() > 50,
        "TRACE output from the stack was captured"
    );
    // The fake's log cuts tokens to 12 characters; nothing longer than that may appear.
    assert!(!text.contains(&TOKEN[..16]), "token found in trace output");
    assert!(
        !text.contains("test-token-for-the-fake"),
        "token found in trace output"
    );
}

/// Every error the library can produce around a token (a wrong token, a malformed one, an
/// insecure endpoint, exhausted retries, a refused connection, a dead token source), plus the
/// `Debug` of the client, its builder and credentials, with no panic anywhere: none shows any
/// 16-character piece of the token.
#[tokio::test]
async fn no_token_in_errors_debug_output_or_panics() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use vertex_cancel::{AccessToken, Client, Error, RetryConfig, TokenSource};

    struct DeadSource;
    impl TokenSource for DeadSource {
        fn fetch(
            &self,
        ) -> futures::future::BoxFuture<'_, Result<AccessToken, vertex_cancel::error::BoxError>>
        {
            Box::pin(async { Err("the token endpoint is down".into()) })
        }
    }

    let panics = Arc::new(AtomicUsize::new(0));
    let seen = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        let message = info.to_string();
        assert!(
            !message.contains(&TOKEN[..16]),
            "a panic message holds the token"
        );
    }));

    let job = "projects/p/locations/us-central1/pipelineJobs/a";
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(job, State::Running)
        .fault(FaultRule::fail(tonic::Code::Unavailable).on_methods(["GetPipelineJob"]))
        .start()
        .await
        .unwrap();
    let target: Target = job.parse().unwrap();
    let mut shown: Vec<String> = Vec::new();
    let mut show = |err: Error| shown.push(format!("{err} | {err:?} | {:?}", err.rpc()));

    let wrong = builder(&fake)
        .credentials(Credentials::static_token(format!("{TOKEN}-wrong")))
        .build()
        .await
        .unwrap();
    show(wrong.cancel(&target).await.unwrap_err());
    let right = builder(&fake)
        .retry(common::fast_retry().with_max_attempts(2))
        .build()
        .await
        .unwrap();
    show(right.get(&target).await.unwrap_err()); // RetriesExhausted
    for malformed in [
        format!("{TOKEN}\n{TOKEN}"),
        format!("{TOKEN} x"),
        TOKEN.repeat(300),
    ] {
        show(
            builder(&fake)
                .credentials(Credentials::static_token(malformed))
                .build()
                .await
                .unwrap_err(),
        );
    }
    show(
        Client::builder()
            .endpoint("http://example.com")
            .credentials(Credentials::static_token(TOKEN))
            .build()
            .await
            .unwrap_err(),
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let refused = Client::builder()
        .endpoint(closed)
        .credentials(Credentials::static_token(TOKEN))
        .retry(RetryConfig::none())
        .build()
        .await
        .unwrap();
    show(refused.cancel(&target).await.unwrap_err()); // Connection
    let dead = builder(&fake)
        .credentials(Credentials::from_provider(DeadSource))
        .build()
        .await
        .unwrap();
    show(dead.cancel(&target).await.unwrap_err()); // Auth
    shown.push(format!("{right:?} {:?}", Credentials::static_token(TOKEN)));
    shown.push(format!(
        "{:?}",
        builder(&fake).credentials(Credentials::static_token(TOKEN))
    ));
    shown.push(format!("{:?}", AccessToken::new(TOKEN, None)));

    std::panic::set_hook(previous);
    assert_eq!(panics.load(Ordering::SeqCst), 0, "something panicked");
    assert!(shown.len() >= 10);
    for text in &shown {
        for piece in TOKEN.as_bytes().windows(16) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "`{piece}` of the token in: {text}");
        }
    }
}
