//! The bgtasks runtime: the store decides what is due, a node claims due runs with leases,
//! runs them on a bounded pool of workers, tells listeners before and after, and the
//! executed event applies the retry rules.
//!
//! ```
//! use bgtasks_abstractions::{JobError, JobInfo, job_fn};
//! use bgtasks_core::{JobScheduler, Runtime};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder()
//!     .runnable("greet", job_fn(|ctx| async move {
//!         let name: String = ctx.get("name")?;
//!         ctx.set_result(format!("hello {name}"));
//!         Ok::<(), JobError>(())
//!     }))
//!     .build()?;
//! let mut runs = runtime.subscribe();
//! runtime.start().await?;
//! runtime.queue(JobInfo::once("greet-1", "greet").with_arg("name", "world")).await?;
//! let report = runs.recv().await?;
//! assert!(report.succeeded());
//! runtime.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod clock;
mod dispatcher;
pub mod events;
mod lock;
pub mod metrics;
mod registry;
pub mod retry;
mod runtime;
mod scheduler;
pub mod store;
pub mod system_jobs;
pub mod trace;
pub mod typed;

pub use self::dispatcher::{DynJobDispatcher, JobDispatcher, StoreJobDispatcher};
pub use self::lock::InMemoryJobLockProvider;
pub use self::registry::JobRunnableRegistry;
pub use self::runtime::{
    BackgroundService, BuildError, ConcurrencyLimit, DynBackgroundService, HealthReport,
    LoopHealth, Next, NodeLoop, RunMiddleware, RunReport, RunState, Runtime, RuntimeBuilder,
    ServiceContext,
};
pub use self::runtime::{Probe, ProbeCheck};
pub use self::scheduler::{JobScheduler, SchedulerError};
pub use bgtasks_store::{DynJobLockProvider, JobLockProvider};

/// The text of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}
