//! The event provider and trigger (R9–R10), and the built-in listeners (R12).

mod executed;
mod log;
mod planner;
mod provider;
mod trigger;

pub use self::executed::{JobExecutedEvent, apply_run_outcome};
pub use self::log::JobLogEvent;
pub use self::planner::NotificationPlanner;
pub use self::provider::{JobEventProvider, LazyJobEventProvider, StaticJobEventProvider};
pub use self::trigger::JobEventTrigger;
