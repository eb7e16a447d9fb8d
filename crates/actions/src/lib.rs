//! Job actions for bgtasks: what to do after a job runs (R31, R32), delivered at least
//! once (R51).
//!
//! A job carries [`JobAction`]s (a name and parameters) in its definition
//! ([`JobInfo::with_action`](bgtasks_abstractions::JobInfo::with_action)). Each name
//! refers to a [`JobActionDefinition`] registered in the [`JobActionDefinitionManager`]
//! by a [`JobActionDefinitionProvider`]; a definition says when it fires
//! ([`JobActionType`]), which parameters it needs and which [`JobActionNotifier`]s carry
//! it out.
//!
//! When a run ends, the [`JobActionPlanner`] decides which notifications its outcome
//! calls for, and the store saves them with the outcome in one transaction — an outbox.
//! The [`NotificationDelivery`] loop, on every node, claims them under leases and hands
//! each to its notifier, retrying transient failures with back-off and recording
//! permanent ones. A node that dies after a failure was saved loses no alert: another
//! node delivers it. [`JobActionsExt::job_actions`] wires both into a runtime.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use bgtasks_abstractions::{JobError, JobInfo, job_fn};
//! use bgtasks_actions::{
//!     DeliveryError, JobAction, JobActionDefinition, JobActionDefinitionManager,
//!     JobActionExecuteContext, JobActionNotifier, JobActionParameterDefinition, JobActionType,
//!     JobActionsExt, NotificationKind,
//! };
//! use bgtasks_core::{JobScheduler, Runtime};
//! use tokio::sync::mpsc;
//!
//! /// Tells a channel (a chat room, say) about failures.
//! struct ChatNotifier(mpsc::UnboundedSender<String>);
//!
//! impl JobActionNotifier for ChatNotifier {
//!     fn name(&self) -> &str {
//!         "chat"
//!     }
//!
//!     fn handles(&self, kind: NotificationKind) -> bool {
//!         kind == NotificationKind::Failure
//!     }
//!
//!     async fn notify_error(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), DeliveryError> {
//!         let channel = ctx.parameter_text("channel").unwrap_or_default();
//!         let message = ctx.run().failure.as_ref().map(|f| f.message.clone()).unwrap_or_default();
//!         self.0
//!             .send(format!("#{channel}: job {} failed: {message}", ctx.job_id()))
//!             .map_err(DeliveryError::transient)
//!     }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (said, mut heard) = mpsc::unbounded_channel();
//! let mut definitions = JobActionDefinitionManager::new();
//! definitions.add(
//!     JobActionDefinition::new("chat", JobActionType::Failed)
//!         .with_parameter(JobActionParameterDefinition::required("channel", "Channel", "Where to tell"))
//!         .with_notifier(Arc::new(ChatNotifier(said))),
//! );
//! let runtime = Runtime::builder()
//!     .runnable("report", job_fn(|_| async { Err(JobError::new("disk full")) }))
//!     .job_actions(Arc::new(definitions))
//!     .build()?;
//! runtime.start().await?;
//! runtime
//!     .queue(
//!         JobInfo::once("nightly", "report")
//!             .with_max_try_count(1)
//!             .with_action(JobAction::new("chat").with_parameter("channel", "ops")),
//!     )
//!     .await?;
//! let message = tokio::time::timeout(Duration::from_secs(30), heard.recv()).await?;
//! assert_eq!(message.as_deref(), Some("#ops: job nightly failed: disk full"));
//! runtime.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod action_type;
mod definition;
mod delivery;
mod execute_context;
mod install;
mod isolate;
mod manager;
mod notification;
mod notifier;
mod options;
mod parameter;
mod planner;
mod summary;
mod throttle;
mod throttle_parameters;

pub use self::action_type::JobActionType;
pub use self::definition::JobActionDefinition;
pub use self::delivery::{DELIVERY_SERVICE, NotificationDelivery};
pub use self::execute_context::JobActionExecuteContext;
pub use self::install::JobActionsExt;
pub use self::manager::{JobActionDefinitionManager, JobActionDefinitionProvider};
pub use self::notification::Notification;
pub use self::notifier::{DeliveryError, DynJobActionNotifier, JobActionNotifier};
pub use self::options::{DeliveryOptions, InvalidDeliveryOption};
pub use self::parameter::JobActionParameterDefinition;
pub use self::planner::JobActionPlanner;
pub use self::summary::{RunFailure, RunSummary};
pub use self::throttle::{FailureStage, NotifyPolicy, Throttle, UnknownNotifyPolicy};
pub use self::throttle_parameters::{MIN_INTERVAL_PARAMETER, NOTIFY_PARAMETER};
pub use bgtasks_abstractions::JobAction;
pub use bgtasks_core::store::NotificationKind;

#[cfg(test)]
mod object_safety {
    use std::sync::Arc;

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

    #[test]
    fn traits_held_as_arc_dyn_are_object_safe() {
        // spec: R31
        fn _notifier(_: Arc<dyn DynJobActionNotifier>) {}
        fn _provider(_: Arc<dyn JobActionDefinitionProvider>) {}
        fn _service(_: Arc<dyn bgtasks_core::DynBackgroundService>) {}
        fn _planner(_: Arc<dyn bgtasks_core::events::NotificationPlanner>) {}

        let provider: Arc<dyn JobActionDefinitionProvider> = Arc::new(Nothing);
        let definitions = JobActionDefinitionManager::new().with_provider(&provider);
        let notifier: Arc<dyn DynJobActionNotifier> = Arc::clone(
            &definitions
                .get("nothing")
                .expect("the provider registered it")
                .notifiers[0],
        );
        assert!(notifier.name().ends_with("Nothing"));
        assert!(notifier.handles(NotificationKind::Completion));
        assert_eq!(
            notifier.throttle(&JobAction::new("nothing")),
            Throttle::NONE
        );
    }
}
