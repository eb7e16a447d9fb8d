//! Parsed cron expressions, cached: claims, resumes, starts and definition updates of
//! Period jobs compute fire times in Rust from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bgtasks_abstractions::{CronSchedule, JobInfo, JobKind};

/// How many parsed cron expressions a store keeps before it starts over.
const MAX_CACHED_SCHEDULES: usize = 1024;

/// A cron expression parsed, or why it does not parse.
type Parsed = Result<Arc<CronSchedule>, Arc<str>>;

/// Parsed cron expressions by text, so that a claim of a Period job does not parse its
/// expression again.
#[derive(Default)]
pub(crate) struct ScheduleCache(Mutex<HashMap<String, Parsed>>);

impl ScheduleCache {
    /// The schedule of a Period job (`None` for other kinds, or a cron that does not parse,
    /// as in the in-memory store).
    pub(crate) fn for_job(&self, job: &JobInfo) -> Option<Arc<CronSchedule>> {
        self.checked(job).ok().flatten()
    }

    /// The schedule of a job: `Ok(None)` for a job that is not a Period job, or why a
    /// Period job cannot be scheduled (no cron expression, or one that does not parse,
    /// naming it).
    pub(crate) fn checked(&self, job: &JobInfo) -> Result<Option<Arc<CronSchedule>>, String> {
        if job.kind != JobKind::Period {
            return Ok(None);
        }
        let Some(cron) = job.cron.as_deref() else {
            return Err("a Period job without a cron expression".to_owned());
        };
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let parsed = match cache.get(cron) {
            Some(parsed) => parsed.clone(),
            None => {
                let parsed: Parsed = CronSchedule::parse(cron)
                    .map(Arc::new)
                    .map_err(|error| Arc::from(error.to_string()));
                if cache.len() >= MAX_CACHED_SCHEDULES {
                    cache.clear();
                }
                cache.insert(cron.to_owned(), parsed.clone());
                parsed
            }
        };
        parsed.map(Some).map_err(|reason| reason.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_jobs_get_their_schedule_others_none() {
        let cache = ScheduleCache::default();
        let period = JobInfo::period("p", "t", "0/10 * * * * ?");
        assert!(cache.for_job(&period).is_some());
        assert!(cache.for_job(&period).is_some(), "cached");
        let mut broken = period.clone();
        broken.cron = Some("not a cron".into());
        assert!(cache.for_job(&broken).is_none());
        assert!(cache.for_job(&JobInfo::once("o", "t")).is_none());
    }

    #[test]
    fn why_a_period_job_cannot_be_scheduled_names_its_cron() {
        // spec: R42
        let cache = ScheduleCache::default();
        let mut broken = JobInfo::period("p", "t", "not a cron");
        for _ in 0..2 {
            let reason = cache.checked(&broken).unwrap_err();
            assert!(reason.contains("not a cron"), "{reason}");
        }
        broken.cron = None;
        assert!(
            cache
                .checked(&broken)
                .unwrap_err()
                .contains("without a cron")
        );
        assert!(matches!(cache.checked(&JobInfo::once("o", "t")), Ok(None)));
    }
}
