//! The latency loop shared by every system: enqueue one job at a time into an idle
//! runtime, note the instant before the enqueue call and the instant the job starts.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::BenchResult;
use crate::probe::StartWatch;

/// The longest one job may take to start before the loop gives up on it.
pub(crate) const START_LIMIT: Duration = Duration::from_secs(45);
/// The pause between one job's return and the next enqueue.
const GAP: Duration = Duration::from_millis(2);

/// The samples of one latency run, in milliseconds, and how many jobs never started.
#[derive(Debug, Clone, Default)]
pub(crate) struct LatencySamples {
    /// Enqueue → start of each job that started, in ms.
    pub(crate) millis: Vec<f64>,
    /// Jobs that did not start within [`START_LIMIT`] (counted at the limit).
    pub(crate) timed_out: usize,
}

/// Runs `jobs` one-at-a-time enqueues, stopping early after `budget`.
pub(crate) async fn measure<F, Fut>(
    jobs: usize,
    budget: Duration,
    watch: &mut StartWatch,
    mut enqueue: F,
) -> BenchResult<LatencySamples>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    let began = Instant::now();
    let mut samples = LatencySamples::default();
    // Let the runtime settle into idle first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..jobs {
        if began.elapsed() > budget {
            break;
        }
        let enqueued = Instant::now();
        enqueue(i).await?;
        match watch.next_start(START_LIMIT).await {
            Some(started) => {
                samples
                    .millis
                    .push(started.saturating_duration_since(enqueued).as_secs_f64() * 1e3);
                watch.next_finish(START_LIMIT).await;
            }
            None => {
                samples.millis.push(START_LIMIT.as_secs_f64() * 1e3);
                samples.timed_out += 1;
            }
        }
        tokio::time::sleep(GAP).await;
    }
    Ok(samples)
}
