//! Typed arguments round-trip through a real SQLite file: random serde values (nested
//! structs, an enum, maps, unicode, NUL and other control characters, numbers at the
//! edges of their types, big strings) queued by the store's `insert` and in a caller's
//! transaction, found again and deserialized, are equal to what was queued.
// spec: R48, R49

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use bgtasks_core::store::JobDefinitions;
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions, enqueue_in};
use bgtasks_store_conformance::typed_args::{
    Invoice, holds_nul, invoices, job_of, read_back, runner, too_large,
};
use proptest::test_runner::TestCaseError;

fn fail(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

/// Queues `invoice` twice — by `insert` and in a transaction — and reads both back.
async fn round_trip(
    store: &SqliteJobStore,
    case: usize,
    invoice: &Invoice,
) -> Result<(), TestCaseError> {
    let direct = job_of(&format!("direct-{case}"), invoice).map_err(fail)?;
    let queued = job_of(&format!("queued-{case}"), invoice).map_err(fail)?;
    let mut tx = store
        .pool()
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(fail)?;
    if too_large(&queued) {
        let error = enqueue_in(&mut tx, &[queued])
            .await
            .err()
            .ok_or_else(|| fail("too large, yet queued"))?;
        proptest::prop_assert!(error.to_string().contains("more than the"), "{}", error);
        return Ok(());
    }
    proptest::prop_assert_eq!(
        enqueue_in(&mut tx, std::slice::from_ref(&queued))
            .await
            .map_err(fail)?,
        vec![true]
    );
    tx.commit().await.map_err(fail)?;
    proptest::prop_assert_eq!(
        store
            .insert(std::slice::from_ref(&direct))
            .await
            .map_err(fail)?,
        vec![true]
    );
    for sent in [&direct, &queued] {
        let found = store
            .find(&sent.id)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("not found"))?
            .job;
        proptest::prop_assert_eq!(&found.args, &sent.args);
        proptest::prop_assert_eq!(&read_back(&found).map_err(fail)?, invoice);
    }
    Ok(())
}

#[test]
fn typed_arguments_round_trip_through_the_store() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteStoreOptions::default().watch_interval(None);
    let store = runtime
        .block_on(SqliteJobStore::open(dir.path().join("args.db"), options))
        .unwrap();
    let (cases, with_nul, big) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    runner(96)
        .run(&invoices(), |invoice| {
            let case = cases.fetch_add(1, Ordering::Relaxed);
            let value = serde_json::to_value(&invoice).unwrap();
            if holds_nul(&value) {
                with_nul.fetch_add(1, Ordering::Relaxed);
            }
            if value.to_string().len() > 100_000 {
                big.fetch_add(1, Ordering::Relaxed);
            }
            runtime.block_on(round_trip(&store, case, &invoice))
        })
        .unwrap();
    // The random values did hold what the test is about.
    assert!(with_nul.load(Ordering::Relaxed) > 0, "no case held NUL");
    assert!(big.load(Ordering::Relaxed) > 0, "no case was big");
}
