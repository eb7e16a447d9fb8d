//! Metrics through the facade of the `metrics` crate, so that the host picks the exporter
//! (Prometheus through `bgtasks-admin`, OpenTelemetry, StatsD...). The names and labels
//! are in [`names`] (shared with the stores, from `bgtasks_store::metrics`) and
//! docs/observability.md; no label ever carries a job id or an argument.
//!
//! ```
//! use bgtasks_core::metrics::{self, names};
//!
//! // After installing a recorder, give the metrics their descriptions:
//! metrics::describe();
//! assert_eq!(names::JOB_RUNS_TOTAL, "bgtasks_job_runs_total");
//! ```

mod record;
mod refresh;

pub use self::names::describe;
pub(crate) use self::record::{
    RunFacts, RunningGauge, announce, claim_batch, listener_error, rescued, run_finished,
    store_operation,
};
pub use self::record::{RunOutcome, failure_type_label, notification, notification_delivered};
pub use self::refresh::{LOCK_KEY, StoreGauges, status_label};
/// The names, buckets and descriptions of the metrics: those of `bgtasks-store`, which
/// the durable stores' transactional enqueue counts under too.
pub use bgtasks_store::metrics::names;
pub(crate) use bgtasks_store::metrics::{enqueued, kind_label};
