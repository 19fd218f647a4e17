//! Any bytes as a server's `grpc-status-details-bin`, under any code: decoding into the crate's
//! `Error` and every accessor on it never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vertex_cancel::Error;

fuzz_target!(|data: &[u8]| {
    let Some((&code, details)) = data.split_first() else {
        return;
    };
    let code = tonic::Code::from(i32::from(code % 20));
    let status =
        tonic::Status::with_details(code, "fuzzed", bytes::Bytes::copy_from_slice(details));
    let error = Error::from(status);
    let _ = (error.to_string(), format!("{error:?}"));
    let _ = (error.code(), error.is_retryable(), error.retry_delay());
    let _ = (error.is_bad_input(), error.is_auth());
    if let Some(rpc) = error.rpc() {
        let _ = (rpc.reason(), rpc.domain(), rpc.request_id(), rpc.message());
        let _ = (rpc.field_violations().len(), rpc.quota_violations().len());
        let _ = rpc.precondition_violations().len();
        let _ = format!("{rpc} {rpc:?}");
    }
});
