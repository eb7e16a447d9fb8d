//! Statistics: the counts of the jobs in one aggregate query (grouping sets), and the run
//! history in one aggregate query over the run logs.

use std::collections::BTreeMap;
use std::time::Duration;

use bgtasks_store::{JobCounts, RunBucket, StoreError, rules};
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::log_rows::failure_type;
use crate::store::PostgresJobStore;

/// Every count in one pass: the grand total (grouping 15), by status (7), by job type
/// (11), by group (13) and by the node holding a lease (14). The due jobs are judged at
/// the caller's (`$1`) or the database's now.
const COUNTS: &str = "SELECT GROUPING(status, job_type, job_group, lease_node) AS grouping_set, \
       status, job_type, job_group, lease_node, count(*) AS jobs, \
       count(*) FILTER (WHERE is_abandoned) AS abandoned, \
       count(*) FILTER (WHERE due) AS due, \
       min(next_run_time) FILTER (WHERE due) AS oldest_due \
     FROM (SELECT status, job_type, job_group, lease_node, is_abandoned, next_run_time, \
             lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
               AND next_run_time <= COALESCE($1::timestamptz, now()) AS due \
           FROM bgtasks_jobs) AS j \
     GROUP BY GROUPING SETS ((), (status), (job_type), (job_group), (lease_node))";

/// The runs logged since `$1`, by stretch of `$2` seconds (its number from `$1`), by
/// whether they failed, and by failure type.
const HISTORY: &str = "SELECT \
       floor(extract(epoch FROM (run_time - $1::timestamptz)) / $2::int8)::int8 AS stretch, \
       exception IS NULL AS succeeded, exception_type, count(*) AS runs \
     FROM bgtasks_logs WHERE run_time >= $1 \
     GROUP BY 1, 2, 3";

/// A count as stored (never negative).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl PostgresJobStore {
    pub(crate) async fn job_counts(&self, now: DateTime<Utc>) -> Result<JobCounts, StoreError> {
        let fail = self.fail("count the jobs");
        let rows = sqlx::query(COUNTS)
            .bind(self.caller_now(now))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(&fail)?;
        let mut counts = JobCounts::default();
        for row in &rows {
            let grouping: i32 = row.try_get("grouping_set").map_err(&fail)?;
            let jobs = count(row.try_get("jobs").map_err(&fail)?);
            match grouping {
                15 => {
                    counts.total = jobs;
                    counts.abandoned = count(row.try_get("abandoned").map_err(&fail)?);
                    counts.due = count(row.try_get("due").map_err(&fail)?);
                    counts.oldest_due = row.try_get("oldest_due").map_err(&fail)?;
                }
                7 => {
                    let status: i16 = row.try_get("status").map_err(&fail)?;
                    counts.by_status.insert(i32::from(status), jobs);
                }
                11 => {
                    let job_type: String = row.try_get("job_type").map_err(&fail)?;
                    counts.by_type.insert(job_type, jobs);
                }
                13 => {
                    let group: String = row.try_get("job_group").map_err(&fail)?;
                    counts.by_group.insert(group, jobs);
                }
                14 => {
                    let node: Option<String> = row.try_get("lease_node").map_err(&fail)?;
                    if let Some(node) = node {
                        counts.running_by_node.insert(node, jobs);
                    }
                }
                _ => {}
            }
        }
        Ok(counts)
    }

    pub(crate) async fn history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<RunBucket>, StoreError> {
        let fail = self.fail("read the run history");
        let width = i64::try_from(bucket.as_secs().max(1)).unwrap_or(i64::MAX);
        let rows = sqlx::query(HISTORY)
            .bind(since)
            .bind(width)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(&fail)?;
        let mut buckets: BTreeMap<i64, RunBucket> = BTreeMap::new();
        for row in &rows {
            let stretch: i64 = row.try_get("stretch").map_err(&fail)?;
            let succeeded: bool = row.try_get("succeeded").map_err(&fail)?;
            let failure: Option<i32> = row.try_get("exception_type").map_err(&fail)?;
            let runs = count(row.try_get("runs").map_err(&fail)?);
            let bucket = buckets.entry(stretch).or_insert_with(|| RunBucket {
                start: chrono::Duration::try_seconds(stretch.saturating_mul(width))
                    .and_then(|offset| since.checked_add_signed(offset))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                ..RunBucket::default()
            });
            match (succeeded, failure) {
                (true, _) => bucket.succeeded += runs,
                (false, Some(bits)) => {
                    *bucket
                        .failed
                        .entry(rules::failure_type_name(failure_type(bits)))
                        .or_default() += runs;
                }
                (false, None) => bucket.interrupted += runs,
            }
        }
        Ok(buckets.into_values().collect())
    }
}
