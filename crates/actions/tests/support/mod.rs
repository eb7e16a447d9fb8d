//! Notifiers and runs shared by the action tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{
    JobAction, JobError, JobEventContext, JobEventData, JobInfo, JobStatus, RunLease,
};
use bgtasks_actions::{
    DeliveryError, JobActionDefinition, JobActionDefinitionManager, JobActionExecuteContext,
    JobActionNotifier, JobActionParameterDefinition, JobActionType, NotificationKind, NotifyPolicy,
    Throttle,
};
use chrono::{DateTime, TimeZone, Utc};

/// Seconds after a fixed instant.
pub fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// What a recording notifier does when called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    FailTransiently,
    FailPermanently,
    Panic,
    Hang,
    /// Succeeds after this many seconds.
    Slow(u64),
}

/// Records every call as "notifier:action:hook:attempt", behaving as told.
pub struct Recorder {
    pub name: &'static str,
    pub kinds: Vec<NotificationKind>,
    pub throttle: Throttle,
    pub behaviour: Mutex<Behaviour>,
    pub calls: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self {
            name,
            kinds: vec![
                NotificationKind::Failure,
                NotificationKind::Success,
                NotificationKind::Completion,
            ],
            throttle: Throttle::NONE,
            behaviour: Mutex::new(Behaviour::Succeed),
            calls: Mutex::new(Vec::new()),
        })
    }

    pub fn failures_only(name: &'static str, policy: NotifyPolicy, min: u64) -> Arc<Self> {
        Arc::new(Self {
            kinds: vec![NotificationKind::Failure],
            throttle: Throttle {
                policy,
                min_interval: Duration::from_secs(min),
            },
            ..Arc::into_inner(Self::new(name)).unwrap()
        })
    }

    pub fn behave(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    async fn act(
        &self,
        ctx: &JobActionExecuteContext<'_>,
        hook: &str,
    ) -> Result<(), DeliveryError> {
        self.calls.lock().unwrap().push(format!(
            "{}:{}:{hook}:{}",
            self.name,
            ctx.action().name,
            ctx.attempt()
        ));
        let behaviour = *self.behaviour.lock().unwrap();
        match behaviour {
            Behaviour::Succeed => Ok(()),
            Behaviour::FailTransiently => Err(DeliveryError::transient("421 try again later")),
            Behaviour::FailPermanently => Err(DeliveryError::permanent("550 no such mailbox")),
            Behaviour::Panic => panic!("the notifier panicked on purpose"),
            Behaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
            Behaviour::Slow(seconds) => {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                Ok(())
            }
        }
    }
}

impl JobActionNotifier for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    fn handles(&self, kind: NotificationKind) -> bool {
        self.kinds.contains(&kind)
    }

    fn throttle(&self, _action: &JobAction) -> Throttle {
        self.throttle
    }

    async fn notify_error(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), DeliveryError> {
        self.act(ctx, "error").await
    }

    async fn notify_success(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), DeliveryError> {
        self.act(ctx, "success").await
    }

    async fn notify_complete(
        &self,
        ctx: &JobActionExecuteContext<'_>,
    ) -> Result<(), DeliveryError> {
        self.act(ctx, "complete").await
    }
}

/// A definition of `name` and `action_type`, carried out by `notifiers`.
pub fn definition(
    name: &str,
    action_type: JobActionType,
    notifiers: &[Arc<Recorder>],
) -> JobActionDefinition {
    let mut definition = JobActionDefinition::new(name, action_type);
    for notifier in notifiers {
        definition = definition.with_notifier(notifier.clone());
    }
    definition
}

/// A manager of these definitions.
pub fn manager(definitions: Vec<JobActionDefinition>) -> Arc<JobActionDefinitionManager> {
    let mut manager = JobActionDefinitionManager::new();
    for definition in definitions {
        manager.add(definition);
    }
    Arc::new(manager)
}

/// A definition requiring the parameter `to`.
pub fn needs_to(definition: JobActionDefinition) -> JobActionDefinition {
    definition.with_parameter(JobActionParameterDefinition::required("to", "To", "Whom"))
}

/// The context of a run of `job` claimed with `token`, at `t(at)`, failing with `error`.
pub fn run(job: &JobInfo, token: i64, at: i64, error: Option<JobError>) -> JobEventContext {
    let mut data = JobEventData::new(job.clone(), t(at), "node-a");
    data.error = error;
    data.lease = Some(RunLease {
        job_id: job.id.clone(),
        token,
        node: "node-a".into(),
        expires_at: t(at + 60),
        due_at: t(at),
    });
    JobEventContext::standalone(data)
}

/// The job as a failure left it: `tries` tries, abandoned when `last`.
pub fn after_failure(job: &JobInfo, tries: i32, last: bool) -> JobInfo {
    let mut outcome = job.clone();
    outcome.try_count = tries;
    outcome.status = if last {
        JobStatus::Stopped
    } else {
        JobStatus::FailedRetry
    };
    outcome.is_abandoned = last;
    outcome
}
