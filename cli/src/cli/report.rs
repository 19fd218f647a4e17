//! What the CLI reports about each target, in one shape per command family: a [`CancelRow`] per
//! cancelled target, a [`StatusRow`] per status read, a [`ListRow`] per listed item. Each knows
//! its JSON Lines object (the documented schema), its table cells and the exit code it implies.

use serde_json::{Value, json};
use vertex_cancel::error::code_name;
use vertex_cancel::outcome::RpcStatus;
use vertex_cancel::{Error, Outcome, RawResource, State, Target, TargetKind, TargetStatus};

use super::exit::{Exit, error_chain};
use super::output::{Cell, Color};
use vertex_cancel::escape::for_terminal;

/// Why a call failed, as reported: the gRPC code (if a server answered) and the message chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorView {
    /// A `google.rpc.Code` name, or `None` when no server answered.
    pub(crate) code: Option<&'static str>,
    /// The error and its causes.
    pub(crate) message: String,
}

impl ErrorView {
    pub(crate) fn of_error(error: &Error) -> Self {
        let code = error.code().map(code_name);
        let chain = error_chain(error);
        // The code has its own field: do not repeat it at the start of the message.
        let message = code
            .and_then(|c| chain.strip_prefix(c))
            .and_then(|rest| rest.strip_prefix(": "))
            .map_or_else(|| chain.clone(), str::to_owned);
        Self { code, message }
    }

    fn of_status(status: &RpcStatus) -> Self {
        Self {
            code: Some(code_name(tonic::Code::from_i32(status.code))),
            message: status.message.clone(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }

    /// `CODE: message` for a table, the message (server text) escaped.
    fn text(&self) -> String {
        let message = for_terminal(&self.message, usize::MAX);
        match (self.code, self.message.is_empty()) {
            (Some(code), true) => code.to_owned(),
            (Some(code), false) if !self.message.starts_with(code) => {
                format!("{code}: {message}")
            }
            _ => message,
        }
    }
}

fn json_or_null<T>(value: Option<&T>, f: impl FnOnce(&T) -> Value) -> Value {
    value.map_or(Value::Null, f)
}

/// The fields every row names its target by.
fn target_json(target: &Target) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("name".into(), target.to_string().into());
    map.insert("kind".into(), target.kind().as_str().into());
    map.insert("service".into(), target.service().as_str().into());
    map
}

/// What happened to one cancelled target.
#[derive(Debug, Clone)]
pub(crate) struct CancelRow {
    /// The target.
    pub(crate) target: Target,
    /// Its outcome, or why it could not be had.
    pub(crate) result: Result<Outcome, ErrorView>,
    /// The state a failed call reported, when it said (`AlreadyFinished`).
    error_state: Option<State>,
    /// The state before the cancel (the demo reads it).
    pub(crate) before: Option<State>,
    /// The exit code this row implies.
    exit_if_error: Exit,
}

/// The word for an outcome in tables and JSON (`error` for a failed call).
pub(crate) const ERROR_OUTCOME: &str = "error";

impl CancelRow {
    /// The row for what `cancel_many` reported.
    pub(crate) fn new(target: Target, result: Result<Outcome, Error>) -> Self {
        let (error_state, exit_if_error) = match &result {
            Err(Error::AlreadyFinished { state, .. }) => (*state, Exit::Failed),
            Err(error) => (None, Exit::of_error(error)),
            Ok(_) => (None, Exit::Failed),
        };
        Self {
            target,
            result: result.map_err(|e| ErrorView::of_error(&e)),
            error_state,
            before: None,
            exit_if_error,
        }
    }

    /// `requested`, `cancelled`, `finished_anyway`, `still_running` or `error`.
    pub(crate) fn outcome_word(&self) -> &'static str {
        match &self.result {
            Ok(outcome) => outcome.as_str(),
            Err(_) => ERROR_OUTCOME,
        }
    }

    /// The state the target was last seen in.
    pub(crate) fn state(&self) -> Option<State> {
        match &self.result {
            Ok(Outcome::Cancelled { .. }) => Some(State::Cancelled),
            Ok(Outcome::FinishedAnyway { state, .. } | Outcome::StillRunning { state }) => {
                Some(*state)
            }
            Ok(_) => None,
            Err(_) => self.error_state,
        }
    }

    fn resource_error(&self) -> Option<ErrorView> {
        match &self.result {
            Ok(Outcome::Cancelled { error } | Outcome::FinishedAnyway { error, .. }) => {
                error.as_ref().map(ErrorView::of_status)
            }
            _ => None,
        }
    }

    /// The exit code this target implies. One outcome word, one code: `finished_anyway` is 3
    /// with or without `--wait` (a script cancelling to prevent a job's effects must learn that
    /// the job completed).
    pub(crate) fn exit(&self) -> Exit {
        match &self.result {
            Err(_) => self.exit_if_error,
            Ok(Outcome::FinishedAnyway { .. } | Outcome::StillRunning { .. }) => Exit::NotCancelled,
            Ok(_) => Exit::Success,
        }
    }

    /// The JSON Lines object.
    pub(crate) fn json(&self) -> Value {
        let mut map = target_json(&self.target);
        map.insert("outcome".into(), self.outcome_word().into());
        map.insert(
            "state".into(),
            json_or_null(self.state().as_ref(), |s| s.as_str().into()),
        );
        map.insert(
            "resource_error".into(),
            json_or_null(self.resource_error().as_ref(), ErrorView::json),
        );
        map.insert(
            "error".into(),
            json_or_null(self.result.as_ref().err(), ErrorView::json),
        );
        if let Some(before) = self.before {
            map.insert("before".into(), before.as_str().into());
        }
        Value::Object(map)
    }

    /// The outcome cell, coloured by what it means.
    pub(crate) fn outcome_cell(&self) -> Cell {
        let color = match &self.result {
            Ok(Outcome::Cancelled { .. }) => Color::Green,
            Ok(Outcome::Requested) => Color::Cyan,
            Ok(_) => Color::Yellow,
            Err(_) => Color::Red,
        };
        Cell::colored(self.outcome_word(), color)
    }

    /// A short explanation for the table's last column.
    pub(crate) fn detail(&self) -> String {
        match &self.result {
            Err(error) => error.text(),
            Ok(Outcome::Requested) => "cancel accepted; not waited for".into(),
            Ok(Outcome::Cancelled { .. } | Outcome::FinishedAnyway { .. })
                if self.before.is_some_and(State::is_terminal) =>
            {
                "had already finished; nothing to cancel".into()
            }
            Ok(Outcome::Cancelled { .. }) => String::new(),
            Ok(Outcome::FinishedAnyway { state, error }) => match error {
                Some(e) => format!("finished {state} ({})", ErrorView::of_status(e).text()),
                None => format!("finished {state}; not cancelled"),
            },
            Ok(Outcome::StillRunning { state }) => format!("still {state} when the wait ended"),
            Ok(_) => String::new(),
        }
    }

    /// NAME, KIND, OUTCOME, STATE, DETAIL.
    pub(crate) fn cells(&self) -> Vec<Cell> {
        vec![
            self.target.to_string().into(),
            self.target.kind().as_str().into(),
            self.outcome_cell(),
            state_text(self.state()).into(),
            self.detail().into(),
        ]
    }
}

/// Column headers of [`CancelRow::cells`].
pub(crate) const CANCEL_HEADERS: [&str; 5] = ["NAME", "KIND", "OUTCOME", "STATE", "DETAIL"];

/// The widest cell of each column of [`CancelRow::cells`], for a table printed as it goes.
pub(crate) fn cancel_widths(widest_name: usize) -> [usize; 5] {
    let outcome = OUTCOME_ORDER.iter().map(|w| w.len()).max().unwrap_or(0);
    [widest_name, KIND_WIDTH, outcome, state_width(), 0]
}

/// The widest kind word (`pipeline-job`).
const KIND_WIDTH: usize = TargetKind::PipelineJob.as_str().len();

/// The widest state name (`PARTIALLY_SUCCEEDED`).
fn state_width() -> usize {
    State::PartiallySucceeded.as_str().len()
}

fn state_text(state: Option<State>) -> &'static str {
    state.map_or("-", State::as_str)
}

/// Outcome words in the order the summary counts them.
const OUTCOME_ORDER: [&str; 5] = [
    "cancelled",
    "requested",
    "finished_anyway",
    "still_running",
    ERROR_OUTCOME,
];

/// What a bulk cancel reported, counted (rows are printed as they come, not kept).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    counts: [usize; OUTCOME_ORDER.len()],
    reported: usize,
    exit: Option<Exit>,
}

impl Tally {
    /// Counts one row.
    pub(crate) fn add(&mut self, row: &CancelRow) {
        let word = row.outcome_word();
        if let Some(rank) = OUTCOME_ORDER.iter().position(|w| *w == word) {
            self.counts[rank] += 1;
        }
        self.reported += 1;
        self.exit = Some(self.exit.unwrap_or(Exit::Success).max(row.exit()));
    }

    /// How many targets were reported.
    pub(crate) fn reported(&self) -> usize {
        self.reported
    }

    /// The most serious code of any row (0 when none).
    pub(crate) fn exit(&self) -> Exit {
        self.exit.unwrap_or(Exit::Success)
    }

    /// `3 targets: 2 cancelled, 1 error` (in a fixed order, zero counts left out).
    pub(crate) fn summary(&self) -> String {
        let parts: Vec<String> = OUTCOME_ORDER
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(word, n)| format!("{n} {word}"))
            .collect();
        let noun = if self.reported == 1 {
            "target"
        } else {
            "targets"
        };
        format!("{} {noun}: {}", self.reported, parts.join(", "))
    }
}

/// The state of one target as read by `status`.
#[derive(Debug, Clone)]
pub(crate) struct StatusRow {
    target: Target,
    result: Result<(State, Option<ErrorView>), (ErrorView, Exit)>,
}

impl StatusRow {
    /// The row for one Get.
    pub(crate) fn new(target: Target, result: Result<TargetStatus, Error>) -> Self {
        let result = match result {
            Ok(status) => Ok((
                status.state,
                status.error.as_ref().map(ErrorView::of_status),
            )),
            Err(error) => Err((ErrorView::of_error(&error), Exit::of_error(&error))),
        };
        Self { target, result }
    }

    /// 0, or the code of the failed Get.
    pub(crate) fn exit(&self) -> Exit {
        self.result
            .as_ref()
            .err()
            .map_or(Exit::Success, |(_, exit)| *exit)
    }

    /// The JSON Lines object.
    pub(crate) fn json(&self) -> Value {
        let mut map = target_json(&self.target);
        let (state, resource_error, error) = match &self.result {
            Ok((state, resource_error)) => (Some(*state), resource_error.as_ref(), None),
            Err((error, _)) => (None, None, Some(error)),
        };
        map.insert(
            "state".into(),
            json_or_null(state.as_ref(), |s| s.as_str().into()),
        );
        map.insert(
            "resource_error".into(),
            json_or_null(resource_error, ErrorView::json),
        );
        map.insert("error".into(), json_or_null(error, ErrorView::json));
        Value::Object(map)
    }

    /// NAME, KIND, STATE, ERROR.
    pub(crate) fn cells(&self) -> Vec<Cell> {
        let (state, detail) = match &self.result {
            Ok((state, error)) => (
                Cell::colored(state.as_str(), state_color(*state)),
                error.as_ref().map(ErrorView::text).unwrap_or_default(),
            ),
            Err((error, _)) => (Cell::colored("error", Color::Red), error.text()),
        };
        vec![
            self.target.to_string().into(),
            self.target.kind().as_str().into(),
            state,
            detail.into(),
        ]
    }
}

/// Column headers of [`StatusRow::cells`].
pub(crate) const STATUS_HEADERS: [&str; 4] = ["NAME", "KIND", "STATE", "ERROR"];

/// The widest cell of each column of [`StatusRow::cells`], for a table printed as it goes.
pub(crate) fn status_widths(widest_name: usize) -> [usize; 4] {
    [widest_name, KIND_WIDTH, state_width(), 0]
}

fn state_color(state: State) -> Color {
    match state {
        State::Cancelled => Color::Green,
        State::Failed => Color::Red,
        s if s.is_terminal() => Color::Yellow,
        _ => Color::Cyan,
    }
}

/// One item of a List.
#[derive(Debug, Clone)]
pub(crate) struct ListRow {
    /// The item as a target (its kind and service come from the List).
    pub(crate) target: Target,
    /// Its state.
    pub(crate) state: State,
    /// Its display name (jobs only).
    pub(crate) display_name: Option<String>,
}

impl ListRow {
    /// The row for a listed item; `None` if the server sent a name this crate cannot parse.
    pub(crate) fn new(status: &TargetStatus, service: vertex_cancel::Service) -> Option<Self> {
        let target: Target = status.raw.name().parse().ok()?;
        let target = match target {
            Target::Operation(op) => Target::Operation(op.with_service(service)),
            other => other,
        };
        let display_name = match &status.raw {
            RawResource::PipelineJob(job) => Some(job.display_name.clone()),
            RawResource::NasJob(job) => Some(job.display_name.clone()),
            _ => None,
        };
        Some(Self {
            target,
            state: status.state,
            display_name,
        })
    }

    /// The JSON Lines object.
    pub(crate) fn json(&self) -> Value {
        let mut map = target_json(&self.target);
        map.insert(
            "display_name".into(),
            json_or_null(self.display_name.as_ref(), |d| d.as_str().into()),
        );
        map.insert("state".into(), self.state.as_str().into());
        map.insert("done".into(), self.state.is_terminal().into());
        Value::Object(map)
    }

    /// NAME, DISPLAY NAME, STATE.
    pub(crate) fn cells(&self) -> Vec<Cell> {
        vec![
            self.target.to_string().into(),
            self.display_name
                .as_deref()
                .map_or_else(|| "-".into(), |name| for_terminal(name, usize::MAX))
                .into(),
            Cell::colored(self.state.as_str(), state_color(self.state)),
        ]
    }
}

/// Column headers of [`ListRow::cells`].
pub(crate) const LIST_HEADERS: [&str; 3] = ["NAME", "DISPLAY NAME", "STATE"];

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Target {
        "projects/p/locations/us-central1/pipelineJobs/1"
            .parse()
            .unwrap()
    }

    #[test]
    fn exit_codes_follow_the_documented_rules() {
        let finished = Outcome::FinishedAnyway {
            state: State::Succeeded,
            error: None,
        };
        let row = CancelRow::new(job(), Ok(finished));
        assert_eq!(row.exit(), Exit::NotCancelled);
        let requested = CancelRow::new(job(), Ok(Outcome::Requested));
        assert_eq!(requested.exit(), Exit::Success);
        let still = CancelRow::new(
            job(),
            Ok(Outcome::StillRunning {
                state: State::Cancelling,
            }),
        );
        assert_eq!(still.exit(), Exit::NotCancelled);
        let denied = Error::PermissionDenied(tonic::Status::permission_denied("no").into());
        assert_eq!(CancelRow::new(job(), Err(denied)).exit(), Exit::Auth);
        let missing = Error::NotFound(tonic::Status::not_found("gone").into());
        assert_eq!(CancelRow::new(job(), Err(missing)).exit(), Exit::Failed);
    }

    #[test]
    fn json_has_every_field_and_separates_call_and_resource_errors() {
        let cancelled = Outcome::Cancelled {
            error: Some(RpcStatus {
                code: 1,
                message: "cancelled by user".into(),
                details: vec![],
            }),
        };
        let v = CancelRow::new(job(), Ok(cancelled)).json();
        assert_eq!(v["outcome"], "cancelled");
        assert_eq!(v["state"], "CANCELLED");
        assert_eq!(v["kind"], "pipeline-job");
        assert_eq!(v["service"], "aiplatform");
        assert_eq!(v["resource_error"]["code"], "CANCELLED");
        assert!(v["error"].is_null());

        let missing = Error::NotFound(tonic::Status::not_found("gone").into());
        let v = CancelRow::new(job(), Err(missing)).json();
        assert_eq!(v["outcome"], "error");
        assert_eq!(v["error"]["code"], "NOT_FOUND");
        assert!(v["state"].is_null() && v["resource_error"].is_null());
        assert!(v.get("before").is_none());
    }

    #[test]
    fn summary_counts_in_a_fixed_order() {
        let rows = [
            CancelRow::new(
                job(),
                Ok(Outcome::StillRunning {
                    state: State::Running,
                }),
            ),
            CancelRow::new(job(), Ok(Outcome::Cancelled { error: None })),
            CancelRow::new(job(), Ok(Outcome::Cancelled { error: None })),
        ];
        let mut tally = Tally::default();
        rows.iter().for_each(|row| tally.add(row));
        assert_eq!(tally.summary(), "3 targets: 2 cancelled, 1 still_running");
        assert_eq!(tally.exit(), Exit::NotCancelled);
        assert_eq!(Tally::default().exit(), Exit::Success);
    }
}
