//! Helpers for the TLS and proxy tests: a test CA with leaf certificates made at test time,
//! and a small HTTP CONNECT proxy on 127.0.0.1 that records every byte it relays.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A certificate authority made for one test.
pub(crate) struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate and its key, both PEM.
pub(crate) struct Leaf {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl TestCa {
    pub(crate) fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM: what a client is told to trust.
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `names` (host names and IP addresses), signed by this CA.
    pub(crate) fn leaf(&self, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "vertex-cancel test server");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// The usual leaf for the fake: `localhost` and `127.0.0.1`.
    pub(crate) fn localhost(&self) -> Leaf {
        self.leaf(&["localhost", "127.0.0.1"])
    }
}

/// What a test proxy does with a CONNECT.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ProxyMode {
    /// Answer 200 and relay both ways.
    Tunnel,
    /// Answer with this status and close.
    Refuse(u16),
}

/// A CONNECT proxy on 127.0.0.1 that records the request heads and every relayed byte.
pub(crate) struct TestProxy {
    pub(crate) url: String,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

#[derive(Default, Debug)]
pub(crate) struct Seen {
    /// The head of each CONNECT request, as received.
    pub(crate) heads: Vec<String>,
    /// Every byte relayed, both directions, after the heads.
    pub(crate) relayed: Vec<u8>,
}

impl TestProxy {
    pub(crate) async fn start(mode: ProxyMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, mode, Arc::clone(&shared)));
            }
        });
        Self { url, seen, task }
    }

    /// The CONNECT heads received so far.
    pub(crate) fn heads(&self) -> Vec<String> {
        self.seen.lock().unwrap().heads.clone()
    }

    /// Every byte relayed so far.
    pub(crate) fn relayed(&self) -> Vec<u8> {
        self.seen.lock().unwrap().relayed.clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, mode: ProxyMode, seen: Arc<Mutex<Seen>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so nothing after the head is swallowed.
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("CONNECT "))
        .and_then(|rest| rest.split(' ').next())
        .map(str::to_owned);
    seen.lock().unwrap().heads.push(head);
    let (ProxyMode::Tunnel, Some(target)) = (mode, target) else {
        let status = match mode {
            ProxyMode::Refuse(status) => status,
            ProxyMode::Tunnel => 400,
        };
        let _ = client
            .write_all(
                format!("HTTP/1.1 {status} Refused by test proxy\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let up = relay(&mut client_read, &mut upstream_write, &seen);
    let down = relay(&mut upstream_read, &mut client_write, &seen);
    tokio::join!(up, down);
}

async fn relay(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    seen: &Mutex<Seen>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        seen.lock().unwrap().relayed.extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
