//! The three gRPC services, as thin typed wrappers over [`Core`](super::dispatch::Core), and the
//! conversion of a stored resource into the message each kind is read as.
//!
//! BatchCancelPipelineJobs, the one kept RPC the fake does not serve, answers UNIMPLEMENTED
//! through the same path (so it is logged, faultable and carries a `google.rpc.Status`), as a
//! Google endpoint that does not serve a method would.

use std::sync::Arc;
use std::time::SystemTime;

use prost::Name;
use tonic::{Code, Request, Response, Status};

use super::dispatch::{Core, ListQuery, error};
use super::names::ResourceKind;
use super::rpc::Rpc;
use super::state::{View, enum_value};
use crate::State;
use crate::wire::google::cloud::aiplatform::v1;
use crate::wire::google::longrunning as lro;
use v1::job_service_server::JobService;
use v1::pipeline_service_server::PipelineService;

/// The one value behind all three services.
#[derive(Debug, Clone)]
pub(crate) struct FakeServices {
    pub(crate) core: Arc<Core>,
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl PipelineService for FakeServices {
    async fn cancel_pipeline_job(&self, r: Request<v1::CancelPipelineJobRequest>) -> Answer<()> {
        let kind = ResourceKind::PipelineJob;
        (self.core)
            .serve(
                Rpc::CancelPipelineJob,
                r,
                |q| &q.name,
                |c, q| c.cancel(kind, &q.name),
            )
            .await
    }

    async fn get_pipeline_job(
        &self,
        r: Request<v1::GetPipelineJobRequest>,
    ) -> Answer<v1::PipelineJob> {
        let kind = ResourceKind::PipelineJob;
        (self.core)
            .serve(
                Rpc::GetPipelineJob,
                r,
                |q| &q.name,
                |c, q| c.get(kind, &q.name).map(pipeline_job),
            )
            .await
    }

    async fn list_pipeline_jobs(
        &self,
        r: Request<v1::ListPipelineJobsRequest>,
    ) -> Answer<v1::ListPipelineJobsResponse> {
        (self.core)
            .serve(
                Rpc::ListPipelineJobs,
                r,
                |q| &q.parent,
                |c, q| {
                    let (items, next_page_token) = c.list(&ListQuery {
                        kind: ResourceKind::PipelineJob,
                        parent_field: "parent",
                        parent: &q.parent,
                        filter: &q.filter,
                        page_size: q.page_size,
                        page_token: &q.page_token,
                    })?;
                    Ok(v1::ListPipelineJobsResponse {
                        pipeline_jobs: items.into_iter().map(pipeline_job).collect(),
                        next_page_token,
                    })
                },
            )
            .await
    }

    async fn batch_cancel_pipeline_jobs(
        &self,
        r: Request<v1::BatchCancelPipelineJobsRequest>,
    ) -> Answer<lro::Operation> {
        let unserved = |_: &Core, _| {
            Err(error(
                Code::Unimplemented,
                "The fake does not serve BatchCancelPipelineJobs.",
            ))
        };
        (self.core)
            .serve(Rpc::BatchCancelPipelineJobs, r, |q| &q.parent, unserved)
            .await
    }
}

#[tonic::async_trait]
impl JobService for FakeServices {
    async fn cancel_nas_job(&self, r: Request<v1::CancelNasJobRequest>) -> Answer<()> {
        let kind = ResourceKind::NasJob;
        (self.core)
            .serve(
                Rpc::CancelNasJob,
                r,
                |q| &q.name,
                |c, q| c.cancel(kind, &q.name),
            )
            .await
    }

    async fn get_nas_job(&self, r: Request<v1::GetNasJobRequest>) -> Answer<v1::NasJob> {
        let kind = ResourceKind::NasJob;
        (self.core)
            .serve(
                Rpc::GetNasJob,
                r,
                |q| &q.name,
                |c, q| c.get(kind, &q.name).map(nas_job),
            )
            .await
    }

    async fn list_nas_jobs(
        &self,
        r: Request<v1::ListNasJobsRequest>,
    ) -> Answer<v1::ListNasJobsResponse> {
        (self.core)
            .serve(
                Rpc::ListNasJobs,
                r,
                |q| &q.parent,
                |c, q| {
                    let (items, next_page_token) = c.list(&ListQuery {
                        kind: ResourceKind::NasJob,
                        parent_field: "parent",
                        parent: &q.parent,
                        filter: &q.filter,
                        page_size: q.page_size,
                        page_token: &q.page_token,
                    })?;
                    Ok(v1::ListNasJobsResponse {
                        nas_jobs: items.into_iter().map(nas_job).collect(),
                        next_page_token,
                    })
                },
            )
            .await
    }
}

#[tonic::async_trait]
impl lro::operations_server::Operations for FakeServices {
    async fn list_operations(
        &self,
        r: Request<lro::ListOperationsRequest>,
    ) -> Answer<lro::ListOperationsResponse> {
        (self.core)
            .serve(
                Rpc::ListOperations,
                r,
                |q| &q.name,
                |c, q| {
                    let (items, next_page_token) = c.list(&ListQuery {
                        kind: ResourceKind::Operation,
                        parent_field: "name",
                        parent: &q.name,
                        filter: &q.filter,
                        page_size: q.page_size,
                        page_token: &q.page_token,
                    })?;
                    Ok(lro::ListOperationsResponse {
                        operations: items.into_iter().map(operation).collect(),
                        next_page_token,
                        unreachable: Vec::new(),
                    })
                },
            )
            .await
    }

    async fn get_operation(&self, r: Request<lro::GetOperationRequest>) -> Answer<lro::Operation> {
        let kind = ResourceKind::Operation;
        (self.core)
            .serve(
                Rpc::GetOperation,
                r,
                |q| &q.name,
                |c, q| c.get(kind, &q.name).map(operation),
            )
            .await
    }

    async fn delete_operation(&self, r: Request<lro::DeleteOperationRequest>) -> Answer<()> {
        let kind = ResourceKind::Operation;
        (self.core)
            .serve(
                Rpc::DeleteOperation,
                r,
                |q| &q.name,
                |c, q| c.delete(kind, &q.name),
            )
            .await
    }

    async fn cancel_operation(&self, r: Request<lro::CancelOperationRequest>) -> Answer<()> {
        let kind = ResourceKind::Operation;
        (self.core)
            .serve(
                Rpc::CancelOperation,
                r,
                |q| &q.name,
                |c, q| c.cancel(kind, &q.name),
            )
            .await
    }
}

fn timestamp(t: SystemTime) -> Option<prost_types::Timestamp> {
    Some(t.into())
}

fn pipeline_job(v: View) -> v1::PipelineJob {
    v1::PipelineJob {
        state: enum_value(v.kind, v.state).unwrap_or_default(),
        name: v.name,
        display_name: v.display_name,
        labels: v.labels,
        error: v.error,
        create_time: timestamp(v.created),
        start_time: v.started.and_then(timestamp),
        end_time: v.ended.and_then(timestamp),
        update_time: timestamp(v.updated),
    }
}

fn nas_job(v: View) -> v1::NasJob {
    v1::NasJob {
        state: enum_value(v.kind, v.state).unwrap_or_default(),
        name: v.name,
        display_name: v.display_name,
        labels: v.labels,
        error: v.error,
        create_time: timestamp(v.created),
        start_time: v.started.and_then(timestamp),
        end_time: v.ended.and_then(timestamp),
        update_time: timestamp(v.updated),
    }
}

/// A Vertex AI operation: `GenericOperationMetadata` in `metadata`; once done, an `error` or an
/// empty `response`.
fn operation(v: View) -> lro::Operation {
    let metadata = v1::GenericOperationMetadata {
        partial_failures: Vec::new(),
        create_time: timestamp(v.created),
        update_time: timestamp(v.updated),
    };
    let done = v.state.is_terminal();
    let result = match (done, v.error) {
        (false, _) => None,
        (true, Some(error)) if v.state != State::Succeeded => {
            Some(lro::operation::Result::Error(error))
        }
        (true, _) => Some(lro::operation::Result::Response(any(&()))),
    };
    lro::Operation {
        name: v.name,
        metadata: Some(any(&metadata)),
        done,
        result,
    }
}

fn any<M: Name>(message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}
