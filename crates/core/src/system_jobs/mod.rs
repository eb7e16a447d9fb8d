//! The built-in system jobs (R29–R30): polling, checking and cleaning. Each is a Period
//! job pinned to its node, source System, opted out of actions and logging.

mod checking;
mod cleaning;
mod polling;

use bgtasks_abstractions::{BackgroundTasksOptions, JobInfo, JobSource, SystemJobOptions};

pub use self::checking::JobStateChecker;
pub use self::cleaning::JobCleaner;
pub use self::polling::JobPoller;

/// The job type of the polling job.
pub const POLLING_JOB_TYPE: &str = "bgtasks.polling";
/// The job type of the checking job.
pub const CHECKING_JOB_TYPE: &str = "bgtasks.checking";
/// The job type of the cleaning job.
pub const CLEANING_JOB_TYPE: &str = "bgtasks.cleaning";

/// The system jobs the options enable, for this node.
pub fn system_jobs(options: &BackgroundTasksOptions) -> Vec<JobInfo> {
    let node = &options.node_name;
    [
        (&options.polling, POLLING_JOB_TYPE),
        (&options.checking, CHECKING_JOB_TYPE),
        (&options.cleaning.job, CLEANING_JOB_TYPE),
    ]
    .into_iter()
    .filter(|(o, _)| o.enabled)
    .map(|(o, job_type)| system_job(o, job_type, node))
    .collect()
}

fn system_job(options: &SystemJobOptions, job_type: &str, node: &str) -> JobInfo {
    JobInfo::period(format!("{job_type}:{node}"), job_type, options.cron.clone())
        .with_group("bgtasks")
        .with_name(format!("{job_type} ({node})"))
        .with_node(node)
        .with_source(JobSource::System)
        .with_lock_timeout(options.lock_timeout_secs)
        .with_max_try_count(0)
}
