//! The sweep against the fake: `find_live_jobs` over kinds and regions, fed to `cancel_many`,
//! proved by the fake's own final state and call log.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{TOKEN, calls_of, client, quick_wait};
use futures::StreamExt;
use vertex_cancel::client::{Finding, JobSearch, ListFailures, live_targets};
use vertex_cancel::fake::{FakeHandle, FakeVertex, FakeVertexBuilder, FaultRule, ResourceSpec};
use vertex_cancel::{CancelMany, Error, Outcome, State, TargetKind};

const REGIONS: [&str; 3] = ["us-central1", "europe-west4", "asia-east1"];

/// One resource of the estate: its name and state, whether the sweep's filter matches it.
struct Seeded {
    name: String,
    state: State,
    matching: bool,
}

/// In each region: pipeline and NAS jobs called `nightly` (labelled team=search) and `adhoc`
/// (unlabelled), running, queued, finished and cancelled; plus an operation.
fn estate() -> Vec<(Seeded, ResourceSpec)> {
    let mut out = Vec::new();
    for region in REGIONS {
        for (collection, live, done) in [
            ("pipelineJobs", State::Running, State::Succeeded),
            ("nasJobs", State::Pending, State::Failed),
        ] {
            for (i, (display, state)) in [
                ("nightly", live),
                ("nightly", State::Queued),
                ("nightly", done),
                ("nightly", State::Cancelled),
                ("adhoc", live),
                ("adhoc", done),
            ]
            .into_iter()
            .enumerate()
            {
                let name = format!("projects/p/locations/{region}/{collection}/j{i}");
                let mut spec = ResourceSpec::new(&name, state).with_display_name(display);
                if display == "nightly" {
                    spec = spec.with_label("team", "search");
                }
                let matching = display == "nightly" && !state.is_terminal();
                out.push((
                    Seeded {
                        name,
                        state,
                        matching,
                    },
                    spec,
                ));
            }
        }
        let op = format!("projects/p/locations/{region}/operations/9");
        out.push((
            Seeded {
                name: op.clone(),
                state: State::Running,
                matching: false,
            },
            ResourceSpec::new(op, State::Running),
        ));
    }
    out
}

async fn start(faults: Vec<FaultRule>) -> (FakeHandle, Vec<Seeded>) {
    start_on(
        faults
            .into_iter()
            .fold(FakeVertex::builder(), |b, f| b.fault(f)),
    )
    .await
}

/// The estate on a fake `builder` configured.
async fn start_on(builder: FakeVertexBuilder) -> (FakeHandle, Vec<Seeded>) {
    let (seeded, specs): (Vec<_>, Vec<_>) = estate().into_iter().unzip();
    let fake = builder
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .resources(specs)
        .start()
        .await
        .unwrap();
    (fake, seeded)
}

fn search() -> JobSearch {
    JobSearch::new("p")
        .locations(REGIONS)
        .filter(r#"display_name="nightly""#)
}

/// Every matching job is CANCELLED on the fake, every other resource is as it was seeded.
fn assert_exactly_matching_cancelled(fake: &FakeHandle, seeded: &[Seeded], skip_region: &str) {
    for s in seeded {
        let now = fake.state_of(&s.name).unwrap();
        if s.matching && !s.name.contains(skip_region) {
            assert_eq!(now, State::Cancelled, "{}", s.name);
        } else {
            assert_eq!(now, s.state, "{} must be untouched", s.name);
        }
    }
}

#[tokio::test]
async fn a_sweep_cancels_exactly_the_live_matching_jobs_of_every_kind_and_region() {
    let (fake, seeded) = start(vec![]).await;
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let targets = live_targets(client.find_live_jobs(&search()).unwrap(), failures.clone());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;

    let expected: HashSet<String> = seeded
        .iter()
        .filter(|s| s.matching)
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(
        expected.len(),
        3 * 2 * 2,
        "two live nightly jobs per kind and region"
    );
    let reported: HashSet<String> = reports.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(reported, expected);
    assert_eq!(reports.len(), expected.len(), "each reported once");
    for (target, outcome) in &reports {
        assert!(
            matches!(outcome, Ok(Outcome::Cancelled { .. })),
            "{target}: {outcome:?}"
        );
    }
    assert!(failures.take().is_empty());
    assert_exactly_matching_cancelled(&fake, &seeded, "no region skipped");

    // One List per (region, kind), each with the display name and the not-terminal condition.
    let lists: Vec<_> = calls_of(&fake, "ListPipelineJobs")
        .into_iter()
        .chain(calls_of(&fake, "ListNasJobs"))
        .map(|c| c.target)
        .collect();
    assert_eq!(lists.len(), 6, "{lists:?}");
    assert!(calls_of(&fake, "ListOperations").is_empty());
    assert!(calls_of(&fake, "CancelOperation").is_empty());
}

#[tokio::test]
async fn finished_jobs_are_left_out_and_looking_cancels_nothing() {
    let (fake, seeded) = start(vec![]).await;
    let client = client(&fake).await;
    let found: Vec<Finding> = client
        .find_live_jobs(&JobSearch::new("p").locations(REGIONS))
        .unwrap()
        .collect()
        .await;
    let names: HashSet<String> = found
        .iter()
        .map(|f| match f {
            Finding::Job(job) => {
                assert!(!job.status.state.is_terminal(), "{job:?}");
                job.target.to_string()
            }
            Finding::ListFailed(failure) => panic!("{failure:?}"),
        })
        .collect();
    let live: HashSet<String> = seeded
        .iter()
        .filter(|s| !s.state.is_terminal() && !s.name.contains("/operations/"))
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(names, live);
    // Nothing was cancelled by looking.
    assert!(calls_of(&fake, "CancelPipelineJob").is_empty());
    assert!(calls_of(&fake, "CancelNasJob").is_empty());
}

#[tokio::test]
async fn a_region_answering_permission_denied_is_reported_and_the_others_are_swept() {
    let denied = FaultRule::fail(tonic::Code::PermissionDenied)
        .on_methods(["ListPipelineJobs", "ListNasJobs"])
        .on_targets(["projects/p/locations/europe-west4"]);
    let (fake, seeded) = start(vec![denied]).await;
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let targets = live_targets(client.find_live_jobs(&search()).unwrap(), failures.clone());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;

    assert_eq!(
        reports.len(),
        2 * 2 * 2,
        "two regions, two kinds, two jobs each"
    );
    let mut failures = failures.take();
    failures.sort_by_key(|f| f.kind.map(TargetKind::as_str));
    assert_eq!(failures.len(), 2, "{failures:?}");
    for (failure, kind) in failures
        .iter()
        .zip([TargetKind::NasJob, TargetKind::PipelineJob])
    {
        assert_eq!(failure.location, "europe-west4");
        assert_eq!(failure.kind, Some(kind));
        assert!(
            matches!(failure.error, Error::PermissionDenied(_)),
            "{:?}",
            failure.error
        );
    }
    assert_exactly_matching_cancelled(&fake, &seeded, "europe-west4");
}

#[tokio::test]
async fn a_filter_the_sweep_cannot_read_is_refused_before_any_call() {
    let (fake, _) = start(vec![]).await;
    let client = client(&fake).await;
    for filter in [
        r#"template_uri="gs://x""#, // documented for pipeline jobs only
        "display_name=\"a\" nightly",
        "display_name=\"a\nb\"",
    ] {
        let err = client
            .find_live_jobs(&search().filter(filter))
            .err()
            .unwrap_or_else(|| panic!("{filter} accepted"));
        assert!(err.is_bad_input(), "{err:?}");
    }
    let op = JobSearch::new("p").kinds([TargetKind::Operation]);
    assert!(client.find_live_jobs(&op).is_err());
    let bad_region = JobSearch::new("p").locations(["Europe West"]);
    assert!(client.find_live_jobs(&bad_region).is_err());
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn update_time_runs_locally_for_nas_jobs() {
    let (fake, _) = start(vec![]).await;
    let client = client(&fake).await;
    // ListNasJobs does not document update_time: sent, the fake (as Google) would refuse the
    // filter, and the List would fail. Evaluated locally, it matches no job of today.
    let filter = r#"update_time<"2000-01-01T00:00:00Z""#;
    let nas = JobSearch::new("p")
        .locations(["us-central1"])
        .kinds([TargetKind::NasJob])
        .filter(filter);
    let found: Vec<Finding> = client.find_live_jobs(&nas).unwrap().collect().await;
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(calls_of(&fake, "ListNasJobs").len(), 1);
}

#[tokio::test]
async fn the_stream_feeds_cancel_many_with_a_thousand_matches() {
    let n = 1_000;
    let specs = (0..n).map(|i| {
        let region = REGIONS[i % 3];
        let (collection, display) = if i % 2 == 0 {
            ("pipelineJobs", "sweep-me")
        } else {
            ("nasJobs", "sweep-me")
        };
        ResourceSpec::new(
            format!("projects/p/locations/{region}/{collection}/m{i}"),
            State::Running,
        )
        .with_display_name(display)
    });
    let keep = ResourceSpec::new(
        "projects/p/locations/us-central1/pipelineJobs/keep",
        State::Running,
    )
    .with_display_name("keep");
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .resources(specs)
        .resource(keep)
        .record_calls(false)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let search = JobSearch::new("p")
        .locations(REGIONS)
        .filter(r#"display_name="sweep-me""#);
    let targets = live_targets(client.find_live_jobs(&search).unwrap(), failures.clone());
    let reports: Vec<_> = client
        .cancel_many(targets, CancelMany::default().concurrency(32))
        .collect()
        .await;
    assert_eq!(reports.len(), n);
    let names: HashSet<String> = reports.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(names.len(), n, "each once");
    assert!(
        reports
            .iter()
            .all(|(_, r)| matches!(r, Ok(Outcome::Requested)))
    );
    assert!(failures.take().is_empty());
    for i in 0..n {
        let collection = if i % 2 == 0 {
            "pipelineJobs"
        } else {
            "nasJobs"
        };
        let name = format!("projects/p/locations/{}/{collection}/m{i}", REGIONS[i % 3]);
        // Cancel accepted: under way, or (a batch's operation awaited) already through.
        let state = fake.state_of(&name);
        assert!(
            matches!(state, Some(State::Cancelling | State::Cancelled)),
            "{name}: {state:?}"
        );
    }
    assert_eq!(
        fake.state_of("projects/p/locations/us-central1/pipelineJobs/keep"),
        Some(State::Running)
    );
}

#[tokio::test]
async fn a_sweep_by_label_cancels_exactly_the_live_labelled_jobs() {
    let (fake, seeded) = start(vec![]).await;
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let by_label = search().filter(r#"labels.team="search""#);
    let targets = live_targets(client.find_live_jobs(&by_label).unwrap(), failures.clone());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    assert_eq!(reports.len(), 12);
    assert!(failures.take().is_empty());
    // The labelled jobs are exactly the `nightly` ones.
    assert_exactly_matching_cancelled(&fake, &seeded, "no region skipped");
}

#[tokio::test]
async fn every_location_comes_from_list_locations() {
    let (fake, seeded) = start(vec![]).await;
    let client = client(&fake).await;
    let mut locations: Vec<String> = client
        .list_locations("p")
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    locations.sort();
    let mut expected = REGIONS.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(locations, expected);

    let failures = ListFailures::default();
    let everywhere = JobSearch::new("p").filter(r#"display_name="nightly""#);
    let targets = live_targets(
        client.find_live_jobs(&everywhere).unwrap(),
        failures.clone(),
    );
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    assert_eq!(reports.len(), 12);
    assert!(failures.take().is_empty());
    // One for `list_locations` above, one for the sweep's own discovery.
    assert_eq!(calls_of(&fake, "ListLocations").len(), 2);
    assert_exactly_matching_cancelled(&fake, &seeded, "no region skipped");
}

/// The six kinds beside pipeline and NAS jobs, swept by label in two regions: each live
/// labelled job is cancelled, every other job (unlabelled, finished) is untouched. Tuning jobs
/// document no filter field, so their whole filter runs on the listed jobs.
#[tokio::test]
async fn a_label_sweep_covers_every_job_kind() {
    let collections = [
        "customJobs",
        "hyperparameterTuningJobs",
        "batchPredictionJobs",
        "dataLabelingJobs",
        "trainingPipelines",
        "tuningJobs",
    ];
    let mut seeded = Vec::new();
    let mut specs = Vec::new();
    for region in ["us-central1", "europe-west4"] {
        for collection in collections {
            for (id, state, labelled) in [
                (1, State::Running, true),
                (2, State::Pending, false),
                (3, State::Succeeded, true),
            ] {
                let name = format!("projects/p/locations/{region}/{collection}/{id}");
                let mut spec = ResourceSpec::new(&name, state);
                if labelled {
                    spec = spec.with_label("team", "search");
                }
                specs.push(spec);
                let matching = labelled && !state.is_terminal();
                seeded.push(Seeded {
                    name,
                    state,
                    matching,
                });
            }
        }
    }
    let fake = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30))
        .resources(specs)
        .start()
        .await
        .unwrap();
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let by_label = JobSearch::new("p")
        .locations(["us-central1", "europe-west4"])
        .filter(r#"labels.team="search""#);
    let targets = live_targets(client.find_live_jobs(&by_label).unwrap(), failures.clone());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    assert!(failures.take().is_empty());
    assert_eq!(reports.len(), 2 * collections.len(), "{reports:?}");
    for (target, outcome) in &reports {
        assert!(
            matches!(outcome, Ok(Outcome::Cancelled { .. })),
            "{target}: {outcome:?}"
        );
    }
    assert_exactly_matching_cancelled(&fake, &seeded, "no region skipped");
    assert_eq!(calls_of(&fake, "ListTuningJobs").len(), 2);
}

/// A location named twice (`--regions us-central1,us-central1`, or a ListLocations answer
/// repeating one) is listed once, as a kind named twice is: each job is found, cancelled and
/// reported once.
#[tokio::test]
async fn a_location_named_twice_is_swept_once() {
    let (fake, seeded) = start(vec![]).await;
    let client = client(&fake).await;
    let twice = JobSearch::new("p")
        .locations(["us-central1", "us-central1"])
        .filter(r#"display_name="nightly""#);
    let failures = ListFailures::default();
    let targets = live_targets(client.find_live_jobs(&twice).unwrap(), failures.clone());
    let options = CancelMany::default().wait(quick_wait(Duration::from_secs(10)));
    let reports: Vec<_> = client.cancel_many(targets, options).collect().await;
    let reported: HashSet<String> = reports.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        reports.len(),
        reported.len(),
        "each reported once: {reports:?}"
    );
    assert_eq!(reported.len(), 2 * 2, "two live nightly jobs per kind");
    assert!(failures.take().is_empty());
    assert_eq!(calls_of(&fake, "ListPipelineJobs").len(), 1);
    for s in &seeded {
        let expected = if s.matching && s.name.contains("/us-central1/") {
            State::Cancelled
        } else {
            s.state
        };
        assert_eq!(fake.state_of(&s.name), Some(expected), "{}", s.name);
    }
}

#[tokio::test]
async fn a_server_ignoring_the_filter_gets_no_unmatched_job_cancelled() {
    // A List's filter says what the server should select; an independent server may select
    // more. The sweep must cancel what the caller's filter matches, not what came back.
    let (fake, seeded) = start_on(FakeVertex::builder().lists_ignore_filter(true)).await;
    let client = client(&fake).await;
    let failures = ListFailures::default();
    let search = search().filter(r#"display_name="nightly" AND labels.team="search""#);
    let targets = live_targets(client.find_live_jobs(&search).unwrap(), failures.clone());
    let reports: Vec<_> = client
        .cancel_many(targets, CancelMany::default())
        .collect()
        .await;
    assert_eq!(reports.len(), 12, "{reports:?}");
    assert!(failures.take().is_empty());
    let wait = quick_wait(Duration::from_secs(5));
    for s in seeded.iter().filter(|s| s.matching) {
        let target = s.name.parse().unwrap();
        let outcome = client.wait_for_outcome(&target, wait).await.unwrap();
        assert!(outcome.is_cancelled(), "{}: {outcome:?}", s.name);
    }
    assert_exactly_matching_cancelled(&fake, &seeded, "no region skipped");
}
