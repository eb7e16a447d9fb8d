#![doc = include_str!("../README.md")]

mod claims;
mod completion;
mod control;
mod definitions;
mod enqueue;
mod errors;
mod gate;
mod leases;
mod listing;
mod locks;
mod logs;
mod maintenance;
mod nodes;
mod notifications;
mod options;
mod outbox;
mod rows;
mod runs;
mod schema;
mod statistics;
mod store;
mod tokens;
mod watch;

pub use self::enqueue::enqueue_in;
pub use self::locks::SqliteJobLockProvider;
pub use self::options::{
    DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_BUSY_TIMEOUT, DEFAULT_POOL_SIZE, DEFAULT_WATCH_INTERVAL,
    SqliteStoreOptions,
};
pub use self::schema::SCHEMA_VERSION;
pub use self::store::SqliteJobStore;

/// The sqlx this crate is built with, so that a transaction you pass to [`enqueue_in`]
/// is of the same version.
pub use sqlx;
