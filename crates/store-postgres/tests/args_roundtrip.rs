//! Typed arguments round-trip through a real PostgreSQL: random serde values (nested
//! structs, an enum, maps, unicode and control characters, numbers at the edges of their
//! types, big strings) queued by the store's `insert` and in a caller's transaction, found
//! again and deserialized, are equal to what was queued. The one value JSONB cannot hold,
//! the NUL character, is refused by both before anything is written, naming the job and
//! the argument.
// spec: R48, R49

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use bgtasks_core::store::JobDefinitions;
use bgtasks_postgres::sqlx::{self, PgPool};
use bgtasks_postgres::{PostgresJobStore, enqueue_in};
use bgtasks_store_conformance::typed_args::{
    Invoice, holds_nul, invoices, job_of, read_back, runner, too_large,
};
use proptest::prop_assert;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

fn fail(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

/// Queues `invoice` twice — by `insert` and in a transaction of the application's pool —
/// and reads both back.
async fn round_trip(
    store: &PostgresJobStore,
    app: &PgPool,
    case: usize,
    invoice: &Invoice,
) -> Result<(), TestCaseError> {
    let direct = job_of(&format!("direct-{case}"), invoice).map_err(fail)?;
    let queued = job_of(&format!("queued-{case}"), invoice).map_err(fail)?;
    let mut tx = app.begin().await.map_err(fail)?;
    let value = serde_json::to_value(invoice).map_err(fail)?;
    if holds_nul(&value) {
        for error in [
            enqueue_in(&mut tx, std::slice::from_ref(&queued))
                .await
                .err(),
            store.insert(std::slice::from_ref(&direct)).await.err(),
        ] {
            let message = error.ok_or_else(|| fail("NUL, yet queued"))?.to_string();
            prop_assert!(message.contains("holds a NUL character"), "{}", message);
            prop_assert!(message.contains("argument `"), "{}", message);
        }
        // Nothing was sent: the transaction goes on.
        sqlx::query("SELECT 1")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        for id in [&direct.id, &queued.id] {
            prop_assert!(store.find(id).await.map_err(fail)?.is_none());
        }
        return Ok(());
    }
    if too_large(&queued) {
        let error = enqueue_in(&mut tx, &[queued]).await.err();
        let message = error
            .ok_or_else(|| fail("too large, yet queued"))?
            .to_string();
        prop_assert!(message.contains("more than the"), "{}", message);
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
        let (found_args, sent_args) = (
            Value::from(found.args.as_map().clone()),
            Value::from(sent.args.as_map().clone()),
        );
        prop_assert!(
            equal_as_stored(&found_args, &sent_args),
            "{} != {}",
            found_args,
            sent_args
        );
        proptest::prop_assert_eq!(&read_back(&found).map_err(fail)?, invoice);
    }
    Ok(())
}

/// Whether two JSON values are equal, where a number written as a float with no fraction
/// and read back as an integer counts as equal: JSONB keeps numbers as decimals, and
/// prints `9.2e18` as `9200000000000000000` (a serde `f64` reads it as the same value).
fn equal_as_stored(found: &Value, sent: &Value) -> bool {
    match (found, sent) {
        (Value::Number(a), Value::Number(b)) => {
            a == b || (a.is_f64() != b.is_f64() && a.as_f64() == b.as_f64())
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal_as_stored(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| equal_as_stored(a, b)))
        }
        _ => found == sent,
    }
}

#[test]
fn typed_arguments_round_trip_through_the_store() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, app) = runtime.block_on(async {
        let url = support::fresh_database().await;
        let store = support::connect(&url).await;
        (store, PgPool::connect(&url).await.unwrap())
    });
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
            } else if value.to_string().len() > 100_000 {
                big.fetch_add(1, Ordering::Relaxed);
            }
            runtime.block_on(round_trip(&store, &app, case, &invoice))
        })
        .unwrap();
    // The random values did hold what the test is about.
    assert!(with_nul.load(Ordering::Relaxed) > 0, "no case held NUL");
    assert!(big.load(Ordering::Relaxed) > 0, "no big case round-tripped");
}
