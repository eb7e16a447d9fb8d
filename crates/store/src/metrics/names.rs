//! The names of the metrics bgtasks emits, their histogram buckets, and their
//! descriptions. docs/observability.md has the table with every label.

/// Counter `{type, kind, source}`: runs scheduled — a job queued through the API
/// (`source="api"`: the runtime's `queue`, or a durable store's `enqueue_in` in the
/// caller's own transaction, counted when it returns), the next tick of a cron job after a run (`cron`), the next run of
/// an interval job (`interval`), a failed run that will run again (`retry`).
pub const JOBS_ENQUEUED_TOTAL: &str = "bgtasks_jobs_enqueued_total";
/// Counter `{type, kind, outcome}`: runs that ended, by `success`, `failure`,
/// `interrupted` or `timeout`.
pub const JOB_RUNS_TOTAL: &str = "bgtasks_job_runs_total";
/// Counter `{type, failure_type}`: failed runs (time-outs included) by failure type
/// (`business`, `application`, `network`, `system`).
pub const JOB_FAILURES_TOTAL: &str = "bgtasks_job_failures_total";
/// Counter `{type, failure_type}`: failed runs after which the job runs again.
pub const JOB_RETRIES_TOTAL: &str = "bgtasks_job_retries_total";
/// Counter `{type, failure_type}`: failed runs after which the job is abandoned.
pub const JOBS_ABANDONED_TOTAL: &str = "bgtasks_jobs_abandoned_total";
/// Histogram `{type, outcome}`: how long the runnable ran, in seconds.
pub const JOB_DURATION_SECONDS: &str = "bgtasks_job_duration_seconds";
/// Histogram `{type}`: from when a run was due to when it started, in seconds.
pub const JOB_QUEUE_WAIT_SECONDS: &str = "bgtasks_job_queue_wait_seconds";
/// Histogram `{store, operation}`: how long each store call took, in seconds.
pub const STORE_OPERATION_DURATION_SECONDS: &str = "bgtasks_store_operation_duration_seconds";
/// Histogram: how many runs a claim that found work brought.
pub const CLAIM_BATCH_SIZE: &str = "bgtasks_claim_batch_size";
/// Gauge `{status}`: the jobs of the store by status, set by the node that refreshes the
/// store gauges.
pub const JOBS: &str = "bgtasks_jobs";
/// Gauge: how long the oldest due job has waited, in seconds, set with [`JOBS`].
pub const QUEUE_LAG_SECONDS: &str = "bgtasks_queue_lag_seconds";
/// Gauge `{node}`: runs executing (or saving their outcome) on the node.
pub const JOBS_RUNNING: &str = "bgtasks_jobs_running";
/// Counter: runs whose lease expired (their node died) and that this node made due again.
pub const LEASE_RESCUES_TOTAL: &str = "bgtasks_lease_rescues_total";
/// Counter `{phase}`: listener calls that failed, panicked or timed out, `before` or
/// `after` a run.
pub const LISTENER_ERRORS_TOTAL: &str = "bgtasks_listener_errors_total";
/// Counter `{notifier, result}`: notification delivery attempts, by `delivered`, `retry`
/// (failed, tried again later) or `failed` (for good).
pub const NOTIFICATIONS_TOTAL: &str = "bgtasks_notifications_total";

/// Every metric name, in the order of the documentation's table.
pub const ALL: [&str; 15] = [
    JOBS_ENQUEUED_TOTAL,
    JOB_RUNS_TOTAL,
    JOB_FAILURES_TOTAL,
    JOB_RETRIES_TOTAL,
    JOBS_ABANDONED_TOTAL,
    JOB_DURATION_SECONDS,
    JOB_QUEUE_WAIT_SECONDS,
    STORE_OPERATION_DURATION_SECONDS,
    CLAIM_BATCH_SIZE,
    JOBS,
    QUEUE_LAG_SECONDS,
    JOBS_RUNNING,
    LEASE_RESCUES_TOTAL,
    LISTENER_ERRORS_TOTAL,
    NOTIFICATIONS_TOTAL,
];

/// Buckets of [`JOB_QUEUE_WAIT_SECONDS`]: 1 ms to 60 s.
pub const QUEUE_WAIT_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Buckets of [`JOB_DURATION_SECONDS`]: 5 ms to an hour.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Buckets of [`STORE_OPERATION_DURATION_SECONDS`]: 0.5 ms to 30 s.
pub const STORE_OPERATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets of [`CLAIM_BATCH_SIZE`]: 1 to 1,000 runs.
pub const CLAIM_BATCH_BUCKETS: &[f64] =
    &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// Gives every metric its unit and description in the recorder installed now (call it
/// after installing one; an exporter shows them as `# HELP`).
pub fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        JOBS_ENQUEUED_TOTAL,
        Unit::Count,
        "Runs scheduled: queued through the API, the next cron or interval run, or a retry."
    );
    describe_counter!(JOB_RUNS_TOTAL, Unit::Count, "Runs that ended, by outcome.");
    describe_counter!(
        JOB_FAILURES_TOTAL,
        Unit::Count,
        "Failed runs (time-outs included) by failure type."
    );
    describe_counter!(
        JOB_RETRIES_TOTAL,
        Unit::Count,
        "Failed runs after which the job runs again."
    );
    describe_counter!(
        JOBS_ABANDONED_TOTAL,
        Unit::Count,
        "Failed runs after which the job is abandoned."
    );
    describe_histogram!(
        JOB_DURATION_SECONDS,
        Unit::Seconds,
        "How long the runnable ran."
    );
    describe_histogram!(
        JOB_QUEUE_WAIT_SECONDS,
        Unit::Seconds,
        "From when a run was due to when it started."
    );
    describe_histogram!(
        STORE_OPERATION_DURATION_SECONDS,
        Unit::Seconds,
        "How long each store call took."
    );
    describe_histogram!(
        CLAIM_BATCH_SIZE,
        Unit::Count,
        "Runs brought by a claim that found work."
    );
    describe_gauge!(
        JOBS,
        Unit::Count,
        "Jobs of the store by status (refreshed by one node)."
    );
    describe_gauge!(
        QUEUE_LAG_SECONDS,
        Unit::Seconds,
        "How long the oldest due job has waited (refreshed by one node)."
    );
    describe_gauge!(
        JOBS_RUNNING,
        Unit::Count,
        "Runs executing or saving their outcome on the node."
    );
    describe_counter!(
        LEASE_RESCUES_TOTAL,
        Unit::Count,
        "Runs whose lease expired, made due again by this node."
    );
    describe_counter!(
        LISTENER_ERRORS_TOTAL,
        Unit::Count,
        "Listener calls that failed, panicked or timed out."
    );
    describe_counter!(
        NOTIFICATIONS_TOTAL,
        Unit::Count,
        "Notification delivery attempts by result."
    );
}
