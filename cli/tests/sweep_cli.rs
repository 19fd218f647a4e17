//! `cancel-matching` and `list` as a sweep (issue 16): several kinds or `all`, `--project` with
//! `--regions`, failed Lists as their own JSON lines, and the safety rules, each run as a real
//! process against the in-process fake and proved by the fake's final state and call log.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tonic::Code;
use vertex_cancel::State;
use vertex_cancel::fake::{FakeHandle, FakeVertex, FaultRule, ResourceSpec};

const BIN: &str = env!("CARGO_BIN_EXE_vertex-cancel");
const REGIONS: [&str; 3] = ["us-central1", "europe-west4", "asia-east1"];
const NIGHTLY: &str = r#"display_name="nightly""#;

struct Run {
    code: i32,
    lines: Vec<Value>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n{}\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs the CLI with `args` against `fake` (no auth, stdin not a terminal).
async fn cli(fake: &FakeHandle, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .args(["--endpoint", &fake.endpoint(), "--no-auth"])
        .env_remove("RUST_LOG")
        .env_remove("VERTEX_CANCEL_ENDPOINT")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the run ends on its own")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = if args.contains(&"--json") {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    } else {
        Vec::new()
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        lines,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Per region: pipeline and NAS jobs `nightly` (two live, one finished) and `adhoc` (live).
fn estate() -> Vec<(String, State, bool)> {
    let mut out = Vec::new();
    for region in REGIONS {
        for (collection, done) in [
            ("pipelineJobs", State::Succeeded),
            ("nasJobs", State::Failed),
        ] {
            for (id, state, matching) in [
                ("n1", State::Running, true),
                ("n2", State::Pending, true),
                ("n3", done, false),
                ("adhoc", State::Running, false),
            ] {
                let name = format!("projects/p/locations/{region}/{collection}/{id}");
                out.push((name, state, matching));
            }
        }
    }
    out
}

async fn start(faults: Vec<FaultRule>) -> FakeHandle {
    let specs = estate().into_iter().map(|(name, state, _)| {
        let display = if name.ends_with("adhoc") {
            "adhoc"
        } else {
            "nightly"
        };
        let spec = ResourceSpec::new(name, state).with_display_name(display);
        if display == "nightly" {
            spec.with_label("team", "search")
        } else {
            spec
        }
    });
    faults
        .into_iter()
        .fold(FakeVertex::builder(), |b, f| b.fault(f))
        .cancel_delay(Duration::from_millis(30))
        .resources(specs)
        .start()
        .await
        .unwrap()
}

fn cancels(fake: &FakeHandle) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.rpc.starts_with("Cancel"))
        .count()
}

/// Every matching job outside `skipped` is CANCELLED; everything else is as seeded.
fn assert_exactly_matching_cancelled(fake: &FakeHandle, skipped: &str) {
    for (name, state, matching) in estate() {
        let now = fake.state_of(&name).unwrap();
        if matching && !name.contains(skipped) {
            assert_eq!(now, State::Cancelled, "{name}");
        } else {
            assert_eq!(now, state, "{name} must be untouched");
        }
    }
}

const SWEEP: [&str; 6] = [
    "cancel-matching",
    "pipeline-jobs,nas-jobs",
    "--project",
    "p",
    "--regions",
    "us-central1,europe-west4,asia-east1",
];

#[tokio::test]
async fn a_sweep_cancels_exactly_the_live_matching_jobs_and_summarises_per_region_and_kind() {
    let fake = start(vec![]).await;
    let mut args = SWEEP.to_vec();
    args.extend([
        "--filter",
        NIGHTLY,
        "--yes",
        "--wait",
        "--poll-interval",
        "20ms",
    ]);
    args.push("--json");
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 12, "{run:?}");
    assert!(
        run.lines.iter().all(|l| l["outcome"] == "cancelled"),
        "{run:?}"
    );
    let names: HashSet<&str> = run
        .lines
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 12);
    assert_exactly_matching_cancelled(&fake, "no region skipped");
    for region in REGIONS {
        for kind in ["pipeline-job", "nas-job"] {
            let found = format!("{region} {kind}: 2 found");
            let done = format!("{region} {kind}: 2 targets: 2 cancelled");
            assert!(run.stderr.contains(&found), "{found}: {run:?}");
            assert!(run.stderr.contains(&done), "{done}: {run:?}");
        }
    }
}

#[tokio::test]
async fn all_kinds_in_a_table() {
    let fake = start(vec![]).await;
    let args = [
        "cancel-matching",
        "all",
        "--project",
        "p",
        "--region",
        "asia-east1",
        "--filter",
        NIGHTLY,
        "--yes",
    ];
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("NAME"), "{run:?}");
    assert_eq!(run.stdout.matches("requested").count(), 4, "{run:?}");
    // The two pipeline jobs (one location) share a batch.
    let batches = fake
        .calls()
        .iter()
        .filter(|c| c.rpc == "BatchCancelPipelineJobs")
        .count();
    assert_eq!((cancels(&fake), batches), (2, 1));
}

#[tokio::test]
async fn dry_run_sends_no_cancel() {
    let fake = start(vec![]).await;
    let mut args = SWEEP.to_vec();
    args.extend(["--filter", NIGHTLY, "--dry-run", "--json"]);
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 12, "{run:?}");
    assert!(
        run.lines
            .iter()
            .all(|l| l["done"] == false && l["display_name"] == "nightly")
    );
    assert_eq!(cancels(&fake), 0, "{:?}", fake.calls());
    assert_exactly_matching_cancelled(&fake, "/");
}

#[tokio::test]
async fn a_region_answering_permission_denied_is_its_own_line_and_the_others_are_swept() {
    let denied = FaultRule::fail(Code::PermissionDenied)
        .on_methods(["ListPipelineJobs", "ListNasJobs"])
        .on_targets(["projects/p/locations/europe-west4"]);
    let fake = start(vec![denied]).await;
    let mut args = SWEEP.to_vec();
    args.extend(["--filter", NIGHTLY, "--yes", "--json"]);
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 4, "a permission error ranks first: {run:?}");
    let (failures, cancelled): (Vec<&Value>, Vec<&Value>) =
        run.lines.iter().partition(|l| l.get("location").is_some());
    assert_eq!(cancelled.len(), 8, "{run:?}");
    assert!(cancelled.iter().all(|l| l["outcome"] == "requested"));
    let mut kinds: Vec<&str> = failures
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["nas-job", "pipeline-job"], "{run:?}");
    for line in &failures {
        assert_eq!(line["location"], "europe-west4");
        assert_eq!(line["error"]["code"], "PERMISSION_DENIED");
        assert_eq!(line.as_object().unwrap().len(), 3, "{line}");
    }
    for (name, state, matching) in estate() {
        let now = fake.state_of(&name).unwrap();
        if matching && !name.contains("europe-west4") {
            // Without --wait: cancel accepted, landing after the fake's cancel delay.
            assert!(
                matches!(now, State::Cancelling | State::Cancelled),
                "{name}: {now}"
            );
        } else {
            assert_eq!(now, state, "{name} must be untouched");
        }
    }

    // Another failure than permission is exit 1.
    let refused = FaultRule::fail(Code::InvalidArgument)
        .on_methods(["ListNasJobs"])
        .on_targets(["projects/p/locations/asia-east1"]);
    let fake = start(vec![refused]).await;
    let mut args = SWEEP.to_vec();
    args.extend(["--filter", NIGHTLY, "--dry-run"]);
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("listing nas-jobs in asia-east1 failed: INVALID_ARGUMENT"),
        "{run:?}"
    );
}

#[tokio::test]
async fn an_empty_filter_needs_all_matching_and_everything_needs_yes_too() {
    let fake = start(vec![]).await;
    for (args, why) in [
        (SWEEP.to_vec(), "--all-matching"),
        (
            [
                "cancel-matching",
                "all",
                "--project",
                "p",
                "--regions",
                "all",
                "--yes",
            ]
            .to_vec(),
            "--all-matching",
        ),
        (
            [
                "cancel-matching",
                "all",
                "--project",
                "p",
                "--regions",
                "all",
                "--all-matching",
            ]
            .to_vec(),
            "--all-matching and --yes",
        ),
        (
            [&SWEEP[..], &["--filter", NIGHTLY]].concat(),
            "--yes", // no terminal
        ),
        (
            [
                "cancel-matching",
                "nas-jobs",
                "--project",
                "p",
                "--filter",
                NIGHTLY,
                "--yes",
            ]
            .to_vec(),
            "--regions",
        ),
        (
            [
                "cancel-matching",
                "operations",
                "--project",
                "p",
                "--region",
                "x",
                "--yes",
            ]
            .to_vec(),
            "not a job kind",
        ),
    ] {
        let run = cli(&fake, &args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(why), "{args:?}: {run:?}");
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    // With --all-matching, an empty filter sweeps every live job of the selection.
    let args = [
        "cancel-matching",
        "nas-jobs",
        "--project",
        "p",
        "--region",
        "us-central1",
        "--all-matching",
        "--yes",
        "--json",
    ];
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 3, "n1, n2 and adhoc: {run:?}");
}

#[tokio::test]
async fn list_looks_at_every_state_across_kinds_and_regions() {
    let fake = start(vec![]).await;
    let args = [
        "list",
        "all",
        "--project",
        "p",
        "--regions",
        "us-central1,asia-east1",
        "--filter",
        NIGHTLY,
        "--json",
    ];
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 2 * 2 * 3, "finished ones too: {run:?}");
    assert_eq!(run.lines.iter().filter(|l| l["done"] == true).count(), 4);
    assert!(
        run.stderr.contains("asia-east1 nas-job: 3 found"),
        "{run:?}"
    );
    assert_eq!(cancels(&fake), 0);
}

#[tokio::test]
async fn a_sweep_by_label_cancels_exactly_the_live_labelled_jobs() {
    let fake = start(vec![]).await;
    let mut args = SWEEP.to_vec();
    args.extend(["--filter", r#"labels.team="search""#, "--yes", "--wait"]);
    args.extend(["--poll-interval", "20ms", "--json"]);
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 12, "{run:?}");
    assert_exactly_matching_cancelled(&fake, "no region skipped");
}

#[tokio::test]
async fn regions_all_discovers_the_regions_through_list_locations() {
    let fake = start(vec![]).await;
    let args = [
        "cancel-matching",
        "all",
        "--project",
        "p",
        "--regions",
        "all",
        "--filter",
        NIGHTLY,
        "--yes",
        "--wait",
        "--poll-interval",
        "20ms",
        "--json",
    ];
    let run = cli(&fake, &args).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines.len(), 12, "{run:?}");
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|c| c.rpc == "ListLocations")
            .count(),
        1
    );
    assert_exactly_matching_cancelled(&fake, "no region skipped");
}
