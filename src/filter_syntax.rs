//! The syntax of Google's List filters (AIP-160), read once for the whole crate: the sweep
//! splits what it parses per kind (`client::sweep_filter`), and the fake (feature `fake`) checks
//! and evaluates a List's `filter` with the same parse, so the two cannot drift apart on what a
//! filter says. What a field means, and which fields a kind's List takes, is theirs.
//!
//! The grammar read is AIP-160's without its text search: comparisons `field OP value`, `NOT`,
//! `AND`, `OR` (which binds tighter than `AND`, as AIP-160 says) and parentheses. The keywords
//! are upper case only (AIP-160: they are case-sensitive). Values are quoted (`"..."` or
//! `'...'`, AIP-160's example `msg != 'hello'`; a backslash takes the next character as it is)
//! or bare words of `A-Z a-z 0-9 _ . - * +`.

use std::fmt::Write as _;

use crate::escape::printable;

/// How deeply parentheses and `NOT` may nest: a real filter needs a handful, and the parser
/// recurses once per level.
const MAX_DEPTH: usize = 16;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `:`: a wildcard match, or presence with `*`.
    Has,
}

impl Op {
    /// The operator as written.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Has => ":",
        }
    }
}

/// A value as written: the sweep sends a quoted one back quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// `"..."` or `'...'`, unquoted and unescaped.
    Quoted(String),
    /// A bare word.
    Bare(String),
}

impl Value {
    /// The value itself, whichever way it was written.
    pub(crate) fn text(&self) -> &str {
        match self {
            Self::Quoted(s) | Self::Bare(s) => s,
        }
    }
}

/// `field OP value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Restriction {
    /// The field as written (`display_name`, `labels.team`).
    pub(crate) field: String,
    /// The comparison.
    pub(crate) op: Op,
    /// What it is compared with.
    pub(crate) value: Value,
}

/// A parsed filter, its comparisons being `L`: [`Restriction`]s as parsed, or what a reader
/// made of them ([`Expr::try_map`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr<L = Restriction> {
    /// Every item holds.
    And(Vec<Self>),
    /// Some item holds.
    Or(Vec<Self>),
    /// The item does not hold.
    Not(Box<Self>),
    /// One comparison.
    Cmp(L),
}

impl<L> Expr<L> {
    /// Every comparison in the expression.
    pub(crate) fn leaves(&self) -> Box<dyn Iterator<Item = &L> + '_> {
        match self {
            Self::And(items) | Self::Or(items) => Box::new(items.iter().flat_map(Self::leaves)),
            Self::Not(inner) => inner.leaves(),
            Self::Cmp(leaf) => Box::new(std::iter::once(leaf)),
        }
    }

    /// Whether the expression holds, `holds` deciding each comparison.
    pub(crate) fn eval(&self, holds: &impl Fn(&L) -> bool) -> bool {
        match self {
            Self::And(items) => items.iter().all(|e| e.eval(holds)),
            Self::Or(items) => items.iter().any(|e| e.eval(holds)),
            Self::Not(inner) => !inner.eval(holds),
            Self::Cmp(leaf) => holds(leaf),
        }
    }

    /// The same structure with each comparison read by `read`; its first error, if any.
    #[cfg(any(feature = "fake", test))]
    pub(crate) fn try_map<M, E>(
        &self,
        read: &mut impl FnMut(&L) -> Result<M, E>,
    ) -> Result<Expr<M>, E> {
        Ok(match self {
            Self::And(items) => Expr::And(
                items
                    .iter()
                    .map(|e| e.try_map(read))
                    .collect::<Result<_, _>>()?,
            ),
            Self::Or(items) => Expr::Or(
                items
                    .iter()
                    .map(|e| e.try_map(read))
                    .collect::<Result<_, _>>()?,
            ),
            Self::Not(inner) => Expr::Not(Box::new(inner.try_map(read)?)),
            Self::Cmp(leaf) => Expr::Cmp(read(leaf)?),
        })
    }
}

impl Expr {
    /// The expression in AIP-160 syntax, a composite inside parentheses.
    pub(crate) fn render_atom(&self) -> String {
        match self {
            Self::And(_) | Self::Or(_) => format!("({})", self.render()),
            _ => self.render(),
        }
    }

    /// The expression in AIP-160 syntax, every composite inside it in parentheses.
    fn render(&self) -> String {
        let join = |items: &[Self], word: &str| {
            items
                .iter()
                .map(Self::render_atom)
                .collect::<Vec<_>>()
                .join(word)
        };
        match self {
            Self::And(items) => join(items, " AND "),
            Self::Or(items) => join(items, " OR "),
            Self::Not(inner) => format!("NOT {}", inner.render_atom()),
            Self::Cmp(r) => {
                let mut out = format!("{}{}", r.field, r.op.as_str());
                match &r.value {
                    Value::Bare(word) => out.push_str(word),
                    Value::Quoted(text) => {
                        out.push('"');
                        for c in text.chars() {
                            if matches!(c, '"' | '\\') {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                        out.push('"');
                    }
                }
                out
            }
        }
    }
}

/// Parses `filter`; `None` for an empty (or blank) one, which selects everything.
///
/// # Errors
/// Why `filter` is not a filter this grammar reads, in words fit for an operator (anything
/// quoted from `filter` is escaped).
pub(crate) fn parse(filter: &str) -> Result<Option<Expr>, String> {
    let tokens = tokenize(filter)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
    };
    let expr = parser.and(0)?;
    match parser.tokens.get(parser.at) {
        None => Ok(Some(expr)),
        Some(Token::Close) => Err("a `)` closes no `(`".into()),
        Some(_) => {
            Err("write AND or OR between two conditions (text search is not supported)".into())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
    Open,
    Close,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*' | '+')
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            c if c.is_whitespace() => continue,
            '(' => Token::Open,
            ')' => Token::Close,
            '=' => Token::Op(Op::Eq),
            ':' => Token::Op(Op::Has),
            '!' | '<' | '>' if chars.next_if_eq(&'=').is_some() => Token::Op(match c {
                '!' => Op::Ne,
                '<' => Op::Le,
                _ => Op::Ge,
            }),
            '<' => Token::Op(Op::Lt),
            '>' => Token::Op(Op::Gt),
            '"' | '\'' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => text.extend(chars.next()),
                        Some(q) if q == c => break,
                        Some(other) => text.push(other),
                        None => return Err("a quoted string is not closed".into()),
                    }
                }
                Token::Quoted(text)
            }
            c if is_word_char(c) => {
                let mut word = c.to_string();
                while let Some(next) = chars.next_if(|&n| is_word_char(n)) {
                    word.push(next);
                }
                Token::Word(word)
            }
            other => {
                return Err(format!(
                    "unexpected `{}`",
                    printable(other.encode_utf8(&mut [0; 4]))
                ));
            }
        };
        tokens.push(token);
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.at);
        self.at += 1;
        token
    }

    /// `or {AND or}`.
    fn and(&mut self, depth: usize) -> Result<Expr, String> {
        self.joined(depth, "AND", Self::or, Expr::And)
    }

    /// `unary {OR unary}`: OR binds tighter than AND in AIP-160.
    fn or(&mut self, depth: usize) -> Result<Expr, String> {
        self.joined(depth, "OR", Self::unary, Expr::Or)
    }

    fn joined(
        &mut self,
        depth: usize,
        word: &str,
        item: fn(&mut Self, usize) -> Result<Expr, String>,
        wrap: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, String> {
        let mut items = vec![item(self, depth)?];
        while self.peek_word(word) {
            self.at += 1;
            items.push(item(self, depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            wrap(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, String> {
        if depth >= MAX_DEPTH {
            return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
        }
        if self.peek_word("NOT") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        match self.next().cloned() {
            Some(Token::Open) => {
                let inner = self.and(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a `(` is not closed".into()),
                }
            }
            Some(Token::Word(field)) if !matches!(field.as_str(), "AND" | "OR") => {
                self.restriction(field)
            }
            Some(other) => Err(format!("expected a condition, found {}", describe(&other))),
            None => Err("the filter ends where a condition was expected".into()),
        }
    }

    fn restriction(&mut self, field: String) -> Result<Expr, String> {
        let shown = printable(&field);
        let Some(Token::Op(op)) = self.next().cloned() else {
            return Err(format!(
                "`{shown}` is not followed by a comparison (=, !=, <, <=, >, >=, :)"
            ));
        };
        let value = match self.next().cloned() {
            Some(Token::Quoted(text)) => Value::Quoted(text),
            Some(Token::Word(word)) => Value::Bare(word),
            _ => return Err(format!("`{shown}{}` has no value", op.as_str())),
        };
        Ok(Expr::Cmp(Restriction { field, op, value }))
    }
}

fn describe(token: &Token) -> String {
    let mut out = String::new();
    let _ = match token {
        Token::Word(w) => write!(out, "`{}`", printable(w)),
        Token::Quoted(q) => write!(out, "the string \"{}\"", printable(q)),
        Token::Op(op) => write!(out, "`{}`", op.as_str()),
        Token::Open => write!(out, "`(`"),
        Token::Close => write!(out, "`)`"),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, value: Value) -> Expr {
        Expr::Cmp(Restriction {
            field: field.into(),
            op,
            value,
        })
    }

    #[test]
    fn or_binds_tighter_than_and_and_parentheses_group() {
        let a = || cmp("a", Op::Eq, Value::Bare("1".into()));
        let b = || cmp("b", Op::Eq, Value::Bare("2".into()));
        let c = || cmp("c", Op::Eq, Value::Bare("3".into()));
        assert_eq!(
            parse("a=1 AND b=2 OR c=3").unwrap(),
            Some(Expr::And(vec![a(), Expr::Or(vec![b(), c()])]))
        );
        assert_eq!(
            parse("(a=1 AND b=2) OR c=3").unwrap(),
            Some(Expr::Or(vec![Expr::And(vec![a(), b()]), c()]))
        );
        assert_eq!(
            parse("NOT (a=1 OR b=2)").unwrap(),
            Some(Expr::Not(Box::new(Expr::Or(vec![a(), b()]))))
        );
    }

    #[test]
    fn both_quotes_unescape_and_spacing_does_not_matter() {
        let quoted = |s: &str| Some(cmp("display_name", Op::Ne, Value::Quoted(s.into())));
        assert_eq!(parse(r#"display_name != 'it\'s'"#).unwrap(), quoted("it's"));
        assert_eq!(
            parse(r#"display_name!="a \"b\" \\""#).unwrap(),
            quoted(r#"a "b" \"#)
        );
        assert_eq!(
            parse("display_name!='say \"hi\"'").unwrap(),
            quoted("say \"hi\"")
        );
        assert_eq!(parse(" \t ").unwrap(), None);
    }

    #[test]
    fn keywords_are_upper_case_only() {
        for filter in ["a=1 and b=2", "a=1 or b=2", "not a=1"] {
            assert!(parse(filter).is_err(), "{filter}");
        }
    }

    #[test]
    fn rendering_reads_back_the_same() {
        for filter in [
            r#"(display_name="a" OR display_name:"x*") AND NOT labels.team:*"#,
            r#"display_name!="a \"b\" \\" AND create_time>="2026-01-01T00:00:00Z""#,
        ] {
            let expr = parse(filter).unwrap().unwrap();
            assert_eq!(expr.render(), filter);
        }
    }

    #[test]
    fn eval_and_try_map_keep_the_structure() {
        let expr = parse("NOT a=1 AND (b=1 OR c=1)").unwrap().unwrap();
        let holds =
            |on: &'static [&'static str]| move |r: &Restriction| on.contains(&r.field.as_str());
        assert!(expr.eval(&holds(&["c"])));
        assert!(!expr.eval(&holds(&["a", "b"])));
        let fields = expr.try_map(&mut |r| Ok::<_, ()>(r.field.clone())).unwrap();
        assert_eq!(
            fields.leaves().cloned().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(
            expr.try_map(&mut |r| Err::<(), _>(r.field.clone())),
            Err("a".into())
        );
    }
}
