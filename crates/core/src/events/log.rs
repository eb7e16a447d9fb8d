//! The log event: one record per run (R12).

use std::sync::Arc;

use bgtasks_abstractions::{BoxError, Interruption, JobEvent, JobEventContext};

use crate::store::{JobLog, JobStore, RunWriter};

/// Stores a [`JobLog`] after every run, with the result and error text cut to the
/// configured maximum lengths. Registered by default; skipped for job types that opt out
/// of logging. The log carries the run's lease token, so that the store appends it only
/// while the run still holds its job: a run whose job was removed during the run (and
/// maybe queued again under its id) leaves no log (`rules::keeps_run_log` of
/// `bgtasks-store`).
pub struct JobLogEvent {
    writer: RunWriter,
    max_message_chars: usize,
    max_error_chars: usize,
}

impl JobLogEvent {
    /// A log event writing to `store`.
    pub fn new(store: Arc<dyn JobStore>, max_message_chars: usize, max_error_chars: usize) -> Self {
        Self {
            writer: RunWriter::direct(store),
            max_message_chars,
            max_error_chars,
        }
    }

    /// Writes logs through `writer` (which may batch them).
    pub fn with_writer(mut self, writer: RunWriter) -> Self {
        self.writer = writer;
        self
    }

    /// The record this event writes for the run of `context`: a failure carries its
    /// error and the failure type the finder gave it; an interruption (the runtime's, or
    /// the store's when the job was paused or stopped during the run) carries a text
    /// saying so and no failure type.
    pub fn log_for(&self, context: &JobEventContext) -> JobLog {
        let data = context.data();
        let interruption = data.interruption.or(context.recorded_interruption());
        let message = match (&interruption, &data.error, &data.result) {
            (Some(interruption), _, _) => format!("run interrupted: {interruption:?}"),
            (None, Some(_), _) => "run failed".to_owned(),
            (None, None, Some(result)) => result.clone(),
            (None, None, None) => "OK".to_owned(),
        };
        let (exception, exception_type) = match (interruption, &data.error) {
            (Some(why), _) => (Some(format!("the run was interrupted: {why:?}")), None),
            (None, Some(error)) => (
                Some(cut(&error.chain_text(), self.max_error_chars)),
                context.exception_type(),
            ),
            (None, None) => (None, None),
        };
        JobLog {
            job_id: data.key().to_owned(),
            job_name: data.name().to_owned(),
            job_group: data.group().to_owned(),
            job_type: data.job_type().to_owned(),
            message: cut(&message, self.max_message_chars),
            run_time: data.run_time,
            exception,
            exception_type,
            tenant_id: data.tenant_id(),
            node: data.node.clone(),
            duration_ms: data.execution_duration_ms(),
            lease_token: data.lease.as_ref().map(|lease| lease.token),
        }
    }
}

/// Whether a run no longer holds its job: the job was removed during the run, or its
/// lease was lost (rescued by another node). Such a run writes no log (the store would
/// refuse it anyway, by its lease token).
fn lost_its_job(context: &JobEventContext) -> bool {
    matches!(
        context
            .data()
            .interruption
            .or(context.recorded_interruption()),
        Some(Interruption::Removed | Interruption::LeaseLost)
    )
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

impl JobEvent for JobLogEvent {
    fn name(&self) -> &str {
        "JobLogEvent"
    }

    /// Nothing to do before a run.
    fn can_before_executed(&self, _context: &JobEventContext) -> bool {
        false
    }

    /// Every run of a type that does not opt out of logging, unless the run no longer
    /// holds its job (removed, or its lease lost).
    fn can_after_executed(&self, context: &JobEventContext) -> bool {
        !context.data().opt_outs.skip_logging && !lost_its_job(context)
    }

    async fn on_after_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        self.writer.log(self.log_for(context)).await?;
        Ok(())
    }
}

impl std::fmt::Debug for JobLogEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobLogEvent").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{InMemoryJobStore, RunLogs};
    use bgtasks_abstractions::{JobError, JobEventData, JobInfo, JobOptOuts};

    #[tokio::test]
    async fn stores_one_cut_record_per_run() {
        // spec: R12
        let store = Arc::new(InMemoryJobStore::new());
        let event = JobLogEvent::new(store.clone(), 5, 8);
        let tenant = uuid::Uuid::new_v4();
        let job = JobInfo::once("j", "t")
            .with_group("g")
            .with_name("n")
            .with_tenant(tenant);
        let mut data = JobEventData::new(job.clone(), chrono::Utc::now(), "node-1");
        data.result = Some("a long result".into());
        event
            .on_after_executed(&JobEventContext::standalone(data))
            .await
            .unwrap();
        let mut failed = JobEventData::new(job, chrono::Utc::now(), "node-1");
        failed.error = Some(JobError::new("a very long failure"));
        event
            .on_after_executed(&JobEventContext::standalone(failed))
            .await
            .unwrap();
        let logs = store.list_logs("j", 10).await.unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].exception.as_deref(), Some("a very l"));
        assert_eq!(logs[1].message, "a lon");
        assert_eq!(
            (
                logs[1].job_group.as_str(),
                logs[1].job_name.as_str(),
                logs[1].job_type.as_str()
            ),
            ("g", "n", "t")
        );
        assert_eq!(logs[1].tenant_id, Some(tenant));
        assert_eq!(logs[1].node, "node-1");
    }

    #[test]
    fn a_run_names_its_lease_and_one_that_lost_its_job_is_not_logged() {
        // spec: R46
        let event = JobLogEvent::new(Arc::new(InMemoryJobStore::new()), 100, 100);
        let at = chrono::Utc::now();
        let mut data = JobEventData::new(JobInfo::once("j", "t"), at, "n");
        data.lease = Some(bgtasks_abstractions::RunLease {
            job_id: "j".into(),
            token: 41,
            node: "n".into(),
            expires_at: at,
            due_at: at,
        });
        let context = JobEventContext::standalone(data.clone());
        assert!(event.can_after_executed(&context));
        assert_eq!(event.log_for(&context).lease_token, Some(41));
        for lost in [Interruption::Removed, Interruption::LeaseLost] {
            let told = JobEventContext::standalone(data.clone());
            told.record_interruption(lost);
            assert!(!event.can_after_executed(&told), "{lost:?} by the store");
            let mut learned = data.clone();
            learned.interruption = Some(lost);
            let learned = JobEventContext::standalone(learned);
            assert!(!event.can_after_executed(&learned), "{lost:?} at renewal");
        }
        let paused = JobEventContext::standalone(data);
        paused.record_interruption(Interruption::Paused);
        assert!(
            event.can_after_executed(&paused),
            "a paused run is logged, as interrupted"
        );
    }

    #[tokio::test]
    async fn job_types_can_opt_out_of_logging() {
        // spec: R11
        let store = Arc::new(InMemoryJobStore::new());
        let event = JobLogEvent::new(store, 100, 100);
        let mut data = JobEventData::new(JobInfo::once("j", "t"), chrono::Utc::now(), "n");
        data.opt_outs = JobOptOuts::SYSTEM;
        assert!(!event.can_after_executed(&JobEventContext::standalone(data)));
    }
}
