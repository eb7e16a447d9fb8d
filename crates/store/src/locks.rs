//! Exclusive job locks (R28).

use std::sync::Arc;

use bgtasks_abstractions::BoxFuture;

use crate::error::StoreError;

/// Locks a job key for a while (the reference's `IJobLockProvider`). A job with a lock
/// timeout runs only while its lock is held, so two schedulers never run it at once.
/// Implement it with plain `async fn`s; the runtime holds it as
/// `Arc<dyn DynJobLockProvider>`.
pub trait JobLockProvider: Send + Sync {
    /// Takes the lock on `key` for `seconds`; `false` while the lock is held and has not
    /// expired — by anyone, this provider included: a lock is taken once per run and
    /// released by [`release`](Self::release).
    fn try_lock(
        &self,
        key: &str,
        seconds: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Releases the lock on `key`.
    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<T: JobLockProvider> JobLockProvider for Arc<T> {
    fn try_lock(
        &self,
        key: &str,
        seconds: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).try_lock(key, seconds)
    }

    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).release(key)
    }
}

/// The object-safe form of [`JobLockProvider`], with the same methods returning boxed
/// futures, which the runtime holds as `Arc<dyn DynJobLockProvider>`. Every
/// `JobLockProvider` is one: implement `JobLockProvider`, not this.
pub trait DynJobLockProvider: Send + Sync {
    /// See [`JobLockProvider::try_lock`].
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        seconds: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// See [`JobLockProvider::release`].
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<T: JobLockProvider> DynJobLockProvider for T {
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        seconds: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(JobLockProvider::try_lock(self, key, seconds))
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(JobLockProvider::release(self, key))
    }
}
