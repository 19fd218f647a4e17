//! The per-kind glue between the one generic call path and the generated stubs: which RPC,
//! which request message, which stub method, and (in [`with_kind`]) which glue a
//! [`TargetKind`](crate::TargetKind) value selects. Nothing else differs between the kinds, so
//! this is all a kind adds; the logic lives once in `targets`, `wait` and `bulk`.

use futures::future::BoxFuture;

use crate::channel::GrpcChannel;
use crate::outcome::TargetStatus;
use crate::wire::google::cloud::aiplatform::v1 as aip;
use crate::wire::google::longrunning as lro;
use aip::gen_ai_tuning_service_client::GenAiTuningServiceClient;
use aip::job_service_client::JobServiceClient;
use aip::pipeline_service_client::PipelineServiceClient;
use lro::operations_client::OperationsClient;

use super::call::Rpc;

/// Page size asked of List calls; Google caps it server-side anyway.
pub(crate) const LIST_PAGE_SIZE: i32 = 100;

pub(crate) type Answer<T> = BoxFuture<'static, Result<tonic::Response<T>, tonic::Status>>;

/// A stub's answer, not boxed.
pub(crate) trait Unboxed<T>:
    Future<Output = Result<tonic::Response<T>, tonic::Status>> + Send + 'static
{
}

impl<T, F> Unboxed<T> for F where
    F: Future<Output = Result<tonic::Response<T>, tonic::Status>> + Send + 'static
{
}

/// One kind of cancellable resource, as its RPCs see it. Requests travel as the bare resource
/// name (cheap to clone per attempt) and become the request message at the stub.
pub(crate) trait Kind {
    /// What Get returns.
    type Resource: Into<TargetStatus> + Send + 'static;
    /// Its List request.
    type List: TargetList;
    /// The Cancel RPC.
    const CANCEL: &'static Rpc;
    /// The Get RPC.
    const GET: &'static Rpc;
    /// Sends Cancel for `name` (unboxed: the call path boxes the whole attempt once).
    fn cancel(channel: GrpcChannel, name: tonic::Request<&str>) -> impl Unboxed<()>;
    /// Sends Get for `name`.
    fn get(channel: GrpcChannel, name: tonic::Request<&str>) -> impl Unboxed<Self::Resource>;
}

/// A List request: how to send it, page through it, and split its response.
pub(crate) trait Page: Clone + Send + Sync + 'static {
    /// What one page holds.
    type Item: Send + 'static;
    /// The response message.
    type Response: Send + 'static;
    /// The List RPC.
    const RPC: &'static Rpc;
    /// The routing parameter naming the parent (`parent`, or `name` for Operations).
    const PARAM: &'static str;
    /// The first page's request.
    fn first(parent: String, filter: String) -> Self;
    /// The parent (or owner) the request names.
    fn resource(&self) -> &str;
    /// The same request asking for the page after `token`.
    fn with_page_token(self, token: String) -> Self;
    /// Items and the next page token.
    fn split(response: Self::Response) -> (Vec<Self::Item>, String);
    /// Invokes the stub.
    fn send(channel: GrpcChannel, request: tonic::Request<Self>) -> Answer<Self::Response>;
}

/// The List of a kind of target, as a confirmation bounds it.
pub(crate) trait TargetList: Page<Item: Into<TargetStatus>> {
    /// Whether the List's `filter` documents `update_time`: the one bound a confirmation can
    /// use (cancelling a job moves its `update_time`; its `create_time` stays as old as the job).
    const FILTERS_UPDATE_TIME: bool;
    /// The same request asking for pages of `page_size`, and, where the request has a
    /// `read_mask`, for only the fields `paths` (a request without one returns whole resources).
    fn shaped(self, page_size: i32, paths: &[&str]) -> Self;
}

/// Declares a service's RPCs as [`Rpc`] statics.
macro_rules! rpcs {
    ($service:literal: $($name:ident = $method:literal),+) => {
        $(pub(crate) static $name: Rpc = Rpc { service: $service, method: $method };)+
    };
}

rpcs!("google.cloud.aiplatform.v1.PipelineService":
    CANCEL_PIPELINE_JOB = "CancelPipelineJob",
    BATCH_CANCEL_PIPELINE_JOBS = "BatchCancelPipelineJobs",
    GET_PIPELINE_JOB = "GetPipelineJob",
    LIST_PIPELINE_JOBS = "ListPipelineJobs",
    CANCEL_TRAINING_PIPELINE = "CancelTrainingPipeline",
    GET_TRAINING_PIPELINE = "GetTrainingPipeline",
    LIST_TRAINING_PIPELINES = "ListTrainingPipelines");
rpcs!("google.cloud.aiplatform.v1.JobService":
    CANCEL_NAS_JOB = "CancelNasJob",
    GET_NAS_JOB = "GetNasJob",
    LIST_NAS_JOBS = "ListNasJobs",
    CANCEL_CUSTOM_JOB = "CancelCustomJob",
    GET_CUSTOM_JOB = "GetCustomJob",
    LIST_CUSTOM_JOBS = "ListCustomJobs",
    CANCEL_HYPERPARAMETER_TUNING_JOB = "CancelHyperparameterTuningJob",
    GET_HYPERPARAMETER_TUNING_JOB = "GetHyperparameterTuningJob",
    LIST_HYPERPARAMETER_TUNING_JOBS = "ListHyperparameterTuningJobs",
    CANCEL_BATCH_PREDICTION_JOB = "CancelBatchPredictionJob",
    GET_BATCH_PREDICTION_JOB = "GetBatchPredictionJob",
    LIST_BATCH_PREDICTION_JOBS = "ListBatchPredictionJobs",
    CANCEL_DATA_LABELING_JOB = "CancelDataLabelingJob",
    GET_DATA_LABELING_JOB = "GetDataLabelingJob",
    LIST_DATA_LABELING_JOBS = "ListDataLabelingJobs");
rpcs!("google.cloud.aiplatform.v1.GenAiTuningService":
    CANCEL_TUNING_JOB = "CancelTuningJob",
    GET_TUNING_JOB = "GetTuningJob",
    LIST_TUNING_JOBS = "ListTuningJobs");
rpcs!("google.longrunning.Operations":
    CANCEL_OPERATION = "CancelOperation",
    GET_OPERATION = "GetOperation",
    LIST_OPERATIONS = "ListOperations");

/// Implements [`Kind`] and [`Page`] for one kind from the names of its messages and methods.
macro_rules! kind {
    (
        $kind:ident: $stub:ident, $resource:ty,
        cancel $cancel_rpc:ident $cancel_req:ty => $cancel_fn:ident,
        get $get_rpc:ident $get_req:ty => $get_fn:ident,
        list $list_rpc:ident $list_req:ty => $list_fn:ident -> $list_resp:ty,
        $parent:ident, $items:ident, update_time: $update_time:literal $(, mask $mask:ident)?
    ) => {
        /// Marks the kind for the generic path.
        pub(crate) struct $kind;

        impl Kind for $kind {
            type Resource = $resource;
            type List = $list_req;
            const CANCEL: &'static Rpc = &$cancel_rpc;
            const GET: &'static Rpc = &$get_rpc;
            fn cancel(channel: GrpcChannel, name: tonic::Request<&str>) -> impl Unboxed<()> {
                let request = name.map(|name| <$cancel_req>::from_name(name.to_owned()));
                async move { $stub::new(channel).$cancel_fn(request).await }
            }
            fn get(channel: GrpcChannel, name: tonic::Request<&str>) -> impl Unboxed<$resource> {
                let request = name.map(|name| <$get_req>::from_name(name.to_owned()));
                async move { $stub::new(channel).$get_fn(request).await }
            }
        }

        impl Page for $list_req {
            type Item = $resource;
            type Response = $list_resp;
            const RPC: &'static Rpc = &$list_rpc;
            const PARAM: &'static str = stringify!($parent);
            fn first($parent: String, filter: String) -> Self {
                Self {
                    $parent,
                    filter,
                    page_size: LIST_PAGE_SIZE,
                    ..Default::default()
                }
            }
            fn resource(&self) -> &str {
                &self.$parent
            }
            fn with_page_token(self, page_token: String) -> Self {
                Self { page_token, ..self }
            }
            fn split(response: Self::Response) -> (Vec<Self::Item>, String) {
                (response.$items, response.next_page_token)
            }
            fn send(channel: GrpcChannel, request: tonic::Request<Self>) -> Answer<$list_resp> {
                Box::pin(async move { $stub::new(channel).$list_fn(request).await })
            }
        }

        impl TargetList for $list_req {
            const FILTERS_UPDATE_TIME: bool = $update_time;
            fn shaped(self, page_size: i32, _paths: &[&str]) -> Self {
                Self {
                    page_size,
                    $($mask: Some(field_mask(_paths)),)?
                    ..self
                }
            }
        }
    };
}

/// A `FieldMask` of `paths`.
fn field_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|&path| path.to_owned()).collect(),
    }
}

/// Request messages that name one resource.
trait FromName {
    fn from_name(name: String) -> Self;
}

macro_rules! from_name {
    ($($request:ty),+) => {
        $(impl FromName for $request {
            fn from_name(name: String) -> Self {
                Self { name }
            }
        })+
    };
}

from_name!(
    aip::CancelPipelineJobRequest,
    aip::GetPipelineJobRequest,
    aip::CancelNasJobRequest,
    aip::GetNasJobRequest,
    lro::CancelOperationRequest,
    lro::GetOperationRequest,
    aip::CancelCustomJobRequest,
    aip::GetCustomJobRequest,
    aip::CancelHyperparameterTuningJobRequest,
    aip::GetHyperparameterTuningJobRequest,
    aip::CancelBatchPredictionJobRequest,
    aip::GetBatchPredictionJobRequest,
    aip::CancelDataLabelingJobRequest,
    aip::GetDataLabelingJobRequest,
    aip::CancelTrainingPipelineRequest,
    aip::GetTrainingPipelineRequest,
    aip::CancelTuningJobRequest,
    aip::GetTuningJobRequest
);

kind!(PipelineJobs: PipelineServiceClient, aip::PipelineJob,
    cancel CANCEL_PIPELINE_JOB aip::CancelPipelineJobRequest => cancel_pipeline_job,
    get GET_PIPELINE_JOB aip::GetPipelineJobRequest => get_pipeline_job,
    list LIST_PIPELINE_JOBS aip::ListPipelineJobsRequest => list_pipeline_jobs -> aip::ListPipelineJobsResponse,
    parent, pipeline_jobs, update_time: true, mask read_mask);
kind!(NasJobs: JobServiceClient, aip::NasJob,
    cancel CANCEL_NAS_JOB aip::CancelNasJobRequest => cancel_nas_job,
    get GET_NAS_JOB aip::GetNasJobRequest => get_nas_job,
    list LIST_NAS_JOBS aip::ListNasJobsRequest => list_nas_jobs -> aip::ListNasJobsResponse,
    parent, nas_jobs, update_time: false, mask read_mask);
kind!(Operations: OperationsClient, lro::Operation,
    cancel CANCEL_OPERATION lro::CancelOperationRequest => cancel_operation,
    get GET_OPERATION lro::GetOperationRequest => get_operation,
    list LIST_OPERATIONS lro::ListOperationsRequest => list_operations -> lro::ListOperationsResponse,
    name, operations, update_time: false);
kind!(CustomJobs: JobServiceClient, aip::CustomJob,
    cancel CANCEL_CUSTOM_JOB aip::CancelCustomJobRequest => cancel_custom_job,
    get GET_CUSTOM_JOB aip::GetCustomJobRequest => get_custom_job,
    list LIST_CUSTOM_JOBS aip::ListCustomJobsRequest => list_custom_jobs -> aip::ListCustomJobsResponse,
    parent, custom_jobs, update_time: false, mask read_mask);
kind!(HyperparameterTuningJobs: JobServiceClient, aip::HyperparameterTuningJob,
    cancel CANCEL_HYPERPARAMETER_TUNING_JOB aip::CancelHyperparameterTuningJobRequest => cancel_hyperparameter_tuning_job,
    get GET_HYPERPARAMETER_TUNING_JOB aip::GetHyperparameterTuningJobRequest => get_hyperparameter_tuning_job,
    list LIST_HYPERPARAMETER_TUNING_JOBS aip::ListHyperparameterTuningJobsRequest => list_hyperparameter_tuning_jobs -> aip::ListHyperparameterTuningJobsResponse,
    parent, hyperparameter_tuning_jobs, update_time: false, mask read_mask);
kind!(BatchPredictionJobs: JobServiceClient, aip::BatchPredictionJob,
    cancel CANCEL_BATCH_PREDICTION_JOB aip::CancelBatchPredictionJobRequest => cancel_batch_prediction_job,
    get GET_BATCH_PREDICTION_JOB aip::GetBatchPredictionJobRequest => get_batch_prediction_job,
    list LIST_BATCH_PREDICTION_JOBS aip::ListBatchPredictionJobsRequest => list_batch_prediction_jobs -> aip::ListBatchPredictionJobsResponse,
    parent, batch_prediction_jobs, update_time: false, mask read_mask);
kind!(DataLabelingJobs: JobServiceClient, aip::DataLabelingJob,
    cancel CANCEL_DATA_LABELING_JOB aip::CancelDataLabelingJobRequest => cancel_data_labeling_job,
    get GET_DATA_LABELING_JOB aip::GetDataLabelingJobRequest => get_data_labeling_job,
    list LIST_DATA_LABELING_JOBS aip::ListDataLabelingJobsRequest => list_data_labeling_jobs -> aip::ListDataLabelingJobsResponse,
    parent, data_labeling_jobs, update_time: false, mask read_mask);
kind!(TrainingPipelines: PipelineServiceClient, aip::TrainingPipeline,
    cancel CANCEL_TRAINING_PIPELINE aip::CancelTrainingPipelineRequest => cancel_training_pipeline,
    get GET_TRAINING_PIPELINE aip::GetTrainingPipelineRequest => get_training_pipeline,
    list LIST_TRAINING_PIPELINES aip::ListTrainingPipelinesRequest => list_training_pipelines -> aip::ListTrainingPipelinesResponse,
    parent, training_pipelines, update_time: false, mask read_mask);
kind!(TuningJobs: GenAiTuningServiceClient, aip::TuningJob,
    cancel CANCEL_TUNING_JOB aip::CancelTuningJobRequest => cancel_tuning_job,
    get GET_TUNING_JOB aip::GetTuningJobRequest => get_tuning_job,
    list LIST_TUNING_JOBS aip::ListTuningJobsRequest => list_tuning_jobs -> aip::ListTuningJobsResponse,
    parent, tuning_jobs, update_time: false);

/// Runs `$body` with `$k` standing for the [`Kind`] glue of `$kind` (a [`TargetKind`]): the one
/// place the generic path turns a kind value into its types. With `operation => $other`, an
/// operation evaluates `$other` instead (for a body only jobs can run).
///
/// [`TargetKind`]: crate::TargetKind
macro_rules! with_kind {
    ($kind:expr, $k:ident => $body:expr) => {
        $crate::client::kinds::with_kind!($kind, $k => $body, operation => {
            type $k = $crate::client::kinds::Operations;
            $body
        })
    };
    ($kind:expr, $k:ident => $body:expr, operation => $other:expr) => {{
        use $crate::TargetKind as T;
        use $crate::client::kinds as g;
        match $kind {
            T::PipelineJob => {
                type $k = g::PipelineJobs;
                $body
            }
            T::NasJob => {
                type $k = g::NasJobs;
                $body
            }
            T::Operation => $other,
            T::CustomJob => {
                type $k = g::CustomJobs;
                $body
            }
            T::HyperparameterTuningJob => {
                type $k = g::HyperparameterTuningJobs;
                $body
            }
            T::BatchPredictionJob => {
                type $k = g::BatchPredictionJobs;
                $body
            }
            T::DataLabelingJob => {
                type $k = g::DataLabelingJobs;
                $body
            }
            T::TrainingPipeline => {
                type $k = g::TrainingPipelines;
                $body
            }
            T::TuningJob => {
                type $k = g::TuningJobs;
                $body
            }
        }
    }};
}
pub(crate) use with_kind;
