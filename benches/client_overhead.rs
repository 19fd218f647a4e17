//! The facade's cost, measured against the raw generated stub on the same channel, against the
//! built-in fake on loopback in one process (criterion; figures per row). The side-by-side
//! ratios come from `benches/overhead_ratio.rs`, which interleaves the rows.
//!
//! - `cancel/c{1,64,256}`: one cancel per call, raw stub vs `Client::cancel` on the same
//!   channel vs `Client::cancel` on its own channel;
//! - `cancel_many/10k/c256`: 10,000 targets, 256 in flight, a hand loop over the raw stub vs
//!   `Client::cancel_many` vs a hand loop over `Client::cancel`;
//! - `per_call`: token read, header building and error mapping, each alone.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::FutureExt;
use futures::future::BoxFuture;
use tonic::metadata::MetadataMap;
use tonic_types::{ErrorDetails, StatusExt};
use vertex_cancel::__bench::Hooks;
use vertex_cancel::auth::{AccessToken, TokenSource};
use vertex_cancel::client::routing_header;
use vertex_cancel::proto::google::cloud::aiplatform::v1::CancelPipelineJobRequest;
use vertex_cancel::{Client, Credentials, Error};

use common::{Bed, JOBS};

/// Cancels per measured iteration, by concurrency: enough to fill the pipe, short enough for
/// many samples.
fn batch(concurrency: usize) -> usize {
    if concurrency == 1 { 256 } else { 4096 }
}

fn one_cancel(c: &mut Criterion) {
    let rt = common::runtime();
    let bed = rt.block_on(Bed::start(JOBS));
    let next = AtomicUsize::new(0);
    for concurrency in [1, 64, 256] {
        let n = batch(concurrency);
        let mut group = c.benchmark_group(format!("cancel/c{concurrency}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function("raw_stub", |b| {
            b.to_async(&rt).iter(|| {
                let start = next.fetch_add(n, Ordering::Relaxed);
                bed.raw_batch(start, n, concurrency)
            });
        });
        for (row, client) in [
            ("facade_same_channel", &bed.shared),
            ("facade_own_channel", &bed.own),
        ] {
            group.bench_function(row, |b| {
                b.to_async(&rt).iter(|| {
                    let start = next.fetch_add(n, Ordering::Relaxed);
                    bed.facade_batch(client, start, n, concurrency)
                });
            });
        }
        group.finish();
    }
}

fn cancel_many(c: &mut Criterion) {
    const TARGETS: usize = 10_000;
    const CONCURRENCY: usize = 256;
    let rt = common::runtime();
    let bed = rt.block_on(Bed::start(TARGETS));
    let mut group = c.benchmark_group("cancel_many/10k/c256");
    group.throughput(Throughput::Elements(TARGETS as u64));
    group.sample_size(10);
    group.bench_function("raw_stub_loop", |b| {
        b.to_async(&rt)
            .iter(|| bed.raw_batch(0, TARGETS, CONCURRENCY));
    });
    group.bench_function("facade_cancel_many", |b| {
        b.to_async(&rt)
            .iter(|| bed.facade_many(&bed.shared, TARGETS, CONCURRENCY, false));
    });
    group.bench_function("facade_cancel_loop", |b| {
        b.to_async(&rt)
            .iter(|| bed.facade_batch(&bed.shared, 0, TARGETS, CONCURRENCY));
    });
    group.finish();
}

/// A token source that answers at once, for the refreshing cache.
struct FixedSource;

impl TokenSource for FixedSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, vertex_cancel::error::BoxError>> {
        Box::pin(async { Ok(AccessToken::new("bench-token", None)) })
    }
}

async fn client_with(credentials: Credentials) -> Client {
    Client::builder()
        .credentials(credentials)
        .endpoint("http://127.0.0.1:9")
        .build()
        .await
        .expect("client")
}

fn per_call(c: &mut Criterion) {
    let rt = common::runtime();
    let _entered = rt.enter();
    let none = Hooks::new(&rt.block_on(client_with(Credentials::none())));
    let fixed = Hooks::new(&rt.block_on(client_with(Credentials::static_token("bench-token"))));
    let refreshing = Hooks::new(&rt.block_on(client_with(Credentials::from_provider(FixedSource))));
    // The first read waits for the background fetch; every later one finds the token ready.
    rt.block_on(refreshing.authorization())
        .expect("first token");

    let mut group = c.benchmark_group("per_call");
    group.measurement_time(Duration::from_secs(3));
    for (row, hooks) in [
        ("none", &none),
        ("static", &fixed),
        ("refreshing", &refreshing),
    ] {
        group.bench_function(format!("token_read/{row}"), |b| {
            b.iter(|| {
                hooks
                    .authorization()
                    .now_or_never()
                    .expect("never waits once a token is cached")
                    .expect("token")
            });
        });
    }

    let name = common::job(42);
    group.bench_function("headers/routing_header", |b| {
        b.iter(|| routing_header("name", std::hint::black_box(&name)));
    });
    let token = fixed
        .authorization()
        .now_or_never()
        .expect("ready")
        .expect("token");
    group.bench_function("headers/apply", |b| {
        b.iter_batched_ref(
            MetadataMap::new,
            |headers| fixed.apply_headers(headers, token.clone()),
            BatchSize::SmallInput,
        );
    });
    let routing = routing_header("name", &name);
    group.bench_function("headers/whole_request", |b| {
        b.iter_batched(
            || CancelPipelineJobRequest { name: name.clone() },
            |message| {
                fixed
                    .request(message, &routing)
                    .now_or_never()
                    .expect("static token never waits")
                    .expect("request")
            },
            BatchSize::SmallInput,
        );
    });

    let plain = tonic::Status::not_found(format!("{name} not found"));
    group.bench_function("error_map/not_found", |b| {
        b.iter_batched(|| plain.clone(), Error::from, BatchSize::SmallInput);
    });
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "RATE_LIMIT_EXCEEDED",
        "aiplatform.googleapis.com",
        std::collections::HashMap::from([("quota_limit".to_owned(), "requests".to_owned())]),
    );
    details.set_retry_info(Some(Duration::from_millis(250)));
    let detailed = tonic::Status::with_error_details(
        tonic::Code::ResourceExhausted,
        "quota exceeded",
        details,
    );
    group.bench_function("error_map/resource_exhausted_with_details", |b| {
        b.iter_batched(
            || detailed.clone(),
            |status| Error::from_status_at(status, "http://127.0.0.1:9"),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    targets = one_cancel, cancel_many, per_call
}
criterion_main!(benches);
