//! The service end to end on a real SQLite file, its router driven with tower's
//! `oneshot`: a signup's welcome job runs exactly once; a signup refused inside its
//! transaction leaves no row and no job, ever; reports are queued with their options;
//! bad requests get a JSON 4xx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bgtasks::prelude::*;
use bgtasks::sqlite::sqlx;
use bgtasks::{JobQuery, StoreError};
use bgtasks_example_axum_service::{Config, Service};
use serde_json::{Value, json};
use tower::ServiceExt;

async fn start(max_signups: i64) -> (tempfile::TempDir, Service, Router) {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(Config {
        data_dir: dir.path().to_path_buf(),
        max_signups,
        ..Config::default()
    })
    .await
    .unwrap();
    let router = service.router();
    (dir, service, router)
}

/// Sends one request; the answer's status and JSON body.
async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

async fn post(router: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    call(router, Method::POST, uri, Some(&body.to_string())).await
}

/// Waits (at most 20 s) until `GET /jobs/{id}` shows status `status`; the job's view.
async fn wait_for_status(router: &Router, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, job) = call(router, Method::GET, &format!("/jobs/{id}"), None).await;
        if code == StatusCode::OK && job["status"] == status {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} never reached status {status}: {code} {job}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn mails_to(service: &Service, address: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sent_mails WHERE to_address = ?")
        .bind(address)
        .fetch_one(service.db())
        .await
        .unwrap()
}

async fn welcome_jobs(service: &Service) -> Result<Vec<JobInfo>, StoreError> {
    let query = JobQuery {
        job_type: Some("welcome-mail".to_owned()),
        ..JobQuery::all()
    };
    let page = service.runtime().store().list(&query).await?;
    Ok(page.items.into_iter().map(|record| record.job).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_and_its_welcome_job_are_stored_together_and_the_job_runs_once() {
    // spec: R49
    let (_dir, service, router) = start(1000).await;
    let (status, created) =
        post(&router, "/signups", json!({ "email": " Ada@Example.com " })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["email"], "ada@example.com");
    let job_id = created["welcome_job"].as_str().unwrap().to_owned();

    let job = wait_for_status(&router, &job_id, "Completed").await;
    assert_eq!(job["job_type"], "welcome-mail");
    assert_eq!(job["runs"], 1, "{job}");
    assert_eq!(job["priority"], "High");
    assert_eq!(job["args"]["email"], "ada@example.com");
    assert_eq!(job["result"], "welcome mail sent to ada@example.com");
    assert_eq!(mails_to(&service, "ada@example.com").await, 1);
    let welcomed: Option<i64> =
        sqlx::query_scalar("SELECT welcomed_at FROM signups WHERE email = ?")
            .bind("ada@example.com")
            .fetch_one(service.db())
            .await
            .unwrap();
    assert!(
        welcomed.is_some(),
        "the job read the app's state and wrote through it"
    );

    // The same address again: 409, and still one job.
    let (status, error) = post(&router, "/signups", json!({ "email": "ada@example.com" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"], "ada@example.com is already signed up");
    assert_eq!(welcome_jobs(&service).await.unwrap().len(), 1);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_refused_inside_its_transaction_leaves_no_row_and_no_job() {
    // spec: R49
    let (_dir, service, router) = start(1).await;
    let (status, first) = post(&router, "/signups", json!({ "email": "ada@example.com" })).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");

    // Bob's row and welcome job are written, then the beta's cap refuses the signup and
    // the transaction rolls back.
    let (status, error) = post(&router, "/signups", json!({ "email": "bob@example.com" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(
        error["error"],
        "signups are closed: the beta is full (1 of 1)"
    );

    // A job committed after the rollback has run: had Bob's job been committed, it
    // would have had its chance too.
    let (status, report) = post(&router, "/reports", json!({ "days": 1 })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{report}");
    let report = wait_for_status(&router, report["job_id"].as_str().unwrap(), "Completed").await;
    assert_eq!(report["result"], "1 signups in the last 1 days");
    wait_for_status(&router, first["welcome_job"].as_str().unwrap(), "Completed").await;

    let jobs = welcome_jobs(&service).await.unwrap();
    let emails: Vec<_> = jobs
        .iter()
        .map(|job| job.args.get("email").cloned())
        .collect();
    assert_eq!(emails, [Some(json!("ada@example.com"))]);
    assert_eq!(mails_to(&service, "bob@example.com").await, 0);
    let bobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM signups WHERE email = 'bob@example.com'")
            .fetch_one(service.db())
            .await
            .unwrap();
    assert_eq!(bobs, 0);
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_queued_with_its_delay_and_priority_and_its_id_answered() {
    let (_dir, service, router) = start(1000).await;
    let (status, queued) = post(
        &router,
        "/reports",
        json!({ "days": 30, "delay_secs": 3600, "priority": "above-normal" }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["priority"], "AboveNormal");
    let id = queued["job_id"].as_str().unwrap();
    let (status, job) = call(&router, Method::GET, &format!("/jobs/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            &job["job_type"],
            &job["status"],
            &job["priority"],
            &job["runs"]
        ),
        (
            &json!("signup-report"),
            &json!("Queuing"),
            &json!("AboveNormal"),
            &json!(0)
        )
    );
    assert_eq!(job["args"], json!({ "days": 30 }));
    let due = bgtasks::chrono::DateTime::parse_from_rfc3339(job["next_run_time"].as_str().unwrap())
        .unwrap();
    let in_an_hour = bgtasks::chrono::Utc::now() + bgtasks::chrono::Duration::minutes(59);
    assert!(due > in_an_hour, "due at {due}");
    service.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_json_error_and_queue_nothing() {
    let (_dir, service, router) = start(1000).await;
    let cases: [(Method, &str, Option<&str>, StatusCode, &str); 9] = [
        (
            Method::POST,
            "/signups",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "Failed to parse",
        ),
        (
            Method::POST,
            "/signups",
            Some("{}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `email`",
        ),
        (
            Method::POST,
            "/signups",
            Some(r#"{"email":"nobody"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`nobody` is not an e-mail address",
        ),
        (
            Method::POST,
            "/signups",
            Some(r#"{"email":"a@b.co","admin":true}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown field `admin`",
        ),
        (
            Method::POST,
            "/signups",
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            Method::POST,
            "/reports",
            Some(r#"{"priority":"urgent"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown priority `urgent`",
        ),
        (
            Method::POST,
            "/reports",
            Some(r#"{"days":0}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`days` must be from 1 to 366, got 0",
        ),
        (
            Method::GET,
            "/jobs/nope",
            None,
            StatusCode::NOT_FOUND,
            "no job `nope`",
        ),
        (
            Method::DELETE,
            "/signups",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        ),
    ];
    for (method, uri, body, expected, says) in cases {
        let (status, answer) = call(&router, method.clone(), uri, body).await;
        assert_eq!(status, expected, "{method} {uri} {body:?}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{method} {uri} {body:?}: {message}");
    }
    let all = service
        .runtime()
        .store()
        .list(&JobQuery::all())
        .await
        .unwrap();
    assert_eq!(all.total, 0, "nothing was queued");
    service.shutdown().await.unwrap();
}
