//! Bearer tokens and roles: 401 without or with a bad token, 403 for a read-only token on
//! any change, no secret echoed; an open admin only on loopback.

use bgtasks_admin::{Admin, AdminConfig, ServeError, serve};
use reqwest::Method;
use serde_json::json;

use crate::support::{self, Caller, OPERATOR, READER, TestServer};

pub async fn tokens_and_roles(server: &TestServer) {
    let path = "/api/background-jobs";
    let nobody = server.get(path, Caller::Nobody).await;
    nobody.expect(401);
    assert_eq!(nobody.body["error"]["code"], "unauthorized");
    assert!(nobody.headers.contains_key("www-authenticate"));
    let stranger = server.get(path, Caller::Stranger).await;
    stranger.expect(401);
    assert!(
        !stranger.text.contains("not-a-token"),
        "the token was echoed"
    );
    server.get(path, Caller::Reader).await.expect(200);
    server.get(path, Caller::Operator).await.expect(200);

    let session = server.get("/api/session", Caller::Reader).await;
    session.expect(200);
    assert_eq!(session.body["role"], "readOnly");
    assert_eq!(session.body["tokensRequired"], true);
    assert_eq!(session.body["node"], "admin-test-node");
    let session = server.get("/api/session", Caller::Operator).await;
    assert_eq!(session.body["role"], "operator");
    for answer in [&session, &nobody, &stranger] {
        assert!(!answer.text.contains(OPERATOR) && !answer.text.contains(READER));
    }

    // Every change in the document: 403 for the reader, 401 for nobody. Reads: 200/4xx
    // for the reader, never 403.
    let document = server.get("/openapi.json", Caller::Nobody).await.body;
    let mut changes = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        let path = template
            .replace("{id}", "0")
            .replace("{jobId}", "no-such-job")
            .replace("{index}", "0");
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let body = json!({"jobIds": ["no-such-job"]});
            let reader = server
                .call(method.clone(), &path, Caller::Reader, Some(&body))
                .await;
            let nobody = server
                .call(method.clone(), &path, Caller::Nobody, Some(&body))
                .await;
            assert_eq!(
                nobody.status, 401,
                "{method} {path} without a token: {}",
                nobody.text
            );
            if method == Method::GET {
                assert_ne!(reader.status, 403, "{method} {path} refused a reader");
                assert_ne!(reader.status, 401, "{method} {path} refused a reader");
            } else {
                changes += 1;
                assert_eq!(
                    reader.status, 403,
                    "{method} {path} as a reader: {}",
                    reader.text
                );
                assert_eq!(reader.body["error"]["code"], "forbidden");
            }
        }
    }
    assert!(
        changes >= 20,
        "only {changes} changing operations were checked"
    );

    // The document and the page need no token (they hold no data).
    server
        .get("/openapi.json", Caller::Nobody)
        .await
        .expect(200);
    server.get("/", Caller::Nobody).await.expect(200);
}

pub async fn open_mode_and_loopback_only(server: &TestServer) {
    let open = Admin::new(server.runtime.clone(), AdminConfig::new());
    match serve("0.0.0.0:0".parse().unwrap(), &open).await {
        Err(error @ ServeError::NoCredentials { .. }) => {
            assert!(error.to_string().contains("without credentials"), "{error}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("an open admin was served on a non-loopback address"),
    }
    // With a token, any address is allowed.
    let guarded = Admin::new(
        server.runtime.clone(),
        AdminConfig::new().operator_token("t"),
    );
    let wide = serve("0.0.0.0:0".parse().unwrap(), &guarded).await.unwrap();
    wide.shutdown().await.unwrap();
    // Open on loopback: everyone is an operator.
    let local = serve("127.0.0.1:0".parse().unwrap(), &open).await.unwrap();
    let answer = support::answer(
        server
            .client
            .get(format!("{}api/session", local.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    answer.expect(200);
    assert_eq!(answer.body["role"], "operator");
    assert_eq!(answer.body["tokensRequired"], false);
    local.shutdown().await.unwrap();
    assert!(!format!("{:?}", guarded.config()).contains("\"t\""));
}
