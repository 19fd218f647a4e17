//! With feature `metrics`, every RPC attempt is counted and timed as OpenTelemetry's
//! `rpc.client.duration`, and the counts match what the server saw.
#![cfg(feature = "metrics")]

mod common;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use common::{TOKEN, client};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use vertex_cancel::{State, Wait};

const B: &str = "projects/p/locations/us-central1/pipelineJobs/b";
const C: &str = "projects/p/locations/us-central1/pipelineJobs/c";
use vertex_cancel::fake::{FakeVertex, FaultRule, ResourceSpec};

#[tokio::test]
async fn every_attempt_is_recorded_with_method_code_and_attempt() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).expect("the only recorder in this test binary");

    let job = "projects/p/locations/us-central1/pipelineJobs/a";
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .pipeline_job(B, State::Running)
        .pipeline_job(C, State::Running)
        .resource(
            ResourceSpec::new(job, State::Running).with_fault(
                FaultRule::fail(tonic::Code::Unavailable)
                    .on_methods(["GetPipelineJob"])
                    .first(2),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let target = job.parse().unwrap();
    client.get(&target).await.unwrap();
    client.cancel(&target).await.unwrap();

    // One call a second: the first cancel takes the slot; the second's only attempt waits for
    // the next slot (1 s) past its wait's deadline (0.5 s), so it is never sent, and must not
    // be recorded as an attempt (the server saw none).
    let limited = common::builder(&fake)
        .rate_limit_per_region(NonZeroU32::MIN)
        .build()
        .await
        .unwrap();
    limited.cancel(&common::target(B)).await.unwrap();
    let unsent = limited
        .cancel_and_wait(&common::target(C), Wait::up_to(Duration::from_millis(500)))
        .await;
    assert!(unsent.is_err(), "{unsent:?}");
    assert_eq!(fake.state_of(C), Some(State::Running));

    // (method, status code, attempt) -> number of recorded durations
    let mut recorded: HashMap<(String, String, String), usize> = HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        if key.kind() != MetricKind::Histogram || key.key().name() != "rpc.client.duration" {
            continue;
        }
        let label = |name: &str| {
            key.key()
                .labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
                .unwrap()
        };
        assert_eq!(label("rpc.system"), "grpc");
        let DebugValue::Histogram(samples) = value else {
            panic!("histogram")
        };
        *recorded
            .entry((
                label("rpc.method"),
                label("rpc.grpc.status_code"),
                label("vertex_cancel.attempt"),
            ))
            .or_default() += samples.len();
    }
    let entry = |m: &str, c: i32, a: u32| {
        recorded
            .get(&(m.into(), c.to_string(), a.to_string()))
            .copied()
    };
    assert_eq!(entry("GetPipelineJob", 14, 1), Some(1));
    assert_eq!(entry("GetPipelineJob", 14, 2), Some(1));
    assert_eq!(entry("GetPipelineJob", 0, 3), Some(1));
    assert_eq!(entry("CancelPipelineJob", 0, 1), Some(2));
    assert_eq!(
        entry("CancelPipelineJob", 4, 1),
        None,
        "the attempt never sent"
    );
    assert_eq!(recorded.values().sum::<usize>(), fake.calls().len());
}
