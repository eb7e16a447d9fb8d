//! Run logs (by job, with errors, by id) and a job's actions (by job id and position).

use bgtasks_abstractions::JobInfo;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::support::{Caller, TestServer};

pub async fn run_logs(server: &TestServer) {
    server
        .queue(vec![
            JobInfo::once("log-ok", "ok"),
            JobInfo::once("log-fail", "fail").with_max_try_count(1),
        ])
        .await;
    server
        .wait_for_job("log-ok", |job| job["status"] == 0)
        .await;
    server
        .wait_for_job("log-fail", |job| job["status"] == 30)
        .await;
    server.runtime.flush_logs().await;

    let failed = server
        .get(
            "/api/background-jobs/logs?jobId=log-fail&hasExceptions=true",
            Caller::Reader,
        )
        .await;
    failed.expect(200);
    assert_eq!(failed.body["totalCount"], 1, "{}", failed.text);
    let log = &failed.body["items"][0];
    assert!(
        log["exception"]
            .as_str()
            .unwrap()
            .contains("invoice 7 is void")
    );
    assert_eq!(log["exceptionType"], "Business");
    assert_eq!(log["jobType"], "fail");
    assert_eq!(log["node"], "admin-test-node");
    let clean = server
        .get(
            "/api/background-jobs/logs?jobId=log-ok&hasExceptions=false",
            Caller::Reader,
        )
        .await;
    assert_eq!(clean.body["totalCount"], 1);
    assert!(clean.body["items"][0]["exception"].is_null());
    let since = (Utc::now() - Duration::minutes(5)).to_rfc3339();
    let recent = server
        .get(
            &format!(
                "/api/background-jobs/logs?beginRunTime={}&maxResultCount=1",
                crate::support::segment(&since)
            ),
            Caller::Reader,
        )
        .await;
    assert_eq!(recent.body["items"].as_array().unwrap().len(), 1);
    assert!(recent.body["totalCount"].as_u64().unwrap() >= 2);

    let id = log["id"].as_i64().unwrap();
    let one = server
        .get(&format!("/api/background-jobs/logs/{id}"), Caller::Reader)
        .await;
    one.expect(200);
    assert_eq!(one.body["jobId"], "log-fail");
    let missing = server
        .get("/api/background-jobs/logs/987654", Caller::Reader)
        .await;
    missing.expect(404);
    assert!(missing.message().contains("987654"));
    let bad = server
        .get("/api/background-jobs/logs/abc", Caller::Reader)
        .await;
    bad.expect(400);
    assert_eq!(bad.body["error"]["field"], "id");
    for query in [
        "hasExceptions=perhaps",
        "endRunTime=later",
        "maxResultCount=x",
        "name=a",
    ] {
        server
            .get(
                &format!("/api/background-jobs/logs?{query}"),
                Caller::Reader,
            )
            .await
            .expect(400);
    }
    server
        .delete(&format!("/api/background-jobs/logs/{id}"), None)
        .await
        .expect(204);
    server
        .delete(&format!("/api/background-jobs/logs/{id}"), None)
        .await
        .expect(404);
}

pub async fn actions_by_job_and_position(server: &TestServer) {
    let definitions = server
        .get("/api/background-jobs/actions/definitions", Caller::Reader)
        .await;
    definitions.expect(200);
    assert_eq!(definitions.body["items"][0]["name"], "mail");
    assert_eq!(definitions.body["items"][0]["type"], "Failed");
    assert_eq!(
        definitions.body["items"][0]["parameters"][0]["required"],
        true
    );

    server
        .queue(vec![
            JobInfo::once("with-actions", "ok").with_begin_time(Utc::now() + Duration::hours(1)),
        ])
        .await;
    let path = "/api/background-jobs/actions/with-actions";
    let added = server
        .post(
            path,
            &json!({"name": "mail", "parameters": {"to": "ops@example.com", "smtpPassword": "hunter2"}}),
        )
        .await;
    added.expect(201);
    assert_eq!(added.body["items"][0]["index"], 0);
    assert_eq!(
        added.body["items"][0]["parameters"]["smtpPassword"],
        "<redacted>"
    );
    assert!(!added.text.contains("hunter2"), "a secret was returned");
    let job = server
        .get("/api/background-jobs/with-actions", Caller::Reader)
        .await;
    assert_eq!(job.body["actions"][0]["name"], "mail");
    assert!(!job.text.contains("hunter2"));

    let unknown = server.post(path, &json!({"name": "sms"})).await;
    unknown.expect(400);
    assert_eq!(unknown.body["error"]["field"], "name");
    let incomplete = server.post(path, &json!({"name": "mail"})).await;
    incomplete.expect(400);
    assert_eq!(incomplete.body["error"]["field"], "parameters");
    assert_eq!(incomplete.body["error"]["value"], "to");

    let changed = server
        .put(
            &format!("{path}/0"),
            Some(&json!({"name": "mail", "parameters": {"to": "dev@example.com", "smtpPassword": "<redacted>"}})),
        )
        .await;
    changed.expect(200);
    assert_eq!(
        changed.body["items"][0]["parameters"]["to"],
        "dev@example.com"
    );
    let stored = server.store.find("with-actions").await.unwrap().unwrap();
    assert_eq!(
        stored.job.actions[0].parameters["smtpPassword"], "hunter2",
        "a redacted value keeps the stored secret"
    );
    let revision = changed.body["revision"].as_i64().unwrap();
    let stale = server
        .put(
            &format!("{path}/0"),
            Some(&json!({"name": "mail", "parameters": {"to": "x@example.com"}, "revision": revision - 1})),
        )
        .await;
    stale.expect(409);
    assert_eq!(stale.body["error"]["current"]["revision"], revision);
    let beyond = server
        .put(
            &format!("{path}/5"),
            Some(&json!({"name": "mail", "parameters": {"to": "a@b.c"}})),
        )
        .await;
    beyond.expect(404);
    assert_eq!(beyond.body["error"]["field"], "index");
    let not_a_number = server
        .put(&format!("{path}/first"), Some(&json!({"name": "mail"})))
        .await;
    not_a_number.expect(400);
    assert_eq!(not_a_number.body["error"]["field"], "index");

    let listed = server.get(path, Caller::Reader).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let removed = server.delete(&format!("{path}/0"), None).await;
    removed.expect(200);
    assert_eq!(removed.body["items"].as_array().unwrap().len(), 0);
    server.delete(&format!("{path}/0"), None).await.expect(404);
    server
        .get("/api/background-jobs/actions/nobody", Caller::Reader)
        .await
        .expect(404);
}
