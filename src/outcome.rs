//! One view of "where is this work now" across pipeline jobs, NAS jobs and operations, and the
//! outcome of a cancel once it is known.
//!
//! The three kinds report progress differently (`PipelineState`, `JobState`, an operation's
//! `done` + `error`); callers deciding what to do next should not have to care which.

use std::fmt;

use crate::proto::google::cloud::aiplatform::v1::{JobState, PipelineState};
use crate::proto::google::longrunning::{Operation, operation};

/// `google.rpc.Code.CANCELLED`: the error code Google sets on work that was cancelled.
pub const CANCELLED_CODE: i32 = 1;

/// The state of a pipeline job, NAS job or operation, as one enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// The server did not say (`*_STATE_UNSPECIFIED`).
    Unspecified,
    /// Waiting for resources.
    Queued,
    /// Being prepared.
    Pending,
    /// Running; for an operation: not `done`.
    Running,
    /// Cancel requested, not yet effective.
    Cancelling,
    /// Cancelled: terminal.
    Cancelled,
    /// Finished successfully: terminal.
    Succeeded,
    /// Finished with an error: terminal.
    Failed,
    /// Paused; it can resume, so it is not terminal.
    Paused,
    /// Expired (NAS jobs): terminal.
    Expired,
    /// Being updated (NAS jobs).
    Updating,
    /// Some trials succeeded (NAS jobs): terminal.
    PartiallySucceeded,
}

impl State {
    /// Whether the work can no longer change state (so waiting longer is pointless).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Cancelled
                | Self::Succeeded
                | Self::Failed
                | Self::Expired
                | Self::PartiallySucceeded
        )
    }

    /// The state as Google spells it, without the `PIPELINE_STATE_` / `JOB_STATE_` prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Queued => "QUEUED",
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Cancelling => "CANCELLING",
            Self::Cancelled => "CANCELLED",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Paused => "PAUSED",
            Self::Expired => "EXPIRED",
            Self::Updating => "UPDATING",
            Self::PartiallySucceeded => "PARTIALLY_SUCCEEDED",
        }
    }

    /// The state of an operation: `done` with code 1 is cancelled, with another code failed.
    pub fn of_operation(op: &Operation) -> Self {
        match &op.result {
            _ if !op.done => Self::Running,
            Some(operation::Result::Error(status)) if status.code == CANCELLED_CODE => {
                Self::Cancelled
            }
            Some(operation::Result::Error(_)) => Self::Failed,
            _ => Self::Succeeded,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PipelineState> for State {
    fn from(state: PipelineState) -> Self {
        match state {
            PipelineState::Unspecified => Self::Unspecified,
            PipelineState::Queued => Self::Queued,
            PipelineState::Pending => Self::Pending,
            PipelineState::Running => Self::Running,
            PipelineState::Succeeded => Self::Succeeded,
            PipelineState::Failed => Self::Failed,
            PipelineState::Cancelling => Self::Cancelling,
            PipelineState::Cancelled => Self::Cancelled,
            PipelineState::Paused => Self::Paused,
        }
    }
}

impl From<JobState> for State {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Unspecified => Self::Unspecified,
            JobState::Queued => Self::Queued,
            JobState::Pending => Self::Pending,
            JobState::Running => Self::Running,
            JobState::Succeeded => Self::Succeeded,
            JobState::Failed => Self::Failed,
            JobState::Cancelling => Self::Cancelling,
            JobState::Cancelled => Self::Cancelled,
            JobState::Paused => Self::Paused,
            JobState::Expired => Self::Expired,
            JobState::Updating => Self::Updating,
            JobState::PartiallySucceeded => Self::PartiallySucceeded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_state_follows_done_and_error_code() {
        let mut op = Operation::default();
        assert_eq!(State::of_operation(&op), State::Running);
        op.done = true;
        assert_eq!(State::of_operation(&op), State::Succeeded);
        op.result = Some(operation::Result::Error(
            crate::proto::google::rpc::Status {
                code: CANCELLED_CODE,
                ..Default::default()
            },
        ));
        assert_eq!(State::of_operation(&op), State::Cancelled);
        op.result = Some(operation::Result::Error(
            crate::proto::google::rpc::Status {
                code: 13,
                ..Default::default()
            },
        ));
        assert_eq!(State::of_operation(&op), State::Failed);
    }

    #[test]
    fn paused_is_not_terminal() {
        assert!(!State::from(PipelineState::Paused).is_terminal());
        assert!(State::from(JobState::Expired).is_terminal());
    }
}
