//! The RPCs the fake serves, in one table, and the serde form of a status code (its name
//! from `crate::code`).
//!
//! Fault rules, the call log and the service impls all name methods; keeping the names in one
//! place means a fault rule naming a method the fake does not serve is caught when it is armed.

/// Declares [`Rpc`], [`ALL_RPCS`] and [`RPC_TABLE`] from one list of `Method = "service"`.
macro_rules! rpcs {
    ($($method:ident = $service:literal,)+) => {
        /// One served RPC. The discriminant indexes [`RPC_TABLE`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Rpc {
            $($method,)+
        }

        /// Every served RPC, in discriminant order.
        pub(crate) const ALL_RPCS: [Rpc; 31] = [$(Rpc::$method,)+];

        /// `(short name, full gRPC path)` per [`Rpc`], in discriminant order.
        const RPC_TABLE: [(&str, &str); 31] = [
            $((stringify!($method), concat!("/", $service, "/", stringify!($method))),)+
        ];
    };
}

rpcs! {
    CancelPipelineJob = "google.cloud.aiplatform.v1.PipelineService",
    GetPipelineJob = "google.cloud.aiplatform.v1.PipelineService",
    ListPipelineJobs = "google.cloud.aiplatform.v1.PipelineService",
    CancelNasJob = "google.cloud.aiplatform.v1.JobService",
    GetNasJob = "google.cloud.aiplatform.v1.JobService",
    ListNasJobs = "google.cloud.aiplatform.v1.JobService",
    CancelOperation = "google.longrunning.Operations",
    GetOperation = "google.longrunning.Operations",
    ListOperations = "google.longrunning.Operations",
    DeleteOperation = "google.longrunning.Operations",
    BatchCancelPipelineJobs = "google.cloud.aiplatform.v1.PipelineService",
    CancelCustomJob = "google.cloud.aiplatform.v1.JobService",
    GetCustomJob = "google.cloud.aiplatform.v1.JobService",
    ListCustomJobs = "google.cloud.aiplatform.v1.JobService",
    CancelHyperparameterTuningJob = "google.cloud.aiplatform.v1.JobService",
    GetHyperparameterTuningJob = "google.cloud.aiplatform.v1.JobService",
    ListHyperparameterTuningJobs = "google.cloud.aiplatform.v1.JobService",
    CancelBatchPredictionJob = "google.cloud.aiplatform.v1.JobService",
    GetBatchPredictionJob = "google.cloud.aiplatform.v1.JobService",
    ListBatchPredictionJobs = "google.cloud.aiplatform.v1.JobService",
    CancelDataLabelingJob = "google.cloud.aiplatform.v1.JobService",
    GetDataLabelingJob = "google.cloud.aiplatform.v1.JobService",
    ListDataLabelingJobs = "google.cloud.aiplatform.v1.JobService",
    CancelTrainingPipeline = "google.cloud.aiplatform.v1.PipelineService",
    GetTrainingPipeline = "google.cloud.aiplatform.v1.PipelineService",
    ListTrainingPipelines = "google.cloud.aiplatform.v1.PipelineService",
    CancelTuningJob = "google.cloud.aiplatform.v1.GenAiTuningService",
    GetTuningJob = "google.cloud.aiplatform.v1.GenAiTuningService",
    ListTuningJobs = "google.cloud.aiplatform.v1.GenAiTuningService",
    ListLocations = "google.cloud.location.Locations",
    WaitOperation = "google.longrunning.Operations",
}

impl Rpc {
    /// The method name alone, e.g. `CancelPipelineJob`.
    pub(crate) fn short(self) -> &'static str {
        RPC_TABLE[self as usize].0
    }

    /// The full gRPC path, e.g. `/google.cloud.aiplatform.v1.PipelineService/CancelPipelineJob`.
    pub(crate) fn path(self) -> &'static str {
        RPC_TABLE[self as usize].1
    }

    /// Whether `pattern` names this RPC: its short name, its full path, or the path without the
    /// leading slash (as Google's docs write it).
    pub(crate) fn is_named(self, pattern: &str) -> bool {
        let path = self.path();
        pattern == self.short() || pattern == path || pattern == &path[1..]
    }

    /// The RPC `pattern` names, if the fake serves it.
    pub(crate) fn named(pattern: &str) -> Option<Self> {
        ALL_RPCS.into_iter().find(|rpc| rpc.is_named(pattern))
    }

    /// The `service.Method` form Google puts in `ErrorInfo.metadata["method"]`.
    pub(crate) fn dotted(self) -> String {
        self.path()[1..].replace('/', ".")
    }
}

/// Serde for `Option<tonic::Code>` as its canonical name, as scenario files write it.
pub(crate) mod code_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use tonic::Code;

    pub(crate) fn serialize<S: Serializer>(code: &Option<Code>, s: S) -> Result<S::Ok, S::Error> {
        match code {
            Some(code) => s.serialize_some(crate::code::code_name(*code)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Code>, D::Error> {
        let Some(name) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        crate::code::code_named(&name)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("unknown gRPC status code name {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_enum_order() {
        for rpc in ALL_RPCS {
            assert!(rpc.path().ends_with(&format!("/{}", rpc.short())));
            assert_eq!(Rpc::named(rpc.short()), Some(rpc));
            assert_eq!(Rpc::named(&rpc.path()[1..]), Some(rpc));
        }
        assert_eq!(Rpc::named("CreatePipelineJob"), None);
        assert_eq!(
            Rpc::CancelNasJob.dotted(),
            "google.cloud.aiplatform.v1.JobService.CancelNasJob"
        );
    }
}
