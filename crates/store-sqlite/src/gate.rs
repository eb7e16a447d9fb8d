//! Letting one process's writes into the file one at a time.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

/// The turn to write, shared by a store's job, lock and action writes. SQLite lets one
/// writer in at a time, and a connection that finds the file locked waits in SQLite's
/// busy handler, which sleeps (1, 2, 5, 10 ms …) rather than queueing: two writers of one
/// process meeting there cost the second one milliseconds. Queueing here instead hands the
/// file to the next writer as soon as the previous one commits. Writers in other
/// processes still meet the busy handler.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteGate(Arc<Mutex<()>>);

impl WriteGate {
    /// Waits for this process's turn to write; the turn ends when the guard is dropped.
    pub(crate) async fn enter(&self) -> MutexGuard<'_, ()> {
        self.0.lock().await
    }
}
