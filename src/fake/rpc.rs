//! The RPCs the fake serves, in one table, and the serde form of a status code (its name
//! from `crate::code`).
//!
//! Fault rules, the call log and the service impls all name methods; keeping the names in one
//! place means a fault rule naming a method the fake does not serve is caught when it is armed.

/// One served RPC. The discriminant indexes [`RPC_TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Rpc {
    CancelPipelineJob,
    GetPipelineJob,
    ListPipelineJobs,
    CancelNasJob,
    GetNasJob,
    ListNasJobs,
    CancelOperation,
    GetOperation,
    ListOperations,
    DeleteOperation,
    /// Kept in the protos but not served: answered UNIMPLEMENTED, yet logged and faultable.
    BatchCancelPipelineJobs,
}

/// Every served RPC, in discriminant order.
pub(crate) const ALL_RPCS: [Rpc; 11] = [
    Rpc::CancelPipelineJob,
    Rpc::GetPipelineJob,
    Rpc::ListPipelineJobs,
    Rpc::CancelNasJob,
    Rpc::GetNasJob,
    Rpc::ListNasJobs,
    Rpc::CancelOperation,
    Rpc::GetOperation,
    Rpc::ListOperations,
    Rpc::DeleteOperation,
    Rpc::BatchCancelPipelineJobs,
];

/// `(short name, full gRPC path)` per [`Rpc`], in discriminant order.
const RPC_TABLE: [(&str, &str); 11] = [
    (
        "CancelPipelineJob",
        "/google.cloud.aiplatform.v1.PipelineService/CancelPipelineJob",
    ),
    (
        "GetPipelineJob",
        "/google.cloud.aiplatform.v1.PipelineService/GetPipelineJob",
    ),
    (
        "ListPipelineJobs",
        "/google.cloud.aiplatform.v1.PipelineService/ListPipelineJobs",
    ),
    (
        "CancelNasJob",
        "/google.cloud.aiplatform.v1.JobService/CancelNasJob",
    ),
    (
        "GetNasJob",
        "/google.cloud.aiplatform.v1.JobService/GetNasJob",
    ),
    (
        "ListNasJobs",
        "/google.cloud.aiplatform.v1.JobService/ListNasJobs",
    ),
    (
        "CancelOperation",
        "/google.longrunning.Operations/CancelOperation",
    ),
    (
        "GetOperation",
        "/google.longrunning.Operations/GetOperation",
    ),
    (
        "ListOperations",
        "/google.longrunning.Operations/ListOperations",
    ),
    (
        "DeleteOperation",
        "/google.longrunning.Operations/DeleteOperation",
    ),
    (
        "BatchCancelPipelineJobs",
        "/google.cloud.aiplatform.v1.PipelineService/BatchCancelPipelineJobs",
    ),
];

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
