//! The action store's contract.

use bgtasks_actions::{JobAction, JobActionStore};

/// Actions round-trip per job, replace, and are removed.
pub async fn round_trip(store: &dyn JobActionStore) {
    assert!(store.get_actions("job-a").await.unwrap().is_empty());
    let actions = vec![
        JobAction::new("JobExecutedFailedProvider")
            .with_parameter("to", "ops@example.com, dev@example.com")
            .with_parameter("culture", "zh-Hans"),
        JobAction::new("Other").with_parameter("n", 3),
    ];
    store.set_actions("job-a", actions.clone()).await.unwrap();
    store
        .set_actions("job-b", vec![JobAction::new("Only")])
        .await
        .unwrap();
    assert_eq!(store.get_actions("job-a").await.unwrap(), actions);
    store
        .set_actions("job-a", vec![JobAction::new("Replaced")])
        .await
        .unwrap();
    assert_eq!(
        store.get_actions("job-a").await.unwrap(),
        vec![JobAction::new("Replaced")]
    );
    store.remove_actions("job-a").await.unwrap();
    store.remove_actions("job-a").await.unwrap();
    assert!(store.get_actions("job-a").await.unwrap().is_empty());
    assert_eq!(store.get_actions("job-b").await.unwrap().len(), 1);
}
