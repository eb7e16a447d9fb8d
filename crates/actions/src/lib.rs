//! Job actions for bgtasks: what to do after a job runs (R31–R32).
//!
//! A job carries [`JobAction`]s (a name and parameters) kept per job id in a
//! [`JobActionStore`]. Each name refers to a [`JobActionDefinition`] registered in the
//! [`JobActionDefinitionManager`] by a [`JobActionDefinitionProvider`]; a definition says
//! when it fires ([`JobActionType`]), which parameters it needs and which
//! [`JobActionNotifier`]s carry it out. The [`JobActionEvent`] is the after-executed
//! listener that puts it together.
//!
//! ```
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use bgtasks_abstractions::{BoxError, JobError, JobEvent, JobEventContext, JobEventData, JobInfo};
//! use bgtasks_actions::{
//!     InMemoryJobActionStore, JobAction, JobActionDefinition, JobActionDefinitionManager,
//!     JobActionEvent, JobActionExecuteContext, JobActionNotifier, JobActionParameterDefinition,
//!     JobActionStore, JobActionType,
//! };
//!
//! struct PrintNotifier;
//!
//! #[async_trait]
//! impl JobActionNotifier for PrintNotifier {
//!     async fn notify_error(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
//!         let channel = ctx.parameter_text("channel").unwrap_or_default();
//!         println!("job {} failed, telling #{channel}", ctx.job_id());
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let mut definitions = JobActionDefinitionManager::new();
//! definitions.add(
//!     JobActionDefinition::new("print", JobActionType::Failed)
//!         .with_parameter(JobActionParameterDefinition::required("channel", "Channel", "Where to tell"))
//!         .with_notifier(Arc::new(PrintNotifier)),
//! );
//! let store = Arc::new(InMemoryJobActionStore::new());
//! store
//!     .set_actions("nightly", vec![JobAction::new("print").with_parameter("channel", "ops")])
//!     .await?;
//! let listener = JobActionEvent::new(store, Arc::new(definitions));
//!
//! // The runtime calls this after every run; here we build a failed run by hand.
//! let mut data = JobEventData::new(JobInfo::new("nightly", "report"), chrono::Utc::now(), "node-a");
//! data.error = Some(JobError::new("disk full"));
//! listener.on_after_executed(&JobEventContext::standalone(data)).await?;
//! # Ok(())
//! # }
//! ```

mod action;
mod action_type;
mod definition;
mod event;
mod execute_context;
mod isolate;
mod manager;
mod memory_store;
mod notifier;
mod parameter;
mod store;

pub use self::action::JobAction;
pub use self::action_type::JobActionType;
pub use self::definition::JobActionDefinition;
pub use self::event::{DEFAULT_NOTIFIER_TIMEOUT, JobActionEvent};
pub use self::execute_context::JobActionExecuteContext;
pub use self::manager::{JobActionDefinitionManager, JobActionDefinitionProvider};
pub use self::memory_store::InMemoryJobActionStore;
pub use self::notifier::JobActionNotifier;
pub use self::parameter::JobActionParameterDefinition;
pub use self::store::{JobActionStore, JobActionStoreError};

#[cfg(test)]
mod object_safety {
    use std::sync::Arc;

    use bgtasks_abstractions::{JobEvent, JobEventContext, JobInfo};

    use super::*;

    struct Nothing;

    impl JobActionNotifier for Nothing {}

    impl JobActionDefinitionProvider for Nothing {
        fn define(&self, definitions: &mut JobActionDefinitionManager) {
            definitions.add(
                JobActionDefinition::new("nothing", JobActionType::Completed)
                    .with_notifier(Arc::new(Nothing)),
            );
        }
    }

    // spec: R31
    #[tokio::test]
    async fn traits_held_as_arc_dyn_are_object_safe() {
        fn _store(_: Arc<dyn JobActionStore>) {}
        fn _notifier(_: Arc<dyn JobActionNotifier>) {}
        fn _provider(_: Arc<dyn JobActionDefinitionProvider>) {}

        let provider: Arc<dyn JobActionDefinitionProvider> = Arc::new(Nothing);
        let definitions = JobActionDefinitionManager::new().with_provider(&provider);
        let notifier: Arc<dyn JobActionNotifier> = Arc::clone(
            &definitions
                .get("nothing")
                .expect("the provider registered it")
                .notifiers[0],
        );
        assert!(notifier.name().ends_with("Nothing"));
        let store: Arc<dyn JobActionStore> = Arc::new(InMemoryJobActionStore::new());
        store
            .set_actions("j", vec![JobAction::new("nothing")])
            .await
            .unwrap();
        let listener: Arc<dyn JobEvent> =
            Arc::new(JobActionEvent::new(store, Arc::new(definitions)));
        let context = JobEventContext::standalone(bgtasks_abstractions::JobEventData::new(
            JobInfo::new("j", "t"),
            chrono::Utc::now(),
            "n",
        ));
        assert!(listener.can_after_executed(&context));
        assert!(listener.on_after_executed(&context).await.is_ok());
    }
}
