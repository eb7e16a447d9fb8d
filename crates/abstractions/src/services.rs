//! A small type map through which listeners and runnables reach the runtime's services.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

/// The runtime's services, found by type: the store (`Arc<dyn JobStore>`), the scheduler
/// (`Arc<dyn JobScheduler>`), the clock, and whatever the host adds. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    map: Arc<ServiceMap>,
}

/// The empty map every `Services::new()` shares, so that making one allocates nothing.
static NO_SERVICES: LazyLock<Arc<ServiceMap>> = LazyLock::new(Arc::default);

type ServiceMap = HashMap<TypeId, Arc<dyn Any + Send + Sync>>;

impl Default for Services {
    fn default() -> Self {
        Self {
            map: NO_SERVICES.clone(),
        }
    }
}

impl Services {
    /// No services.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the service of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, service: T) {
        Arc::make_mut(&mut self.map).insert(TypeId::of::<T>(), Arc::new(service));
    }

    /// Adds the service of type `T` and returns the map.
    pub fn with<T: Send + Sync + 'static>(mut self, service: T) -> Self {
        self.insert(service);
        self
    }

    /// The service of type `T`, if registered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|s| s.downcast_ref::<T>())
    }

    /// How many services are registered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no service is registered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services")
            .field("len", &self.map.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_services_by_type() {
        // spec: R8
        let services = Services::new().with(42_u32).with(String::from("store"));
        assert_eq!(services.get::<u32>(), Some(&42));
        assert_eq!(services.get::<String>().map(String::as_str), Some("store"));
        assert!(services.get::<i64>().is_none());
        assert_eq!(services.len(), 2);
    }
}
