//! Scenario files: the JSON that seeds the fake with resources and faults, and its Rust form.
//!
//! One format serves the standalone fake (`--scenario FILE`), in-process tests
//! ([`Scenario::from_json`]) and the builder ([`ResourceSpec`]), so a scenario written for one
//! works in the others.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::FakeError;
use super::faults::FaultRule;
use crate::State;

/// A whole scenario: a default cancel delay, global faults and seeded resources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How long a cancelled resource stays CANCELLING, unless the resource says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_delay_ms: Option<u64>,
    /// Faults applied to every call they match.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects_only"
    )]
    pub faults: Vec<FaultRule>,
    /// The resources the fake starts with; each name at most once.
    #[serde(default, deserialize_with = "objects_only")]
    pub resources: Vec<ResourceSpec>,
    /// Location ids ListLocations reports for every project besides those of the resources,
    /// e.g. `["us-central1", "europe-west4"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

impl Scenario {
    /// Parses a scenario from JSON text.
    ///
    /// The scenario, each resource and each fault rule must be a JSON object (`[]` is refused,
    /// not read as an empty scenario), and a resource name may appear only once.
    ///
    /// # Errors
    /// [`FakeError::ScenarioJson`] if it is not JSON of the documented shape (unknown fields are
    /// refused, so a typo does not silently change the scenario);
    /// [`FakeError::InvalidResource`] if a resource name appears more than once.
    pub fn from_json(json: &str) -> Result<Self, FakeError> {
        let ObjectOnly(scenario) = serde_json::from_str::<ObjectOnly<Self>>(json)
            .map_err(|source| FakeError::ScenarioJson { source })?;
        check_unique_names(&scenario.resources)?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    ///
    /// # Errors
    /// [`FakeError::ReadScenario`] if the file cannot be read, else as [`Scenario::from_json`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, FakeError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| FakeError::ReadScenario {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }
}

/// One seeded resource: a pipeline job, NAS job or operation, chosen by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Its full relative name, e.g. `projects/p/locations/us-central1/pipelineJobs/a`.
    pub name: String,
    /// Its state, spelled without the enum prefix (`RUNNING`); RUNNING when absent.
    #[serde(default = "running", with = "state_serde")]
    pub state: State,
    /// Its display name (what `display_name="..."` filters match).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// Its labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Its `error`; seeded FAILED / CANCELLED resources get code 13 / 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// What a cancel leads to.
    #[serde(default)]
    pub cancel_outcome: CancelOutcome,
    /// Its own cancel delay, overriding the fake's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_delay_ms: Option<u64>,
    /// How long before it is seeded it was created and last updated (and, if finished,
    /// ended): a job of the project's history. Absent: all three are the moment of seeding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_ms: Option<u64>,
    /// Faults applied to calls naming this resource.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "objects_only"
    )]
    pub faults: Vec<FaultRule>,
}

fn running() -> State {
    State::Running
}

impl ResourceSpec {
    /// A resource with this name and state, everything else default.
    pub fn new(name: impl Into<String>, state: State) -> Self {
        Self {
            name: name.into(),
            state,
            display_name: String::new(),
            labels: BTreeMap::new(),
            error: None,
            cancel_outcome: CancelOutcome::default(),
            cancel_delay_ms: None,
            age_ms: None,
            faults: Vec::new(),
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = display_name.into();
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Sets the `error` it reports.
    pub fn with_error(mut self, code: i32, message: impl Into<String>) -> Self {
        self.error = Some(ErrorSpec {
            code,
            message: message.into(),
        });
        self
    }

    /// Sets what a cancel leads to.
    pub fn with_cancel_outcome(mut self, outcome: CancelOutcome) -> Self {
        self.cancel_outcome = outcome;
        self
    }

    /// Sets its own cancel delay.
    pub fn with_cancel_delay(mut self, delay: Duration) -> Self {
        self.cancel_delay_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Makes it `age` old when seeded: created, last updated and (if finished) ended that long
    /// before, as a job of the project's history is.
    pub fn with_age(mut self, age: Duration) -> Self {
        self.age_ms = Some(u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Adds a fault applied to calls naming this resource.
    pub fn with_fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }
}

/// A `google.rpc.Status` as a scenario writes it: `{"code": 13, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The `google.rpc.Code` number.
    pub code: i32,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// Where a cancelled resource ends up once the cancel delay has passed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelOutcome {
    /// CANCELLED with `error.code = 1` (an operation: done with error 1).
    #[default]
    Cancelled,
    /// Finished anyway: SUCCEEDED (an operation: done with a response).
    Succeeded,
    /// Finished anyway: FAILED with `error.code = 13`.
    Failed,
    /// Never finishes: stays CANCELLING (an operation: not done).
    Stuck,
}

/// Refuses a resource name seeded twice: which of the two the fake would serve is not
/// something a scenario should leave to its order.
///
/// # Errors
/// [`FakeError::InvalidResource`] naming the first repeated name.
pub(crate) fn check_unique_names(specs: &[ResourceSpec]) -> Result<(), FakeError> {
    let mut seen = HashSet::with_capacity(specs.len());
    match specs.iter().find(|spec| !seen.insert(spec.name.as_str())) {
        None => Ok(()),
        Some(spec) => Err(FakeError::InvalidResource {
            name: spec.name.clone(),
            reason: "the name is seeded more than once".into(),
        }),
    }
}

/// A value that must be written as a JSON object. Derived struct impls also accept an array
/// of the fields in order, so `[]` would read as an empty scenario.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Visit<T> {
            type Value = ObjectOnly<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOnly)
            }
        }
        d.deserialize_map(Visit(PhantomData))
    }
}

/// Serde for a list of objects (resources, fault rules), each refused unless an object.
fn objects_only<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Vec::<ObjectOnly<T>>::deserialize(d)?;
    Ok(items.into_iter().map(|ObjectOnly(item)| item).collect())
}

/// Serde for [`State`] as its prefix-less name.
mod state_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::State;

    pub(super) fn serialize<S: Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(state.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<State, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenario DESIGN.md shows, verbatim.
    const DESIGN_SCENARIO: &str = r#"{"cancel_delay_ms": 600,
 "faults": [{"methods": ["CancelOperation"], "code": "UNIMPLEMENTED"}],
 "resources": [
  {"name": "projects/p/locations/us-central1/pipelineJobs/a", "state": "RUNNING",
   "cancel_outcome": "CANCELLED",
   "faults": [{"methods": ["GetPipelineJob"], "code": "UNAVAILABLE", "fail_first": 2, "retry_delay_ms": 250}]},
  {"name": "projects/p/locations/europe-west4/nasJobs/7", "state": "FAILED"},
  {"name": "projects/p/locations/us-central1/operations/9", "state": "RUNNING"}]}"#;

    #[test]
    fn parses_the_documented_scenario() {
        let s = Scenario::from_json(DESIGN_SCENARIO).unwrap();
        assert_eq!(s.cancel_delay_ms, Some(600));
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.resources.len(), 3);
        assert_eq!(s.resources[0].faults[0].fail_first, Some(2));
        assert_eq!(s.resources[1].state, State::Failed);
        assert_eq!(s.resources[2].cancel_outcome, CancelOutcome::Cancelled);
    }

    #[test]
    fn round_trips_through_json() {
        let s = Scenario::from_json(DESIGN_SCENARIO).unwrap();
        let again = Scenario::from_json(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, again);
    }

    #[test]
    fn refuses_typos_and_prefixed_states() {
        assert!(Scenario::from_json(r#"{"resources": [{"nme": "x"}]}"#).is_err());
        let err = Scenario::from_json(
            r#"{"resources": [{"name": "x", "state": "PIPELINE_STATE_RUNNING"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, FakeError::ScenarioJson { .. }));
        assert!(matches!(
            Scenario::from_file("/nonexistent/scenario.json"),
            Err(FakeError::ReadScenario { .. })
        ));
    }

    #[test]
    fn a_history_job_gives_its_age() {
        let s = Scenario::from_json(
            r#"{"resources": [{"name": "x", "state": "SUCCEEDED", "age_ms": 86400000}]}"#,
        )
        .unwrap();
        let day = ResourceSpec::new("x", State::Succeeded).with_age(Duration::from_secs(86_400));
        assert_eq!(s.resources[0], day);
    }

    #[test]
    fn state_defaults_to_running() {
        let s = Scenario::from_json(r#"{"resources": [{"name": "x"}]}"#).unwrap();
        assert_eq!(s.resources[0].state, State::Running);
    }
}
