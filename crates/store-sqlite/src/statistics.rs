//! [`JobStatistics`] on SQLite: each answer is one aggregate statement (GROUP BY), never
//! a scan of the rows in Rust.

use std::collections::BTreeMap;
use std::time::Duration;

use bgtasks_abstractions::JobExceptionType;
use bgtasks_store::{JobCounts, JobStatistics, RunBucket, StoreError, rules};
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::rows::micros;
use crate::store::SqliteJobStore;

/// The counts, one row per group: `what` says which count a row is (`s` by status code in
/// `num`, `t` by type and `g` by group in `name`, `n` running by node in `name`, `a`
/// abandoned, `d` due by `?1` with the earliest due time in `num`), `n` the count.
const COUNTS: &str = "\
    SELECT 's' AS what, NULL AS name, status AS num, COUNT(*) AS n \
      FROM bgtasks_jobs GROUP BY status \
    UNION ALL SELECT 't', job_type, NULL, COUNT(*) FROM bgtasks_jobs GROUP BY job_type \
    UNION ALL SELECT 'g', job_group, NULL, COUNT(*) FROM bgtasks_jobs GROUP BY job_group \
    UNION ALL SELECT 'n', lease_node, NULL, COUNT(*) \
      FROM bgtasks_jobs INDEXED BY bgtasks_jobs_leases \
      WHERE lease_token IS NOT NULL GROUP BY lease_node \
    UNION ALL SELECT 'a', NULL, NULL, COUNT(*) FROM bgtasks_jobs WHERE is_abandoned <> 0 \
    UNION ALL SELECT 'd', NULL, MIN(next_run_time), COUNT(*) \
      FROM bgtasks_jobs INDEXED BY bgtasks_jobs_due \
      WHERE lease_token IS NULL AND is_abandoned = 0 AND status IN (5, 10, 15) \
      AND next_run_time IS NOT NULL AND next_run_time <= ?1";

/// The runs logged since `?1`, in stretches of `?2` µs: per stretch (its number from
/// `?1` on), failure type (NULL for none) and whether the log has an error text, how
/// many. A log with a failure type is a failed run; one with an error text but no
/// failure type an interrupted run; one without either a success.
const RUN_HISTORY: &str = "SELECT CAST((run_time - ?1) / ?2 AS INTEGER) AS bucket, \
       exception_type, exception IS NOT NULL AS errored, COUNT(*) AS n \
     FROM bgtasks_job_logs INDEXED BY bgtasks_job_logs_run_time \
     WHERE run_time >= ?1 \
     GROUP BY bucket, exception_type, errored ORDER BY bucket";

/// A count as the contract reports it.
fn count(n: i64) -> u64 {
    n.unsigned_abs()
}

impl JobStatistics for SqliteJobStore {
    /// One statement (`UNION ALL` of the groupings, so one consistent snapshot).
    async fn counts(&self, now: DateTime<Utc>) -> Result<JobCounts, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("count jobs");
        let rows = sqlx::query(COUNTS)
            .bind(micros(now))
            .fetch_all(&inner.pool)
            .await
            .map_err(&failed)?;
        let mut counts = JobCounts::default();
        for row in &rows {
            let what: String = row.try_get("what").map_err(&failed)?;
            let name: Option<String> = row.try_get("name").map_err(&failed)?;
            let num: Option<i64> = row.try_get("num").map_err(&failed)?;
            let n = count(row.try_get("n").map_err(&failed)?);
            match what.as_str() {
                "s" => {
                    counts.total += n;
                    match num.and_then(|code| i32::try_from(code).ok()) {
                        Some(code) => {
                            counts.by_status.insert(code, n);
                        }
                        // Rows no status can name are counted in the total only.
                        None => tracing::warn!(db = %inner.db, code = ?num, jobs = n,
                            "jobs with a status code out of range"),
                    }
                }
                "t" => {
                    counts.by_type.insert(name.unwrap_or_default(), n);
                }
                "g" => {
                    counts.by_group.insert(name.unwrap_or_default(), n);
                }
                "n" => {
                    counts.running_by_node.insert(name.unwrap_or_default(), n);
                }
                "a" => counts.abandoned = n,
                _ => {
                    counts.due = n;
                    counts.oldest_due = num.and_then(DateTime::from_timestamp_micros);
                }
            }
        }
        Ok(counts)
    }

    /// One statement; the failure types are named by `rules::failure_type_name`.
    async fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<RunBucket>, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("read the run history");
        let width_micros = chrono::Duration::from_std(bucket.max(Duration::from_secs(1)))
            .ok()
            .and_then(|width| width.num_microseconds())
            .unwrap_or(i64::MAX);
        let rows = sqlx::query(RUN_HISTORY)
            .bind(micros(since))
            .bind(width_micros)
            .fetch_all(&inner.pool)
            .await
            .map_err(&failed)?;
        let mut buckets: BTreeMap<i64, RunBucket> = BTreeMap::new();
        for row in &rows {
            let number: i64 = row.try_get("bucket").map_err(&failed)?;
            let failure_type: Option<i64> = row.try_get("exception_type").map_err(&failed)?;
            let errored: bool = row.try_get("errored").map_err(&failed)?;
            let n = count(row.try_get("n").map_err(&failed)?);
            let entry = buckets.entry(number).or_insert_with(|| RunBucket {
                start: number
                    .checked_mul(width_micros)
                    .and_then(|offset| micros(since).checked_add(offset))
                    .and_then(DateTime::from_timestamp_micros)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                ..RunBucket::default()
            });
            match failure_type {
                // Bits beyond the known types are dropped from the name.
                Some(bits) => {
                    let bits = u32::try_from(bits).unwrap_or_default();
                    let name = rules::failure_type_name(JobExceptionType::from_bits_truncate(bits));
                    *entry.failed.entry(name).or_default() += n;
                }
                None if errored => entry.interrupted += n,
                None => entry.succeeded += n,
            }
        }
        Ok(buckets.into_values().collect())
    }
}
