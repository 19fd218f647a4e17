#![cfg(feature = "raw-stubs")]
//! The standalone fake: spawn `vertex-cancel fake`, read `PORT n`, call it, signal it.
#![cfg(all(unix, feature = "cli"))]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tonic::metadata::MetadataValue;
use tonic::{Code, Request};
use vertex_cancel::proto::google::cloud::aiplatform::v1::pipeline_service_client::PipelineServiceClient;
use vertex_cancel::proto::google::cloud::aiplatform::v1::{
    CancelPipelineJobRequest, GetPipelineJobRequest, PipelineState,
};

const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";
const TOKEN: &str = "standalone-test-token";

struct Fake {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Fake {
    fn drop(&mut self) {
        // Only reached with the child still running if the test failed early.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(name: &str, extra: &[&str]) -> Fake {
    let dir = std::env::temp_dir().join(format!(
        "vertex-cancel-standalone-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("scenario.json"),
        format!(r#"{{"cancel_delay_ms": 50, "resources": [{{"name": "{JOB}"}}]}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vertex-cancel"))
        .args(["fake", "--port", "0", "--scenario"])
        .arg(dir.join("scenario.json"))
        .arg("--log")
        .arg(dir.join("calls.jsonl"))
        .args(extra)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("first line was {line:?}"));
    Fake { child, port, dir }
}

/// Sends `sig` with `kill` and waits up to 5 s for the fake to exit.
fn signal(fake: &mut Fake, sig: &str) -> ExitStatus {
    let status = Command::new("kill")
        .args([sig, &fake.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    loop {
        if let Some(status) = fake.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "fake did not exit"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn authed<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {TOKEN}")).unwrap(),
    );
    request
}

fn log_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_scenario_logs_calls_and_stops_on_sigterm() {
    let mut fake = spawn("term", &["--token-file", "token"]);
    let mut client = PipelineServiceClient::connect(format!("http://127.0.0.1:{}", fake.port))
        .await
        .unwrap();
    let err = client
        .get_pipeline_job(GetPipelineJobRequest { name: JOB.into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    client
        .cancel_pipeline_job(authed(CancelPipelineJobRequest { name: JOB.into() }))
        .await
        .unwrap();
    let job = client
        .get_pipeline_job(authed(GetPipelineJobRequest { name: JOB.into() }))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        job.state(),
        PipelineState::Cancelling | PipelineState::Cancelled
    ));

    let lines = log_lines(&fake.dir);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["code"], "UNAUTHENTICATED");
    assert_eq!(lines[1]["rpc"], "CancelPipelineJob");
    assert_eq!(lines[1]["target"], JOB);
    assert_eq!(lines[1]["code"], "OK");
    assert_eq!(lines[1]["headers"]["authorization"], "Bearer stand…");
    let raw = std::fs::read_to_string(fake.dir.join("calls.jsonl")).unwrap();
    assert!(!raw.contains(TOKEN));

    drop(client);
    let status = signal(&mut fake, "-TERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_on_sigint_and_binds_loopback_only() {
    let mut fake = spawn("int", &["--token", TOKEN]);
    // Reachable on 127.0.0.1 ...
    std::net::TcpStream::connect(("127.0.0.1", fake.port)).unwrap();
    // ... and not on another local address, if the machine has one.
    if let Some(other) = non_loopback_address() {
        assert!(std::net::TcpStream::connect((other, fake.port)).is_err());
    }
    let status = signal(&mut fake, "-INT");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_peer_that_never_answers_does_not_hold_shutdown() {
    use std::io::Write;
    let mut fake = spawn("mute", &[]);
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", fake.port)).unwrap();
    // An HTTP/2 client preface and empty SETTINGS, then silence: no SETTINGS ack, no PING ack.
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    let status = signal(&mut fake, "-TERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_scenario_is_a_clean_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_vertex-cancel"))
        .args(["fake", "--scenario", "/nonexistent/scenario.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no PORT line on failure");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("scenario"), "{stderr}");
}

/// An address of this machine that is not loopback, found by asking the kernel which source
/// address it would use to reach a public address (no packet is sent for UDP connect).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
