//! The List `filter` language the fake understands: the subset of Google's (AIP-160) that
//! cancel tooling uses.
//!
//! Terms are `state=X`, `state!=X` and `display_name="..."` for jobs (a state is the full enum
//! name, e.g. `PIPELINE_STATE_RUNNING`) and `done=true|false` for operations, joined all by
//! `AND` or all by `OR`. Anything else is refused, as Google refuses what it cannot parse, so a
//! client cannot come to rely on a filter the real service would reject.

use super::names::ResourceKind;
use super::state::state_from_enum_name;
use crate::State;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter {
    terms: Vec<Term>,
    /// Whether terms are joined by OR (else AND).
    any: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    State(State),
    DisplayName(String),
    Done(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Eq,
    Ne,
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

    /// Whether a resource with this state and display name passes.
    pub(crate) fn matches(&self, state: State, display_name: &str) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let mut results = self.terms.iter().map(|t| t.matches(state, display_name));
        if self.any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }
}

impl Term {
    fn matches(&self, state: State, display_name: &str) -> bool {
        let hit = match &self.test {
            Test::State(s) => *s == state,
            Test::DisplayName(n) => n == display_name,
            Test::Done(d) => *d == state.is_terminal(),
        };
        hit != self.negated
    }
}

fn parse_term(kind: ResourceKind, tokens: &[Token]) -> Result<(Term, &[Token]), String> {
    let [Token::Word(field), op, value, tail @ ..] = tokens else {
        return Err("expected a term like field=value".into());
    };
    let negated = match op {
        Token::Eq => false,
        Token::Ne => true,
        _ => return Err(format!("expected = or != after {field}")),
    };
    let value = match value {
        Token::Word(v) | Token::Quoted(v) => v.as_str(),
        _ => return Err(format!("expected a value after {field}")),
    };
    let test = match (field.as_str(), kind) {
        ("state", ResourceKind::PipelineJob | ResourceKind::NasJob) => {
            Test::State(state_from_enum_name(kind, value).ok_or_else(|| {
                format!("{value:?} is not a {kind} state (write the full enum name)")
            })?)
        }
        ("display_name", ResourceKind::PipelineJob | ResourceKind::NasJob) => {
            Test::DisplayName(value.to_owned())
        }
        ("done", ResourceKind::Operation) => Test::Done(match value {
            "true" => true,
            "false" => false,
            _ => return Err(format!("done must be true or false, not {value:?}")),
        }),
        _ => return Err(format!("cannot filter {kind}s by {field:?}")),
    };
    Ok((Term { negated, test }, tail))
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                tokens.push(Token::Eq);
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("expected != ".into());
                }
                tokens.push(Token::Ne);
            }
            '"' => {
                chars.next();
                tokens.push(Token::Quoted(quoted(&mut chars)?));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '!' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
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

    const PJ: ResourceKind = ResourceKind::PipelineJob;

    #[test]
    fn state_terms() {
        let f = Filter::parse(PJ, "state=PIPELINE_STATE_RUNNING").unwrap();
        assert!(f.matches(State::Running, ""));
        assert!(!f.matches(State::Failed, ""));
        let f = Filter::parse(PJ, r#"state!="PIPELINE_STATE_RUNNING""#).unwrap();
        assert!(!f.matches(State::Running, ""));
        assert!(f.matches(State::Failed, ""));
    }

    #[test]
    fn and_or() {
        let and = Filter::parse(
            PJ,
            r#"state=PIPELINE_STATE_RUNNING AND display_name="a b AND c""#,
        )
        .unwrap();
        assert!(and.matches(State::Running, "a b AND c"));
        assert!(!and.matches(State::Running, "x"));
        let or = Filter::parse(
            PJ,
            "state=PIPELINE_STATE_RUNNING OR state=PIPELINE_STATE_QUEUED",
        )
        .unwrap();
        assert!(or.matches(State::Queued, ""));
        assert!(!or.matches(State::Failed, ""));
    }

    #[test]
    fn done_for_operations() {
        let f = Filter::parse(ResourceKind::Operation, "done=false").unwrap();
        assert!(f.matches(State::Cancelling, ""));
        assert!(!f.matches(State::Cancelled, ""));
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
            (ResourceKind::Operation, "done=maybe"),
            (ResourceKind::Operation, "state=PIPELINE_STATE_RUNNING"),
            (
                ResourceKind::NasJob,
                "state=JOB_STATE_RUNNING state=JOB_STATE_FAILED",
            ),
        ] {
            assert!(Filter::parse(kind, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_matches_everything() {
        assert!(Filter::parse(PJ, "  ").unwrap().matches(State::Failed, "x"));
    }
}
