//! `http://` to a TLS server, as an operator who forgot the `s` would do it: whatever the
//! transport saw (a closed connection, or the server's TLS alert read as HTTP/2 frames), the
//! error is the documented plaintext-to-TLS one, never "INTERNAL: h2 protocol error".

mod common;
mod tls_common;

use common::{TOKEN, chain, fast_retry, target};
use tls_common::TestCa;
use vertex_cancel::fake::FakeVertex;
use vertex_cancel::{Client, ConnectionFailure, Credentials, Error};

const PIPELINE: &str = "projects/p/locations/us-central1/pipelineJobs/a";

#[tokio::test]
async fn plaintext_to_a_tls_server_always_gets_the_documented_message() {
    let ca = TestCa::new("test CA");
    let leaf = ca.localhost();
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(PIPELINE, vertex_cancel::State::Running)
        .tls(&leaf.cert_pem, &leaf.key_pem)
        .start()
        .await
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{}", fake.addr().port());
    // Several fresh clients and retried calls: the failure takes more than one shape.
    for _ in 0..8 {
        let client = Client::builder()
            .endpoint(endpoint.clone())
            .credentials(Credentials::static_token(TOKEN))
            .retry(fast_retry())
            .proxy(None)
            .build()
            .await
            .unwrap();
        for err in [
            client.get(&target(PIPELINE)).await.unwrap_err(),
            client.cancel(&target(PIPELINE)).await.unwrap_err(),
        ] {
            let text = chain(&err);
            assert_eq!(
                err.connection_failure(),
                Some(ConnectionFailure::PlaintextRejected),
                "{text}"
            );
            assert!(text.contains("if it serves TLS, use https://"), "{text}");
            assert!(!text.contains("INTERNAL"), "{text}");
        }
    }
    assert!(fake.calls().is_empty());
}

/// A TLS server's answer to bytes that are no ClientHello: a fatal alert record, then the
/// connection closed. An HTTP/2 client reads the record as a frame header (a frame far over
/// the size limit) and fails with a protocol error, not with a closed connection.
async fn tls_alert_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0_u8; 1024];
                let _ = socket.read(&mut buf).await;
                // Alert, TLS 1.2, length 2: fatal (2), decode_error (50).
                let _ = socket
                    .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])
                    .await;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn a_tls_alert_read_as_http2_is_the_plaintext_to_tls_failure() {
    let (addr, server) = tls_alert_server().await;
    let endpoint = format!("http://127.0.0.1:{}", addr.port());
    let client = Client::builder()
        .endpoint(endpoint)
        .credentials(Credentials::static_token(TOKEN))
        .retry(fast_retry().with_max_attempts(2))
        .proxy(None)
        .build()
        .await
        .unwrap();
    let err = client.get(&target(PIPELINE)).await.unwrap_err();
    let text = chain(&err);
    assert!(
        err.is_retryable() || matches!(err, Error::RetriesExhausted { .. }),
        "{text}"
    );
    assert_eq!(
        err.connection_failure(),
        Some(ConnectionFailure::PlaintextRejected),
        "{text}"
    );
    assert!(text.contains("if it serves TLS, use https://"), "{text}");
    server.abort();
}
