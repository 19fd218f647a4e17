//! Hostile and broken input, through the library and the CLI: names, regions, endpoints,
//! universe domains, List filters, tokens and token files. Each must be refused with a typed
//! bad-input error (the CLI: exit 2) before anything is sent: the fake's call log stays empty.
//!
//! Many cases try to move a token to another host (a location or endpoint carrying `.evil.com`,
//! `@`, `/`, `#`, a lookalike loopback address); those must fail as bad input, never resolve.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TOKEN, TempFile, builder};
use futures::StreamExt;
use vertex_cancel::fake::{FakeHandle, FakeVertex};
use vertex_cancel::{Client, Credentials, Error, LocationName, Service, State, Target};

const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";
const BIN: &str = env!("CARGO_BIN_EXE_vertex-cancel");

/// Names that must not parse, each with a word the error must mention (its input or reason).
fn bad_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "",
        " ",
        "42",
        "projects/p",
        "projects/p/locations/us-central1",
        "projects/p/locations/us-central1/pipelineJobs",
        "projects/p/locations/us-central1/pipelineJobs/",
        "projects//locations/us-central1/pipelineJobs/a",
        "projects/p/locations//pipelineJobs/a",
        "projects/p/locations/us-central1/pipelineJobs/a/",
        "projects/p/locations/us-central1/pipelineJobs/a/b",
        "projects/p/locations/us-central1/trainingPipelines/a",
        "projects/p/regions/us-central1/pipelineJobs/a",
        "/projects/p/locations/us-central1/pipelineJobs/a",
        "projects/p/locations/us-central1.evil.com/pipelineJobs/a",
        "projects/p/locations/evil.com#/pipelineJobs/a",
        "projects/p/locations/us-central1@evil.com/pipelineJobs/a",
        "projects/p/locations/evil.com:443/pipelineJobs/a",
        "projects/p/locations/US-CENTRAL1/pipelineJobs/a",
        "projects/p/locations/us-c\u{0435}ntral1/pipelineJobs/a",
        "projects/p/locations/us-central1%2eevil.com/pipelineJobs/a",
        "projects/p/locations/../pipelineJobs/a",
        "projects/p/locations/us-central1/pipelineJobs/..",
        "projects/p/locations/us-central1/pipelineJobs/a\n",
        "projects/p/locations/us-central1/pipelineJobs/a\0",
        "projects/p/locations/us-central1/pipelineJobs/a b",
        "projects/p\r\n/locations/us-central1/pipelineJobs/a",
        "//evil.com/projects/p/locations/us-central1/pipelineJobs/a",
        "//aiplatform.googleapis.com.evil.com/projects/p/locations/us-central1/pipelineJobs/a",
        "//automl.googleapis.com/projects/p/locations/us-central1/pipelineJobs/a",
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/pipelineJobs/a",
        "\u{202e}projects/p/locations/us-central1/pipelineJobs/a",
    ]
    .map(str::to_owned)
    .to_vec();
    names.push(format!(
        "projects/p/locations/{}/pipelineJobs/a",
        "a".repeat(64)
    ));
    names.push(format!(
        "projects/p/locations/us-central1/pipelineJobs/{}",
        "x".repeat(1 << 20)
    ));
    names
}

fn bad_regions() -> Vec<String> {
    let mut regions: Vec<String> = [
        "",
        "US-CENTRAL1",
        "us-central1.evil.com",
        "evil.com/",
        "us-central1@evil.com",
        "us central1",
        "us-central1\n",
        "1us",
        "-us",
        "us-c\u{0435}ntral1",
    ]
    .map(str::to_owned)
    .to_vec();
    regions.push("a".repeat(64));
    regions
}

fn bad_endpoints() -> Vec<String> {
    [
        "",
        "not a url",
        "us-central1-aiplatform.googleapis.com",
        "ftp://example.com",
        "javascript:alert(1)",
        "https://",
        "https://user:secret@example.com",
        "https://example.com/v1/projects",
        "https://example.com?x=1",
        "https://example.com#frag",
        "https://example.com:99999",
        "https://example.com:0",
        "https://[::1",
        "http://10.1.2.3:80",
        "http://example.com",
        "http://[::2]",
        "http://127.0.0.1.evil.com",
        "http://localhost.evil.com",
        "http://0x7f.0.0.1",
        "http://127.1",
        "http://2130706433",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn bad_universe_domains() -> Vec<String> {
    let mut domains: Vec<String> = [
        "",
        "evil",
        "EVIL.COM",
        "googleapis.com.",
        "-bad.com",
        "a..b",
        "evil.com/x",
        "evil.com:443",
        "x@evil.com",
        "evil.com#",
    ]
    .map(str::to_owned)
    .to_vec();
    domains.push(format!("{}.com", "a".repeat(260)));
    domains
}

fn bad_filters() -> Vec<String> {
    [
        "state=PIPELINE_STATE_RUNNING\nOR state=PIPELINE_STATE_PENDING",
        "state=PIPELINE_STATE_RUNNING\0",
        "display_name=\"unclosed",
        "display_name='unclosed",
        "(state=PIPELINE_STATE_RUNNING",
        "state=PIPELINE_STATE_RUNNING)",
        "\u{1b}[2J",
        "state=\r",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([format!("display_name=\"{}\"", "x".repeat(4096))])
    .collect()
}

/// Bytes of token files that must be refused (the CLI reads them).
fn bad_token_files() -> Vec<Vec<u8>> {
    vec![
        b"".to_vec(),
        b"\n\n".to_vec(),
        b"one\ntwo\n".to_vec(),
        b"tok en".to_vec(),
        b"tok\0en".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80, 0x9f],
        vec![b'a'; 1 << 20],
        "t\u{f6}ken".as_bytes().to_vec(),
    ]
}

/// The error must be bad input, and its Display and Debug short and free of raw control bytes.
fn assert_bad_input(what: &str, input: &str, err: &Error) {
    assert!(err.is_bad_input(), "{what} {input:?}: {err:?}");
    let shown = err.to_string();
    assert!(
        shown.len() < 1024,
        "{what}: the message is {} bytes",
        shown.len()
    );
    assert!(
        !shown.chars().any(|c| c.is_control()),
        "{what}: raw control characters in {shown:?}"
    );
    let _ = format!("{err:?}");
}

async fn fake() -> FakeHandle {
    FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(JOB, State::Running)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_library_refuses_hostile_input_before_any_call() {
    let fake = fake().await;
    let mut cases = 0;

    for name in bad_names() {
        let err = name.parse::<Target>().unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { .. }),
            "{name:?}: {err:?}"
        );
        assert_bad_input("name", &name, &err);
        cases += 1;
    }
    for region in bad_regions() {
        let err = builder(&fake).region(&region).build().await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidLocation { .. }),
            "{region:?}: {err:?}"
        );
        assert_bad_input("region", &region, &err);
        let err = LocationName::new("p", &region).unwrap_err();
        assert_bad_input("location", &region, &err);
        cases += 1;
    }
    for endpoint in bad_endpoints() {
        let err = Client::builder()
            .endpoint(&endpoint)
            .credentials(Credentials::static_token(TOKEN))
            .build()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConfig { .. } | Error::InsecureEndpoint { .. }
            ),
            "{endpoint:?}: {err:?}"
        );
        assert_bad_input("endpoint", &endpoint, &err);
        cases += 1;
    }
    for domain in bad_universe_domains() {
        let err = Client::builder()
            .universe_domain(&domain)
            .credentials(Credentials::static_token(TOKEN))
            .build()
            .await
            .unwrap_err();
        assert_bad_input("universe domain", &domain, &err);
        cases += 1;
    }
    let client = builder(&fake).build().await.unwrap();
    let parent = LocationName::new("p", "us-central1").unwrap();
    for filter in bad_filters() {
        let kinds = [
            client
                .list_pipeline_jobs(&parent, Some(&filter))
                .map(|r| r.map(drop))
                .boxed(),
            client
                .list_nas_jobs(&parent, Some(&filter))
                .map(|r| r.map(drop))
                .boxed(),
            client
                .list_operations(Service::VertexAi, &parent, Some(&filter))
                .map(|r| r.map(drop))
                .boxed(),
        ];
        for list in kinds {
            let items: Vec<_> = list.collect().await;
            let [Err(err)] = items.as_slice() else {
                panic!("{filter:?}: {items:?}")
            };
            assert!(matches!(err, Error::InvalidFilter { .. }), "{err:?}");
            assert_bad_input("filter", &filter, err);
        }
        cases += 1;
    }
    for token in ["", "tok en", "one\ntwo", "tok\0en", "t\u{f6}ken"]
        .map(str::to_owned)
        .into_iter()
        .chain([TOKEN.repeat(1000)])
    {
        let err = builder(&fake)
            .credentials(Credentials::static_token(token.clone()))
            .build()
            .await
            .unwrap_err();
        assert_bad_input("token", "[a token]", &err);
        cases += 1;
    }
    // A token never travels in plaintext beyond loopback, and `build` (which never connects)
    // is where that is refused.
    for endpoint in ["http://10.1.2.3:80", "http://example.com", "http://[::2]"] {
        let err = Client::builder()
            .endpoint(endpoint)
            .credentials(Credentials::static_token(TOKEN))
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InsecureEndpoint { .. }), "{err:?}");
        // Even with a transport of the caller's own that would carry anything anywhere, the
        // request never reaches it.
        let reached = Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        let transport = tower::service_fn(move |_: http::Request<tonic::body::Body>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(tonic::Status::unimplemented("").into_http()) }
        });
        let err = Client::builder()
            .channel(endpoint, transport)
            .credentials(Credentials::static_token(TOKEN))
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InsecureEndpoint { .. }), "{err:?}");
        assert_eq!(reached.load(Ordering::SeqCst), 0);
    }
    assert!(cases >= 50, "{cases} cases");
    assert!(fake.calls().is_empty(), "sent: {:?}", fake.calls());
}

/// Runs the CLI with `args` and returns (exit code, stderr).
async fn cli(args: Vec<String>) -> (i32, String) {
    let child = tokio::process::Command::new(BIN)
        .args(&args)
        .env_remove("VERTEX_CANCEL_ACCESS_TOKEN")
        .env_remove("VERTEX_CANCEL_ENDPOINT")
        .env_remove("RUST_LOG")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn vertex-cancel");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("vertex-cancel did not finish")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[tokio::test]
async fn the_cli_exits_2_on_hostile_input_and_sends_nothing() {
    let fake = fake().await;
    let endpoint = fake.endpoint();
    let token = TempFile::new(TOKEN.as_bytes());
    let auth = |mut args: Vec<String>| {
        args.extend(strings(&[
            "--endpoint",
            &endpoint,
            "--access-token-file",
            token.path(),
        ]));
        args
    };
    let files: Vec<TempFile> = bad_token_files().iter().map(TempFile::new).collect();

    let mut runs: Vec<(String, Vec<String>)> = Vec::new();
    for file in &files {
        let args = strings(&[
            "cancel",
            JOB,
            "--endpoint",
            &endpoint,
            "--access-token-file",
            file.path(),
        ]);
        runs.push((format!("token file {}", file.path()), args));
    }
    // Names with NUL cannot be process arguments; the rest go through `cancel` and `status`.
    for name in bad_names()
        .into_iter()
        .filter(|n| !n.contains('\0'))
        .take(20)
    {
        runs.push((
            format!("cancel {name:.60?}"),
            auth(strings(&["cancel", JOB, &name])),
        ));
        runs.push((
            format!("status {name:.60?}"),
            auth(strings(&["status", &name])),
        ));
    }
    for region in bad_regions().into_iter().filter(|r| !r.is_empty()) {
        runs.push((
            format!("region {region:?}"),
            auth(strings(&["cancel", JOB, "--region", &region])),
        ));
    }
    for bad in bad_endpoints() {
        let args = strings(&[
            "cancel",
            JOB,
            "--endpoint",
            &bad,
            "--access-token-file",
            token.path(),
        ]);
        runs.push((format!("endpoint {bad:?}"), args));
    }
    for filter in bad_filters().into_iter().filter(|f| !f.contains('\0')) {
        let list = strings(&[
            "list",
            "pipeline-jobs",
            "--parent",
            "projects/p/locations/us-central1",
            "--filter",
            &filter,
        ]);
        runs.push((format!("list --filter {filter:.60?}"), auth(list)));
        let matching = strings(&[
            "cancel-matching",
            "pipeline-jobs",
            "--parent",
            "projects/p/locations/us-central1",
            "--filter",
            &filter,
            "--yes",
        ]);
        runs.push((
            format!("cancel-matching --filter {filter:.60?}"),
            auth(matching),
        ));
    }
    // --parent and --project (or --region) that contradict each other: which one was meant?
    for (command, extra) in [
        ("list", &["--project", "q"][..]),
        ("cancel-matching", &["--project", "q", "--yes"][..]),
        ("list", &["--region", "europe-west4"][..]),
    ] {
        let mut args = strings(&[command, "pipeline-jobs", "--parent"]);
        args.extend(strings(&[
            "projects/p/locations/us-central1",
            "--filter",
            "display_name=x",
        ]));
        args.extend(strings(extra));
        runs.push((format!("{command} --parent with {extra:?}"), auth(args)));
    }
    // A wait of nothing cannot be honoured: it is refused, not reported as a timeout per target.
    for timeout in ["0s", "0ms", "0ns"] {
        runs.push((
            format!("cancel --wait --timeout {timeout}"),
            auth(strings(&["cancel", JOB, "--wait", "--timeout", timeout])),
        ));
    }
    for parent in [
        "projects/p",
        "projects/p/locations/evil.com",
        "projects/p/locations/us-central1/x",
    ] {
        let list = strings(&["list", "pipeline-jobs", "--parent", parent]);
        runs.push((format!("list --parent {parent:?}"), auth(list)));
    }
    assert!(runs.len() >= 50, "{} cases", runs.len());

    // A few at a time: each is a process start, and the machine is shared.
    let results: Vec<_> = futures::stream::iter(runs)
        .map(|(what, args)| async move { (what, cli(args).await) })
        .buffer_unordered(4)
        .collect()
        .await;
    for (what, (code, stderr)) in &results {
        assert_eq!(*code, 2, "{what}: exit {code}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!stderr.contains(TOKEN), "{what}: token in {stderr}");
        assert!(
            stderr.len() < 4096,
            "{what}: {} bytes of stderr",
            stderr.len()
        );
    }
    assert!(fake.calls().is_empty(), "sent: {:?}", fake.calls());
}
