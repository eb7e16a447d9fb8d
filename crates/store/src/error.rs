//! Errors of a job store.

/// A store operation that failed. Carries enough to say what and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached (connection refused, database down...). The runtime
    /// backs off and tries again.
    #[error("job store unavailable: {message}")]
    Unavailable {
        /// What happened, naming the server where known.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A stored record does not decode (a corrupt row, a foreign schema).
    #[error("job store holds an invalid record for job `{job}`: {message}")]
    Corrupt {
        /// The job id of the record.
        job: String,
        /// What is wrong with it.
        message: String,
    },
    /// Any other failure.
    #[error("job store error: {message}")]
    Other {
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// An "unavailable" error with a message.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StoreError::Unavailable {
            message: message.into(),
            source: None,
        }
    }

    /// An "other" error with a message.
    pub fn other(message: impl Into<String>) -> Self {
        StoreError::Other {
            message: message.into(),
            source: None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
