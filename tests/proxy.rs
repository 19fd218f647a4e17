//! The client through an HTTP CONNECT proxy on 127.0.0.1 (written here, recording every
//! byte): calls succeed, the proxy sees only the CONNECT head and TLS records, refusals are
//! typed, and no-proxy hosts bypass it.

mod common;
mod tls_common;

use std::time::Duration;

use common::{TOKEN, chain, fast_retry, quick_cancel, quick_wait, target};
use futures::TryStreamExt;
use tls_common::{ProxyMode, TestCa, TestProxy};
use vertex_cancel::fake::{FakeHandle, FakeVertex};
use vertex_cancel::{
    Client, ClientBuilder, ConnectionFailure, Credentials, Error, LocationName, Outcome, State,
};

const PIPELINE: &str = "projects/p/locations/us-central1/pipelineJobs/secret-pipeline-name";
const OPERATION: &str = "projects/p/locations/us-central1/operations/9";

struct Setup {
    ca: TestCa,
    fake: FakeHandle,
}

async fn tls_fake() -> Setup {
    let ca = TestCa::new("test CA");
    let leaf = ca.localhost();
    let fake = FakeVertex::builder()
        .token(TOKEN)
        // Cancelling stays so until the end of the test; the operation finishes fast.
        .cancel_delay(Duration::from_secs(600))
        .pipeline_job(PIPELINE, State::Running)
        .resource(quick_cancel(OPERATION))
        .tls(&leaf.cert_pem, &leaf.key_pem)
        .start()
        .await
        .expect("TLS fake starts");
    Setup { ca, fake }
}

fn builder(setup: &Setup, proxy: &str) -> ClientBuilder {
    Client::builder()
        .endpoint(setup.fake.endpoint())
        .credentials(Credentials::static_token(TOKEN))
        .ca_certificate(setup.ca.pem())
        .retry(fast_retry())
        .proxy(Some(proxy))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[tokio::test]
async fn calls_go_through_the_proxy_and_it_reads_nothing_but_the_connect_line() {
    let setup = tls_fake().await;
    let proxy = TestProxy::start(ProxyMode::Tunnel).await;
    let client = builder(&setup, &proxy.url).build().await.unwrap();

    client.cancel(&target(PIPELINE)).await.unwrap();
    assert_eq!(
        client.get(&target(PIPELINE)).await.unwrap().state,
        State::Cancelling
    );
    let outcome = client
        .cancel_and_wait(&target(OPERATION), quick_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    let parent = LocationName::new("p", "us-central1").unwrap();
    let jobs: Vec<_> = client
        .list_pipeline_jobs(&parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);

    let port = setup.fake.addr().port();
    let heads = proxy.heads();
    assert_eq!(
        heads,
        [format!(
            "CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n"
        )],
        "one tunnel, reused by every call"
    );
    let relayed = proxy.relayed();
    assert!(relayed.len() > 1000, "{} bytes relayed", relayed.len());
    // TLS records (handshake 0x16, application data 0x17), and nothing readable inside.
    assert_eq!(relayed[0], 0x16, "a TLS ClientHello first");
    for secret in [
        TOKEN.as_bytes(),
        b"authorization",
        b"bearer",
        b"secret-pipeline-name",
        b"pipelineJobs",
        b"PipelineService",
        b"x-goog",
        b"PRI * HTTP/2.0",
    ] {
        assert!(
            !contains(&relayed, secret),
            "{} visible to the proxy",
            String::from_utf8_lossy(secret)
        );
    }
}

#[tokio::test]
async fn proxy_credentials_go_in_proxy_authorization_only() {
    let setup = tls_fake().await;
    let proxy = TestProxy::start(ProxyMode::Tunnel).await;
    let with_user = proxy.url.replace("http://", "http://alice:s3cret@");
    let client = builder(&setup, &with_user).build().await.unwrap();
    client.get(&target(PIPELINE)).await.unwrap();
    let heads = proxy.heads();
    assert_eq!(heads.len(), 1);
    // base64("alice:s3cret")
    assert!(
        heads[0].contains("\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"),
        "{heads:?}"
    );
}

#[tokio::test]
async fn a_proxy_refusing_connect_is_a_typed_error_naming_the_status() {
    let setup = tls_fake().await;
    let proxy = TestProxy::start(ProxyMode::Refuse(403)).await;
    let client = builder(&setup, &proxy.url).build().await.unwrap();
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    assert_eq!(
        err.connection_failure(),
        Some(ConnectionFailure::ProxyRefused { status: 403 })
    );
    assert!(!err.is_retryable());
    let Error::Connection { endpoint, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(endpoint, &setup.fake.endpoint());
    let text = chain(&err);
    let port = setup.fake.addr().port();
    let expected = format!(
        "connection to {} failed: the HTTPS proxy refused the tunnel: proxy {} refused \
         CONNECT to localhost:{port}: 403 Refused by test proxy",
        setup.fake.endpoint(),
        proxy.url
    );
    assert_eq!(text, expected);
    assert!(!format!("{err:?}").contains(TOKEN));
    assert_eq!(proxy.heads().len(), 1, "a 403 is not retried");
    assert!(setup.fake.calls().is_empty());
}

#[tokio::test]
async fn a_proxy_answering_502_is_retried() {
    let setup = tls_fake().await;
    let proxy = TestProxy::start(ProxyMode::Refuse(502)).await;
    let client = builder(&setup, &proxy.url)
        .retry(fast_retry().with_max_attempts(3))
        .build()
        .await
        .unwrap();
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.connection_failure(),
        Some(ConnectionFailure::ProxyRefused { status: 502 })
    );
    assert_eq!(proxy.heads().len(), 3);
}

#[tokio::test]
async fn an_unreachable_proxy_names_the_proxy() {
    let setup = tls_fake().await;
    // A port that was free a moment ago: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let client = builder(&setup, &closed)
        .retry(fast_retry().with_max_attempts(1))
        .build()
        .await
        .unwrap();
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    assert_eq!(
        err.connection_failure(),
        Some(ConnectionFailure::ProxyFailed)
    );
    let text = chain(&err);
    assert!(
        text.contains(&format!("cannot reach proxy {closed}")),
        "{text}"
    );
}

#[tokio::test]
async fn no_proxy_hosts_bypass_the_proxy() {
    let setup = tls_fake().await;
    // Any use of this proxy would fail the call.
    let proxy = TestProxy::start(ProxyMode::Refuse(403)).await;
    for list in ["localhost", ".localhost", "*", "example.com, localhost"] {
        let client = builder(&setup, &proxy.url)
            .no_proxy(list)
            .build()
            .await
            .unwrap();
        client.get(&target(PIPELINE)).await.unwrap();
    }
    let client = builder(&setup, &proxy.url)
        .no_proxy("notlocalhost")
        .build()
        .await
        .unwrap();
    assert!(
        client.get(&target(PIPELINE)).await.is_err(),
        "suffix of another name"
    );
    assert_eq!(proxy.heads().len(), 1);
}

#[tokio::test]
async fn a_plaintext_loopback_fake_is_reached_directly_without_a_proxy_setting() {
    // The demo's path: `proxy(None)` and `http://127.0.0.1`, no TLS involved.
    let fake = FakeVertex::builder()
        .pipeline_job(PIPELINE, State::Running)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .endpoint(fake.endpoint())
        .credentials(Credentials::none())
        .proxy(None)
        .build()
        .await
        .unwrap();
    client.cancel(&target(PIPELINE)).await.unwrap();
}

#[tokio::test]
async fn a_bad_proxy_url_is_invalid_config() {
    let setup = tls_fake().await;
    for url in ["https://proxy:443", "socks5://proxy:1080", "http://proxy:0"] {
        let err = builder(&setup, url).build().await.unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{url}: {err}");
    }
}
