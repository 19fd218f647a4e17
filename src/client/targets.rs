//! Cancel, Get and List for each kind: thin typed wrappers over [`Client::call`], plus the
//! generic forms over [`Target`].

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use futures::{Stream, StreamExt, TryStreamExt, stream};
use tokio::time::Instant;

use crate::error::{Error, Result, RpcError};
use crate::name::{
    BatchPredictionJobName, CustomJobName, DataLabelingJobName, HyperparameterTuningJobName,
    LocationName, NasJobName, OperationName, PipelineJobName, Service, Target,
    TrainingPipelineName, TuningJobName,
};
use crate::outcome::{Outcome, State, TargetStatus};
use crate::wire::google::cloud::aiplatform::v1 as aip;
use crate::wire::google::longrunning as lro;

use super::call::{CallSite, RegionLimiter};
use super::filter::check_filter;
use super::handle::Client;
use super::kinds::{
    BatchPredictionJobs, CustomJobs, DataLabelingJobs, HyperparameterTuningJobs, Kind, NasJobs,
    Operations, Page, PipelineJobs, TrainingPipelines, TuningJobs, with_kind,
};

/// The most pages one List follows: 10,000 pages of up to 100 items is a million resources,
/// far beyond any location's real history; a server paging further is looping.
pub const MAX_LIST_PAGES: usize = 10_000;

/// What keeps a List from following a misbehaving server forever: a page token seen before,
/// or more than [`MAX_LIST_PAGES`] pages, ends it with [`Error::InvalidResponse`].
///
/// It keeps a hash of each token, not the token: a server's tokens may be as large as its
/// messages, and 10,000 of them would be gigabytes.
#[derive(Default)]
struct PageGuard {
    pages: usize,
    tokens: HashSet<u64>,
    hasher: RandomState,
}

impl PageGuard {
    /// Counts a page answered with `token` (its next page token).
    fn admit(&mut self, token: &str) -> Result<()> {
        self.pages += 1;
        let reason = if self.pages > MAX_LIST_PAGES {
            format!("the server paged beyond {MAX_LIST_PAGES} pages")
        } else if !token.is_empty() && !self.tokens.insert(self.hasher.hash_one(token)) {
            "the server repeated a next_page_token it had already sent".to_owned()
        } else {
            return Ok(());
        };
        Err(Error::InvalidResponse { reason })
    }

    /// The bytes it holds to recognise the tokens seen.
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.tokens.len() * std::mem::size_of::<u64>()
    }
}

/// What a cancel call found.
#[derive(Debug)]
pub(crate) enum CancelAck {
    /// OK: cancellation started (or an earlier attempt of ours had started it).
    Started,
    /// FAILED_PRECONDITION: the target was already terminal; `status` read back by Get.
    AlreadyTerminal {
        rpc: RpcError,
        status: Option<TargetStatus>,
    },
}

impl CancelAck {
    /// The report of a cancel that did not start, `None` if it did: the target's outcome
    /// (`Cancelled` / `FinishedAnyway`) when a Get read its terminal state back, else
    /// [`Error::AlreadyFinished`]. The one mapping `cancel_and_wait` and `cancel_many` share.
    pub(crate) fn into_finished(self) -> Option<Result<Outcome>> {
        match self {
            CancelAck::Started => None,
            CancelAck::AlreadyTerminal {
                status: Some(status),
                ..
            } if status.state.is_terminal() => Some(Ok(status.outcome())),
            CancelAck::AlreadyTerminal { rpc, status } => Some(Err(Error::AlreadyFinished {
                rpc,
                state: status.map(|s| s.state),
            })),
        }
    }
}

/// What a cancel has done so far, for a caller that may cut it short at its deadline.
#[derive(Debug, Default)]
pub(crate) struct CancelProgress {
    /// Attempts sent (past the rate limit and the token): the server may have seen them.
    pub(crate) sent: AtomicU32,
    /// The server's FAILED_PRECONDITION, once it refused and the state is being read back.
    pub(crate) refused: OnceLock<tonic::Status>,
}

impl CancelProgress {
    /// What a cancel cut short at this point tells, if anything: refused, its state unread, is
    /// taken as already terminal, as when the read-back fails. Not after a retry: the refusal
    /// may then answer an earlier attempt of ours that landed (a job cancelled by it is
    /// refused too), so the cancel may have taken effect.
    pub(crate) fn refusal(&self) -> Option<CancelAck> {
        if self.sent.load(Ordering::Relaxed) != 1 {
            return None;
        }
        let status = self.refused.get()?.clone();
        Some(CancelAck::AlreadyTerminal {
            rpc: RpcError::new(status),
            status: None,
        })
    }
}

/// How a call of a bulk run or a wait is bounded: the run's rate limit and the caller's
/// deadline (retries within it, not up to a fixed count).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds<'a> {
    pub(crate) limiter: Option<&'a RegionLimiter>,
    pub(crate) deadline: Option<Instant>,
}

fn site<'a>(target: &'a Target, bounds: Bounds<'a>) -> CallSite<'a> {
    CallSite {
        service: target.service(),
        location: target.location(),
        param: "name",
        resource: target.relative_name(),
        limiter: bounds.limiter,
        deadline: bounds.deadline,
    }
}

impl Client {
    /// Asks Google to cancel `target`. OK means "cancellation started": the work may still finish
    /// anyway; use [`cancel_and_wait`](Self::cancel_and_wait) to learn what happened.
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`] (with the state read back) when the target was already terminal;
    /// the server variants of [`Error`]; [`Error::RetriesExhausted`] after retries.
    pub async fn cancel(&self, target: &Target) -> Result<()> {
        match self
            .cancel_ack(target, Bounds::default(), &CancelProgress::default())
            .await?
        {
            CancelAck::Started => Ok(()),
            CancelAck::AlreadyTerminal { rpc, status } => Err(Error::AlreadyFinished {
                rpc,
                state: status.map(|s| s.state),
            }),
        }
    }

    /// Reads the state of `target` (one Get).
    ///
    /// # Errors
    /// The server variants of [`Error`] (e.g. [`Error::NotFound`]).
    pub async fn get(&self, target: &Target) -> Result<TargetStatus> {
        self.get_with(target, Bounds::default()).await
    }

    /// Cancels a long-running operation (`Operations.CancelOperation`) on its service.
    ///
    /// # Errors
    /// As [`cancel`](Self::cancel); a service that cannot cancel answers [`Error::Unimplemented`].
    pub async fn cancel_operation(&self, name: &OperationName) -> Result<()> {
        self.cancel(&Target::from(name.clone())).await
    }

    /// Reads an operation.
    ///
    /// # Errors
    /// The server variants of [`Error`].
    pub async fn get_operation(&self, name: &OperationName) -> Result<lro::Operation> {
        self.get_kind::<Operations>(&Target::from(name.clone()), Bounds::default())
            .await
    }

    /// Operations under `parent` on `service`, following page tokens (`filter`: e.g. `done=true`).
    pub fn list_operations(
        &self,
        service: Service,
        parent: &LocationName,
        filter: Option<&str>,
    ) -> impl Stream<Item = Result<lro::Operation>> + Send + 'static {
        self.list::<lro::ListOperationsRequest>(service, parent, filter, None)
    }
    /// The generic List: one page per call, page tokens followed until the last page.
    pub(crate) fn list<Req: Page>(
        &self,
        service: Service,
        parent: &LocationName,
        filter: Option<&str>,
        limiter: Option<Arc<RegionLimiter>>,
    ) -> impl Stream<Item = Result<Req::Item>> + Send + 'static {
        if let Err(error) = filter.map_or(Ok(()), check_filter) {
            return stream::iter([Err(error)]).left_stream();
        }
        let first = Req::first(parent.to_string(), filter.unwrap_or_default().to_owned());
        self.list_from(service, parent.location(), first, limiter, None)
            .right_stream()
    }

    /// [`list`](Self::list) from a first request naming any parent (an operation's owner).
    pub(crate) fn list_from<Req: Page>(
        &self,
        service: Service,
        location: &str,
        first: Req,
        limiter: Option<Arc<RegionLimiter>>,
        deadline: Option<Instant>,
    ) -> impl Stream<Item = Result<Req::Item>> + Send + 'static {
        self.list_pages(service, location, first, limiter, deadline)
            .map_ok(|(items, _)| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// The pages of a List, each with whether another follows, one call each, sent only as
    /// the stream is polled: a caller that stops reading sends no further page.
    pub(crate) fn list_pages<Req: Page>(
        &self,
        service: Service,
        location: &str,
        first: Req,
        limiter: Option<Arc<RegionLimiter>>,
        deadline: Option<Instant>,
    ) -> impl Stream<Item = Result<(Vec<Req::Item>, bool)>> + Send + 'static {
        let client = self.clone();
        let location: Arc<str> = location.into();
        let start = (Some(first), PageGuard::default());
        stream::try_unfold(start, move |(next, mut guard)| {
            let client = client.clone();
            let location = location.clone();
            let limiter = limiter.clone();
            async move {
                let Some(request) = next else {
                    return Ok::<_, Error>(None);
                };
                let resource = request.resource().to_owned();
                let site = CallSite {
                    service,
                    location: &location,
                    param: Req::PARAM,
                    resource: &resource,
                    limiter: limiter.as_deref(),
                    deadline,
                };
                let response = client
                    .call(Req::RPC, site, request.clone(), None, Req::send)
                    .await?;
                let (items, token) = Req::split(response);
                guard.admit(&token)?;
                let next = (!token.is_empty()).then(|| request.with_page_token(token));
                Ok(Some(((items, next.is_some()), (next, guard))))
            }
        })
    }

    /// Cancel, and on FAILED_PRECONDITION read the state back: CANCELLING means cancellation is
    /// under way (a success), and so does CANCELLED after a retry (an earlier attempt landed);
    /// a terminal state means the target had already finished; any other state leaves the
    /// server's refusal as it is. A state that cannot be read leaves the target taken as
    /// already terminal (FAILED_PRECONDITION is how Vertex AI refuses to cancel finished work),
    /// except after a retry, where the refusal may answer our own earlier attempt: it is then
    /// the server's refusal as it is.
    pub(crate) async fn cancel_ack(
        &self,
        target: &Target,
        bounds: Bounds<'_>,
        progress: &CancelProgress,
    ) -> Result<CancelAck> {
        let sent = with_kind!(target.kind(), K => {
            self.cancel_kind::<K>(target, bounds, &progress.sent).await
        });
        let rpc = match sent {
            Ok(()) => return Ok(CancelAck::Started),
            Err(Error::Other(rpc)) if rpc.code() == tonic::Code::FailedPrecondition => rpc,
            Err(error) => return Err(error),
        };
        // A caller cutting the read-back at its deadline still learns what the cancel was told.
        let _ = progress.refused.set(rpc.status().clone());
        let status = self.get_with(target, bounds).await.ok();
        let state = status.as_ref().map(|s| s.state);
        let retried = progress.sent.load(Ordering::Relaxed) > 1;
        match state {
            // Cancellation under way (ours, an earlier attempt's, or someone else's): started.
            Some(State::Cancelling) => Ok(CancelAck::Started),
            // An earlier attempt of ours landed and has already taken effect.
            Some(State::Cancelled) if retried => Ok(CancelAck::Started),
            // Unread after a retry: the refusal may answer an earlier attempt that landed.
            None if retried => Err(Error::Other(rpc)),
            Some(state) if !state.is_terminal() => Err(Error::Other(rpc)),
            _ => Ok(CancelAck::AlreadyTerminal { rpc, status }),
        }
    }

    /// Get over any kind, with an optional rate limit (bulk confirmation).
    pub(crate) async fn get_with(
        &self,
        target: &Target,
        bounds: Bounds<'_>,
    ) -> Result<TargetStatus> {
        with_kind!(target.kind(), K => {
            self.get_kind::<K>(target, bounds).await.map(Into::into)
        })
    }

    async fn cancel_kind<K: Kind>(
        &self,
        target: &Target,
        bounds: Bounds<'_>,
        attempts: &AtomicU32,
    ) -> Result<()> {
        let name = target.relative_name();
        self.call(
            K::CANCEL,
            site(target, bounds),
            name,
            Some(attempts),
            K::cancel,
        )
        .await
    }

    pub(crate) async fn get_kind<K: Kind>(
        &self,
        target: &Target,
        bounds: Bounds<'_>,
    ) -> Result<K::Resource> {
        let name = target.relative_name();
        self.call(K::GET, site(target, bounds), name, None, K::get)
            .await
    }
}

/// The typed Cancel / Get / List of one job kind: thin wrappers over the generic path.
macro_rules! job_calls {
    ($glue:ident, $name:ident, $resource:ident, $what:literal, $service:literal,
     $cancel:ident, $get:ident, $list:ident) => {
        impl Client {
            #[doc = concat!("Cancels a ", $what, " (`", $service, "`). See [`cancel`](Self::cancel).")]
            ///
            /// # Errors
            /// As [`cancel`](Self::cancel).
            pub async fn $cancel(&self, name: &$name) -> Result<()> {
                self.cancel(&Target::from(name.clone())).await
            }

            #[doc = concat!("Reads a ", $what, " (one Get).")]
            ///
            /// # Errors
            /// The server variants of [`Error`] (e.g. [`Error::NotFound`]).
            pub async fn $get(
                &self,
                name: &$name,
            ) -> Result<aip::$resource> {
                self.get_kind::<$glue>(&Target::from(name.clone()), Bounds::default())
                    .await
            }

            #[doc = concat!("The ", $what, "s under `parent`, following page tokens.")]
            ///
            /// `filter` uses Google's List syntax (AIP-160), with the fields this kind's List
            /// documents, e.g. `labels.team="search"`; one that cannot be well formed (control
            /// characters, unbalanced quotes, over [`MAX_FILTER_LEN`](super::MAX_FILTER_LEN)
            /// bytes) is the stream's only item, [`Error::InvalidFilter`], and nothing is sent.
            pub fn $list(
                &self,
                parent: &LocationName,
                filter: Option<&str>,
            ) -> impl Stream<Item = Result<aip::$resource>> + Send + 'static {
                self.list::<<$glue as Kind>::List>(Service::VertexAi, parent, filter, None)
            }
        }
    };
}

job_calls!(
    PipelineJobs,
    PipelineJobName,
    PipelineJob,
    "pipeline job",
    "PipelineService.CancelPipelineJob",
    cancel_pipeline_job,
    get_pipeline_job,
    list_pipeline_jobs
);
job_calls!(
    NasJobs,
    NasJobName,
    NasJob,
    "NAS job",
    "JobService.CancelNasJob",
    cancel_nas_job,
    get_nas_job,
    list_nas_jobs
);
job_calls!(
    CustomJobs,
    CustomJobName,
    CustomJob,
    "custom job",
    "JobService.CancelCustomJob",
    cancel_custom_job,
    get_custom_job,
    list_custom_jobs
);
job_calls!(
    HyperparameterTuningJobs,
    HyperparameterTuningJobName,
    HyperparameterTuningJob,
    "hyperparameter tuning job",
    "JobService.CancelHyperparameterTuningJob",
    cancel_hyperparameter_tuning_job,
    get_hyperparameter_tuning_job,
    list_hyperparameter_tuning_jobs
);
job_calls!(
    BatchPredictionJobs,
    BatchPredictionJobName,
    BatchPredictionJob,
    "batch prediction job",
    "JobService.CancelBatchPredictionJob",
    cancel_batch_prediction_job,
    get_batch_prediction_job,
    list_batch_prediction_jobs
);
job_calls!(
    DataLabelingJobs,
    DataLabelingJobName,
    DataLabelingJob,
    "data labeling job",
    "JobService.CancelDataLabelingJob",
    cancel_data_labeling_job,
    get_data_labeling_job,
    list_data_labeling_jobs
);
job_calls!(
    TrainingPipelines,
    TrainingPipelineName,
    TrainingPipeline,
    "training pipeline",
    "PipelineService.CancelTrainingPipeline",
    cancel_training_pipeline,
    get_training_pipeline,
    list_training_pipelines
);
job_calls!(
    TuningJobs,
    TuningJobName,
    TuningJob,
    "tuning job",
    "GenAiTuningService.CancelTuningJob",
    cancel_tuning_job,
    get_tuning_job,
    list_tuning_jobs
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_ends_at_a_repeated_token_or_past_the_page_limit() {
        let mut guard = PageGuard::default();
        guard.admit("a").unwrap();
        guard.admit("b").unwrap();
        let repeated = guard.admit("a").unwrap_err();
        assert!(
            matches!(repeated, Error::InvalidResponse { .. }),
            "{repeated}"
        );

        let mut guard = PageGuard::default();
        for page in 0..MAX_LIST_PAGES - 1 {
            guard.admit(&page.to_string()).unwrap();
        }
        // The last page allowed ends with an empty token; one more page is one too many.
        guard.admit("").unwrap();
        assert!(matches!(
            guard.admit("more"),
            Err(Error::InvalidResponse { .. })
        ));
    }

    #[test]
    fn huge_page_tokens_are_not_kept() {
        // A hostile server's tokens fill its messages: 10,000 pages of 4 MiB tokens would be
        // 40 GB held, were the guard to keep the tokens themselves.
        let mut guard = PageGuard::default();
        for page in 0..64 {
            let token = format!("{page}{}", "t".repeat(1 << 20));
            guard.admit(&token).unwrap();
        }
        assert!(
            guard.held_bytes() <= 64 * 64,
            "{} bytes",
            guard.held_bytes()
        );
        let again = format!("7{}", "t".repeat(1 << 20));
        assert!(matches!(
            guard.admit(&again),
            Err(Error::InvalidResponse { .. })
        ));
    }
}
