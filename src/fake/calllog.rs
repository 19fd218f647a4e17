//! The call log: what each client call looked like and how it was answered.
//!
//! Tests of the client check what it sent (routing headers, the deadline, the token's presence)
//! without a proxy or packet capture; the standalone fake writes the same records as JSON lines
//! for tests in other languages and for people watching a demo.

use std::fs::File;
use std::io::{LineWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tonic::Code;
use tonic::metadata::MetadataMap;

use super::error::FakeError;
use super::rpc::Rpc;
use crate::code::code_name;

/// How many characters of the `authorization` value the log keeps.
pub const AUTHORIZATION_SHOWN_CHARS: usize = 12;

/// The server's deadline timer starts a moment before the log's clock, so an abandoned call
/// within this of its deadline counts as having run out of time.
const DEADLINE_SLACK: Duration = Duration::from_millis(5);

/// One call the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The full gRPC path, e.g. `/google.cloud.aiplatform.v1.PipelineService/CancelPipelineJob`.
    pub method: &'static str,
    /// The method name alone, e.g. `CancelPipelineJob`.
    pub rpc: &'static str,
    /// The request's `name` (or `parent` for List; for ListOperations its `name`).
    pub target: String,
    /// Every request header in arrival order; `authorization` cut to its first
    /// [`AUTHORIZATION_SHOWN_CHARS`] characters followed by `…`, binary values as their length.
    pub headers: Vec<(String, String)>,
    /// The deadline the client sent (`grpc-timeout`), if any.
    pub deadline: Option<Duration>,
    /// The status code answered (DEADLINE_EXCEEDED / CANCELLED if the call was abandoned).
    pub code: Code,
    /// How long the fake took to answer.
    pub duration: Duration,
    /// When the call arrived.
    pub at: SystemTime,
    /// The client's address and port: calls on one HTTP/2 connection share it.
    pub peer: Option<SocketAddr>,
}

impl CallRecord {
    /// The first value of header `name` (lower case), as recorded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The record as one line of JSON (no newline): `method`, `rpc`, `target`, `headers` (an
    /// object; a repeated header keeps its last value), `deadline_ms` (or null), `code` (its
    /// canonical name), `duration_us`, `at_unix_ms`, `peer` (or null).
    pub fn to_json_line(&self) -> String {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::from(v.as_str())))
            .collect();
        serde_json::json!({
            "method": self.method,
            "rpc": self.rpc,
            "target": self.target,
            "headers": headers,
            "deadline_ms": self.deadline.map(|d| saturating_u64(d.as_millis())),
            "code": code_name(self.code),
            "duration_us": saturating_u64(self.duration.as_micros()),
            "at_unix_ms": saturating_u64(
                self.at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
            ),
            "peer": self.peer.map(|p| p.to_string()),
        })
        .to_string()
    }
}

/// JSON numbers above `u64::MAX` would make `json!` fail; no real duration gets there.
fn saturating_u64(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Where records go: memory (for [`calls`](super::FakeHandle::calls)) and/or a JSON-lines file.
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    memory: Option<Mutex<Vec<CallRecord>>>,
    file: Option<Mutex<LineWriter<File>>>,
}

impl CallLog {
    /// A log keeping records in memory if `in_memory`, and appending them to `file` if given.
    pub(crate) fn new(in_memory: bool, file: Option<&Path>) -> Result<Self, FakeError> {
        let file = file
            .map(|path| {
                File::create(path)
                    .map(|f| Mutex::new(LineWriter::new(f)))
                    .map_err(|source| FakeError::CallLog {
                        path: path.to_owned(),
                        source,
                    })
            })
            .transpose()?;
        Ok(Self {
            memory: in_memory.then(Mutex::default),
            file,
        })
    }

    fn is_on(&self) -> bool {
        self.memory.is_some() || self.file.is_some()
    }

    /// Starts recording a call; the record is written when the returned guard finishes or is
    /// dropped (a dropped guard means the client gave up or the deadline passed).
    pub(crate) fn begin(
        self: &Arc<Self>,
        rpc: Rpc,
        target: &str,
        metadata: &MetadataMap,
        deadline: Option<Duration>,
        peer: Option<SocketAddr>,
    ) -> CallGuard {
        let pending = self.is_on().then(|| {
            let headers = redacted_headers(metadata);
            (
                Arc::clone(self),
                CallRecord {
                    method: rpc.path(),
                    rpc: rpc.short(),
                    target: target.to_owned(),
                    headers,
                    deadline,
                    code: Code::Unknown,
                    duration: Duration::ZERO,
                    at: SystemTime::now(),
                    peer,
                },
            )
        });
        CallGuard {
            pending,
            started: Instant::now(),
        }
    }

    fn write(&self, record: CallRecord) {
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            // A full disk must not fail the call being served; the log is best effort.
            let _ = writeln!(file, "{}", record.to_json_line());
        }
        if let Some(memory) = &self.memory {
            memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record);
        }
    }

    /// A copy of the records so far.
    pub(crate) fn snapshot(&self) -> Vec<CallRecord> {
        self.memory.as_ref().map_or_else(Vec::new, |m| {
            m.lock().unwrap_or_else(PoisonError::into_inner).clone()
        })
    }

    /// Forgets the records so far.
    pub(crate) fn clear(&self) {
        if let Some(memory) = &self.memory {
            memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }
}

/// A call being recorded.
#[derive(Debug)]
pub(crate) struct CallGuard {
    pending: Option<(Arc<CallLog>, CallRecord)>,
    started: Instant,
}

impl CallGuard {
    /// Records the call as answered with `code`.
    pub(crate) fn finish(mut self, code: Code) {
        self.write(code);
    }

    fn write(&mut self, code: Code) {
        if let Some((log, mut record)) = self.pending.take() {
            record.code = code;
            record.duration = self.started.elapsed();
            log.write(record);
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let expired = self
            .pending
            .as_ref()
            .and_then(|(_, r)| r.deadline)
            .is_some_and(|d| self.started.elapsed() + DEADLINE_SLACK >= d);
        self.write(if expired {
            Code::DeadlineExceeded
        } else {
            Code::Cancelled
        });
    }
}

fn redacted_headers(metadata: &MetadataMap) -> Vec<(String, String)> {
    let headers: &http::HeaderMap = metadata.as_ref();
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if name == http::header::AUTHORIZATION {
                let text = String::from_utf8_lossy(value.as_bytes());
                let cut: String = text.chars().take(AUTHORIZATION_SHOWN_CHARS).collect();
                format!("{cut}…")
            } else if name.as_str().ends_with("-bin") {
                format!("<{} bytes>", value.len())
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_cut() {
        let mut md = MetadataMap::new();
        md.insert("authorization", "Bearer ya29.secret-token".parse().unwrap());
        md.insert("x-goog-request-params", "name=a".parse().unwrap());
        let headers = redacted_headers(&md);
        assert_eq!(headers[0], ("authorization".into(), "Bearer ya29.…".into()));
        assert_eq!(headers[1].1, "name=a");
    }

    #[test]
    fn a_dropped_guard_records_a_cancelled_call() {
        let log = Arc::new(CallLog::new(true, None).unwrap());
        drop(log.begin(Rpc::GetNasJob, "n", &MetadataMap::new(), None, None));
        log.begin(Rpc::GetNasJob, "n", &MetadataMap::new(), None, None)
            .finish(Code::Ok);
        let calls = log.snapshot();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].code, Code::Cancelled);
        assert_eq!(calls[1].code, Code::Ok);
        let json: serde_json::Value = serde_json::from_str(&calls[1].to_json_line()).unwrap();
        assert_eq!(json["rpc"], "GetNasJob");
        assert_eq!(json["code"], "OK");
        log.clear();
        assert!(log.snapshot().is_empty());
    }

    #[test]
    fn off_records_nothing() {
        let log = Arc::new(CallLog::new(false, None).unwrap());
        log.begin(Rpc::GetNasJob, "n", &MetadataMap::new(), None, None)
            .finish(Code::Ok);
        assert!(log.snapshot().is_empty());
    }
}
