//! The List `filter` language the fake understands: Google's (AIP-160) restricted, per kind, to
//! the fields that kind's List request documents in its `filter` comment.
//!
//! Terms are `FIELD OP VALUE`, optionally preceded by `NOT`, joined all by `AND` or all by `OR`.
//! By field: `state` (`=`, `!=`; the full enum name, e.g. `PIPELINE_STATE_RUNNING`);
//! `display_name` (`=`, `!=`, `:` with `*` wildcards); `labels.KEY` (`=` a value, or `:*` for
//! presence); `create_time` and, for pipeline jobs, `update_time` and `end_time` (`=`, `!=`, `<`,
//! `<=`, `>`, `>=` against a quoted RFC 3339 time); `done` for operations (`true` / `false`).
//! Fields a kind documents but the fake does not model (`pipeline_name`, `template_uri`,
//! `model_display_name`, `training_task_definition` ...) are accepted and compare against the
//! empty string, as on a resource that has none. Anything else is refused, as Google refuses a
//! field its List does not support, so a client cannot come to rely on a filter the real service
//! would reject. `ListTuningJobs` documents only "the standard list filter": the fake takes the
//! fields a TuningJob has from the standard set (`state`, `create_time`, `labels`).

use std::collections::HashMap;
use std::time::SystemTime;

use super::names::ResourceKind;
use super::state::state_from_enum_name;
use crate::State;
use crate::client::wildcard;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter {
    terms: Vec<Term>,
    /// Whether terms are joined by OR (else AND).
    any: bool,
}

/// What a filter reads of one resource.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) state: State,
    pub(crate) display_name: &'a str,
    pub(crate) labels: &'a HashMap<String, String>,
    pub(crate) create_time: SystemTime,
    pub(crate) update_time: SystemTime,
    pub(crate) end_time: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    test: Test,
}

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

/// A string field: the display name, or one the fake does not model (always empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    DisplayName,
    Unmodelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Time {
    Create,
    Update,
    End,
}

/// How a documented field may be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    State,
    /// A string; `true` if `:` wildcards are documented for it.
    Text(Text, bool),
    Labels,
    Time(Time),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
}

/// The fields of the standard job Lists (custom, hyperparameter tuning, data labeling and NAS
/// jobs).
const JOB_FIELDS: &[(&str, Field)] = &[
    ("display_name", Field::Text(Text::DisplayName, true)),
    ("state", Field::State),
    ("create_time", Field::Time(Time::Create)),
    ("labels", Field::Labels),
];

/// The fields `kind`'s List documents in its request's `filter` comment.
fn documented_fields(kind: ResourceKind) -> &'static [(&'static str, Field)] {
    match kind {
        ResourceKind::PipelineJob => &[
            ("pipeline_name", Field::Text(Text::Unmodelled, false)),
            ("display_name", Field::Text(Text::DisplayName, true)),
            ("pipeline_job_user_id", Field::Text(Text::Unmodelled, true)),
            ("state", Field::State),
            ("create_time", Field::Time(Time::Create)),
            ("update_time", Field::Time(Time::Update)),
            ("end_time", Field::Time(Time::End)),
            ("labels", Field::Labels),
            ("template_uri", Field::Text(Text::Unmodelled, true)),
            (
                "template_metadata.version",
                Field::Text(Text::Unmodelled, true),
            ),
        ],
        ResourceKind::BatchPredictionJob => &[
            ("display_name", Field::Text(Text::DisplayName, true)),
            ("model_display_name", Field::Text(Text::Unmodelled, false)),
            ("state", Field::State),
            ("create_time", Field::Time(Time::Create)),
            ("labels", Field::Labels),
        ],
        ResourceKind::TrainingPipeline => &[
            ("display_name", Field::Text(Text::DisplayName, true)),
            ("state", Field::State),
            (
                "training_task_definition",
                Field::Text(Text::Unmodelled, true),
            ),
            ("create_time", Field::Time(Time::Create)),
            ("labels", Field::Labels),
        ],
        ResourceKind::TuningJob => &[
            ("state", Field::State),
            ("create_time", Field::Time(Time::Create)),
            ("labels", Field::Labels),
        ],
        ResourceKind::Operation => &[("done", Field::Done)],
        ResourceKind::NasJob
        | ResourceKind::CustomJob
        | ResourceKind::HyperparameterTuningJob
        | ResourceKind::DataLabelingJob => JOB_FIELDS,
    }
}

impl Filter {
    /// Parses `input` for a List of `kind`; empty means "everything".
    ///
    /// # Errors
    /// A reason, fit for a `BadRequest` violation on `filter`.
    pub(crate) fn parse(kind: ResourceKind, input: &str) -> Result<Self, String> {
        let tokens = tokenize(input)?;
        let mut filter = Self::default();
        let mut rest = tokens.as_slice();
        let mut joiner: Option<&str> = None;
        while !rest.is_empty() {
            let (term, tail) = parse_term(kind, rest)?;
            filter.terms.push(term);
            rest = match tail {
                [] => tail,
                [Token::Word(word), tail @ ..] if matches!(word.as_str(), "AND" | "OR") => {
                    if joiner.is_some_and(|j| j != word) {
                        return Err("a filter must join all terms by AND or all by OR".into());
                    }
                    if tail.is_empty() {
                        return Err(format!("nothing follows {word}"));
                    }
                    joiner = Some(word);
                    tail
                }
                _ => return Err("expected AND or OR between terms".into()),
            };
        }
        filter.any = joiner == Some("OR");
        Ok(filter)
    }

    /// Whether a resource passes.
    pub(crate) fn matches(&self, subject: &Subject<'_>) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let mut results = self.terms.iter().map(|t| t.matches(subject));
        if self.any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }
}

impl Term {
    fn matches(&self, s: &Subject<'_>) -> bool {
        let hit = match &self.test {
            Test::State(state, equal) => (*state == s.state) == *equal,
            Test::Text { field, pattern, op } => {
                let value = match field {
                    Text::DisplayName => s.display_name,
                    Text::Unmodelled => "",
                };
                match op {
                    Op::Has => wildcard(pattern, value),
                    Op::Ne => pattern != value,
                    _ => pattern == value,
                }
            }
            Test::Label(key, value) => match value {
                Some(v) => s.labels.get(key) == Some(v),
                None => s.labels.contains_key(key),
            },
            Test::Time(which, op, at) => {
                let value = match which {
                    Time::Create => Some(s.create_time),
                    Time::Update => Some(s.update_time),
                    Time::End => s.end_time,
                };
                value.is_some_and(|v| compare(*op, v, *at))
            }
            Test::Done(done) => *done == s.state.is_terminal(),
        };
        hit != self.negated
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

fn parse_term(kind: ResourceKind, tokens: &[Token]) -> Result<(Term, &[Token]), String> {
    let (negated, tokens) = match tokens {
        [Token::Word(not), rest @ ..] if not == "NOT" => (true, rest),
        _ => (false, tokens),
    };
    let [Token::Word(path), Token::Op(op), value, tail @ ..] = tokens else {
        return Err("expected a term like field=value".into());
    };
    let (op, value) = match value {
        Token::Word(v) => (*op, v.as_str()),
        Token::Quoted(v) => (*op, v.as_str()),
        Token::Op(_) => return Err(format!("expected a value after {path}")),
    };
    let (name, key) = match path.split_once('.') {
        Some(("labels", key)) => ("labels", Some(key)),
        _ => (path.as_str(), None),
    };
    let field = documented_fields(kind)
        .iter()
        .find(|(documented, _)| *documented == name)
        .map(|(_, field)| *field)
        .ok_or_else(|| {
            format!(
                "{path:?} is not a supported filter field of {}s",
                kind.message_name()
            )
        })?;
    let test = test_of(kind, field, path, key, op, value)?;
    Ok((Term { negated, test }, tail))
}

fn test_of(
    kind: ResourceKind,
    field: Field,
    path: &str,
    key: Option<&str>,
    op: Op,
    value: &str,
) -> Result<Test, String> {
    let refused = || format!("{path} does not support this comparison");
    Ok(match (field, op) {
        (Field::State, Op::Eq | Op::Ne) => {
            let state = state_from_enum_name(kind, value).ok_or_else(|| {
                format!(
                    "{value:?} is not a {} state (write the full enum name)",
                    kind.message_name()
                )
            })?;
            Test::State(state, op == Op::Eq)
        }
        (Field::Text(text, _), Op::Eq | Op::Ne) | (Field::Text(text, true), Op::Has) => {
            Test::Text {
                field: text,
                pattern: value.to_owned(),
                op,
            }
        }
        (Field::Labels, Op::Eq | Op::Has) => {
            let key = key
                .filter(|k| !k.is_empty())
                .ok_or("labels needs a key: labels.KEY")?;
            match op {
                Op::Has if value == "*" => Test::Label(key.to_owned(), None),
                Op::Has => return Err(format!("labels.{key} supports :* (presence) only")),
                _ => Test::Label(key.to_owned(), Some(value.to_owned())),
            }
        }
        (Field::Time(which), op) if op != Op::Has => Test::Time(which, op, rfc3339(path, value)?),
        (Field::Done, Op::Eq | Op::Ne) => Test::Done(match value {
            "true" => op == Op::Eq,
            "false" => op == Op::Ne,
            _ => return Err(format!("done must be true or false, not {value:?}")),
        }),
        _ => return Err(refused()),
    })
}

fn rfc3339(path: &str, value: &str) -> Result<SystemTime, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(SystemTime::from)
        .map_err(|_| format!("{path} must be an RFC 3339 time, not {value:?}"))
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            tokens.push(Token::Quoted(quoted(&mut chars)?));
            continue;
        }
        if matches!(c, '=' | '!' | '<' | '>' | ':') {
            chars.next();
            let equals = chars.next_if_eq(&'=').is_some();
            let op = match (c, equals) {
                ('=', false) => Op::Eq,
                ('!', true) => Op::Ne,
                ('<', false) => Op::Lt,
                ('<', true) => Op::Le,
                ('>', false) => Op::Gt,
                ('>', true) => Op::Ge,
                (':', false) => Op::Has,
                _ => return Err(format!("unexpected {c}")),
            };
            tokens.push(Token::Op(op));
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || matches!(c, '=' | '!' | '"' | '<' | '>' | ':') {
                break;
            }
            if matches!(c, '(' | ')') {
                return Err("parentheses are not supported by the fake".into());
            }
            word.push(c);
            chars.next();
        }
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// Reads a quoted string after its opening quote, with `\"` and `\\` escapes.
fn quoted(chars: &mut impl Iterator<Item = char>) -> Result<String, String> {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(out),
            '\\' => out.push(chars.next().ok_or("unterminated string")?),
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
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
            state,
            display_name: name,
            labels: &labels,
            create_time: at(1_600_000_000),
            update_time: at(1_700_000_000),
            end_time: None,
        };
        Filter::parse(kind, filter).unwrap().matches(&subject)
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
            (PJ, "(state=PIPELINE_STATE_RUNNING)"),
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
