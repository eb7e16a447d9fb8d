//! Job locks across handles: expiry by the provider's clock, release by the holder only.

use std::sync::{Arc, Mutex};

use bgtasks_store::JobLockProvider;
use chrono::{DateTime, Utc};

use crate::{open, t};

/// A clock the test moves by hand.
#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl bgtasks_abstractions::Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn locks_expire_by_the_clock_and_are_released_only_by_their_holder() {
    // spec: R28
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let clock = Arc::new(ManualClock(Mutex::new(t(0))));
    let one = open(&path).await.lock_provider(clock.clone());
    let two = open(&path).await.lock_provider(clock.clone());
    assert_ne!(one.owner(), two.owner());
    assert!(one.try_lock("job", 10).await.unwrap());
    assert!(
        !one.try_lock("job", 10).await.unwrap(),
        "a held lock is taken once, as in memory"
    );
    two.release("job").await.unwrap();
    assert!(
        !two.try_lock("job", 10).await.unwrap(),
        "another holder's release does not free it"
    );
    *clock.0.lock().unwrap() = t(10);
    assert!(
        two.try_lock("job", 10).await.unwrap(),
        "expired: taken over"
    );
    one.release("job").await.unwrap();
    assert!(
        !one.try_lock("job", 10).await.unwrap(),
        "the old holder's release does not free the new holder's lock"
    );
}
