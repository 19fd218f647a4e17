//! Escaping text we did not write before a person reads it: a server's display names and error
//! messages on a terminal, an operator's rejected input in an error message.
//!
//! A terminal acts on control characters: `ESC [` (or the one-character C1 form U+009B) moves the
//! cursor, erases lines and recolours what follows, and a newline forges a new log or table line.
//! So such text is shown with those characters escaped (`\n`, `\u{1b}`, `\u{9b}`) and cut to a
//! length, saying how much was left out. Both functions here share one escaping loop; they differ
//! only in which characters they escape.

/// The default number of characters [`for_terminal`] shows before cutting.
pub const DEFAULT_SHOWN_CHARS: usize = 200;

/// How much of a rejected input an error message repeats.
const SHOWN_INPUT_CHARS: usize = 120;

/// Makes server- or operator-controlled `text` safe to print on a terminal.
///
/// Escapes, as Rust's `char::escape_default` writes them (`\n`, `\t`, `\u{1b}`, `\u{9b}`):
/// - C0 controls (U+0000 to U+001F), DEL (U+007F) and C1 controls (U+0080 to U+009F, U+009B
///   "CSI" included), which a terminal would act on;
/// - the bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A to U+202E,
///   U+2066 to U+2069), which reorder what is shown after them;
/// - the line and paragraph separators (U+2028, U+2029), which some terminals, log viewers
///   and pagers break lines on: a forged line, like a newline's.
///
/// Every other character, non-ASCII letters and backslashes included, is kept, so display names
/// stay readable. At most `max_chars` characters of `text` are shown (use
/// [`DEFAULT_SHOWN_CHARS`] when in doubt); the rest is replaced by `... (N more bytes)`.
///
/// JSON output needs no such treatment: its encoder escapes control characters itself, and
/// should carry the text exactly.
///
/// # Example
/// ```
/// use vertex_cancel::escape::for_terminal;
///
/// assert_eq!(for_terminal("job\n\u{1b}[2Kdone", 200), "job\\n\\u{1b}[2Kdone");
/// assert_eq!(for_terminal("Trainingslauf für Ärzte", 200), "Trainingslauf für Ärzte");
/// assert_eq!(for_terminal("abcdef", 2), "ab... (4 more bytes)");
/// ```
pub fn for_terminal(text: &str, max_chars: usize) -> String {
    escape_capped(text, max_chars, |c| {
        c.is_control() || is_bidi_control(c) || is_line_separator(c)
    })
}

/// Repeats untrusted input in an error message: at most 120 characters, with everything but
/// printable ASCII escaped, and quotes and backslashes too, so a message can never forge log
/// lines or carry look-alike characters.
pub(crate) fn printable(input: &str) -> String {
    escape_capped(input, SHOWN_INPUT_CHARS, |c| {
        !(c == ' ' || c.is_ascii_graphic()) || matches!(c, '"' | '\'' | '\\')
    })
}

/// Names a character so that any character, even an invisible one, can be shown safely.
pub(crate) fn describe_char(c: char) -> String {
    let code = c as u32;
    if c.is_ascii_graphic() {
        format!("'{}'", c.escape_default())
    } else if c.is_whitespace() {
        format!("whitespace U+{code:04X}")
    } else if c.is_control() {
        format!("control character U+{code:04X}")
    } else {
        format!("non-ASCII character U+{code:04X}")
    }
}

/// The first `max_chars` characters of `text`, those `escaped` picks written as escapes, then
/// how many bytes were left out, if any.
fn escape_capped(text: &str, max_chars: usize, escaped: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    for (shown, (at, c)) in text.char_indices().enumerate() {
        if shown == max_chars {
            out.push_str(&format!("... ({} more bytes)", text.len() - at));
            break;
        }
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode's explicit bidirectional formatting characters (UAX #9), the "Trojan Source" set.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Unicode's own line and paragraph separators: not control characters, yet line breaks.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_has_no_control_character_left() {
        let hostile = "a\nb\r\x1b[1A\x1b[2K\u{9b}31m\u{7f}\u{85}\0\t\u{202e}z";
        let shown = for_terminal(hostile, DEFAULT_SHOWN_CHARS);
        assert_eq!(
            shown,
            "a\\nb\\r\\u{1b}[1A\\u{1b}[2K\\u{9b}31m\\u{7f}\\u{85}\\u{0}\\t\\u{202e}z"
        );
        assert!(!shown.chars().any(|c| c.is_control() || is_bidi_control(c)));
    }

    #[test]
    fn unicode_line_separators_cannot_forge_a_line() {
        let forged = "job-1\u{2028}job-2 CANCELLED\u{2029}";
        assert_eq!(
            for_terminal(forged, DEFAULT_SHOWN_CHARS),
            "job-1\\u{2028}job-2 CANCELLED\\u{2029}"
        );
    }

    #[test]
    fn every_control_character_is_escaped_for_a_terminal() {
        let controls = (0u32..0x20).chain(0x7f..0xa0).filter_map(char::from_u32);
        for c in controls {
            let shown = for_terminal(&c.to_string(), 10);
            assert!(
                shown.starts_with('\\'),
                "U+{:04X} shown as {shown:?}",
                c as u32
            );
        }
    }

    #[test]
    fn readable_text_is_kept_as_it_is() {
        for text in [
            "nightly-train",
            "Jobs für Ärzte",
            "日本語のジョブ",
            r#"C:\path 'q' "x""#,
        ] {
            assert_eq!(for_terminal(text, DEFAULT_SHOWN_CHARS), text);
        }
    }

    #[test]
    fn long_text_is_cut_by_characters_and_says_how_many_bytes_are_left_out() {
        assert_eq!(for_terminal("abc", 3), "abc");
        assert_eq!(for_terminal("abcd", 3), "abc... (1 more bytes)");
        // Cut on a character boundary; what is left out is counted in bytes.
        assert_eq!(for_terminal("ééé", 1), "é... (4 more bytes)");
        let huge = "x".repeat(1 << 20);
        let shown = for_terminal(&huge, DEFAULT_SHOWN_CHARS);
        assert_eq!(
            shown,
            format!("{}... ({} more bytes)", "x".repeat(200), (1 << 20) - 200)
        );
    }

    #[test]
    fn error_echo_escapes_all_but_printable_ascii() {
        assert_eq!(printable("\u{440}"), "\\u{440}");
        assert_eq!(printable("a \"b\"\n"), "a \\\"b\\\"\\n");
        let long = "y".repeat(SHOWN_INPUT_CHARS + 5);
        assert!(printable(&long).ends_with("y... (5 more bytes)"));
    }

    #[test]
    fn characters_are_named_safely() {
        assert_eq!(describe_char('a'), "'a'");
        assert_eq!(describe_char('\u{9b}'), "control character U+009B");
        assert_eq!(describe_char('\u{a0}'), "whitespace U+00A0");
        assert_eq!(describe_char('é'), "non-ASCII character U+00E9");
    }
}
