//! Bulk operations on ids and on filters: bounded, reporting what changed and what was
//! refused, why.

use bgtasks_abstractions::JobInfo;
use bgtasks_admin::{Admin, AdminConfig, serve};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{self, TestServer};

fn later(id: &str) -> JobInfo {
    JobInfo::once(id, "ok")
        .with_group("bulk")
        .with_begin_time(Utc::now() + Duration::hours(1))
}

fn refused_ids(report: &Value) -> Vec<(String, String)> {
    report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub async fn bulk_by_ids_and_by_filter(server: &TestServer) {
    server
        .queue(vec![later("b-1"), later("b-2"), later("b-3"), later("b-4")])
        .await;
    let report = server
        .put(
            "/api/background-jobs/bulk-pause",
            Some(&json!({"jobIds": ["b-1", "b-2", "ghost", "b-1"]})),
        )
        .await;
    report.expect(200);
    assert_eq!(report.body["operation"], "pause");
    assert_eq!(report.body["matched"], 3, "duplicates count once");
    assert_eq!(report.body["changed"], 2);
    assert_eq!(
        refused_ids(&report.body),
        [("ghost".to_owned(), "notFound".to_owned())]
    );

    let again = server
        .put(
            "/api/background-jobs/bulk-pause",
            Some(&json!({"jobIds": ["b-1"]})),
        )
        .await;
    assert_eq!(again.body["changed"], 0);
    assert_eq!(
        refused_ids(&again.body),
        [("b-1".to_owned(), "conflict".to_owned())]
    );
    assert_eq!(again.body["refused"][0]["current"]["status"], 20);
    assert!(
        again.body["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Paused")
    );

    let resumed = server
        .put(
            "/api/background-jobs/bulk-resume",
            Some(&json!({"filter": {"group": "bulk", "status": [20]}})),
        )
        .await;
    resumed.expect(200);
    assert_eq!(resumed.body["matched"], 2);
    assert_eq!(resumed.body["changed"], 2);

    let triggered = server
        .put(
            "/api/background-jobs/bulk-trigger",
            Some(&json!({"jobIds": ["b-3"]})),
        )
        .await;
    assert_eq!(triggered.body["changed"], 1);
    server.wait_for_job("b-3", |job| job["status"] == 0).await;

    let stopped = server
        .put(
            "/api/background-jobs/bulk-stop",
            Some(&json!({"filter": {"group": "bulk"}})),
        )
        .await;
    assert_eq!(stopped.body["matched"], 4);
    assert_eq!(stopped.body["changed"], 3, "the Completed one is refused");
    let started = server
        .put(
            "/api/background-jobs/bulk-start",
            Some(&json!({"jobIds": ["b-1"]})),
        )
        .await;
    assert_eq!(started.body["changed"], 1);
    let retried = server
        .put(
            "/api/background-jobs/bulk-retry",
            Some(&json!({"jobIds": ["b-2", "b-1"]})),
        )
        .await;
    assert_eq!(retried.body["changedIds"], json!(["b-2"]));
    server.wait_for_job("b-2", |job| job["status"] == 0).await;
    server
        .put("/api/background-jobs/b-1/stop", None)
        .await
        .expect(200);
    let deleted = server
        .delete(
            "/api/background-jobs/bulk-delete",
            Some(&json!({"filter": {"group": "bulk"}})),
        )
        .await;
    deleted.expect(200);
    assert_eq!(deleted.body["changed"], 2, "{}", deleted.text);
    let mut refused: Vec<String> = refused_ids(&deleted.body)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    refused.sort();
    assert_eq!(refused, ["b-2", "b-3"], "Completed jobs are not Stopped");
    let left = server
        .get("/api/background-jobs?group=bulk", support::Caller::Reader)
        .await;
    assert_eq!(left.body["totalCount"], 2);
}

pub async fn bulk_is_bounded_and_validated(server: &TestServer) {
    let path = "/api/background-jobs/bulk-pause";
    for (body, message) in [
        (json!({}), "give `jobIds`"),
        (json!({"jobIds": ["a"], "filter": {}}), "not both"),
        (json!({"filter": {"colour": "red"}}), "unknown parameter"),
        (
            json!({"filter": {"status": ["sleepy"]}}),
            "`status` `sleepy`",
        ),
        (json!({"filter": {"group": {"a": 1}}}), "filter.group"),
        (json!({"ids": ["a"]}), "ids"),
    ] {
        let answer = server.put(path, Some(&body)).await;
        answer.expect(400);
        assert!(
            answer.message().contains(message),
            "{body}: {}",
            answer.text
        );
    }
    let too_many: Vec<String> = (0..1001).map(|i| format!("j{i}")).collect();
    let answer = server.put(path, Some(&json!({ "jobIds": too_many }))).await;
    answer.expect(400);
    assert_eq!(answer.body["error"]["field"], "jobIds");
    assert!(answer.message().contains("1001"), "{}", answer.text);

    // A filter matching more than the bound: the first ones are changed, the rest reported.
    server
        .queue((1..=5).map(|i| later(&format!("bound-{i}"))).collect())
        .await;
    let admin = Admin::new(
        server.runtime.clone(),
        AdminConfig::new().operator_token("op").bulk_limit(2),
    );
    let small = serve("127.0.0.1:0".parse().unwrap(), &admin).await.unwrap();
    let answer = support::answer(
        server
            .client
            .put(format!("{}api/background-jobs/bulk-pause", small.url()))
            .bearer_auth("op")
            .json(&json!({"filter": {"group": "bulk"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.expect(200);
    assert_eq!(answer.body["matched"], 5);
    assert_eq!(answer.body["processed"], 2);
    assert_eq!(answer.body["changed"], 2);
    assert_eq!(answer.body["remaining"], 3);
    small.shutdown().await.unwrap();
}
