//! Wiring job actions into a runtime: the planner and the delivery loop.

use std::sync::Arc;

use bgtasks_core::RuntimeBuilder;
use bgtasks_core::store::TimedStore;

use crate::delivery::NotificationDelivery;
use crate::manager::JobActionDefinitionManager;
use crate::options::{DeliveryOptions, InvalidDeliveryOption};
use crate::planner::JobActionPlanner;

/// Adds job actions to a [`RuntimeBuilder`]: the [`JobActionPlanner`] decides each run's
/// notifications with its outcome, and the [`NotificationDelivery`] loop delivers them
/// from the store's outbox, on every node that calls this.
pub trait JobActionsExt: Sized {
    /// Job actions resolved in `definitions`, delivered with the default options.
    fn job_actions(self, definitions: Arc<JobActionDefinitionManager>) -> Self;

    /// Job actions resolved in `definitions`, delivered with `options` (checked).
    fn job_actions_with(
        self,
        definitions: Arc<JobActionDefinitionManager>,
        options: DeliveryOptions,
    ) -> Result<Self, InvalidDeliveryOption>;
}

impl JobActionsExt for RuntimeBuilder {
    fn job_actions(self, definitions: Arc<JobActionDefinitionManager>) -> Self {
        install(self, definitions, DeliveryOptions::default())
    }

    fn job_actions_with(
        self,
        definitions: Arc<JobActionDefinitionManager>,
        options: DeliveryOptions,
    ) -> Result<Self, InvalidDeliveryOption> {
        options.validate()?;
        Ok(install(self, definitions, options))
    }
}

fn install(
    mut builder: RuntimeBuilder,
    definitions: Arc<JobActionDefinitionManager>,
    options: DeliveryOptions,
) -> RuntimeBuilder {
    let store: Arc<dyn bgtasks_core::store::JobStore> = Arc::new(TimedStore::new(
        builder.store_handle(),
        builder.current_options().store_timeout,
    ));
    let clock = builder.clock_handle();
    let delivery = NotificationDelivery::new(store, definitions.clone(), options).with_clock(clock);
    builder
        .notification_planner(Arc::new(JobActionPlanner::new(definitions)))
        .background_service(Arc::new(delivery))
}
