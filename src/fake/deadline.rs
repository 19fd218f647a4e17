//! Call deadlines: the fake answers DEADLINE_EXCEEDED when a call's `grpc-timeout` passes, as
//! Google does.
//!
//! tonic's server enforces `grpc-timeout` itself and answers CANCELLED "Timeout expired", so
//! left alone a slow call got CANCELLED or DEADLINE_EXCEEDED depending on which timer fired
//! first. tonic's timer wraps every layer the server is given, so it cannot be turned off;
//! instead [`stamp_arrival`] runs inside it, notes when the call arrived (before tonic starts
//! its timer), and the fake ends the call [`DEADLINE_MARGIN`] before that deadline, at least one
//! timer tick ahead of tonic's. Its answer is then always the one sent.

use std::time::{Duration, Instant};

use tonic::Code;
use tonic::metadata::MetadataMap;

use super::dispatch::error;

/// How long before the client's deadline the fake gives up: two ticks of tokio's
/// millisecond timer, so the fake's timer always fires before tonic's.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(2);

/// When a call reached the fake's service stack, as a request extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival(Instant);

/// Notes the arrival time on a request; the server's outermost layer of its own.
pub(crate) fn stamp_arrival<B>(mut request: http::Request<B>) -> http::Request<B> {
    request.extensions_mut().insert(Arrival(Instant::now()));
    request
}

/// The deadline the client sent, if any, and when the fake gives up on the call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallDeadline {
    /// The `grpc-timeout` as sent.
    pub(crate) timeout: Duration,
    /// When the fake answers DEADLINE_EXCEEDED (`None` past the clock's range: never).
    pub(crate) give_up_at: Option<Instant>,
}

impl CallDeadline {
    /// Reads `grpc-timeout`, counting from the call's arrival (now, if it was not stamped).
    pub(crate) fn of(metadata: &MetadataMap, arrival: Option<&Arrival>) -> Option<Self> {
        let timeout = metadata
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)?;
        let arrived = arrival.map_or_else(Instant::now, |a| a.0);
        let give_up_at = arrived.checked_add(timeout.saturating_sub(DEADLINE_MARGIN));
        Some(Self {
            timeout,
            give_up_at,
        })
    }
}

/// What Google answers when a call's deadline passes.
pub(crate) fn deadline_exceeded() -> tonic::Status {
    error(
        Code::DeadlineExceeded,
        "Deadline expired before operation could complete.",
    )
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(n * 3600),
        'M' => Duration::from_secs(n * 60),
        'S' => Duration::from_secs(n),
        'm' => Duration::from_millis(n),
        'u' => Duration::from_micros(n),
        'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("-5S"), None);
    }

    #[test]
    fn the_fake_gives_up_a_margin_before_the_deadline() {
        let mut md = MetadataMap::new();
        md.insert("grpc-timeout", "30m".parse().unwrap());
        let arrival = Arrival(Instant::now());
        let d = CallDeadline::of(&md, Some(&arrival)).unwrap();
        assert_eq!(d.timeout, Duration::from_millis(30));
        assert_eq!(d.give_up_at, Some(arrival.0 + Duration::from_millis(28)));
        md.insert("grpc-timeout", "1u".parse().unwrap());
        let d = CallDeadline::of(&md, Some(&arrival)).unwrap();
        assert_eq!(d.give_up_at, Some(arrival.0));
        assert!(CallDeadline::of(&MetadataMap::new(), Some(&arrival)).is_none());
    }
}
