//! One view of "where is this work now" across every kind of job and operations, and the
//! outcome of a cancel once it is known.
//!
//! The kinds report progress differently (`PipelineState` for pipeline jobs and training
//! pipelines, `JobState` for every other job, an operation's `done` + `error`); callers deciding
//! what to do next should not have to care which. A cancel stops the work, never undoes it: what
//! a job already wrote (a batch prediction job's output files, a training job's checkpoints)
//! stays written.

use std::fmt;
use std::str::FromStr;

use crate::wire::google::cloud::aiplatform::v1::{
    BatchPredictionJob, CustomJob, DataLabelingJob, HyperparameterTuningJob, JobState, NasJob,
    PipelineJob, PipelineState, TrainingPipeline, TuningJob,
};
use crate::wire::google::longrunning::{Operation, operation};
pub use crate::wire::google::rpc::Status as RpcStatus;

/// `google.rpc.Code.CANCELLED`: the error code Google sets on work that was cancelled.
pub(crate) const CANCELLED_CODE: i32 = 1;

/// The state of any job or operation, as one enum (`JobState` and `PipelineState` values).
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
    /// Expired (`JOB_STATE_EXPIRED`): terminal.
    Expired,
    /// Being updated (`JOB_STATE_UPDATING`); not terminal.
    Updating,
    /// Partly succeeded (`JOB_STATE_PARTIALLY_SUCCEEDED`, e.g. a batch prediction job some of
    /// whose inputs failed): terminal.
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
    /// `done` with neither `error` nor `response` ("some services might not provide the
    /// result") is succeeded: a cancel that took effect sets code 1, so it was not cancelled.
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

impl State {
    /// Every state, in declaration order: the list [`FromStr`] and [`State::terminal`] read.
    /// A unit test matches on `State` exhaustively, so a new variant cannot be left out.
    const ALL: [State; 12] = [
        State::Unspecified,
        State::Queued,
        State::Pending,
        State::Running,
        State::Cancelling,
        State::Cancelled,
        State::Succeeded,
        State::Failed,
        State::Paused,
        State::Expired,
        State::Updating,
        State::PartiallySucceeded,
    ];

    /// The terminal states ([`is_terminal`](Self::is_terminal)), e.g. to build a List filter.
    pub fn terminal() -> impl Iterator<Item = State> {
        Self::ALL.into_iter().filter(|state| state.is_terminal())
    }
}

/// A state name that is none of [`State`]'s; see [`State`]'s `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown state {0:?} (expected a name such as RUNNING, without the PIPELINE_STATE_/JOB_STATE_ prefix)"
)]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    /// Parses the name [`as_str`](Self::as_str) gives (`RUNNING`, `PARTIALLY_SUCCEEDED`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
            .ok_or_else(|| UnknownState(name.to_owned()))
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

/// What a cancel led to, once known.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// The cancel was accepted; the outcome was not awaited.
    Requested,
    /// The work reached `CANCELLED` (an operation: `done` with error code 1).
    Cancelled {
        /// The error Google recorded (code 1), when it gave one.
        error: Option<RpcStatus>,
    },
    /// The work reached another terminal state before the cancel took effect.
    FinishedAnyway {
        /// The terminal state (SUCCEEDED, FAILED, ...).
        state: State,
        /// The error the work finished with, if any.
        error: Option<RpcStatus>,
    },
    /// The wait budget was spent while the work was still in `state`.
    StillRunning {
        /// The last state read.
        state: State,
    },
}

impl Outcome {
    /// The outcome a terminal (or last-seen) state means after a cancel.
    pub fn from_state(state: State, error: Option<RpcStatus>) -> Self {
        match state {
            State::Cancelled => Self::Cancelled { error },
            s if s.is_terminal() => Self::FinishedAnyway { state, error },
            _ => Self::StillRunning { state },
        }
    }

    /// Whether the work is known to be stopped by the cancel.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }

    /// A short word for tables and JSON: `requested`, `cancelled`, `finished_anyway`, `still_running`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Cancelled { .. } => "cancelled",
            Self::FinishedAnyway { .. } => "finished_anyway",
            Self::StillRunning { .. } => "still_running",
        }
    }
}

/// The state of one target as read by Get or List, with the raw message for anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetStatus {
    /// One state across kinds.
    pub state: State,
    /// The error recorded on the resource (code 1 after a cancel).
    pub error: Option<RpcStatus>,
    /// The message as the server sent it.
    pub raw: RawResource,
}

/// Declares [`RawResource`] over the job messages and reads each into a [`TargetStatus`]: every
/// job message has `name`, `state` (its kind's enum) and `error`.
macro_rules! raw_resource {
    ($($(#[$meta:meta])* $variant:ident($message:ident)),+ $(,)?) => {
        /// The message a Get or List returned, by kind.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum RawResource {
            $($(#[$meta])* $variant(Box<$message>),)+
            /// A `google.longrunning.Operation`.
            Operation(Box<Operation>),
        }

        impl RawResource {
            /// The resource name the server reported.
            pub fn name(&self) -> &str {
                match self {
                    $(Self::$variant(job) => &job.name,)+
                    Self::Operation(op) => &op.name,
                }
            }
        }

        $(impl From<$message> for TargetStatus {
            fn from(job: $message) -> Self {
                Self {
                    state: job.state().into(),
                    error: job.error.clone(),
                    raw: RawResource::$variant(Box::new(job)),
                }
            }
        })+
    };
}

raw_resource!(
    /// A `google.cloud.aiplatform.v1.PipelineJob`.
    PipelineJob(PipelineJob),
    /// A `google.cloud.aiplatform.v1.NasJob`.
    NasJob(NasJob),
    /// A `google.cloud.aiplatform.v1.CustomJob`.
    CustomJob(CustomJob),
    /// A `google.cloud.aiplatform.v1.HyperparameterTuningJob`.
    HyperparameterTuningJob(HyperparameterTuningJob),
    /// A `google.cloud.aiplatform.v1.BatchPredictionJob`. One that is CANCELLED may carry no
    /// `error`: it is still [`State::Cancelled`]. Cancelling stops the job, not its effects:
    /// prediction files it already wrote stay written.
    BatchPredictionJob(BatchPredictionJob),
    /// A `google.cloud.aiplatform.v1.DataLabelingJob`.
    DataLabelingJob(DataLabelingJob),
    /// A `google.cloud.aiplatform.v1.TrainingPipeline`.
    TrainingPipeline(TrainingPipeline),
    /// A `google.cloud.aiplatform.v1.TuningJob`.
    TuningJob(TuningJob),
);

impl From<Operation> for TargetStatus {
    fn from(op: Operation) -> Self {
        let error = match &op.result {
            Some(operation::Result::Error(status)) => Some(status.clone()),
            _ => None,
        };
        Self {
            state: State::of_operation(&op),
            error,
            raw: RawResource::Operation(Box::new(op)),
        }
    }
}

impl TargetStatus {
    /// What this status means after a cancel.
    pub fn outcome(&self) -> Outcome {
        Outcome::from_state(self.state, self.error.clone())
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
        op.result = Some(operation::Result::Error(RpcStatus {
            code: CANCELLED_CODE,
            ..Default::default()
        }));
        assert_eq!(State::of_operation(&op), State::Cancelled);
        op.result = Some(operation::Result::Error(RpcStatus {
            code: 13,
            ..Default::default()
        }));
        assert_eq!(State::of_operation(&op), State::Failed);
    }

    #[test]
    fn a_cancelled_batch_prediction_job_without_an_error_is_still_cancelled() {
        let job = BatchPredictionJob {
            state: JobState::Cancelled as i32,
            error: None,
            ..Default::default()
        };
        let status = TargetStatus::from(job);
        assert_eq!(status.outcome(), Outcome::Cancelled { error: None });
        let pipeline = TrainingPipeline {
            state: PipelineState::Cancelling as i32,
            ..Default::default()
        };
        assert_eq!(TargetStatus::from(pipeline).state, State::Cancelling);
    }

    #[test]
    fn every_state_is_listed_once_and_its_name_parses_back() {
        // Exhaustive on purpose: a new variant fails to compile here until ALL lists it.
        fn position(state: State) -> usize {
            match state {
                State::Unspecified => 0,
                State::Queued => 1,
                State::Pending => 2,
                State::Running => 3,
                State::Cancelling => 4,
                State::Cancelled => 5,
                State::Succeeded => 6,
                State::Failed => 7,
                State::Paused => 8,
                State::Expired => 9,
                State::Updating => 10,
                State::PartiallySucceeded => 11,
            }
        }
        for (index, state) in State::ALL.into_iter().enumerate() {
            assert_eq!(position(state), index, "{state}");
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert_eq!(
            "PIPELINE_STATE_RUNNING".parse::<State>(),
            Err(UnknownState("PIPELINE_STATE_RUNNING".to_owned()))
        );
        assert_eq!("running".parse::<State>().ok(), None);
    }

    #[test]
    fn terminal_lists_exactly_the_terminal_states() {
        let terminal: Vec<State> = State::terminal().collect();
        assert_eq!(
            terminal,
            [
                State::Cancelled,
                State::Succeeded,
                State::Failed,
                State::Expired,
                State::PartiallySucceeded
            ]
        );
    }

    #[test]
    fn paused_is_not_terminal() {
        assert!(!State::from(PipelineState::Paused).is_terminal());
        assert!(State::from(JobState::Expired).is_terminal());
    }
}
