//! Statistics, nodes, orphaned jobs, job types, alerts; the dashboard's files; the API's
//! answers for unknown routes and methods.

use std::time::Duration;

use bgtasks_abstractions::JobInfo;
use bgtasks_admin::{Admin, AdminConfig};
use reqwest::Method;

use crate::support::{self, Caller, TestServer};

pub async fn statistics_nodes_and_orphans(server: &TestServer) {
    server
        .queue(vec![
            JobInfo::once("stat-ok", "ok"),
            JobInfo::once("stat-fail", "fail").with_max_try_count(1),
            JobInfo::once("orphan", "nobody-runs-this"),
        ])
        .await;
    server
        .wait_for_job("stat-ok", |job| job["status"] == 0)
        .await;
    server
        .wait_for_job("stat-fail", |job| job["status"] == 30)
        .await;
    server.runtime.flush_logs().await;

    // The node's heartbeat arrives within a renewal interval.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let nodes = loop {
        let nodes = server.get("/api/nodes", Caller::Reader).await;
        nodes.expect(200);
        if nodes.body["items"]
            .as_array()
            .is_some_and(|n| !n.is_empty())
        {
            break nodes;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no heartbeat: {}",
            nodes.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let node = &nodes.body["items"][0];
    assert_eq!(node["name"], "admin-test-node");
    assert_eq!(node["live"], true);
    assert_eq!(node["thisNode"], true);
    assert!(
        node["jobTypes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "slow")
    );
    assert!(node["info"]["health"]["loops"].is_array(), "{}", nodes.text);

    let stats = server
        .get("/api/statistics?hours=1&bucketSeconds=60", Caller::Reader)
        .await;
    stats.expect(200);
    let body = &stats.body;
    assert_eq!(body["total"], 3);
    let count_of = |code: i64| {
        body["byStatus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == code)
            .map(|s| s["count"].as_u64().unwrap())
    };
    assert_eq!(count_of(0), Some(1));
    assert_eq!(count_of(30), Some(1));
    assert_eq!(body["byStatus"].as_array().unwrap().len(), 7);
    let runs: u64 = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(runs, 2, "{}", stats.text);
    let failed: u64 = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["failed"]["business"].as_u64())
        .sum();
    assert_eq!(failed, 1, "{}", stats.text);
    assert_eq!(
        body["orphanedTypes"],
        serde_json::json!(["nobody-runs-this"])
    );
    assert_eq!(body["due"], 1);
    assert!(body["queueLagSeconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["liveNodes"], 1);
    assert!(
        body["byType"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "nobody-runs-this")
    );
    let counts = server
        .get("/api/statistics?history=false", Caller::Reader)
        .await;
    counts.expect(200);
    assert_eq!(counts.body["total"], 3);
    assert_eq!(counts.body["history"], serde_json::json!([]));
    for query in [
        "hours=0",
        "hours=200",
        "bucketSeconds=5",
        "hours=168&bucketSeconds=10",
        "days=2",
        "history=maybe",
    ] {
        let answer = server
            .get(&format!("/api/statistics?{query}"), Caller::Reader)
            .await;
        answer.expect(400);
    }

    let orphans = server.get("/api/orphaned-jobs", Caller::Reader).await;
    orphans.expect(200);
    assert_eq!(orphans.body["items"][0]["id"], "orphan");
    assert_eq!(orphans.body["types"][0]["name"], "nobody-runs-this");
    server
        .get("/api/orphaned-jobs?maxResultCount=-2", Caller::Reader)
        .await
        .expect(400);

    let types = server
        .get("/api/background-jobs/definitions", Caller::Reader)
        .await;
    types.expect(200);
    let ok = types.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ok")
        .cloned()
        .unwrap();
    assert_eq!(ok["registeredHere"], true);
    assert_eq!(ok["nodes"], serde_json::json!(["admin-test-node"]));

    let alerts = server
        .get(
            "/api/notifications?state=failed&jobId=stat-fail",
            Caller::Reader,
        )
        .await;
    alerts.expect(200);
    assert!(alerts.body["items"].is_array());
    let bad = server
        .get("/api/notifications?state=lost", Caller::Reader)
        .await;
    bad.expect(400);
    assert_eq!(bad.body["error"]["field"], "state");
}

pub async fn dashboard_and_fallbacks(server: &TestServer) {
    let page = server.get("/", Caller::Nobody).await;
    page.expect(200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(page.text.contains("<base href=\"/\">"));
    let script = server.get("/assets/js/app.js", Caller::Nobody).await;
    script.expect(200);
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    server
        .get("/assets/js/missing.js", Caller::Nobody)
        .await
        .expect(404);

    let unknown = server.get("/api/nothing-here", Caller::Reader).await;
    unknown.expect(404);
    assert_eq!(unknown.body["error"]["code"], "routeNotFound");
    let wrong = server
        .call(
            Method::PATCH,
            "/api/background-jobs",
            Caller::Operator,
            None,
        )
        .await;
    wrong.expect(405);
    assert_eq!(wrong.body["error"]["code"], "methodNotAllowed");
    assert_eq!(
        server
            .get("/api/background-jobs", Caller::Reader)
            .await
            .headers["cache-control"],
        "no-store"
    );

    // Mounted under a prefix in a host's app, the page and the API work there.
    let admin = Admin::new(
        server.runtime.clone(),
        AdminConfig::new().operator_token("op"),
    );
    let app = admin.mount(axum::Router::new(), "/ops/admin/");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    for path in ["/ops/admin", "/ops/admin/"] {
        let answer = support::answer(
            server
                .client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        answer.expect(200);
        assert!(
            answer.text.contains("<base href=\"/ops/admin/\">"),
            "{path}: {}",
            answer.text
        );
    }
    let session = support::answer(
        server
            .client
            .get(format!("http://{addr}/ops/admin/api/session"))
            .bearer_auth("op")
            .send()
            .await
            .unwrap(),
    )
    .await;
    session.expect(200);
    let asset = support::answer(
        server
            .client
            .get(format!("http://{addr}/ops/admin/assets/app.css"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    asset.expect(200);
    task.abort();
}
