//! The peers, each in its own file, at the same concurrency as our runtime.

pub(crate) mod apalis_memory;
pub(crate) mod apalis_postgres;
pub(crate) mod apalis_sqlite;
pub(crate) mod graphile;
