//! Bulk cancel throughput and memory: `cancel_many` at concurrency 256 over N pipeline jobs,
//! printing cancels/s and the client process's peak RSS.
//!
//! The fake runs in a child process (this same program with `--serve N`), so the RSS measured
//! is the client's alone; the fake's own peak is printed beside it.
//!
//! Run: `cargo run --release --example bulk` (N = 10,000 then 100,000, each in a fresh process),
//! or `cargo run --release --example bulk -- --run N [--lazy]` for one figure. With `--lazy` the
//! targets are parsed as the stream is read instead of held in a `Vec` first.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use vertex_cancel::fake::{FakeVertex, ResourceSpec};
use vertex_cancel::{CancelMany, Client, Credentials, Outcome, State, Target};

const CONCURRENCY: usize = 256;

type Failure = Box<dyn std::error::Error>;

fn job(i: usize) -> String {
    format!("projects/p/locations/us-central1/pipelineJobs/j{i:07}")
}

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |i: usize| -> Result<usize, Failure> {
        Ok(args.get(i).ok_or("missing N")?.replace('_', "").parse()?)
    };
    match args.first().map(String::as_str) {
        Some("--serve") => serve(count(1)?),
        Some("--run") => run(count(1)?, args.iter().any(|a| a == "--lazy")),
        None => {
            for n in [10_000, 100_000] {
                for lazy in [false, true] {
                    let mut command = Command::new(std::env::current_exe()?);
                    command.args(["--run", &n.to_string()]);
                    if lazy {
                        command.arg("--lazy");
                    }
                    if !command.status()?.success() {
                        return Err(format!("run with N={n} failed").into());
                    }
                }
            }
            Ok(())
        }
        Some(other) => Err(format!("unknown argument {other}; use --run N [--lazy]").into()),
    }
}

/// The fake, seeded with `n` running jobs, until stdin closes.
fn serve(n: usize) -> Result<(), Failure> {
    let rt = tokio::runtime::Runtime::new()?;
    let fake = rt.block_on(
        FakeVertex::builder()
            .cancel_delay(Duration::from_secs(3600))
            .record_calls(false)
            .resources((0..n).map(|i| ResourceSpec::new(job(i), State::Running)))
            .start(),
    )?;
    println!("PORT {}", fake.addr().port());
    std::io::stdin().read_to_end(&mut Vec::new())?;
    drop(fake);
    Ok(())
}

/// Starts the fake child and waits for its port.
fn spawn_fake(n: usize) -> Result<(Child, u16), Failure> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .ok_or_else(|| format!("fake said {line:?}"))?
        .parse()?;
    Ok((child, port))
}

fn run(n: usize, lazy: bool) -> Result<(), Failure> {
    let (mut fake, port) = spawn_fake(n)?;
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(cancel_all(n, lazy, port));
    let fake_peak = peak_rss_kib(&format!("/proc/{}/status", fake.id()));
    drop(fake.stdin.take()); // the fake exits when its stdin closes
    fake.wait()?;
    let (rate, before, peak) = result?;
    println!(
        "N={n:<7} input={:<4} concurrency={CONCURRENCY} cancels/s={rate:>7.0} \
         client_rss_before_cancel={:.1}MiB client_peak_rss={:.1}MiB fake_peak_rss={:.1}MiB",
        if lazy { "lazy" } else { "vec" },
        mib(before),
        mib(peak),
        mib(fake_peak?),
    );
    Ok(())
}

/// Cancels all `n` jobs; returns cancels/s, RSS (KiB) before the cancels and the peak.
async fn cancel_all(n: usize, lazy: bool, port: u16) -> Result<(f64, u64, u64), Failure> {
    let client = Client::builder()
        .credentials(Credentials::none())
        .endpoint(format!("http://127.0.0.1:{port}"))
        .build()
        .await?;
    let targets: Box<dyn Iterator<Item = Target> + Send> = if lazy {
        Box::new((0..n).map(|i| job(i).parse().expect("valid name")))
    } else {
        let all: Vec<Target> = (0..n).map(|i| job(i).parse()).collect::<Result<_, _>>()?;
        Box::new(all.into_iter())
    };
    let before = peak_rss_kib("/proc/self/status")?;
    let started = Instant::now();
    let mut reports = std::pin::pin!(client.cancel_many(
        futures::stream::iter(targets),
        CancelMany::default().concurrency(CONCURRENCY),
    ));
    let mut done = 0;
    while let Some((target, outcome)) = reports.next().await {
        match outcome {
            Ok(Outcome::Requested) => done += 1,
            other => return Err(format!("{target}: {other:?}").into()),
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = done as f64 / started.elapsed().as_secs_f64();
    if done != n {
        return Err(format!("{done} of {n} reported").into());
    }
    Ok((rate, before, peak_rss_kib("/proc/self/status")?))
}

/// `VmHWM` (peak resident set, KiB) from a `/proc/PID/status` file.
fn peak_rss_kib(status: &str) -> Result<u64, Failure> {
    let text = std::fs::read_to_string(status)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM line")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

#[allow(clippy::cast_precision_loss)]
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
