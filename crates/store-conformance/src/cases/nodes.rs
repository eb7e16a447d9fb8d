//! The node registry: heartbeats, and the due jobs no live node can run (R41).

use bgtasks_abstractions::JobStatus;
use bgtasks_store::NodeHeartbeat;

use crate::DynStoreFactory;
use crate::support::{ids, queued, seed, t};

fn beat(node: &str, types: &[&str], at: i64) -> NodeHeartbeat {
    NodeHeartbeat {
        node: node.into(),
        job_types: types.iter().map(|s| (*s).to_owned()).collect(),
        started_at: t(0),
        at: t(at),
        running: 2,
        info: serde_json::json!({"claim_loop": "alive"}),
    }
}

/// R41: heartbeats are kept per node (the latest wins); due jobs whose type no live node
/// has are listed, jobs of a type a live node has are not.
pub async fn nodes_heartbeat_and_jobs_no_live_node_can_run(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    store
        .heartbeat(&beat("a", &["report", "t"], 10))
        .await
        .unwrap();
    other.heartbeat(&beat("b", &["mail"], 10)).await.unwrap();
    store.heartbeat(&beat("a", &["report"], 20)).await.unwrap();
    let nodes = other.nodes().await.unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n.heartbeat.node.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(
        nodes[0].heartbeat,
        beat("a", &["report"], 20),
        "the latest heartbeat"
    );
    assert!(nodes[0].is_live(t(15)) && !nodes[1].is_live(t(15)));

    let mut report = queued("report-1", 0);
    report.job_type = "report".into();
    let mut mail = queued("mail-1", 1);
    mail.job_type = "mail".into();
    let mut unknown = queued("unknown-1", 2);
    unknown.job_type = "added-in-v2".into();
    let mut later = queued("unknown-later", 500);
    later.job_type = "added-in-v2".into();
    let mut paused = queued("unknown-paused", 0);
    paused.job_type = "added-in-v2".into();
    paused.status = JobStatus::Paused;
    seed(store.as_ref(), &[report, mail, unknown, later, paused]).await;
    assert_eq!(
        ids(store.orphaned(t(100), t(15), 10).await.unwrap()),
        vec!["mail-1", "unknown-1"],
        "b is not live since t(15); only due, active jobs count"
    );
    assert_eq!(
        ids(store.orphaned(t(100), t(5), 10).await.unwrap()),
        vec!["unknown-1"]
    );
    assert_eq!(store.orphaned(t(100), t(15), 1).await.unwrap().len(), 1);
    assert!(store.forget_node("b").await.unwrap());
    assert!(!store.forget_node("b").await.unwrap());
    assert_eq!(store.nodes().await.unwrap().len(), 1);
}
