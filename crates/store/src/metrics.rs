//! The metrics that more than one crate emits, under one set of names: the runtime
//! (`bgtasks-core`, which re-exports this module as `bgtasks_core::metrics`) and the
//! durable stores' transactional enqueue (`enqueue_in` of `bgtasks-sqlite` and
//! `bgtasks-postgres`), which runs without a runtime. They go through the facade of the
//! `metrics` crate, so whichever recorder the host installed receives them (none: they
//! cost a lookup and go nowhere). No label ever carries a job id or an argument.
//!
//! ```
//! use bgtasks_abstractions::{JobInfo, JobKind};
//! use bgtasks_store::metrics::{self, names};
//!
//! assert_eq!(names::JOBS_ENQUEUED_TOTAL, "bgtasks_jobs_enqueued_total");
//! assert_eq!(metrics::kind_label(JobKind::Period), "period");
//! // Counts the first job only: the second was already stored.
//! let jobs = [JobInfo::once("a", "report"), JobInfo::once("b", "report")];
//! metrics::enqueued(&jobs, &[true, false]);
//! ```

pub mod names;

use bgtasks_abstractions::{JobInfo, JobKind};

/// The label value of a kind: `once`, `period`, `persistent`.
pub fn kind_label(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Once => "once",
        JobKind::Period => "period",
        JobKind::Persistent => "persistent",
    }
}

/// Counts the jobs a queueing stored (`inserted[i]` for `jobs[i]`) in
/// [`names::JOBS_ENQUEUED_TOTAL`] as `{type, kind, source="api"}`: one per job inserted,
/// none for a job that was already stored.
pub fn enqueued(jobs: &[JobInfo], inserted: &[bool]) {
    for (job, _) in jobs.iter().zip(inserted).filter(|(_, inserted)| **inserted) {
        ::metrics::counter!(names::JOBS_ENQUEUED_TOTAL,
            "type" => job.job_type.clone(), "kind" => kind_label(job.kind), "source" => "api")
        .increment(1);
    }
}
