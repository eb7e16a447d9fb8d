//! Exclusive job locks (R28).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bgtasks_abstractions::Clock;
use chrono::{DateTime, Utc};

use crate::store::{JobLockProvider, StoreError};

/// Locks held in this process, expiring by the given clock.
pub struct InMemoryJobLockProvider {
    clock: Arc<dyn Clock>,
    locks: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl InMemoryJobLockProvider {
    /// Locks that expire by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            locks: Mutex::new(HashMap::new()),
        }
    }
}

impl fmt::Debug for InMemoryJobLockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryJobLockProvider")
            .finish_non_exhaustive()
    }
}

impl JobLockProvider for InMemoryJobLockProvider {
    async fn try_lock(&self, key: &str, seconds: i64) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if locks.get(key).is_some_and(|expires| *expires > now) {
            return Ok(false);
        }
        locks.insert(
            key.to_owned(),
            crate::clock::saturating_add_secs(now, seconds.max(1)),
        );
        Ok(true)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TokioClock;
    use crate::store::DynJobLockProvider;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_held_lock_refuses_until_it_expires_or_is_released() {
        // spec: R28
        let locks: Arc<dyn DynJobLockProvider> =
            Arc::new(InMemoryJobLockProvider::new(Arc::new(TokioClock::new())));
        assert!(locks.try_lock("job", 10).await.unwrap());
        assert!(!locks.try_lock("job", 10).await.unwrap());
        assert!(locks.try_lock("other", 10).await.unwrap());
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(
            locks.try_lock("job", 10).await.unwrap(),
            "expired locks can be taken"
        );
        locks.release("job").await.unwrap();
        assert!(
            locks.try_lock("job", 10).await.unwrap(),
            "released locks can be taken"
        );
    }
}
