//! Everything the CLI prints: aligned tables (coloured only on a terminal without `NO_COLOR`),
//! JSON Lines, the progress bar (stderr, terminal only) and stdout writes that surface a closed
//! pipe as an error instead of a panic.
//!
//! Results go to stdout, diagnostics and progress to stderr, so `vertex-cancel ... --json | jq`
//! sees only results.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::exit::CliError;

/// Above this many targets a progress bar is shown (on a terminal).
const PROGRESS_THRESHOLD: usize = 5;

/// Colours the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    /// Done as asked.
    Green,
    /// Not what was asked, but not an error.
    Yellow,
    /// An error.
    Red,
    /// In progress.
    Cyan,
}

impl Color {
    fn ansi(self) -> &'static str {
        match self {
            Self::Green => "\x1b[32m",
            Self::Yellow => "\x1b[33m",
            Self::Red => "\x1b[31m",
            Self::Cyan => "\x1b[36m",
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// JSON Lines instead of a table.
    pub(crate) json: bool,
    /// ANSI colours in the table.
    pub(crate) color: bool,
    /// Progress bars and summaries on stderr.
    pub(crate) chatty: bool,
    /// Whether stderr is a terminal (progress bars, prompts).
    pub(crate) stderr_tty: bool,
    /// ANSI colours in the logs (stderr is a terminal, no `NO_COLOR`).
    pub(crate) log_color: bool,
}

impl Style {
    /// Detects terminals and `NO_COLOR` (set and non-empty disables colour).
    pub(crate) fn detect(json: bool, quiet: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_tty = std::io::stderr().is_terminal();
        Self {
            json,
            color: !json && !no_color && std::io::stdout().is_terminal(),
            chatty: !quiet,
            stderr_tty,
            log_color: stderr_tty && !no_color,
        }
    }

    /// A progress bar for `len` items, hidden unless stderr is a terminal and there are more
    /// than a handful.
    pub(crate) fn progress(&self, len: usize, what: &str) -> ProgressBar {
        if !(self.chatty && self.stderr_tty && len > PROGRESS_THRESHOLD) {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A note on stderr (unless `-q`).
    pub(crate) fn note(&self, text: &str) {
        if self.chatty {
            eprintln!("{text}");
        }
    }
}

/// One table cell: its text and optional colour (alignment ignores the colour codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    text: String,
    color: Option<Color>,
}

impl Cell {
    /// A plain cell.
    pub(crate) fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            color: None,
        }
    }

    /// A coloured cell.
    pub(crate) fn colored(text: impl Into<String>, color: Color) -> Self {
        Self {
            text: text.into(),
            color: Some(color),
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::plain(text)
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::plain(text)
    }
}

/// A table with a header row, columns padded to their widest cell, two spaces apart.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these column headers.
    pub(crate) fn new(headers: Vec<&'static str>) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    /// Whether no row was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a row (as many cells as headers).
    pub(crate) fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The table as text, one line per row, no trailing spaces.
    pub(crate) fn render(&self, color: bool) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(&cell.text));
            }
        }
        let writer = TableWriter { widths, color };
        let mut out = writer.header_line(&self.headers);
        for row in &self.rows {
            out.push_str(&writer.line(row));
        }
        out
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// A table written a row at a time, as results arrive: the column widths are fixed before the
/// first row (the widest name is known once the names are checked; the other columns hold words
/// from a fixed set), so nothing needs to be held back to align the rows.
#[derive(Debug, Clone)]
pub(crate) struct TableWriter {
    widths: Vec<usize>,
    color: bool,
}

impl TableWriter {
    /// Prints the header row; `widths` are the widest cell of each column (the last column is
    /// never padded).
    pub(crate) fn start(headers: &[&str], widths: &[usize], color: bool) -> Result<Self, CliError> {
        let widths = headers
            .iter()
            .zip(widths)
            .map(|(h, w)| width(h).max(*w))
            .collect();
        let writer = Self { widths, color };
        print(&writer.header_line(headers))?;
        Ok(writer)
    }

    /// Prints one row.
    pub(crate) fn row(&self, cells: &[Cell]) -> Result<(), CliError> {
        print(&self.line(cells))
    }

    fn header_line(&self, headers: &[&str]) -> String {
        let cells: Vec<Cell> = headers.iter().map(|h| Cell::plain(*h)).collect();
        self.line(&cells)
    }

    fn line(&self, cells: &[Cell]) -> String {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(&self.widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = w.saturating_sub(width(&cell.text));
            match cell.color.filter(|_| self.color) {
                Some(c) => line.push_str(&format!("{}{}\x1b[0m", c.ansi(), cell.text)),
                None => line.push_str(&cell.text),
            }
            line.push_str(&" ".repeat(pad));
        }
        let mut line = line.trim_end().to_owned();
        line.push('\n');
        line
    }
}

/// Writes `text` to stdout and flushes; a closed pipe comes back as an error, not a panic.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(CliError::io("writing to stdout"))
}

/// Writes one JSON object as a line to stdout.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    print(&format!("{value}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let mut table = Table::new(vec!["NAME", "STATE"]);
        table.push(vec!["a-long-name".into(), "CANCELLED".into()]);
        table.push(vec!["b".into(), "".into()]);
        let text = table.render(false);
        assert_eq!(text, "NAME         STATE\na-long-name  CANCELLED\nb\n");
    }

    #[test]
    fn colour_codes_do_not_change_alignment() {
        let mut table = Table::new(vec!["OUTCOME", "X"]);
        table.push(vec![Cell::colored("error", Color::Red), "1".into()]);
        let text = table.render(true);
        assert!(text.contains("\x1b[31merror\x1b[0m    1"), "{text:?}");
        assert!(!table.render(false).contains('\x1b'));
    }
}
