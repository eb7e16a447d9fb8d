//! The enqueue loop shared by every system: N jobs enqueued one per call by one caller,
//! one per call by [`CALLERS`] callers at once, or [`BULK`] per call by one caller, timed
//! from the first call to the return of the last. Nothing consumes the jobs meanwhile.

use std::future::Future;
use std::ops::Range;
use std::time::Instant;

use crate::BenchResult;

/// Callers of the concurrent mode.
pub(crate) const CALLERS: usize = 16;
/// Jobs per call of the bulk mode.
pub(crate) const BULK: usize = 1_000;

/// How the jobs are enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One job per call, each call awaited before the next.
    Single,
    /// One job per call, [`CALLERS`] callers at once (each awaiting its own calls).
    Concurrent,
    /// [`BULK`] jobs per call, each call awaited before the next.
    Bulk,
}

impl Mode {
    /// Every mode, in table order.
    pub(crate) const ALL: [Mode; 3] = [Mode::Single, Mode::Concurrent, Mode::Bulk];

    /// How the mode reads in a table.
    pub(crate) fn describe(self) -> String {
        match self {
            Mode::Single => "single: 1 job per call, 1 caller".to_owned(),
            Mode::Concurrent => format!("single: 1 job per call, {CALLERS} callers"),
            Mode::Bulk => format!("bulk: {} jobs per call, 1 caller", group(BULK)),
        }
    }
}

fn group(n: usize) -> String {
    crate::report::format_number(n as f64, 0)
}

/// One system's way of enqueueing the jobs numbered by a range (clones share the
/// system's connection pool or channel).
pub(crate) trait Producer: Clone + Send + Sync + 'static {
    /// Enqueues job `i` with the system's one-job call.
    fn one(&self, i: usize) -> impl Future<Output = BenchResult<()>> + Send;
    /// Enqueues the jobs of `range` with the system's bulk call.
    fn many(&self, range: Range<usize>) -> impl Future<Output = BenchResult<()>> + Send;
}

/// The ranges of `n` jobs split into `parts` nearly equal parts.
pub(crate) fn split(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let (base, extra) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let range = start..start + len;
            start += len;
            range
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Enqueues `n` jobs through `producer` in `mode`; jobs per second.
pub(crate) async fn run<P: Producer>(producer: &P, n: usize, mode: Mode) -> BenchResult<f64> {
    let started = Instant::now();
    match mode {
        Mode::Single => {
            for i in 0..n {
                producer.one(i).await?;
            }
        }
        Mode::Concurrent => {
            let callers: Vec<_> = split(n, CALLERS)
                .into_iter()
                .map(|range| {
                    let producer = producer.clone();
                    tokio::spawn(async move {
                        for i in range {
                            producer.one(i).await?;
                        }
                        Ok::<(), crate::BenchError>(())
                    })
                })
                .collect();
            for caller in callers {
                caller.await??;
            }
        }
        Mode::Bulk => {
            for start in (0..n).step_by(BULK) {
                producer.many(start..(start + BULK).min(n)).await?;
            }
        }
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_split_evenly_and_completely() {
        let parts = split(35, 16);
        assert_eq!(parts.len(), 16);
        assert_eq!(parts[0], 0..3);
        assert_eq!(parts[2], 6..9);
        assert_eq!(parts[3], 9..11);
        assert_eq!(parts.last(), Some(&(33..35)));
        assert_eq!(parts.iter().map(ExactSizeIterator::len).sum::<usize>(), 35);
        assert_eq!(split(3, 16).len(), 3, "no empty callers");
    }
}
