//! Raw tokio: spawn N no-op tasks through a semaphore of WORKERS permits and await them.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::BenchResult;
use crate::scale::WORKERS;

/// One run; tasks per second.
pub(crate) async fn drain(n: usize) -> BenchResult<f64> {
    let permits = Arc::new(Semaphore::new(WORKERS));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await?;
        handles.push(tokio::spawn(async move {
            std::hint::black_box(i);
            drop(permit);
        }));
    }
    for handle in handles {
        handle.await?;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}
