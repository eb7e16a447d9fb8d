//! Typed jobs (R48): a job type is a Rust type whose value is the job's arguments, so
//! that registering it and queueing a value of it need no string written twice.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::JobError;
use crate::job_args::JobArgs;
use crate::opt_outs::JobOptOuts;
use crate::runnable::JobRunnableContext;

/// What a run of a typed job receives beside its value: the run's id, cancellation, result,
/// cache and the host's shared state ([`JobRunnableContext::state`]).
pub type JobContext = JobRunnableContext;

/// The argument key a value that is not a JSON object is stored under.
pub const VALUE_ARG: &str = "$value";

/// A job type: a serde type whose value is the arguments of one job, and the name it is
/// stored under. Registered with a handler function
/// (`RuntimeBuilder::register_fn`); implement [`Job`] too to carry the handler on the
/// type itself.
///
/// ```
/// use bgtasks_abstractions::JobType;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendInvoice {
///     invoice: u64,
/// }
///
/// impl JobType for SendInvoice {
///     const TYPE: &'static str = "send-invoice";
/// }
/// ```
pub trait JobType: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The job type's name, as stored with each job: keep it stable across releases.
    const TYPE: &'static str;

    /// The time limit of every job of the type (R44); a job's own limit wins. None by
    /// default.
    fn time_limit() -> Option<Duration> {
        None
    }

    /// What the type opts out of (R11). Nothing by default.
    fn opt_outs() -> JobOptOuts {
        JobOptOuts::default()
    }
}

/// A job type that runs itself: its value is the arguments, [`run`](Self::run) the work.
/// Write `async fn run(self, ctx: JobContext) -> Result<(), JobError>`; `?` works on any
/// error type inside it.
///
/// ```
/// use bgtasks_abstractions::{Job, JobContext, JobError, JobType};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Resize {
///     path: String,
///     width: u32,
/// }
///
/// impl JobType for Resize {
///     const TYPE: &'static str = "resize";
/// }
///
/// impl Job for Resize {
///     async fn run(self, ctx: JobContext) -> Result<(), JobError> {
///         let bytes = std::fs::metadata(&self.path)?.len();
///         ctx.set_result(format!("{} ({bytes} bytes) to {} px", self.path, self.width));
///         Ok(())
///     }
/// }
/// ```
pub trait Job: JobType {
    /// Runs one job of the type.
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// An error a handler function may return: [`JobError`], or (with the `anyhow` feature)
/// `anyhow::Error`, so that a handler can be written with `anyhow::Result<()>`.
pub trait IntoJobError {
    /// The job error.
    fn into_job_error(self) -> JobError;
}

impl IntoJobError for JobError {
    fn into_job_error(self) -> JobError {
        self
    }
}

#[cfg(feature = "anyhow")]
impl IntoJobError for anyhow::Error {
    fn into_job_error(self) -> JobError {
        JobError::from_anyhow(self)
    }
}

/// A typed value could not be written as job arguments.
#[derive(Debug, thiserror::Error)]
#[error("a value of job type `{job_type}` cannot be written as job arguments: {source}")]
pub struct EncodeError {
    /// The job type.
    pub job_type: &'static str,
    /// What serde said.
    #[source]
    pub source: serde_json::Error,
}

impl JobArgs {
    /// The arguments of a typed job: a value that serializes to a JSON object is its
    /// fields; any other value is stored under [`VALUE_ARG`].
    pub fn from_typed<J: JobType>(value: &J) -> Result<Self, EncodeError> {
        let json = serde_json::to_value(value).map_err(|source| EncodeError {
            job_type: J::TYPE,
            source,
        })?;
        Ok(match json {
            Value::Object(map) if !map.contains_key(VALUE_ARG) => {
                JobArgs::from_value(Value::Object(map)).unwrap_or_default()
            }
            other => JobArgs::new().with(VALUE_ARG, other),
        })
    }

    /// The typed value of these arguments. An error (a Business failure, R48) names the
    /// job type and what serde said.
    pub fn to_typed<J: JobType>(&self) -> Result<J, JobError> {
        let map = self.as_map();
        let value = match (map.len(), map.get(VALUE_ARG)) {
            (1, Some(value)) => value.clone(),
            _ => Value::Object(map.clone()),
        };
        serde_json::from_value(value).map_err(|error| {
            JobError::business(format!(
                "the arguments of job type `{}` do not deserialize: {error}",
                J::TYPE
            ))
            .with_code(crate::codes::INVALID_ARGUMENT)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Invoice {
        id: u64,
        to: Vec<String>,
    }

    impl JobType for Invoice {
        const TYPE: &'static str = "invoice";
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Count(u32);

    impl JobType for Count {
        const TYPE: &'static str = "count";
    }

    #[test]
    fn typed_values_round_trip_through_job_arguments() {
        // spec: R48
        let invoice = Invoice {
            id: 42,
            to: vec!["ops@example.com".into()],
        };
        let args = JobArgs::from_typed(&invoice).unwrap();
        assert_eq!(args.get("id"), Some(&Value::from(42)));
        assert_eq!(args.to_typed::<Invoice>().unwrap(), invoice);
        let count = JobArgs::from_typed(&Count(7)).unwrap();
        assert_eq!(count.get(VALUE_ARG), Some(&Value::from(7)));
        assert_eq!(count.to_typed::<Count>().unwrap(), Count(7));
    }

    #[test]
    fn arguments_that_do_not_deserialize_are_a_business_failure_naming_the_type() {
        // spec: R48
        let args = JobArgs::new()
            .with("id", "42")
            .with("to", Value::Array(vec![]));
        let error = args.to_typed::<Invoice>().unwrap_err();
        assert!(error.is_business());
        assert!(
            error
                .message()
                .starts_with("the arguments of job type `invoice` do not deserialize: invalid type: string \"42\""),
            "{}",
            error.message()
        );
    }
}
