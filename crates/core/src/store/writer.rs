//! Writing run outcomes and logs: at once, or gathered into batches for stores that
//! prefer them.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use bgtasks_abstractions::RunLease;

use super::{CompletionOutcome, GiveBack, JobLog, JobStore, RunCompletion, StoreError};

/// Saves one run's outcome at once.
async fn complete_now(
    store: &dyn JobStore,
    completion: RunCompletion,
) -> Result<CompletionOutcome, StoreError> {
    let outcomes = store
        .complete(std::slice::from_ref(&completion), &[])
        .await?;
    outcomes.into_iter().next().ok_or_else(|| {
        StoreError::other(format!(
            "the store answered no outcome for the completion of job `{}`",
            completion.lease.job_id
        ))
    })
}

/// Where the executed and log events write, and where runs without a result are given
/// back. For a store that
/// [prefers batched writes](super::JobRuns::prefers_batched_writes), a background task gathers
/// the completions, logs and give-backs of concurrent runs and writes them in one call
/// each ([`JobRuns::complete`](super::JobRuns::complete),
/// [`JobRuns::give_back_many`](super::JobRuns::give_back_many)), one batch at a time:
/// while one is written, the next gathers. A completion's or give-back's caller waits for
/// its write, so no run is reported done before its state is saved or its lease ended; a
/// run log is queued and written with the next batch without holding up the worker (a
/// failed log write is logged; a crash can lose the logs of the last batch, never a job's
/// state).
#[derive(Clone)]
pub struct RunWriter {
    store: Arc<dyn JobStore>,
    batching: bool,
    batches: Arc<OnceLock<mpsc::UnboundedSender<Write>>>,
}

enum Write {
    Complete(Box<RunCompletion>, Reply),
    GiveBack(Box<RunLease>, GiveBack, Reply),
    Log(JobLog),
    Flush(oneshot::Sender<()>),
}

impl RunWriter {
    /// The most writes one batch carries.
    pub(crate) const MAX_BATCH: usize = 512;

    /// A writer for `store`, batching if the store prefers it. The batch task is spawned
    /// on the first write.
    pub fn new(store: Arc<dyn JobStore>) -> Self {
        Self {
            batching: store.prefers_batched_writes(),
            store,
            batches: Arc::new(OnceLock::new()),
        }
    }

    /// A writer that writes each outcome at once.
    pub fn direct(store: Arc<dyn JobStore>) -> Self {
        Self {
            store,
            batching: false,
            batches: Arc::new(OnceLock::new()),
        }
    }

    /// Whether writes are batched.
    pub fn is_batching(&self) -> bool {
        self.batching
    }

    fn batches(&self) -> Option<&mpsc::UnboundedSender<Write>> {
        if !self.batching {
            return None;
        }
        Some(self.batches.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.store.clone(), rx));
            tx
        }))
    }

    /// Saves a run's outcome under its lease, with the notifications it calls for.
    pub async fn complete(
        &self,
        completion: RunCompletion,
    ) -> Result<CompletionOutcome, StoreError> {
        let retry = completion.clone();
        let Some(batches) = self.batches() else {
            return complete_now(self.store.as_ref(), completion).await;
        };
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError(write)) =
            batches.send(Write::Complete(Box::new(completion), reply))
        {
            return match write {
                Write::Complete(completion, _) => {
                    complete_now(self.store.as_ref(), *completion).await
                }
                _ => Err(StoreError::other("the run writer has stopped")),
            };
        }
        match answer.await {
            Ok(result) => result.map_err(shared_error),
            Err(_) => complete_now(self.store.as_ref(), retry).await,
        }
    }

    /// Ends a run's lease without a result ([`JobRuns::give_back`](super::JobRuns::give_back)),
    /// gathered with the give-backs of concurrent runs when batching.
    pub async fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        let Some(batches) = self.batches() else {
            return self.store.give_back(lease, how).await;
        };
        let (reply, answer) = oneshot::channel();
        if batches
            .send(Write::GiveBack(Box::new(lease.clone()), how, reply))
            .is_err()
        {
            return self.store.give_back(lease, how).await;
        }
        match answer.await {
            Ok(result) => result.map_err(shared_error),
            Err(_) => self.store.give_back(lease, how).await,
        }
    }

    /// Appends a run log.
    pub async fn log(&self, log: JobLog) -> Result<(), StoreError> {
        let Some(batches) = self.batches() else {
            return self.store.append_logs(std::slice::from_ref(&log)).await;
        };
        match batches.send(Write::Log(log)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(Write::Log(log))) => {
                self.store.append_logs(std::slice::from_ref(&log)).await
            }
            Err(_) => Err(StoreError::other("the run writer has stopped")),
        }
    }

    /// Waits until every write queued so far is written (a no-op when not batching).
    pub async fn flush(&self) {
        if !self.batching {
            return;
        }
        let Some(batches) = self.batches.get() else {
            return;
        };
        let (done, written) = oneshot::channel();
        if batches.send(Write::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

fn shared_error(error: Arc<StoreError>) -> StoreError {
    if error.is_transient() {
        StoreError::unavailable(error.to_string())
    } else {
        StoreError::other(error.to_string())
    }
}

async fn write_batches(store: Arc<dyn JobStore>, mut rx: mpsc::UnboundedReceiver<Write>) {
    let mut pending = Vec::with_capacity(RunWriter::MAX_BATCH);
    while rx.recv_many(&mut pending, RunWriter::MAX_BATCH).await > 0 {
        let mut completions = Vec::new();
        let mut replies = Vec::new();
        let mut given = Vec::new();
        let mut given_replies = Vec::new();
        let mut logs = Vec::new();
        let mut flushed = Vec::new();
        for write in pending.drain(..) {
            match write {
                Write::Complete(completion, reply) => {
                    completions.push(*completion);
                    replies.push(reply);
                }
                Write::GiveBack(lease, how, reply) => {
                    given.push((*lease, how));
                    given_replies.push(reply);
                }
                Write::Log(log) => logs.push(log),
                Write::Flush(done) => flushed.push(done),
            }
        }
        if completions.is_empty() {
            if !logs.is_empty()
                && let Err(error) = store.append_logs(&logs).await
            {
                tracing::warn!(%error, logs = logs.len(), "could not write run logs");
            }
        } else {
            answer(store.complete(&completions, &logs).await, replies);
        }
        if !given.is_empty() {
            answer(store.give_back_many(&given).await, given_replies);
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

type Reply = oneshot::Sender<Result<CompletionOutcome, Arc<StoreError>>>;

/// Hands each waiting completion its outcome, or the shared error.
fn answer(result: Result<Vec<CompletionOutcome>, StoreError>, replies: Vec<Reply>) {
    match result {
        Ok(outcomes) if outcomes.len() == replies.len() => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Ok(outcomes) => {
            let error = Arc::new(StoreError::other(format!(
                "the store answered {} outcomes for {} runs",
                outcomes.len(),
                replies.len()
            )));
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
        Err(error) => {
            let error = Arc::new(error);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

impl std::fmt::Debug for RunWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunWriter")
            .field("batching", &self.is_batching())
            .finish()
    }
}
