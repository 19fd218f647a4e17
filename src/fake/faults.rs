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
use super::rpc::{Rpc, code_serde};
use crate::code::code_name;

/// The `ErrorInfo.domain` Google's errors carry.
pub(crate) const ERROR_DOMAIN: &str = "googleapis.com";
/// The service name in `ErrorInfo.metadata`.
const SERVICE_NAME: &str = "aiplatform.googleapis.com";

/// A fault: make matching calls fail with `code` and/or wait `delay_ms` first.
///
/// A rule with no `code` only delays. Which matching calls it hits (counting from 1, every call
/// to one of its `methods` counts): the first `fail_first`, every `every`-th, a `probability`
/// fraction, or all of them when none is set; set together, a call must pass each. The
/// fraction is drawn from a sequence fixed by `seed` (and the rule's code), so a scenario such
/// as 20% UNAVAILABLE plus 10% RESOURCE_EXHAUSTED hits the same call numbers on every run:
/// ```json
/// {"faults": [
///   {"code": "UNAVAILABLE", "probability": 0.2, "seed": 1},
///   {"code": "RESOURCE_EXHAUSTED", "probability": 0.125, "seed": 1, "retry_delay_ms": 200}]}
/// ```
/// (The first rule with a code that applies decides the status, so the second rule sees only
/// the 80% the first let through: 0.125 of those is 10% of all calls.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Methods it applies to, short (`CancelPipelineJob`) or full gRPC path; empty = all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The names a call must name to be hit (a resource's name, or the `parent` / `name` a List
    /// names, e.g. `projects/p/locations/europe-west4`: one region's Lists); empty = any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The status code to answer with; `None` = delay only.
    #[serde(default, with = "code_serde", skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// Apply to the first N matching calls only; `None` = every matching call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_first: Option<u32>,
    /// Apply to every N-th matching call only (the N-th, 2N-th, ...); at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u32>,
    /// Apply to this fraction of matching calls (0.0 to 1.0), drawn from `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The seed of the `probability` draws; 0 when absent. Rules with different codes draw
    /// independently even with one seed; give rules with the same code different seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
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

    /// Limits the rule to calls naming one of `targets` (a resource, or a List's parent).
    pub fn on_targets<I, S>(mut self, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.targets = targets.into_iter().map(Into::into).collect();
        self
    }

    /// Limits the rule to the first `n` matching calls.
    pub fn first(mut self, n: u32) -> Self {
        self.fail_first = Some(n);
        self
    }

    /// Limits the rule to every `n`-th matching call (the `n`-th, `2n`-th, ...).
    pub fn every(mut self, n: u32) -> Self {
        self.every = Some(n);
        self
    }

    /// Limits the rule to a `probability` fraction of matching calls, drawn from the sequence
    /// `seed` fixes (so a test is repeatable).
    pub fn with_probability(mut self, probability: f64, seed: u64) -> Self {
        self.probability = Some(probability);
        self.seed = Some(seed);
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

impl FaultRule {
    /// Whether the rule hits the matching call numbered `seen` (from 0).
    fn hits(&self, seen: u64) -> bool {
        self.fail_first.is_none_or(|n| seen < u64::from(n))
            && self
                .every
                .is_none_or(|n| (seen + 1).is_multiple_of(u64::from(n)))
            && self.probability.is_none_or(|p| {
                let stream = self.code.map_or(0, |c| c as u64);
                unit_draw(self.seed.unwrap_or(0), stream, seen) < p
            })
    }

    /// Why the rule is unusable, if it is.
    fn problem(&self) -> Option<&'static str> {
        if self.code.is_none() && self.delay_ms.is_none() {
            return Some("a rule needs a code, a delay_ms, or both");
        }
        if self.code == Some(Code::Ok) {
            return Some("OK is not a fault; leave code out for a delay-only rule");
        }
        if self.every == Some(0) {
            return Some("every must be at least 1");
        }
        if self.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Some("probability must be between 0.0 and 1.0");
        }
        if self.seed.is_some() && self.probability.is_none() {
            return Some("a seed does nothing without a probability");
        }
        None
    }
}

/// The `n`-th number in `[0, 1)` of the sequence (`seed`, `stream`): SplitMix64, computed from
/// the position alone, so concurrent calls need no shared generator and the numbers a seed
/// gives never depend on timing.
fn unit_draw(seed: u64, stream: u64, n: u64) -> f64 {
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut z = (seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits fill an f64 mantissa exactly.
    (z >> 11) as f64 / (1_u64 << 53) as f64
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
        if let Some(reason) = rule.problem() {
            return Err(FakeError::InvalidFault {
                reason: reason.into(),
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

    /// Whether the rule may hit a call naming `target` (its call counter is not touched).
    pub(crate) fn names(&self, target: &str) -> bool {
        self.rule.targets.is_empty() || self.rule.targets.iter().any(|t| t == target)
    }

    /// Counts a call to `rpc` and says whether the rule applies to it.
    fn take(&self, rpc: Rpc) -> bool {
        if self.rpcs.as_ref().is_some_and(|rpcs| !rpcs.contains(&rpc)) {
            return false;
        }
        let seen = self.matched.fetch_add(1, Ordering::Relaxed);
        self.rule.hits(seen)
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
        let unavailable = || FaultRule::fail(Code::Unavailable);
        assert!(ArmedFault::arm(unavailable().every(0)).is_err());
        for p in [-0.1, 1.5, f64::NAN] {
            assert!(ArmedFault::arm(unavailable().with_probability(p, 1)).is_err());
        }
        let seed_only = FaultRule {
            seed: Some(3),
            ..unavailable()
        };
        assert!(ArmedFault::arm(seed_only).is_err());
    }

    #[test]
    fn every_nth_and_first_combine() {
        let rule = FaultRule::fail(Code::Unavailable).every(3);
        let hit: Vec<u64> = (0..10).filter(|&n| rule.hits(n)).collect();
        assert_eq!(hit, [2, 5, 8]);
        let rule = rule.first(6);
        let hit: Vec<u64> = (0..10).filter(|&n| rule.hits(n)).collect();
        assert_eq!(hit, [2, 5]);
    }

    #[test]
    fn a_seeded_probability_hits_the_same_calls_at_the_right_rate() {
        let rule = FaultRule::fail(Code::Unavailable).with_probability(0.2, 42);
        let hits: Vec<u64> = (0..10_000).filter(|&n| rule.hits(n)).collect();
        let again: Vec<u64> = (0..10_000).filter(|&n| rule.hits(n)).collect();
        assert_eq!(hits, again);
        assert!((1_850..=2_150).contains(&hits.len()), "{}", hits.len());
        let other_seed = FaultRule::fail(Code::Unavailable).with_probability(0.2, 43);
        assert!((0..10_000).any(|n| rule.hits(n) != other_seed.hits(n)));
        // Another code draws another sequence, so one seed does not make two rules overlap.
        let exhausted = FaultRule::fail(Code::ResourceExhausted).with_probability(0.2, 42);
        let both = (0..10_000)
            .filter(|&n| rule.hits(n) && exhausted.hits(n))
            .count();
        assert!((250..=550).contains(&both), "{both}");
        assert!(!(0..1000).any(|n| rule.clone().with_probability(0.0, 1).hits(n)));
        assert!((0..1000).all(|n| rule.clone().with_probability(1.0, 1).hits(n)));
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
        let one_region: FaultRule = serde_json::from_str(
            r#"{"code": "PERMISSION_DENIED", "targets": ["projects/p/locations/eu"]}"#,
        )
        .unwrap();
        let armed = ArmedFault::arm(one_region).unwrap();
        assert!(armed.names("projects/p/locations/eu"));
        assert!(!armed.names("projects/p/locations/us"));
        assert!(
            ArmedFault::arm(FaultRule::fail(Code::Internal))
                .unwrap()
                .names("any")
        );
    }
}
