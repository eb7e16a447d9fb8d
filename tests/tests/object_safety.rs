//! Every trait the runtime holds as `Arc<dyn _>` stays object-safe and usable that way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgtasks::DynJobEvent;
use bgtasks::DynJobRunnable;
use std::sync::Arc;

use bgtasks::prelude::*;
use bgtasks::runtime::clock::{Clock, SystemClock};
use bgtasks::runtime::events::{JobEventProvider, StaticJobEventProvider};
use bgtasks::runtime::{InMemoryJobLockProvider, StoreJobDispatcher};
use bgtasks::{
    DefaultJobExceptionTypeFinder, DynJobDispatcher, DynJobLockProvider, InMemoryJobStore,
    JobExceptionTypeFinder, JobStore, ReferenceRetryPolicy, RetryPolicy,
};

#[tokio::test]
async fn traits_held_as_arc_dyn_are_object_safe() {
    // spec: R23, R27, R28
    let store: Arc<dyn JobStore> = Arc::new(InMemoryJobStore::new());
    assert!(store.find("none").await.unwrap().is_none());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let locks: Arc<dyn DynJobLockProvider> = Arc::new(InMemoryJobLockProvider::new(clock.clone()));
    assert!(locks.try_lock("k", 1).await.unwrap());
    let dispatcher: Arc<dyn DynJobDispatcher> = Arc::new(StoreJobDispatcher);
    dispatcher.dispatch("other", vec![]).await.unwrap();
    let finder: Arc<dyn JobExceptionTypeFinder> =
        Arc::new(DefaultJobExceptionTypeFinder::default());
    let policy: Arc<dyn RetryPolicy> = Arc::new(ReferenceRetryPolicy::default());
    let provider: Arc<dyn JobEventProvider> = Arc::new(StaticJobEventProvider::default());
    assert!(provider.listeners().is_empty());
    let runnable: Arc<dyn DynJobRunnable> =
        Arc::new(job_fn(|_ctx| async { Ok::<(), JobError>(()) }));
    let runtime = BackgroundTasks::builder()
        .store(store)
        .finder(finder)
        .retry_policy(policy)
        .lock_provider(locks)
        .dispatcher(dispatcher)
        .clock(clock)
        .runnable_arc("t", runnable)
        .build()
        .unwrap();
    let scheduler: Arc<dyn JobScheduler> = runtime.scheduler_handle();
    assert!(!scheduler.exists("none").await.unwrap());
    let listener: Arc<dyn DynJobEvent> = Arc::new(StaticListener);
    assert!(!listener.name().is_empty());
}

struct StaticListener;
impl JobEvent for StaticListener {}
