//! Making text that the CLI does not control safe to print on a terminal.
//!
//! Display names, error messages and resource errors come from the server (anyone who can create
//! a job sets its display name), and error messages repeat what the operator typed or piped in.
//! Printed raw, a newline forges a table row, `ESC[1A ESC[2K` erases rows above, and the one-byte
//! CSI U+009B does the same on terminals that honour C1 controls. Every such text goes through
//! [`escape`] (or [`echo`]) before a table or message; JSON output is left exact, since JSON
//! escapes control characters itself.

use std::borrow::Cow;

/// How many characters of operator input an error message repeats.
pub(crate) const ECHOED_CHARS: usize = 200;

/// `text` with every control character (C0, DEL, C1) and every bidirectional-text control
/// written as a visible escape (`\n`, `\u{1b}`, `\u{9b}`, `\u{202e}`); other text unchanged.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Operator input repeated in a message: escaped, and cut after [`ECHOED_CHARS`] characters
/// with how much was left out, so a 1 MB name does not put 1 MB on stderr.
pub(crate) fn echo(input: &str) -> String {
    let cut = input
        .char_indices()
        .nth(ECHOED_CHARS)
        .map_or(input.len(), |(at, _)| at);
    let (shown, rest) = input.split_at(cut);
    let mut out = escape(shown).into_owned();
    if !rest.is_empty() {
        out.push_str(&format!("... ({} more bytes)", rest.len()));
    }
    out
}

/// Control characters, and the characters that reorder text on screen (a right-to-left
/// override can make a name read as another).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_del_c1_and_bidi_controls_are_escaped() {
        let hostile = "a\nb\x1b[2K\x7f\u{9b}1A\u{202e}z";
        let shown = escape(hostile);
        assert_eq!(shown, "a\\nb\\u{1b}[2K\\u{7f}\\u{9b}1A\\u{202e}z");
        assert!(!shown.chars().any(needs_escape));
    }

    #[test]
    fn plain_and_non_ascii_text_is_unchanged_and_not_copied() {
        for text in [
            "nightly-train",
            "Nachtlauf \u{e4}\u{f6}\u{fc} \u{591c}\u{9593}",
            "tab-free",
        ] {
            assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn echoed_input_is_capped_with_the_rest_counted() {
        let long = format!("\x1b{}", "x".repeat(1 << 20));
        let shown = echo(&long);
        assert!(shown.starts_with("\\u{1b}xxx"), "{shown:.40}");
        let left_out = long.len() - 1 - (ECHOED_CHARS - 1);
        assert!(
            shown.ends_with(&format!("... ({left_out} more bytes)")),
            "{shown}"
        );
        assert!(shown.len() < 300);
        assert_eq!(echo("short"), "short");
    }
}
