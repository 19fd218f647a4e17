//! Exit codes as one enum, and the CLI's error type that decides which code a failure gets.
//!
//! Scripts branch on the exit code, so the mapping from what went wrong to a code lives in one
//! place (and is documented in `--help` and the README).

use std::fmt;
use std::io;
use std::process::ExitCode;

use vertex_cancel::Error;
use vertex_cancel::fake::FakeError;

use vertex_cancel::escape::for_terminal;

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything went as asked.
    Success,
    /// Some target failed with an error.
    Failed,
    /// Bad usage or bad input; nothing was sent.
    Usage,
    /// With `--wait`: some target finished anyway or is still running.
    NotCancelled,
    /// Authentication or permission.
    Auth,
    /// Ctrl-C.
    Interrupted,
    /// Stdout was closed (`| head`) before every result was written; the run was stopped.
    StdoutClosed,
}

impl Exit {
    /// The number the process exits with.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::NotCancelled => 3,
            Self::Auth => 4,
            Self::Interrupted => 130,
            // What a shell reports for a process killed by SIGPIPE (128 + 13).
            Self::StdoutClosed => 141,
        }
    }

    /// How serious the result of one target is: the most serious target decides the exit code.
    fn severity(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::NotCancelled => 1,
            Self::Failed => 2,
            Self::Auth => 3,
            Self::Usage => 4,
            Self::Interrupted | Self::StdoutClosed => 5,
        }
    }

    /// The more serious of two results (4, then 1, then 3, then 0).
    #[must_use]
    pub(crate) fn max(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The code for a library error: bad input 2, identity or access 4, anything else 1.
    pub(crate) fn of_error(error: &Error) -> Self {
        if error.is_bad_input() {
            Self::Usage
        } else if error.is_auth() {
            Self::Auth
        } else {
            Self::Failed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// Why a command stopped before producing its results.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad usage or input found by the CLI itself.
    #[error("{0}")]
    Usage(String),
    /// An error from the library (client construction, a List).
    #[error(transparent)]
    Client(#[from] Error),
    /// The fake could not start or run.
    #[error(transparent)]
    Fake(#[from] FakeError),
    /// Application Default Credentials found nothing to use.
    #[error(
        "no credentials found: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no gcloud \
         application-default credentials file, the metadata server did not answer and gcloud \
         gave no token; run `gcloud auth application-default login`, set \
         GOOGLE_APPLICATION_CREDENTIALS to a key file, or pass --access-token-file"
    )]
    NoCredentials,
    /// Reading input or writing output failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

impl CliError {
    /// A usage error with this message.
    pub(crate) fn usage(message: impl fmt::Display) -> Self {
        Self::Usage(message.to_string())
    }

    /// An I/O error while doing `context`.
    pub(crate) fn io(context: impl fmt::Display) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io {
            context: context.to_string(),
            source,
        }
    }

    /// Whether stdout was closed under us (`| head`): the process should end quietly.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The message for stderr: the error and its causes on one line, with any server or
    /// operator text in it escaped (usage messages escape what they repeat themselves, and may
    /// list several problems on their own lines).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Usage(message) => message.clone(),
            other => for_terminal(&error_chain(other), usize::MAX),
        }
    }

    /// The exit code this error means.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) => Exit::Usage,
            Self::NoCredentials => Exit::Auth,
            Self::Client(error) => Exit::of_error(error),
            Self::Fake(
                FakeError::ReadScenario { .. }
                | FakeError::ScenarioJson { .. }
                | FakeError::InvalidResource { .. }
                | FakeError::InvalidFault { .. },
            ) => Exit::Usage,
            Self::Fake(_) | Self::Io { .. } => Exit::Failed,
        }
    }
}

/// An error and its causes on one line, each cause once: `a: b: c`.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // A transparent wrapper may repeat its cause's text; show it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_result_wins() {
        let all = [Exit::Success, Exit::NotCancelled, Exit::Failed, Exit::Auth];
        let worst = |order: &[Exit]| order.iter().fold(Exit::Success, |a, &b| a.max(b));
        assert_eq!(worst(&all), Exit::Auth);
        assert_eq!(worst(&[Exit::NotCancelled, Exit::Failed]), Exit::Failed);
        assert_eq!(worst(&[Exit::Failed, Exit::NotCancelled]), Exit::Failed);
        assert_eq!(
            worst(&[Exit::Success, Exit::NotCancelled]),
            Exit::NotCancelled
        );
        assert_eq!(worst(&[]), Exit::Success);
    }

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Failed,
            Exit::Usage,
            Exit::NotCancelled,
            Exit::Auth,
            Exit::Interrupted,
            Exit::StdoutClosed,
        ]
        .map(Exit::code)
        .to_vec();
        assert_eq!(codes, [0, 1, 2, 3, 4, 130, 141]);
    }

    #[test]
    fn library_errors_map_by_class() {
        let bad = Error::InvalidConfig { reason: "x".into() };
        assert_eq!(CliError::from(bad).exit(), Exit::Usage);
        let denied = Error::PermissionDenied(tonic::Status::permission_denied("no").into());
        assert_eq!(CliError::from(denied).exit(), Exit::Auth);
        let missing = Error::NotFound(tonic::Status::not_found("gone").into());
        assert_eq!(CliError::from(missing).exit(), Exit::Failed);
        // A shut-down client is the program's state, not the operator's input: not exit 2.
        assert_eq!(CliError::from(Error::Shutdown).exit(), Exit::Failed);
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let err = CliError::io("writing")(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(err.is_broken_pipe());
        assert!(!CliError::usage("x").is_broken_pipe());
    }

    #[test]
    fn chain_shows_each_cause_once() {
        let err = CliError::io("reading names")(io::Error::other("disk on fire"));
        assert_eq!(error_chain(&err), "reading names: disk on fire");
    }
}
