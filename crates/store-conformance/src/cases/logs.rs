//! Run logs: query by job, error and time, page, find and remove one.

use bgtasks_store::{LogQuery, TimeRange};

use crate::DynStoreFactory;
use crate::support::{log, t};

/// R12: logs are listed newest first with filters and paging; each can be found and
/// removed by its id.
pub async fn logs_are_queried_found_and_removed(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let logs: Vec<_> = (0..10)
        .map(|i| {
            let mut entry = log(
                if i % 2 == 0 { "even" } else { "odd" },
                i,
                &format!("run {i}"),
            );
            entry.exception = (i % 3 == 0).then(|| format!("error {i}"));
            entry
        })
        .collect();
    store.append_logs(&logs).await.unwrap();
    let all = store
        .query_logs(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 10);
    let messages: Vec<&str> = all.items.iter().map(|e| e.log.message.as_str()).collect();
    assert_eq!(messages[0], "run 9", "newest first");
    let ids: Vec<i64> = all.items.iter().map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "ids grow with each log: {ids:?}"
    );

    let failed_even = store
        .query_logs(&LogQuery {
            job_id: Some("even".into()),
            has_exception: Some(true),
            limit: 100,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    let messages: Vec<&str> = failed_even
        .items
        .iter()
        .map(|e| e.log.message.as_str())
        .collect();
    assert_eq!(messages, vec!["run 6", "run 0"]);
    let clean_window = store
        .query_logs(&LogQuery {
            has_exception: Some(false),
            run_time: TimeRange {
                from: Some(t(2)),
                to: Some(t(7)),
            },
            offset: 1,
            limit: 2,
            ..LogQuery::default()
        })
        .await
        .unwrap();
    let messages: Vec<&str> = clean_window
        .items
        .iter()
        .map(|e| e.log.message.as_str())
        .collect();
    assert_eq!(clean_window.total, 4, "runs 2, 4, 5, 7");
    assert_eq!(messages, vec!["run 5", "run 4"], "the second page of two");

    let one = all.items[3].clone();
    assert_eq!(store.find_log(one.id).await.unwrap(), Some(one.clone()));
    assert!(store.remove_log(one.id).await.unwrap());
    assert!(!store.remove_log(one.id).await.unwrap());
    assert_eq!(store.find_log(one.id).await.unwrap(), None);
    assert_eq!(
        store.list_logs(&one.log.job_id, 100).await.unwrap().len(),
        4
    );
}
