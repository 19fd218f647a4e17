//! The CLI's `--timeout` is a bound and its reports are true (issue 17, items 1 and 6, as an
//! operator sees them): jobs still cancelling are `still_running` (exit 3) however many share a
//! location, and a poll interval longer than the timeout does not stretch the run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use vertex_cancel::State;
use vertex_cancel::fake::{CancelOutcome, FakeHandle, FakeVertex, ResourceSpec};

const BIN: &str = env!("CARGO_BIN_EXE_vertex-cancel");

fn job(i: usize) -> String {
    format!("projects/p/locations/us-central1/pipelineJobs/s{i}")
}

async fn stuck(n: usize) -> FakeHandle {
    FakeVertex::builder()
        .resources((0..n).map(|i| {
            ResourceSpec::new(job(i), State::Running).with_cancel_outcome(CancelOutcome::Stuck)
        }))
        .start()
        .await
        .unwrap()
}

/// `cancel` of `n` stuck jobs with `extra` arguments; the exit code, JSON lines and time taken.
async fn cancel(fake: &FakeHandle, n: usize, extra: &[&str]) -> (i32, Vec<Value>, Duration) {
    let names: Vec<String> = (0..n).map(job).collect();
    let endpoint = fake.endpoint();
    let started = Instant::now();
    let out = tokio::process::Command::new(BIN)
        .arg("cancel")
        .args(&names)
        .args(extra)
        .args(["--endpoint", &endpoint, "--no-auth", "--json"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the run ends on its own")
        .unwrap();
    let took = started.elapsed();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (out.status.code().unwrap_or(-1), lines, took)
}

fn assert_still_cancelling(fake: &FakeHandle, lines: &[Value], n: usize) {
    assert_eq!(lines.len(), n, "{lines:?}");
    for line in lines {
        assert_eq!(line["outcome"], "still_running", "{line}");
        assert_eq!(line["state"], "CANCELLING", "{line}");
        let name = line["name"].as_str().unwrap();
        assert_eq!(fake.state_of(name), Some(State::Cancelling));
    }
}

#[tokio::test]
async fn three_stuck_jobs_in_one_location_exit_3_still_running() {
    let fake = stuck(3).await;
    let args = ["--wait", "--timeout", "1s", "--poll-interval", "200ms"];
    let (code, lines, _) = cancel(&fake, 3, &args).await;
    assert_eq!(code, 3, "{lines:?}");
    assert_still_cancelling(&fake, &lines, 3);
}

#[tokio::test]
async fn a_poll_interval_longer_than_the_timeout_does_not_stretch_the_run() {
    for n in [1, 3] {
        let fake = stuck(n).await;
        let args = ["--wait", "--timeout", "1s", "--poll-interval", "30s"];
        let (code, lines, took) = cancel(&fake, n, &args).await;
        // 1 s, WAIT_GRACE (2 s), and the process's start.
        assert!(took < Duration::from_secs(4), "{n} jobs took {took:?}");
        assert_eq!(code, 3, "{lines:?}");
        assert_still_cancelling(&fake, &lines, n);
    }
}

/// A table is printed in input order, so rows reported early wait for an earlier target; while
/// one target's wait runs, no more names are read than the concurrency allows (66 rows per slot
/// of concurrency), rather than every name of the input being cancelled and its row kept.
#[tokio::test]
async fn a_slow_first_target_does_not_make_the_table_keep_every_row() {
    const OTHERS: usize = 1500;
    let stuck = "projects/p/locations/us-central1/customJobs/1";
    let fake = FakeVertex::builder()
        .resource(
            ResourceSpec::new(stuck, State::Running).with_cancel_outcome(CancelOutcome::Stuck),
        )
        .start()
        .await
        .unwrap();
    // Unknown jobs: each is answered NOT_FOUND at once.
    let names: String = std::iter::once(stuck.to_owned())
        .chain((2..OTHERS + 2).map(|i| format!("projects/p/locations/us-central1/customJobs/{i}")))
        .map(|name| name + "\n")
        .collect();
    let names_file = std::env::temp_dir().join(format!("held-rows-{}", std::process::id()));
    std::fs::write(&names_file, names).unwrap();
    let endpoint = fake.endpoint();
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "cancel",
            "-",
            "--wait",
            "--timeout",
            "4s",
            "--poll-interval",
            "200ms",
        ])
        .args(["--concurrency", "1", "--endpoint", &endpoint, "--no-auth"])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::fs::File::open(&names_file).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reading = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::BufReader::new(stdout), &mut text)
            .await
            .unwrap();
        text
    });
    // Well inside the stuck job's 4 s wait.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let cancels_meanwhile = fake
        .calls()
        .iter()
        .filter(|call| call.method.ends_with("/CancelCustomJob"))
        .count();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the run ends on its own")
        .unwrap();
    let table = reading.await.unwrap();
    let _ = std::fs::remove_file(&names_file);
    assert!(
        cancels_meanwhile <= 66 + 2,
        "{cancels_meanwhile} cancels sent (and rows kept) while the first target was waited for"
    );
    // Still every target reported once, in input order, the stuck one first.
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), OTHERS + 1, "{table}");
    assert!(rows[0].contains("still_running"), "{}", rows[0]);
    assert!(
        rows[OTHERS].contains(&format!("customJobs/{} ", OTHERS + 1)),
        "{}",
        rows[OTHERS]
    );
    assert_eq!(status.code(), Some(1), "NOT_FOUND is an error");
}
