//! The sweep: find the live jobs a filter matches across kinds and locations of a project, as
//! a stream that feeds [`Client::cancel_many`].
//!
//! Every (location, kind) pair is one List through the client's one List path (`list_from`:
//! the client's rate limit, retry policy and page guard), and up to
//! [`JobSearch::concurrency`] pairs are listed at once. The filter is split per kind (see
//! `sweep_filter`): the terms a kind's List documents go to the server with the sweep's
//! "not terminal" condition (`state!="..."` for each terminal state of the kind's enum, where
//! the List documents `state`); the rest, and the terminal check itself, run on each listed
//! job. A pair whose List fails is reported as a [`ListFailure`] and the others go on.
//!
//! Each job is found once: a location named twice is listed once, and a job a List repeats on
//! a later page (pages shift while jobs are created) is skipped; for that each List remembers
//! the names of the live jobs it found.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use futures::{Stream, StreamExt, stream};

use crate::error::{Error, Result};
use crate::escape::printable;
use crate::filter_syntax::Expr;
use crate::name::{LocationName, Service, Target, TargetKind, check_location};
use crate::outcome::{State, TargetStatus};
use crate::wire::google::cloud::aiplatform::v1 as aip;

use super::handle::Client;
use super::kinds::{Kind, Page, with_kind};
use super::sweep_filter::{
    self, Documented, EQ_NE, EQ_NE_HAS, KindFilter, LABEL_OPS, ORDERED, Subject,
};

/// Pairs listed at once by default.
pub const DEFAULT_SWEEP_CONCURRENCY: usize = 8;

/// What to look for: a project, its locations, job kinds and a filter. See
/// [`Client::find_live_jobs`].
#[derive(Debug, Clone)]
#[must_use]
pub struct JobSearch {
    project: String,
    locations: Option<Vec<String>>,
    kinds: Vec<TargetKind>,
    filter: String,
    concurrency: usize,
    include_finished: bool,
}

impl JobSearch {
    /// Every job kind ([`TargetKind::JOBS`]) in every location of `project`, no filter.
    pub fn new(project: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            locations: None,
            kinds: TargetKind::JOBS.to_vec(),
            filter: String::new(),
            concurrency: DEFAULT_SWEEP_CONCURRENCY,
            include_finished: false,
        }
    }

    /// Only these locations (default: every location ListLocations names for the project).
    pub fn locations<I, S>(mut self, locations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.locations = Some(locations.into_iter().map(Into::into).collect());
        self
    }

    /// Every location ListLocations names for the project (the default).
    pub fn all_locations(mut self) -> Self {
        self.locations = None;
        self
    }

    /// Only these job kinds (default: [`TargetKind::JOBS`]).
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = TargetKind>) -> Self {
        self.kinds = kinds.into_iter().collect();
        self
    }

    /// An AIP-160 filter (`labels.team="search" AND display_name:"nightly-*"`); empty matches
    /// every job. Which parts run where is in the module docs of `sweep_filter`, summarised
    /// at [`Client::find_live_jobs`].
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }

    /// At most this many (location, kind) Lists at once (default
    /// [`DEFAULT_SWEEP_CONCURRENCY`]).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Also report jobs already finished (for looking, not cancelling; default off).
    pub fn include_finished(mut self, include: bool) -> Self {
        self.include_finished = include;
        self
    }

    /// The project searched.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Whether the search selects every job of the project: no filter, every job kind, every
    /// location. A caller about to cancel what it finds should make sure this is meant.
    pub fn selects_everything(&self) -> bool {
        self.filter.trim().is_empty()
            && self.locations.is_none()
            && TargetKind::JOBS.iter().all(|k| self.kinds.contains(k))
    }
}

/// A job the search found.
#[derive(Debug, Clone)]
pub struct LiveJob {
    /// Its name, as the List returned it.
    pub target: Target,
    /// What the List said about it (state, error, the message itself).
    pub status: TargetStatus,
}

/// A List that failed: the location (`global` for ListLocations) and kind (none for
/// ListLocations) it was for, and why.
#[derive(Debug)]
pub struct ListFailure {
    /// The location listed.
    pub location: String,
    /// The kind listed; `None` when listing the locations failed.
    pub kind: Option<TargetKind>,
    /// Why.
    pub error: Error,
}

/// One item of [`Client::find_live_jobs`].
#[derive(Debug)]
pub enum Finding {
    /// A job matching the filter (not terminal, unless the search includes finished jobs).
    Job(Box<LiveJob>),
    /// A List that failed; the other (location, kind) pairs go on.
    ListFailed(ListFailure),
}

/// The failures set aside by [`live_targets`], shared with the caller.
#[derive(Debug, Clone, Default)]
pub struct ListFailures(Arc<Mutex<Vec<ListFailure>>>);

impl ListFailures {
    /// Takes the failures recorded so far.
    pub fn take(&self) -> Vec<ListFailure> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, failure: ListFailure) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(failure);
    }
}

/// The targets of `findings`, for [`Client::cancel_many`]; each failed List goes to `failures`
/// instead, so none is dropped unseen. At most one failure per (location, kind) pair is
/// recorded, so `failures` stays small whatever the servers answer.
///
/// ```no_run
/// # use vertex_cancel::client::{JobSearch, ListFailures, live_targets};
/// # use vertex_cancel::{CancelMany, Client};
/// # use futures::StreamExt;
/// # async fn sweep(client: Client) -> vertex_cancel::Result<()> {
/// let search = JobSearch::new("my-project").filter(r#"labels.team="search""#);
/// let failures = ListFailures::default();
/// let targets = live_targets(client.find_live_jobs(&search)?, failures.clone());
/// let mut reports = std::pin::pin!(client.cancel_many(targets, CancelMany::default()));
/// while let Some((target, outcome)) = reports.next().await {
///     println!("{target}: {outcome:?}");
/// }
/// for failure in failures.take() {
///     eprintln!("{} {:?}: {}", failure.location, failure.kind, failure.error);
/// }
/// # Ok(())
/// # }
/// ```
pub fn live_targets(
    findings: impl Stream<Item = Finding> + Send + 'static,
    failures: ListFailures,
) -> impl Stream<Item = Target> + Send + 'static {
    findings.filter_map(move |finding| {
        let target = match finding {
            Finding::Job(job) => Some(job.target),
            Finding::ListFailed(failure) => {
                failures.push(failure);
                None
            }
        };
        std::future::ready(target)
    })
}

/// A job kind as the sweep sees it: its List, what that List's `filter` comment documents, and
/// the fields the local part of a filter reads. Implemented on each kind's resource message.
pub(crate) trait SweptJob: Into<TargetStatus> + Send + 'static {
    /// The kind's List request.
    type List: Page<Item = Self>;
    /// Its kind.
    const KIND: TargetKind;
    /// The fields (and operators) the List's `filter` comment documents.
    const FILTER_FIELDS: &'static [Documented];
    /// `state!="..."` for each terminal state of the kind's enum.
    fn not_terminal() -> Vec<String>;
    /// What the local part of a filter reads.
    fn subject(&self) -> Subject<'_>;
}

/// Implements [`SweptJob`] for a resource message.
macro_rules! swept_job {
    ($job:ty, $list:ty, $kind:ident, $states:ty, $display:ident, $fields:expr) => {
        impl SweptJob for $job {
            type List = $list;
            const KIND: TargetKind = TargetKind::$kind;
            const FILTER_FIELDS: &'static [Documented] = $fields;
            fn not_terminal() -> Vec<String> {
                (0..=i32::from(u8::MAX))
                    .filter_map(|i| <$states>::try_from(i).ok())
                    .filter(|s| State::from(*s).is_terminal())
                    .map(|s| format!("state!=\"{}\"", s.as_str_name()))
                    .collect()
            }
            fn subject(&self) -> Subject<'_> {
                Subject {
                    display_name: &self.$display,
                    state: self.state().into(),
                    labels: &self.labels,
                    create_time: self.create_time.as_ref(),
                    update_time: self.update_time.as_ref(),
                }
            }
        }
    };
}

/// What the JobService Lists (and ListTrainingPipelines) document.
const JOB_SERVICE_FIELDS: &[Documented] = &[
    ("display_name", EQ_NE_HAS),
    ("state", EQ_NE),
    ("create_time", ORDERED),
    ("labels", LABEL_OPS),
];

/// What ListPipelineJobs documents.
const PIPELINE_JOB_FIELDS: &[Documented] = &[
    ("pipeline_name", EQ_NE),
    ("display_name", EQ_NE_HAS),
    ("pipeline_job_user_id", EQ_NE_HAS),
    ("state", EQ_NE),
    ("create_time", ORDERED),
    ("update_time", ORDERED),
    ("end_time", ORDERED),
    ("labels", LABEL_OPS),
    ("template_uri", EQ_NE_HAS),
    ("template_metadata.version", EQ_NE_HAS),
];

swept_job!(
    aip::PipelineJob,
    aip::ListPipelineJobsRequest,
    PipelineJob,
    aip::PipelineState,
    display_name,
    PIPELINE_JOB_FIELDS
);
swept_job!(
    aip::NasJob,
    aip::ListNasJobsRequest,
    NasJob,
    aip::JobState,
    display_name,
    JOB_SERVICE_FIELDS
);

/// What ListBatchPredictionJobs documents: the JobService fields and the model's display name.
const BATCH_PREDICTION_JOB_FIELDS: &[Documented] = &[
    ("display_name", EQ_NE_HAS),
    ("model_display_name", EQ_NE),
    ("state", EQ_NE),
    ("create_time", ORDERED),
    ("labels", LABEL_OPS),
];

/// What ListTrainingPipelines documents: the JobService fields and the task definition.
const TRAINING_PIPELINE_FIELDS: &[Documented] = &[
    ("display_name", EQ_NE_HAS),
    ("state", EQ_NE),
    ("training_task_definition", EQ_NE_HAS),
    ("create_time", ORDERED),
    ("labels", LABEL_OPS),
];

swept_job!(
    aip::CustomJob,
    aip::ListCustomJobsRequest,
    CustomJob,
    aip::JobState,
    display_name,
    JOB_SERVICE_FIELDS
);
swept_job!(
    aip::HyperparameterTuningJob,
    aip::ListHyperparameterTuningJobsRequest,
    HyperparameterTuningJob,
    aip::JobState,
    display_name,
    JOB_SERVICE_FIELDS
);
swept_job!(
    aip::BatchPredictionJob,
    aip::ListBatchPredictionJobsRequest,
    BatchPredictionJob,
    aip::JobState,
    display_name,
    BATCH_PREDICTION_JOB_FIELDS
);
swept_job!(
    aip::DataLabelingJob,
    aip::ListDataLabelingJobsRequest,
    DataLabelingJob,
    aip::JobState,
    display_name,
    JOB_SERVICE_FIELDS
);
swept_job!(
    aip::TrainingPipeline,
    aip::ListTrainingPipelinesRequest,
    TrainingPipeline,
    aip::PipelineState,
    display_name,
    TRAINING_PIPELINE_FIELDS
);
// ListTuningJobs documents no filter field: the whole filter runs here, on each listed job; a
// tuning job's display name is its tuned model's.
swept_job!(
    aip::TuningJob,
    aip::ListTuningJobsRequest,
    TuningJob,
    aip::JobState,
    tuned_model_display_name,
    &[]
);

/// Runs `$body` with `$j` the [`SweptJob`] of a job kind (the resource its [`Kind`] glue gets),
/// or evaluates `$other` for a kind that is not a job.
macro_rules! with_job {
    ($kind:expr, $j:ident => $body:expr, $other:expr) => {
        with_kind!($kind, K => {
            type $j = <K as Kind>::Resource;
            $body
        }, operation => $other)
    };
}

/// The filter fields (and operators) `kind`'s List documents by name, as the sweep reads them;
/// `None` for a kind that is not a job.
#[cfg(feature = "fake")]
pub(crate) fn documented_fields(kind: TargetKind) -> Option<&'static [Documented]> {
    with_job!(kind, J => Some(J::FILTER_FIELDS), None)
}

/// One kind's List plan.
#[derive(Debug, Clone)]
struct KindPlan {
    kind: TargetKind,
    filter: Arc<KindFilter>,
    /// Leave terminal jobs out (checked on every listed job, whatever the server filtered).
    skip_finished: bool,
}

impl JobSearch {
    /// Checks everything before any call: the project, each location, each kind, the filter
    /// for each kind.
    fn plans(&self) -> Result<Vec<KindPlan>> {
        LocationName::new(&self.project, "global")?;
        for location in self.locations.iter().flatten() {
            check_location(location)?;
        }
        if self.kinds.is_empty() {
            return Err(Error::InvalidConfig {
                reason: "a job search needs at least one kind".into(),
            });
        }
        let expr = sweep_filter::parse(&self.filter)?;
        let mut plans: Vec<KindPlan> = Vec::new();
        for &kind in &self.kinds {
            if plans.iter().any(|p| p.kind == kind) {
                continue;
            }
            let filter = with_job!(kind, J => self.kind_filter::<J>(expr.as_ref())?, {
                return Err(Error::InvalidConfig {
                    reason: format!("a job search finds jobs; `{kind}` is not a job kind"),
                });
            });
            plans.push(KindPlan {
                kind,
                filter: Arc::new(filter),
                skip_finished: !self.include_finished,
            });
        }
        Ok(plans)
    }

    fn kind_filter<J: SweptJob>(&self, expr: Option<&Expr>) -> Result<KindFilter> {
        let documents_state = J::FILTER_FIELDS.iter().any(|(f, _)| *f == "state");
        let extra = if documents_state && !self.include_finished {
            J::not_terminal()
        } else {
            Vec::new()
        };
        let kind = J::KIND.to_string().replace('-', " ");
        sweep_filter::split(&self.filter, expr, J::FILTER_FIELDS, &kind, extra)
    }
}

impl Client {
    /// The jobs `search` finds, as they are listed: every (location, kind) pair is one List
    /// (all pages), up to [`JobSearch::concurrency`] at once, under the client's rate limit
    /// and retry policy. Jobs in a terminal state are left out (unless
    /// [`JobSearch::include_finished`]); a failed List is a [`Finding::ListFailed`] for its
    /// pair, and the other pairs go on. [`live_targets`] turns the stream into the input of
    /// [`Client::cancel_many`].
    ///
    /// Without explicit locations, the locations come from [`Client::list_locations`].
    ///
    /// Where the filter runs: the top-level `AND` terms whose fields and operators a kind's List
    /// documents (the `filter` comment of each List request) go to the server, with
    /// `state!="..."` for each terminal state where the List documents `state`; everything
    /// else is evaluated on each listed job from its `display_name`, `labels`, `create_time`,
    /// `update_time` and `state` (a `state` term always runs here, and names a state by meaning:
    /// `RUNNING`, `JOB_STATE_RUNNING` and `PIPELINE_STATE_RUNNING` are one state). A server
    /// term built from those fields is checked again on each listed job, so a server that
    /// ignores a filter gets no unmatched job found. A term no one can evaluate for a kind is
    /// refused up front.
    ///
    /// # Errors
    /// Before any call: [`Error::InvalidFilter`] for a filter the sweep cannot read or a term a
    /// kind cannot evaluate; [`Error::InvalidName`] / [`Error::InvalidLocation`] for a bad
    /// project or location; [`Error::InvalidConfig`] for no kinds or a kind that is not a job.
    pub fn find_live_jobs(
        &self,
        search: &JobSearch,
    ) -> Result<impl Stream<Item = Finding> + Send + 'static> {
        let plans = Arc::new(search.plans()?);
        let project = search.project.clone();
        let locations = match &search.locations {
            Some(list) => stream::iter(list.clone().into_iter().map(Ok)).boxed(),
            None => self
                .list_locations(&project)?
                .map(|item| {
                    item.map_err(|error| ListFailure {
                        location: "global".into(),
                        kind: None,
                        error,
                    })
                })
                .boxed(),
        };
        // A location named twice (given so, or so answered by ListLocations) is listed once,
        // as a kind named twice is: its jobs are found once.
        let mut seen = HashSet::new();
        let locations = locations.filter(move |location| {
            let first = location.as_ref().map_or(true, |l| seen.insert(l.clone()));
            std::future::ready(first)
        });
        let client = self.clone();
        let pairs = locations.flat_map(move |location| match location {
            Ok(location) => {
                let client = client.clone();
                let project = project.clone();
                let plans = plans.clone();
                let lists = (0..plans.len())
                    .map(move |i| client.find_in(&project, &location, plans[i].clone()));
                stream::iter(lists).left_stream()
            }
            Err(failure) => {
                let failed = stream::once(std::future::ready(Finding::ListFailed(failure)));
                stream::iter([failed.boxed()]).right_stream()
            }
        });
        Ok(pairs.flatten_unordered(search.concurrency))
    }

    fn find_in(
        &self,
        project: &str,
        location: &str,
        plan: KindPlan,
    ) -> stream::BoxStream<'static, Finding> {
        let kind = plan.kind;
        // A location ListLocations named is checked here (given ones were in `plans`).
        let parent = match LocationName::new(project, location) {
            Ok(parent) => parent,
            Err(error) => return failed(location, kind, error),
        };
        with_job!(kind, J => self.find_kind::<J>(parent, plan), {
            let reason = format!("`{kind}` is not a job kind");
            failed(location, kind, Error::InvalidConfig { reason })
        })
    }

    fn find_kind<J: SweptJob>(
        &self,
        parent: LocationName,
        plan: KindPlan,
    ) -> stream::BoxStream<'static, Finding> {
        let first = J::List::first(parent.to_string(), plan.filter.server.clone());
        let location = parent.location().to_owned();
        // Pages may shift under a List (a job created meanwhile moves the next page's start),
        // repeating a job: it is found once. Only live matches are remembered.
        let mut seen = HashSet::new();
        self.list_from(Service::VertexAi, &location, first, None, None)
            .filter_map(move |item| {
                let found = item.and_then(|job| live_job(job, &plan, &parent));
                let finding = match found {
                    Ok(Some(job)) if !seen.insert(job.target.clone()) => None,
                    Ok(job) => job.map(|job| Finding::Job(Box::new(job))),
                    Err(error) => Some(Finding::ListFailed(ListFailure {
                        location: parent.location().to_owned(),
                        kind: Some(J::KIND),
                        error,
                    })),
                };
                std::future::ready(finding)
            })
            // The first failure ends the pair: nothing after a bad answer is trusted.
            .scan(false, |failed, finding| {
                let end = *failed;
                *failed |= matches!(finding, Finding::ListFailed(_));
                std::future::ready((!end).then_some(finding))
            })
            .boxed()
    }
}

fn failed(location: &str, kind: TargetKind, error: Error) -> stream::BoxStream<'static, Finding> {
    let failure = ListFailure {
        location: location.to_owned(),
        kind: Some(kind),
        error,
    };
    stream::once(std::future::ready(Finding::ListFailed(failure))).boxed()
}

/// The job if it is live (or finished jobs are wanted) and passes the local filter; an error if
/// the server named it badly.
fn live_job<J: SweptJob>(
    job: J,
    plan: &KindPlan,
    parent: &LocationName,
) -> Result<Option<LiveJob>> {
    let subject = job.subject();
    let wanted_state = !(plan.skip_finished && subject.state.is_terminal());
    let passes = plan
        .filter
        .local
        .as_ref()
        .is_none_or(|e| e.matches(&subject));
    if !(wanted_state && passes) {
        return Ok(None);
    }
    let status: TargetStatus = job.into();
    let bad = |why: &str| Error::InvalidResponse {
        reason: format!(
            "a List of {}s under {parent} returned `{}`, {why}",
            J::KIND,
            printable(status.raw.name())
        ),
    };
    let target: Target = status
        .raw
        .name()
        .parse()
        .map_err(|_| bad("which is not a valid name"))?;
    if target.kind() != J::KIND || target.location() != parent.location() {
        return Err(bad("which is not one of the jobs listed"));
    }
    Ok(Some(LiveJob { target, status }))
}
