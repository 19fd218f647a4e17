//! The facade/raw ratios, measured side by side: each round runs every row once, in an order
//! that rotates between rounds, so load changes on a shared machine hit all rows alike. The
//! figure is the median of the per-round ratios; throughput is pooled over all rounds.
//!
//! `cargo bench --bench overhead_ratio` prints a Markdown table. Rounds: `VC_BENCH_ROUNDS`
//! (default 21). Without `--bench` (as `cargo test --benches` runs it) it makes one tiny round.

mod common;

use std::time::Duration;

use common::{Bed, JOBS, median, timed};

/// One row: a name and the work of one round.
type Row<'a> = (
    &'a str,
    Box<dyn Fn(usize) -> futures::future::BoxFuture<'a, ()> + 'a>,
);

/// Per-round durations of each row, rows measured in rotating order.
fn measure(rt: &tokio::runtime::Runtime, rounds: usize, rows: &[Row<'_>]) -> Vec<Vec<Duration>> {
    let mut times = vec![Vec::with_capacity(rounds); rows.len()];
    // One unrecorded round: connections, allocator and caches warm for every row.
    for (_, work) in rows {
        rt.block_on(work(0));
    }
    for round in 0..rounds {
        for k in 0..rows.len() {
            let r = (round + k) % rows.len();
            times[r].push(rt.block_on(timed(rows[r].1(round + 1))));
        }
    }
    times
}

/// Prints one table: per row, pooled throughput and the median of per-round ratios to row 0.
/// `as_time` picks the ratio's direction: time ratio (row / row 0) or throughput ratio (row 0 / row).
fn report(title: &str, n: usize, rows: &[Row<'_>], times: &[Vec<Duration>], as_time: bool) {
    println!("\n### {title}\n");
    let what = if as_time {
        "time ratio to raw"
    } else {
        "throughput ratio to raw"
    };
    println!("| row | cancels/s | {what} (median) | range over rounds |");
    println!("|---|---:|---:|---:|");
    for (r, (name, _)) in rows.iter().enumerate() {
        let total: Duration = times[r].iter().sum();
        #[allow(clippy::cast_precision_loss)]
        let rate = (n * times[r].len()) as f64 / total.as_secs_f64();
        let mut ratios: Vec<f64> = times[r]
            .iter()
            .zip(&times[0])
            .map(|(row, raw)| {
                let ratio = row.as_secs_f64() / raw.as_secs_f64();
                if as_time { ratio } else { 1.0 / ratio }
            })
            .collect();
        let mid = median(&mut ratios);
        let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
        println!("| {name} | {rate:.0} | {mid:.3} | {lo:.3} .. {hi:.3} |");
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("VC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 21 } else { 1 });
    let scale = if full { 1 } else { 16 };
    let rt = common::runtime();
    let bed = rt.block_on(Bed::start(JOBS));
    let bed = &bed;
    println!("rounds: {rounds}, jobs seeded: {JOBS}");

    for concurrency in [1, 64, 256] {
        let n = if concurrency == 1 { 512 } else { 8192 } / scale;
        let offset = |round: usize| round * n;
        let rows: Vec<Row<'_>> = vec![
            (
                "raw_stub",
                Box::new(move |round| Box::pin(bed.raw_batch(offset(round), n, concurrency))),
            ),
            (
                "facade_same_channel",
                Box::new(move |round| {
                    Box::pin(bed.facade_batch(&bed.shared, offset(round), n, concurrency))
                }),
            ),
            (
                "facade_own_channel",
                Box::new(move |round| {
                    Box::pin(bed.facade_batch(&bed.own, offset(round), n, concurrency))
                }),
            ),
        ];
        let times = measure(&rt, rounds, &rows);
        report(
            &format!("one cancel, concurrency {concurrency} ({n} cancels a round)"),
            n,
            &rows,
            &times,
            true,
        );
    }

    let n = JOBS / scale;
    let rows: Vec<Row<'_>> = vec![
        (
            "raw_stub_loop",
            Box::new(move |_| Box::pin(bed.raw_batch(0, n, 256))),
        ),
        (
            "facade_cancel_many",
            Box::new(move |_| Box::pin(bed.facade_many(&bed.shared, n, 256))),
        ),
        (
            "facade_cancel_many_own_channel",
            Box::new(move |_| Box::pin(bed.facade_many(&bed.own, n, 256))),
        ),
        (
            "facade_cancel_loop",
            Box::new(move |_| Box::pin(bed.facade_batch(&bed.shared, 0, n, 256))),
        ),
    ];
    let times = measure(&rt, rounds.div_ceil(2).max(1), &rows);
    report(
        &format!("cancel_many, {n} targets, concurrency 256"),
        n,
        &rows,
        &times,
        false,
    );
}
