//! Exclusive job locks (R28).

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;

/// Locks a job key for a while (the reference's `IJobLockProvider`). A job with a lock
/// timeout runs only while its lock is held, so two schedulers never run it at once.
#[async_trait]
pub trait JobLockProvider: Send + Sync {
    /// Takes the lock on `key` for `seconds`; `false` while the lock is held and has not
    /// expired — by anyone, this provider included: a lock is taken once per run and
    /// released by [`release`](Self::release).
    async fn try_lock(&self, key: &str, seconds: i64) -> Result<bool, StoreError>;

    /// Releases the lock on `key`.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: JobLockProvider + ?Sized> JobLockProvider for Arc<T> {
    async fn try_lock(&self, key: &str, seconds: i64) -> Result<bool, StoreError> {
        (**self).try_lock(key, seconds).await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        (**self).release(key).await
    }
}
