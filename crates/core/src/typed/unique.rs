//! Unique jobs: one job per key while it is waiting or running, on every store. Each step
//! is one conditioned store transition (insert if absent; remove if finished; update at
//! the revision read), so concurrent enqueues of one key agree on one job.

use bgtasks_abstractions::JobInfo;

use super::diff::definition_update;
use super::{EnqueueError, Enqueued};
use crate::runtime::Runtime;
use crate::scheduler::JobScheduler;
use crate::store::{Refusal, RemoveIf};

/// What a second enqueue of a key does while the first job is waiting or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UniquePolicy {
    /// Nothing: the first job stays as it is ([`Enqueued::Skipped`]).
    Skip,
    /// The first job takes the new value and options ([`Enqueued::Replaced`]); a run in
    /// flight finishes with the old ones, the next run has the new.
    Replace,
}

/// How often a step that raced another enqueue of the key is tried again.
const ATTEMPTS: usize = 5;

pub(crate) async fn enqueue_unique(
    runtime: &Runtime,
    job: JobInfo,
    policy: UniquePolicy,
) -> Result<Enqueued, EnqueueError> {
    for _ in 0..ATTEMPTS {
        if runtime.queue(job.clone()).await? {
            return Ok(Enqueued::Inserted);
        }
        // Taken: a finished job under the key makes room; an active one holds it.
        match runtime.store().remove(&job.id, RemoveIf::Finished).await? {
            Ok(_) | Err(Refusal::NotFound | Refusal::LeaseLost) => continue,
            Err(Refusal::StateChanged(stored)) => match policy {
                UniquePolicy::Skip => return Ok(Enqueued::Skipped),
                UniquePolicy::Replace => {
                    let update = definition_update(&stored.job, &job, true);
                    if update.is_empty() {
                        return Ok(Enqueued::Replaced);
                    }
                    match runtime
                        .update(&job.id, update, Some(stored.revision))
                        .await?
                    {
                        Ok(_) => return Ok(Enqueued::Replaced),
                        Err(_) => continue,
                    }
                }
            },
        }
    }
    Err(EnqueueError::Contended { id: job.id })
}
