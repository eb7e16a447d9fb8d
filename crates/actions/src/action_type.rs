//! When an action fires (R31).

use std::fmt;

use serde::{Deserialize, Serialize};

/// When an action's notifiers are called (R32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobActionType {
    /// After a failed run: the notifiers' `notify_error`.
    Failed,
    /// After a successful run: the notifiers' `notify_success`.
    Successed,
    /// After a successful run, like every action: the notifiers' `notify_complete`.
    Completed,
}

impl JobActionType {
    /// The type's name, as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobActionType::Failed => "Failed",
            JobActionType::Successed => "Successed",
            JobActionType::Completed => "Completed",
        }
    }
}

impl fmt::Display for JobActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
