//! Writing run outcomes and logs: at once, or gathered into batches for stores that
//! prefer them.

use std::sync::{Arc, OnceLock};

use bgtasks_abstractions::{JobInfo, RunLease};
use tokio::sync::{mpsc, oneshot};

use super::{CompletionOutcome, JobLog, JobStore, RunCompletion, StoreError};

/// The most writes one batch carries.
const MAX_BATCH: usize = 512;

/// Where the executed and log events write. For a store that
/// [prefers batched writes](JobStore::prefers_batched_writes), a background task gathers
/// the completions and logs of concurrent runs and writes each kind in one call; every
/// caller still waits for its own write, so nothing is acknowledged before it is saved.
#[derive(Clone)]
pub struct RunWriter {
    store: Arc<dyn JobStore>,
    batching: bool,
    batches: Arc<OnceLock<mpsc::UnboundedSender<Write>>>,
}

enum Write {
    Complete(
        Box<RunCompletion>,
        oneshot::Sender<Result<CompletionOutcome, Arc<StoreError>>>,
    ),
    Log(JobLog, oneshot::Sender<Result<(), Arc<StoreError>>>),
}

impl RunWriter {
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

    /// Saves a run's outcome under its lease.
    pub async fn complete(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError> {
        let Some(batches) = self.batches() else {
            return self.store.complete_run(lease, job).await;
        };
        let (reply, answer) = oneshot::channel();
        let completion = RunCompletion {
            lease: lease.clone(),
            job: job.clone(),
        };
        if batches
            .send(Write::Complete(Box::new(completion), reply))
            .is_err()
        {
            return self.store.complete_run(lease, job).await;
        }
        match answer.await {
            Ok(result) => result.map_err(shared_error),
            Err(_) => self.store.complete_run(lease, job).await,
        }
    }

    /// Appends a run log.
    pub async fn log(&self, log: JobLog) -> Result<(), StoreError> {
        let Some(batches) = self.batches() else {
            return self.store.store_log(&log).await;
        };
        let (reply, answer) = oneshot::channel();
        batches
            .send(Write::Log(log, reply))
            .map_err(|_| StoreError::other("the run writer has stopped"))?;
        match answer.await {
            Ok(result) => result.map_err(shared_error),
            Err(_) => Err(StoreError::other("the run writer has stopped")),
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
    let mut pending = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut pending, MAX_BATCH).await > 0 {
        let mut completions = Vec::new();
        let mut completion_replies = Vec::new();
        let mut logs = Vec::new();
        let mut log_replies = Vec::new();
        for write in pending.drain(..) {
            match write {
                Write::Complete(completion, reply) => {
                    completions.push(*completion);
                    completion_replies.push(reply);
                }
                Write::Log(log, reply) => {
                    logs.push(log);
                    log_replies.push(reply);
                }
            }
        }
        if !completions.is_empty() {
            match store.complete_runs(&completions).await {
                Ok(outcomes) if outcomes.len() == completion_replies.len() => {
                    for (reply, outcome) in completion_replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Ok(outcomes) => {
                    let error = Arc::new(StoreError::other(format!(
                        "the store answered {} outcomes for {} completions",
                        outcomes.len(),
                        completion_replies.len()
                    )));
                    for reply in completion_replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
                Err(error) => {
                    let error = Arc::new(error);
                    for reply in completion_replies {
                        let _ = reply.send(Err(error.clone()));
                    }
                }
            }
        }
        if !logs.is_empty() {
            let result = store.store_logs(&logs).await.map_err(Arc::new);
            for reply in log_replies {
                let _ = reply.send(result.clone());
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
