//! Background services: loops that run beside the node's own (the notification
//! delivery of `bgtasks-actions`, for one), supervised like them: a panicking or failing
//! iteration is survived, counted and reported in [`Runtime::health`](crate::Runtime::health).

use std::future::Future;

use bgtasks_abstractions::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::Clock;

use super::RuntimeInner;
use super::health::LoopId;
use super::run_loop::PANIC_BACKOFF;

/// What a background service knows of the node it runs on.
#[derive(Clone)]
pub struct ServiceContext {
    node: String,
    clock: Arc<dyn Clock>,
}

impl ServiceContext {
    /// A context for a service on `node` with `clock` (tests build one by hand).
    pub fn new(node: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            node: node.into(),
            clock,
        }
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The node's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// A loop the runtime runs while it is started, beside its own. Each iteration is
/// supervised: a panic is logged and counted, and the loop goes on after a pause; its
/// last iteration and its panics show in the node's [`HealthReport`](crate::HealthReport)
/// under [`name`](Self::name).
///
/// Write the hooks as plain `async fn`s; the runtime holds services as
/// [`DynBackgroundService`], which every `BackgroundService` is.
pub trait BackgroundService: Send + Sync + 'static {
    /// The service's name in logs and health reports.
    fn name(&self) -> &str;

    /// Runs one iteration and says how long to wait before the next one.
    fn run_once(&self, context: &ServiceContext) -> impl Future<Output = Duration> + Send;

    /// Called once the runtime has stopped its loops at shutdown.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The object-safe form of [`BackgroundService`]. Implement `BackgroundService`, not this.
pub trait DynBackgroundService: Send + Sync + 'static {
    /// See [`BackgroundService::name`].
    fn name(&self) -> &str;
    /// See [`BackgroundService::run_once`].
    fn run_once<'a>(&'a self, context: &'a ServiceContext) -> BoxFuture<'a, Duration>;
    /// See [`BackgroundService::shutdown`].
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

impl<T: BackgroundService> DynBackgroundService for T {
    fn name(&self) -> &str {
        BackgroundService::name(self)
    }

    fn run_once<'a>(&'a self, context: &'a ServiceContext) -> BoxFuture<'a, Duration> {
        Box::pin(BackgroundService::run_once(self, context))
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(BackgroundService::shutdown(self))
    }
}

/// Runs `service` (the `index`-th one) until the runtime shuts down.
pub(super) async fn run(
    inner: Arc<RuntimeInner>,
    index: usize,
    service: Arc<dyn DynBackgroundService>,
) {
    let context = ServiceContext::new(inner.node(), inner.clock.clone());
    let mut state = inner.state.subscribe();
    loop {
        if inner.is_shutting_down() {
            return;
        }
        let pause = inner
            .health
            .supervise(
                LoopId::Service(index),
                inner.node(),
                PANIC_BACKOFF,
                service.run_once(&context),
            )
            .await;
        let Some(pause) = pause else { continue };
        let now = inner.clock.now();
        inner.health.iterated(LoopId::Service(index), now);
        inner.health.expect_next(
            LoopId::Service(index),
            crate::clock::saturating_add(now, pause),
        );
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = state.changed() => {}
        }
    }
}
