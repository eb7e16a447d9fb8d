//! Parsed cron expressions, cached: claims, resumes, starts and definition updates of
//! Period jobs compute fire times in Rust from them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bgtasks_abstractions::{CronSchedule, JobInfo, JobKind};

/// How many parsed cron expressions a store keeps before it starts over.
const MAX_CACHED_SCHEDULES: usize = 1024;

/// Parsed cron expressions by text, so that a claim of a Period job does not parse its
/// expression again.
#[derive(Default)]
pub(crate) struct ScheduleCache(Mutex<HashMap<String, Option<Arc<CronSchedule>>>>);

impl ScheduleCache {
    /// The schedule of a Period job (`None` for other kinds, or a cron that does not parse,
    /// as in the in-memory store).
    pub(crate) fn for_job(&self, job: &JobInfo) -> Option<Arc<CronSchedule>> {
        if job.kind != JobKind::Period {
            return None;
        }
        let cron = job.cron.as_deref()?;
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schedule) = cache.get(cron) {
            return schedule.clone();
        }
        let schedule = CronSchedule::parse(cron).ok().map(Arc::new);
        if cache.len() >= MAX_CACHED_SCHEDULES {
            cache.clear();
        }
        cache.insert(cron.to_owned(), schedule.clone());
        schedule
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
}
