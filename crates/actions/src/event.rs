//! The listener that fires a job's actions after each run (R32).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{BoxError, JobEvent, JobEventContext};
use futures_util::future::join_all;
use tracing::{debug, error, warn};

use crate::action::JobAction;
use crate::action_type::JobActionType;
use crate::definition::JobActionDefinition;
use crate::execute_context::JobActionExecuteContext;
use crate::isolate::{CallOutcome, isolated};
use crate::manager::JobActionDefinitionManager;
use crate::notifier::JobActionNotifier;
use crate::store::JobActionStore;

/// How long one notifier call may take by default before it is abandoned.
pub const DEFAULT_NOTIFIER_TIMEOUT: Duration = Duration::from_secs(30);

/// The action event: register it as an after-executed listener. After each run it reads
/// the job's actions from the [`JobActionStore`], finds each one's definition in the
/// [`JobActionDefinitionManager`] and calls its notifiers (R32):
///
/// - a job whose type opts out of actions (R11), or a run that was interrupted (paused,
///   removed, shut down, lease lost), fires nothing;
/// - an unknown action name, or an action missing required parameters, is logged and
///   skipped;
/// - a failed run fires only [`Failed`](JobActionType::Failed) actions whose accepted
///   failure types include the type the finder found: `notify_error`;
/// - a successful run fires `notify_success` for
///   [`Successed`](JobActionType::Successed) actions, then `notify_complete` for every
///   action.
///
/// The job's actions run concurrently; one action's notifiers run in order. Every call
/// is bounded by the notifier timeout, and an error, a panic or a timeout is logged with
/// the job's id, group and name and reaches nothing else.
pub struct JobActionEvent {
    store: Arc<dyn JobActionStore>,
    definitions: Arc<JobActionDefinitionManager>,
    notifier_timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Hook {
    Error,
    Success,
    Complete,
}

impl Hook {
    fn as_str(self) -> &'static str {
        match self {
            Hook::Error => "notify_error",
            Hook::Success => "notify_success",
            Hook::Complete => "notify_complete",
        }
    }
}

impl JobActionEvent {
    /// An action event reading actions from `store` and definitions from `definitions`.
    pub fn new(
        store: Arc<dyn JobActionStore>,
        definitions: Arc<JobActionDefinitionManager>,
    ) -> Self {
        Self {
            store,
            definitions,
            notifier_timeout: DEFAULT_NOTIFIER_TIMEOUT,
        }
    }

    /// Sets how long one notifier call may take (default 30 s).
    pub fn with_notifier_timeout(mut self, timeout: Duration) -> Self {
        self.notifier_timeout = timeout;
        self
    }

    /// How long one notifier call may take.
    pub fn notifier_timeout(&self) -> Duration {
        self.notifier_timeout
    }

    /// The store the actions are read from.
    pub fn store(&self) -> &Arc<dyn JobActionStore> {
        &self.store
    }

    /// The registered definitions.
    pub fn definitions(&self) -> &Arc<JobActionDefinitionManager> {
        &self.definitions
    }

    /// The definition of `action` if it can fire: logged and `None` when the name is
    /// unknown or a required parameter is missing.
    fn resolve<'a>(
        &'a self,
        context: &JobEventContext,
        action: &JobAction,
    ) -> Option<&'a JobActionDefinition> {
        let data = context.data();
        let Some(definition) = self.definitions.get(&action.name) else {
            warn!(
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                action = %action.name,
                "skipping job action `{}` of job `{}`: no action of that name is registered",
                action.name,
                data.key()
            );
            return None;
        };
        let missing = definition.missing_parameters(action);
        if !missing.is_empty() {
            let missing = missing.join(", ");
            warn!(
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                action = %action.name,
                missing = %missing,
                "skipping job action `{}` of job `{}`: missing required parameters: {}",
                action.name,
                data.key(),
                missing
            );
            return None;
        }
        Some(definition)
    }

    async fn execute(
        &self,
        context: &JobEventContext,
        definition: &JobActionDefinition,
        action: &JobAction,
    ) {
        let call = JobActionExecuteContext::new(context, action, definition);
        if context.data().failed() {
            if definition.action_type != JobActionType::Failed {
                return;
            }
            let found = context.exception_type();
            if !definition.accepts_failure(found) {
                debug!(
                    job_id = context.data().key(),
                    action = %action.name,
                    failure_type = %found.map(|t| t.name()).unwrap_or_default(),
                    "job action does not accept this failure type"
                );
                return;
            }
            self.call_all(&call, Hook::Error).await;
        } else {
            if definition.action_type == JobActionType::Successed {
                self.call_all(&call, Hook::Success).await;
            }
            self.call_all(&call, Hook::Complete).await;
        }
    }

    async fn call_all(&self, call: &JobActionExecuteContext<'_>, hook: Hook) {
        for notifier in &call.definition().notifiers {
            self.call_one(call, notifier.as_ref(), hook).await;
        }
    }

    async fn call_one(
        &self,
        call: &JobActionExecuteContext<'_>,
        notifier: &dyn JobActionNotifier,
        hook: Hook,
    ) {
        let outcome = isolated(self.notifier_timeout, async {
            match hook {
                Hook::Error => notifier.notify_error(call).await,
                Hook::Success => notifier.notify_success(call).await,
                Hook::Complete => notifier.notify_complete(call).await,
            }
        })
        .await;
        let data = call.data();
        let (job_id, job_group, job_name) = (data.key(), data.group(), data.name());
        let (action, notifier, hook) = (&call.action().name, notifier.name(), hook.as_str());
        match outcome {
            CallOutcome::Done => {
                debug!(job_id, action = %action, notifier, hook, "job action notified");
            }
            CallOutcome::Failed(err) => error!(
                job_id, job_group, job_name, action = %action, notifier, hook, error = %err,
                "job action `{action}` of job `{job_id}` failed in {notifier}::{hook}: {err}"
            ),
            CallOutcome::Panicked(message) => error!(
                job_id, job_group, job_name, action = %action, notifier, hook, panic = %message,
                "job action `{action}` of job `{job_id}` panicked in {notifier}::{hook}: {message}"
            ),
            CallOutcome::TimedOut => error!(
                job_id, job_group, job_name, action = %action, notifier, hook,
                timeout_ms = u64::try_from(self.notifier_timeout.as_millis()).unwrap_or(u64::MAX),
                "job action `{action}` of job `{job_id}` timed out in {notifier}::{hook} after {:?}",
                self.notifier_timeout
            ),
        }
    }
}

impl std::fmt::Debug for JobActionEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobActionEvent")
            .field("definitions", &self.definitions.len())
            .field("notifier_timeout", &self.notifier_timeout)
            .finish()
    }
}

#[async_trait]
impl JobEvent for JobActionEvent {
    fn name(&self) -> &str {
        "JobActionEvent"
    }

    fn can_before_executed(&self, _context: &JobEventContext) -> bool {
        false
    }

    fn can_after_executed(&self, context: &JobEventContext) -> bool {
        !context.data().opt_outs.skip_actions
    }

    async fn on_after_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        let data = context.data();
        if data.opt_outs.skip_actions {
            debug!(job_id = data.key(), "the job's type opts out of actions");
            return Ok(());
        }
        if let Some(interruption) = data.interruption {
            debug!(
                job_id = data.key(),
                ?interruption,
                "an interrupted run fires no action"
            );
            return Ok(());
        }
        let actions = self.store.get_actions(data.key()).await?;
        let runs = actions.iter().filter_map(|action| {
            self.resolve(context, action)
                .map(|definition| self.execute(context, definition, action))
        });
        join_all(runs).await;
        Ok(())
    }
}
