//! One job's transitions: each applies or is refused with 409 and the job as it is now.

use bgtasks_abstractions::JobInfo;
use chrono::{Duration, Utc};

use crate::support::{Caller, TestServer};

pub async fn single_job_transitions(server: &TestServer) {
    let later = Utc::now() + Duration::hours(1);
    server
        .queue(vec![JobInfo::once("c-1", "ok").with_begin_time(later)])
        .await;
    let path = "/api/background-jobs/c-1";
    let paused = server.put(&format!("{path}/pause"), None).await;
    paused.expect(200);
    assert_eq!(paused.body["status"], 20);
    let again = server.put(&format!("{path}/pause"), None).await;
    again.expect(409);
    assert_eq!(again.body["error"]["code"], "conflict");
    assert_eq!(
        again.body["error"]["current"]["status"], 20,
        "409 carries the state now"
    );
    assert!(again.message().contains("Paused"), "{}", again.text);
    let resumed = server.put(&format!("{path}/resume"), None).await;
    resumed.expect(200);
    assert_eq!(resumed.body["status"], 5);
    server
        .put(&format!("{path}/resume"), None)
        .await
        .expect(409);
    server.put(&format!("{path}/start"), None).await.expect(409);
    let retry = server.put(&format!("{path}/retry"), None).await;
    retry.expect(409);
    assert!(
        retry.message().contains("only a Stopped or abandoned job"),
        "{}",
        retry.text
    );
    let stopped = server.put(&format!("{path}/stop"), None).await;
    stopped.expect(200);
    assert_eq!(stopped.body["status"], 30);
    assert!(stopped.body["nextRunTime"].is_null());
    server.put(&format!("{path}/stop"), None).await.expect(409);
    let started = server.put(&format!("{path}/start"), None).await;
    started.expect(200);
    assert_eq!(started.body["status"], 5);

    // Trigger runs it now, although it begins in an hour.
    server
        .put(&format!("{path}/trigger"), None)
        .await
        .expect(200);
    let done = server
        .wait_for_job("c-1", |job| job["status"] == 0 && job["triggerCount"] == 1)
        .await;
    assert_eq!(done["result"], "done");

    for operation in ["pause", "resume", "trigger", "stop", "start", "retry"] {
        let answer = server
            .put(
                &format!("/api/background-jobs/missing-job/{operation}"),
                None,
            )
            .await;
        answer.expect(404);
        assert!(answer.message().contains("missing-job"), "{}", answer.text);
        assert_eq!(answer.body["error"]["field"], "jobId");
    }
    let reader = server
        .call(
            reqwest::Method::PUT,
            &format!("{path}/pause"),
            Caller::Reader,
            None,
        )
        .await;
    reader.expect(403);
}

pub async fn pause_reaches_a_running_job(server: &TestServer) {
    server.queue(vec![JobInfo::once("long-run", "slow")]).await;
    server
        .wait_for_job("long-run", |job| job["running"] == true)
        .await;
    let paused = server
        .put("/api/background-jobs/long-run/pause", None)
        .await;
    paused.expect(200);
    assert_eq!(paused.body["status"], 20);
    let after = server
        .wait_for_job("long-run", |job| job["running"] == false)
        .await;
    assert_eq!(after["status"], 20, "the interrupted run left it Paused");
    assert_eq!(after["tryCount"], 0, "no try charged");
}

pub async fn retry_of_an_abandoned_job(server: &TestServer) {
    server
        .queue(vec![
            JobInfo::once("doomed", "fail")
                .with_max_try_count(1)
                .with_interval(1),
        ])
        .await;
    let abandoned = server
        .wait_for_job("doomed", |job| job["isAbandoned"] == true)
        .await;
    assert_eq!(abandoned["status"], 30);
    let retried = server.put("/api/background-jobs/doomed/retry", None).await;
    retried.expect(200);
    assert_eq!(retried.body["isAbandoned"], false);
    assert_ne!(retried.body["status"], 30);
    server
        .wait_for_job("doomed", |job| {
            job["triggerCount"] == 2 && job["isAbandoned"] == true
        })
        .await;
}
