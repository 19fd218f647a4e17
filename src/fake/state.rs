//! The fake's resources: a sharded map from name to resource, and the cancel state machine.
//!
//! A cancel records when it takes effect instead of spawning a timer; every read computes the
//! state at that moment. So the transition happens whether or not any client is still
//! connected, 100,000 resources cost no tasks, and no lock is held across an `.await`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use dashmap::DashMap;

use super::error::FakeError;
use super::faults::ArmedFault;
use super::filter::Subject;
use super::names::{ResourceKind, parse_name};
use super::order::{Order, Position};
use super::scenario::{CancelOutcome, ResourceSpec};
use crate::State;
use crate::wire::google::cloud::aiplatform::v1::{JobState, PipelineState};
use crate::wire::google::rpc::Status as RpcStatus;

/// The resources of a fake, shareable between fakes (e.g. to restart one on the same port with
/// the same state). Cheap to clone: clones share the map.
#[derive(Debug, Clone, Default)]
pub struct FakeState {
    resources: Arc<DashMap<String, Resource>>,
    /// Locations ListLocations reports besides those of the resources (scenario `locations`).
    locations: Arc<RwLock<BTreeSet<String>>>,
    /// Numbers the operations BatchCancelPipelineJobs creates.
    next_operation: Arc<AtomicU64>,
}

/// One stored resource.
#[derive(Debug)]
struct Resource {
    kind: ResourceKind,
    /// What List lists it under.
    parent: String,
    display_name: String,
    labels: HashMap<String, String>,
    state: State,
    error: Option<RpcStatus>,
    cancel_outcome: CancelOutcome,
    cancel_delay: Option<Duration>,
    pending: Option<PendingCancel>,
    faults: Arc<[ArmedFault]>,
    created: SystemTime,
    updated: SystemTime,
    ended: Option<SystemTime>,
    /// For an operation BatchCancelPipelineJobs created: the pipeline jobs it cancelled.
    batch: Option<Arc<[String]>>,
}

/// A cancel that has landed and takes effect at `at`.
#[derive(Debug, Clone, Copy)]
struct PendingCancel {
    at: Instant,
    at_wall: SystemTime,
    outcome: CancelOutcome,
}

/// A resource as a read sees it at one moment.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) name: String,
    pub(crate) kind: ResourceKind,
    pub(crate) display_name: String,
    pub(crate) labels: HashMap<String, String>,
    pub(crate) state: State,
    pub(crate) error: Option<RpcStatus>,
    pub(crate) created: SystemTime,
    pub(crate) started: Option<SystemTime>,
    pub(crate) updated: SystemTime,
    pub(crate) ended: Option<SystemTime>,
    /// For a BatchCancelPipelineJobs operation: the pipeline jobs it cancelled, as they are now.
    pub(crate) batch: Option<Vec<View>>,
}

/// Why a cancel was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelRefused {
    NotFound,
    Finished(State),
}

/// One page of a List.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) items: Vec<View>,
    pub(crate) more: bool,
    /// Where the page's last item sits in the List's order.
    pub(crate) last: Option<Position>,
}

/// Which part of a List's order a page covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListOrder<'a> {
    pub(crate) order: &'a Order,
    /// The last item of the previous page.
    pub(crate) after: Option<&'a Position>,
    pub(crate) limit: usize,
}

impl FakeState {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with room for `resources` without growing: seeding a project's history
    /// (100,000 jobs) then costs no rehashing.
    pub(crate) fn with_capacity(resources: usize) -> Self {
        Self {
            resources: Arc::new(DashMap::with_capacity(resources)),
            ..Self::default()
        }
    }

    /// Adds a resource, replacing any of the same name.
    ///
    /// # Errors
    /// [`FakeError::InvalidResource`] for a malformed name or a state its kind does not have;
    /// [`FakeError::InvalidFault`] for a bad fault rule.
    pub fn insert(&self, spec: ResourceSpec) -> Result<(), FakeError> {
        let (name, resource) = Resource::from_spec(spec, SystemTime::now())?;
        self.resources.insert(name, resource);
        Ok(())
    }

    /// Forces a resource into `state` (dropping any pending cancel), as if the work moved on.
    ///
    /// # Errors
    /// [`FakeError::UnknownResource`] if there is no such resource,
    /// [`FakeError::InvalidResource`] if its kind has no such state.
    pub fn set_state(&self, name: &str, state: State) -> Result<(), FakeError> {
        let mut entry = self
            .resources
            .get_mut(name)
            .ok_or_else(|| FakeError::UnknownResource { name: name.into() })?;
        let resource = entry.value_mut();
        check_state(resource.kind, state, name)?;
        let now = SystemTime::now();
        resource.state = state;
        resource.error = default_error(state);
        resource.pending = None;
        resource.updated = now;
        resource.ended = state.is_terminal().then_some(now);
        Ok(())
    }

    /// The state a Get would report now, or `None` if there is no such resource.
    pub fn state_of(&self, name: &str) -> Option<State> {
        let now = Instant::now();
        self.resources.get(name).map(|r| r.state_at(now))
    }

    /// Removes a resource; `false` if there was none.
    pub fn remove(&self, name: &str) -> bool {
        self.resources.remove(name).is_some()
    }

    /// How many resources the fake holds.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the fake holds no resources.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Starts cancelling `name`: a live resource becomes CANCELLING and reaches its cancel
    /// outcome `default_delay` (or its own delay) later; CANCELLING stays as it is.
    pub(crate) fn cancel(
        &self,
        name: &str,
        default_delay: Duration,
        now: Instant,
    ) -> Result<(), CancelRefused> {
        let mut entry = self
            .resources
            .get_mut(name)
            .ok_or(CancelRefused::NotFound)?;
        let resource = entry.value_mut();
        match resource.state_at(now) {
            State::Cancelling => Ok(()),
            state if state.is_terminal() => Err(CancelRefused::Finished(state)),
            _ => {
                resource.start_cancel(resource.cancel_delay.unwrap_or(default_delay), now);
                Ok(())
            }
        }
    }

    /// The resource as a Get sees it at `now`.
    pub(crate) fn view(&self, name: &str, now: Instant) -> Option<View> {
        let (mut view, batch) = {
            let r = self.resources.get(name)?;
            (r.view(r.key(), now), r.batch.clone())
        };
        // Read the batch's jobs only once the operation's entry is released: never two map
        // guards at once.
        view.batch = batch.map(|jobs| jobs.iter().filter_map(|job| self.view(job, now)).collect());
        Some(view)
    }

    /// Adds a location ListLocations reports for every project.
    pub(crate) fn add_location(&self, location: &str) {
        self.locations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(location.to_owned());
    }

    /// The locations `project` has resources in, plus the added ones, sorted.
    pub(crate) fn locations_of(&self, project: &str) -> Vec<String> {
        let prefix = format!("projects/{project}/locations/");
        let mut all = self
            .locations
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for r in self.resources.iter() {
            if let Some(rest) = r.key().strip_prefix(&prefix) {
                all.insert(rest.split('/').next().unwrap_or_default().to_owned());
            }
        }
        all.into_iter().collect()
    }

    /// BatchCancelPipelineJobs on `jobs` (well-formed pipeline job names under `parent`): if any
    /// is unknown, nothing changes and the operation fails NOT_FOUND; else jobs already finished
    /// are skipped, the others start cancelling, and the operation is done once all of those
    /// have reached their outcome (never, if one is STUCK). Returns the operation's name.
    pub(crate) fn batch_cancel(
        &self,
        parent: &str,
        jobs: &[String],
        default_delay: Duration,
        now: Instant,
    ) -> String {
        let missing = jobs.iter().find(|job| !self.resources.contains_key(*job));
        let mut cancelled = Vec::new();
        let mut done_at = Some(now);
        if missing.is_none() {
            for job in jobs {
                if self.cancel(job, default_delay, now).is_ok() {
                    cancelled.push(job.clone());
                    done_at = done_at.zip(self.settles_at(job)).map(|(a, b)| a.max(b));
                }
            }
        }
        let name = self.new_operation_name(parent);
        let wall = SystemTime::now();
        let mut operation = Resource::blank(ResourceKind::Operation, parent, wall);
        match missing {
            Some(job) => {
                operation.state = State::Failed;
                operation.error = Some(rpc_status(5, format!("PipelineJob {job} not found.")));
                operation.ended = Some(wall);
            }
            None => {
                operation.batch = Some(cancelled.into());
                operation.pending = done_at.map(|at| PendingCancel {
                    at,
                    at_wall: wall + at.saturating_duration_since(now),
                    outcome: CancelOutcome::Succeeded,
                });
            }
        }
        self.resources.insert(name.clone(), operation);
        name
    }

    /// When the pending cancel of `name` takes effect; `None` if it never does (STUCK).
    fn settles_at(&self, name: &str) -> Option<Instant> {
        self.resources
            .get(name)
            .and_then(|r| r.pending.map(|p| p.at))
    }

    fn new_operation_name(&self, parent: &str) -> String {
        loop {
            let n = self.next_operation.fetch_add(1, Ordering::Relaxed);
            let name = format!("{parent}/operations/{}", 8_000_000_000_u64 + n);
            if !self.resources.contains_key(&name) {
                return name;
            }
        }
    }

    /// The per-resource fault rules of `name`, if it exists and has any.
    pub(crate) fn faults_of(&self, name: &str) -> Option<Arc<[ArmedFault]>> {
        let resource = self.resources.get(name)?;
        (!resource.faults.is_empty()).then(|| Arc::clone(&resource.faults))
    }

    /// Lists the resources of `kind` directly under `parent` which `keep` accepts and which
    /// come after `after` in `order`, in that order, at most `limit` of them; also returns the
    /// last one's position. With `ids` (a filter selecting only those), only the resources
    /// with those ids are looked at, not every one the store holds.
    pub(crate) fn list(
        &self,
        kind: ResourceKind,
        parent: &str,
        query: ListOrder<'_>,
        ids: Option<Vec<&str>>,
        keep: impl Fn(&Subject<'_>) -> bool,
        now: Instant,
    ) -> Page {
        let ListOrder {
            order,
            after,
            limit,
        } = query;
        let position = |name: &str, r: &Resource| {
            let subject = r.subject(name, now);
            let kept = r.kind == kind && r.parent == parent && keep(&subject);
            kept.then(|| order.position(&subject, name))
                .filter(|p| after.is_none_or(|a| order.cmp(p, a).is_gt()))
        };
        let mut found: Vec<Position> = match ids {
            Some(ids) => {
                let names: HashSet<String> = (ids.iter())
                    .map(|id| format!("{parent}/{}/{id}", kind.collection()))
                    .collect();
                (names.iter())
                    .filter_map(|name| position(name, self.resources.get(name)?.value()))
                    .collect()
            }
            None => (self.resources.iter())
                .filter_map(|r| position(r.key(), r.value()))
                .collect(),
        };
        found.sort_unstable_by(|a, b| order.cmp(a, b));
        let more = found.len() > limit;
        found.truncate(limit);
        // A resource deleted between the scan and here simply drops out of the page.
        let items = found
            .iter()
            .filter_map(|p| self.view(&p.name, now))
            .collect();
        Page {
            items,
            more,
            last: found.pop(),
        }
    }
}

impl Resource {
    fn from_spec(spec: ResourceSpec, now: SystemTime) -> Result<(String, Self), FakeError> {
        let invalid = |reason: String| FakeError::InvalidResource {
            name: spec.name.clone(),
            reason,
        };
        let age = Duration::from_millis(spec.age_ms.unwrap_or_default());
        let then = now.checked_sub(age).ok_or_else(|| {
            invalid(format!(
                "an age of {age:?} reaches before the system clock's start"
            ))
        })?;
        let parsed = parse_name(&spec.name).map_err(invalid)?;
        check_state(parsed.kind, spec.state, &spec.name)?;
        let faults = spec
            .faults
            .into_iter()
            .map(ArmedFault::arm)
            .collect::<Result<Vec<_>, _>>()?;
        let error = spec.error.map_or_else(
            || default_error(spec.state),
            |e| Some(rpc_status(e.code, e.message)),
        );
        let resource = Self {
            kind: parsed.kind,
            parent: parsed.parent.to_owned(),
            display_name: spec.display_name,
            labels: spec.labels.into_iter().collect(),
            state: spec.state,
            error,
            cancel_outcome: spec.cancel_outcome,
            cancel_delay: spec.cancel_delay_ms.map(Duration::from_millis),
            pending: None,
            faults: faults.into(),
            created: then,
            updated: then,
            ended: spec.state.is_terminal().then_some(then),
            batch: None,
        };
        Ok((spec.name, resource))
    }

    /// A live resource with nothing set, created at `now`.
    fn blank(kind: ResourceKind, parent: &str, now: SystemTime) -> Self {
        Self {
            kind,
            parent: parent.to_owned(),
            display_name: String::new(),
            labels: HashMap::new(),
            state: State::Running,
            error: None,
            cancel_outcome: CancelOutcome::default(),
            cancel_delay: None,
            pending: None,
            faults: Arc::default(),
            created: now,
            updated: now,
            ended: None,
            batch: None,
        }
    }

    /// The pending cancel, if it has taken effect by `now`.
    fn settled(&self, now: Instant) -> Option<PendingCancel> {
        self.pending.filter(|p| now >= p.at)
    }

    fn state_at(&self, now: Instant) -> State {
        self.settled(now)
            .map_or(self.state, |p| outcome_state(p.outcome))
    }

    fn start_cancel(&mut self, delay: Duration, now: Instant) {
        let wall = SystemTime::now();
        self.state = State::Cancelling;
        self.updated = wall;
        self.pending = match self.cancel_outcome {
            CancelOutcome::Stuck => None,
            outcome => Some(PendingCancel {
                at: now + delay,
                at_wall: wall + delay,
                outcome,
            }),
        };
    }

    /// What a filter reads of the resource at `now`.
    fn subject<'a>(&'a self, name: &'a str, now: Instant) -> Subject<'a> {
        let (state, updated, ended) = match self.settled(now) {
            Some(p) => (outcome_state(p.outcome), p.at_wall, Some(p.at_wall)),
            None => (self.state, self.updated, self.ended),
        };
        // Work that has left the queue started when it was created; the fake has no queue time.
        let started = (!matches!(
            self.state,
            State::Unspecified | State::Queued | State::Pending
        ))
        .then_some(self.created);
        Subject {
            id: name.rsplit('/').next().unwrap_or(name),
            state,
            display_name: &self.display_name,
            labels: &self.labels,
            create_time: self.created,
            update_time: updated,
            start_time: started,
            end_time: ended,
        }
    }

    fn view(&self, name: &str, now: Instant) -> View {
        let Subject {
            state,
            update_time: updated,
            start_time: started,
            end_time: ended,
            ..
        } = self.subject(name, now);
        let error = match self.settled(now) {
            Some(_) => default_error(state),
            None => self.error.clone(),
        };
        View {
            name: name.to_owned(),
            kind: self.kind,
            display_name: self.display_name.clone(),
            labels: self.labels.clone(),
            state,
            error,
            created: self.created,
            started,
            updated,
            ended,
            batch: None,
        }
    }
}

fn outcome_state(outcome: CancelOutcome) -> State {
    match outcome {
        CancelOutcome::Cancelled => State::Cancelled,
        CancelOutcome::Succeeded => State::Succeeded,
        CancelOutcome::Failed => State::Failed,
        CancelOutcome::Stuck => State::Cancelling,
    }
}

/// The `error` Google sets on work that ended this way: 13 for FAILED, 1 for CANCELLED.
fn default_error(state: State) -> Option<RpcStatus> {
    match state {
        State::Failed => Some(rpc_status(13, "The work failed.")),
        State::Cancelled => Some(rpc_status(
            crate::outcome::CANCELLED_CODE,
            "The work was cancelled.",
        )),
        _ => None,
    }
}

fn rpc_status(code: i32, message: impl Into<String>) -> RpcStatus {
    RpcStatus {
        code,
        message: message.into(),
        details: Vec::new(),
    }
}

fn check_state(kind: ResourceKind, state: State, name: &str) -> Result<(), FakeError> {
    match enum_value(kind, state) {
        Some(_) => Ok(()),
        None => Err(FakeError::InvalidResource {
            name: name.into(),
            reason: format!("a {} has no state {state}", kind.message_name()),
        }),
    }
}

/// Which state enum a kind reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateEnum {
    /// `PipelineState`: pipeline jobs and training pipelines.
    Pipeline,
    /// `JobState`: every other job.
    Job,
    /// An operation's `done` + `error`.
    Operation,
}

impl StateEnum {
    /// The enum `kind` reports its state in.
    pub(crate) fn of(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::PipelineJob | ResourceKind::TrainingPipeline => Self::Pipeline,
            ResourceKind::Operation => Self::Operation,
            _ => Self::Job,
        }
    }

    /// The prefix of the enum's value names (`PIPELINE_STATE_`).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Self::Pipeline => "PIPELINE_STATE_",
            Self::Job => "JOB_STATE_",
            Self::Operation => "",
        }
    }
}

/// The proto enum number of `state` for `kind` (`PipelineState` / `JobState`); 0 for an
/// operation state; `None` if the kind has no such state.
pub(crate) fn enum_value(kind: ResourceKind, state: State) -> Option<i32> {
    let family = StateEnum::of(kind);
    let name = format!("{}{state}", family.prefix());
    match family {
        StateEnum::Pipeline => PipelineState::from_str_name(&name).map(|s| s as i32),
        StateEnum::Job => JobState::from_str_name(&name).map(|s| s as i32),
        StateEnum::Operation => matches!(
            state,
            State::Running
                | State::Cancelling
                | State::Succeeded
                | State::Failed
                | State::Cancelled
        )
        .then_some(0),
    }
}

/// The state a full enum name (`PIPELINE_STATE_RUNNING`, `JOB_STATE_FAILED`) stands for, for
/// `kind`; `None` if it is not one of that kind's names (operations have none).
pub(crate) fn state_from_enum_name(kind: ResourceKind, name: &str) -> Option<State> {
    match StateEnum::of(kind) {
        StateEnum::Pipeline => PipelineState::from_str_name(name).map(State::from),
        StateEnum::Job => JobState::from_str_name(name).map(State::from),
        StateEnum::Operation => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "projects/p/locations/l/pipelineJobs/a";

    fn store_with(spec: ResourceSpec) -> FakeState {
        let store = FakeState::new();
        store.insert(spec).unwrap();
        store
    }

    #[test]
    fn cancel_moves_through_cancelling_to_the_outcome() {
        let store = store_with(ResourceSpec::new(JOB, State::Running));
        let t0 = Instant::now();
        let delay = Duration::from_secs(10);
        store.cancel(JOB, delay, t0).unwrap();
        assert_eq!(store.view(JOB, t0).unwrap().state, State::Cancelling);
        // Cancelling again changes nothing (the deadline does not move).
        store.cancel(JOB, delay, t0 + delay / 2).unwrap();
        let done = store.view(JOB, t0 + delay).unwrap();
        assert_eq!(done.state, State::Cancelled);
        assert_eq!(done.error.unwrap().code, 1);
        assert!(done.ended.is_some());
        assert_eq!(
            store.cancel(JOB, delay, t0 + delay),
            Err(CancelRefused::Finished(State::Cancelled))
        );
    }

    #[test]
    fn outcomes() {
        let t0 = Instant::now();
        for (outcome, state) in [
            (CancelOutcome::Succeeded, State::Succeeded),
            (CancelOutcome::Failed, State::Failed),
            (CancelOutcome::Stuck, State::Cancelling),
        ] {
            let store =
                store_with(ResourceSpec::new(JOB, State::Running).with_cancel_outcome(outcome));
            store.cancel(JOB, Duration::ZERO, t0).unwrap();
            assert_eq!(
                store.view(JOB, t0 + Duration::from_secs(1)).unwrap().state,
                state
            );
        }
    }

    #[test]
    fn unknown_and_seeded_terminal() {
        let store = store_with(ResourceSpec::new(JOB, State::Failed));
        assert_eq!(
            store.cancel(
                "projects/p/locations/l/pipelineJobs/b",
                Duration::ZERO,
                Instant::now()
            ),
            Err(CancelRefused::NotFound)
        );
        let view = store.view(JOB, Instant::now()).unwrap();
        assert_eq!(view.error.unwrap().code, 13);
    }

    #[test]
    fn seeding_checks_kind_and_state() {
        let store = FakeState::new();
        assert!(
            store
                .insert(ResourceSpec::new("nope", State::Running))
                .is_err()
        );
        assert!(
            store
                .insert(ResourceSpec::new(JOB, State::Expired))
                .is_err()
        );
        assert!(
            store
                .insert(ResourceSpec::new(
                    "projects/p/locations/l/nasJobs/1",
                    State::Expired
                ))
                .is_ok()
        );
        assert!(
            store
                .insert(ResourceSpec::new(
                    "projects/p/locations/l/operations/1",
                    State::Paused
                ))
                .is_err()
        );
    }

    #[test]
    fn a_list_by_ids_finds_what_a_scan_finds() {
        let store = FakeState::new();
        for name in [
            "projects/p/locations/l/pipelineJobs/a",
            "projects/p/locations/l/pipelineJobs/b",
            "projects/p/locations/l/pipelineJobs/c",
            "projects/p/locations/m/pipelineJobs/a",
        ] {
            store
                .insert(ResourceSpec::new(name, State::Running))
                .unwrap();
        }
        let filter = crate::fake::filter::Filter::parse(
            ResourceKind::PipelineJob,
            r#"pipeline_job_user_id="c" OR pipeline_job_user_id="zz" OR pipeline_job_user_id="a" OR pipeline_job_user_id="a""#,
        )
        .unwrap();
        let order = Order::parse(ResourceKind::PipelineJob, "").unwrap();
        let page = |ids: Option<Vec<&str>>, after: Option<&Position>| {
            let query = ListOrder {
                order: &order,
                after,
                limit: 1,
            };
            let keep = |s: &Subject<'_>| filter.matches(s);
            let parent = "projects/p/locations/l";
            store.list(
                ResourceKind::PipelineJob,
                parent,
                query,
                ids,
                keep,
                Instant::now(),
            )
        };
        let names = |page: &Page| {
            page.items
                .iter()
                .map(|v| v.name.clone())
                .collect::<Vec<_>>()
        };
        let ids = filter.only_ids();
        assert!(ids.is_some());
        let (first, first_scanned) = (page(ids.clone(), None), page(None, None));
        assert_eq!(names(&first), names(&first_scanned));
        assert!(first.more);
        let next = page(ids, first.last.as_ref());
        assert_eq!(
            names(&next),
            names(&page(None, first_scanned.last.as_ref()))
        );
        assert_eq!(next.items.len(), 1);
        assert!(!next.more);
        let both: HashSet<String> = names(&first).into_iter().chain(names(&next)).collect();
        let expected = ["a", "c"].map(|id| format!("projects/p/locations/l/pipelineJobs/{id}"));
        assert_eq!(both, HashSet::from(expected));
    }

    #[test]
    fn an_aged_job_is_outside_an_update_time_window_until_cancelled() {
        let day = Duration::from_secs(86_400);
        let store = FakeState::new();
        store
            .insert(ResourceSpec::new(JOB, State::Running).with_age(day))
            .unwrap();
        let history = "projects/p/locations/l/pipelineJobs/old";
        store
            .insert(ResourceSpec::new(history, State::Failed).with_age(day))
            .unwrap();
        let t0 = Instant::now();
        let old = store.view(history, t0).unwrap();
        let age = SystemTime::now().duration_since(old.updated).unwrap();
        assert!(age >= day && age < day * 2, "{age:?}");
        assert_eq!((old.created, old.ended), (old.updated, Some(old.updated)));

        let window = SystemTime::now() - Duration::from_secs(60);
        let listed = |store: &FakeState| {
            let order = Order::default();
            let query = ListOrder {
                order: &order,
                after: None,
                limit: 10,
            };
            let page = store.list(
                ResourceKind::PipelineJob,
                "projects/p/locations/l",
                query,
                None,
                |s| s.update_time >= window,
                Instant::now(),
            );
            page.items.into_iter().map(|v| v.name).collect::<Vec<_>>()
        };
        assert!(listed(&store).is_empty(), "history is outside the window");
        store.cancel(JOB, Duration::ZERO, t0).unwrap();
        assert_eq!(
            listed(&store),
            [JOB],
            "a cancel moves update_time, not create_time"
        );
        let cancelled = store.view(JOB, Instant::now()).unwrap();
        assert!(cancelled.created < window);
    }

    #[test]
    fn set_state_drops_a_pending_cancel() {
        let store = store_with(ResourceSpec::new(JOB, State::Running));
        let t0 = Instant::now();
        store.cancel(JOB, Duration::ZERO, t0).unwrap();
        store.set_state(JOB, State::Running).unwrap();
        assert_eq!(store.state_of(JOB), Some(State::Running));
        assert!(
            store
                .set_state("projects/p/locations/l/pipelineJobs/x", State::Running)
                .is_err()
        );
    }

    #[test]
    fn enum_names() {
        assert_eq!(
            enum_value(ResourceKind::PipelineJob, State::Cancelled),
            Some(PipelineState::Cancelled as i32)
        );
        assert_eq!(
            state_from_enum_name(ResourceKind::NasJob, "JOB_STATE_PARTIALLY_SUCCEEDED"),
            Some(State::PartiallySucceeded)
        );
        assert_eq!(
            state_from_enum_name(ResourceKind::PipelineJob, "JOB_STATE_RUNNING"),
            None
        );
    }
}
