//! The List `filter` language the fake understands: Google's (AIP-160), parsed by the library's
//! own parser (`filter_syntax`: `NOT`, `AND`, `OR` binding tighter than `AND`, parentheses,
//! `"..."` and `'...'` strings), restricted per kind to the fields that kind's List request
//! documents in its `filter` comment: the library's own table of them, the one its sweep
//! splits filters by.
//!
//! By field: `state` (`=`, `!=`; the full enum name, e.g. `PIPELINE_STATE_RUNNING`);
//! `display_name` and, for pipeline jobs, `pipeline_job_user_id` (the id a job was created
//! with, the last segment of its name) (`=`, `!=`, `:` with `*` wildcards); `labels.KEY` (`=` a value, or `:*` for
//! presence); `create_time` and, for pipeline jobs, `update_time` and `end_time` (`=`, `!=`, `<`,
//! `<=`, `>`, `>=` against a quoted RFC 3339 time); `done` for operations (`true` / `false`).
//! Fields a kind documents but the fake does not model (`pipeline_name`, `template_uri`,
//! `model_display_name`, `training_task_definition` ...) are accepted and compare against the
//! empty string, as on a resource that has none. Anything else is refused, as Google refuses a
//! field its List does not support, so a client cannot come to rely on a filter the real service
//! would reject. `ListTuningJobs` and `ListOperations` document only "the standard list filter":
//! the fake takes the fields a TuningJob has from the standard set (`state`, `create_time`,
//! `labels`), and `done` for operations.

use std::collections::HashMap;
use std::time::SystemTime;

use super::names::ResourceKind;
use super::state::state_from_enum_name;
use crate::State;
use crate::client::{Documented, EQ_NE, LABEL_OPS, ORDERED, documented_fields, wildcard};
use crate::filter_syntax::{self, Expr, Op, Restriction};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter {
    /// `None`: no filter, everything passes.
    expr: Option<Expr<Test>>,
}

/// What a filter reads of one resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// The last segment of its name (what `pipeline_job_user_id` compares).
    pub(crate) id: &'a str,
    pub(crate) state: State,
    pub(crate) display_name: &'a str,
    pub(crate) labels: &'a HashMap<String, String>,
    pub(crate) create_time: SystemTime,
    pub(crate) update_time: SystemTime,
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) end_time: Option<SystemTime>,
}

/// One comparison, checked against the kind and ready to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    State(State, bool),
    Text {
        field: Text,
        pattern: String,
        op: Op,
    },
    Label(String, Option<String>),
    Time(Time, Op, SystemTime),
    Done(bool),
}

/// A string field: the display name, the id, or one the fake does not model (always empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    DisplayName,
    Id,
    Unmodelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Time {
    Create,
    Update,
    End,
}

/// What the fake reads for a documented field (its operators are the table's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    State,
    Text(Text),
    Labels,
    Time(Time),
    Done,
}

impl Field {
    fn named(name: &str) -> Self {
        match name {
            "state" => Self::State,
            "display_name" => Self::Text(Text::DisplayName),
            // The id a pipeline job was created with: the last segment of its name.
            "pipeline_job_user_id" => Self::Text(Text::Id),
            "labels" => Self::Labels,
            "create_time" => Self::Time(Time::Create),
            "update_time" => Self::Time(Time::Update),
            "end_time" => Self::Time(Time::End),
            "done" => Self::Done,
            _ => Self::Text(Text::Unmodelled),
        }
    }
}

/// The standard list filter's fields a TuningJob has (`ListTuningJobs` names none).
const TUNING_JOB_FIELDS: &[Documented] = &[
    ("state", EQ_NE),
    ("create_time", ORDERED),
    ("labels", LABEL_OPS),
];

/// The standard list filter of `ListOperations`.
const OPERATION_FIELDS: &[Documented] = &[("done", EQ_NE)];

/// The fields (and operators) `kind`'s List takes: for a List whose `filter` comment names
/// them, the library's table; the standard list filter for the two whose comment names none
/// (the sweep sends those no filter at all).
fn documented(kind: ResourceKind) -> &'static [Documented] {
    match kind {
        ResourceKind::TuningJob => TUNING_JOB_FIELDS,
        ResourceKind::Operation => OPERATION_FIELDS,
        job => documented_fields(job).unwrap_or_default(),
    }
}

impl Filter {
    /// Parses `input` for a List of `kind`; empty means "everything".
    ///
    /// # Errors
    /// A reason, fit for a `BadRequest` violation on `filter`.
    pub(crate) fn parse(kind: ResourceKind, input: &str) -> Result<Self, String> {
        let expr = filter_syntax::parse(input)?;
        let expr = expr.map(|e| e.try_map(&mut |r| test_of(kind, r)));
        Ok(Self {
            expr: expr.transpose()?,
        })
    }

    /// The ids the filter names, when it selects exactly the resources with those ids
    /// (`pipeline_job_user_id="a" OR ...`): a List can then look them up instead of scanning.
    pub(crate) fn only_ids(&self) -> Option<Vec<&str>> {
        match self.expr.as_ref()? {
            Expr::Or(items) => items.iter().map(id_named).collect(),
            one => id_named(one).map(|id| vec![id]),
        }
    }

    /// Whether a resource passes.
    pub(crate) fn matches(&self, subject: &Subject<'_>) -> bool {
        self.expr
            .as_ref()
            .is_none_or(|e| e.eval(&|t| t.matches(subject)))
    }
}

/// The id an `id = "..."` comparison names.
fn id_named(expr: &Expr<Test>) -> Option<&str> {
    match expr {
        Expr::Cmp(Test::Text {
            field: Text::Id,
            pattern,
            op: Op::Eq,
        }) => Some(pattern.as_str()),
        _ => None,
    }
}

impl Test {
    fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Self::State(state, equal) => (*state == s.state) == *equal,
            Self::Text { field, pattern, op } => {
                let value = match field {
                    Text::DisplayName => s.display_name,
                    Text::Id => s.id,
                    Text::Unmodelled => "",
                };
                match op {
                    Op::Has => wildcard(pattern, value),
                    Op::Ne => pattern != value,
                    _ => pattern == value,
                }
            }
            Self::Label(key, value) => match value {
                Some(v) => s.labels.get(key) == Some(v),
                None => s.labels.contains_key(key),
            },
            Self::Time(which, op, at) => {
                let value = match which {
                    Time::Create => Some(s.create_time),
                    Time::Update => Some(s.update_time),
                    Time::End => s.end_time,
                };
                value.is_some_and(|v| compare(*op, v, *at))
            }
            Self::Done(done) => *done == s.state.is_terminal(),
        }
    }
}

fn compare(op: Op, value: SystemTime, at: SystemTime) -> bool {
    match op {
        Op::Eq | Op::Has => value == at,
        Op::Ne => value != at,
        Op::Lt => value < at,
        Op::Le => value <= at,
        Op::Gt => value > at,
        Op::Ge => value >= at,
    }
}

/// Checks one comparison against what `kind`'s List documents, as Google's server would.
fn test_of(kind: ResourceKind, restriction: &Restriction) -> Result<Test, String> {
    let Restriction {
        field: path, op, ..
    } = restriction;
    let (op, value) = (*op, restriction.value.text());
    let (name, key) = match path.split_once('.') {
        Some(("labels", key)) => ("labels", Some(key)),
        _ => (path.as_str(), None),
    };
    let ops = documented(kind)
        .iter()
        .find(|(documented, _)| *documented == name)
        .map(|(_, ops)| *ops)
        .ok_or_else(|| {
            format!(
                "{path:?} is not a supported filter field of {}s",
                kind.message_name()
            )
        })?;
    if !ops.contains(&op) {
        return Err(format!("{path} does not support this comparison"));
    }
    Ok(match Field::named(name) {
        Field::State => {
            let state = state_from_enum_name(kind, value).ok_or_else(|| {
                format!(
                    "{value:?} is not a {} state (write the full enum name)",
                    kind.message_name()
                )
            })?;
            Test::State(state, op == Op::Eq)
        }
        Field::Text(text) => Test::Text {
            field: text,
            pattern: value.to_owned(),
            op,
        },
        Field::Labels => {
            let key = key
                .filter(|k| !k.is_empty())
                .ok_or("labels needs a key: labels.KEY")?;
            match op {
                Op::Has if value == "*" => Test::Label(key.to_owned(), None),
                Op::Has => return Err(format!("labels.{key} supports :* (presence) only")),
                _ => Test::Label(key.to_owned(), Some(value.to_owned())),
            }
        }
        Field::Time(which) => Test::Time(which, op, rfc3339(path, value)?),
        Field::Done => Test::Done(match value {
            "true" => op == Op::Eq,
            "false" => op == Op::Ne,
            _ => return Err(format!("done must be true or false, not {value:?}")),
        }),
    })
}

fn rfc3339(path: &str, value: &str) -> Result<SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(SystemTime::from)
        .map_err(|_| format!("{path} must be an RFC 3339 time, not {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PJ: ResourceKind = ResourceKind::PipelineJob;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn passes(
        kind: ResourceKind,
        filter: &str,
        state: State,
        name: &str,
        labels: &[(&str, &str)],
    ) -> bool {
        let labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let subject = Subject {
            id: "job-7",
            state,
            display_name: name,
            labels: &labels,
            create_time: at(1_600_000_000),
            update_time: at(1_700_000_000),
            start_time: None,
            end_time: None,
        };
        Filter::parse(kind, filter).unwrap().matches(&subject)
    }

    #[test]
    fn a_pipeline_job_is_found_by_the_id_it_was_created_with() {
        let by_id = r#"pipeline_job_user_id="job-3" OR pipeline_job_user_id="job-7""#;
        assert!(passes(PJ, by_id, State::Running, "x", &[]));
        assert!(!passes(
            PJ,
            r#"pipeline_job_user_id="job-3""#,
            State::Running,
            "x",
            &[]
        ));
        assert!(passes(
            PJ,
            r#"pipeline_job_user_id:"job-*""#,
            State::Running,
            "x",
            &[]
        ));
        assert!(passes(
            PJ,
            r#"pipeline_job_user_id!="job-3""#,
            State::Running,
            "x",
            &[]
        ));
    }

    #[test]
    fn state_terms() {
        assert!(passes(
            PJ,
            "state=PIPELINE_STATE_RUNNING",
            State::Running,
            "",
            &[]
        ));
        assert!(!passes(
            PJ,
            "state=PIPELINE_STATE_RUNNING",
            State::Failed,
            "",
            &[]
        ));
        assert!(!passes(
            PJ,
            r#"state!="PIPELINE_STATE_RUNNING""#,
            State::Running,
            "",
            &[]
        ));
        assert!(passes(
            ResourceKind::TrainingPipeline,
            "state=PIPELINE_STATE_CANCELLING",
            State::Cancelling,
            "",
            &[]
        ));
        assert!(passes(
            ResourceKind::CustomJob,
            "state=JOB_STATE_EXPIRED",
            State::Expired,
            "",
            &[]
        ));
    }

    #[test]
    fn and_or_not() {
        let and = r#"state=PIPELINE_STATE_RUNNING AND display_name="a b AND c""#;
        assert!(passes(PJ, and, State::Running, "a b AND c", &[]));
        assert!(!passes(PJ, and, State::Running, "x", &[]));
        let or = "state=PIPELINE_STATE_RUNNING OR state=PIPELINE_STATE_QUEUED";
        assert!(passes(PJ, or, State::Queued, "", &[]));
        assert!(!passes(PJ, or, State::Failed, "", &[]));
        assert!(!passes(
            PJ,
            r#"NOT display_name="x""#,
            State::Failed,
            "x",
            &[]
        ));
    }

    #[test]
    fn labels_on_every_job_kind() {
        for kind in ResourceKind::ALL {
            if kind == ResourceKind::Operation {
                continue;
            }
            let team = [("team", "search")];
            assert!(passes(
                kind,
                r#"labels.team="search""#,
                State::Running,
                "",
                &team
            ));
            assert!(passes(
                kind,
                "labels.team=search",
                State::Running,
                "",
                &team
            ));
            assert!(!passes(
                kind,
                r#"labels.team="ads""#,
                State::Running,
                "",
                &team
            ));
            assert!(passes(kind, "labels.team:*", State::Running, "", &team));
            assert!(!passes(kind, "labels.owner:*", State::Running, "", &team));
            assert!(!passes(kind, "labels.team:*", State::Running, "", &[]));
        }
    }

    #[test]
    fn wildcards_and_times() {
        let kind = ResourceKind::CustomJob;
        assert!(passes(
            kind,
            r#"display_name:"nightly-*""#,
            State::Running,
            "nightly-3",
            &[]
        ));
        assert!(!passes(
            kind,
            r#"display_name:"nightly-*""#,
            State::Running,
            "daily",
            &[]
        ));
        assert!(passes(
            kind,
            r#"display_name:"*-3""#,
            State::Running,
            "nightly-3",
            &[]
        ));
        let after = r#"create_time>"2020-01-01T00:00:00Z""#;
        assert!(passes(kind, after, State::Running, "", &[]));
        let before = r#"create_time<="2020-01-01T00:00:00Z""#;
        assert!(!passes(kind, before, State::Running, "", &[]));
        assert!(passes(
            PJ,
            r#"update_time>"2023-01-01T00:00:00+01:00""#,
            State::Running,
            "",
            &[]
        ));
        assert!(!passes(
            PJ,
            r#"end_time<"2030-01-01T00:00:00Z""#,
            State::Running,
            "",
            &[]
        ));
        assert!(passes(PJ, r#"pipeline_name!="x""#, State::Running, "", &[]));
    }

    /// AIP-160's structure, which the fake once refused: parentheses, `AND` and `OR` in one
    /// filter (`OR` binding tighter), `NOT` before a group, and single-quoted strings.
    #[test]
    fn parentheses_mixed_and_or_and_single_quotes() {
        let mixed =
            "display_name=a AND state=PIPELINE_STATE_QUEUED OR state=PIPELINE_STATE_RUNNING";
        assert!(passes(PJ, mixed, State::Running, "a", &[]));
        assert!(
            !passes(PJ, mixed, State::Running, "b", &[]),
            "OR binds tighter than AND"
        );
        let grouped =
            "(display_name=a AND state=PIPELINE_STATE_QUEUED) OR state=PIPELINE_STATE_RUNNING";
        assert!(passes(PJ, grouped, State::Running, "b", &[]));
        assert!(passes(
            PJ,
            "(state=PIPELINE_STATE_RUNNING)",
            State::Running,
            "",
            &[]
        ));
        let not_group = "NOT (display_name=a OR display_name=b)";
        assert!(passes(PJ, not_group, State::Running, "c", &[]));
        assert!(!passes(PJ, not_group, State::Running, "b", &[]));
        assert!(passes(
            PJ,
            r"display_name='it\'s'",
            State::Running,
            "it's",
            &[]
        ));
        // The kind's fields are checked inside groups too.
        assert!(Filter::parse(PJ, "NOT (state=PIPELINE_STATE_RUNNING OR done=true)").is_err());
    }

    #[test]
    fn done_for_operations() {
        let op = ResourceKind::Operation;
        assert!(passes(op, "done=false", State::Cancelling, "", &[]));
        assert!(!passes(op, "done=false", State::Cancelled, "", &[]));
    }

    #[test]
    fn refusals() {
        for (kind, bad) in [
            (PJ, "state=RUNNING"),
            (PJ, "state=JOB_STATE_RUNNING"),
            (
                PJ,
                "state=PIPELINE_STATE_RUNNING AND state=PIPELINE_STATE_QUEUED OR done=true",
            ),
            (PJ, "state=PIPELINE_STATE_RUNNING AND"),
            (PJ, "state PIPELINE_STATE_RUNNING"),
            (PJ, "create_time>\"2024\""),
            (PJ, "done=true"),
            (PJ, r#"display_name="unterminated"#),
            (PJ, "state<PIPELINE_STATE_RUNNING"),
            (PJ, "labels.team:search"),
            (PJ, "labels=x"),
            (PJ, "(state=PIPELINE_STATE_RUNNING"),
            (PJ, "state=PIPELINE_STATE_RUNNING)"),
            (PJ, "state=PIPELINE_STATE_RUNNING and display_name=x"),
            (ResourceKind::Operation, "done=maybe"),
            (ResourceKind::Operation, "state=PIPELINE_STATE_RUNNING"),
            (ResourceKind::Operation, "labels.a=b"),
            (
                ResourceKind::NasJob,
                "state=JOB_STATE_RUNNING state=JOB_STATE_FAILED",
            ),
            (
                ResourceKind::CustomJob,
                "update_time>\"2024-01-01T00:00:00Z\"",
            ),
            (ResourceKind::CustomJob, "pipeline_name=\"x\""),
            (ResourceKind::CustomJob, "model_display_name=\"x\""),
            (
                ResourceKind::BatchPredictionJob,
                "model_display_name:\"x*\"",
            ),
            (
                ResourceKind::TrainingPipeline,
                "end_time<\"2024-01-01T00:00:00Z\"",
            ),
            (ResourceKind::TuningJob, "display_name=\"x\""),
            (ResourceKind::TrainingPipeline, "state=JOB_STATE_RUNNING"),
        ] {
            assert!(Filter::parse(kind, bad).is_err(), "{kind}: {bad}");
        }
    }

    #[test]
    fn empty_matches_everything() {
        assert!(passes(PJ, "  ", State::Failed, "x", &[]));
    }
}
