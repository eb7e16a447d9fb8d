//! Where the trigger gets its listeners from (R9).

use bgtasks_abstractions::DynJobEvent;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Returns every registered listener (the reference's `IJobEventProvider`).
pub trait JobEventProvider: Send + Sync {
    /// The listeners, in registration order.
    fn listeners(&self) -> &[Arc<dyn DynJobEvent>];
}

/// A provider over a fixed list.
#[derive(Clone, Default)]
pub struct StaticJobEventProvider {
    listeners: Vec<Arc<dyn DynJobEvent>>,
}

impl StaticJobEventProvider {
    /// A provider over these listeners.
    pub fn new(listeners: Vec<Arc<dyn DynJobEvent>>) -> Self {
        Self { listeners }
    }
}

impl JobEventProvider for StaticJobEventProvider {
    fn listeners(&self) -> &[Arc<dyn DynJobEvent>] {
        &self.listeners
    }
}

impl fmt::Debug for StaticJobEventProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.listeners.iter().map(|l| l.name()))
            .finish()
    }
}

type ListenerFactory = Box<dyn Fn() -> Arc<dyn DynJobEvent> + Send + Sync>;

/// A provider that creates its listeners once, on first use, from factories (as the
/// reference resolves them from its container).
#[derive(Default)]
pub struct LazyJobEventProvider {
    factories: Vec<ListenerFactory>,
    listeners: OnceLock<Vec<Arc<dyn DynJobEvent>>>,
}

impl LazyJobEventProvider {
    /// A provider with no factories.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a factory.
    pub fn with_factory(
        mut self,
        factory: impl Fn() -> Arc<dyn DynJobEvent> + Send + Sync + 'static,
    ) -> Self {
        self.factories.push(Box::new(factory));
        self
    }

    /// Adds an already created listener.
    pub fn with_listener(self, listener: Arc<dyn DynJobEvent>) -> Self {
        self.with_factory(move || listener.clone())
    }

    /// Whether the listeners have been created.
    pub fn is_created(&self) -> bool {
        self.listeners.get().is_some()
    }
}

impl JobEventProvider for LazyJobEventProvider {
    fn listeners(&self) -> &[Arc<dyn DynJobEvent>] {
        self.listeners
            .get_or_init(|| self.factories.iter().map(|factory| factory()).collect())
    }
}

impl fmt::Debug for LazyJobEventProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyJobEventProvider")
            .field("factories", &self.factories.len())
            .field("created", &self.is_created())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgtasks_abstractions::JobEvent;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Quiet;
    impl JobEvent for Quiet {}

    #[test]
    fn creates_listeners_once_lazily() {
        // spec: R9
        let created = Arc::new(AtomicUsize::new(0));
        let counter = created.clone();
        let provider = LazyJobEventProvider::new().with_factory(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Arc::new(Quiet) as Arc<dyn DynJobEvent>
        });
        assert!(!provider.is_created());
        assert_eq!(created.load(Ordering::SeqCst), 0);
        assert_eq!(provider.listeners().len(), 1);
        assert_eq!(provider.listeners().len(), 1);
        assert_eq!(created.load(Ordering::SeqCst), 1);
        let dynamic: Arc<dyn JobEventProvider> = Arc::new(provider);
        assert_eq!(dynamic.listeners().len(), 1);
    }
}
