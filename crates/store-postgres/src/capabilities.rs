//! The store contract on [`PostgresJobStore`]: every capability of `bgtasks-store`, each
//! method one bounded call (R45) of the implementation in the module of its subject —
//! [`definitions`](crate::definitions), [`listing`](crate::listing),
//! [`claims`](crate::claims), [`leases`](crate::leases),
//! [`completions`](crate::completions), [`control`](crate::control),
//! [`logs`](crate::logs), [`maintenance`](crate::maintenance), [`nodes`](crate::nodes),
//! [`statistics`](crate::statistics) and [`outbox`](crate::outbox).

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, RunLease};
use bgtasks_store::{
    ClaimRequest, ClaimedNotification, ClaimedRun, CompletionOutcome, DefinitionUpdate,
    DeliveryOutcome, GiveBack, JobControl, JobCounts, JobDefinitions, JobLog, JobLogEntry, JobPage,
    JobQuery, JobRecord, JobRuns, JobStatistics, LogPage, LogQuery, LogRetention, Maintenance,
    NodeHeartbeat, NodeRecord, NodeRegistry, NotificationOutbox, NotificationPage,
    NotificationQuery, RemoveIf, RenewOutcome, Rescued, RunBucket, RunCompletion, RunLogs,
    StoreError, Transition,
};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::notify::Channel;
use crate::store::PostgresJobStore;

impl JobDefinitions for PostgresJobStore {
    async fn insert(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        self.bounded("insert jobs", self.insert_jobs(jobs)).await
    }

    async fn update(
        &self,
        id: &str,
        update: &DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let call = self.update_definition(id, update, expected_revision, now);
        self.bounded("update a job's definition", call).await
    }

    async fn remove(&self, id: &str, only: RemoveIf) -> Result<Transition, StoreError> {
        self.bounded("remove a job", self.remove_job(id, only))
            .await
    }

    async fn find(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.bounded("find a job", self.find_record(id)).await
    }

    async fn list(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        self.bounded("list jobs", self.list_page(query)).await
    }

    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.bounded("list jobs", self.waiting_jobs(max)).await
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.bounded("list jobs", self.period_jobs(max)).await
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.bounded("list running jobs", self.running_jobs(node, max))
            .await
    }
}

impl JobRuns for PostgresJobStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        self.bounded("claim due runs", self.claim_runs(request))
            .await
    }

    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.bounded("read the next due time", self.next_due(node, job_types))
            .await
    }

    async fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        let call = self.renew_leases(node, leases, lease, now);
        self.bounded("renew leases", call).await
    }

    /// The outcomes and the logs in one statement (one commit).
    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.bounded("complete runs", self.complete_runs(runs, logs))
            .await
    }

    async fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        self.bounded("give a run back", self.give_back_run(lease, how))
            .await
    }

    /// One statement for the whole batch.
    async fn give_back_many(
        &self,
        runs: &[(RunLease, GiveBack)],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.bounded("give runs back", self.give_back_runs(runs))
            .await
    }

    async fn rescue(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        self.bounded("rescue expired leases", self.rescue_expired(now))
            .await
    }

    /// Yes: one statement saves the completions (and logs) of many concurrent runs.
    fn prefers_batched_writes(&self) -> bool {
        true
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        self.subscribe(Channel::Due)
    }

    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        self.subscribe(Channel::Control)
    }
}

impl JobControl for PostgresJobStore {
    async fn pause(&self, id: &str) -> Result<Transition, StoreError> {
        self.bounded("pause a job", self.pause_job(id)).await
    }

    async fn resume(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        self.bounded("resume a job", self.resume_job(id, now)).await
    }

    async fn trigger(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        self.bounded("trigger a job", self.trigger_job(id, now))
            .await
    }

    async fn stop(&self, id: &str) -> Result<Transition, StoreError> {
        self.bounded("stop a job", self.stop_job(id)).await
    }

    async fn start(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        self.bounded("start a job", self.start_job(id, now)).await
    }
}

impl RunLogs for PostgresJobStore {
    async fn append_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        self.bounded("append run logs", self.append(logs)).await
    }

    async fn query_logs(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        self.bounded("query run logs", self.log_page(query)).await
    }

    async fn find_log(&self, id: i64) -> Result<Option<JobLogEntry>, StoreError> {
        self.bounded("find a run log", self.log_entry(id)).await
    }

    async fn remove_log(&self, id: i64) -> Result<bool, StoreError> {
        self.bounded("remove a run log", self.remove_log_entry(id))
            .await
    }

    /// The newest `max` logs of a job, without counting them all.
    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        self.bounded("list run logs", self.job_logs(job_id, max))
            .await
    }
}

impl Maintenance for PostgresJobStore {
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let call = self.clean_up(node, expired_before, max);
        self.bounded("clean up completed jobs", call).await
    }

    async fn publish_waiting(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.bounded("publish waiting jobs", self.publish(node, now, max))
            .await
    }

    async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, StoreError> {
        self.bounded("stop lost jobs", self.stop_lost_jobs(node, max))
            .await
    }

    /// Two statements: by age (on the run-time index), then by count per job.
    async fn prune_logs(
        &self,
        retention: &LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        self.bounded("prune run logs", self.prune(retention, now, max))
            .await
    }
}

impl NodeRegistry for PostgresJobStore {
    async fn heartbeat(&self, beat: &NodeHeartbeat) -> Result<(), StoreError> {
        self.bounded("record a node's heartbeat", self.record_heartbeat(beat))
            .await
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        self.bounded("list the nodes", self.node_records()).await
    }

    async fn forget_node(&self, node: &str) -> Result<bool, StoreError> {
        self.bounded("forget a node", self.forget(node)).await
    }

    async fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let call = self.orphaned_jobs(now, live_since, max);
        self.bounded("list jobs no live node can run", call).await
    }
}

impl JobStatistics for PostgresJobStore {
    async fn counts(&self, now: DateTime<Utc>) -> Result<JobCounts, StoreError> {
        self.bounded("count the jobs", self.job_counts(now)).await
    }

    async fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<RunBucket>, StoreError> {
        self.bounded("read the run history", self.history(since, bucket))
            .await
    }
}

impl NotificationOutbox for PostgresJobStore {
    async fn claim_notifications(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedNotification>, StoreError> {
        let call = self.claim_outbox(node, now, limit, lease);
        self.bounded("claim notifications", call).await
    }

    async fn record_delivery(
        &self,
        id: &str,
        token: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let call = self.record_outcome(id, token, outcome, now);
        self.bounded("record a notification's delivery", call).await
    }

    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<NotificationPage, StoreError> {
        self.bounded("list notifications", self.notification_page(query))
            .await
    }

    async fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        self.bounded("prune notifications", self.prune_outbox(before, max))
            .await
    }
}
