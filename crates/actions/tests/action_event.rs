//! The action event after real runs (R32), with recording notifiers.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{
    BoxError, DefaultJobExceptionTypeFinder, Interruption, JobError, JobEvent, JobEventContext,
    JobEventData, JobExceptionType, JobInfo, JobOptOuts, Services,
};
use bgtasks_actions::{
    InMemoryJobActionStore, JobAction, JobActionDefinition, JobActionDefinitionManager,
    JobActionEvent, JobActionExecuteContext, JobActionNotifier, JobActionParameterDefinition,
    JobActionStore, JobActionStoreError, JobActionType,
};

/// Records every call as "action:hook".
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn record(&self, ctx: &JobActionExecuteContext<'_>, hook: &str) {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{}:{hook}", ctx.action().name));
    }

    fn calls(&self) -> Vec<String> {
        let mut calls = self.calls.lock().unwrap().clone();
        calls.sort();
        calls
    }
}

#[async_trait]
impl JobActionNotifier for Recorder {
    async fn notify_error(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        self.record(ctx, "error");
        Ok(())
    }
    async fn notify_success(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        self.record(ctx, "success");
        Ok(())
    }
    async fn notify_complete(&self, ctx: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        self.record(ctx, "complete");
        Ok(())
    }
}

enum Misbehaviour {
    Fail,
    Panic,
    Hang,
}

struct Misbehaving(Misbehaviour);

#[async_trait]
impl JobActionNotifier for Misbehaving {
    fn name(&self) -> &str {
        match self.0 {
            Misbehaviour::Fail => "failing",
            Misbehaviour::Panic => "panicking",
            Misbehaviour::Hang => "hanging",
        }
    }

    async fn notify_error(&self, _ctx: &JobActionExecuteContext<'_>) -> Result<(), BoxError> {
        match self.0 {
            Misbehaviour::Fail => Err("the webhook answered 500".into()),
            Misbehaviour::Panic => panic!("the notifier panicked on purpose"),
            Misbehaviour::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        }
    }
}

/// Captures formatted log lines for the duration of a test (current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Fixture {
    recorder: Arc<Recorder>,
    store: Arc<InMemoryJobActionStore>,
    listener: JobActionEvent,
}

fn fixture(extra: Vec<JobActionDefinition>) -> Fixture {
    let recorder = Arc::new(Recorder::default());
    let mut definitions = JobActionDefinitionManager::new();
    for (name, action_type) in [
        ("on-failed", JobActionType::Failed),
        ("on-success", JobActionType::Successed),
        ("on-complete", JobActionType::Completed),
    ] {
        definitions
            .add(JobActionDefinition::new(name, action_type).with_notifier(recorder.clone()));
    }
    definitions.add(
        JobActionDefinition::new("on-network-failure", JobActionType::Failed)
            .with_accepted_failure_types(JobExceptionType::NETWORK)
            .with_notifier(recorder.clone()),
    );
    definitions.add(
        JobActionDefinition::new("needs-params", JobActionType::Failed)
            .with_parameter(JobActionParameterDefinition::required("to", "To", ""))
            .with_parameter(JobActionParameterDefinition::required(
                "channel", "Channel", "",
            ))
            .with_parameter(JobActionParameterDefinition::optional(
                "subject", "Subject", "",
            ))
            .with_notifier(recorder.clone()),
    );
    for definition in extra {
        definitions.add(definition);
    }
    let store = Arc::new(InMemoryJobActionStore::new());
    let listener = JobActionEvent::new(store.clone(), Arc::new(definitions));
    Fixture {
        recorder,
        store,
        listener,
    }
}

fn job() -> JobInfo {
    JobInfo::new("job-42", "report")
        .with_group("reports")
        .with_name("nightly")
}

fn context(error: Option<JobError>) -> JobEventContext {
    let mut data = JobEventData::new(job(), chrono::Utc::now(), "node-a");
    data.error = error;
    JobEventContext::new(
        data,
        Services::new(),
        Arc::new(DefaultJobExceptionTypeFinder::default()),
    )
}

async fn set(store: &InMemoryJobActionStore, names: &[&str]) {
    let actions = names.iter().map(|n| JobAction::new(*n)).collect();
    store.set_actions("job-42", actions).await.unwrap();
}

#[tokio::test]
async fn failed_run_fires_only_failed_actions_of_an_accepted_type() {
    // spec: R32
    let f = fixture(vec![]);
    set(
        &f.store,
        &[
            "on-failed",
            "on-success",
            "on-complete",
            "on-network-failure",
        ],
    )
    .await;

    // A business failure: the Network-only action stays quiet.
    let ctx = context(Some(JobError::business("the invoice is closed")));
    f.listener.on_after_executed(&ctx).await.unwrap();
    assert_eq!(f.recorder.calls(), vec!["on-failed:error"]);

    // A network failure fires both Failed actions.
    f.recorder.calls.lock().unwrap().clear();
    let ctx = context(Some(JobError::http(503, "upstream down")));
    f.listener.on_after_executed(&ctx).await.unwrap();
    assert_eq!(
        f.recorder.calls(),
        vec!["on-failed:error", "on-network-failure:error"]
    );
}

#[tokio::test]
async fn succeeded_run_fires_success_then_complete_for_every_action() {
    // spec: R32
    let f = fixture(vec![]);
    set(&f.store, &["on-failed", "on-success", "on-complete"]).await;
    f.listener.on_after_executed(&context(None)).await.unwrap();
    assert_eq!(
        f.recorder.calls(),
        vec![
            "on-complete:complete",
            "on-failed:complete",
            "on-success:complete",
            "on-success:success",
        ]
    );
}

#[tokio::test]
async fn interrupted_and_opted_out_runs_fire_nothing() {
    // spec: R11
    let f = fixture(vec![]);
    set(&f.store, &["on-failed", "on-success", "on-complete"]).await;

    let mut data = JobEventData::new(job(), chrono::Utc::now(), "node-a");
    data.error = Some(JobError::new("interrupted"));
    data.interruption = Some(Interruption::Shutdown);
    f.listener
        .on_after_executed(&JobEventContext::standalone(data))
        .await
        .unwrap();

    let mut data = JobEventData::new(job(), chrono::Utc::now(), "node-a");
    data.opt_outs = JobOptOuts::SYSTEM;
    let ctx = JobEventContext::standalone(data);
    assert!(!f.listener.can_after_executed(&ctx));
    f.listener.on_after_executed(&ctx).await.unwrap();

    assert!(f.recorder.calls().is_empty());
}

#[tokio::test]
async fn unknown_actions_and_missing_parameters_are_logged_and_skipped() {
    // spec: R32
    let logs = Logs::default();
    let _guard = logs.capture();
    let f = fixture(vec![]);
    let actions = vec![
        JobAction::new("no-such-action"),
        JobAction::new("needs-params").with_parameter("subject", "hi"),
        JobAction::new("on-failed"),
    ];
    f.store.set_actions("job-42", actions).await.unwrap();
    f.listener
        .on_after_executed(&context(Some(JobError::new("boom"))))
        .await
        .unwrap();

    // The valid action still fired; the other two did not.
    assert_eq!(f.recorder.calls(), vec!["on-failed:error"]);
    let text = logs.text();
    let unknown = text
        .lines()
        .find(|l| l.contains("no-such-action"))
        .expect("the unknown action is logged");
    assert!(unknown.contains("WARN"), "{unknown}");
    for field in ["job-42", "reports", "nightly"] {
        assert!(unknown.contains(field), "{field} missing from: {unknown}");
    }
    let missing = text
        .lines()
        .find(|l| l.contains("needs-params"))
        .expect("the incomplete action is logged");
    assert!(
        missing.contains("missing required parameters: to, channel"),
        "{missing}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_panicking_or_hanging_notifier_reaches_no_other() {
    // spec: R32
    let logs = Logs::default();
    let _guard = logs.capture();
    let recorder = Arc::new(Recorder::default());
    let unruly = JobActionDefinition::new("unruly", JobActionType::Failed)
        .with_notifier(Arc::new(Misbehaving(Misbehaviour::Fail)))
        .with_notifier(Arc::new(Misbehaving(Misbehaviour::Panic)))
        .with_notifier(Arc::new(Misbehaving(Misbehaviour::Hang)))
        .with_notifier(recorder.clone());
    let f = fixture(vec![unruly]);
    let f = Fixture {
        listener: JobActionEvent::new(f.store.clone(), f.listener.definitions().clone())
            .with_notifier_timeout(Duration::from_secs(5)),
        ..f
    };
    assert_eq!(f.listener.notifier_timeout(), Duration::from_secs(5));
    set(&f.store, &["unruly"]).await;

    let started = tokio::time::Instant::now();
    let result = f
        .listener
        .on_after_executed(&context(Some(JobError::new("boom"))))
        .await;
    assert!(result.is_ok());
    // Only the hanging notifier waited, and only for the timeout.
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    // The last notifier was still called.
    assert_eq!(recorder.calls(), vec!["unruly:error"]);
    let text = logs.text();
    assert!(
        text.contains("failed in failing::notify_error: the webhook answered 500"),
        "{text}"
    );
    assert!(
        text.contains("panicked in panicking::notify_error: the notifier panicked on purpose"),
        "{text}"
    );
    assert!(
        text.contains("timed out in hanging::notify_error after 5s"),
        "{text}"
    );
}

struct BrokenStore;

#[async_trait]
impl JobActionStore for BrokenStore {
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError> {
        Err(JobActionStoreError::backend(
            job_id,
            "read",
            "database is locked",
        ))
    }
    async fn set_actions(&self, _: &str, _: Vec<JobAction>) -> Result<(), JobActionStoreError> {
        Ok(())
    }
    async fn remove_actions(&self, _: &str) -> Result<(), JobActionStoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_store_error_is_returned_naming_the_job() {
    // spec: R10
    let listener = JobActionEvent::new(Arc::new(BrokenStore), Arc::default());
    let err = listener
        .on_after_executed(&context(Some(JobError::new("boom"))))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the action store failed to read the actions of job `job-42`: database is locked"
    );
}
