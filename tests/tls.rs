//! The client against the fake over real TLS on 127.0.0.1 (ALPN h2, certificates made at test
//! time): every kind of call with a token, custom CAs, and a clear typed error for each way
//! TLS can go wrong.

mod common;
mod tls_common;

use std::time::Duration;

use common::{TOKEN, chain, fast_retry, quick_cancel, quick_wait, target};
use futures::TryStreamExt;
use tls_common::{Leaf, TestCa};
use vertex_cancel::fake::{FakeHandle, FakeVertex};
use vertex_cancel::{
    Client, ClientBuilder, ConnectionFailure, Credentials, Error, LocationName, Outcome, Service,
    State,
};

const PIPELINE: &str = "projects/p/locations/us-central1/pipelineJobs/a";
const NAS: &str = "projects/p/locations/europe-west4/nasJobs/7";
const OPERATION: &str = "projects/p/locations/us-central1/operations/9";

/// A client for `endpoint` sending the test token, never through a proxy (whatever the
/// machine's environment says).
fn builder(endpoint: String) -> ClientBuilder {
    Client::builder()
        .endpoint(endpoint)
        .credentials(Credentials::static_token(TOKEN))
        .retry(fast_retry())
        .proxy(None)
}

async fn tls_fake(leaf: &Leaf) -> FakeHandle {
    FakeVertex::builder()
        .token(TOKEN)
        // Cancelling stays so until the end of the test; the others finish fast.
        .cancel_delay(Duration::from_secs(600))
        .pipeline_job(PIPELINE, State::Running)
        .resource(quick_cancel(NAS))
        .resource(quick_cancel(OPERATION))
        .tls(&leaf.cert_pem, &leaf.key_pem)
        .start()
        .await
        .expect("TLS fake starts")
}

/// A Get against `endpoint` that must fail to connect; checks what every such error shares.
async fn connect_failure(builder: ClientBuilder, endpoint: &str) -> (ConnectionFailure, String) {
    let client = builder.build().await.expect("client builds");
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    let text = chain(&err);
    let Error::Connection {
        endpoint: named, ..
    } = &err
    else {
        panic!("not a connection error: {text}")
    };
    assert_eq!(named, endpoint);
    assert!(
        text.starts_with(&format!("connection to {endpoint} failed: ")),
        "{text}"
    );
    assert!(
        !text.contains(TOKEN) && !format!("{err:?}").contains(TOKEN),
        "{text}"
    );
    let failure = err.connection_failure().expect("classified");
    (failure, text)
}

#[tokio::test]
async fn every_kind_of_call_works_over_tls_with_a_token() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.localhost()).await;
    assert!(
        fake.endpoint().starts_with("https://localhost:"),
        "{}",
        fake.endpoint()
    );
    let client = builder(fake.endpoint())
        .ca_certificate(ca.pem())
        .build()
        .await
        .unwrap();

    client.cancel(&target(PIPELINE)).await.unwrap();
    let status = client.get(&target(PIPELINE)).await.unwrap();
    assert_eq!(status.state, State::Cancelling);
    for name in [NAS, OPERATION] {
        let outcome = client
            .cancel_and_wait(&target(name), quick_wait(Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(
            matches!(outcome, Outcome::Cancelled { .. }),
            "{name}: {outcome:?}"
        );
    }
    let parent = LocationName::new("p", "us-central1").unwrap();
    let jobs: Vec<_> = client
        .list_pipeline_jobs(&parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let operations: Vec<_> = client
        .list_operations(Service::VertexAi, &parent, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(operations.len(), 1);

    // The fake checks the token, so every call carried it, inside TLS.
    let calls = fake.calls();
    assert!(calls.len() >= 6, "{calls:?}");
    assert!(calls.iter().all(|c| c.code == tonic::Code::Ok), "{calls:?}");
    assert!(calls.iter().all(|c| c.header("authorization").is_some()));
}

#[tokio::test]
async fn an_ip_address_endpoint_is_checked_against_the_certificate_ip() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.localhost()).await;
    let endpoint = format!("https://127.0.0.1:{}", fake.addr().port());
    let client = builder(endpoint)
        .ca_certificate(ca.pem())
        .build()
        .await
        .unwrap();
    client.get(&target(PIPELINE)).await.unwrap();

    let only_name = ca.leaf(&["localhost"]);
    let fake = tls_fake(&only_name).await;
    let endpoint = format!("https://127.0.0.1:{}", fake.addr().port());
    let (failure, _) = connect_failure(
        builder(endpoint.clone()).ca_certificate(ca.pem()),
        &endpoint,
    )
    .await;
    assert_eq!(failure, ConnectionFailure::CertificateNameMismatch);
}

#[tokio::test]
async fn several_ca_certificates_can_be_trusted() {
    let ca = TestCa::new("test CA");
    let other = TestCa::new("other CA");
    let fake = tls_fake(&ca.localhost()).await;
    let both = format!("{}{}", other.pem(), ca.pem());
    let client = builder(fake.endpoint())
        .ca_certificate(both)
        .build()
        .await
        .unwrap();
    client.get(&target(PIPELINE)).await.unwrap();
    let client = builder(fake.endpoint())
        .ca_certificate(other.pem())
        .ca_certificate(ca.pem().as_bytes())
        .build()
        .await
        .unwrap();
    client.get(&target(PIPELINE)).await.unwrap();
}

#[tokio::test]
async fn an_unknown_ca_is_a_permanent_certificate_not_trusted_error() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.localhost()).await;
    let stranger = TestCa::new("some other CA");
    let (failure, text) = connect_failure(
        builder(fake.endpoint()).ca_certificate(stranger.pem()),
        &fake.endpoint(),
    )
    .await;
    assert_eq!(failure, ConnectionFailure::CertificateNotTrusted);
    assert!(failure.is_permanent());
    assert!(
        text.contains("certificate not trusted") && text.contains("UnknownIssuer"),
        "{text}"
    );
    assert!(text.contains("--ca-file"), "{text}");
    // Not retried: the handshake fails before any call reaches the fake.
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn not_retrying_a_bad_certificate_means_one_attempt() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.localhost()).await;
    let client = builder(fake.endpoint()).build().await.unwrap();
    let err = client.cancel(&target(PIPELINE)).await.unwrap_err();
    assert!(matches!(err, Error::Connection { .. }), "retried: {err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_name_mismatch() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.leaf(&["other.example"])).await;
    let (failure, text) = connect_failure(
        builder(fake.endpoint()).ca_certificate(ca.pem()),
        &fake.endpoint(),
    )
    .await;
    assert_eq!(failure, ConnectionFailure::CertificateNameMismatch);
    assert!(
        text.contains("not valid for the endpoint's host name"),
        "{text}"
    );
    assert!(
        text.contains("\"localhost\"") && text.contains("other.example"),
        "{text}"
    );
}

#[tokio::test]
async fn tls_to_a_plaintext_server_is_server_not_tls() {
    let plain = FakeVertex::builder().token(TOKEN).start().await.unwrap();
    let endpoint = format!("https://localhost:{}", plain.addr().port());
    let (failure, text) = connect_failure(builder(endpoint.clone()), &endpoint).await;
    assert_eq!(failure, ConnectionFailure::ServerNotTls);
    assert!(text.contains("seems to speak plaintext"), "{text}");
    assert!(plain.calls().is_empty());
}

#[tokio::test]
async fn plaintext_to_a_tls_server_says_the_server_may_want_tls() {
    let ca = TestCa::new("test CA");
    let fake = tls_fake(&ca.localhost()).await;
    let endpoint = format!("http://127.0.0.1:{}", fake.addr().port());
    let once = builder(endpoint.clone()).retry(fast_retry().with_max_attempts(1));
    let (failure, text) = connect_failure(once, &endpoint).await;
    assert_eq!(failure, ConnectionFailure::PlaintextRejected);
    assert!(text.contains("if it serves TLS, use https://"), "{text}");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_ca_certificate_that_is_not_pem_is_invalid_config() {
    for pem in [
        "",
        "hello",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let err = builder("https://localhost:1".to_owned())
            .ca_certificate(pem)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{pem:?}: {err}");
        assert!(err.to_string().contains("CA certificate"), "{err}");
    }
}

#[tokio::test]
async fn the_fake_rejects_an_unusable_key() {
    let ca = TestCa::new("test CA");
    let leaf = ca.localhost();
    let err = FakeVertex::builder()
        .tls(&leaf.cert_pem, "not a key")
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(err, vertex_cancel::fake::FakeError::Tls(_)),
        "{err:?}"
    );
}
