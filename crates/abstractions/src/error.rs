//! The error a run fails with (R25).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Why a run failed. It carries what the failure-type finder classifies by: an error
/// code, an HTTP status, a business flag, a validation flag, a message and its source
/// chain. Cheap to clone: the source is shared.
#[derive(Clone)]
pub struct JobError {
    message: String,
    code: Option<String>,
    http_status: Option<u16>,
    business: bool,
    validation: bool,
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

/// Codes this crate's conversions put on errors; the default finder maps them (R24 a).
pub mod codes {
    /// An operation ran out of time.
    pub const TIMEOUT: &str = "bgtasks.timeout";
    /// A connection was refused, reset or aborted, or the host is unreachable.
    pub const CONNECTION: &str = "bgtasks.connection";
    /// Marked as a Network failure by the code that raised it.
    pub const NETWORK: &str = "bgtasks.network";
    /// A required argument of the job is missing.
    pub const MISSING_ARGUMENT: &str = "bgtasks.missing_argument";
    /// An argument of the job has the wrong shape.
    pub const INVALID_ARGUMENT: &str = "bgtasks.invalid_argument";
    /// No runnable is registered for the job's type.
    pub const UNKNOWN_JOB_TYPE: &str = "bgtasks.unknown_job_type";
    /// The runnable panicked.
    pub const PANIC: &str = "bgtasks.panic";
    /// The run went past its time limit and was cut (R44).
    pub const TIME_LIMIT: &str = "Timeout";
    /// The run's node died while running it, time after time: it was rescued the
    /// configured number of times in a row (R43).
    pub const CRASHED: &str = "bgtasks.crashed";
}

impl JobError {
    /// A plain error: classified as System unless a code says otherwise.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            http_status: None,
            business: false,
            validation: false,
            source: None,
        }
    }

    /// A business error: a rule of the domain refused the work.
    pub fn business(message: impl Into<String>) -> Self {
        Self {
            business: true,
            ..Self::new(message)
        }
    }

    /// A validation error: the input of the work is invalid.
    pub fn validation(message: impl Into<String>) -> Self {
        Self {
            validation: true,
            ..Self::new(message)
        }
    }

    /// An error answered by an HTTP server with this status.
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        Self {
            http_status: Some(status),
            ..Self::new(message)
        }
    }

    /// An operation that ran out of time (classified as Network by the default finder).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(message).with_code(codes::TIMEOUT)
    }

    /// A required argument is missing (a validation error naming the key, R7).
    pub fn missing_argument(key: &str) -> Self {
        Self::validation(format!("missing required argument `{key}`"))
            .with_code(codes::MISSING_ARGUMENT)
    }

    /// An argument has the wrong shape (a validation error naming the key and why).
    pub fn invalid_argument(key: &str, why: impl fmt::Display) -> Self {
        Self::validation(format!("invalid argument `{key}`: {why}"))
            .with_code(codes::INVALID_ARGUMENT)
    }

    /// Sets the error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the HTTP status.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Wraps any error as the cause of a new one with this message.
    pub fn wrap(message: impl Into<String>, source: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(message).with_source(source)
    }

    /// This error's own message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error code, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// Whether this is a business error.
    pub fn is_business(&self) -> bool {
        self.business
    }

    /// Whether this is a validation error.
    pub fn is_validation(&self) -> bool {
        self.validation
    }

    /// The message of the innermost cause (the reference's `GetBaseException().Message`):
    /// the last error in the source chain, or this error's own message.
    pub fn innermost_message(&self) -> String {
        let mut current: &(dyn StdError + 'static) = match &self.source {
            Some(source) => source.as_ref(),
            None => return self.message.clone(),
        };
        while let Some(next) = current.source() {
            current = next;
        }
        current.to_string()
    }

    /// This error and its causes, outermost first, joined by ": ".
    pub fn chain_text(&self) -> String {
        let mut text = self.message.clone();
        let mut next = self
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static));
        while let Some(err) = next {
            text.push_str(": ");
            text.push_str(&err.to_string());
            next = err.source();
        }
        text
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("message", &self.message)
            .field("code", &self.code)
            .field("http_status", &self.http_status)
            .field("business", &self.business)
            .field("validation", &self.validation)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl JobError {
    /// An `anyhow` error, keeping its chain (feature `anyhow`).
    #[cfg(feature = "anyhow")]
    pub fn from_anyhow(error: anyhow::Error) -> Self {
        Self::from_boxed(error.into())
    }

    /// A Network failure: an operation over the network failed and may succeed later.
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(message).with_code(codes::NETWORK)
    }

    /// The underlying cause, if any.
    pub fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }

    /// The error from any error type: its message and its cause chain are kept, and what
    /// can be read cheaply is read — an I/O time-out or refused connection anywhere in the
    /// chain gets the code the default finder maps to Network, a JSON error is a
    /// validation error.
    pub fn from_error(error: impl StdError + Send + Sync + 'static) -> Self {
        let boxed: Box<dyn StdError + Send + Sync + 'static> = Box::new(error);
        Self::from_boxed(boxed)
    }

    fn from_boxed(error: Box<dyn StdError + Send + Sync + 'static>) -> Self {
        let mut job_error = if error.is::<serde_json::Error>() {
            JobError::validation(format!("invalid JSON: {error}"))
        } else {
            JobError::new(error.to_string())
        };
        job_error.code = io_code(error.as_ref()).map(str::to_owned);
        job_error.source = Some(Arc::from(error));
        job_error
    }
}

/// The code of the first I/O error in the chain that says a time-out or a refused,
/// reset or unreachable connection.
fn io_code(error: &(dyn StdError + 'static)) -> Option<&'static str> {
    use std::io::ErrorKind;
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => return Some(codes::TIMEOUT),
                ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::BrokenPipe
                | ErrorKind::AddrNotAvailable
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
                | ErrorKind::NetworkDown => return Some(codes::CONNECTION),
                _ => {}
            }
        }
        current = err.source();
    }
    None
}

/// `?` works on any error inside a job: it becomes a [`JobError`] keeping the message and
/// the cause chain ([`JobError::from_error`]).
impl<E: StdError + Send + Sync + 'static> From<E> for JobError {
    fn from(error: E) -> Self {
        JobError::from_error(error)
    }
}

/// A job error as a boxed standard error (for listeners and other places that return
/// [`BoxError`](crate::BoxError)): its message, with its cause as the source.
impl From<JobError> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(error: JobError) -> Self {
        Box::new(StdJobError(error))
    }
}

/// A [`JobError`] seen as a standard error.
#[derive(Debug)]
struct StdJobError(JobError);

impl fmt::Display for StdJobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for StdJobError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// Marks errors as they are returned, so that the finder classifies them as meant:
/// `client.send(req).await.network()?`, `parse(&text).business()?`.
pub trait JobResultExt<T> {
    /// The error is a Business failure: a rule of the domain refused the work.
    fn business(self) -> Result<T, JobError>;
    /// The error is a Network failure (the default finder maps its code to Network).
    fn network(self) -> Result<T, JobError>;
    /// The error carries this code (mapped by the finder's code map).
    fn with_code(self, code: &str) -> Result<T, JobError>;
    /// The error was answered by an HTTP server with this status.
    fn with_http_status(self, status: u16) -> Result<T, JobError>;
    /// The error is wrapped in one saying what was being done.
    fn context(self, message: &str) -> Result<T, JobError>;
}

impl<T, E: Into<JobError>> JobResultExt<T> for Result<T, E> {
    fn business(self) -> Result<T, JobError> {
        self.map_err(|e| {
            let mut error = e.into();
            error.business = true;
            error
        })
    }

    fn network(self) -> Result<T, JobError> {
        self.map_err(|e| e.into().with_code(codes::NETWORK))
    }

    fn with_code(self, code: &str) -> Result<T, JobError> {
        self.map_err(|e| e.into().with_code(code))
    }

    fn with_http_status(self, status: u16) -> Result<T, JobError> {
        self.map_err(|e| e.into().with_http_status(status))
    }

    fn context(self, message: &str) -> Result<T, JobError> {
        self.map_err(|e| {
            let mut error = e.into();
            error.message = format!("{message}: {}", error.message);
            error
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("the innermost cause")]
    struct Inner;

    #[test]
    fn carries_what_the_finder_needs() {
        // spec: R25
        let err = JobError::http(503, "upstream down").with_code("E42");
        assert_eq!(err.http_status(), Some(503));
        assert_eq!(err.code(), Some("E42"));
        assert!(!err.is_business());
        assert!(JobError::business("no").is_business());
        assert!(JobError::validation("bad").is_validation());
    }

    #[test]
    fn innermost_message_walks_the_chain() {
        // spec: R25
        let err = JobError::wrap("job failed", Outer(Inner));
        assert_eq!(err.innermost_message(), "the innermost cause");
        assert_eq!(err.chain_text(), "job failed: outer: the innermost cause");
        assert_eq!(JobError::new("alone").innermost_message(), "alone");
    }

    #[test]
    fn io_errors_get_network_codes() {
        // spec: R25
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(JobError::from(refused).code(), Some(codes::CONNECTION));
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
        assert_eq!(JobError::from(timed_out).code(), Some(codes::TIMEOUT));
        let other = std::io::Error::other("disk");
        let err = JobError::from(other);
        assert_eq!(err.code(), None);
        assert_eq!(err.innermost_message(), "disk");
    }

    #[test]
    fn missing_argument_names_the_key() {
        // spec: R7
        let err = JobError::missing_argument("url");
        assert!(err.to_string().contains("`url`"));
        assert!(err.is_validation());
    }
}
