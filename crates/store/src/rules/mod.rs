//! The rules every store applies, as plain functions over a [`JobRecord`]: the in-memory
//! store calls them directly, a durable store calls them inside its transaction or
//! states the same conditions in SQL, and the conformance suite checks that every store
//! agrees with them.
//!
//! [`JobRecord`]: crate::JobRecord

mod control;
mod logs;
mod outbox;
mod query;
mod run_state;
mod runs;
mod waiting;

pub use self::control::{apply_update, pause, resume, start, stop, trigger};
pub use self::logs::{keeps_run_log, keeps_run_log_of};
pub use self::outbox::{apply_delivery, is_claimable_notification, should_store, stored};
pub use self::query::{compare_jobs, matches_query, page_of};
pub use self::run_state::{apply_run_state, merge_run_state};
pub use self::runs::{complete, give_back, is_claimable, renew, rescue};
pub use self::waiting::{cleanup_reference_time, is_waiting, waiting_order};

/// The name a run bucket gives a failure type: `business`, `application`, `network`,
/// `system`, or several joined with `|`.
pub fn failure_type_name(failure_type: bgtasks_abstractions::JobExceptionType) -> String {
    use bgtasks_abstractions::JobExceptionType;
    let names: Vec<&str> = [
        (JobExceptionType::BUSINESS, "business"),
        (JobExceptionType::APPLICATION, "application"),
        (JobExceptionType::NETWORK, "network"),
        (JobExceptionType::SYSTEM, "system"),
    ]
    .into_iter()
    .filter(|(flag, _)| failure_type.contains(*flag))
    .map(|(_, name)| name)
    .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join("|")
    }
}
