//! Calling listeners concurrently and in isolation (R9–R10).

use bgtasks_abstractions::DynJobEvent;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::JobEventContext;
use futures_util::FutureExt;
use futures_util::future::join_all;

use super::provider::JobEventProvider;

#[derive(Clone, Copy, Debug)]
enum Hook {
    Before,
    After,
}

/// Fires events to listeners (the reference's `IJobEventTrigger`). The after-executed
/// event first runs the *state* listener (the executed event, which saves the job state
/// the run produced), then every other listener concurrently, so that those listeners
/// (notifiers deciding on a final failure, observers) see the saved state. Each listener
/// call is bounded by a time-out; an error, a panic or a time-out is logged with the job's
/// group and name and affects nothing else.
#[derive(Clone)]
pub struct JobEventTrigger {
    state_listener: Option<Arc<dyn DynJobEvent>>,
    provider: Arc<dyn JobEventProvider>,
    timeout: Duration,
}

impl JobEventTrigger {
    /// A trigger over the provider's listeners, with the state listener run first.
    pub fn new(
        state_listener: Option<Arc<dyn DynJobEvent>>,
        provider: Arc<dyn JobEventProvider>,
        timeout: Duration,
    ) -> Self {
        Self {
            state_listener,
            provider,
            timeout,
        }
    }

    /// Fires the before-executed event and returns when every listener is done.
    pub async fn on_before_executed(&self, context: &JobEventContext) {
        let listeners = self.state_listener.iter().chain(self.provider.listeners());
        self.fire_all(listeners, context, Hook::Before).await;
    }

    /// Fires the after-executed event: the state listener, then the others concurrently.
    pub async fn on_after_executed(&self, context: &JobEventContext) {
        if let Some(state) = &self.state_listener {
            self.fire_all(std::iter::once(state), context, Hook::After)
                .await;
        }
        self.fire_all(self.provider.listeners().iter(), context, Hook::After)
            .await;
    }

    /// Whether a state listener (the executed event) is registered.
    pub fn has_state_listener(&self) -> bool {
        self.state_listener.is_some()
    }

    /// Whether any listener is registered.
    pub fn has_listeners(&self) -> bool {
        self.state_listener.is_some() || !self.provider.listeners().is_empty()
    }

    async fn fire_all<'a>(
        &self,
        listeners: impl Iterator<Item = &'a Arc<dyn DynJobEvent>>,
        context: &JobEventContext,
        hook: Hook,
    ) {
        let mut wanted = listeners.filter(|l| match hook {
            Hook::Before => l.can_before_executed(context),
            Hook::After => l.can_after_executed(context),
        });
        let Some(first) = wanted.next() else {
            return;
        };
        match wanted.next() {
            None => self.fire_one(first.as_ref(), context, hook).await,
            Some(second) => {
                let calls = [first, second]
                    .into_iter()
                    .chain(wanted)
                    .map(|listener| self.fire_one(listener.as_ref(), context, hook));
                join_all(calls).await;
            }
        }
    }

    async fn fire_one(&self, listener: &dyn DynJobEvent, context: &JobEventContext, hook: Hook) {
        let call = async {
            match hook {
                Hook::Before => listener.on_before_executed(context).await,
                Hook::After => listener.on_after_executed(context).await,
            }
        };
        let data = context.data();
        // Most calls finish at their first poll (in-memory writes, queued logs): the timer
        // is set only for a call that has to wait.
        let call = AssertUnwindSafe(call).catch_unwind();
        tokio::pin!(call);
        let outcome = match (&mut call).now_or_never() {
            Some(finished) => Ok(finished),
            None => tokio::time::timeout(self.timeout, call).await,
        };
        if !matches!(outcome, Ok(Ok(Ok(())))) {
            crate::metrics::listener_error(match hook {
                Hook::Before => "before",
                Hook::After => "after",
            });
        }
        match outcome {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::error!(
                listener = listener.name(),
                hook = ?hook,
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                error = %error,
                "job event listener failed"
            ),
            Ok(Err(panic)) => tracing::error!(
                listener = listener.name(),
                hook = ?hook,
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                panic = crate::panic_message(panic.as_ref()),
                "job event listener panicked"
            ),
            Err(_) => tracing::error!(
                listener = listener.name(),
                hook = ?hook,
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                timeout_ms = self.timeout.as_millis() as u64,
                "job event listener timed out"
            ),
        }
    }
}

impl std::fmt::Debug for JobEventTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEventTrigger")
            .field(
                "state_listener",
                &self.state_listener.as_ref().map(|l| l.name().to_owned()),
            )
            .field("listeners", &self.provider.listeners().len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::StaticJobEventProvider;
    use bgtasks_abstractions::JobEvent;
    use bgtasks_abstractions::{BoxError, JobInfo};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::Barrier;

    fn context() -> JobEventContext {
        JobEventContext::standalone(bgtasks_abstractions::JobEventData::new(
            JobInfo::once("j", "t").with_group("g").with_name("n"),
            chrono::Utc::now(),
            "node",
        ))
    }

    /// Waits at a barrier of two: only returns if the other listener runs at the same time.
    struct Rendezvous(Arc<Barrier>, Arc<AtomicUsize>);
    impl JobEvent for Rendezvous {
        async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            self.0.wait().await;
            self.1.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    struct Panics;
    impl JobEvent for Panics {
        async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            panic!("listener bug");
        }
    }

    struct Fails;
    impl JobEvent for Fails {
        async fn on_before_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            Err("listener error".into())
        }
    }

    struct Hangs;
    impl JobEvent for Hangs {
        async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            std::future::pending::<()>().await;
            Ok(())
        }
    }

    struct Declines(Arc<AtomicUsize>);
    impl JobEvent for Declines {
        fn can_after_executed(&self, _: &JobEventContext) -> bool {
            false
        }
        async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn listeners_run_concurrently_and_in_isolation() {
        // spec: R9, R10
        let barrier = Arc::new(Barrier::new(2));
        let done = Arc::new(AtomicUsize::new(0));
        let declined = Arc::new(AtomicUsize::new(0));
        let provider = StaticJobEventProvider::new(vec![
            Arc::new(Rendezvous(barrier.clone(), done.clone())),
            Arc::new(Panics),
            Arc::new(Fails),
            Arc::new(Hangs),
            Arc::new(Declines(declined.clone())),
            Arc::new(Rendezvous(barrier, done.clone())),
        ]);
        let trigger = JobEventTrigger::new(None, Arc::new(provider), Duration::from_secs(5));
        let ctx = context();
        trigger.on_before_executed(&ctx).await;
        trigger.on_after_executed(&ctx).await;
        assert_eq!(
            done.load(Ordering::SeqCst),
            2,
            "both rendezvous listeners met: they ran at once"
        );
        assert_eq!(
            declined.load(Ordering::SeqCst),
            0,
            "a declining listener is not called"
        );
    }

    struct Records(Arc<std::sync::Mutex<Vec<&'static str>>>, &'static str);
    impl JobEvent for Records {
        async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
            tokio::task::yield_now().await;
            self.0.lock().unwrap().push(self.1);
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_state_listener_runs_before_the_others() {
        // spec: R12
        let order = Arc::new(std::sync::Mutex::new(vec![]));
        let provider = StaticJobEventProvider::new(vec![Arc::new(Records(order.clone(), "log"))]);
        let trigger = JobEventTrigger::new(
            Some(Arc::new(Records(order.clone(), "executed"))),
            Arc::new(provider),
            Duration::from_secs(5),
        );
        trigger.on_after_executed(&context()).await;
        assert_eq!(*order.lock().unwrap(), vec!["executed", "log"]);
    }
}
