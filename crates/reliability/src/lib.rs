//! The reliability suite of bgtasks: real worker processes, killed with `SIGKILL`, frozen
//! with `SIGSTOP`, stopped with `SIGTERM`, cut off from their database and loaded with
//! ten thousand jobs, against SQLite and PostgreSQL. See `docs/reliability.md`.
//!
//! Two binaries:
//!
//! - `bgtasks-reliability-worker` runs one bgtasks node on a store URL and records every
//!   run it makes in a *run log* (one file per node, one line per event, see [`runlog`]);
//! - `reliability-suite` starts workers, injects faults, and checks the outcome from the
//!   run logs (each job ran exactly once, or once more after a documented fault; never two
//!   runs of one job at the same time) and from the store (status, try count, run logs).
//!
//! This library holds what both binaries agree on: the run-log format, and the runtime
//! settings a scenario passes to a worker (`--set NAME=VALUE`).

pub mod runlog;
pub mod settings;
