//! Running one notifier call so that it can neither hang nor crash its caller.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::notifier::DeliveryError;

/// How an isolated call ended.
#[derive(Debug)]
pub(crate) enum CallOutcome {
    /// It returned `Ok`.
    Done,
    /// It returned an error.
    Failed(DeliveryError),
    /// It panicked, with this message.
    Panicked(String),
    /// It did not finish within the timeout and was dropped.
    TimedOut,
}

/// Runs `call` with `timeout`, catching a panic.
pub(crate) async fn isolated<F>(timeout: Duration, call: F) -> CallOutcome
where
    F: Future<Output = Result<(), DeliveryError>>,
{
    match tokio::time::timeout(timeout, AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(Ok(()))) => CallOutcome::Done,
        Ok(Ok(Err(error))) => CallOutcome::Failed(error),
        Ok(Err(panic)) => CallOutcome::Panicked(panic_message(panic.as_ref())),
        Err(_elapsed) => CallOutcome::TimedOut,
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_ending_is_caught() {
        // spec: R51
        let second = Duration::from_secs(1);
        assert!(matches!(
            isolated(second, async { Ok(()) }).await,
            CallOutcome::Done
        ));
        let failed = isolated(second, async { Err(DeliveryError::permanent("nope")) }).await;
        assert!(
            matches!(failed, CallOutcome::Failed(e) if e.is_permanent() && e.to_string() == "nope")
        );
        let panicked = isolated(second, async {
            if second > Duration::ZERO {
                panic!("boom {}", 42);
            }
            Ok(())
        })
        .await;
        assert!(matches!(panicked, CallOutcome::Panicked(m) if m == "boom 42"));
        let slow = isolated(second, async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await;
        assert!(matches!(slow, CallOutcome::TimedOut));
    }
}
