//! The OpenAPI document lists exactly the router's API routes, method by method, and
//! every route the issue asks for.

use std::collections::BTreeSet;

use bgtasks_admin::{Admin, AdminConfig};
use reqwest::Method;
use serde_json::json;

use crate::support::{Caller, TestServer};

/// The routes the reference has (`api/task-management/background-jobs` here
/// `api/background-jobs`) and the extras of issue 14.
const REQUIRED: &[(&str, &str)] = &[
    ("GET", "/api/background-jobs"),
    ("POST", "/api/background-jobs"),
    ("GET", "/api/background-jobs/{id}"),
    ("PUT", "/api/background-jobs/{id}"),
    ("DELETE", "/api/background-jobs/{id}"),
    ("PUT", "/api/background-jobs/{id}/pause"),
    ("PUT", "/api/background-jobs/{id}/resume"),
    ("PUT", "/api/background-jobs/{id}/trigger"),
    ("PUT", "/api/background-jobs/{id}/stop"),
    ("PUT", "/api/background-jobs/{id}/start"),
    ("PUT", "/api/background-jobs/{id}/retry"),
    ("PUT", "/api/background-jobs/bulk-stop"),
    ("PUT", "/api/background-jobs/bulk-start"),
    ("PUT", "/api/background-jobs/bulk-trigger"),
    ("PUT", "/api/background-jobs/bulk-resume"),
    ("PUT", "/api/background-jobs/bulk-pause"),
    ("DELETE", "/api/background-jobs/bulk-delete"),
    ("GET", "/api/background-jobs/definitions"),
    ("GET", "/api/background-jobs/logs"),
    ("GET", "/api/background-jobs/logs/{id}"),
    ("DELETE", "/api/background-jobs/logs/{id}"),
    ("POST", "/api/background-jobs/actions/{jobId}"),
    ("GET", "/api/background-jobs/actions/{jobId}"),
    ("PUT", "/api/background-jobs/actions/{jobId}/{index}"),
    ("DELETE", "/api/background-jobs/actions/{jobId}/{index}"),
    ("GET", "/api/background-jobs/actions/definitions"),
    ("GET", "/api/statistics"),
    ("GET", "/api/nodes"),
    ("GET", "/api/orphaned-jobs"),
    ("GET", "/api/notifications"),
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

/// The `/api` paths the router holds, read from its debug form (axum lists its routes
/// there): the router's own account, not the document's.
fn router_paths(server: &TestServer) -> BTreeSet<String> {
    let router = Admin::new(server.runtime.clone(), AdminConfig::new()).router();
    let debug = format!("{router:?}");
    let mut paths = BTreeSet::new();
    for piece in debug.split('"').skip(1).step_by(2) {
        if piece.starts_with("/api/") {
            paths.insert(piece.to_owned());
        }
    }
    paths
}

/// A concrete path for a template: parameters become ids that name nothing.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "0")
        .replace("{jobId}", "no-such-job")
        .replace("{index}", "0")
}

/// The methods a path answers (anything but 405), called as an operator with an empty
/// JSON object: parameters name nothing, so nothing changes.
async fn routed_methods(server: &TestServer, template: &str) -> Vec<&'static str> {
    let mut routed = Vec::new();
    for method in METHODS {
        let method_value = Method::from_bytes(method.as_bytes()).unwrap();
        let answer = server
            .call(
                method_value,
                &concrete(template),
                Caller::Operator,
                Some(&json!({})),
            )
            .await;
        assert_ne!(answer.status, 500, "{method} {template}: {}", answer.text);
        assert_ne!(
            answer.body["error"]["code"], "routeNotFound",
            "{method} {template} reached no route"
        );
        if answer.status != 405 {
            routed.push(method);
        }
    }
    routed
}

pub async fn every_route_is_in_the_openapi_document(server: &TestServer) {
    let document = server.get("/openapi.json", Caller::Nobody).await;
    document.expect(200);
    let mut documented = BTreeSet::new();
    for (path, item) in document.body["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                documented.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let paths = router_paths(server);
    assert!(
        paths.len() >= 20,
        "too few routes read from the router: {paths:?}"
    );
    let mut routed = BTreeSet::new();
    let every_path: BTreeSet<String> = paths
        .iter()
        .cloned()
        .chain(documented.iter().map(|(_, p)| p.clone()))
        .collect();
    for path in &every_path {
        for method in routed_methods(server, path).await {
            routed.insert((method.to_owned(), path.clone()));
        }
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    for (method, path) in REQUIRED {
        assert!(
            documented.contains(&((*method).to_owned(), (*path).to_owned())),
            "{method} {path} is required but not in the API"
        );
    }
    // Every operation names the bearer scheme and has a description.
    for (path, item) in document.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["security"].to_string().contains("bearer"),
                "{method} {path} names no security scheme"
            );
            assert!(
                operation
                    .get("description")
                    .or(operation.get("summary"))
                    .is_some(),
                "{method} {path} has no description"
            );
        }
    }
}
