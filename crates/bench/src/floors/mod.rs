//! The floors: the same work with no job runtime around it, to show how close the
//! runtimes come to what this machine can do.

pub(crate) mod sql_postgres;
pub(crate) mod sql_sqlite;
pub(crate) mod tokio_spawn;
