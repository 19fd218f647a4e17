//! Cancel, Get and List for each kind: thin typed wrappers over [`Client::call`], plus the
//! generic forms over [`Target`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::channel::GrpcChannel;
use futures::{Stream, StreamExt, TryStreamExt, stream};

use crate::error::{Error, Result, RpcError};
use crate::name::{LocationName, NasJobName, OperationName, PipelineJobName, Service, Target};
use crate::outcome::{State, TargetStatus};
use crate::proto::google::cloud::aiplatform::v1 as aip;
use crate::proto::google::longrunning as lro;
use aip::job_service_client::JobServiceClient;
use aip::pipeline_service_client::PipelineServiceClient;
use lro::operations_client::OperationsClient;

use super::builder::Client;
use super::call::{CallSite, RegionLimiter, Rpc};
use super::filter::check_filter;

const PIPELINE_SERVICE: &str = "google.cloud.aiplatform.v1.PipelineService";
const JOB_SERVICE: &str = "google.cloud.aiplatform.v1.JobService";
const OPERATIONS: &str = "google.longrunning.Operations";

static CANCEL_PIPELINE_JOB: Rpc = Rpc {
    service: PIPELINE_SERVICE,
    method: "CancelPipelineJob",
};
static GET_PIPELINE_JOB: Rpc = Rpc {
    service: PIPELINE_SERVICE,
    method: "GetPipelineJob",
};
static LIST_PIPELINE_JOBS: Rpc = Rpc {
    service: PIPELINE_SERVICE,
    method: "ListPipelineJobs",
};
static CANCEL_NAS_JOB: Rpc = Rpc {
    service: JOB_SERVICE,
    method: "CancelNasJob",
};
static GET_NAS_JOB: Rpc = Rpc {
    service: JOB_SERVICE,
    method: "GetNasJob",
};
static LIST_NAS_JOBS: Rpc = Rpc {
    service: JOB_SERVICE,
    method: "ListNasJobs",
};
static CANCEL_OPERATION: Rpc = Rpc {
    service: OPERATIONS,
    method: "CancelOperation",
};
static GET_OPERATION: Rpc = Rpc {
    service: OPERATIONS,
    method: "GetOperation",
};
static LIST_OPERATIONS: Rpc = Rpc {
    service: OPERATIONS,
    method: "ListOperations",
};

/// Page size asked of List calls; Google caps it server-side anyway.
pub(crate) const LIST_PAGE_SIZE: i32 = 100;

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

fn site<'a>(target: &'a Target, limiter: Option<&'a RegionLimiter>) -> CallSite<'a> {
    CallSite {
        service: target.service(),
        location: target.location(),
        param: "name",
        resource: target.relative_name(),
        limiter,
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
        match self.cancel_ack(target, None).await? {
            CancelAck::Started => Ok(()),
            CancelAck::AlreadyTerminal { rpc, status } => {
                Err(Error::already_finished(rpc, status.map(|s| s.state)))
            }
        }
    }

    /// Reads the state of `target` (one Get).
    ///
    /// # Errors
    /// The server variants of [`Error`] (e.g. [`Error::NotFound`]).
    pub async fn get(&self, target: &Target) -> Result<TargetStatus> {
        self.get_with(target, None).await
    }

    /// Cancels a pipeline job (`PipelineService.CancelPipelineJob`). See [`cancel`](Self::cancel).
    ///
    /// # Errors
    /// As [`cancel`](Self::cancel).
    pub async fn cancel_pipeline_job(&self, name: &PipelineJobName) -> Result<()> {
        self.cancel(&Target::from(name.clone())).await
    }

    /// Cancels a NAS job (`JobService.CancelNasJob`). See [`cancel`](Self::cancel).
    ///
    /// # Errors
    /// As [`cancel`](Self::cancel).
    pub async fn cancel_nas_job(&self, name: &NasJobName) -> Result<()> {
        self.cancel(&Target::from(name.clone())).await
    }

    /// Cancels a long-running operation (`Operations.CancelOperation`) on its service.
    ///
    /// # Errors
    /// As [`cancel`](Self::cancel); a service that cannot cancel answers [`Error::Unimplemented`].
    pub async fn cancel_operation(&self, name: &OperationName) -> Result<()> {
        self.cancel(&Target::from(name.clone())).await
    }

    /// Reads a pipeline job.
    ///
    /// # Errors
    /// The server variants of [`Error`].
    pub async fn get_pipeline_job(&self, name: &PipelineJobName) -> Result<aip::PipelineJob> {
        let target = Target::from(name.clone());
        self.call(
            &GET_PIPELINE_JOB,
            site(&target, None),
            aip::GetPipelineJobRequest {
                name: target.relative_name().to_owned(),
            },
            None,
            |ch, req| async move { PipelineServiceClient::new(ch).get_pipeline_job(req).await },
        )
        .await
    }

    /// Reads a NAS job.
    ///
    /// # Errors
    /// The server variants of [`Error`].
    pub async fn get_nas_job(&self, name: &NasJobName) -> Result<aip::NasJob> {
        let target = Target::from(name.clone());
        self.call(
            &GET_NAS_JOB,
            site(&target, None),
            aip::GetNasJobRequest {
                name: target.relative_name().to_owned(),
            },
            None,
            |ch, req| async move { JobServiceClient::new(ch).get_nas_job(req).await },
        )
        .await
    }

    /// Reads an operation.
    ///
    /// # Errors
    /// The server variants of [`Error`].
    pub async fn get_operation(&self, name: &OperationName) -> Result<lro::Operation> {
        let target = Target::from(name.clone());
        self.call(
            &GET_OPERATION,
            site(&target, None),
            lro::GetOperationRequest {
                name: target.relative_name().to_owned(),
            },
            None,
            |ch, req| async move { OperationsClient::new(ch).get_operation(req).await },
        )
        .await
    }

    /// Pipeline jobs under `parent`, following page tokens. `filter` uses Google's List syntax,
    /// e.g. `state="PIPELINE_STATE_RUNNING"`; one that cannot be well formed (control
    /// characters, unbalanced quotes, over [`MAX_FILTER_LEN`](super::MAX_FILTER_LEN) bytes) is
    /// the stream's only item, [`Error::InvalidFilter`], and nothing is sent.
    pub fn list_pipeline_jobs(
        &self,
        parent: &LocationName,
        filter: Option<&str>,
    ) -> impl Stream<Item = Result<aip::PipelineJob>> + Send + 'static {
        self.list::<aip::ListPipelineJobsRequest>(Service::VertexAi, parent, filter, None)
    }

    /// NAS jobs under `parent`, following page tokens.
    pub fn list_nas_jobs(
        &self,
        parent: &LocationName,
        filter: Option<&str>,
    ) -> impl Stream<Item = Result<aip::NasJob>> + Send + 'static {
        self.list::<aip::ListNasJobsRequest>(Service::VertexAi, parent, filter, None)
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
        let client = self.clone();
        let first = Req::first(parent.to_string(), filter.unwrap_or_default().to_owned());
        let location: Arc<str> = parent.location().into();
        stream::try_unfold(Some(first), move |next| {
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
                };
                let response = client
                    .call(Req::RPC, site, request.clone(), None, Req::send)
                    .await?;
                let (items, token) = Req::split(response);
                let next = (!token.is_empty()).then(|| request.with_page_token(token));
                Ok(Some((stream::iter(items.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .right_stream()
    }

    /// Cancel, and on FAILED_PRECONDITION read the state back: a retried cancel whose earlier
    /// attempt landed sees CANCELLING/CANCELLED there, which is a success.
    pub(crate) async fn cancel_ack(
        &self,
        target: &Target,
        limiter: Option<&RegionLimiter>,
    ) -> Result<CancelAck> {
        let attempts = AtomicU32::new(0);
        let site = site(target, limiter);
        let name = target.relative_name().to_owned();
        let sent = match target {
            Target::PipelineJob(_) => {
                self.call(
                    &CANCEL_PIPELINE_JOB,
                    site,
                    aip::CancelPipelineJobRequest { name },
                    Some(&attempts),
                    |ch, req| async move {
                        PipelineServiceClient::new(ch)
                            .cancel_pipeline_job(req)
                            .await
                    },
                )
                .await
            }
            Target::NasJob(_) => {
                self.call(
                    &CANCEL_NAS_JOB,
                    site,
                    aip::CancelNasJobRequest { name },
                    Some(&attempts),
                    |ch, req| async move { JobServiceClient::new(ch).cancel_nas_job(req).await },
                )
                .await
            }
            Target::Operation(_) => {
                self.call(
                    &CANCEL_OPERATION,
                    site,
                    lro::CancelOperationRequest { name },
                    Some(&attempts),
                    |ch, req| async move { OperationsClient::new(ch).cancel_operation(req).await },
                )
                .await
            }
        };
        let rpc = match sent {
            Ok(()) => return Ok(CancelAck::Started),
            Err(Error::Other(rpc)) if rpc.code() == tonic::Code::FailedPrecondition => rpc,
            Err(error) => return Err(error),
        };
        let status = self.get_with(target, limiter).await.ok();
        let retried = attempts.load(Ordering::Relaxed) > 1;
        let landed = status
            .as_ref()
            .is_some_and(|s| matches!(s.state, State::Cancelling | State::Cancelled));
        if retried && landed {
            return Ok(CancelAck::Started);
        }
        Ok(CancelAck::AlreadyTerminal { rpc, status })
    }

    /// Get over any kind, with an optional rate limit (bulk confirmation).
    pub(crate) async fn get_with(
        &self,
        target: &Target,
        limiter: Option<&RegionLimiter>,
    ) -> Result<TargetStatus> {
        let site = site(target, limiter);
        let name = target.relative_name().to_owned();
        match target {
            Target::PipelineJob(_) => self
                .call(&GET_PIPELINE_JOB, site, aip::GetPipelineJobRequest { name }, None, |ch, req| async move {
                    PipelineServiceClient::new(ch).get_pipeline_job(req).await
                })
                .await
                .map(TargetStatus::from),
            Target::NasJob(_) => self
                .call(&GET_NAS_JOB, site, aip::GetNasJobRequest { name }, None, |ch, req| async move {
                    JobServiceClient::new(ch).get_nas_job(req).await
                })
                .await
                .map(TargetStatus::from),
            Target::Operation(_) => self
                .call(&GET_OPERATION, site, lro::GetOperationRequest { name }, None, |ch, req| async move {
                    OperationsClient::new(ch).get_operation(req).await
                })
                .await
                .map(TargetStatus::from),
        }
    }
}

/// A List request: how to send it, page through it, and split its response.
pub(crate) trait Page: Clone + Send + Sync + 'static {
    /// The List RPC.
    const RPC: &'static Rpc;
    /// The routing parameter naming the parent (`parent`, or `name` for Operations).
    const PARAM: &'static str;
    /// The first page's request.
    fn first(parent: String, filter: String) -> Self;
    /// What one page holds.
    type Item: Send + 'static;
    /// The response message.
    type Response: Send + 'static;
    /// The parent (or owner) the request names.
    fn resource(&self) -> &str;
    /// The same request asking for the page after `token`.
    fn with_page_token(self, token: String) -> Self;
    /// Items and the next page token.
    fn split(response: Self::Response) -> (Vec<Self::Item>, String);
    /// Invokes the stub.
    fn send(
        channel: GrpcChannel,
        request: tonic::Request<Self>,
    ) -> futures::future::BoxFuture<
        'static,
        std::result::Result<tonic::Response<Self::Response>, tonic::Status>,
    >;
}

impl Page for aip::ListPipelineJobsRequest {
    const RPC: &'static Rpc = &LIST_PIPELINE_JOBS;
    const PARAM: &'static str = "parent";
    fn first(parent: String, filter: String) -> Self {
        Self {
            parent,
            filter,
            page_size: LIST_PAGE_SIZE,
            ..Default::default()
        }
    }
    type Item = aip::PipelineJob;
    type Response = aip::ListPipelineJobsResponse;
    fn resource(&self) -> &str {
        &self.parent
    }
    fn with_page_token(self, page_token: String) -> Self {
        Self { page_token, ..self }
    }
    fn split(response: Self::Response) -> (Vec<Self::Item>, String) {
        (response.pipeline_jobs, response.next_page_token)
    }
    fn send(
        channel: GrpcChannel,
        request: tonic::Request<Self>,
    ) -> futures::future::BoxFuture<
        'static,
        std::result::Result<tonic::Response<Self::Response>, tonic::Status>,
    > {
        Box::pin(async move {
            PipelineServiceClient::new(channel)
                .list_pipeline_jobs(request)
                .await
        })
    }
}

impl Page for aip::ListNasJobsRequest {
    const RPC: &'static Rpc = &LIST_NAS_JOBS;
    const PARAM: &'static str = "parent";
    fn first(parent: String, filter: String) -> Self {
        Self {
            parent,
            filter,
            page_size: LIST_PAGE_SIZE,
            ..Default::default()
        }
    }
    type Item = aip::NasJob;
    type Response = aip::ListNasJobsResponse;
    fn resource(&self) -> &str {
        &self.parent
    }
    fn with_page_token(self, page_token: String) -> Self {
        Self { page_token, ..self }
    }
    fn split(response: Self::Response) -> (Vec<Self::Item>, String) {
        (response.nas_jobs, response.next_page_token)
    }
    fn send(
        channel: GrpcChannel,
        request: tonic::Request<Self>,
    ) -> futures::future::BoxFuture<
        'static,
        std::result::Result<tonic::Response<Self::Response>, tonic::Status>,
    > {
        Box::pin(async move { JobServiceClient::new(channel).list_nas_jobs(request).await })
    }
}

impl Page for lro::ListOperationsRequest {
    const RPC: &'static Rpc = &LIST_OPERATIONS;
    const PARAM: &'static str = "name";
    fn first(name: String, filter: String) -> Self {
        Self {
            name,
            filter,
            page_size: LIST_PAGE_SIZE,
            ..Default::default()
        }
    }
    type Item = lro::Operation;
    type Response = lro::ListOperationsResponse;
    fn resource(&self) -> &str {
        &self.name
    }
    fn with_page_token(self, page_token: String) -> Self {
        Self { page_token, ..self }
    }
    fn split(response: Self::Response) -> (Vec<Self::Item>, String) {
        (response.operations, response.next_page_token)
    }
    fn send(
        channel: GrpcChannel,
        request: tonic::Request<Self>,
    ) -> futures::future::BoxFuture<
        'static,
        std::result::Result<tonic::Response<Self::Response>, tonic::Status>,
    > {
        Box::pin(async move {
            OperationsClient::new(channel)
                .list_operations(request)
                .await
        })
    }
}
