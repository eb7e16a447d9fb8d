//! Deciding, when a run's outcome is known, which notifications it calls for (R51).

use bgtasks_abstractions::{JobEventContext, JobInfo};

use crate::store::NewNotification;

/// Decides the notifications a run's outcome calls for. The executed event asks it once
/// the outcome is computed and hands them to the store with the outcome, so that they are
/// stored atomically with it — or not at all, if the outcome is not saved — and
/// delivered at least once from the store's outbox, by any node (R51).
/// `bgtasks-actions` implements it from each job's actions and their definitions.
pub trait NotificationPlanner: Send + Sync {
    /// The notifications for the run of `context`, whose job `outcome` is the state the
    /// run produced (to be saved).
    fn plan(&self, context: &JobEventContext, outcome: &JobInfo) -> Vec<NewNotification>;
}
