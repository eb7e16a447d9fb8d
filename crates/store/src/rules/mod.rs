//! The rules every store applies, as plain functions over a [`JobRecord`]: the in-memory
//! store calls them directly, a durable store calls them inside its transaction or
//! states the same conditions in SQL, and the conformance suite checks that every store
//! agrees with them.
//!
//! [`JobRecord`]: crate::JobRecord

mod control;
mod query;
mod run_state;
mod runs;
mod waiting;

pub use self::control::{apply_update, pause, resume, start, stop, trigger};
pub use self::query::{compare_jobs, matches_query, page_of};
pub use self::run_state::{apply_run_state, merge_run_state};
pub use self::runs::{complete, give_back, is_claimable, renew, rescue};
pub use self::waiting::{cleanup_reference_time, is_waiting, waiting_order};
