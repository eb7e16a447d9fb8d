//! Where jobs, their runs and their logs live. The contract is the `bgtasks-store` crate's
//! (re-exported here); this module adds the in-memory store, the default, and the
//! [`RunWriter`] through which the runtime writes outcomes and logs.

mod memory;
mod timed;
mod writer;

pub use bgtasks_store::*;

pub use self::memory::{DEFAULT_MAX_LOGS, InMemoryJobStore};
pub use self::timed::TimedStore;
pub use self::writer::RunWriter;
