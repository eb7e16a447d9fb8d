//! Listing, reading, creating, changing and removing jobs, and every kind of bad input.

use bgtasks_abstractions::JobInfo;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Caller, TestServer, segment};

/// Jobs that will not run during the test (they begin in an hour).
fn later(id: &str, job_type: &str, group: &str) -> JobInfo {
    JobInfo::once(id, job_type)
        .with_group(group)
        .with_name(format!("{id} name"))
        .with_begin_time(Utc::now() + Duration::hours(1))
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn lists_with_filters_sorting_and_paging(server: &TestServer) {
    server
        .queue(vec![
            later("alpha-1", "ok", "alpha"),
            later("alpha-2", "slow", "alpha"),
            later("alpha-3", "ok", "alpha").with_description("Monthly INVOICE run"),
            later("beta-1", "ok", "beta"),
        ])
        .await;
    server
        .put("/api/background-jobs/alpha-2/pause", None)
        .await
        .expect(200);

    let page = server
        .get(
            "/api/background-jobs?group=alpha&sorting=id%20desc",
            Caller::Reader,
        )
        .await;
    page.expect(200);
    assert_eq!(ids(&page.body), ["alpha-3", "alpha-2", "alpha-1"]);
    assert_eq!(page.body["totalCount"], 3);
    let job = &page.body["items"][0];
    for field in [
        "id",
        "name",
        "group",
        "type",
        "status",
        "jobType",
        "priority",
        "lockTimeOut",
        "nextRunTime",
        "concurrencyStamp",
        "revision",
        "isAbandoned",
    ] {
        assert!(job.get(field).is_some(), "a job has no `{field}`: {job}");
    }

    let page = server
        .get("/api/background-jobs?filter=invoice", Caller::Reader)
        .await;
    assert_eq!(ids(&page.body), ["alpha-3"]);
    let page = server
        .get("/api/background-jobs?status=20", Caller::Reader)
        .await;
    assert_eq!(ids(&page.body), ["alpha-2"]);
    let page = server
        .get(
            "/api/background-jobs?status=Queuing,Paused&type=ok&sorting=name",
            Caller::Reader,
        )
        .await;
    assert_eq!(ids(&page.body), ["alpha-1", "alpha-3", "beta-1"]);
    let page = server
        .get(
            "/api/background-jobs?sorting=id&skipCount=1&maxResultCount=2",
            Caller::Reader,
        )
        .await;
    assert_eq!(ids(&page.body), ["alpha-2", "alpha-3"]);
    assert_eq!(page.body["totalCount"], 4);
    let page = server
        .get("/api/background-jobs?maxResultCount=5000", Caller::Reader)
        .await;
    page.expect(200);
    assert_eq!(page.body["maxResultCount"], 1000, "the page size is capped");
    let page = server
        .get("/api/background-jobs?maxResultCount=0", Caller::Reader)
        .await;
    assert_eq!(ids(&page.body).len(), 0);
    assert_eq!(page.body["totalCount"], 4);
    let future = (Utc::now() + Duration::minutes(30)).to_rfc3339();
    let page = server
        .get(&format!("/api/background-jobs?beginTime={}&isAbandoned=false&jobType=0&priority=15&source=-1", segment(&future)), Caller::Reader)
        .await;
    assert_eq!(page.body["totalCount"], 4, "{}", page.text);

    for (query, field, value) in [
        ("sorting=colour", "sorting", "colour"),
        ("sorting=name%20sideways", "sorting", "name sideways"),
        ("status=99", "status", "99"),
        ("maxResultCount=-1", "maxResultCount", "-1"),
        ("skipCount=many", "skipCount", "many"),
        ("beginTime=yesterday", "beginTime", "yesterday"),
        ("isAbandoned=perhaps", "isAbandoned", "perhaps"),
        ("jobType=9", "jobType", "9"),
        ("colour=red", "colour", "red"),
    ] {
        let answer = server
            .get(&format!("/api/background-jobs?{query}"), Caller::Reader)
            .await;
        answer.expect(400);
        assert_eq!(
            answer.body["error"]["field"], field,
            "{query}: {}",
            answer.text
        );
        assert_eq!(
            answer.body["error"]["value"], value,
            "{query}: {}",
            answer.text
        );
        assert!(answer.message().contains(value), "{query}: {}", answer.text);
    }
}

pub async fn reads_creates_updates_and_removes(server: &TestServer) {
    let missing = server
        .get("/api/background-jobs/no%20such%20job", Caller::Reader)
        .await;
    missing.expect(404);
    assert_eq!(missing.body["error"]["code"], "notFound");
    assert!(
        missing.message().contains("no such job"),
        "{}",
        missing.text
    );

    let begin = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let created = server
        .post(
            "/api/background-jobs",
            &json!({"id": "report/monthly", "name": "Monthly report", "group": "reports",
                    "type": "ok", "jobType": 1, "cron": "0 0 3 * * ?", "priority": 20,
                    "args": {"month": 7}, "beginTime": begin, "description": "the report"}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["status"], 5);
    assert_eq!(created.body["jobType"], 1);
    assert_eq!(
        created.body["source"], 0,
        "created through the API: source User"
    );
    assert_eq!(created.body["revision"], 1);
    let path = format!("/api/background-jobs/{}", segment("report/monthly"));
    let read = server.get(&path, Caller::Reader).await;
    read.expect(200);
    assert_eq!(read.body["args"]["month"], 7);

    let again = server
        .post(
            "/api/background-jobs",
            &json!({"id": "report/monthly", "type": "ok"}),
        )
        .await;
    again.expect(409);
    assert_eq!(again.body["error"]["current"]["id"], "report/monthly");

    let generated = server
        .post(
            "/api/background-jobs",
            &json!({"type": "ok", "isEnabled": false}),
        )
        .await;
    generated.expect(201);
    assert_eq!(
        generated.body["status"], 20,
        "isEnabled false queues it paused"
    );
    assert_eq!(
        generated.body["id"].as_str().unwrap().len(),
        36,
        "a UUID id"
    );

    let changed = server
        .put(
            &path,
            Some(&json!({"name": "Renamed", "interval": 60, "revision": 1})),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["name"], "Renamed");
    assert_eq!(changed.body["revision"], 2);
    let stale = server
        .put(
            &path,
            Some(&json!({"name": "Late", "concurrencyStamp": "1"})),
        )
        .await;
    stale.expect(409);
    assert_eq!(stale.body["error"]["current"]["revision"], 2);
    assert_eq!(stale.body["error"]["current"]["name"], "Renamed");
    let kind = server.put(&path, Some(&json!({"jobType": 0}))).await;
    kind.expect(400);
    assert_eq!(kind.body["error"]["field"], "jobType");
    let cron = server
        .put(&path, Some(&json!({"cron": "every tuesday"})))
        .await;
    cron.expect(400);
    assert_eq!(cron.body["error"]["field"], "cron", "{}", cron.text);
    server.put(&path, Some(&json!({}))).await.expect(400);
    server
        .put(
            "/api/background-jobs/nothing-here",
            Some(&json!({"name": "x"})),
        )
        .await
        .expect(404);

    let busy = server.delete(&path, None).await;
    busy.expect(409);
    assert_eq!(
        busy.body["error"]["current"]["status"], 5,
        "only Stopped jobs go"
    );
    server.put(&format!("{path}/stop"), None).await.expect(200);
    let removed = server.delete(&path, None).await;
    removed.expect(200);
    assert_eq!(removed.body["status"], 30);
    server.get(&path, Caller::Reader).await.expect(404);
    server.delete(&path, None).await.expect(404);
}

pub async fn refuses_bad_bodies(server: &TestServer) {
    let url = format!("{}/api/background-jobs", server.base);
    let send = |body: String, content_type: Option<&'static str>| {
        let mut request = server
            .client
            .post(&url)
            .bearer_auth(crate::support::OPERATOR)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        async move { crate::support::answer(request.send().await.unwrap()).await }
    };
    let malformed = send("{\"type\": \"ok\"".to_owned(), Some("application/json")).await;
    malformed.expect(400);
    assert!(
        malformed.message().contains("not valid JSON"),
        "{}",
        malformed.text
    );
    let wrong = send(
        r#"{"type": "ok", "maxTryCount": "many"}"#.to_owned(),
        Some("application/json"),
    )
    .await;
    wrong.expect(400);
    assert_eq!(
        wrong.body["error"]["field"], "maxTryCount",
        "{}",
        wrong.text
    );
    let unknown = send(
        r#"{"type": "ok", "colour": 1}"#.to_owned(),
        Some("application/json"),
    )
    .await;
    unknown.expect(400);
    assert!(unknown.message().contains("colour"), "{}", unknown.text);
    let untyped = send(r#"{"type": "ok"}"#.to_owned(), None).await;
    untyped.expect(415);
    let huge = format!(
        r#"{{"type": "ok", "description": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    let huge = send(huge, Some("application/json")).await;
    huge.expect(413);
    assert_eq!(huge.body["error"]["code"], "payloadTooLarge");
    for (body, field) in [
        (json!({"type": "ok", "priority": 7}), "priority"),
        (json!({"type": "ok", "jobType": 1}), "cron"),
        (json!({"type": "ok", "beginTime": "soon"}), "beginTime"),
        (json!({"type": "ok", "args": [1, 2]}), "args"),
        (json!({"type": "ok", "interval": -5}), "interval"),
        (json!({"type": ""}), "type"),
        (json!({"type": "ok", "actions": [{"name": "nope"}]}), "name"),
    ] {
        let answer = server
            .call(
                Method::POST,
                "/api/background-jobs",
                Caller::Operator,
                Some(&body),
            )
            .await;
        answer.expect(400);
        assert_eq!(
            answer.body["error"]["field"], field,
            "{body}: {}",
            answer.text
        );
    }
}
