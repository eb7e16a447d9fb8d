//! Statistics in memory: counts over the jobs, the run history over the logs.

use std::time::Duration;

use bgtasks_store::{JobCounts, JobStatistics, RunBucket, StoreError, rules};
use chrono::{DateTime, Utc};

use super::InMemoryJobStore;

impl JobStatistics for InMemoryJobStore {
    async fn counts(&self, now: DateTime<Utc>) -> Result<JobCounts, StoreError> {
        let state = self.lock();
        let mut counts = JobCounts::default();
        for &at in state.ids.values() {
            let Some(record) = state.record(at) else {
                continue;
            };
            let job = &record.job;
            counts.total += 1;
            *counts.by_status.entry(job.status.code()).or_default() += 1;
            *counts.by_type.entry(job.job_type.clone()).or_default() += 1;
            *counts.by_group.entry(job.group.clone()).or_default() += 1;
            if let Some(lease) = &record.lease {
                *counts
                    .running_by_node
                    .entry(lease.node.clone())
                    .or_default() += 1;
            }
            counts.abandoned += u64::from(job.is_abandoned);
            let waiting =
                record.lease.is_none() && job.status.is_schedulable() && !job.is_abandoned;
            if let Some(due) = job.next_run_time.filter(|due| waiting && *due <= now) {
                counts.due += 1;
                counts.oldest_due = Some(counts.oldest_due.map_or(due, |old| old.min(due)));
            }
        }
        Ok(counts)
    }

    async fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<RunBucket>, StoreError> {
        let width = i64::try_from(bucket.as_secs().max(1)).unwrap_or(i64::MAX);
        let state = self.lock();
        let mut buckets: std::collections::BTreeMap<i64, RunBucket> = Default::default();
        for entry in state.logs.iter().filter(|e| e.log.run_time >= since) {
            let index = (entry.log.run_time - since).num_seconds() / width;
            let bucket = buckets.entry(index).or_insert_with(|| RunBucket {
                start: since + chrono::Duration::seconds(index.saturating_mul(width)),
                ..RunBucket::default()
            });
            match (&entry.log.exception, entry.log.exception_type) {
                (None, _) => bucket.succeeded += 1,
                (Some(_), Some(failure_type)) => {
                    *bucket
                        .failed
                        .entry(rules::failure_type_name(failure_type))
                        .or_default() += 1;
                }
                (Some(_), None) => bucket.interrupted += 1,
            }
        }
        Ok(buckets.into_values().collect())
    }
}
