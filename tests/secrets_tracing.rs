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
    let _guard = tracing::subscriber::set_default(subscriber);

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
