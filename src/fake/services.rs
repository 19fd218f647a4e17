//! The gRPC services (PipelineService, JobService, GenAiTuningService, Operations and the
//! Locations mixin), as thin typed wrappers over [`Core`](super::dispatch::Core) generated per
//! kind, and the conversion of a stored resource into the message each kind is read as.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prost::Name;
use tonic::{Request, Response, Status};

use super::dispatch::{Core, ListQuery, bad_request};
use super::names::ResourceKind;
use super::rpc::Rpc;
use super::state::{View, enum_value};
use crate::State;
use crate::wire::google::cloud::aiplatform::v1;
use crate::wire::google::cloud::location as loc;
use crate::wire::google::longrunning as lro;
use loc::locations_server::Locations as LocationsService;
use v1::gen_ai_tuning_service_server::GenAiTuningService;
use v1::job_service_server::JobService;
use v1::pipeline_service_server::PipelineService;

/// The one value behind all the services.
#[derive(Debug, Clone)]
pub(crate) struct FakeServices {
    pub(crate) core: Arc<Core>,
}

type Answer<T> = Result<Response<T>, Status>;

/// Implements a job service's server trait: Cancel, Get and List for each of its kinds, through
/// the generic [`Core`] methods, plus any `extra` methods the service has. A List whose request
/// has a `read_mask` names it with `mask`, one with an `order_by` with `order`.
macro_rules! job_service {
    ($service:ident {
        $($kind:ident: $resource:ident,
            $cancel:ident($cancel_req:ident),
            $get:ident($get_req:ident),
            $list:ident($list_req:ident) -> $list_resp:ident.$items:ident
                $(, mask $mask:ident)? $(, order $order:ident)?;)+
    } $($extra:tt)*) => {
        #[tonic::async_trait]
        impl $service for FakeServices {
            $(
            async fn $cancel(&self, r: Request<v1::$cancel_req>) -> Answer<()> {
                let rpc = rpc_named(stringify!($cancel_req));
                (self.core)
                    .serve(rpc, r, |q| &q.name, |c, q| c.cancel(ResourceKind::$kind, &q.name))
                    .await
            }

            async fn $get(&self, r: Request<v1::$get_req>) -> Answer<v1::$resource> {
                let rpc = rpc_named(stringify!($get_req));
                let read = |c: &Core, q: v1::$get_req| {
                    c.get(ResourceKind::$kind, &q.name)
                        .map(|v| v1::$resource::from_view(v, &Mask::All))
                };
                (self.core).serve(rpc, r, |q| &q.name, read).await
            }

            async fn $list(&self, r: Request<v1::$list_req>) -> Answer<v1::$list_resp> {
                let rpc = rpc_named(stringify!($list_req));
                let list = |c: &Core, q: v1::$list_req| {
                    let mask = Mask::of::<v1::$resource>(None $(.or(q.$mask.as_ref()))?)?;
                    let (items, next_page_token) = c.list(&ListQuery {
                        kind: ResourceKind::$kind,
                        parent_field: "parent",
                        parent: &q.parent,
                        filter: &q.filter,
                        order_by: None $(.or(Some(q.$order.as_str())))?.unwrap_or_default(),
                        page_size: q.page_size,
                        page_token: &q.page_token,
                    })?;
                    Ok(v1::$list_resp {
                        $items: items
                            .into_iter()
                            .map(|v| v1::$resource::from_view(v, &mask))
                            .collect(),
                        next_page_token,
                    })
                };
                (self.core).serve(rpc, r, |q| &q.parent, list).await
            }
            )+

            $($extra)*
        }
    };
}

/// The served RPC a request message is for: `CancelCustomJobRequest` is `CancelCustomJob`.
fn rpc_named(request: &str) -> Rpc {
    let method = request.strip_suffix("Request").unwrap_or(request);
    Rpc::named(method).unwrap_or_else(|| unreachable!("every served method is in the table"))
}

job_service!(PipelineService {
    PipelineJob: PipelineJob,
        cancel_pipeline_job(CancelPipelineJobRequest),
        get_pipeline_job(GetPipelineJobRequest),
        list_pipeline_jobs(ListPipelineJobsRequest) -> ListPipelineJobsResponse.pipeline_jobs,
        mask read_mask, order order_by;
    TrainingPipeline: TrainingPipeline,
        cancel_training_pipeline(CancelTrainingPipelineRequest),
        get_training_pipeline(GetTrainingPipelineRequest),
        list_training_pipelines(ListTrainingPipelinesRequest)
            -> ListTrainingPipelinesResponse.training_pipelines, mask read_mask;
}
    async fn batch_cancel_pipeline_jobs(
        &self,
        r: Request<v1::BatchCancelPipelineJobsRequest>,
    ) -> Answer<lro::Operation> {
        let batch = |c: &Core, q: v1::BatchCancelPipelineJobsRequest| {
            c.batch_cancel(&q.parent, &q.names).map(operation)
        };
        (self.core)
            .serve(Rpc::BatchCancelPipelineJobs, r, |q| &q.parent, batch)
            .await
    }
);

job_service!(JobService {
    NasJob: NasJob,
        cancel_nas_job(CancelNasJobRequest),
        get_nas_job(GetNasJobRequest),
        list_nas_jobs(ListNasJobsRequest) -> ListNasJobsResponse.nas_jobs, mask read_mask;
    CustomJob: CustomJob,
        cancel_custom_job(CancelCustomJobRequest),
        get_custom_job(GetCustomJobRequest),
        list_custom_jobs(ListCustomJobsRequest) -> ListCustomJobsResponse.custom_jobs,
        mask read_mask;
    HyperparameterTuningJob: HyperparameterTuningJob,
        cancel_hyperparameter_tuning_job(CancelHyperparameterTuningJobRequest),
        get_hyperparameter_tuning_job(GetHyperparameterTuningJobRequest),
        list_hyperparameter_tuning_jobs(ListHyperparameterTuningJobsRequest)
            -> ListHyperparameterTuningJobsResponse.hyperparameter_tuning_jobs, mask read_mask;
    BatchPredictionJob: BatchPredictionJob,
        cancel_batch_prediction_job(CancelBatchPredictionJobRequest),
        get_batch_prediction_job(GetBatchPredictionJobRequest),
        list_batch_prediction_jobs(ListBatchPredictionJobsRequest)
            -> ListBatchPredictionJobsResponse.batch_prediction_jobs, mask read_mask;
    DataLabelingJob: DataLabelingJob,
        cancel_data_labeling_job(CancelDataLabelingJobRequest),
        get_data_labeling_job(GetDataLabelingJobRequest),
        list_data_labeling_jobs(ListDataLabelingJobsRequest)
            -> ListDataLabelingJobsResponse.data_labeling_jobs, mask read_mask, order order_by;
});

job_service!(GenAiTuningService {
    TuningJob: TuningJob,
        cancel_tuning_job(CancelTuningJobRequest),
        get_tuning_job(GetTuningJobRequest),
        list_tuning_jobs(ListTuningJobsRequest) -> ListTuningJobsResponse.tuning_jobs;
});

#[tonic::async_trait]
impl LocationsService for FakeServices {
    async fn list_locations(
        &self,
        r: Request<loc::ListLocationsRequest>,
    ) -> Answer<loc::ListLocationsResponse> {
        let list = |c: &Core, q: loc::ListLocationsRequest| c.list_locations(&q);
        (self.core)
            .serve(Rpc::ListLocations, r, |q| &q.name, list)
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
                        order_by: "",
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

    async fn wait_operation(
        &self,
        r: Request<lro::WaitOperationRequest>,
    ) -> Answer<lro::Operation> {
        // The closure is written in the call: only there does its `&Core` get the call's lifetime.
        (self.core)
            .serve_async(
                Rpc::WaitOperation,
                r,
                |q| &q.name,
                |c, q| async move {
                    let timeout = q
                        .timeout
                        .map(Duration::try_from)
                        .transpose()
                        .map_err(|_| bad_request("timeout", "must not be negative".into()))?;
                    c.wait_operation(&q.name, timeout).await.map(operation)
                },
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

include!(concat!(env!("OUT_DIR"), "/resource_fields.rs"));

fn timestamp(t: SystemTime) -> Option<prost_types::Timestamp> {
    Some(t.into())
}

/// Which fields of a resource a List returns: all, or those its `read_mask` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mask {
    /// No mask: every field.
    All,
    /// The fields named.
    Only(Vec<String>),
}

impl Mask {
    /// Reads a List's `read_mask` for resources of type `M`.
    ///
    /// # Errors
    /// INVALID_ARGUMENT naming `read_mask` for a path `M` does not have in Google's protos. A
    /// field the fake does not model is accepted and left unset, as on a resource without it.
    fn of<M: FromView + Name>(mask: Option<&prost_types::FieldMask>) -> Result<Self, Status> {
        let Some(mask) = mask.filter(|m| !m.paths.is_empty()) else {
            return Ok(Self::All);
        };
        let resource = M::full_name();
        let fields = RESOURCE_FIELDS
            .iter()
            .find(|(name, _)| *name == resource)
            .map_or(&[][..], |(_, fields)| *fields);
        // A path may go into a field (`error.code`); the fake returns or leaves out the field.
        let top = |path: &str| path.split('.').next().unwrap_or_default().to_owned();
        if let Some(unknown) = mask
            .paths
            .iter()
            .find(|p| !fields.contains(&top(p).as_str()))
        {
            return Err(bad_request(
                "read_mask",
                format!("{unknown:?} is not a field of {resource}"),
            ));
        }
        Ok(Self::Only(mask.paths.iter().map(|p| top(p)).collect()))
    }

    /// `value` if `field` is returned, else its default (unset).
    fn keep<T: Default>(&self, field: &str, value: T) -> T {
        match self {
            Self::Only(paths) if !paths.iter().any(|p| p == field) => T::default(),
            _ => value,
        }
    }
}

/// A job message built from a stored resource, with the fields a mask leaves.
trait FromView: Sized {
    /// The message for `v`, with only the fields `mask` keeps.
    fn from_view(v: View, mask: &Mask) -> Self;
}

/// Implements [`FromView`] for job messages: `display` is the field holding the display name;
/// `times` lists the start/end time fields where the message has them.
macro_rules! from_view {
    ($($message:ident: $display:ident $(, $start:ident, $end:ident)?;)+) => {
        $(impl FromView for v1::$message {
            fn from_view(v: View, mask: &Mask) -> Self {
                Self {
                    state: mask.keep("state", enum_value(v.kind, v.state).unwrap_or_default()),
                    name: mask.keep("name", v.name),
                    $display: mask.keep(stringify!($display), v.display_name),
                    labels: mask.keep("labels", v.labels),
                    error: mask.keep("error", v.error),
                    create_time: mask.keep("create_time", timestamp(v.created)),
                    $($start: mask.keep(stringify!($start), v.started.and_then(timestamp)),
                    $end: mask.keep(stringify!($end), v.ended.and_then(timestamp)),)?
                    update_time: mask.keep("update_time", timestamp(v.updated)),
                }
            }
        })+
    };
}

from_view! {
    PipelineJob: display_name, start_time, end_time;
    NasJob: display_name, start_time, end_time;
    CustomJob: display_name, start_time, end_time;
    HyperparameterTuningJob: display_name, start_time, end_time;
    BatchPredictionJob: display_name, start_time, end_time;
    DataLabelingJob: display_name;
    TrainingPipeline: display_name, start_time, end_time;
    TuningJob: tuned_model_display_name, start_time, end_time;
}

/// A Vertex AI operation: `GenericOperationMetadata` in `metadata`; once done, an `error` or an
/// empty `response`. A BatchCancelPipelineJobs operation carries that RPC's own types, as its
/// `operation_info` names them: `BatchCancelPipelineJobsOperationMetadata` and, once done,
/// `BatchCancelPipelineJobsResponse` with the pipeline jobs it cancelled.
fn operation(v: View) -> lro::Operation {
    let generic = v1::GenericOperationMetadata {
        partial_failures: Vec::new(),
        create_time: timestamp(v.created),
        update_time: timestamp(v.updated),
    };
    let metadata = match &v.batch {
        Some(_) => any(&v1::BatchCancelPipelineJobsOperationMetadata {
            generic_metadata: Some(generic),
        }),
        None => any(&generic),
    };
    let done = v.state.is_terminal();
    let response = match v.batch {
        Some(jobs) => any(&v1::BatchCancelPipelineJobsResponse {
            pipeline_jobs: jobs
                .into_iter()
                .map(|job| v1::PipelineJob::from_view(job, &Mask::All))
                .collect(),
        }),
        None => any(&()),
    };
    let result = match (done, v.error) {
        (false, _) => None,
        (true, Some(error)) if v.state != State::Succeeded => {
            Some(lro::operation::Result::Error(error))
        }
        (true, _) => Some(lro::operation::Result::Response(response)),
    };
    lro::Operation {
        name: v.name,
        metadata: Some(metadata),
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
