//! Job locks kept beside the jobs (R28).

use crate::DynStoreFactory;

/// R28: a lock held by one provider excludes another until released.
pub async fn locks_exclude_across_handles(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let (one, two) = factory.locks(&store).await;
    assert!(one.try_lock("job-1", 60).await.unwrap());
    assert!(!two.try_lock("job-1", 60).await.unwrap(), "held elsewhere");
    assert!(
        two.try_lock("job-2", 60).await.unwrap(),
        "other keys are free"
    );
    one.release("job-1").await.unwrap();
    assert!(two.try_lock("job-1", 60).await.unwrap(), "released");
}
