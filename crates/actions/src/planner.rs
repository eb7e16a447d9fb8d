//! Deciding, with each run's outcome, which notifications its job's actions call for
//! (R32, R51).

use std::sync::Arc;

use bgtasks_abstractions::{JobAction, JobEventContext, JobInfo};
use bgtasks_core::events::NotificationPlanner;
use bgtasks_core::store::{NewNotification, NotificationKind};
use tracing::{debug, warn};

use crate::action_type::JobActionType;
use crate::definition::JobActionDefinition;
use crate::manager::JobActionDefinitionManager;
use crate::notification::{Notification, Payload};
use crate::summary::RunSummary;

/// Plans the notifications of each run from its job's actions (R32): register it with
/// [`RuntimeBuilder::notification_planner`](bgtasks_core::RuntimeBuilder::notification_planner)
/// (or through [`JobActionsExt::job_actions`](crate::JobActionsExt::job_actions)). The
/// notifications it plans are stored with the run's outcome, in the same transaction,
/// and delivered from the outbox by [`NotificationDelivery`](crate::NotificationDelivery).
///
/// - a job whose type opts out of actions (R11), or a run that was interrupted, calls for
///   nothing;
/// - an unknown action name, or an action missing required parameters, is logged (naming
///   the job and what is missing) and skipped;
/// - a failed run calls for [`Failed`](JobActionType::Failed) actions whose accepted
///   failure types include the one the finder found, one notification per notifier that
///   handles failures and whose [`Throttle`](crate::Throttle) wants this failure;
/// - a successful run calls for a success notification of each
///   [`Successed`](JobActionType::Successed) action, and a completion notification of
///   every action.
pub struct JobActionPlanner {
    definitions: Arc<JobActionDefinitionManager>,
}

impl JobActionPlanner {
    /// A planner resolving action names in `definitions`.
    pub fn new(definitions: Arc<JobActionDefinitionManager>) -> Self {
        Self { definitions }
    }

    /// The definition of `action` if it can fire: logged and `None` when the name is
    /// unknown or a required parameter is missing.
    fn resolve<'a>(&'a self, job: &JobInfo, action: &JobAction) -> Option<&'a JobActionDefinition> {
        let Some(definition) = self.definitions.get(&action.name) else {
            warn!(
                job_id = %job.id, job_group = %job.group, job_name = %job.name, action = %action.name,
                "skipping job action `{}` of job `{}`: no action of that name is registered",
                action.name, job.id
            );
            return None;
        };
        let missing = definition.missing_parameters(action);
        if !missing.is_empty() {
            let missing = missing.join(", ");
            warn!(
                job_id = %job.id, job_group = %job.group, job_name = %job.name, action = %action.name,
                missing = %missing,
                "skipping job action `{}` of job `{}`: missing required parameters: {}",
                action.name, job.id, missing
            );
            return None;
        }
        Some(definition)
    }
}

impl std::fmt::Debug for JobActionPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobActionPlanner")
            .field("definitions", &self.definitions.len())
            .finish()
    }
}

impl NotificationPlanner for JobActionPlanner {
    fn plan(&self, context: &JobEventContext, outcome: &JobInfo) -> Vec<NewNotification> {
        let data = context.data();
        if data.opt_outs.skip_actions || data.interruption.is_some() || outcome.actions.is_empty() {
            return Vec::new();
        }
        let Some(lease) = &data.lease else {
            return Vec::new();
        };
        let run = RunSummary::of(context, outcome);
        let found = context.exception_type();
        let mut planned = Vec::new();
        for (index, action) in outcome.actions.iter().enumerate() {
            let Some(definition) = self.resolve(outcome, action) else {
                continue;
            };
            let kinds: &[NotificationKind] = if run.failed() {
                if definition.action_type != JobActionType::Failed {
                    continue;
                }
                if !definition.accepts_failure(found) {
                    debug!(job_id = %outcome.id, action = %action.name,
                        failure_type = %found.map(|t| t.name()).unwrap_or_default(),
                        "job action does not accept this failure type");
                    continue;
                }
                &[NotificationKind::Failure]
            } else if definition.action_type == JobActionType::Successed {
                &[NotificationKind::Success, NotificationKind::Completion]
            } else {
                &[NotificationKind::Completion]
            };
            for &kind in kinds {
                for notifier in &definition.notifiers {
                    if !notifier.handles(kind) {
                        continue;
                    }
                    let min_interval = if kind == NotificationKind::Failure {
                        match notifier.throttle(action).decide(run.stage()) {
                            Some(min_interval) => min_interval,
                            None => {
                                debug!(job_id = %outcome.id, action = %action.name,
                                    notifier = notifier.name(),
                                    "the notifier's policy does not notify this failure");
                                continue;
                            }
                        }
                    } else {
                        None
                    };
                    let payload = Payload {
                        notifier: notifier.name().to_owned(),
                        action: action.clone(),
                        run: run.clone(),
                    };
                    let payload = match serde_json::to_value(&payload) {
                        Ok(payload) => payload,
                        Err(error) => {
                            warn!(job_id = %outcome.id, action = %action.name, %error,
                                "the notification of job `{}` does not serialize: {error}", outcome.id);
                            continue;
                        }
                    };
                    planned.push(NewNotification {
                        id: Notification::identity(
                            &outcome.id,
                            lease.token,
                            index,
                            notifier.name(),
                            kind,
                        ),
                        job_id: outcome.id.clone(),
                        action: action.name.clone(),
                        kind,
                        payload,
                        created_at: data.run_time,
                        min_interval,
                    });
                }
            }
        }
        planned
    }
}
