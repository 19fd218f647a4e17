//! Helpers shared by the integration tests: a client pointed at a fake, fast waits.

#![allow(dead_code)]

use std::time::Duration;

use vertex_cancel::fake::{CallRecord, FakeHandle};
use vertex_cancel::{BackoffConfig, Client, ClientBuilder, Credentials, Error, RetryConfig, Wait};

pub(crate) const TOKEN: &str = "ya29.test-token-for-the-fake-0123456789";

/// Retries fast enough for tests (same shape as the defaults).
pub(crate) fn fast_retry() -> RetryConfig {
    RetryConfig::default().with_backoff(BackoffConfig {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(40),
        multiplier: 2.0,
    })
}

/// A builder aimed at `fake` with the test token and fast retries.
pub(crate) fn builder(fake: &FakeHandle) -> ClientBuilder {
    Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::static_token(TOKEN))
        .retry(fast_retry())
}

pub(crate) async fn client(fake: &FakeHandle) -> Client {
    builder(fake).build().await.expect("client builds")
}

/// Polls quickly, for fakes with short cancel delays.
pub(crate) fn quick_wait(budget: Duration) -> Wait {
    Wait::up_to(budget)
        .first_interval(Duration::from_millis(20))
        .max_interval(Duration::from_millis(100))
}

pub(crate) fn calls_of(fake: &FakeHandle, rpc: &str) -> Vec<CallRecord> {
    fake.calls().into_iter().filter(|c| c.rpc == rpc).collect()
}

/// Polls `condition` every 5 ms until it holds, failing the test after 10 s.
pub(crate) async fn wait_for(condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "condition not met within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A file in the temp directory, removed on drop.
pub(crate) struct TempFile(std::path::PathBuf);

impl TempFile {
    pub(crate) fn new(contents: impl AsRef<[u8]>) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("vertex-cancel-test-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    pub(crate) fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A valid name as a [`Target`].
pub(crate) fn target(name: &str) -> vertex_cancel::Target {
    name.parse().expect("valid name")
}

/// A running pipeline job, NAS job or operation whose cancel lands after 30 ms.
pub(crate) fn quick_cancel(name: &str) -> vertex_cancel::fake::ResourceSpec {
    vertex_cancel::fake::ResourceSpec::new(name, vertex_cancel::State::Running)
        .with_cancel_delay(Duration::from_millis(30))
}

/// The error and its causes on one line, as an operator would see them.
pub(crate) fn chain(err: &Error) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
