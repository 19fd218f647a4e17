//! Injected faults: which calls fail or slow down, how often, and the status they get.
//!
//! Tests of retry, backoff and error mapping need a server that misbehaves on cue, the way
//! Google's does (UNAVAILABLE with a RetryInfo, RESOURCE_EXHAUSTED with an ErrorInfo, ...).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::error::FakeError;
use super::rpc::{Rpc, code_name, code_serde};

/// The `ErrorInfo.domain` Google's errors carry.
pub(crate) const ERROR_DOMAIN: &str = "googleapis.com";
/// The service name in `ErrorInfo.metadata`.
const SERVICE_NAME: &str = "aiplatform.googleapis.com";

/// A fault: make matching calls fail with `code` and/or wait `delay_ms` first.
///
/// A rule with no `code` only delays. `fail_first: Some(n)` limits the rule to the first `n`
/// matching calls; `None` applies it to every matching call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Methods it applies to, short (`CancelPipelineJob`) or full gRPC path; empty = all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The status code to answer with; `None` = delay only.
    #[serde(default, with = "code_serde", skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// Apply to the first N matching calls only; `None` = every matching call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_first: Option<u32>,
    /// Wait this long before answering (before the auth check, as a slow network would).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Attach a `google.rpc.RetryInfo` with this delay to the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_ms: Option<u64>,
    /// The status message; a default naming the fault otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl FaultRule {
    /// A rule answering every call with `code`.
    pub fn fail(code: Code) -> Self {
        Self {
            code: Some(code),
            ..Self::default()
        }
    }

    /// A rule delaying every call by `delay`, then letting it through.
    pub fn slow(delay: Duration) -> Self {
        Self::default().with_delay(delay)
    }

    /// Limits the rule to these methods (short names or full paths).
    pub fn on_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Limits the rule to the first `n` matching calls.
    pub fn first(mut self, n: u32) -> Self {
        self.fail_first = Some(n);
        self
    }

    /// Delays matching calls by `delay`.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay_ms = Some(millis(delay));
        self
    }

    /// Attaches a `RetryInfo` asking the client to wait `delay`.
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay_ms = Some(millis(delay));
        self
    }

    /// Sets the status message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A rule in force: the methods resolved and a counter of the calls it matched.
#[derive(Debug)]
pub(crate) struct ArmedFault {
    rule: FaultRule,
    /// `None` = every method.
    rpcs: Option<Vec<Rpc>>,
    matched: AtomicU64,
}

impl ArmedFault {
    /// Resolves the rule's method names.
    ///
    /// # Errors
    /// [`FakeError::InvalidFault`] for a method the fake does not serve or a rule that does
    /// nothing.
    pub(crate) fn arm(rule: FaultRule) -> Result<Self, FakeError> {
        if rule.code.is_none() && rule.delay_ms.is_none() {
            return Err(FakeError::InvalidFault {
                reason: "a rule needs a code, a delay_ms, or both".into(),
            });
        }
        if rule.code == Some(Code::Ok) {
            return Err(FakeError::InvalidFault {
                reason: "OK is not a fault; leave code out for a delay-only rule".into(),
            });
        }
        let rpcs = if rule.methods.is_empty() {
            None
        } else {
            let resolved = rule.methods.iter().map(|m| {
                Rpc::named(m).ok_or_else(|| FakeError::InvalidFault {
                    reason: format!("the fake does not serve a method named {m:?}"),
                })
            });
            Some(resolved.collect::<Result<Vec<_>, _>>()?)
        };
        Ok(Self {
            rule,
            rpcs,
            matched: AtomicU64::new(0),
        })
    }

    /// Counts a call to `rpc` and says whether the rule applies to it.
    fn take(&self, rpc: Rpc) -> bool {
        if self.rpcs.as_ref().is_some_and(|rpcs| !rpcs.contains(&rpc)) {
            return false;
        }
        let seen = self.matched.fetch_add(1, Ordering::Relaxed);
        self.rule.fail_first.is_none_or(|n| seen < u64::from(n))
    }
}

/// What the faults decided for one call: wait this long, then (after auth) fail with this.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    pub(crate) delay: Duration,
    pub(crate) error: Option<Status>,
}

impl FaultPlan {
    /// Counts the call against every rule (global first, then the resource's) and combines the
    /// rules that apply: their delays add up, the first with a code decides the error.
    pub(crate) fn for_call<'a>(rpc: Rpc, rules: impl IntoIterator<Item = &'a ArmedFault>) -> Self {
        let mut plan = Self::default();
        for armed in rules {
            if !armed.take(rpc) {
                continue;
            }
            plan.delay += Duration::from_millis(armed.rule.delay_ms.unwrap_or(0));
            if plan.error.is_none() {
                plan.error = armed
                    .rule
                    .code
                    .map(|code| injected_status(&armed.rule, code, rpc));
            }
        }
        plan
    }
}

/// The status an injected fault answers with, carrying the details Google's errors carry.
fn injected_status(rule: &FaultRule, code: Code, rpc: Rpc) -> Status {
    let message = rule
        .message
        .clone()
        .unwrap_or_else(|| format!("injected fault: {} on {}", code_name(code), rpc.short()));
    let mut details = ErrorDetails::new();
    if let Some(ms) = rule.retry_delay_ms {
        details.set_retry_info(Some(Duration::from_millis(ms)));
    }
    let reason = match code {
        Code::PermissionDenied => Some("IAM_PERMISSION_DENIED"),
        Code::ResourceExhausted => Some("RATE_LIMIT_EXCEEDED"),
        _ => None,
    };
    if let Some(reason) = reason {
        details.set_error_info(reason, ERROR_DOMAIN, error_info_metadata(rpc));
    }
    Status::with_error_details(code, message, details)
}

/// The `ErrorInfo.metadata` Google attaches: which service and method refused.
pub(crate) fn error_info_metadata(rpc: Rpc) -> HashMap<String, String> {
    HashMap::from([
        ("service".to_owned(), SERVICE_NAME.to_owned()),
        ("method".to_owned(), rpc.dotted()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_first_counts_only_matching_calls() {
        let armed = ArmedFault::arm(
            FaultRule::fail(Code::Unavailable)
                .on_methods(["GetPipelineJob"])
                .first(2),
        )
        .unwrap();
        let rules = [armed];
        assert!(
            FaultPlan::for_call(Rpc::CancelPipelineJob, &rules)
                .error
                .is_none()
        );
        assert!(
            FaultPlan::for_call(Rpc::GetPipelineJob, &rules)
                .error
                .is_some()
        );
        assert!(
            FaultPlan::for_call(Rpc::GetPipelineJob, &rules)
                .error
                .is_some()
        );
        assert!(
            FaultPlan::for_call(Rpc::GetPipelineJob, &rules)
                .error
                .is_none()
        );
    }

    #[test]
    fn delays_add_up_and_first_code_wins() {
        let rules = [
            ArmedFault::arm(FaultRule::slow(Duration::from_millis(5))).unwrap(),
            ArmedFault::arm(FaultRule::fail(Code::Internal).with_delay(Duration::from_millis(7)))
                .unwrap(),
            ArmedFault::arm(FaultRule::fail(Code::Unavailable)).unwrap(),
        ];
        let plan = FaultPlan::for_call(Rpc::GetOperation, &rules);
        assert_eq!(plan.delay, Duration::from_millis(12));
        assert_eq!(plan.error.unwrap().code(), Code::Internal);
    }

    #[test]
    fn unknown_methods_and_empty_rules_are_refused() {
        assert!(ArmedFault::arm(FaultRule::fail(Code::Internal).on_methods(["Nope"])).is_err());
        assert!(ArmedFault::arm(FaultRule::default()).is_err());
        assert!(ArmedFault::arm(FaultRule::fail(Code::Ok)).is_err());
    }

    #[test]
    fn scenario_json_shape() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"methods": ["GetPipelineJob"], "code": "UNAVAILABLE", "fail_first": 2, "retry_delay_ms": 250}"#,
        )
        .unwrap();
        assert_eq!(rule.code, Some(Code::Unavailable));
        assert_eq!(rule.fail_first, Some(2));
        assert!(serde_json::from_str::<FaultRule>(r#"{"code": "BAD"}"#).is_err());
    }
}
