//! Turning sqlx errors into [`StoreError`]s that say what failed, in which database.

use std::fmt::Display;

use bgtasks_store::StoreError;

/// SQLite primary result codes (<https://www.sqlite.org/rescode.html>).
mod code {
    pub(super) const BUSY: i64 = 5;
    pub(super) const LOCKED: i64 = 6;
    pub(super) const NOMEM: i64 = 7;
    pub(super) const READONLY: i64 = 8;
    pub(super) const IOERR: i64 = 10;
    pub(super) const CORRUPT: i64 = 11;
    pub(super) const FULL: i64 = 13;
    pub(super) const CANTOPEN: i64 = 14;
    pub(super) const PROTOCOL: i64 = 15;
    pub(super) const NOTADB: i64 = 26;
}

/// The primary SQLite result code of a database error (extended codes folded).
fn primary_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|c| c & 0xff),
        _ => None,
    }
}

/// Whether the error says the file cannot be reached right now (trying later may work).
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => matches!(
            primary_code(error),
            Some(
                code::BUSY
                    | code::LOCKED
                    | code::NOMEM
                    | code::READONLY
                    | code::IOERR
                    | code::FULL
                    | code::CANTOPEN
                    | code::PROTOCOL
            )
        ),
    }
}

/// Whether the error says the file is not a (sound) SQLite database.
pub(crate) fn is_not_a_database(error: &sqlx::Error) -> bool {
    matches!(primary_code(error), Some(code::CORRUPT | code::NOTADB))
}

/// Whether the error is SQLite's "busy" (another connection holds the lock).
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    matches!(primary_code(error), Some(code::BUSY | code::LOCKED))
}

/// A failed operation on the database `db`: unavailable (I/O, busy past the timeout, no
/// free connection) or other.
pub(crate) fn store_error(db: &str, operation: &str, error: sqlx::Error) -> StoreError {
    let message = format!("could not {operation} in the SQLite job store `{db}`: {error}");
    if is_unavailable(&error) {
        StoreError::Unavailable {
            message,
            source: Some(Box::new(error)),
        }
    } else if is_not_a_database(&error) {
        StoreError::Other {
            message: format!("{message} (the database file is damaged)"),
            source: Some(Box::new(error)),
        }
    } else {
        StoreError::Other {
            message,
            source: Some(Box::new(error)),
        }
    }
}

/// Opening the database `db` failed.
pub(crate) fn open_error(db: &str, error: sqlx::Error) -> StoreError {
    if is_not_a_database(&error) {
        StoreError::Other {
            message: format!(
                "`{db}` is not a usable SQLite database (the file is corrupt or not a SQLite file): {error}"
            ),
            source: Some(Box::new(error)),
        }
    } else if is_unavailable(&error) {
        StoreError::Unavailable {
            message: format!("cannot open the SQLite job store `{db}`: {error}"),
            source: Some(Box::new(error)),
        }
    } else {
        StoreError::Other {
            message: format!("cannot open the SQLite job store `{db}`: {error}"),
            source: Some(Box::new(error)),
        }
    }
}

/// A stored job whose column does not decode.
pub(crate) fn corrupt(db: &str, job: &str, column: &str, reason: impl Display) -> StoreError {
    StoreError::Corrupt {
        job: job.to_owned(),
        message: format!("column `{column}` in `{db}`: {reason}"),
    }
}

/// An error with a message and no source.
pub(crate) fn other(message: String) -> StoreError {
    StoreError::Other {
        message,
        source: None,
    }
}
