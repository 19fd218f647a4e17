//! Local checks of a List filter before it is sent: a filter that cannot be well formed
//! (control characters, unbalanced quotes or parentheses, absurd length) is refused as
//! [`Error::InvalidFilter`] without a network call.
//!
//! The server parses the filter's grammar; this only catches input that is garbage whatever the
//! grammar (a pasted newline, a NUL, a file read by mistake), so an operator's mistake costs no
//! request, no quota and no server log line carrying the garbage.
//!
//! It also builds the one filter the crate writes itself: the `update_time` window that bounds
//! a confirmation List.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Error, Result};
use crate::escape::{describe_char, printable};
use crate::filter_syntax::{Expr, Op, Restriction, Value};

/// The longest List filter accepted, in bytes; Google's own filters are far shorter.
pub const MAX_FILTER_LEN: usize = 2048;

/// Checks that `filter` could be a filter in Google's List syntax (AIP-160).
///
/// # Errors
/// [`Error::InvalidFilter`] naming the first problem found.
pub(crate) fn check_filter(filter: &str) -> Result<()> {
    match filter_problem(filter) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidFilter {
            filter: printable(filter),
            reason,
        }),
    }
}

/// `update_time>="START"`: the resources updated at or after `start` (to the second, in UTC),
/// for the Lists that document an `update_time` filter.
pub(crate) fn updated_since(start: SystemTime) -> String {
    let start = DateTime::<Utc>::from(start).to_rfc3339_opts(SecondsFormat::Secs, true);
    format!("update_time>=\"{start}\"")
}

/// `(pipeline_job_user_id="a" OR pipeline_job_user_id="b" ...)`: the pipeline jobs with these
/// ids (the id a job was created with is the last segment of its name), as `ListPipelineJobs`
/// documents the field; `None` when there are none, or when the filter would be longer than
/// [`MAX_FILTER_LEN`].
pub(crate) fn pipeline_job_ids(ids: &[&str]) -> Option<String> {
    let term = |id: &&str| {
        Expr::Cmp(Restriction {
            field: "pipeline_job_user_id".to_owned(),
            op: Op::Eq,
            value: Value::Quoted((*id).to_owned()),
        })
    };
    let filter = Expr::Or(ids.iter().map(term).collect()).render_atom();
    (!ids.is_empty() && filter.len() <= MAX_FILTER_LEN).then_some(filter)
}

fn filter_problem(filter: &str) -> Option<String> {
    if filter.len() > MAX_FILTER_LEN {
        return Some(format!(
            "it is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            filter.len()
        ));
    }
    if let Some(c) = filter.chars().find(|c| c.is_control()) {
        return Some(format!("it contains {}", describe_char(c)));
    }
    balance_problem(filter)
}

/// Quotes must close, and parentheses outside quotes must pair up.
fn balance_problem(filter: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in filter.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' => depth += 1,
                ')' if depth == 0 => return Some("a `)` closes no `(`".to_owned()),
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    if let Some(open) = quote {
        return Some(format!("a quoted string opened with {open} is not closed"));
    }
    (depth > 0).then(|| format!("{depth} `(` not closed"))
}

/// Whether `text` matches `pattern`, in which `*` stands for any run of characters: the `:`
/// (has) operator of Google's List filters on a string. One rule for the sweep's local filter
/// and the fake's.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_jobs_are_named_by_id_and_the_filter_reads_back() {
        let filter = pipeline_job_ids(&["a-1", "b\"2"]).unwrap();
        assert_eq!(
            filter,
            r#"(pipeline_job_user_id="a-1" OR pipeline_job_user_id="b\"2")"#
        );
        assert!(check_filter(&filter).is_ok());
        assert!(crate::filter_syntax::parse(&filter).unwrap().is_some());
        assert_eq!(pipeline_job_ids(&[]), None);
        let long = "x".repeat(100);
        assert_eq!(pipeline_job_ids(&[long.as_str(); 32]), None);
    }

    #[test]
    fn an_update_time_window_is_a_well_formed_rfc_3339_filter() {
        let start = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_900);
        let filter = updated_since(start);
        assert_eq!(filter, "update_time>=\"2023-11-14T22:13:20Z\"");
        assert!(check_filter(&filter).is_ok());
    }
    use proptest::prelude::*;

    #[test]
    fn filters_google_documents_are_accepted() {
        for filter in [
            "",
            "state=\"PIPELINE_STATE_RUNNING\"",
            "state!=PIPELINE_STATE_SUCCEEDED AND display_name:\"nightly (v2)\"",
            "(state=\"JOB_STATE_RUNNING\" OR state=\"JOB_STATE_PENDING\") AND labels.team=\"ml\"",
            "create_time>\"2024-01-01T00:00:00Z\"",
            "display_name=\"it's \\\"quoted\\\"\"",
            "done=true",
        ] {
            assert!(check_filter(filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for (filter, why) in [
            ("state=RUNNING\nOR 1", "U+000A"),
            ("state=RUNNING\0", "U+0000"),
            ("display_name=\"open", "not closed"),
            ("(state=RUNNING", "not closed"),
            ("state=RUNNING)", "closes no"),
            ("\u{1b}[31m", "U+001B"),
        ] {
            let err = check_filter(filter).unwrap_err();
            assert!(err.is_bad_input(), "{err:?}");
            assert!(err.to_string().contains(why), "{filter:?}: {err}");
        }
        let huge = "a".repeat(MAX_FILTER_LEN + 1);
        let shown = check_filter(&huge).unwrap_err().to_string();
        assert!(shown.contains("2049 bytes"), "{shown}");
        assert!(shown.len() < 400, "the error stays short: {}", shown.len());
    }

    proptest! {
        #[test]
        fn checking_never_panics(s in "\\PC*|.*") {
            let _ = check_filter(&s);
        }

        #[test]
        fn quoted_values_of_printable_text_are_accepted(v in "[ -!#-\\[\\]-~]{0,200}") {
            let filter = format!("display_name=\"{v}\"");
            prop_assert!(check_filter(&filter).is_ok(), "{}", filter);
        }
    }
}
