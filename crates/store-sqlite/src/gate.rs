//! Letting one process's writes into the file one at a time.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_store::StoreError;
use tokio::sync::{Mutex, MutexGuard};

/// The turn to write, shared by a store's job, lock and outbox writes. SQLite lets one
/// writer in at a time, and a connection that finds the file locked waits in SQLite's
/// busy handler, which sleeps (1, 2, 5, 10 ms …) rather than queueing: two writers of one
/// process meeting there cost the second one milliseconds. Queueing here instead hands the
/// file to the next writer as soon as the previous one commits. Writers in other
/// processes still meet the busy handler.
///
/// The wait for a turn is bounded (R45): past `timeout`, the write fails as unavailable
/// rather than wait behind a writer that hangs.
#[derive(Clone, Debug)]
pub(crate) struct WriteGate {
    turn: Arc<Mutex<()>>,
    timeout: Duration,
}

impl WriteGate {
    /// A gate whose turns are waited for at most `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            turn: Arc::default(),
            timeout,
        }
    }

    /// Waits for this process's turn to write (at most the gate's timeout); the turn ends
    /// when the guard is dropped. `db` and `operation` name the write in the error.
    pub(crate) async fn enter(
        &self,
        db: &str,
        operation: &str,
    ) -> Result<MutexGuard<'_, ()>, StoreError> {
        tokio::time::timeout(self.timeout, self.turn.lock())
            .await
            .map_err(|_| StoreError::Unavailable {
                message: format!(
                    "could not {operation} in the SQLite job store `{db}`: this process's \
                     other writes held the file for more than {:?}",
                    self.timeout
                ),
                source: None,
            })
    }
}
