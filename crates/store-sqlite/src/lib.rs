#![doc = include_str!("../README.md")]

mod actions;
mod claims;
mod completion;
mod errors;
mod gate;
mod jobs;
mod leases;
mod locks;
mod options;
mod rows;
mod schema;
mod store;
mod watch;

pub use self::actions::SqliteJobActionStore;
pub use self::locks::SqliteJobLockProvider;
pub use self::options::{
    DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_BUSY_TIMEOUT, DEFAULT_POOL_SIZE, DEFAULT_WATCH_INTERVAL,
    SqliteStoreOptions,
};
pub use self::schema::SCHEMA_VERSION;
pub use self::store::SqliteJobStore;
