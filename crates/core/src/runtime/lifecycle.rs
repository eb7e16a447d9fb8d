//! Starting, standing by and shutting down a node (R26, R47).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::Interruption;

use super::{RunState, RuntimeInner, leases, run_loop, services, watchdog};
use crate::scheduler::SchedulerError;

/// Runs a store call at shutdown, bounded so that a store that is down cannot hold the
/// shutdown past its grace (R47).
async fn bounded<T>(what: &str, within: Duration, call: impl Future<Output = T>) -> Option<T> {
    match tokio::time::timeout(within, call).await {
        Ok(done) => Some(done),
        Err(_) => {
            tracing::warn!(
                within_ms = within.as_millis() as u64,
                "{what} did not finish in time; going on with the shutdown"
            );
            None
        }
    }
}

impl RuntimeInner {
    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), SchedulerError> {
        self.ensure_open()?;
        let mut system_jobs = Vec::with_capacity(self.system_jobs.len());
        for job in &self.system_jobs {
            let mut job = job.clone();
            let schedule = job.validate()?;
            self.prepare(&mut job, schedule.as_ref());
            system_jobs.push(job);
        }
        if !system_jobs.is_empty() {
            self.store.insert(&system_jobs).await?;
        }
        self.state.send_replace(RunState::Started);
        crate::metrics::announce(&self.job_types);
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if background.is_empty() {
            background.push(tokio::spawn(run_loop::claim(self.clone())));
            background.push(tokio::spawn(leases::renew(self.clone())));
            background.push(tokio::spawn(leases::rescue(self.clone())));
            background.push(tokio::spawn(leases::heartbeat(self.clone())));
            background.push(tokio::spawn(watchdog::watch(self.clone())));
            let mut service_loops = self
                .service_loops
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (index, service) in self.background_services.iter().enumerate() {
                service_loops.push(tokio::spawn(services::run(
                    self.clone(),
                    index,
                    service.clone(),
                )));
            }
            for _ in 0..self.options.workers {
                self.workers.spawn(run_loop::work(self.clone()));
            }
        }
        drop(background);
        self.wake.notify_one();
        tracing::info!(
            node = self.node(),
            workers = self.options.workers,
            job_types = ?self.job_types,
            "bgtasks runtime started"
        );
        Ok(())
    }

    /// Stands by: no new claims; a claim in flight is waited for, and every run claimed
    /// but not started is given back at once (R47); running runs go on.
    pub(crate) async fn stop(&self) -> Result<(), SchedulerError> {
        let stopped = self.state.send_if_modified(|state| {
            if *state == RunState::Started {
                *state = RunState::Stopped;
                true
            } else {
                false
            }
        });
        if stopped {
            self.wake.notify_one();
            let _claim = self.claiming.lock().await;
            run_loop::give_back_queued(self).await;
        }
        Ok(())
    }

    pub(crate) async fn shutdown(&self) -> Result<(), SchedulerError> {
        self.state.send_replace(RunState::ShuttingDown);
        self.wake.notify_one();
        let grace = self.options.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        bounded("giving back the claimed runs", grace, async {
            let _claim = self.claiming.lock().await;
            run_loop::give_back_queued(self).await;
        })
        .await;
        self.workers.close();
        if tokio::time::timeout(grace, self.workers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                node = self.node(),
                running = self.running.len(),
                "shutdown grace period is over; interrupting the runs still going"
            );
            self.running.interrupt_all(Interruption::Shutdown);
            let bound = self.options.interrupt_grace + Duration::from_secs(1);
            let _ = tokio::time::timeout(bound, self.workers.wait()).await;
        }
        let background: Vec<_> = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in background {
            task.abort();
        }
        // A service notices the shutdown between two iterations: one in flight (a
        // notification being handed to its server) finishes within what is left of the
        // grace, so that its outcome is recorded rather than left to a lapsing lease.
        let service_loops: Vec<_> = self
            .service_loops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .collect();
        for mut task in service_loops {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if tokio::time::timeout(left, &mut task).await.is_err() {
                tracing::warn!(
                    node = self.node(),
                    "shutdown grace period is over; cutting a background service's iteration"
                );
                task.abort();
            }
        }
        for service in &self.background_services {
            bounded(service.name(), grace, service.shutdown()).await;
        }
        let store_bound = grace.min(Duration::from_secs(10));
        bounded(
            "writing the last run logs",
            store_bound,
            self.writer.flush(),
        )
        .await;
        if let Some(Err(error)) = bounded(
            "leaving the node registry",
            store_bound,
            self.store.forget_node(self.node()),
        )
        .await
        {
            tracing::warn!(node = self.node(), %error, "could not leave the node registry");
        }
        tracing::info!(node = self.node(), "bgtasks runtime shut down");
        Ok(())
    }
}
