//! Where action definitions are registered and found (R31).

use std::collections::HashMap;
use std::sync::Arc;

use crate::definition::JobActionDefinition;

/// Registers action definitions into a [`JobActionDefinitionManager`]. A crate that ships
/// an action (the failed-job e-mail, a webhook...) ships a provider for it.
pub trait JobActionDefinitionProvider: Send + Sync {
    /// Adds this provider's definitions.
    fn define(&self, definitions: &mut JobActionDefinitionManager);
}

impl<T: JobActionDefinitionProvider + ?Sized> JobActionDefinitionProvider for Arc<T> {
    fn define(&self, definitions: &mut JobActionDefinitionManager) {
        (**self).define(definitions);
    }
}

/// The registered action definitions, by name. Built once at start-up from providers,
/// then shared (as an `Arc`) by the [`JobActionPlanner`](crate::JobActionPlanner) and the
/// [`NotificationDelivery`](crate::NotificationDelivery).
#[derive(Debug, Clone, Default)]
pub struct JobActionDefinitionManager {
    definitions: HashMap<String, JobActionDefinition>,
}

impl JobActionDefinitionManager {
    /// No definitions.
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager holding what every provider defines, in order (a later definition of
    /// the same name replaces an earlier one).
    pub fn from_providers<'a>(
        providers: impl IntoIterator<Item = &'a dyn JobActionDefinitionProvider>,
    ) -> Self {
        let mut manager = Self::new();
        for provider in providers {
            provider.define(&mut manager);
        }
        manager
    }

    /// Adds what `provider` defines and returns the manager.
    pub fn with_provider(mut self, provider: &dyn JobActionDefinitionProvider) -> Self {
        provider.define(&mut self);
        self
    }

    /// Adds a definition, returning the one it replaced, if any.
    pub fn add(&mut self, definition: JobActionDefinition) -> Option<JobActionDefinition> {
        self.definitions.insert(definition.name.clone(), definition)
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&JobActionDefinition> {
        self.definitions.get(name)
    }

    /// Every definition, in no particular order.
    pub fn definitions(&self) -> impl Iterator<Item = &JobActionDefinition> {
        self.definitions.values()
    }

    /// How many definitions are registered.
    pub fn len(&self) -> usize {
        self.definitions.len()
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action_type::JobActionType;

    struct TwoActions;

    impl JobActionDefinitionProvider for TwoActions {
        fn define(&self, definitions: &mut JobActionDefinitionManager) {
            definitions.add(JobActionDefinition::new("a", JobActionType::Failed));
            definitions.add(JobActionDefinition::new("b", JobActionType::Successed));
        }
    }

    #[test]
    fn providers_register_definitions() {
        // spec: R31
        let provider: Arc<dyn JobActionDefinitionProvider> = Arc::new(TwoActions);
        let manager = JobActionDefinitionManager::from_providers([provider.as_ref()]);
        assert_eq!(manager.len(), 2);
        assert_eq!(
            manager.get("b").map(|d| d.action_type),
            Some(JobActionType::Successed)
        );
        assert!(manager.get("c").is_none());
        let mut again = manager.with_provider(&provider);
        let replaced = again.add(JobActionDefinition::new("a", JobActionType::Completed));
        assert_eq!(replaced.map(|d| d.action_type), Some(JobActionType::Failed));
        assert_eq!(again.len(), 2);
    }
}
