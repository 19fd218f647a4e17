//! `vertex-cancel demo`: start the built-in fake in-process with jobs and operations in mixed
//! states, cancel them all through the real client over loopback gRPC (with a token, as against
//! Google), wait, and show what happened to each.
//!
//! The mix is chosen to show every kind of target (one job of each kind, operations of both
//! services) and every outcome an operator meets: cancelled, finished anyway, already finished,
//! and a service that cannot cancel (UNIMPLEMENTED). The demo exits 0 when
//! each target ended as designed, so it doubles as a smoke test of the whole stack.

use std::collections::HashMap;
use std::time::Duration;

use futures::{StreamExt, stream};
use tonic::Code;
use vertex_cancel::fake::{CancelOutcome, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Client, Credentials, State, Target, Wait};

use crate::cli::args::DemoArgs;
use crate::cli::exit::{CliError, Exit};
use crate::cli::names::CheckedNames;
use crate::cli::output::{Cell, Style, Table, print};
use crate::cli::report::CancelRow;

use super::bulk::{self, Plan, Rows};

/// The token the demo's fake requires and its client sends.
const DEMO_TOKEN: &str = "demo-token";

/// One seeded target and the outcome the demo expects for it.
struct Seed {
    /// The name the client cancels (AutoML operations in full form).
    name: &'static str,
    spec: ResourceSpec,
    expect: &'static str,
}

fn seeds() -> Vec<Seed> {
    fn seed(
        name: &'static str,
        state: State,
        expect: &'static str,
        tune: fn(ResourceSpec) -> ResourceSpec,
    ) -> Seed {
        // The fake keeps relative names; the client names AutoML operations in full.
        let relative = name.trim_start_matches("//automl.googleapis.com/");
        Seed {
            name,
            spec: tune(ResourceSpec::new(relative, state)),
            expect,
        }
    }
    vec![
        seed(
            "projects/demo/locations/us-central1/pipelineJobs/nightly-train",
            State::Running,
            "cancelled",
            |s| s.with_display_name("nightly-train"),
        ),
        seed(
            "projects/demo/locations/us-central1/pipelineJobs/eval-sweep",
            State::Running,
            "finished_anyway",
            |s| {
                s.with_display_name("eval-sweep")
                    .with_cancel_outcome(CancelOutcome::Succeeded)
            },
        ),
        seed(
            "projects/demo/locations/us-central1/pipelineJobs/backfill-2024",
            State::Succeeded,
            "finished_anyway",
            |s| s.with_display_name("backfill-2024"),
        ),
        seed(
            "projects/demo/locations/europe-west4/nasJobs/search-42",
            State::Running,
            "cancelled",
            |s| s,
        ),
        seed(
            "projects/demo/locations/europe-west4/nasJobs/search-43",
            State::Running,
            "finished_anyway",
            |s| s.with_cancel_outcome(CancelOutcome::Failed),
        ),
        seed(
            "projects/demo/locations/us-central1/trainingPipelines/1207",
            State::Running,
            "cancelled",
            |s| s.with_display_name("churn-automl"),
        ),
        seed(
            "projects/demo/locations/us-central1/customJobs/8801",
            State::Running,
            "cancelled",
            |s| s.with_display_name("train-resnet"),
        ),
        seed(
            "projects/demo/locations/us-central1/hyperparameterTuningJobs/5150",
            State::Running,
            "finished_anyway",
            |s| {
                s.with_display_name("lr-sweep")
                    .with_cancel_outcome(CancelOutcome::Succeeded)
            },
        ),
        seed(
            "projects/demo/locations/us-central1/batchPredictionJobs/3303",
            State::Running,
            "cancelled",
            |s| s.with_display_name("score-all-users"),
        ),
        seed(
            "projects/demo/locations/us-central1/dataLabelingJobs/4404",
            State::Pending,
            "cancelled",
            |s| s.with_display_name("label-images"),
        ),
        seed(
            "projects/demo/locations/us-central1/tuningJobs/6606",
            State::Running,
            "cancelled",
            |s| s,
        ),
        seed(
            "projects/demo/locations/us-central1/operations/export-77",
            State::Running,
            "cancelled",
            |s| s,
        ),
        seed(
            "//automl.googleapis.com/projects/demo/locations/us-central1/operations/import-5",
            State::Running,
            "error",
            |s| {
                s.with_fault(
                    FaultRule::fail(Code::Unimplemented)
                        .on_methods(["CancelOperation"])
                        .with_message("this AutoML operation cannot be cancelled"),
                )
            },
        ),
    ]
}

/// Runs the demo: 0 when every target ended as designed, 1 otherwise.
///
/// # Errors
/// The fake or the client cannot start, output fails.
pub(crate) async fn run(style: Style, args: &DemoArgs) -> Result<Exit, CliError> {
    let seeds = seeds();
    let fake = FakeVertex::builder()
        .token(DEMO_TOKEN)
        .cancel_delay(args.cancel_delay)
        .resources(seeds.iter().map(|s| s.spec.clone()))
        .start()
        .await?;
    let client = Client::builder()
        .credentials(Credentials::static_token(DEMO_TOKEN))
        .endpoint(fake.endpoint())
        .build()
        .await?;
    let targets = seeds
        .iter()
        .map(|s| s.name.parse::<Target>())
        .collect::<Result<Vec<_>, _>>()?;
    if !style.json {
        print(&format!(
            "Fake Vertex AI at {} (bearer token required); cancelling {} targets through the \
             client over gRPC and waiting for each outcome...\n\n",
            fake.endpoint(),
            targets.len()
        ))?;
    }
    let before = states(&client, &targets).await;
    let plan = Plan {
        options: CancelMany::default()
            .concurrency(8)
            .wait(demo_wait(args.cancel_delay)),
        concurrency: 8,
    };
    let names = CheckedNames::from_targets(targets);
    let ran = bulk::cancel_all(
        &client,
        names,
        &plan,
        style,
        Rows::Keep(Vec::new()),
        &before,
    )
    .await?;
    if ran.interrupted {
        eprintln!("{}", ran.summary());
        return Ok(Exit::Interrupted);
    }
    let Rows::Keep(rows) = &ran.rows else {
        return Ok(Exit::Failed);
    };
    let calls = fake.calls().len();
    if !style.json {
        print(&table(rows).render(style.color))?;
        print(&format!(
            "\n{}; {calls} gRPC calls answered by the fake\n",
            ran.summary()
        ))?;
    }
    let _ = fake.shutdown().await;
    Ok(verdict(&seeds, rows, style))
}

/// Short polls, so the demo takes about a second.
fn demo_wait(cancel_delay: Duration) -> Wait {
    Wait::up_to((cancel_delay * 20).max(Duration::from_secs(10)))
        .first_interval(Duration::from_millis(100))
        .max_interval(Duration::from_millis(500))
}

/// Each target's state before the cancel.
async fn states(client: &Client, targets: &[Target]) -> HashMap<Target, State> {
    stream::iter(targets)
        .filter_map(|target| async move {
            let status = client.get(target).await.ok()?;
            Some((target.clone(), status.state))
        })
        .collect()
        .await
}

fn table(rows: &[CancelRow]) -> Table {
    let mut table = Table::new(vec!["NAME", "KIND", "BEFORE", "OUTCOME", "STATE", "DETAIL"]);
    for row in rows {
        let mut cells = row.cells();
        let before = row.before.map_or("-", State::as_str);
        cells.insert(2, Cell::plain(before));
        table.push(cells);
    }
    table
}

/// 0 if every target ended as designed; otherwise says which did not.
fn verdict(seeds: &[Seed], rows: &[CancelRow], style: Style) -> Exit {
    let mut exit = Exit::Success;
    for seed in seeds {
        let got = rows
            .iter()
            .find(|row| row.target.to_string() == seed.name)
            .map_or("missing", CancelRow::outcome_word);
        if got != seed.expect {
            style.note(&format!(
                "demo: {} ended `{got}`, expected `{}`",
                seed.name, seed.expect
            ));
            exit = Exit::Failed;
        }
    }
    exit
}
