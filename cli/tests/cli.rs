//! The `vertex-cancel` binary end to end: each command spawned as a real process against the
//! in-process fake, its JSON Lines parsed, its exit code checked for every class, and the fake's
//! call log used to prove what was (and was not) sent.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/tls_common/mod.rs"]
mod tls_common;

use common::TempFile;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tonic::Code;
use vertex_cancel::State;
use vertex_cancel::fake::{CancelOutcome, FakeHandle, FakeVertex, FaultRule, ResourceSpec};

const BIN: &str = env!("CARGO_BIN_EXE_vertex-cancel");
/// A bound on each spawned run, so a hang fails the test instead of stalling CI.
const RUN_LIMIT: Duration = Duration::from_secs(30);

const JOB: &str = "projects/p/locations/us-central1/pipelineJobs/a";
const JOB_B: &str = "projects/p/locations/us-central1/pipelineJobs/b";
const NAS: &str = "projects/p/locations/europe-west4/nasJobs/7";
const OP: &str = "projects/p/locations/us-central1/operations/9";
const PARENT: &str = "projects/p/locations/us-central1";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    fn by_name(&self, name: &str) -> Value {
        self.json()
            .into_iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no line for {name} in {}", self.stdout))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("VERTEX_CANCEL_ACCESS_TOKEN")
        .env_remove("VERTEX_CANCEL_ENDPOINT")
        .env_remove("RUST_LOG")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run_command(mut cmd: Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn vertex-cancel");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
    }
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("vertex-cancel did not finish")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn cli(args: &[&str]) -> Run {
    run_command(command(args), None).await
}

async fn cli_stdin(args: &[&str], stdin: &str) -> Run {
    run_command(command(args), Some(stdin)).await
}

/// Runs `args` against `fake` without auth, plus `--json`.
async fn json_against(fake: &FakeHandle, args: &[&str]) -> Run {
    let endpoint = fake.endpoint();
    let mut all = args.to_vec();
    all.extend(["--endpoint", &endpoint, "--no-auth", "--json"]);
    cli(&all).await
}

async fn fake_with(specs: impl IntoIterator<Item = ResourceSpec>) -> FakeHandle {
    FakeVertex::builder()
        .cancel_delay(Duration::from_millis(50))
        .resources(specs)
        .start()
        .await
        .unwrap()
}

fn running(name: &str) -> ResourceSpec {
    ResourceSpec::new(name, State::Running)
}

fn rpcs(fake: &FakeHandle) -> Vec<&'static str> {
    fake.calls().iter().map(|c| c.rpc).collect()
}

const WAIT_FAST: [&str; 3] = ["--wait", "--poll-interval", "20ms"];

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn cancel_one_without_wait_is_requested_and_exits_0() {
    let fake = fake_with([running(JOB)]).await;
    let run = json_against(&fake, &["cancel", JOB]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.by_name(JOB);
    assert_eq!(line["outcome"], "requested");
    assert_eq!(line["kind"], "pipeline-job");
    assert_eq!(line["service"], "aiplatform");
    assert!(line["state"].is_null() && line["error"].is_null());
    assert_eq!(rpcs(&fake), ["CancelPipelineJob"]);
}

#[tokio::test]
async fn cancel_many_kinds_with_wait_are_cancelled_and_exit_0() {
    let fake = fake_with([running(JOB), running(NAS), running(OP)]).await;
    let full_op = format!("//aiplatform.googleapis.com/{OP}");
    let mut args = vec!["cancel", JOB, NAS, &full_op];
    args.extend(WAIT_FAST);
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json().len(), 3);
    for (name, kind) in [(JOB, "pipeline-job"), (NAS, "nas-job"), (OP, "operation")] {
        let line = run.by_name(name);
        assert_eq!(line["outcome"], "cancelled", "{line}");
        assert_eq!(line["state"], "CANCELLED");
        assert_eq!(line["kind"], kind);
        assert_eq!(line["resource_error"]["code"], "CANCELLED");
        assert_eq!(fake.state_of(name), Some(State::Cancelled));
    }
}

/// The six job kinds added after pipeline and NAS jobs, by collection word and JSON kind.
const NEW_KINDS: [(&str, &str); 6] = [
    ("customJobs", "custom-job"),
    ("hyperparameterTuningJobs", "hyperparameter-tuning-job"),
    ("batchPredictionJobs", "batch-prediction-job"),
    ("dataLabelingJobs", "data-labeling-job"),
    ("trainingPipelines", "training-pipeline"),
    ("tuningJobs", "tuning-job"),
];

/// Every kind through the CLI, by short name with --project/--region, in each outcome: cancelled,
/// finished anyway, still running (stuck), already finished, not found. The fake's final state
/// proves each report.
#[tokio::test]
async fn every_kind_is_cancelled_and_reported_truly_through_the_cli() {
    let full =
        |collection: &str, id: u32| format!("projects/p/locations/us-central1/{collection}/{id}");
    let mut specs = Vec::new();
    for (collection, _) in NEW_KINDS {
        specs.push(running(&full(collection, 1)));
        specs.push(running(&full(collection, 2)).with_cancel_outcome(CancelOutcome::Succeeded));
        specs.push(running(&full(collection, 3)).with_cancel_outcome(CancelOutcome::Stuck));
        specs.push(ResourceSpec::new(full(collection, 4), State::Failed));
    }
    let fake = fake_with(specs).await;
    let shorts: Vec<String> = NEW_KINDS
        .iter()
        .flat_map(|(collection, _)| (1..=5).map(move |id| format!("{collection}/{id}")))
        .collect();
    let mut args = vec!["cancel", "--project", "p", "--region", "us-central1"];
    args.extend(shorts.iter().map(String::as_str));
    args.extend(["--wait", "--timeout", "2s", "--poll-interval", "50ms"]);
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 1, "NOT_FOUND outranks the rest: {run:?}");
    assert_eq!(run.json().len(), 30, "{run:?}");
    for (collection, kind) in NEW_KINDS {
        let expect = [
            (1, "cancelled", Some(State::Cancelled)),
            (2, "finished_anyway", Some(State::Succeeded)),
            (3, "still_running", Some(State::Cancelling)),
            (4, "finished_anyway", Some(State::Failed)),
            (5, "error", None),
        ];
        for (id, outcome, state) in expect {
            let name = full(collection, id);
            let line = run.by_name(&name);
            assert_eq!(line["kind"], kind, "{line}");
            assert_eq!(line["outcome"], outcome, "{line}");
            assert_eq!(fake.state_of(&name), state, "{name}");
        }
        assert_eq!(
            run.by_name(&full(collection, 5))["error"]["code"],
            "NOT_FOUND"
        );
    }
}

#[tokio::test]
async fn names_are_read_from_stdin() {
    let fake = fake_with([running(JOB), running(JOB_B)]).await;
    let endpoint = fake.endpoint();
    let input = format!("# tonight's runaways\n{JOB}\n\n  {JOB_B}  \n");
    let run = cli_stdin(
        &[
            "cancel",
            "-",
            "--endpoint",
            &endpoint,
            "--no-auth",
            "--json",
        ],
        &input,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    // Both names were read and sent (in one batch: same location), nothing else.
    for job in [JOB, JOB_B] {
        let state = fake.state_of(job);
        assert!(
            matches!(state, Some(State::Cancelling | State::Cancelled)),
            "{job}: {state:?}"
        );
    }
    assert_eq!(run.stdout.lines().count(), 2, "{run:?}");
}

#[tokio::test]
async fn no_batch_sends_each_pipeline_job_its_own_cancel() {
    let fake = fake_with([running(JOB), running(JOB_B)]).await;
    let run = json_against(&fake, &["cancel", JOB, JOB_B]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let rpcs_batched = rpcs(&fake);
    assert!(
        rpcs_batched.contains(&"BatchCancelPipelineJobs"),
        "{rpcs_batched:?}"
    );
    assert!(
        !rpcs_batched.contains(&"CancelPipelineJob"),
        "{rpcs_batched:?}"
    );

    let fake = fake_with([running(JOB), running(JOB_B)]).await;
    let run = json_against(&fake, &["cancel", JOB, JOB_B, "--no-batch"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(rpcs(&fake), ["CancelPipelineJob", "CancelPipelineJob"]);
    for job in [JOB, JOB_B] {
        assert_eq!(run.by_name(job)["outcome"], "requested");
        let state = fake.state_of(job);
        assert!(
            matches!(state, Some(State::Cancelling | State::Cancelled)),
            "{job}: {state:?}"
        );
    }
}

#[tokio::test]
async fn finished_anyway_exits_3_with_and_without_wait() {
    let spec = running(JOB).with_cancel_outcome(CancelOutcome::Succeeded);
    let fake = fake_with([spec.clone()]).await;
    let mut args = vec!["cancel", JOB];
    args.extend(WAIT_FAST);
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 3, "{run:?}");
    let line = run.by_name(JOB);
    assert_eq!(line["outcome"], "finished_anyway");
    assert_eq!(line["state"], "SUCCEEDED");

    // Already SUCCEEDED now: the same outcome word, the same exit code without --wait.
    let run = json_against(&fake, &["cancel", JOB]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.by_name(JOB)["outcome"], "finished_anyway");
}

#[tokio::test]
async fn still_running_after_the_timeout_exits_3() {
    let fake = fake_with([running(JOB).with_cancel_outcome(CancelOutcome::Stuck)]).await;
    let mut args = vec!["cancel", JOB, "--timeout", "300ms"];
    args.extend(WAIT_FAST);
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 3, "{run:?}");
    let line = run.by_name(JOB);
    assert_eq!(line["outcome"], "still_running");
    assert_eq!(line["state"], "CANCELLING");
}

#[tokio::test]
async fn not_found_exits_1() {
    let fake = fake_with([running(JOB)]).await;
    let run = json_against(&fake, &["cancel", JOB, JOB_B]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.by_name(JOB)["outcome"], "requested");
    let missing = run.by_name(JOB_B);
    assert_eq!(missing["outcome"], "error");
    assert_eq!(missing["error"]["code"], "NOT_FOUND");
    assert!(missing["error"]["message"].as_str().unwrap().len() > 3);
}

#[tokio::test]
async fn permission_denied_exits_4_and_outranks_other_errors() {
    let denied = running(JOB).with_fault(FaultRule::fail(Code::PermissionDenied));
    let fake = fake_with([denied]).await;
    let run = json_against(&fake, &["cancel", JOB, JOB_B]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.by_name(JOB)["error"]["code"], "PERMISSION_DENIED");
    assert_eq!(run.by_name(JOB_B)["error"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn tokens_from_file_and_env_are_sent_and_a_wrong_one_exits_4() {
    let fake = FakeVertex::builder()
        .token("right-token")
        .pipeline_job(JOB, State::Running)
        .pipeline_job(JOB_B, State::Running)
        .start()
        .await
        .unwrap();
    let endpoint = fake.endpoint();

    let wrong = TempFile::new("wrong-token\n");
    let args = [
        "cancel",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        wrong.path(),
    ];
    let run = cli(&args).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stdout.contains("UNAUTHENTICATED"), "{run:?}");

    let right = TempFile::new("right-token\n");
    let args = [
        "cancel",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        right.path(),
    ];
    let run = cli(&args).await;
    assert_eq!(run.code, 0, "{run:?}");

    let mut cmd = command(&["cancel", JOB_B, "--endpoint", &endpoint, "-vvv"]);
    cmd.env("VERTEX_CANCEL_ACCESS_TOKEN", "right-token");
    let run = run_command(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("right-token") && !run.stderr.contains("right-token"),
        "the token was printed: {run:?}"
    );
}

#[tokio::test]
async fn bad_names_exit_2_and_send_nothing() {
    let fake = fake_with([running(JOB)]).await;
    let run = json_against(&fake, &["cancel", JOB, "projects/p/pipelineJobs/x", "42"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("name 2") && run.stderr.contains("name 3"),
        "{run:?}"
    );
    assert!(run.stderr.contains("bare id"), "{run:?}");
    assert!(run.stdout.is_empty());

    // --service automl on a job, a region the name is not in, `-` with nothing on stdin.
    let run = json_against(&fake, &["cancel", JOB, "--service", "automl"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = json_against(&fake, &["cancel", JOB, "--region", "europe-west4"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let endpoint = fake.endpoint();
    let run = cli_stdin(&["cancel", "-", "--endpoint", &endpoint, "--no-auth"], "\n").await;
    assert_eq!(run.code, 2, "{run:?}");

    assert!(fake.calls().is_empty(), "sent: {:?}", rpcs(&fake));
}

#[tokio::test]
async fn bad_token_input_and_insecure_endpoints_exit_2_before_any_call() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let empty = TempFile::new("\n");
    let two = TempFile::new("one\ntwo\n");
    let huge = TempFile::new(vec![b't'; 1 << 20]);
    for (file, why) in [(&empty, "empty"), (&two, "more than one"), (&huge, "8192")] {
        let run = cli(&[
            "cancel",
            JOB,
            "--endpoint",
            &endpoint,
            "--access-token-file",
            file.path(),
        ])
        .await;
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains(why), "{run:?}");
        assert!(!run.stderr.contains("two"), "token text echoed: {run:?}");
    }
    let token = TempFile::new("t0ken");
    let remote = [
        "cancel",
        JOB,
        "--endpoint",
        "http://vertex.example.com:8080",
        "--access-token-file",
        token.path(),
    ];
    let run = cli(&remote).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("insecure"), "{run:?}");
    // --no-auth to Google's real endpoints.
    let run = cli(&["cancel", JOB, "--no-auth"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn automl_operations_by_flag_or_full_name() {
    let fake = fake_with([running(OP)]).await;
    let run = json_against(&fake, &["cancel", OP, "--service", "automl"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let line = &run.json()[0];
    assert_eq!(line["service"], "automl");
    assert_eq!(line["name"], format!("//automl.googleapis.com/{OP}"));

    let full = format!("//automl.googleapis.com/{OP}");
    let run = json_against(&fake, &["status", &full]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()[0]["service"], "automl");
}

#[tokio::test]
async fn status_reports_state_and_errors_in_input_order() {
    let failed = ResourceSpec::new(NAS, State::Failed).with_error(13, "out of memory");
    let fake = fake_with([running(JOB), failed]).await;
    let run = json_against(&fake, &["status", JOB, NAS]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.json();
    assert_eq!(lines[0]["name"], JOB);
    assert_eq!(lines[0]["state"], "RUNNING");
    assert!(lines[0]["resource_error"].is_null() && lines[0]["error"].is_null());
    assert_eq!(lines[1]["state"], "FAILED");
    assert_eq!(lines[1]["resource_error"]["code"], "INTERNAL");
    assert_eq!(lines[1]["resource_error"]["message"], "out of memory");
    assert!(rpcs(&fake).iter().all(|rpc| rpc.starts_with("Get")));

    let run = json_against(&fake, &["status", JOB_B]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()[0]["error"]["code"], "NOT_FOUND");
    assert!(run.json()[0]["state"].is_null());
}

#[tokio::test]
async fn status_prints_an_aligned_table_without_json() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let run = cli(&["status", JOB, "--endpoint", &endpoint, "--no-auth"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let mut lines = run.stdout.lines();
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    assert!(header.starts_with("NAME"), "{header}");
    assert_eq!(header.find("KIND"), row.find("pipeline-job"), "{run:?}");
    assert!(!run.stdout.contains('\x1b'));
}

fn jobs_for_listing() -> Vec<ResourceSpec> {
    let mut specs: Vec<ResourceSpec> = (0..4)
        .map(|i| running(&format!("{PARENT}/pipelineJobs/run-{i}")).with_display_name("nightly"))
        .collect();
    specs.push(
        ResourceSpec::new(format!("{PARENT}/pipelineJobs/old"), State::Succeeded)
            .with_display_name("nightly"),
    );
    specs.push(running(&format!("{PARENT}/pipelineJobs/keep")).with_display_name("adhoc"));
    specs
}

#[tokio::test]
async fn list_with_filter_and_limit() {
    let fake = fake_with(jobs_for_listing()).await;
    let run = json_against(
        &fake,
        &[
            "list",
            "pipeline-jobs",
            "--parent",
            PARENT,
            "--filter",
            "state=PIPELINE_STATE_RUNNING",
            "--limit",
            "3",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.json();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert_eq!(line["state"], "RUNNING");
        assert_eq!(line["kind"], "pipeline-job");
        assert_eq!(line["done"], false);
        assert!(line["display_name"].is_string());
    }
    let call = &fake.calls()[0];
    assert_eq!(
        (call.rpc, call.target.as_str()),
        ("ListPipelineJobs", PARENT)
    );

    // The parent from --project and --region; operations have no display name.
    let run = json_against(
        &fake,
        &[
            "list",
            "operations",
            "--project",
            "p",
            "--region",
            "us-central1",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());

    // A field the kind's List does not document, and the sweep cannot read, is refused before
    // any List: exit 2, and nothing on stdout, not even a table header.
    fake.clear_calls();
    let refused = [
        "list",
        "nas-jobs",
        "--parent",
        PARENT,
        "--filter",
        "colour=blue",
    ];
    let run = json_against(&fake, &refused).await;
    assert_eq!(run.code, 2, "{run:?}");
    let endpoint = fake.endpoint();
    let mut table = refused.to_vec();
    table.extend(["--endpoint", &endpoint, "--no-auth"]);
    let run = cli(&table).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert!(run.stderr.contains("`colour`"), "{run:?}");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn cancel_matching_dry_run_sends_no_cancel() {
    let fake = fake_with(jobs_for_listing()).await;
    let run = json_against(
        &fake,
        &[
            "cancel-matching",
            "pipeline-jobs",
            "--parent",
            PARENT,
            "--filter",
            "display_name=\"nightly\"",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    // Four running nightly jobs; the finished one is left out.
    assert_eq!(run.json().len(), 4);
    // Counted per region and kind; the finished one was never listed (state!= on the server).
    assert!(
        run.stderr.contains("us-central1 pipeline-job: 4 found")
            && run.stderr.contains("4 live jobs to cancel"),
        "{run:?}"
    );
    assert_eq!(rpcs(&fake), ["ListPipelineJobs"]);
}

#[tokio::test]
async fn cancel_matching_needs_yes_without_a_terminal() {
    let fake = fake_with(jobs_for_listing()).await;
    let args = [
        "cancel-matching",
        "pipeline-jobs",
        "--parent",
        PARENT,
        "--filter",
        "display_name=\"nightly\"",
    ];
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--yes"), "{run:?}");
    assert!(run.stderr.contains("nothing was sent"), "{run:?}");
    // Checked before the List: nothing at all reached the server.
    assert_eq!(rpcs(&fake), Vec::<&str>::new());
}

#[tokio::test]
async fn cancel_matching_with_yes_cancels_only_the_matching_jobs() {
    let fake = fake_with(jobs_for_listing()).await;
    let mut args = vec![
        "cancel-matching",
        "pipeline-jobs",
        "--parent",
        PARENT,
        "--filter",
        "display_name=\"nightly\"",
        "--yes",
    ];
    args.extend(WAIT_FAST);
    let run = json_against(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json().len(), 4);
    assert!(run.json().iter().all(|l| l["outcome"] == "cancelled"));
    for i in 0..4 {
        assert_eq!(
            fake.state_of(&format!("{PARENT}/pipelineJobs/run-{i}")),
            Some(State::Cancelled)
        );
    }
    assert_eq!(
        fake.state_of(&format!("{PARENT}/pipelineJobs/keep")),
        Some(State::Running)
    );
    assert_eq!(
        fake.state_of(&format!("{PARENT}/pipelineJobs/old")),
        Some(State::Succeeded)
    );
}

#[tokio::test]
async fn completions_and_help_are_generated() {
    let run = cli(&["completions", "bash"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("vertex-cancel") && run.stdout.contains("cancel-matching"));
    let run = cli(&["--help"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    for text in ["EXIT CODES", "130", "JSON LINES", "resource_error"] {
        assert!(run.stdout.contains(text), "{text} missing from --help");
    }
    let run = cli(&["cancel"]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test]
async fn demo_shows_every_outcome_and_exits_0() {
    let run = cli(&["demo"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    for text in [
        "cancelled",
        "finished_anyway",
        "had already finished",
        "UNIMPLEMENTED",
        "nas-job",
        "operation",
    ] {
        assert!(run.stdout.contains(text), "{text} missing: {run:?}");
    }
    let run = cli(&["demo", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.json();
    assert_eq!(lines.len(), 13);
    for kind in vertex_cancel::TargetKind::ALL {
        assert!(
            lines.iter().any(|l| l["kind"] == kind.as_str()),
            "the demo shows no {kind}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["service"] == "automl" && l["error"]["code"] == "UNIMPLEMENTED")
    );
    assert!(lines.iter().all(|l| l["before"].is_string()));
}

/// A scenario file with [`JOB`] running and a 30 ms cancel delay.
fn one_running_job_scenario() -> TempFile {
    TempFile::new(format!(
        r#"{{"cancel_delay_ms": 30, "resources": [{{"name": "{JOB}", "state": "RUNNING"}}]}}"#
    ))
}

/// The next line a child printed, failing the test if none comes within [`RUN_LIMIT`].
async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(RUN_LIMIT, lines.next_line())
        .await
        .expect("no line within the limit")
        .unwrap()
        .expect("stdout ended")
}

/// Spawns `vertex-cancel fake ...` and reads its `PORT n` line.
async fn start_fake_process(mut fake: Command) -> (tokio::process::Child, String) {
    fake.stdin(Stdio::null());
    let mut child = fake.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = next_line(&mut stdout).await;
    let port = first.strip_prefix("PORT ").expect("PORT line").to_owned();
    (child, port)
}

#[tokio::test]
async fn the_fake_subcommand_serves_the_cli_and_stops_on_sigterm() {
    let scenario = one_running_job_scenario();
    let log = TempFile::new("");
    let token = TempFile::new("fake-token\n");
    let fake = command(&[
        "fake",
        "--port",
        "0",
        "--scenario",
        scenario.path(),
        "--token-file",
        token.path(),
        "--log",
        log.path(),
    ]);
    let (mut child, port) = start_fake_process(fake).await;
    let endpoint = format!("http://127.0.0.1:{port}");

    let mut args = vec![
        "cancel",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        token.path(),
        "--json",
    ];
    args.extend(WAIT_FAST);
    let run = cli(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.by_name(JOB)["outcome"], "cancelled");

    signal(child.id().unwrap(), "-TERM");
    let status = tokio::time::timeout(RUN_LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let logged = std::fs::read_to_string(Path::new(log.path())).unwrap();
    assert!(logged.contains("CancelPipelineJob"), "{logged}");
    assert!(!logged.contains("fake-token"), "the log holds the token");
}

#[tokio::test]
async fn a_bad_scenario_exits_2() {
    let scenario = TempFile::new(r#"{"resources": [{"name": "nope"}]}"#);
    let run = cli(&["fake", "--scenario", scenario.path()]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

/// Ctrl-C stops launching cancels, yet every cancel already sent is reported: an operator must
/// learn of each job the server was asked to stop.
#[tokio::test]
async fn ctrl_c_stops_launching_cancels_reports_those_sent_and_exits_130() {
    // Kinds cancelled one by one (pipeline jobs could share a batch), in input order.
    let slow = running(OP)
        .with_fault(FaultRule::slow(Duration::from_millis(1500)).on_methods(["CancelOperation"]));
    let fake = fake_with([running(NAS), slow, running(JOB)]).await;
    let endpoint = fake.endpoint();
    let mut cmd = command(&[
        "cancel",
        NAS,
        OP,
        JOB,
        "--concurrency",
        "1",
        "--endpoint",
        &endpoint,
        "--no-auth",
        "--json",
    ]);
    cmd.stdin(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = next_line(&mut stdout).await;
    assert!(first.contains(NAS), "{first}");
    // OP's cancel is sent right after NAS's answer and answered 1.5 s later: Ctrl-C comes
    // while it is in flight (the call log records a call once answered, so it cannot tell).
    tokio::time::sleep(Duration::from_millis(300)).await;

    signal(child.id().unwrap(), "-INT");
    let status = tokio::time::timeout(RUN_LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    let second = next_line(&mut stdout).await;
    assert_eq!(status.code(), Some(130), "{second} {:?}", rpcs(&fake));
    let row: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(row["name"], OP, "{second}");
    assert_eq!(row["outcome"], "requested", "{second}");
    assert!(
        stdout.next_line().await.unwrap().is_none(),
        "reported more than was done"
    );
    // The third target was never sent.
    assert!(
        fake.calls().iter().all(|c| c.target != JOB),
        "{:?}",
        rpcs(&fake)
    );
}

/// The token of the secrets test: long and distinctive, so that any 16-character piece of it
/// found in the output is a leak.
const SECRET: &str = "ya29.a0AfB_secret-4f8e2d1c9b7a6e5d4c3b2a1f0e9d8c7b6a5";

/// Fails if any 16-character piece of [`SECRET`] is in `text`, or if something panicked.
fn assert_no_secret(what: &str, text: &str) {
    for piece in SECRET.as_bytes().windows(16) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(
            !text.contains(piece),
            "{what}: `{piece}` of the token in:\n{text}"
        );
    }
    assert!(!text.contains("panicked"), "{what}: {text}");
}

/// `args` with `-vvv`, `RUST_LOG=trace` and the token in the environment.
fn traced(args: &[&str]) -> Command {
    let mut cmd = command(args);
    cmd.arg("-vvv")
        .env("RUST_LOG", "trace")
        .env("VERTEX_CANCEL_ACCESS_TOKEN", SECRET);
    cmd
}

#[tokio::test]
async fn no_command_shows_the_token_even_at_trace_level() {
    let specs = [
        running(JOB),
        running(JOB_B).with_display_name("nightly"),
        running(NAS),
        running(OP),
    ];
    let fake = FakeVertex::builder()
        .token(SECRET)
        .cancel_delay(Duration::from_millis(30))
        .resources(specs)
        .start()
        .await
        .unwrap();
    let endpoint = fake.endpoint();
    let file = TempFile::new(format!("{SECRET}\n"));
    let two_lines = TempFile::new(format!("{SECRET}\n{SECRET}\n"));
    let nightly = "display_name=\"nightly\"";
    let at = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint", &endpoint]);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let mut wait_b = at(&[
        "cancel",
        JOB_B,
        "--access-token-file",
        file.path(),
        "--json",
    ]);
    wait_b.extend(WAIT_FAST.map(str::to_owned));
    // (args, expected exit code)
    let runs: Vec<(Vec<String>, i32)> = vec![
        (at(&["cancel", JOB]), 0),
        (wait_b, 0),
        (at(&["status", JOB, NAS, OP]), 0),
        (at(&["status", JOB, NAS, "--json"]), 0),
        (at(&["list", "pipeline-jobs", "--parent", PARENT]), 0),
        (
            at(&[
                "list",
                "operations",
                "--parent",
                PARENT,
                "--filter",
                "done=true",
                "--json",
            ]),
            0,
        ),
        (
            at(&[
                "cancel-matching",
                "pipeline-jobs",
                "--parent",
                PARENT,
                "--filter",
                nightly,
                "--dry-run",
            ]),
            0,
        ),
        (
            at(&[
                "cancel-matching",
                "nas-jobs",
                "--parent",
                "projects/p/locations/europe-west4",
                "--filter",
                "state=\"JOB_STATE_RUNNING\"",
                "--yes",
                "--wait",
                "--poll-interval",
                "20ms",
            ]),
            0,
        ),
        (
            at(&[
                "cancel",
                "projects/p/locations/us-central1/pipelineJobs/missing",
            ]),
            1,
        ),
        (
            at(&["cancel", JOB, "--access-token-file", two_lines.path()]),
            2,
        ),
        (
            vec![
                "cancel".into(),
                JOB.into(),
                "--endpoint".into(),
                "http://10.1.2.3:80".into(),
            ],
            2,
        ),
        (vec!["cancel".into(), "projects/p/pipelineJobs/x".into()], 2),
        (
            vec!["demo".into(), "--cancel-delay".into(), "20ms".into()],
            0,
        ),
        (vec!["completions".into(), "zsh".into()], 0),
    ];
    for (args, code) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_command(traced(&args), None).await;
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        assert!(
            run.stderr.contains("TRACE") || code == 2 || args[0] == "completions",
            "{args:?}: no trace output"
        );
        assert_no_secret(
            &format!("{args:?}"),
            &format!("{}{}", run.stdout, run.stderr),
        );
    }

    // A wrong token (it contains the right one): refused, and shown nowhere.
    let mut cmd = traced(&["cancel", JOB, "--endpoint", &endpoint]);
    cmd.env("VERTEX_CANCEL_ACCESS_TOKEN", format!("{SECRET}-wrong"));
    let run = run_command(cmd, None).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_no_secret("wrong token", &format!("{}{}", run.stdout, run.stderr));

    // The token on stdin.
    let mut cmd = traced(&[
        "status",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        "-",
    ]);
    cmd.env_remove("VERTEX_CANCEL_ACCESS_TOKEN");
    let run = run_command(cmd, Some(&format!("{SECRET}\n"))).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_secret("token on stdin", &format!("{}{}", run.stdout, run.stderr));
}

#[tokio::test]
async fn the_fake_subcommand_never_shows_its_token_at_trace_level() {
    let token = TempFile::new(format!("{SECRET}\n"));
    let log = TempFile::new("");
    let fake = traced(&[
        "fake",
        "--port",
        "0",
        "--token-file",
        token.path(),
        "--log",
        log.path(),
    ]);
    let (child, port) = start_fake_process(fake).await;
    let endpoint = format!("http://127.0.0.1:{port}");
    // NOT_FOUND (the fake is empty), after the token was checked.
    let run = run_command(traced(&["cancel", JOB, "--endpoint", &endpoint]), None).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert_no_secret(
        "client of the fake",
        &format!("{}{}", run.stdout, run.stderr),
    );

    signal(child.id().unwrap(), "-TERM");
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TRACE"), "trace output was captured");
    assert_no_secret("fake stderr", &stderr);
    assert_no_secret("fake stdout", &String::from_utf8_lossy(&out.stdout));
    let logged = std::fs::read_to_string(Path::new(log.path())).unwrap();
    assert!(logged.contains("CancelPipelineJob"), "{logged}");
    assert_no_secret("fake call log", &logged);
}

#[tokio::test]
async fn the_fake_serves_tls_and_the_cli_trusts_it_with_ca_file() {
    let ca = tls_common::TestCa::new("vertex-cancel CLI test CA");
    let leaf = ca.localhost();
    let cert = TempFile::new(&leaf.cert_pem);
    let key = TempFile::new(&leaf.key_pem);
    let ca_file = TempFile::new(ca.pem());
    let scenario = one_running_job_scenario();
    let token = TempFile::new("tls-token\n");
    let fake = command(&[
        "fake",
        "--port",
        "0",
        "--scenario",
        scenario.path(),
        "--token-file",
        token.path(),
        "--tls-cert",
        cert.path(),
        "--tls-key",
        key.path(),
    ]);
    let (mut child, port) = start_fake_process(fake).await;
    let endpoint = format!("https://localhost:{port}");

    // Without the CA the certificate is not trusted: a connection error, exit 1.
    let run = cli(&[
        "status",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        token.path(),
    ])
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("not trusted") || run.stdout.contains("not trusted"),
        "{run:?}"
    );

    let mut args = vec![
        "cancel",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        token.path(),
        "--ca-file",
        ca_file.path(),
        "--json",
    ];
    args.extend(WAIT_FAST);
    let run = cli(&args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.by_name(JOB)["outcome"], "cancelled");

    let run = cli(&[
        "status",
        JOB,
        "--endpoint",
        &endpoint,
        "--no-auth",
        "--ca-file",
        "/nonexistent/ca.pem",
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");

    signal(child.id().unwrap(), "-TERM");
    let status = tokio::time::timeout(RUN_LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A scenario file for the standalone fake.
fn scenario_file(resources: Vec<ResourceSpec>) -> TempFile {
    let scenario = vertex_cancel::fake::Scenario {
        resources,
        ..Default::default()
    };
    TempFile::new(serde_json::to_string(&scenario).unwrap())
}

#[tokio::test]
async fn a_closed_stdout_stops_the_run_quietly_with_a_non_zero_exit() {
    // The first job answers at once; every other cancel takes a second, so the reader has
    // closed the pipe long before the second row is written.
    let names: Vec<String> = (0..300)
        .map(|i| format!("{PARENT}/pipelineJobs/p{i}"))
        .collect();
    let specs = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let spec = running(name);
            if i == 0 {
                spec
            } else {
                spec.with_fault(FaultRule::slow(Duration::from_secs(1)))
            }
        })
        .collect();
    let scenario = scenario_file(specs);
    let log = TempFile::new("");
    let (mut fake, port) = start_fake_process(command(&[
        "fake",
        "--scenario",
        scenario.path(),
        "--log",
        log.path(),
    ]))
    .await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut cmd = command(&[
        "--json",
        "cancel",
        "-",
        "--concurrency",
        "1",
        "--endpoint",
        &endpoint,
        "--no-auth",
    ]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", names.join("\n")).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = next_line(&mut stdout).await;
    assert!(first.contains("p0"), "{first}");
    drop(stdout); // `| head -1`
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(out.status.code().is_some(), "killed by a signal: {stderr}");
    assert!(!stderr.contains("error"), "not quiet: {stderr}");
    signal(fake.id().unwrap(), "-TERM");
    tokio::time::timeout(RUN_LIMIT, fake.wait())
        .await
        .unwrap()
        .unwrap();
    let cancels = std::fs::read_to_string(log.path())
        .unwrap()
        .matches("CancelPipelineJob")
        .count();
    assert!(cancels < 10, "{cancels} cancels sent after the reader left");
}

/// Writes `byte` to the child's stdin until the child closes it; returns the child's result.
async fn feed_forever(mut cmd: Command, byte: u8) -> Run {
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        let chunk = vec![byte; 64 * 1024];
        while stdin.write_all(&chunk).await.is_ok() {}
    });
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("the CLI read without a limit")
        .unwrap();
    writer.abort();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn an_endless_token_on_stdin_is_refused_with_exit_2() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let cmd = command(&[
        "cancel",
        JOB,
        "--endpoint",
        &endpoint,
        "--access-token-file",
        "-",
    ]);
    let run = feed_forever(cmd, b't').await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("8192"), "{run:?}");
    assert!(run.stderr.len() < 1024, "{run:?}");
    assert!(fake.calls().is_empty(), "sent: {:?}", rpcs(&fake));
}

#[tokio::test]
async fn an_endless_line_of_names_is_refused_with_exit_2() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let cmd = command(&["cancel", "-", "--endpoint", &endpoint, "--no-auth"]);
    let run = feed_forever(cmd, b'a').await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("line 1"), "{run:?}");
    assert!(run.stderr.len() < 1024, "{run:?}");
    assert!(fake.calls().is_empty(), "sent: {:?}", rpcs(&fake));
}

/// The peak resident memory of a running process, in KiB (`VmHWM` counts from its `exec`).
#[cfg(target_os = "linux")]
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn names_on_stdin_are_checked_without_holding_them_all_in_memory() {
    // 400,000 good names, then (stdin still open) the peak memory so far, far below what
    // holding the names takes (over 60 MB); then a bad name: exit 2, nothing sent.
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let mut input = String::with_capacity(400_000 * 64);
    for i in 0..400_000 {
        input.push_str(&format!("{PARENT}/pipelineJobs/memory-check-job-{i:08}\n"));
    }
    let mut cmd = command(&["cancel", "-", "--endpoint", &endpoint, "--no-auth"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(input);
    // All but the last pipe buffer (64 KiB, about 1,000 names) has been read by now; give the
    // CLI a moment to check those too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peak_kib = peak_memory_kib(pid);
    stdin.write_all(b"not-a-name\n").await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(peak_kib < 25 * 1024, "peak {peak_kib} KiB");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 400001"), "{stderr}");
    assert!(fake.calls().is_empty(), "sent: {:?}", rpcs(&fake));
}

/// Text a hostile job creator can put in a display name or an error message: a forged row,
/// "cursor up, erase line", and the one-byte CSI of C1.
const HOSTILE: &str =
    "nightly\nprojects/p/locations/us-central1/pipelineJobs/forged  RUNNING\x1b[1A\x1b[2K\u{9b}2J";

/// Fails if `text` holds a raw control character other than the newlines between rows.
fn assert_no_raw_controls(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "{what}: raw {raw:?} in {text:?}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("projects/p/locations/us-central1/pipelineJobs/forged")),
        "{what}: a forged row in {text}"
    );
}

#[tokio::test]
async fn server_text_is_escaped_in_tables_and_exact_in_json() {
    let hostile = running(JOB).with_display_name(HOSTILE);
    let failed = ResourceSpec::new(JOB_B, State::Failed)
        .with_display_name(HOSTILE)
        .with_error(13, HOSTILE);
    let refused = running(NAS).with_fault(
        FaultRule::fail(Code::InvalidArgument)
            .on_methods(["CancelNasJob"])
            .with_message(HOSTILE),
    );
    let fake = fake_with([hostile, failed, refused]).await;
    let endpoint = fake.endpoint();
    let table = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint", &endpoint, "--no-auth"]);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    for args in [
        table(&["list", "pipeline-jobs", "--parent", PARENT]),
        table(&[
            "cancel-matching",
            "pipeline-jobs",
            "--parent",
            PARENT,
            "--filter",
            "state=\"PIPELINE_STATE_RUNNING\"",
            "--dry-run",
        ]),
        table(&["status", JOB_B]),
        table(&["cancel", NAS]),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = cli(&args).await;
        assert!(run.stdout.contains("\\u{1b}[1A"), "{args:?}: {run:?}");
        assert!(run.stdout.contains("\\u{9b}"), "{args:?}: {run:?}");
        assert_no_raw_controls(&format!("{args:?} stdout"), &run.stdout);
        assert_no_raw_controls(&format!("{args:?} stderr"), &run.stderr);
    }
    // JSON escapes by itself, and keeps the text exact.
    let run = json_against(&fake, &["list", "pipeline-jobs", "--parent", PARENT]).await;
    assert_eq!(run.by_name(JOB)["display_name"], HOSTILE);
    let run = json_against(&fake, &["status", JOB_B]).await;
    assert_eq!(run.by_name(JOB_B)["resource_error"]["message"], HOSTILE);
}

#[tokio::test]
async fn echoed_operator_input_is_escaped_and_capped() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    // As large as one argument may be (Linux: 128 KiB).
    let huge = format!("\x1b[2J{}", "x".repeat(100_000));
    let short = format!("locations/us-central1/pipelineJobs/{huge}");
    let collection = format!("pipelineJobs/{huge}");
    let runs = [
        vec!["cancel", &short],
        vec!["cancel", &collection, "--project", "p"],
        vec![
            "list",
            "pipeline-jobs",
            "--parent",
            PARENT,
            "--region",
            &huge,
        ],
    ];
    for args in runs {
        let mut all = args.clone();
        all.extend(["--endpoint", &endpoint, "--no-auth"]);
        let run = cli(&all).await;
        let what = format!("{:.80?}", args);
        assert_eq!(
            run.code,
            2,
            "{what}: {}",
            &run.stderr[..run.stderr.len().min(500)]
        );
        assert!(
            run.stderr.len() < 1024,
            "{what}: {} bytes",
            run.stderr.len()
        );
        assert!(run.stderr.contains("bytes"), "{what}: {}", run.stderr);
        assert!(run.stderr.contains("\\u{1b}[2J"), "{what}: {}", run.stderr);
        assert_no_raw_controls(&what, &run.stderr);
    }
    assert!(fake.calls().is_empty(), "sent: {:?}", rpcs(&fake));
}

#[tokio::test]
async fn logs_into_a_pipe_carry_no_colour_codes() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let mut cmd = command(&["status", JOB, "--endpoint", &endpoint, "--no-auth", "-vv"]);
    cmd.env_remove("NO_COLOR");
    let run = run_command(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("DEBUG"), "{run:?}");
    assert!(!run.stderr.contains('\x1b'), "{run:?}");
    assert!(!run.stdout.contains('\x1b'), "{run:?}");
}

#[tokio::test]
async fn the_table_lists_duplicates_in_input_order() {
    let fake = fake_with([running(JOB), running(JOB_B)]).await;
    let endpoint = fake.endpoint();
    let run = cli(&[
        "cancel",
        JOB,
        JOB_B,
        JOB,
        "--endpoint",
        &endpoint,
        "--no-auth",
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, [JOB, JOB_B, JOB], "{run:?}");
}

#[tokio::test]
async fn every_bad_name_is_counted_and_the_rest_summed_up() {
    let fake = fake_with([running(JOB)]).await;
    let endpoint = fake.endpoint();
    let input: String = (0..25).map(|i| format!("bad-{i}\n")).collect();
    let run = cli_stdin(
        &["cancel", "-", "--endpoint", &endpoint, "--no-auth"],
        &input,
    )
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("25 of 25 names"), "{run:?}");
    assert!(run.stderr.contains("and 15 more"), "{run:?}");
    assert!(fake.calls().is_empty());
}

/// Whether this machine can run a process in a network namespace of its own (only loopback,
/// and that down), which is how the test below keeps gcp_auth's metadata-server probe off the
/// network.
fn can_isolate_network() -> bool {
    std::process::Command::new("unshare")
        .args(["--map-root-user", "--net", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn no_credentials_at_all_is_one_line_that_says_how_to_fix_it() {
    if !can_isolate_network() {
        eprintln!("SKIPPED: `unshare --map-root-user --net` is not available here");
        return;
    }
    // Found here: the child's PATH is an empty directory, so that no `gcloud` is found.
    let unshare = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("unshare"))
        .find(|path| path.exists())
        .unwrap();
    let empty = std::env::temp_dir().join(format!("vertex-cancel-no-creds-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let run_isolated = |extra: &'static [&'static str]| {
        let mut cmd = Command::new(&unshare);
        cmd.args(["--map-root-user", "--net", BIN, "cancel", JOB])
            .args(["--endpoint", "http://127.0.0.1:9"])
            .args(extra)
            .env_clear()
            .env("HOME", &empty)
            .env("PATH", &empty)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        run_command(cmd, None)
    };
    let run = run_isolated(&[]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run:?}");
    for hint in [
        "gcloud auth application-default login",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "--access-token-file",
        "metadata server",
    ] {
        assert!(run.stderr.contains(hint), "{hint} missing: {run:?}");
    }
    assert!(!run.stderr.contains("WARN"), "{run:?}");
    assert!(!run.stderr.contains('\x1b'), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");

    let run = run_isolated(&["-v"]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("WARN"),
        "the auth library's retries with -v: {run:?}"
    );
    let _ = std::fs::remove_dir_all(&empty);
}
