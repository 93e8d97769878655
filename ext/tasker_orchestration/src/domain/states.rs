//! The state machines of steps and tasks. Every state change in the core is checked here
//! before it is written; the SQL CHECK constraints list the same states.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("illegal {machine} transition {from} -> {to}")]
    Illegal { machine: &'static str, from: String, to: String },
    #[error("unknown {machine} state {0:?}", machine = .1)]
    Unknown(String, &'static str),
    /// A change the state machines would allow step by step, refused for the task as a whole.
    #[error("{0}")]
    Refused(String),
}

macro_rules! states {
    ($name:ident, $machine:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            #[cfg(test)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = StateError;
            fn from_str(s: &str) -> Result<Self, StateError> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(StateError::Unknown(s.to_owned(), $machine)) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

states!(StepState, "step", {
    Pending => "pending",
    Enqueued => "enqueued",
    InProgress => "in_progress",
    Complete => "complete",
    Error => "error",
    WaitingForRetry => "waiting_for_retry",
    Cancelled => "cancelled",
    ResolvedManually => "resolved_manually",
    Skipped => "skipped",
    Waiting => "waiting",
});

states!(TaskState, "task", {
    Pending => "pending",
    InProgress => "in_progress",
    Complete => "complete",
    Error => "error",
    Cancelled => "cancelled",
    ResolvedManually => "resolved_manually",
});

impl StepState {
    /// Final for the workflow: dependents may run (complete, resolved, skipped) or never will.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Cancelled | Self::ResolvedManually | Self::Skipped)
    }

    /// Its results satisfy dependents.
    pub fn satisfies_dependents(self) -> bool {
        matches!(self, Self::Complete | Self::ResolvedManually)
    }

    pub fn can_transition(self, to: StepState) -> bool {
        use StepState::*;
        match (self, to) {
            (Pending, Enqueued) | (Enqueued, InProgress) | (InProgress, Complete) | (InProgress, Error) => true,
            (Error, WaitingForRetry) | (WaitingForRetry, Enqueued) => true,
            // An operator retry of a task in error sends failed steps back to pending.
            (Error, Pending) => true,
            // A decision did not choose it, or all its parents were skipped.
            (Pending, Skipped) => true,
            // No worker holds it: a map step waiting for its items, a signal, a timer; or a
            // handler that started a child task and awaits it.
            (Pending | InProgress, Waiting) => true,
            // The wait ends: the items, the signal, the timer or the child decide how.
            (Waiting, Complete | Error | Skipped) => true,
            // A step that cannot start fails without running (a map over a non-Array, a
            // sleep until a time that cannot be read).
            (Pending, Error) => true,
            // An operator retry of a task whose map step failed re-runs the items that map
            // cancelled (maps::rearm; nothing else moves a cancelled step).
            (Cancelled, Pending) => true,
            (from, Cancelled) => !from.is_final() && from != Cancelled,
            (from, ResolvedManually) => from != ResolvedManually,
            _ => false,
        }
    }

    pub fn check(self, to: StepState) -> Result<(), StateError> {
        check(self.can_transition(to), "step", self.as_str(), to.as_str())
    }
}

impl TaskState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Cancelled | Self::ResolvedManually)
    }

    pub fn can_transition(self, to: TaskState) -> bool {
        use TaskState::*;
        matches!(
            (self, to),
            (Pending, InProgress)
                | (InProgress, Complete)
                | (InProgress, Error)
                | (Error, InProgress)
                | (Pending | InProgress | Error, Cancelled)
                | (Pending | InProgress | Error, ResolvedManually)
        )
    }

    pub fn check(self, to: TaskState) -> Result<(), StateError> {
        check(self.can_transition(to), "task", self.as_str(), to.as_str())
    }
}

fn check(legal: bool, machine: &'static str, from: &str, to: &str) -> Result<(), StateError> {
    if legal {
        Ok(())
    } else {
        Err(StateError::Illegal { machine, from: from.to_owned(), to: to.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_happy_path_and_retry_loop_are_legal() {
        use StepState::*;
        let path = [Pending, Enqueued, InProgress, Error, WaitingForRetry, Enqueued, InProgress, Complete];
        for pair in path.windows(2) {
            assert!(pair[0].can_transition(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn final_steps_do_not_move_except_to_manual_resolution() {
        use StepState::*;
        for to in StepState::ALL {
            if *to != ResolvedManually {
                assert!(!Complete.can_transition(*to), "complete -> {to}");
                if *to != Pending {
                    assert!(!Cancelled.can_transition(*to), "cancelled -> {to}");
                }
                assert!(!Skipped.can_transition(*to), "skipped -> {to}");
            }
        }
        assert!(Complete.can_transition(ResolvedManually));
        let err = Complete.check(Enqueued).unwrap_err();
        assert_eq!(err.to_string(), "illegal step transition complete -> enqueued");
    }

    #[test]
    fn dynamic_steps_wait_and_skip_through_legal_edges() {
        use StepState::*;
        for pair in [[Pending, Waiting], [Waiting, Complete], [InProgress, Waiting], [Waiting, Error], [Pending, Skipped], [Waiting, Skipped]] {
            assert!(pair[0].can_transition(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
        assert!(Skipped.is_final());
        assert!(!Skipped.satisfies_dependents());
        assert!(!Skipped.can_transition(Pending));
        assert!(!Waiting.can_transition(Enqueued));
        assert!(Waiting.can_transition(Cancelled));
    }

    #[test]
    fn the_worker_claim_is_a_legal_edge() {
        // tasker_claim_step (SQL) performs exactly these two.
        assert!(StepState::Enqueued.can_transition(StepState::InProgress));
        assert!(StepState::WaitingForRetry.can_transition(StepState::Enqueued));
    }

    #[test]
    fn tasks_finish_once_and_only_error_resumes() {
        use TaskState::*;
        assert!(Pending.can_transition(InProgress));
        assert!(InProgress.can_transition(Complete));
        assert!(Error.can_transition(InProgress));
        assert!(!Complete.can_transition(InProgress));
        assert!(!Complete.can_transition(Error));
        assert!(!Cancelled.can_transition(InProgress));
    }

    #[test]
    fn states_round_trip_through_text() {
        for s in StepState::ALL {
            assert_eq!(s.as_str().parse::<StepState>().unwrap(), *s);
        }
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>().unwrap(), *s);
        }
        assert!("bogus".parse::<TaskState>().is_err());
    }
}
