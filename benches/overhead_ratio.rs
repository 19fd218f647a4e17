//! The facade/raw ratios, measured side by side: each round runs every row once, in an order
//! that rotates between rounds, so load changes on a shared machine hit all rows alike.
//!
//! Two ratios per row: wall time (median of the per-round ratios; the user-visible one, noisy
//! on a busy machine) and process CPU time per cancel (pooled over all rounds; client, fake and
//! runtime together, far steadier). Throughput (cancels/s) is pooled over all rounds.
//!
//! `cargo bench --bench overhead_ratio` prints Markdown tables. Environment:
//! - `VC_BENCH_ROUNDS`: rounds (default 21; `cancel_many` runs half as many);
//! - `VC_BENCH_SECTIONS=64,many`: only the sections named (concurrency 1, 64, 256, `many`);
//! - `VC_BENCH_ONLY=ROW` with `VC_BENCH_CONCURRENCY=N` (or `many`): run that one row only and
//!   print nothing else, for profilers (`valgrind --tool=callgrind`).
//!
//! Without `--bench` (as `cargo test --benches` runs it) it makes one tiny round.

mod common;

use common::{Bed, Cost, JOBS, median, timed};

/// One row: a name and the work of one round.
type Row<'a> = (
    &'a str,
    Box<dyn Fn(usize) -> futures::future::BoxFuture<'a, ()> + 'a>,
);

/// Per-round costs of each row, rows measured in rotating order.
fn measure(rt: &tokio::runtime::Runtime, rounds: usize, rows: &[Row<'_>]) -> Vec<Vec<Cost>> {
    let mut costs = vec![Vec::with_capacity(rounds); rows.len()];
    // One unrecorded round: connections, allocator and caches warm for every row.
    for (_, work) in rows {
        rt.block_on(work(0));
    }
    for round in 0..rounds {
        for k in 0..rows.len() {
            let r = (round + k) % rows.len();
            costs[r].push(rt.block_on(timed(rows[r].1(round + 1))));
        }
    }
    costs
}

/// Prints one table. `as_time` picks the ratio's direction: time ratio (row / raw) or
/// throughput ratio (raw / row). Row 0 is the bare raw stub, row 1 the raw stub sending the
/// facade's headers and deadline: each row has its ratios to both.
fn report(title: &str, n: usize, rows: &[Row<'_>], costs: &[Vec<Cost>], as_time: bool) {
    println!("\n### {title}\n");
    let what = if as_time { "time" } else { "throughput" };
    println!(
        "| row | cancels/s | wall {what} ratio to bare raw (median) | range over rounds \
         | wall {what} ratio to matched raw (median) | CPU µs/cancel | CPU {what} ratio to bare \
         | CPU {what} ratio to matched |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let pooled = |r: usize| costs[r].iter().fold(Cost::default(), |a, &b| a + b);
    #[allow(clippy::cast_precision_loss)]
    let cancels = (n * costs[0].len()) as f64;
    let directed = |ratio: f64| if as_time { ratio } else { 1.0 / ratio };
    // Per-round wall ratios of row `r` to row `reference`, sorted.
    let wall_ratios = |r: usize, reference: usize| {
        let mut ratios: Vec<f64> = costs[r]
            .iter()
            .zip(&costs[reference])
            .map(|(row, raw)| directed(row.wall.as_secs_f64() / raw.wall.as_secs_f64()))
            .collect();
        let mid = median(&mut ratios);
        (mid, ratios[0], ratios[ratios.len() - 1])
    };
    let cpu_of = |r: usize| pooled(r).cpu.as_secs_f64();
    for (r, (name, _)) in rows.iter().enumerate() {
        let total = pooled(r);
        let (mid, lo, hi) = wall_ratios(r, 0);
        let (matched, _, _) = wall_ratios(r, 1);
        let cpu = cpu_of(r);
        println!(
            "| {name} | {:.0} | {mid:.3} | {lo:.3} .. {hi:.3} | {matched:.3} | {:.1} | {:.3} | {:.3} |",
            cancels / total.wall.as_secs_f64(),
            cpu / cancels * 1e6,
            directed(cpu / cpu_of(0)),
            directed(cpu / cpu_of(1)),
        );
    }
}

/// The rows of one section: one cancel per call at `concurrency`, or `cancel_many` (`None`).
fn rows(bed: &Bed, concurrency: Option<usize>, n: usize) -> Vec<Row<'_>> {
    let offset = move |round: usize| round * n;
    match concurrency {
        Some(c) => vec![
            (
                "raw_stub",
                Box::new(move |round| Box::pin(bed.raw_batch(offset(round), n, c))),
            ),
            (
                "raw_stub_matched",
                Box::new(move |round| Box::pin(bed.raw_matched_batch(offset(round), n, c))),
            ),
            (
                "facade_same_channel",
                Box::new(move |round| Box::pin(bed.facade_batch(&bed.shared, offset(round), n, c))),
            ),
            (
                "facade_own_channel",
                Box::new(move |round| Box::pin(bed.facade_batch(&bed.own, offset(round), n, c))),
            ),
        ],
        None => vec![
            (
                "raw_stub_loop",
                Box::new(move |_| Box::pin(bed.raw_batch(0, n, 256))),
            ),
            (
                "raw_stub_loop_matched",
                Box::new(move |_| Box::pin(bed.raw_matched_batch(0, n, 256))),
            ),
            (
                "facade_cancel_many",
                Box::new(move |_| Box::pin(bed.facade_many(&bed.shared, n, 256, false))),
            ),
            (
                "facade_cancel_many_own_channel",
                Box::new(move |_| Box::pin(bed.facade_many(&bed.own, n, 256, false))),
            ),
            (
                "facade_cancel_many_batched",
                Box::new(move |_| Box::pin(bed.facade_many(&bed.shared, n, 256, true))),
            ),
            (
                "facade_cancel_loop",
                Box::new(move |_| Box::pin(bed.facade_batch(&bed.shared, 0, n, 256))),
            ),
        ],
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds: usize = std::env::var("VC_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 21 } else { 1 });
    let scale = if full { 1 } else { 16 };
    let batch = |concurrency: Option<usize>| match concurrency {
        Some(1) => 512 / scale,
        Some(_) => 8192 / scale,
        None => JOBS / scale,
    };
    let rt = common::runtime();
    let bed = rt.block_on(Bed::start(JOBS));

    if let Ok(only) = std::env::var("VC_BENCH_ONLY") {
        let concurrency = std::env::var("VC_BENCH_CONCURRENCY").unwrap_or_default();
        let concurrency = (concurrency != "many").then(|| {
            concurrency
                .parse()
                .expect("VC_BENCH_CONCURRENCY: a number or `many`")
        });
        let n = batch(concurrency);
        let rows = rows(&bed, concurrency, n);
        let (_, work) = rows
            .iter()
            .find(|(name, _)| *name == only)
            .expect("VC_BENCH_ONLY names a row");
        for round in 0..rounds {
            rt.block_on(work(round));
        }
        return;
    }

    println!("rounds: {rounds}, jobs seeded: {JOBS}");
    // `VC_BENCH_SECTIONS=64,many`: only those sections (default: all).
    let sections = std::env::var("VC_BENCH_SECTIONS").unwrap_or_default();
    let wanted = |c: Option<usize>| {
        let name = c.map_or_else(|| "many".to_owned(), |c| c.to_string());
        sections.is_empty() || sections.split(',').any(|s| s == name)
    };
    for concurrency in [Some(1), Some(64), Some(256), None] {
        if !wanted(concurrency) {
            continue;
        }
        let n = batch(concurrency);
        let rows = rows(&bed, concurrency, n);
        match concurrency {
            Some(c) => {
                let costs = measure(&rt, rounds, &rows);
                let title = format!("one cancel, concurrency {c} ({n} cancels a round)");
                report(&title, n, &rows, &costs, true);
            }
            None => {
                let costs = measure(&rt, rounds.div_ceil(2), &rows);
                let title = format!("cancel_many, {n} targets, concurrency 256");
                report(&title, n, &rows, &costs, false);
            }
        }
    }
}
