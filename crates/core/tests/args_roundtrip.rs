//! Typed arguments round-trip through the in-memory store: random serde values (nested
//! structs, an enum, maps, unicode, NUL and other control characters, numbers at the
//! edges of their types, big strings) queued by `insert`, found again and deserialized,
//! are equal to what was queued; a value past the size limit is refused, naming the job.
// spec: R48

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use bgtasks_core::store::{InMemoryJobStore, JobDefinitions};
use bgtasks_store_conformance::typed_args::{
    Invoice, holds_nul, invoices, job_of, read_back, runner, too_large,
};
use proptest::test_runner::TestCaseError;

fn fail(error: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}

async fn round_trip(
    store: &InMemoryJobStore,
    case: usize,
    invoice: &Invoice,
) -> Result<(), TestCaseError> {
    let job = job_of(&format!("memory-{case}"), invoice).map_err(fail)?;
    if too_large(&job) {
        let error = store
            .insert(std::slice::from_ref(&job))
            .await
            .err()
            .ok_or_else(|| fail("too large, yet queued"))?;
        proptest::prop_assert!(error.to_string().contains(&job.id), "{}", error);
        return Ok(());
    }
    proptest::prop_assert_eq!(
        store
            .insert(std::slice::from_ref(&job))
            .await
            .map_err(fail)?,
        vec![true]
    );
    let found = store
        .find(&job.id)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("not found"))?
        .job;
    proptest::prop_assert_eq!(&found.args, &job.args);
    proptest::prop_assert_eq!(&read_back(&found).map_err(fail)?, invoice);
    Ok(())
}

#[test]
fn typed_arguments_round_trip_through_the_in_memory_store() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = InMemoryJobStore::new();
    let (cases, with_nul) = (AtomicUsize::new(0), AtomicUsize::new(0));
    runner(96)
        .run(&invoices(), |invoice| {
            let case = cases.fetch_add(1, Ordering::Relaxed);
            if holds_nul(&serde_json::to_value(&invoice).unwrap()) {
                with_nul.fetch_add(1, Ordering::Relaxed);
            }
            runtime.block_on(round_trip(&store, case, &invoice))
        })
        .unwrap();
    assert!(with_nul.load(Ordering::Relaxed) > 0, "no case held NUL");
}
