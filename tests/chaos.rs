//! Proof under faults: a bulk cancel with confirmation of 1,000 targets of every kind against a
//! fake where 30% of the targets fail transiently (UNAVAILABLE / RESOURCE_EXHAUSTED, half with a
//! RetryInfo), 5% answer slower than the per-attempt timeout and 1% are down for good; and a bulk
//! cancel that survives the server being restarted under it.
//!
//! Every target must get exactly one report, the report must be what the fake holds (never
//! `Cancelled` unless the fake says CANCELLED), and the attempts must stay within the retry
//! policy's bound (a dead target's: its wait budget).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{TOKEN, builder, calls_of};
use futures::StreamExt;
use tonic::Code;
use vertex_cancel::fake::{CancelOutcome, FakeHandle, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{BackoffConfig, CancelMany, Outcome, RetryConfig, State, Target, Wait};

const TARGETS: usize = 1_000;
/// Each attempt's deadline; the slow targets' first call takes twice as long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(400);
const SLOW: Duration = Duration::from_millis(800);
const MAX_ATTEMPTS: u32 = 5;
/// How long the stuck targets are waited for: it bounds the whole run.
const WAIT_BUDGET: Duration = Duration::from_secs(3);

/// What a target is set up to do, and so what it must be reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Cancelled, possibly after transient faults or a slow first answer.
    Cancellable,
    /// Finishes with SUCCEEDED before the cancel lands.
    FinishesAnyway,
    /// FAILED before the run: the cancel is refused, Get shows why.
    AlreadyFailed,
    /// Stays CANCELLING past the wait budget.
    Stuck,
    /// Every cancel answers UNAVAILABLE.
    Down,
}

/// The kind-specific method names of target `i`.
struct Methods {
    cancel: &'static str,
    get: &'static str,
}

fn kind_of(i: usize) -> (&'static str, Methods) {
    match i % 10 {
        7 => (
            "nasJobs",
            Methods {
                cancel: "CancelNasJob",
                get: "GetNasJob",
            },
        ),
        8 => (
            "operations",
            Methods {
                cancel: "CancelOperation",
                get: "GetOperation",
            },
        ),
        _ => (
            "pipelineJobs",
            Methods {
                cancel: "CancelPipelineJob",
                get: "GetPipelineJob",
            },
        ),
    }
}

fn name(i: usize) -> String {
    let location = if i.is_multiple_of(3) {
        "europe-west4"
    } else {
        "us-central1"
    };
    let (collection, _) = kind_of(i);
    format!("projects/p/locations/{location}/{collection}/t{i}")
}

fn class_of(i: usize) -> Class {
    match (i % 50, i % 100) {
        (_, 3) => Class::Down,
        (0, _) => Class::FinishesAnyway,
        (1, _) => Class::AlreadyFailed,
        (2, _) => Class::Stuck,
        _ => Class::Cancellable,
    }
}

/// The fault plan of target `i`, and how many of its cancel attempts it makes fail (a dead
/// target's: as many as its budget allows, counted apart).
fn faults_of(i: usize) -> (Vec<FaultRule>, u32) {
    let (_, methods) = kind_of(i);
    if class_of(i) == Class::Down {
        let rule = FaultRule::fail(Code::Unavailable).on_methods([methods.cancel]);
        return (vec![rule], 0);
    }
    match i % 20 {
        // 30%: transient failures of Cancel, Get or both, 1 or 2 times.
        4..=6 | 14..=16 => {
            let code = if (i / 10).is_multiple_of(2) {
                Code::Unavailable
            } else {
                Code::ResourceExhausted
            };
            let times = 1 + u32::from((i / 20) % 2 == 1);
            let mut rule = FaultRule::fail(code).first(times);
            if i % 4 < 2 {
                rule = rule.with_retry_delay(Duration::from_millis(15));
            }
            let (rule, on_cancel) = match (i / 40) % 3 {
                0 => (rule.on_methods([methods.cancel]), times),
                1 => (rule.on_methods([methods.get]), 0),
                // Both: the cancel comes first and takes all of them.
                _ => (rule.on_methods([methods.cancel, methods.get]), times),
            };
            (vec![rule], on_cancel)
        }
        // 5%: the first call answers after the attempt's deadline.
        9 => {
            let first = if (i / 20).is_multiple_of(2) {
                methods.cancel
            } else {
                methods.get
            };
            let rule = FaultRule::slow(SLOW).on_methods([first]).first(1);
            (vec![rule], u32::from(first == methods.cancel))
        }
        _ => (Vec::new(), 0),
    }
}

fn spec_of(i: usize) -> ResourceSpec {
    let spec = match class_of(i) {
        Class::Cancellable | Class::Down => ResourceSpec::new(name(i), State::Running),
        Class::FinishesAnyway => {
            ResourceSpec::new(name(i), State::Running).with_cancel_outcome(CancelOutcome::Succeeded)
        }
        Class::AlreadyFailed => ResourceSpec::new(name(i), State::Failed),
        Class::Stuck => {
            ResourceSpec::new(name(i), State::Running).with_cancel_outcome(CancelOutcome::Stuck)
        }
    };
    faults_of(i)
        .0
        .into_iter()
        .fold(spec, ResourceSpec::with_fault)
}

fn retry() -> RetryConfig {
    RetryConfig::default()
        .with_backoff(BackoffConfig {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(50),
            multiplier: 2.0,
        })
        .with_max_attempts(MAX_ATTEMPTS)
}

fn all_targets(n: usize) -> impl futures::Stream<Item = Target> + Send + 'static {
    futures::stream::iter((0..n).map(|i| name(i).parse().expect("valid name")))
}

/// Checks one report against the class of its target and what the fake holds now.
fn check_report(fake: &FakeHandle, target: &Target, report: &vertex_cancel::Result<Outcome>) {
    let i: usize = target
        .to_string()
        .rsplit_once("/t")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let held = fake.state_of(&target.to_string());
    match (class_of(i), report) {
        (Class::Cancellable, Ok(Outcome::Cancelled { .. })) => {}
        (Class::FinishesAnyway, Ok(Outcome::FinishedAnyway { state, .. })) => {
            assert_eq!(*state, State::Succeeded, "{target}");
        }
        (Class::AlreadyFailed, Ok(Outcome::FinishedAnyway { state, .. })) => {
            assert_eq!(*state, State::Failed, "{target}");
        }
        (Class::Stuck, Ok(Outcome::StillRunning { state })) => {
            assert_eq!(*state, State::Cancelling, "{target}");
        }
        (Class::Down, Err(error)) => {
            assert_eq!(error.code(), Some(Code::Unavailable), "{target}: {error}");
        }
        (class, report) => panic!("{target} ({class:?}) reported {report:?}, fake holds {held:?}"),
    }
    if matches!(report, Ok(Outcome::Cancelled { .. })) {
        assert_eq!(held, Some(State::Cancelled), "{target} reported Cancelled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_cancel_survives_faults_timeouts_and_dead_targets() {
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .resources((0..TARGETS).map(spec_of))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .retry(retry())
        .build()
        .await
        .unwrap();
    let wait = Wait::up_to(WAIT_BUDGET)
        .first_interval(Duration::from_millis(20))
        .max_interval(Duration::from_millis(150));
    // One Get per target and poll, so that the per-resource Get faults are met; one cancel per
    // target, so that the per-resource cancel faults are.
    let options = CancelMany::default()
        .batch(false)
        .concurrency(64)
        .wait(wait)
        .list_threshold(usize::MAX);
    let started = Instant::now();
    let reports: Vec<_> = tokio::time::timeout(
        Duration::from_secs(60),
        client.cancel_many(all_targets(TARGETS), options).collect(),
    )
    .await
    .expect("the bulk cancel finishes");
    let took = started.elapsed();

    // Exactly one report per target.
    assert_eq!(reports.len(), TARGETS);
    let names: HashSet<String> = reports.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(names.len(), TARGETS);
    for (target, report) in &reports {
        check_report(&fake, target, report);
    }

    // The attempts of the live targets: one cancel each, plus exactly the failures injected
    // into cancels (a transient fault consumed, a slow first answer abandoned at its deadline),
    // plus a little room for an attempt the loaded machine made time out.
    let down = |target: &str| (0..TARGETS).any(|i| class_of(i) == Class::Down && name(i) == target);
    let injected: u32 = (0..TARGETS)
        .filter(|&i| class_of(i) != Class::Down)
        .map(|i| faults_of(i).1)
        .sum();
    let cancels: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.rpc.starts_with("Cancel"))
        .collect();
    let live = cancels.iter().filter(|c| !down(&c.target)).count();
    let dead_targets = (0..TARGETS).filter(|&i| class_of(i) == Class::Down).count();
    let bound = TARGETS - dead_targets + injected as usize;
    assert!(
        live >= bound && live <= bound + TARGETS / 50,
        "{live} cancel attempts of live targets; expected {bound} (+2% slack)"
    );
    let mut per_target: HashMap<&str, u32> = HashMap::new();
    for call in &cancels {
        *per_target.entry(call.target.as_str()).or_default() += 1;
    }
    // A dead target is retried while its wait budget lasts (not just MAX_ATTEMPTS times), and
    // no more: its backoff delays (full jitter, bound capped at 50 ms, so 25 ms on average)
    // fit about 120 retries in the 3 s budget; 300 would take 7.5 s on average.
    for i in (0..TARGETS).filter(|&i| class_of(i) == Class::Down) {
        let attempts = per_target[name(i).as_str()];
        assert!(
            (MAX_ATTEMPTS + 1..=300).contains(&attempts),
            "{}: {attempts} attempts",
            name(i)
        );
    }
    // Every slow answer was abandoned at the attempt's deadline (the fake logs a call dropped by
    // its caller as DEADLINE_EXCEEDED or CANCELLED, depending on whose timer fired first), and
    // retried.
    let abandoned = fake
        .calls()
        .iter()
        .filter(|c| matches!(c.code, Code::DeadlineExceeded | Code::Cancelled))
        .count();
    let slow = (0..TARGETS).filter(|i| i % 20 == 9).count();
    assert!(
        abandoned >= slow,
        "{abandoned} abandoned calls, {slow} slow"
    );
    // Bounded by the wait budget of the last targets handed to confirmation, not by the faults.
    assert!(took < WAIT_BUDGET * 5, "took {took:?}");
}

/// Restarting the fake under a running bulk cancel: calls fail while it is down, the client
/// reconnects by itself, and every target is confirmed cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_cancel_rides_out_a_server_restart() {
    let n = 300;
    let jobs = || (0..n).map(|i| format!("projects/p/locations/us-central1/pipelineJobs/r{i}"));
    // Each call takes a few ms, so the run is still going when the server goes away.
    let slow_calls = FaultRule::slow(Duration::from_millis(4));
    let first = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(50))
        .fault(slow_calls.clone())
        .resources(jobs().map(|name| ResourceSpec::new(name, State::Running)))
        .start()
        .await
        .unwrap();
    let port = first.addr().port();
    let client = builder(&first)
        .retry(
            RetryConfig::default()
                .with_backoff(BackoffConfig {
                    initial: Duration::from_millis(20),
                    max: Duration::from_millis(250),
                    multiplier: 2.0,
                })
                .with_max_attempts(30)
                .with_total_timeout(Duration::from_secs(20)),
        )
        .build()
        .await
        .unwrap();
    let targets = futures::stream::iter(jobs().map(|name| name.parse::<Target>().unwrap()));
    // One cancel per target, so that the call log counts the targets sent before the restart.
    let options = CancelMany::default()
        .batch(false)
        .concurrency(8)
        .wait(common::quick_wait(Duration::from_secs(20)));
    let run = tokio::spawn(client.cancel_many(targets, options).collect::<Vec<_>>());

    common::wait_for(|| calls_of(&first, "CancelPipelineJob").len() >= n / 3).await;
    let state = first.state();
    let before = calls_of(&first, "CancelPipelineJob").len();
    first.shutdown().await.unwrap();
    // Down for a moment: new connections are refused and retried.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = FakeVertex::builder()
        .port(port)
        .token(TOKEN)
        .state(state)
        .fault(slow_calls)
        .start()
        .await
        .unwrap();

    let reports = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the bulk cancel finishes")
        .unwrap();
    assert!(before < n, "the restart came in the middle of the run");
    assert_eq!(reports.len(), n);
    let names: HashSet<String> = reports.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(names.len(), n);
    for (target, report) in &reports {
        assert!(
            matches!(report, Ok(Outcome::Cancelled { .. })),
            "{target}: {report:?}"
        );
        assert_eq!(second.state_of(&target.to_string()), Some(State::Cancelled));
    }
    let after = calls_of(&second, "CancelPipelineJob").len();
    assert!(after > 0, "the client reconnected to the restarted server");
}
