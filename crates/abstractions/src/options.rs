//! The runtime's options (R29), with the reference's defaults.

use std::collections::HashMap;
use std::time::Duration;

use crate::exception_type::JobExceptionType;

/// One of the built-in system jobs: whether it runs, on which cron, on how many jobs at a
/// time, and how long its exclusive lock lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemJobOptions {
    /// Whether the system job is queued at start.
    pub enabled: bool,
    /// Its cron expression (Quartz form).
    pub cron: String,
    /// The most jobs it handles per run.
    pub max_jobs: usize,
    /// Seconds of its exclusive lock.
    pub lock_timeout_secs: i64,
}

/// The cleaning job's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleaningOptions {
    /// Whether, when and how much.
    pub job: SystemJobOptions,
    /// Completed jobs whose last activity is older than this are removed.
    pub expiry: Duration,
}

/// Retention (R46): how long run logs and finished notifications are kept. Every node
/// removes the rest in a background loop, on by default; the removals are idempotent and
/// bounded, so nodes that prune at the same time only share the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOptions {
    /// Whether the retention loop runs (true).
    pub enabled: bool,
    /// How often it prunes (every 5 minutes; at once when the runtime starts).
    pub interval: Duration,
    /// Run logs older than this (by run time) are removed (30 days; `None` keeps them
    /// whatever their age).
    pub log_max_age: Option<Duration>,
    /// Beyond this many run logs of one job, its oldest are removed (1,000; `None` keeps
    /// them all).
    pub logs_per_job: Option<usize>,
    /// Delivered and failed notifications that finished longer ago than this are removed
    /// (7 days; `None` keeps them).
    pub notification_max_age: Option<Duration>,
    /// The most rows one pass removes of each kind (10,000): a backlog goes over several
    /// passes, a minute apart, never in one long transaction.
    pub max_per_run: usize,
}

impl Default for RetentionOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(300),
            log_max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            logs_per_job: Some(1000),
            notification_max_age: Some(Duration::from_secs(7 * 24 * 3600)),
            max_per_run: 10_000,
        }
    }
}

/// The gauges of the whole store (`bgtasks_jobs{status}`, `bgtasks_queue_lag_seconds`):
/// one node at a time — the one holding a lock of the lock provider — reads the store's
/// counts every interval and sets them, so that a scrape of any node costs no query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Whether this node takes part in refreshing the store gauges (true).
    pub store_gauges: bool,
    /// How often the node holding the lock refreshes them (15 s).
    pub store_gauge_interval: Duration,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            store_gauges: true,
            store_gauge_interval: Duration::from_secs(15),
        }
    }
}

/// How the runtime runs.
#[derive(Debug, Clone)]
pub struct BackgroundTasksOptions {
    /// This node's name; jobs pinned to another node are left to it.
    pub node_name: String,
    /// How many runs execute at once on this node.
    pub workers: usize,
    /// How many claimed runs may wait on this node for a free worker, beyond the ones
    /// running; the node claims again once fewer than half of them wait, up to
    /// `workers + prefetch`. More prefetch means fewer, larger claims (faster on durable
    /// stores); less means other nodes get a fairer share. `None` (the default) sizes it
    /// from the work: as many runs as the workers start in 100 ms at their recent rate,
    /// at least `workers` and at most 256 — large claims for short runs, no more than
    /// the workers' worth for runs that take seconds.
    pub prefetch: Option<usize>,
    /// Fetch waiting jobs into this node's schedule (off, every 30 s, 1000, lock 120 s).
    pub polling: SystemJobOptions,
    /// Running jobs of this node that the scheduler lost become Stopped (off, every 2 h,
    /// 100, lock 120 s).
    pub checking: SystemJobOptions,
    /// Remove old Completed jobs (off, every 10 min, 1000, expiry 15 days).
    pub cleaning: CleaningOptions,
    /// Retention of run logs and notifications (R46; on by default).
    pub retention: RetentionOptions,
    /// Error code → failure type, used by the default finder (R24 a).
    pub error_code_map: HashMap<String, JobExceptionType>,
    /// The longest a retry interval grows to (R16; 24 h).
    pub max_retry_interval: Duration,
    /// The longest a listener may take on one event before it is abandoned (60 s).
    pub listener_timeout: Duration,
    /// How long a claimed run's lease lasts unless renewed (60 s).
    pub lease_duration: Duration,
    /// How often a running job's lease is renewed (20 s).
    pub lease_renewal_interval: Duration,
    /// How often expired leases of crashed nodes are rescued (15 s).
    pub rescue_interval: Duration,
    /// How long shutdown lets running jobs finish before interrupting them (30 s).
    pub shutdown_grace: Duration,
    /// How long an interrupted run (paused, removed, shut down) gets to return after its
    /// cancellation signal fires before it is dropped (5 s).
    pub interrupt_grace: Duration,
    /// The longest result message a run log keeps, in characters (R12; 1000).
    pub log_message_max_chars: usize,
    /// The longest error text a run log keeps, in characters (R12; 4000).
    pub log_error_max_chars: usize,
    /// The longest result a job keeps, in characters (R46; 4000): a longer one is cut.
    pub result_max_chars: usize,
    /// After this many rescues in a row — its node died running it each time — a run
    /// counts as a System failure instead of running again, and follows the retry policy
    /// (R43; 3). 0 never does.
    pub max_rescues: u32,
    /// How long a run's time limit (R44) leaves it to stop after its cancellation before
    /// it is dropped (5 s).
    pub time_limit_grace: Duration,
    /// How long the runtime waits for any one store call before it counts as failed
    /// (R45; 30 s).
    pub store_timeout: Duration,
    /// How long before its lease would expire a node that could not renew it interrupts
    /// the run (R45): the run is cut at the last successful renewal + lease duration −
    /// this margin, so that no other node can have rescued it yet. `None`: the renewal
    /// interval.
    pub lease_safety_margin: Option<Duration>,
    /// The store gauges of the metrics (see [`MetricsOptions`]).
    pub metrics: MetricsOptions,
}

impl Default for BackgroundTasksOptions {
    fn default() -> Self {
        Self {
            node_name: "default".to_owned(),
            workers: 16,
            prefetch: None,
            polling: SystemJobOptions {
                enabled: false,
                cron: "0/30 * * * * ?".to_owned(),
                max_jobs: 1000,
                lock_timeout_secs: 120,
            },
            checking: SystemJobOptions {
                enabled: false,
                cron: "0 0 0/2 * * ?".to_owned(),
                max_jobs: 100,
                lock_timeout_secs: 120,
            },
            cleaning: CleaningOptions {
                job: SystemJobOptions {
                    enabled: false,
                    cron: "0 0/10 * * * ? *".to_owned(),
                    max_jobs: 1000,
                    lock_timeout_secs: 120,
                },
                expiry: Duration::from_secs(15 * 24 * 3600),
            },
            retention: RetentionOptions::default(),
            error_code_map: HashMap::new(),
            max_retry_interval: Duration::from_secs(24 * 3600),
            listener_timeout: Duration::from_secs(60),
            lease_duration: Duration::from_secs(60),
            lease_renewal_interval: Duration::from_secs(20),
            rescue_interval: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(30),
            interrupt_grace: Duration::from_secs(5),
            log_message_max_chars: 1000,
            log_error_max_chars: 4000,
            result_max_chars: 4000,
            max_rescues: 3,
            time_limit_grace: Duration::from_secs(5),
            store_timeout: Duration::from_secs(30),
            lease_safety_margin: None,
            metrics: MetricsOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::CronSchedule;

    #[test]
    fn defaults_are_the_references() {
        // spec: R29
        let o = BackgroundTasksOptions::default();
        assert!(!o.polling.enabled && !o.checking.enabled && !o.cleaning.job.enabled);
        assert_eq!(
            (o.polling.max_jobs, o.polling.lock_timeout_secs),
            (1000, 120)
        );
        assert_eq!(
            (o.checking.max_jobs, o.checking.lock_timeout_secs),
            (100, 120)
        );
        assert_eq!(o.cleaning.job.max_jobs, 1000);
        assert_eq!(o.cleaning.expiry, Duration::from_secs(15 * 86400));
        assert_eq!(o.max_retry_interval, Duration::from_secs(86400));
        for cron in [&o.polling.cron, &o.checking.cron, &o.cleaning.job.cron] {
            CronSchedule::parse(cron).unwrap();
        }
    }
}
