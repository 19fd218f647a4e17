//! The six job kinds added beside pipeline jobs, NAS jobs and operations (custom, hyperparameter
//! tuning, batch prediction, data labeling and tuning jobs, training pipelines), through the
//! library against the fake over real HTTP/2: every outcome proven by the fake's own state,
//! names checked before any call, List filters on every kind.

mod common;

use std::time::Duration;

use common::{TOKEN, calls_of, client, quick_wait, target};
use futures::{StreamExt, TryStreamExt};
use vertex_cancel::fake::{CancelOutcome, FakeHandle, FakeVertex, FaultRule, ResourceSpec};
use vertex_cancel::{
    BatchPredictionJobName, CancelMany, Client, CustomJobName, DataLabelingJobName, Error,
    HyperparameterTuningJobName, LocationName, Outcome, RawResource, State, Target, TargetKind,
    TrainingPipelineName, TuningJobName,
};

const LOCATION: &str = "projects/p/locations/us-central1";

/// The new kinds, with their collection word and the RPC names the fake logs.
const KINDS: [(TargetKind, &str, &str); 6] = [
    (TargetKind::CustomJob, "customJobs", "CustomJob"),
    (
        TargetKind::HyperparameterTuningJob,
        "hyperparameterTuningJobs",
        "HyperparameterTuningJob",
    ),
    (
        TargetKind::BatchPredictionJob,
        "batchPredictionJobs",
        "BatchPredictionJob",
    ),
    (
        TargetKind::DataLabelingJob,
        "dataLabelingJobs",
        "DataLabelingJob",
    ),
    (
        TargetKind::TrainingPipeline,
        "trainingPipelines",
        "TrainingPipeline",
    ),
    (TargetKind::TuningJob, "tuningJobs", "TuningJob"),
];

fn name(collection: &str, id: u32) -> String {
    format!("{LOCATION}/{collection}/{id}")
}

/// Per kind: 1 running (cancels), 2 finishes anyway, 3 is stuck, 4 already failed; 5 is absent.
async fn seeded() -> FakeHandle {
    let mut builder = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(30));
    for (_, collection, _) in KINDS {
        builder = builder
            .resource(ResourceSpec::new(name(collection, 1), State::Running))
            .resource(
                ResourceSpec::new(name(collection, 2), State::Running)
                    .with_cancel_outcome(CancelOutcome::Succeeded),
            )
            .resource(
                ResourceSpec::new(name(collection, 3), State::Running)
                    .with_cancel_outcome(CancelOutcome::Stuck),
            )
            .resource(ResourceSpec::new(name(collection, 4), State::Failed));
    }
    builder.start().await.unwrap()
}

#[tokio::test]
async fn each_new_kind_is_cancelled_finishes_anyway_sticks_or_was_done() {
    let fake = seeded().await;
    let client = client(&fake).await;
    for (kind, collection, message) in KINDS {
        let wait = quick_wait(Duration::from_secs(5));
        let cancelled = client
            .cancel_and_wait(&target(&name(collection, 1)), wait)
            .await
            .unwrap();
        let Outcome::Cancelled { error } = cancelled else {
            panic!("{kind}: {cancelled:?}")
        };
        assert_eq!(error.map(|e| e.code), Some(1), "{kind}");
        assert_eq!(
            fake.state_of(&name(collection, 1)),
            Some(State::Cancelled),
            "{kind}"
        );

        let anyway = client
            .cancel_and_wait(&target(&name(collection, 2)), wait)
            .await
            .unwrap();
        assert!(
            matches!(
                anyway,
                Outcome::FinishedAnyway {
                    state: State::Succeeded,
                    ..
                }
            ),
            "{kind}: {anyway:?}"
        );
        assert_eq!(fake.state_of(&name(collection, 2)), Some(State::Succeeded));

        let stuck = client
            .cancel_and_wait(
                &target(&name(collection, 3)),
                quick_wait(Duration::from_millis(300)),
            )
            .await
            .unwrap();
        assert_eq!(
            stuck,
            Outcome::StillRunning {
                state: State::Cancelling
            },
            "{kind}"
        );
        assert_eq!(fake.state_of(&name(collection, 3)), Some(State::Cancelling));

        let done = client.cancel(&target(&name(collection, 4))).await;
        let Err(Error::AlreadyFinished { rpc, state }) = done else {
            panic!("{kind}: {done:?}")
        };
        assert_eq!(rpc.code(), tonic::Code::FailedPrecondition, "{kind}");
        assert_eq!(state, Some(State::Failed), "{kind}");
        assert_eq!(fake.state_of(&name(collection, 4)), Some(State::Failed));

        let missing = client.cancel(&target(&name(collection, 5))).await;
        assert!(
            matches!(missing, Err(Error::NotFound(_))),
            "{kind}: {missing:?}"
        );
        assert_eq!(fake.state_of(&name(collection, 5)), None);

        // Every call went to this kind's own RPCs.
        assert_eq!(
            calls_of(&fake, &format!("Cancel{message}")).len(),
            5,
            "{kind}"
        );
        assert!(!calls_of(&fake, &format!("Get{message}")).is_empty());
    }
}

#[tokio::test]
async fn typed_calls_reach_each_kind_and_report_its_state_enum() {
    let fake = seeded().await;
    let client = client(&fake).await;

    let custom = CustomJobName::new("p", "us-central1", "1").unwrap();
    client.cancel_custom_job(&custom).await.unwrap();
    let job = client.get_custom_job(&custom).await.unwrap();
    assert_eq!(job.name, custom.relative_name());
    assert_eq!(job.state, 6, "JOB_STATE_CANCELLING");

    let hpt = HyperparameterTuningJobName::new("p", "us-central1", "4").unwrap();
    let failed = client.get_hyperparameter_tuning_job(&hpt).await.unwrap();
    assert_eq!(failed.state, 5, "JOB_STATE_FAILED");
    let batch = BatchPredictionJobName::new("p", "us-central1", "1").unwrap();
    client.cancel_batch_prediction_job(&batch).await.unwrap();
    let labeling = DataLabelingJobName::new("p", "us-central1", "1").unwrap();
    client.cancel_data_labeling_job(&labeling).await.unwrap();
    let tuning = TuningJobName::new("p", "us-central1", "1").unwrap();
    client.cancel_tuning_job(&tuning).await.unwrap();
    // A training pipeline reports PipelineState: CANCELLING is 6 there too, CANCELLED 7.
    let pipeline = TrainingPipelineName::new("p", "us-central1", "1").unwrap();
    client.cancel_training_pipeline(&pipeline).await.unwrap();
    let status = client.get(&Target::from(pipeline.clone())).await.unwrap();
    assert_eq!(status.state, State::Cancelling);
    assert!(matches!(status.raw, RawResource::TrainingPipeline(_)));

    for name in [
        batch.relative_name(),
        labeling.relative_name(),
        tuning.relative_name(),
        pipeline.relative_name(),
    ] {
        common::wait_for(|| fake.state_of(name) == Some(State::Cancelled)).await;
    }
    let listed: Vec<_> = client
        .list_training_pipelines(&LocationName::new("p", "us-central1").unwrap(), None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(calls_of(&fake, "ListTrainingPipelines").len(), 1);
}

#[tokio::test]
async fn cancel_many_reports_every_kind_once_with_the_fakes_outcome() {
    let fake = seeded().await;
    let client = client(&fake).await;
    let targets: Vec<Target> = KINDS
        .iter()
        .flat_map(|(_, collection, _)| (1..=5).map(|id| target(&name(collection, id))))
        .collect();
    let options = CancelMany::default()
        .concurrency(8)
        .wait(quick_wait(Duration::from_millis(800)));
    let reports: Vec<_> = client
        .cancel_many(futures::stream::iter(targets.clone()), options)
        .collect()
        .await;
    assert_eq!(reports.len(), targets.len());
    for (reported, result) in &reports {
        let id = reported.id();
        let truth = fake.state_of(reported.relative_name());
        match (id, result) {
            ("1", Ok(Outcome::Cancelled { .. })) => assert_eq!(truth, Some(State::Cancelled)),
            ("2", Ok(Outcome::FinishedAnyway { state, .. })) => {
                assert_eq!(truth, Some(*state));
                assert_eq!(*state, State::Succeeded);
            }
            ("3", Ok(Outcome::StillRunning { state })) => {
                assert_eq!(
                    (truth, *state),
                    (Some(State::Cancelling), State::Cancelling)
                );
            }
            ("4", Ok(Outcome::FinishedAnyway { state, .. })) => {
                assert_eq!((truth, *state), (Some(State::Failed), State::Failed));
            }
            ("5", Err(Error::NotFound(_))) => assert_eq!(truth, None),
            other => panic!("{reported}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn names_of_each_kind_parse_and_hostile_ones_are_refused_before_any_call() {
    let fake = seeded().await;
    let client = client(&fake).await;
    for (kind, collection, _) in KINDS {
        let good = name(collection, 42);
        let parsed = target(&good);
        assert_eq!(parsed.kind(), kind);
        assert_eq!(parsed.kind().collection(), collection);
        assert_eq!(parsed.id(), "42");
        assert_eq!(parsed.to_string(), good);
        assert_eq!(
            parsed.full_name(),
            format!("//aiplatform.googleapis.com/{good}")
        );
        assert_eq!(parsed.full_name().parse::<Target>().unwrap(), parsed);
        for hostile in [
            format!("{LOCATION}/{collection}/abc"),
            format!("{LOCATION}/{collection}/1-2"),
            format!("{LOCATION}/{collection}/1/x"),
            format!("{LOCATION}/{collection}/"),
            format!("{LOCATION}/{collection}/1%2F2"),
            format!("{LOCATION}/{collection}/1\n"),
            format!("{LOCATION}/{collection}/1\u{202E}"),
            format!("projects/p/locations/us-central1.evil.com/{collection}/1"),
            format!("//automl.googleapis.com/{LOCATION}/{collection}/1"),
            format!("//evil.com/{LOCATION}/{collection}/1"),
        ] {
            let err = hostile.parse::<Target>().unwrap_err();
            assert!(
                matches!(err, Error::InvalidName { .. }),
                "{hostile:?}: {err:?}"
            );
        }
    }
    // A well-formed name of another kind is refused by the typed parser.
    let err = name("customJobs", 1).parse::<TuningJobName>().unwrap_err();
    assert!(
        err.to_string().contains("expected a tuning job name"),
        "{err}"
    );
    assert!(matches!(
        CustomJobName::new("p", "us-central1", "x"),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        TrainingPipelineName::new("p", "US", "1"),
        Err(Error::InvalidLocation { .. })
    ));
    drop(client);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn label_filters_work_on_every_kind_and_unsupported_fields_are_refused() {
    let mut builder = FakeVertex::builder().token(TOKEN);
    for (_, collection, _) in KINDS {
        builder = builder
            .resource(
                ResourceSpec::new(name(collection, 1), State::Running).with_label("team", "search"),
            )
            .resource(
                ResourceSpec::new(name(collection, 2), State::Running).with_label("team", "ads"),
            )
            .resource(ResourceSpec::new(name(collection, 3), State::Running));
    }
    let fake = builder.start().await.unwrap();
    let client = client(&fake).await;
    let parent = LocationName::new("p", "us-central1").unwrap();
    for (kind, _, _) in KINDS {
        let ids = |filter: &'static str| listed_ids(&client, kind, &parent, filter);
        assert_eq!(
            ids(r#"labels.team="search""#).await.unwrap(),
            ["1"],
            "{kind}"
        );
        assert_eq!(ids("labels.team:*").await.unwrap(), ["1", "2"], "{kind}");
        assert_eq!(
            ids(r#"NOT labels.team="ads""#).await.unwrap(),
            ["1", "3"],
            "{kind}"
        );
        // No List of these kinds documents `update_time` or `pipeline_name`.
        for refused in [
            r#"update_time>"2020-01-01T00:00:00Z""#,
            r#"pipeline_name="x""#,
            r#"labels.team:"search""#,
        ] {
            let err = ids(refused).await.unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument(_)),
                "{kind} {refused}: {err:?}"
            );
        }
    }
    // Batch prediction jobs document `model_display_name`, custom jobs do not; a training
    // pipeline is filtered by PipelineState names, the jobs by JobState names.
    for (kind, filter, matches) in [
        (
            TargetKind::BatchPredictionJob,
            r#"model_display_name="m""#,
            Some(0),
        ),
        (TargetKind::CustomJob, r#"model_display_name="m""#, None),
        (
            TargetKind::TrainingPipeline,
            r#"state="PIPELINE_STATE_RUNNING""#,
            Some(3),
        ),
        (
            TargetKind::TrainingPipeline,
            r#"state="JOB_STATE_RUNNING""#,
            None,
        ),
        (
            TargetKind::TuningJob,
            r#"state="JOB_STATE_RUNNING""#,
            Some(3),
        ),
    ] {
        match (listed_ids(&client, kind, &parent, filter).await, matches) {
            (Ok(ids), Some(n)) => assert_eq!(ids.len(), n, "{kind} {filter}"),
            (Err(Error::InvalidArgument(_)), None) => {}
            other => panic!("{kind} {filter}: {other:?}"),
        }
    }
}

/// The ids of a kind's List under `parent` with `filter`, through the typed call of that kind.
async fn listed_ids(
    client: &Client,
    kind: TargetKind,
    parent: &LocationName,
    filter: &str,
) -> Result<Vec<String>, Error> {
    let filter = Some(filter);
    let names: Vec<String> = match kind {
        TargetKind::CustomJob => {
            names_of(client.list_custom_jobs(parent, filter), |j| j.name).await?
        }
        TargetKind::HyperparameterTuningJob => {
            names_of(
                client.list_hyperparameter_tuning_jobs(parent, filter),
                |j| j.name,
            )
            .await?
        }
        TargetKind::BatchPredictionJob => {
            names_of(client.list_batch_prediction_jobs(parent, filter), |j| {
                j.name
            })
            .await?
        }
        TargetKind::DataLabelingJob => {
            names_of(client.list_data_labeling_jobs(parent, filter), |j| j.name).await?
        }
        TargetKind::TrainingPipeline => {
            names_of(client.list_training_pipelines(parent, filter), |j| j.name).await?
        }
        TargetKind::TuningJob => {
            names_of(client.list_tuning_jobs(parent, filter), |j| j.name).await?
        }
        other => panic!("not a new kind: {other}"),
    };
    let mut ids: Vec<String> = names
        .iter()
        .map(|n| n.rsplit('/').next().unwrap().to_owned())
        .collect();
    ids.sort();
    Ok(ids)
}

async fn names_of<T>(
    stream: impl futures::Stream<Item = Result<T, Error>>,
    name: impl Fn(T) -> String,
) -> Result<Vec<String>, Error> {
    stream.map_ok(name).try_collect().await
}

#[tokio::test]
async fn faults_paging_and_the_call_log_cover_the_new_kinds() {
    let tuning = name("tuningJobs", 1);
    let mut builder = FakeVertex::builder()
        .token(TOKEN)
        .cancel_delay(Duration::from_millis(20))
        .resource(
            ResourceSpec::new(&tuning, State::Running).with_fault(
                FaultRule::fail(tonic::Code::Unavailable)
                    .on_methods(["CancelTuningJob"])
                    .first(1),
            ),
        );
    for id in 0..250 {
        builder = builder.resource(ResourceSpec::new(name("customJobs", id), State::Running));
    }
    let fake = builder.start().await.unwrap();
    let client = client(&fake).await;

    let outcome = client
        .cancel_and_wait(&target(&tuning), quick_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(outcome.is_cancelled(), "{outcome:?}");
    assert_eq!(fake.state_of(&tuning), Some(State::Cancelled));
    let cancels = calls_of(&fake, "CancelTuningJob");
    assert_eq!(cancels.len(), 2, "one UNAVAILABLE, then the retry");
    assert_eq!(cancels[0].code, tonic::Code::Unavailable);
    assert_eq!(cancels[1].target, tuning);
    assert_eq!(
        cancels[1].header("x-goog-request-params"),
        Some(format!("name={}", tuning.replace('/', "%2F")).as_str())
    );

    let parent = LocationName::new("p", "us-central1").unwrap();
    let all = listed_ids(&client, TargetKind::CustomJob, &parent, "")
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(calls_of(&fake, "ListCustomJobs").len(), 3);
}
