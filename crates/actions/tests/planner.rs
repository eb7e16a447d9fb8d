//! Which notifications a run's outcome calls for (R32, R51).

#![allow(clippy::unwrap_used)]

mod support;

use bgtasks_abstractions::{
    Interruption, JobAction, JobError, JobExceptionType, JobInfo, JobOptOuts, JobStatus,
};
use bgtasks_actions::{
    JobActionPlanner, JobActionType, NotificationKind, NotifyPolicy, RunSummary,
};
use bgtasks_core::events::NotificationPlanner;
use bgtasks_core::store::NewNotification;

use support::{Recorder, after_failure, definition, manager, needs_to, run, t};

fn kinds(planned: &[NewNotification]) -> Vec<(String, NotificationKind)> {
    planned.iter().map(|n| (n.id.clone(), n.kind)).collect()
}

#[test]
fn a_failure_calls_for_one_notification_per_notifier_with_the_run_in_it() {
    // spec: R32
    // spec: R51
    let (mail, hook) = (Recorder::new("mail"), Recorder::new("hook"));
    let planner = JobActionPlanner::new(manager(vec![definition(
        "alert",
        JobActionType::Failed,
        &[mail, hook],
    )]));
    let job = JobInfo::new("nightly", "report")
        .with_max_try_count(3)
        .with_action(JobAction::new("alert").with_parameter("to", "ops@example.com"));
    let context = run(
        &job,
        41,
        100,
        Some(JobError::new("disk full").with_code("E42")),
    );
    let planned = planner.plan(&context, &after_failure(&job, 1, false));
    assert_eq!(
        kinds(&planned),
        [
            (
                "nightly/41/0/mail/failure".to_owned(),
                NotificationKind::Failure
            ),
            (
                "nightly/41/0/hook/failure".to_owned(),
                NotificationKind::Failure
            )
        ]
    );
    let first = &planned[0];
    assert_eq!(
        (
            first.job_id.as_str(),
            first.action.as_str(),
            first.created_at,
            first.min_interval
        ),
        ("nightly", "alert", t(100), None)
    );
    assert_eq!(first.payload["notifier"], "mail");
    assert_eq!(
        first.payload["action"]["parameters"]["to"],
        "ops@example.com"
    );
    let summary: RunSummary = serde_json::from_value(first.payload["run"].clone()).unwrap();
    let failure = summary.failure.clone().unwrap();
    assert_eq!(
        (
            failure.message.as_str(),
            failure.code.as_deref(),
            failure.failure_type
        ),
        ("disk full", Some("E42"), Some(JobExceptionType::SYSTEM))
    );
    assert_eq!(
        (
            summary.try_count,
            summary.status,
            summary.first_failure,
            summary.final_failure
        ),
        (1, JobStatus::FailedRetry, true, false)
    );
    assert_eq!(
        (summary.run_time, summary.node.as_str()),
        (t(100), "node-a")
    );
}

#[test]
fn unknown_actions_and_missing_parameters_are_skipped_and_the_rest_go_on() {
    // spec: R32
    let mail = Recorder::new("mail");
    let planner = JobActionPlanner::new(manager(vec![needs_to(definition(
        "mail",
        JobActionType::Failed,
        &[mail],
    ))]));
    let job = JobInfo::new("j", "t")
        .with_action(JobAction::new("no-such-action"))
        .with_action(JobAction::new("mail"))
        .with_action(JobAction::new("mail").with_parameter("to", "  "))
        .with_action(JobAction::new("mail").with_parameter("to", "a@example.com"));
    let planned = planner.plan(
        &run(&job, 7, 0, Some(JobError::new("x"))),
        &after_failure(&job, 1, false),
    );
    assert_eq!(
        kinds(&planned),
        [("j/7/3/mail/failure".to_owned(), NotificationKind::Failure)]
    );
}

#[test]
fn a_failure_fires_only_failed_actions_that_accept_its_type() {
    // spec: R32
    let n = Recorder::new("n");
    let planner = JobActionPlanner::new(manager(vec![
        definition(
            "network-only",
            JobActionType::Failed,
            std::slice::from_ref(&n),
        )
        .with_accepted_failure_types(JobExceptionType::NETWORK),
        definition(
            "any-failure",
            JobActionType::Failed,
            std::slice::from_ref(&n),
        ),
        definition(
            "on-success",
            JobActionType::Successed,
            std::slice::from_ref(&n),
        ),
        definition("on-complete", JobActionType::Completed, &[n]),
    ]));
    let job = ["network-only", "any-failure", "on-success", "on-complete"]
        .into_iter()
        .fold(JobInfo::new("j", "t"), |job, name| {
            job.with_action(JobAction::new(name))
        });
    let business = planner.plan(
        &run(&job, 1, 0, Some(JobError::business("refused"))),
        &after_failure(&job, 1, false),
    );
    assert_eq!(
        kinds(&business),
        [("j/1/1/n/failure".to_owned(), NotificationKind::Failure)]
    );
    let network = planner.plan(
        &run(&job, 2, 0, Some(JobError::timeout("slow"))),
        &after_failure(&job, 1, false),
    );
    assert_eq!(network.len(), 2, "{:?}", kinds(&network));
}

#[test]
fn a_success_calls_for_success_of_successed_actions_and_completion_of_every_action() {
    // spec: R32
    let all = Recorder::new("all");
    let failures = Recorder::failures_only("mail", NotifyPolicy::Every, 0);
    let planner = JobActionPlanner::new(manager(vec![
        definition("alert", JobActionType::Failed, &[all.clone(), failures]),
        definition("cheer", JobActionType::Successed, &[all]),
    ]));
    let job = JobInfo::new("j", "t")
        .with_action(JobAction::new("alert"))
        .with_action(JobAction::new("cheer"));
    let mut outcome = job.clone();
    outcome.status = JobStatus::Completed;
    let planned = planner.plan(&run(&job, 5, 0, None), &outcome);
    assert_eq!(
        kinds(&planned),
        [
            (
                "j/5/0/all/completion".to_owned(),
                NotificationKind::Completion
            ),
            ("j/5/1/all/success".to_owned(), NotificationKind::Success),
            (
                "j/5/1/all/completion".to_owned(),
                NotificationKind::Completion
            ),
        ],
        "the failure-only notifier stores nothing for a success"
    );
}

#[test]
fn interrupted_runs_and_opted_out_types_call_for_nothing() {
    // spec: R11
    // spec: R32
    let planner = JobActionPlanner::new(manager(vec![definition(
        "alert",
        JobActionType::Failed,
        &[Recorder::new("n")],
    )]));
    let job = JobInfo::new("j", "t").with_action(JobAction::new("alert"));
    let failed = after_failure(&job, 1, false);
    let mut interrupted = run(&job, 1, 0, Some(JobError::new("x")));
    let data = interrupted.data().clone();
    let mut data_interrupted = data.clone();
    data_interrupted.interruption = Some(Interruption::Shutdown);
    interrupted = bgtasks_abstractions::JobEventContext::standalone(data_interrupted);
    assert!(planner.plan(&interrupted, &failed).is_empty());
    let mut opted_out = data;
    opted_out.opt_outs = JobOptOuts {
        skip_actions: true,
        ..JobOptOuts::default()
    };
    let opted_out = bgtasks_abstractions::JobEventContext::standalone(opted_out);
    assert!(planner.plan(&opted_out, &failed).is_empty());
}

#[test]
fn first_and_final_reads_the_stage_from_the_saved_outcome() {
    // spec: R33
    // spec: R51
    let mail = Recorder::failures_only("mail", NotifyPolicy::FirstAndFinal, 600);
    let planner = JobActionPlanner::new(manager(vec![definition(
        "alert",
        JobActionType::Failed,
        &[mail],
    )]));
    let job = JobInfo::new("j", "t")
        .with_max_try_count(3)
        .with_action(JobAction::new("alert"));
    let fail = |token, tries, last| {
        planner.plan(
            &run(&job, token, token * 10, Some(JobError::new("x"))),
            &after_failure(&job, tries, last),
        )
    };
    let first = fail(1, 1, false);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].min_interval,
        Some(std::time::Duration::from_secs(600))
    );
    assert!(
        fail(2, 2, false).is_empty(),
        "a middle failure is not notified"
    );
    let last = fail(3, 3, true);
    assert_eq!(last.len(), 1);
    assert_eq!(
        last[0].min_interval, None,
        "the final failure is never throttled"
    );
    let summary: RunSummary = serde_json::from_value(last[0].payload["run"].clone()).unwrap();
    assert!(summary.final_failure && !summary.first_failure);
}
