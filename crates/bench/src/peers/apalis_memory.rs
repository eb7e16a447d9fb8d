//! apalis 1.0 with its in-memory backend (`MemoryStorage`, a channel: no job state is
//! kept), `.concurrency(WORKERS)`; handlers either run inside the worker task (inline, the
//! default) or are spawned per job (`.parallelize(tokio::spawn)`). Enqueue pushes
//! through the storage's `TaskSink` (`push`, `push_bulk`).

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use apalis::prelude::*;
use apalis_core::backend::memory::{MemorySink, MemoryStorage, MemoryStorageError};
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use futures_util::{SinkExt, StreamExt};

use crate::BenchResult;
use crate::enqueue::{self, Producer};
use crate::latency::{LatencySamples, measure};
use crate::probe::{Counter, start_signal};
use crate::scale::{Scale, WORKERS};

/// Whether each job is spawned on its own tokio task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The handler runs inside the worker task.
    Inline,
    /// `.parallelize(tokio::spawn)`.
    Spawning,
}

/// One drain of `n` jobs; returns jobs per second (until the last handler returned).
pub(crate) async fn drain(n: usize, mode: Mode) -> BenchResult<f64> {
    let mut storage = MemoryStorage::<u32>::new();
    for i in 0..n {
        storage.push(i as u32).await?;
    }
    let counter = Arc::new(Counter::new(n));
    let hits = counter.clone();
    let handler = move |_: u32| {
        let hits = hits.clone();
        async move {
            hits.hit();
            Ok::<(), BoxDynError>(())
        }
    };
    let ctx = WorkerContext::new("apalis-memory-drain");
    let builder = WorkerBuilder::new(&ctx)
        .backend(storage)
        .concurrency(WORKERS);
    let started = Instant::now();
    let handle = match mode {
        Mode::Inline => tokio::spawn(builder.build(handler).run()),
        Mode::Spawning => tokio::spawn(builder.parallelize(tokio::spawn).build(handler).run()),
    };
    counter.wait().await;
    let elapsed = started.elapsed();
    let _ = ctx.stop();
    let _ = handle.await;
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// One latency run. Jobs are sent on a clone of the channel's sender: pushing through a
/// clone of the storage's `MemorySink` while the worker runs can leave the worker parked
/// (the sink's lock is awaited through a future that is dropped when contended), and then
/// jobs sit in the channel until the next push.
pub(crate) async fn latency(scale: &Scale, mode: Mode) -> BenchResult<LatencySamples> {
    let (sender, receiver) = futures_channel::mpsc::unbounded::<Task<u32>>();
    let producer = sender.clone();
    let sender: Box<
        dyn futures_util::Sink<Task<u32>, Error = MemoryStorageError> + Send + Sync + Unpin,
    > = Box::new(sender.sink_map_err(MemoryStorageError::from));
    let sink = MemorySink::new(Arc::new(futures_util::lock::Mutex::new(sender)));
    let storage = MemoryStorage::new_with(sink, receiver.boxed());
    let (signal, mut watch) = start_signal();
    let signal = Arc::new(signal);
    let handler = move |_: u32| {
        let signal = signal.clone();
        async move {
            signal.started();
            signal.finished();
            Ok::<(), BoxDynError>(())
        }
    };
    let ctx = WorkerContext::new("apalis-memory-latency");
    let builder = WorkerBuilder::new(&ctx)
        .backend(storage)
        .concurrency(WORKERS);
    let handle = match mode {
        Mode::Inline => tokio::spawn(builder.build(handler).run()),
        Mode::Spawning => tokio::spawn(builder.parallelize(tokio::spawn).build(handler).run()),
    };
    let samples = measure(scale.latency_jobs, scale.latency_budget, &mut watch, |i| {
        let sent = producer.unbounded_send(TaskBuilder::new(i as u32).build());
        async move {
            sent?;
            Ok(())
        }
    })
    .await?;
    let _ = ctx.stop();
    let _ = handle.await;
    Ok(samples)
}

/// The storage shared by the callers. `MemoryStorage` is not `Clone`, and clones of its
/// `MemorySink` cannot be pushed to at once (`start_send` takes the sink's lock with
/// `try_lock().unwrap()`), so concurrent callers take turns on a mutex.
#[derive(Clone)]
struct Shared(Arc<tokio::sync::Mutex<MemoryStorage<u32>>>);

impl Producer for Shared {
    async fn one(&self, i: usize) -> BenchResult<()> {
        self.0.lock().await.push(i as u32).await?;
        Ok(())
    }

    async fn many(&self, range: Range<usize>) -> BenchResult<()> {
        let tasks = range.map(|i| i as u32).collect();
        self.0.lock().await.push_bulk(tasks).await?;
        Ok(())
    }
}

/// One enqueue run of `n` jobs into a fresh `MemoryStorage`; jobs per second.
pub(crate) async fn enqueue(n: usize, mode: enqueue::Mode) -> BenchResult<f64> {
    let shared = Shared(Arc::new(tokio::sync::Mutex::new(MemoryStorage::new())));
    enqueue::run(&shared, n, mode).await
}
