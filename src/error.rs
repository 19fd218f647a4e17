//! The crate's one error type, organised by what the caller does next, and the decoding of a
//! server's `tonic::Status` (code, message, `google.rpc` error details) into it.
//!
//! Callers branch on variants and accessors ([`Error::code`], [`Error::is_retryable`],
//! [`Error::retry_delay`], [`RpcError::reason`]) rather than on message text. Every cause is kept
//! as a `source` and never repeated in the message, so an error chain prints each cause once.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use tonic::Code;
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, QuotaViolation, StatusExt};

use crate::outcome::State;

mod connection;
mod shared;
mod transport;

pub use crate::code::code_name;
pub use connection::ConnectionFailure;
pub use shared::SharedError;
pub(crate) use transport::ProxyError;

/// A boxed error that can cross threads: the cause of [`Error::Connection`] and [`Error::Auth`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The endpoint named by `From<tonic::Status>`, which does not know where the call went.
const UNKNOWN_ENDPOINT: &str = "unknown endpoint";

/// Everything that can go wrong, grouped by what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resource name did not parse or validate; nothing was sent.
    #[error("invalid resource name {input:?}: {reason}")]
    InvalidName {
        /// The name as given.
        input: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A location is not a plain region id, or does not match the target; nothing was sent.
    #[error("invalid location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An endpoint would send credentials in plain text; nothing was sent.
    #[error("refusing insecure endpoint {endpoint}: {reason}")]
    InsecureEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The client configuration is inconsistent; nothing was sent.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// A List filter cannot be a well-formed filter (control characters, unbalanced quotes or
    /// parentheses, too long); nothing was sent.
    #[error("invalid list filter `{filter}`: {reason}")]
    InvalidFilter {
        /// The filter as given, shortened and with control characters escaped.
        filter: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The server answered `NOT_FOUND`.
    #[error("{0}")]
    NotFound(RpcError),
    /// A cancel was refused because the target had already reached a terminal state.
    #[error("already finished{}: {rpc}", state_suffix(state.as_ref()))]
    AlreadyFinished {
        /// The server's `FAILED_PRECONDITION` answer.
        rpc: RpcError,
        /// The terminal state, when a Get confirmed it.
        state: Option<State>,
    },
    /// The server answered `PERMISSION_DENIED`.
    #[error("{0}")]
    PermissionDenied(RpcError),
    /// The server answered `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(RpcError),
    /// The server answered `UNIMPLEMENTED`: it does not offer this call (an answer, not a fault).
    #[error("{0}")]
    Unimplemented(RpcError),
    /// The server answered `INVALID_ARGUMENT`.
    #[error("{0}")]
    InvalidArgument(RpcError),
    /// The server answered `RESOURCE_EXHAUSTED` (quota or rate limit).
    #[error("{0}")]
    ResourceExhausted(RpcError),
    /// The server answered `UNAVAILABLE`.
    #[error("{0}")]
    Unavailable(RpcError),
    /// The call ran out of time (`DEADLINE_EXCEEDED`, or the per-attempt timeout expired).
    #[error("{0}")]
    DeadlineExceeded(RpcError),
    /// Any other answer from the server, `FAILED_PRECONDITION` outside a cancel included.
    #[error("{0}")]
    Other(RpcError),
    /// The transport failed: connection refused or reset, TLS or DNS failure.
    #[error("connection to {endpoint} failed")]
    Connection {
        /// Where the call was going.
        endpoint: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// The credential source could not produce a token.
    #[error("could not obtain credentials")]
    Auth {
        /// The credential source's error.
        #[source]
        source: BoxError,
    },
    /// A retryable error persisted until the retry policy gave up.
    #[error("gave up after {attempts} attempts in {elapsed:.1?}")]
    RetriesExhausted {
        /// How many attempts were sent.
        attempts: u32,
        /// Time from the first attempt to giving up.
        elapsed: Duration,
        /// The error of the last attempt.
        #[source]
        last: Box<Error>,
    },
    /// The server's answer breaks the protocol in a way retrying cannot fix: a List repeating
    /// a page token it already sent, or paging beyond
    /// [`MAX_LIST_PAGES`](crate::client::MAX_LIST_PAGES).
    #[error("invalid response from the server: {reason}")]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// The client was shut down ([`Client::shutdown`](crate::Client::shutdown)), by this handle
    /// or a clone of it; nothing was sent.
    ///
    /// Troubleshooting: not a problem with the input, and retrying on the same client cannot
    /// help: build a new client if there is still work to do.
    #[error("the client was shut down; build a new one to make further calls")]
    Shutdown,
    /// Waiting for a target to reach a terminal state ran out of time.
    #[error("timed out after {waited:.1?} waiting for {target}{}", last_state_suffix(last_state.as_ref()))]
    WaitTimedOut {
        /// The target waited for.
        target: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last state seen, if any poll succeeded.
        last_state: Option<State>,
    },
}

fn state_suffix(state: Option<&State>) -> String {
    state.map(|s| format!(" ({s})")).unwrap_or_default()
}

fn last_state_suffix(state: Option<&State>) -> String {
    state
        .map(|s| format!(" (last state {s})"))
        .unwrap_or_default()
}

impl Error {
    /// Classifies a `Status` from a call to `endpoint`: a transport failure becomes
    /// [`Error::Connection`] naming it, a server answer the variant of its code.
    pub fn from_status_at(status: tonic::Status, endpoint: &str) -> Self {
        let timed_out_locally = status.code() == Code::Cancelled
            && chain(&status).any(|e| e.is::<tonic::TimeoutExpired>());
        if !timed_out_locally && is_transport_failure(&status) {
            let plaintext = endpoint.starts_with("http://");
            return Error::Connection {
                endpoint: endpoint.to_owned(),
                source: Box::new(TransportFailure::new(status, plaintext)),
            };
        }
        let rpc = RpcError::new(status);
        match rpc.code() {
            _ if timed_out_locally => Error::DeadlineExceeded(rpc),
            Code::NotFound => Error::NotFound(rpc),
            Code::PermissionDenied => Error::PermissionDenied(rpc),
            Code::Unauthenticated => Error::Unauthenticated(rpc),
            Code::Unimplemented => Error::Unimplemented(rpc),
            Code::InvalidArgument => Error::InvalidArgument(rpc),
            Code::ResourceExhausted => Error::ResourceExhausted(rpc),
            Code::Unavailable => Error::Unavailable(rpc),
            Code::DeadlineExceeded => Error::DeadlineExceeded(rpc),
            _ => Error::Other(rpc),
        }
    }

    /// The server's answer, for the server variants (and the last attempt of
    /// [`Error::RetriesExhausted`]).
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Error::NotFound(rpc)
            | Error::AlreadyFinished { rpc, .. }
            | Error::PermissionDenied(rpc)
            | Error::Unauthenticated(rpc)
            | Error::Unimplemented(rpc)
            | Error::InvalidArgument(rpc)
            | Error::ResourceExhausted(rpc)
            | Error::Unavailable(rpc)
            | Error::DeadlineExceeded(rpc)
            | Error::Other(rpc) => Some(rpc),
            Error::RetriesExhausted { last, .. } => last.rpc(),
            _ => None,
        }
    }

    /// The gRPC code of a server answer or timeout; `None` when no server answered (bad input,
    /// connection or credential failure). [`Error::RetriesExhausted`] reports its last attempt's.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::WaitTimedOut { .. } => Some(Code::DeadlineExceeded),
            Error::RetriesExhausted { last, .. } => last.code(),
            _ => self.rpc().map(RpcError::code),
        }
    }

    /// Whether sending the same call again may succeed: `UNAVAILABLE`, `RESOURCE_EXHAUSTED`,
    /// connection failures, and `DEADLINE_EXCEEDED` (every call this crate retries is
    /// idempotent, so an attempt that timed out is safe to repeat).
    ///
    /// Troubleshooting: if these persist, check network reachability of the regional endpoint
    /// and the project's Vertex AI quota (about 600 requests a minute per region).
    /// A connection failure known to be [permanent](ConnectionFailure::is_permanent) (a
    /// certificate problem, say) is not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable(_) | Error::ResourceExhausted(_) | Error::DeadlineExceeded(_) => {
                true
            }
            Error::Connection { .. } => !self
                .connection_failure()
                .is_some_and(ConnectionFailure::is_permanent),
            _ => false,
        }
    }

    /// Why the connection failed, when the transport's error tells (an untrusted or
    /// mismatched certificate, TLS against plaintext, a proxy refusing CONNECT); `None` for
    /// other errors and unexplained connection failures. [`Error::RetriesExhausted`] reports
    /// its last attempt's.
    pub fn connection_failure(&self) -> Option<ConnectionFailure> {
        match self {
            Error::Connection { source, .. } => source
                .downcast_ref::<TransportFailure>()
                .and_then(|transport| transport.failure),
            Error::RetriesExhausted { last, .. } => last.connection_failure(),
            _ => None,
        }
    }

    /// How long the server asked the client to wait before retrying (`google.rpc.RetryInfo`).
    ///
    /// Troubleshooting: a long delay on `RESOURCE_EXHAUSTED` means a quota is spent; spreading
    /// the work over time or raising the quota helps, retrying sooner does not.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.rpc().and_then(RpcError::retry_delay)
    }

    /// Whether the input was rejected before anything was sent (a bad name, location, endpoint,
    /// List filter or configuration).
    ///
    /// Troubleshooting: the message names the offending value; fix it and run again.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidName { .. }
                | Error::InvalidLocation { .. }
                | Error::InsecureEndpoint { .. }
                | Error::InvalidConfig { .. }
                | Error::InvalidFilter { .. }
        )
    }

    /// Whether the failure is about identity or access: no credentials, a token the server
    /// rejected, or a principal without permission.
    ///
    /// Troubleshooting: run `gcloud auth application-default login` or set
    /// `GOOGLE_APPLICATION_CREDENTIALS`; on `PERMISSION_DENIED` grant the principal a role with
    /// `aiplatform.pipelineJobs.cancel` (or the matching permission) on the project.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Error::Auth { .. } | Error::Unauthenticated(_) | Error::PermissionDenied(_)
        )
    }
    /// Whether Application Default Credentials looked in every place they can come from and
    /// found none (no `GOOGLE_APPLICATION_CREDENTIALS`, no gcloud login, no metadata server).
    ///
    /// Troubleshooting: run `gcloud auth application-default login`, set
    /// `GOOGLE_APPLICATION_CREDENTIALS` to a key file, or pass a token explicitly.
    pub fn is_missing_credentials(&self) -> bool {
        let Error::Auth { source } = self else {
            return false;
        };
        let mut cause: Option<&(dyn StdError + 'static)> = Some(source.as_ref());
        while let Some(error) = cause {
            if let Some(gcp_auth::Error::NoAuthMethod(..)) = error.downcast_ref() {
                return true;
            }
            cause = error.source();
        }
        false
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::from_status_at(status, UNKNOWN_ENDPOINT)
    }
}

/// The error chain starting at `err` itself.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// A `Status` the client produced itself because the transport failed: a server's answer never
/// carries a `source`, a local transport failure always does. tonic reports a request cut off
/// by its connection closing (a server shutting down or restarting) as `CANCELLED` with hyper's
/// "connection closed" as the source: that is a transport failure too, and safe to retry. An
/// HTTP/2 error (a GOAWAY, a reset or garbled connection) comes as whatever code tonic maps its
/// reason to, `INTERNAL` for a protocol error ("h2 protocol error"), with the `h2::Error` in
/// the chain: the connection failed, not the call, so it is a transport failure whatever the
/// code (every call this crate makes is idempotent, and a cancel's outcome is confirmed).
fn is_transport_failure(status: &tonic::Status) -> bool {
    if chain(status).skip(1).any(|e| e.is::<h2::Error>()) {
        return true;
    }
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled
    ) && chain(status).skip(1).any(|e| {
        e.is::<tonic::transport::Error>()
            || e.is::<SharedError>()
            || e.is::<tonic::ConnectError>()
            || e.is::<std::io::Error>()
    })
}

/// The cause of [`Error::Connection`]: tonic's `Status` for a transport failure.
///
/// tonic nests the same text several times ("tcp connect error" / "transport error" / "tcp
/// connect error" / ...), and `Status`'s own `Display` embeds the `Debug` of its source. So this
/// shows what went wrong when it can be told ([`ConnectionFailure`]), else the code and message,
/// then jumps straight to the cause that tells it, or the root cause (usually an `io::Error`,
/// which callers can downcast to); `Debug` still prints the whole chain.
struct TransportFailure {
    status: tonic::Status,
    failure: Option<ConnectionFailure>,
    /// Where in [`connection::causes`] of the status's source the failure shows.
    culprit: usize,
}

impl TransportFailure {
    fn new(status: tonic::Status, plaintext: bool) -> Self {
        let classified = status
            .source()
            .and_then(|source| connection::classify(&connection::causes(source), plaintext));
        let (failure, culprit) = classified.map_or((None, 0), |(f, i)| (Some(f), i));
        Self {
            status,
            failure,
            culprit,
        }
    }

    fn root(&self) -> Option<&(dyn StdError + 'static)> {
        chain(self.status.source()?).last()
    }

    /// The cause shown after this one: the one that tells the failure, else the root.
    fn shown_cause(&self) -> Option<&(dyn StdError + 'static)> {
        if self.failure.is_some() {
            let causes = connection::causes(self.status.source()?);
            return causes.get(self.culprit).copied();
        }
        self.root()
    }
}

impl fmt::Debug for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.status, f)
    }
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(failure) = self.failure {
            return f.write_str(failure.describe());
        }
        f.write_str(code_name(self.status.code()))?;
        let message = self.status.message();
        let repeated = self.root().is_some_and(|root| root.to_string() == message);
        if !message.is_empty() && !repeated {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl StdError for TransportFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.shown_cause()
    }
}

/// What the server said: code, message and the decoded `google.rpc` error details.
// Boxed: a `Status` plus `ErrorDetails` is several hundred bytes, and every `Result` of the
// crate would carry that size on its happy path too.
pub struct RpcError(Box<RpcErrorInner>);

struct RpcErrorInner {
    status: tonic::Status,
    details: ErrorDetails,
}

impl RpcError {
    /// Decodes the error details (`grpc-status-details-bin`) of `status`; undecodable details
    /// are ignored, the code and message are kept.
    pub fn new(status: tonic::Status) -> Self {
        let details = status.get_error_details();
        RpcError(Box::new(RpcErrorInner { status, details }))
    }

    /// The gRPC status code.
    pub fn code(&self) -> Code {
        self.0.status.code()
    }

    /// The server's message.
    pub fn message(&self) -> &str {
        self.0.status.message()
    }

    /// All decoded `google.rpc` error details.
    pub fn details(&self) -> &ErrorDetails {
        &self.0.details
    }

    /// The original status, for its metadata (response headers and trailers).
    pub fn status(&self) -> &tonic::Status {
        &self.0.status
    }

    /// The original status, owned.
    pub fn into_status(self) -> tonic::Status {
        self.0.status
    }

    /// The machine-readable reason of `google.rpc.ErrorInfo` (for example `RATE_LIMIT_EXCEEDED`).
    pub fn reason(&self) -> Option<&str> {
        self.0
            .details
            .error_info()
            .map(|info| info.reason.as_str())
            .filter(|reason| !reason.is_empty())
    }

    /// The domain of `google.rpc.ErrorInfo` (for example `aiplatform.googleapis.com`).
    pub fn domain(&self) -> Option<&str> {
        self.0
            .details
            .error_info()
            .map(|info| info.domain.as_str())
            .filter(|domain| !domain.is_empty())
    }

    /// How long to wait before retrying, from `google.rpc.RetryInfo`.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.0
            .details
            .retry_info()
            .and_then(|info| info.retry_delay)
    }

    /// The invalid request fields of `google.rpc.BadRequest` (empty if none).
    pub fn field_violations(&self) -> &[FieldViolation] {
        self.0
            .details
            .bad_request()
            .map_or(&[], |bad| bad.field_violations.as_slice())
    }

    /// The exceeded quotas of `google.rpc.QuotaFailure` (empty if none).
    pub fn quota_violations(&self) -> &[QuotaViolation] {
        self.0
            .details
            .quota_failure()
            .map_or(&[], |quota| quota.violations.as_slice())
    }

    /// The failed preconditions of `google.rpc.PreconditionFailure` (empty if none).
    pub fn precondition_violations(&self) -> &[PreconditionViolation] {
        self.0
            .details
            .precondition_failure()
            .map_or(&[], |failure| failure.violations.as_slice())
    }

    /// The request id of `google.rpc.RequestInfo`, worth quoting to Google support.
    pub fn request_id(&self) -> Option<&str> {
        self.0
            .details
            .request_info()
            .map(|info| info.request_id.as_str())
            .filter(|id| !id.is_empty())
    }
}

impl From<tonic::Status> for RpcError {
    fn from(status: tonic::Status) -> Self {
        RpcError::new(status)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", code_name(self.code()), self.message())?;
        if let Some(reason) = self.reason() {
            write!(f, " (reason {reason})")?;
        }
        Ok(())
    }
}

/// Shows the decoded parts, not the raw details bytes and metadata of the `Status`.
impl fmt::Debug for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcError")
            .field("code", &self.code())
            .field("message", &self.message())
            .field("details", &self.0.details)
            .finish()
    }
}

impl StdError for RpcError {}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{
        BadRequest, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure,
        QuotaFailure, RequestInfo, ResourceInfo,
    };

    /// Encodes `details` into a status, then decodes them from a fresh `Status` built from the
    /// raw code, message and details bytes, as a client receiving them would.
    fn round_trip(code: Code, details: ErrorDetails) -> Error {
        let sent = tonic::Status::with_error_details(code, "it went wrong", details);
        let received = tonic::Status::with_details(
            sent.code(),
            sent.message(),
            sent.details().to_vec().into(),
        );
        Error::from(received)
    }

    fn details_of(details: ErrorDetails) -> ErrorDetails {
        let err = round_trip(Code::FailedPrecondition, details);
        err.rpc().expect("server error").details().clone()
    }

    macro_rules! code_maps_to {
        ($($test:ident: $code:ident => $variant:ident,)*) => {$(
            #[test]
            fn $test() {
                let err = Error::from(tonic::Status::new(Code::$code, "msg"));
                assert!(matches!(err, Error::$variant(_)), "{:?} became {err:?}", Code::$code);
                assert_eq!(err.code(), Some(Code::$code));
                assert_eq!(err.rpc().map(RpcError::message), Some("msg"));
                assert_eq!(err.to_string(), format!("{}: msg", code_name(Code::$code)));
            }
        )*};
    }

    code_maps_to! {
        code_ok: Ok => Other,
        code_cancelled: Cancelled => Other,
        code_unknown: Unknown => Other,
        code_invalid_argument: InvalidArgument => InvalidArgument,
        code_deadline_exceeded: DeadlineExceeded => DeadlineExceeded,
        code_not_found: NotFound => NotFound,
        code_already_exists: AlreadyExists => Other,
        code_permission_denied: PermissionDenied => PermissionDenied,
        code_resource_exhausted: ResourceExhausted => ResourceExhausted,
        code_failed_precondition: FailedPrecondition => Other,
        code_aborted: Aborted => Other,
        code_out_of_range: OutOfRange => Other,
        code_unimplemented: Unimplemented => Unimplemented,
        code_internal: Internal => Other,
        code_unavailable: Unavailable => Unavailable,
        code_data_loss: DataLoss => Other,
        code_unauthenticated: Unauthenticated => Unauthenticated,
    }

    #[test]
    fn error_info_reason_is_read_and_displayed() {
        let mut metadata = std::collections::HashMap::new();
        metadata.insert(
            "quota_limit".to_owned(),
            "CancelRequestsPerMinute".to_owned(),
        );
        let err = round_trip(
            Code::ResourceExhausted,
            ErrorDetails::with_error_info(
                "RATE_LIMIT_EXCEEDED",
                "aiplatform.googleapis.com",
                metadata,
            ),
        );
        let rpc = err.rpc().unwrap();
        assert_eq!(rpc.reason(), Some("RATE_LIMIT_EXCEEDED"));
        assert_eq!(rpc.domain(), Some("aiplatform.googleapis.com"));
        let info: &ErrorInfo = rpc.details().error_info().unwrap();
        assert_eq!(info.metadata["quota_limit"], "CancelRequestsPerMinute");
        assert_eq!(
            err.to_string(),
            "RESOURCE_EXHAUSTED: it went wrong (reason RATE_LIMIT_EXCEEDED)"
        );
    }

    #[test]
    fn retry_info_gives_retry_delay() {
        let err = round_trip(
            Code::Unavailable,
            ErrorDetails::with_retry_info(Some(Duration::from_millis(2_500))),
        );
        assert_eq!(err.retry_delay(), Some(Duration::from_millis(2_500)));
        assert!(err.is_retryable());
    }

    #[test]
    fn bad_request_gives_field_violations() {
        let err = round_trip(
            Code::InvalidArgument,
            ErrorDetails::with_bad_request(vec![FieldViolation::new("name", "must not be empty")]),
        );
        let violations = err.rpc().unwrap().field_violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "name");
        assert_eq!(violations[0].description, "must not be empty");
        let bad: &BadRequest = err.rpc().unwrap().details().bad_request().unwrap();
        assert_eq!(bad.field_violations.len(), 1);
    }

    #[test]
    fn quota_failure_gives_quota_violations() {
        let err = round_trip(
            Code::ResourceExhausted,
            ErrorDetails::with_quota_failure_violation("project:p", "cancel quota spent"),
        );
        let violations = err.rpc().unwrap().quota_violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].subject, "project:p");
        let quota: &QuotaFailure = err.rpc().unwrap().details().quota_failure().unwrap();
        assert_eq!(quota.violations[0].description, "cancel quota spent");
    }

    #[test]
    fn precondition_failure_gives_precondition_violations() {
        let err = round_trip(
            Code::FailedPrecondition,
            ErrorDetails::with_precondition_failure_violation(
                "STATE",
                "pipelineJobs/1",
                "job is done",
            ),
        );
        let violations = err.rpc().unwrap().precondition_violations();
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].r#type, "STATE");
        let failure: &PreconditionFailure =
            err.rpc().unwrap().details().precondition_failure().unwrap();
        assert_eq!(failure.violations[0].subject, "pipelineJobs/1");
    }

    #[test]
    fn resource_info_is_decoded() {
        let details = details_of(ErrorDetails::with_resource_info(
            "aiplatform.googleapis.com/PipelineJob",
            "projects/p/locations/l/pipelineJobs/1",
            "owner",
            "no such job",
        ));
        let info: &ResourceInfo = details.resource_info().unwrap();
        assert_eq!(info.resource_name, "projects/p/locations/l/pipelineJobs/1");
        assert_eq!(info.description, "no such job");
    }

    #[test]
    fn debug_info_is_decoded() {
        let details = details_of(ErrorDetails::with_debug_info(
            vec!["frame 1".to_owned(), "frame 2".to_owned()],
            "internal detail",
        ));
        let info: &DebugInfo = details.debug_info().unwrap();
        assert_eq!(info.stack_entries, ["frame 1", "frame 2"]);
        assert_eq!(info.detail, "internal detail");
    }

    #[test]
    fn help_is_decoded() {
        let details = details_of(ErrorDetails::with_help_link(
            "quotas",
            "https://cloud.google.com/vertex-ai/docs/quotas",
        ));
        let help: &Help = details.help().unwrap();
        assert_eq!(help.links.len(), 1);
        assert_eq!(
            help.links[0].url,
            "https://cloud.google.com/vertex-ai/docs/quotas"
        );
    }

    #[test]
    fn localized_message_is_decoded() {
        let details = details_of(ErrorDetails::with_localized_message("fr-FR", "introuvable"));
        let message: &LocalizedMessage = details.localized_message().unwrap();
        assert_eq!(message.locale, "fr-FR");
        assert_eq!(message.message, "introuvable");
    }

    #[test]
    fn request_info_gives_request_id() {
        let err = round_trip(
            Code::Internal,
            ErrorDetails::with_request_info("req-123", "serving data"),
        );
        assert_eq!(err.rpc().unwrap().request_id(), Some("req-123"));
        let info: &RequestInfo = err.rpc().unwrap().details().request_info().unwrap();
        assert_eq!(info.serving_data, "serving data");
    }

    #[test]
    fn undecodable_details_keep_code_and_message() {
        let status = tonic::Status::with_details(Code::NotFound, "gone", vec![0xff, 0x01].into());
        let err = Error::from(status);
        assert!(matches!(err, Error::NotFound(_)));
        assert_eq!(err.rpc().unwrap().message(), "gone");
        assert_eq!(err.rpc().unwrap().reason(), None);
    }

    #[test]
    fn status_metadata_is_reachable() {
        let mut status = tonic::Status::not_found("gone");
        status
            .metadata_mut()
            .insert("x-request-id", "abc".parse().unwrap());
        let err = Error::from(status);
        let metadata = err.rpc().unwrap().status().metadata();
        assert_eq!(metadata.get("x-request-id").unwrap(), "abc");
    }

    #[test]
    fn already_finished_shows_state_and_code() {
        let rpc = RpcError::new(tonic::Status::failed_precondition("job is terminal"));
        let err = Error::AlreadyFinished {
            rpc,
            state: Some(State::Succeeded),
        };
        assert_eq!(err.code(), Some(Code::FailedPrecondition));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            format!(
                "already finished ({}): FAILED_PRECONDITION: job is terminal",
                State::Succeeded
            )
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("token endpoint said no")]
    struct Cause;

    #[test]
    fn source_is_kept_and_not_repeated() {
        let err = Error::Auth {
            source: Box::new(Cause),
        };
        let source = StdError::source(&err).expect("source kept");
        assert!(source.is::<Cause>());
        assert_eq!(err.to_string(), "could not obtain credentials");
        assert!(!err.to_string().contains("said no"));
        assert!(err.is_auth());
        assert_eq!(err.code(), None);
    }

    #[test]
    fn io_failure_inside_status_becomes_connection() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let status = tonic::Status::from_error(Box::new(tonic::ConnectError(Box::new(io))));
        assert_eq!(status.code(), Code::Unavailable);
        let err = Error::from_status_at(status, "http://127.0.0.1:9");
        let Error::Connection { endpoint, .. } = &err else {
            panic!("expected Connection, got {err:?}");
        };
        assert_eq!(endpoint, "http://127.0.0.1:9");
        assert!(err.is_retryable());
        assert_eq!(err.to_string(), "connection to http://127.0.0.1:9 failed");
        let messages: Vec<String> = chain(&err).map(ToString::to_string).collect();
        assert_eq!(messages[1..], ["UNAVAILABLE", "refused"]);
        assert!(chain(&err).last().unwrap().is::<std::io::Error>());
    }

    #[tokio::test]
    async fn refused_connection_becomes_connection() {
        use crate::wire::google::longrunning::{
            GetOperationRequest, operations_client::OperationsClient,
        };
        // Bind then drop, so the port is known to have no listener.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let channel = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .unwrap()
            .connect_lazy();
        let status = OperationsClient::new(channel)
            .get_operation(GetOperationRequest {
                name: "operations/1".into(),
            })
            .await
            .unwrap_err();
        let err = Error::from_status_at(status, &endpoint);
        assert!(matches!(err, Error::Connection { .. }), "{err:?}");
        let messages: Vec<String> = chain(&err).map(ToString::to_string).collect();
        assert_eq!(messages[0], format!("connection to {endpoint} failed"));
        assert_eq!(messages[1], "UNAVAILABLE: tcp connect error");
        assert!(
            chain(&err).last().unwrap().is::<std::io::Error>(),
            "{messages:?}"
        );
        assert_eq!(messages.len(), 3, "{messages:?}");
    }

    #[test]
    fn local_timeout_becomes_deadline_exceeded() {
        let status = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status.code(), Code::Cancelled);
        let err = Error::from(status);
        assert!(matches!(err, Error::DeadlineExceeded(_)), "{err:?}");
        assert!(err.is_retryable());
    }

    #[test]
    fn http2_errors_of_a_torn_down_connection_are_retryable_connection_failures() {
        // "h2 protocol error: ..." as tonic makes it: INTERNAL (or another code for other
        // reasons) with the h2 error as its source.
        for h2 in [
            h2::Error::from(h2::Reason::PROTOCOL_ERROR),
            h2::Error::from(h2::Reason::INTERNAL_ERROR),
            h2::Error::from(h2::Reason::ENHANCE_YOUR_CALM),
        ] {
            let status = tonic::Status::from_error(Box::new(h2));
            assert!(
                status.message().starts_with("h2 protocol error"),
                "{status:?}"
            );
            let err = Error::from_status_at(status, "https://127.0.0.1:9");
            assert!(matches!(err, Error::Connection { .. }), "{err:?}");
            assert!(err.is_retryable(), "{err:?}");
        }
        // A server's own INTERNAL answer carries no source: still the server's answer.
        let err = Error::from(tonic::Status::internal("boom"));
        assert!(matches!(err, Error::Other(_)), "{err:?}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn request_cut_off_by_a_closing_connection_becomes_connection() {
        // What tonic returns when the server shuts down under an in-flight request.
        let mut status = tonic::Status::cancelled("operation was canceled");
        let closed = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection closed");
        status.set_source(std::sync::Arc::new(closed));
        let err = Error::from_status_at(status, "http://127.0.0.1:9");
        assert!(matches!(err, Error::Connection { .. }), "{err:?}");
        assert!(err.is_retryable());
        // A server's own CANCELLED answer carries no source: not a transport failure.
        let err = Error::from(tonic::Status::cancelled("the caller cancelled"));
        assert!(matches!(err, Error::Other(_)), "{err:?}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn server_status_without_source_is_not_connection() {
        let err = Error::from_status_at(tonic::Status::unavailable("backend down"), "e");
        assert!(matches!(err, Error::Unavailable(_)));
    }

    #[test]
    fn retries_exhausted_delegates_to_last() {
        let last = round_trip(
            Code::ResourceExhausted,
            ErrorDetails::with_retry_info(Some(Duration::from_secs(30))),
        );
        let err = Error::RetriesExhausted {
            attempts: 5,
            elapsed: Duration::from_millis(12_340),
            last: Box::new(last),
        };
        assert_eq!(err.code(), Some(Code::ResourceExhausted));
        assert_eq!(err.retry_delay(), Some(Duration::from_secs(30)));
        assert!(!err.is_retryable());
        assert_eq!(err.to_string(), "gave up after 5 attempts in 12.3s");
        let source = StdError::source(&err).unwrap();
        assert_eq!(source.to_string(), "RESOURCE_EXHAUSTED: it went wrong");
    }

    #[test]
    fn error_stays_small() {
        // Every Result of the crate carries this size; RpcError is boxed to keep it down.
        assert!(
            std::mem::size_of::<Error>() <= 64,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn predicates_classify_variants() {
        let bad = Error::InvalidName {
            input: "x".into(),
            reason: "no slash".into(),
        };
        assert!(bad.is_bad_input() && !bad.is_auth() && !bad.is_retryable());
        assert_eq!(bad.to_string(), "invalid resource name \"x\": no slash");
        let denied = Error::from(tonic::Status::permission_denied("no"));
        assert!(denied.is_auth() && !denied.is_bad_input());
        let waited = Error::WaitTimedOut {
            target: "projects/p/locations/l/pipelineJobs/1".into(),
            waited: Duration::from_secs(60),
            last_state: Some(State::Cancelling),
        };
        assert_eq!(waited.code(), Some(Code::DeadlineExceeded));
        assert!(!waited.is_retryable());
        assert_eq!(
            waited.to_string(),
            format!(
                "timed out after 60.0s waiting for projects/p/locations/l/pipelineJobs/1 (last state {})",
                State::Cancelling
            )
        );
    }

    /// Every detail type a client decodes, by its type URL.
    const DETAIL_TYPES: [&str; 10] = [
        "RetryInfo",
        "DebugInfo",
        "QuotaFailure",
        "ErrorInfo",
        "PreconditionFailure",
        "BadRequest",
        "RequestInfo",
        "ResourceInfo",
        "Help",
        "LocalizedMessage",
    ];

    /// Reads everything a caller can read from an error, as a caller would.
    fn read_all(err: &Error) {
        let _ = (err.to_string(), format!("{err:?}"), err.code());
        let _ = (err.is_retryable(), err.retry_delay(), err.is_bad_input());
        if let Some(rpc) = err.rpc() {
            let _ = (rpc.reason(), rpc.domain(), rpc.request_id(), rpc.message());
            let _ = (rpc.field_violations(), rpc.quota_violations());
            let _ = rpc.precondition_violations();
        }
    }

    mod decoding {
        use super::*;
        use crate::wire::google::rpc::Status as RpcStatus;
        use proptest::prelude::*;
        use prost::Message;

        fn status_with(code: i32, details: Vec<u8>) -> tonic::Status {
            tonic::Status::with_details(Code::from(code), "from a fuzzed server", details.into())
        }

        proptest! {
            #[test]
            fn any_details_bytes_decode_without_panic(
                code in 0i32..20,
                details in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                let err = Error::from(status_with(code, details));
                read_all(&err);
                prop_assert_eq!(err.code(), Some(Code::from(code)));
            }

            #[test]
            fn garbage_inside_well_typed_details_decodes_without_panic(
                code in 0i32..20,
                parts in proptest::collection::vec(
                    (0..DETAIL_TYPES.len(), proptest::collection::vec(any::<u8>(), 0..64)),
                    0..6,
                ),
            ) {
                let details = parts
                    .into_iter()
                    .map(|(kind, value)| prost_types::Any {
                        type_url: format!("type.googleapis.com/google.rpc.{}", DETAIL_TYPES[kind]),
                        value,
                    })
                    .collect();
                let encoded = RpcStatus { code, message: "m".into(), details }.encode_to_vec();
                read_all(&Error::from(status_with(code, encoded)));
            }

            #[test]
            fn valid_details_round_trip(
                reason in "[A-Z_]{1,30}",
                domain in "[a-z.]{1,30}",
                delay_ms in 0u64..10_000_000_000,
                field in "[a-z_.]{1,20}",
                description in "\\PC{0,40}",
                request_id in "[a-z0-9-]{1,20}",
            ) {
                let mut details = ErrorDetails::new();
                details
                    .set_error_info(reason.clone(), domain.clone(), std::collections::HashMap::new())
                    .set_retry_info(Some(Duration::from_millis(delay_ms)))
                    .add_bad_request_violation(field.clone(), description.clone())
                    .set_request_info(request_id.clone(), "");
                let err = round_trip(Code::ResourceExhausted, details);
                read_all(&err);
                let rpc = err.rpc().unwrap();
                prop_assert_eq!(rpc.reason(), Some(reason.as_str()));
                prop_assert_eq!(rpc.domain(), Some(domain.as_str()));
                prop_assert_eq!(err.retry_delay(), Some(Duration::from_millis(delay_ms)));
                prop_assert_eq!(&rpc.field_violations()[0].field, &field);
                prop_assert_eq!(&rpc.field_violations()[0].description, &description);
                prop_assert_eq!(rpc.request_id(), Some(request_id.as_str()));
                prop_assert!(err.is_retryable());
            }
        }
    }
}
