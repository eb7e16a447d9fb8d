//! Turning database errors into store errors: what the runtime may retry (unavailable),
//! what is a bad record (corrupt), and everything else.

use bgtasks_store::StoreError;

/// SQLSTATE codes and classes after which trying again later may succeed: the server is
/// shutting down, starting, out of connections or resources, or a transaction lost a
/// race (serialization failure, deadlock), or the server is a read-only standby.
fn is_transient_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources (too many connections...)
        || code.starts_with("57P") // admin/crash shutdown, cannot connect now
        || matches!(code, "40001" | "40P01" | "25006" | "55P03" | "58030")
}

/// Whether a database error means the server is (for now) out of reach.
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_code(&code)),
        _ => false,
    }
}

/// A store error for a failed database operation. `server` is `host:port` (never the
/// credentials); `what` names the operation, e.g. "claim due runs".
pub(crate) fn store_error(server: &str, what: &str, error: sqlx::Error) -> StoreError {
    if is_unavailable(&error) {
        StoreError::Unavailable {
            message: format!("PostgreSQL at {server} failed to {what}: {error}"),
            source: Some(Box::new(error)),
        }
    } else {
        StoreError::Other {
            message: format!("PostgreSQL at {server} failed to {what}: {error}"),
            source: Some(Box::new(error)),
        }
    }
}

/// The error of a failed first connection: unavailable when the server cannot be reached
/// (refused, reset, starting up...), otherwise (bad credentials, no such database) other.
pub(crate) fn connect_error(server: &str, error: sqlx::Error) -> StoreError {
    let message = format!("cannot connect to PostgreSQL at {server}: {error}");
    if is_unavailable(&error) {
        StoreError::Unavailable {
            message,
            source: Some(Box::new(error)),
        }
    } else {
        StoreError::Other {
            message,
            source: Some(Box::new(error)),
        }
    }
}

/// A corrupt-record error: job `job`'s column `column` does not decode.
pub(crate) fn corrupt(job: &str, column: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        job: job.to_owned(),
        message: format!("column `{column}`: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes() {
        for code in ["57P01", "57P03", "08006", "53300", "40001", "40P01"] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02"] {
            assert!(!is_transient_code(code), "{code}");
        }
    }

    #[test]
    fn pool_and_io_errors_are_unavailable_and_name_the_server() {
        let error = store_error("db:5432", "find a job", sqlx::Error::PoolTimedOut);
        assert!(error.is_transient());
        assert!(error.to_string().contains("db:5432"), "{error}");
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(store_error("db:5432", "x", io).is_transient());
        let other = store_error("db:5432", "x", sqlx::Error::RowNotFound);
        assert!(!other.is_transient());
        let corrupt = corrupt("job-1", "status", "unknown job status code 7");
        assert_eq!(
            corrupt.to_string(),
            "job store holds an invalid record for job `job-1`: column `status`: unknown job status code 7"
        );
    }
}
