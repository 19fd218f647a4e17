//! A sweep's filter: one AIP-160 filter, parsed once, split per kind into what that kind's List
//! evaluates server-side and what the sweep evaluates on the jobs the List returned.
//!
//! Kinds document different filter fields (the `filter` comment of each List request), and a
//! sweep applies one filter to all of them, so that it means the same thing for every kind:
//! - The filter's top-level `AND` terms that use only fields (and operators) the kind documents
//!   go to the server, and, when the sweep can read them too, are checked again on each job
//!   the List returned: a server that ignores (part of) a filter lists jobs it does not
//!   match, and those must not be cancelled. A term only the server can evaluate
//!   (`template_uri`, say) is taken on its word. `state` never goes to the server: a state is
//!   compared by meaning (`RUNNING`, `JOB_STATE_RUNNING` and `PIPELINE_STATE_RUNNING` name the
//!   same state), which the kinds' different enum names cannot express server-side.
//! - Every other term is evaluated locally, from the fields a listed job carries: `display_name`
//!   (`=`, `!=`, `:` with `*` wildcards), `labels.KEY` (`=`, `!=`, `:*` presence, `:` wildcard),
//!   `create_time` and `update_time` (`=`, `!=`, `<`, `<=`, `>`, `>=` against an RFC 3339 time;
//!   a job without the time matches none of them) and `state` (`=`, `!=`).
//! - A term that is neither documented for the kind nor readable locally (`template_uri` on a
//!   NAS job, say) is refused before any List, as [`Error::InvalidFilter`]: the sweep never
//!   guesses what a filter means.
//!
//! The grammar is `filter_syntax`'s, the one parse the fake reads a List's `filter` with too.

use std::collections::HashMap;

use prost_types::Timestamp;

use crate::error::{Error, Result};
use crate::escape::printable;
use crate::filter_syntax::{self, Expr, Op, Restriction, Value};
use crate::outcome::State;
use crate::wire::google::cloud::aiplatform::v1::{JobState, PipelineState};

use super::filter::{check_filter, wildcard};

/// Operators a documented field supports server-side.
pub(crate) const EQ_NE: &[Op] = &[Op::Eq, Op::Ne];
/// `=`, `!=` and `:` wildcards.
pub(crate) const EQ_NE_HAS: &[Op] = &[Op::Eq, Op::Ne, Op::Has];
/// Every ordering comparison (times).
pub(crate) const ORDERED: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
/// Labels: key-value equality and key presence (`labels.key:*`).
pub(crate) const LABEL_OPS: &[Op] = &[Op::Eq, Op::Has];

/// One field a List's `filter` comment documents, with its operators. `labels` stands for
/// every `labels.KEY`.
pub(crate) type Documented = (&'static str, &'static [Op]);

/// What the local part of a filter reads from a listed job.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) display_name: &'a str,
    pub(crate) state: State,
    pub(crate) labels: &'a HashMap<String, String>,
    pub(crate) create_time: Option<&'a Timestamp>,
    pub(crate) update_time: Option<&'a Timestamp>,
}

/// One kind's share of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KindFilter {
    /// Sent as the List's `filter`.
    pub(crate) server: String,
    /// Evaluated on each listed job: every term the sweep can read, those sent to the server
    /// included; `None` keeps every job the List returns.
    pub(crate) local: Option<Expr>,
}

/// Parses `filter` (empty: `None`, everything).
///
/// # Errors
/// [`Error::InvalidFilter`] for what the sweep cannot read.
pub(crate) fn parse(filter: &str) -> Result<Option<Expr>> {
    check_filter(filter)?;
    filter_syntax::parse(filter).map_err(|reason| invalid(filter, reason))
}

/// Splits `expr` for a kind whose List documents `fields`, adding `extra` server terms (the
/// sweep's own state conditions).
///
/// # Errors
/// [`Error::InvalidFilter`] for a term neither the kind's List nor the sweep can evaluate.
pub(crate) fn split(
    filter: &str,
    expr: Option<&Expr>,
    fields: &[Documented],
    kind: &str,
    extra: Vec<String>,
) -> Result<KindFilter> {
    let conjuncts = match expr {
        None => Vec::new(),
        Some(Expr::And(items)) => items.iter().collect(),
        Some(other) => vec![other],
    };
    let mut server = Vec::new();
    let mut local = Vec::new();
    for term in conjuncts {
        if let Some(problem) = term.leaves().find_map(Restriction::value_problem) {
            return Err(invalid(filter, problem));
        }
        let rechecked = term
            .leaves()
            .all(|r| r.local_problem(kind).is_none() && r.means_one_thing());
        if term.leaves().all(|r| r.on_server(fields)) {
            server.push(term.render_atom());
            // Checked again on what comes back: a server may list more than its filter
            // selects, and a job it wrongly listed must not be taken as matching. Only where
            // the comparison cannot mean something else to Google (a job its filter matched
            // must not be dropped here unseen).
            if rechecked {
                local.push(term.clone());
            }
            continue;
        }
        if let Some(problem) = term.leaves().find_map(|r| r.local_problem(kind)) {
            return Err(invalid(filter, problem));
        }
        local.push(term.clone());
    }
    server.extend(extra);
    let local = match local.len() {
        0 => None,
        1 => local.pop(),
        _ => Some(Expr::And(local)),
    };
    Ok(KindFilter {
        server: server.join(" AND "),
        local,
    })
}

fn invalid(filter: &str, reason: String) -> Error {
    Error::InvalidFilter {
        filter: printable(filter),
        reason,
    }
}

impl Expr {
    /// Whether `subject` passes (every restriction was checked by [`split`] to be local).
    pub(crate) fn matches(&self, subject: &Subject<'_>) -> bool {
        self.eval(&|r| r.matches(subject))
    }
}

/// A field the sweep reads locally.
enum Local<'a> {
    DisplayName,
    State,
    CreateTime,
    UpdateTime,
    Label(&'a str),
}

impl Restriction {
    fn local_field(&self) -> Option<Local<'_>> {
        Some(match self.field.as_str() {
            "display_name" => Local::DisplayName,
            "state" => Local::State,
            "create_time" => Local::CreateTime,
            "update_time" => Local::UpdateTime,
            other => Local::Label(other.strip_prefix("labels.").filter(|k| !k.is_empty())?),
        })
    }

    /// Whether Google's List and the sweep cannot read this comparison differently: times,
    /// `=`/`!=` without a `*`, label presence (`labels.k:*`). Not `:` with a pattern, nor a
    /// `*` anywhere: AIP-160 leaves their matching (wildcards, fuzzy "has") to the service.
    fn means_one_thing(&self) -> bool {
        let value = self.value.text();
        match self.local_field() {
            Some(Local::CreateTime | Local::UpdateTime) => true,
            Some(Local::Label(_)) if self.op == Op::Has => value == "*",
            _ => matches!(self.op, Op::Eq | Op::Ne) && !value.contains('*'),
        }
    }

    /// Whether the kind's List documents this comparison (`state` is always local).
    fn on_server(&self, fields: &[Documented]) -> bool {
        if self.field == "state" {
            return false;
        }
        let documented = match self.field.strip_prefix("labels.") {
            // `labels.` alone names no label: refused as the sweep cannot read it either.
            Some("") => return false,
            Some(_) => "labels",
            None => self.field.as_str(),
        };
        let ops = fields
            .iter()
            .find(|(f, _)| *f == documented)
            .map(|(_, o)| o);
        let presence_only = documented == "labels" && self.op == Op::Has;
        ops.is_some_and(|ops| ops.contains(&self.op))
            && (!presence_only || self.value == Value::Bare("*".into()))
    }

    /// Why the sweep cannot evaluate this comparison, if it cannot.
    fn local_problem(&self, kind: &str) -> Option<String> {
        let field = printable(&self.field);
        let Some(local) = self.local_field() else {
            return Some(format!(
                "the List of {kind}s does not document filtering on `{field}`, and the sweep \
                 cannot read it from a listed job"
            ));
        };
        let op = self.op;
        let allowed = match local {
            Local::DisplayName | Local::Label(_) => EQ_NE_HAS,
            Local::State => EQ_NE,
            Local::CreateTime | Local::UpdateTime => ORDERED,
        };
        if !allowed.contains(&op) {
            return Some(format!(
                "`{field}` cannot be compared with `{}`",
                op.as_str()
            ));
        }
        None
    }

    /// Why the value cannot be what the field takes, wherever it is evaluated: a state must
    /// name one, a time must be RFC 3339 (as every List documents).
    fn value_problem(&self) -> Option<String> {
        let value = self.value.text();
        match self.field.as_str() {
            "state" if state_named(value).is_none() => {
                Some(format!("`{}` is not a job state", printable(value)))
            }
            "create_time" | "update_time" | "end_time" if time(value).is_none() => Some(format!(
                "`{}` is not an RFC 3339 time such as \"2026-01-01T00:00:00Z\"",
                printable(value)
            )),
            _ => None,
        }
    }

    fn matches(&self, subject: &Subject<'_>) -> bool {
        let value = self.value.text();
        match self.local_field() {
            Some(Local::DisplayName) => compare_text(self.op, subject.display_name, value),
            Some(Local::Label(key)) => match subject.labels.get(key) {
                Some(have) => compare_text(self.op, have, value),
                None => self.op == Op::Ne,
            },
            Some(Local::State) => {
                let same = state_named(value) == Some(subject.state);
                same == (self.op == Op::Eq)
            }
            Some(Local::CreateTime) => compare_time(self.op, subject.create_time, value),
            Some(Local::UpdateTime) => compare_time(self.op, subject.update_time, value),
            None => false,
        }
    }
}

fn compare_text(op: Op, have: &str, value: &str) -> bool {
    match op {
        Op::Eq => have == value,
        Op::Ne => have != value,
        Op::Has => wildcard(value, have),
        _ => false,
    }
}

fn compare_time(op: Op, have: Option<&Timestamp>, value: &str) -> bool {
    let (Some(have), Some(want)) = (have, time(value)) else {
        return false;
    };
    let have = (have.seconds, have.nanos);
    match op {
        Op::Eq => have == want,
        Op::Ne => have != want,
        Op::Lt => have < want,
        Op::Le => have <= want,
        Op::Gt => have > want,
        Op::Ge => have >= want,
        Op::Has => false,
    }
}

/// An RFC 3339 time as (seconds, nanos) since the epoch.
fn time(value: &str) -> Option<(i64, i32)> {
    let at = chrono::DateTime::parse_from_rfc3339(value).ok()?;
    Some((
        at.timestamp(),
        i32::try_from(at.timestamp_subsec_nanos()).ok()?,
    ))
}

/// The state a filter value names: the state's own word (`RUNNING`) or either enum's full name
/// (`JOB_STATE_RUNNING`, `PIPELINE_STATE_RUNNING`). Read from the generated enums, so a state
/// Google adds is known once the protos are.
pub(crate) fn state_named(value: &str) -> Option<State> {
    let pipeline = (0..=i32::from(u8::MAX))
        .filter_map(|i| PipelineState::try_from(i).ok())
        .map(|s| (s.as_str_name(), State::from(s)));
    let job = (0..=i32::from(u8::MAX))
        .filter_map(|i| JobState::try_from(i).ok())
        .map(|s| (s.as_str_name(), State::from(s)));
    pipeline
        .chain(job)
        .find(|(name, state)| *name == value || state.as_str() == value)
        .map(|(_, state)| state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: &[Documented] = &[
        ("display_name", EQ_NE_HAS),
        ("state", EQ_NE),
        ("create_time", ORDERED),
        ("labels", LABEL_OPS),
    ];

    fn plan(filter: &str, fields: &[Documented]) -> Result<KindFilter> {
        let expr = parse(filter)?;
        split(
            filter,
            expr.as_ref(),
            fields,
            "NAS job",
            vec!["state!=\"X\"".into()],
        )
    }

    fn subject<'a>(labels: &'a HashMap<String, String>, created: &'a Timestamp) -> Subject<'a> {
        Subject {
            display_name: "nightly-train",
            state: State::Running,
            labels,
            create_time: Some(created),
            update_time: None,
        }
    }

    #[test]
    fn documented_terms_go_to_the_server_the_rest_stays_local() {
        let split = plan(
            r#"display_name="nightly" AND labels.team:* AND update_time>"2026-01-01T00:00:00Z""#,
            JOBS,
        )
        .unwrap();
        assert_eq!(
            split.server,
            r#"display_name="nightly" AND labels.team:* AND state!="X""#
        );
        // The server's terms are checked again on what it returns; so is the rest.
        // A job the server listed although its display name does not match: every other term
        // holds (updated in 2027), so only the server's own term, checked again, rejects it.
        let labels = HashMap::from([("team".to_owned(), "search".to_owned())]);
        let at = Timestamp {
            seconds: 1_800_000_000,
            nanos: 0,
        };
        let listed = Subject {
            display_name: "adhoc",
            update_time: Some(&at),
            ..subject(&labels, &at)
        };
        let local = split.local.unwrap();
        assert!(!local.matches(&listed), "a job the server wrongly listed");
        let matching = Subject {
            display_name: "nightly",
            ..listed
        };
        assert!(local.matches(&matching));
        // A pattern Google may read otherwise (`:` or a `*`) is left to the server.
        let patterns = plan(r#"display_name:"night*" AND labels.team="a*""#, JOBS).unwrap();
        assert!(patterns.local.is_none(), "{:?}", patterns.local);

        let all_local = plan(
            r#"labels.team="a" OR update_time<"2026-01-01T00:00:00Z""#,
            JOBS,
        )
        .unwrap();
        assert_eq!(
            all_local.server, r#"state!="X""#,
            "an OR with a local term stays whole"
        );

        let nothing_documented = plan(r#"display_name="a" AND labels.x="y""#, &[]).unwrap();
        assert_eq!(nothing_documented.server, r#"state!="X""#);
    }

    #[test]
    fn state_is_always_local_and_named_by_meaning() {
        let split = plan("state=JOB_STATE_RUNNING", JOBS).unwrap();
        assert_eq!(split.server, r#"state!="X""#);
        let labels = HashMap::new();
        let at = Timestamp::default();
        let local = split.local.unwrap();
        assert!(local.matches(&subject(&labels, &at)));
        let pipeline = parse("state=\"PIPELINE_STATE_RUNNING\"").unwrap().unwrap();
        assert!(pipeline.matches(&subject(&labels, &at)));
        assert!(plan("state=SOMETIMES", JOBS).is_err());
    }

    #[test]
    fn composites_are_rendered_with_parentheses() {
        let split = plan(
            r#"(display_name="a" OR display_name="b") AND NOT display_name:"x*""#,
            JOBS,
        )
        .unwrap();
        assert_eq!(
            split.server,
            r#"(display_name="a" OR display_name="b") AND NOT display_name:"x*" AND state!="X""#
        );
        // OR binds tighter than AND.
        let expr = parse("a=1 AND b=2 OR c=3").unwrap().unwrap();
        assert!(matches!(&expr, Expr::And(items) if matches!(items[1], Expr::Or(_))));
    }

    #[test]
    fn local_evaluation() {
        let labels = HashMap::from([("team".to_owned(), "search".to_owned())]);
        let at = Timestamp {
            seconds: 1_767_225_600, // 2026-01-01T00:00:00Z
            nanos: 0,
        };
        let s = subject(&labels, &at);
        let yes = |f: &str| parse(f).unwrap().unwrap().matches(&s);
        assert!(yes(r#"labels.team="search""#));
        assert!(yes("labels.team:*"));
        assert!(!yes("labels.owner:*"));
        assert!(yes(r#"labels.owner!="x""#));
        assert!(yes(r#"display_name:"nightly*""#));
        assert!(yes(r#"display_name:"*train""#));
        assert!(yes(r#"display_name:"*ly-t*""#));
        assert!(!yes(r#"display_name:"nightly""#));
        assert!(yes(r#"create_time>="2026-01-01T00:00:00Z""#));
        assert!(yes(r#"create_time<"2026-01-01T00:00:01+00:00""#));
        assert!(
            !yes(r#"update_time<"2030-01-01T00:00:00Z""#),
            "no time, no match"
        );
        assert!(yes(r#"NOT (display_name="x" OR labels.team="ml")"#));
    }

    #[test]
    fn what_cannot_be_read_is_refused_before_any_list() {
        for (filter, why) in [
            (r#"template_uri="gs://x""#, "does not document"),
            (r#"labels.="x""#, "does not document"),
            (r#"create_time>"yesterday""#, "RFC 3339"),
            ("display_name<\"a\"", "cannot be compared"),
            ("nightly", "not followed by a comparison"),
            (r#"display_name="a" display_name="b""#, "write AND or OR"),
            ("(display_name=\"a\"", "not closed"),
            ("display_name=", "no value"),
            ("display_name=\"a\" AND", "ends where"),
        ] {
            let err = plan(filter, JOBS).unwrap_err();
            assert!(err.is_bad_input(), "{err:?}");
            assert!(err.to_string().contains(why), "{filter}: {err}");
        }
        let deep = format!("{}a=1{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).unwrap_err().to_string().contains("nests"));
    }

    #[test]
    fn documented_fields_pass_through_verbatim() {
        let pipeline: &[Documented] = &[("template_uri", EQ_NE_HAS)];
        let split = plan(r#"template_uri:"*gs://x*""#, pipeline).unwrap();
        assert_eq!(split.server, r#"template_uri:"*gs://x*" AND state!="X""#);
        assert!(split.local.is_none());
    }
}
