//! The canonical names of gRPC status codes (`google.rpc.Code`), one table for the whole crate:
//! error messages, the CLI's reports, and the fake's scenario files and call log.
//!
//! Part of the vocabulary layer: it imports nothing from the crate.

use tonic::Code;

/// The canonical name of a gRPC code, as `google.rpc.Code` spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The gRPC status code a canonical name (e.g. `UNAVAILABLE`) stands for.
// Read by the fake's scenario files only.
#[cfg_attr(not(feature = "fake"), allow(dead_code))]
pub(crate) fn code_named(name: &str) -> Option<Code> {
    (0..=16)
        .map(Code::from_i32)
        .find(|code| code_name(*code) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_round_trip() {
        for i in 0..=16 {
            let code = Code::from_i32(i);
            assert_eq!(code as i32, i);
            assert_eq!(code_named(code_name(code)), Some(code));
        }
        assert_eq!(code_named("NOPE"), None);
        assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
    }
}
