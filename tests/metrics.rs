//! With feature `metrics`, every RPC attempt is counted and timed as OpenTelemetry's
//! `rpc.client.duration`, and the counts match what the server saw.
#![cfg(feature = "metrics")]

mod common;

use std::collections::HashMap;

use common::{TOKEN, client};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use vertex_cancel::State;
use vertex_cancel::fake::{FakeVertex, FaultRule, ResourceSpec};

#[tokio::test]
async fn every_attempt_is_recorded_with_method_code_and_attempt() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).expect("the only recorder in this test binary");

    let job = "projects/p/locations/us-central1/pipelineJobs/a";
    let fake = FakeVertex::builder()
        .token(TOKEN)
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
    assert_eq!(entry("CancelPipelineJob", 0, 1), Some(1));
    assert_eq!(recorded.values().sum::<usize>(), fake.calls().len());
}
