//! Deciding what a failure means (R23–R24).

use std::collections::HashMap;

use crate::error::{JobError, codes};
use crate::event_context::JobEventContext;
use crate::exception_type::JobExceptionType;

/// Maps a failed run's error to a failure type. The runtime holds one as
/// `Arc<dyn JobExceptionTypeFinder>`; swap in your own to classify your errors.
pub trait JobExceptionTypeFinder: Send + Sync {
    /// The failure type of `error`, raised by the run described by `context`.
    fn find(&self, context: &JobEventContext, error: &JobError) -> JobExceptionType;
}

/// The default finder (R24), in order: a configured error code; a business error →
/// Business; a validation error → Business; an HTTP status (408, 429 or ≥ 500 → Network,
/// otherwise Application); anything else → System.
#[derive(Debug, Clone)]
pub struct DefaultJobExceptionTypeFinder {
    code_map: HashMap<String, JobExceptionType>,
}

impl Default for DefaultJobExceptionTypeFinder {
    fn default() -> Self {
        Self::new(HashMap::new())
    }
}

impl DefaultJobExceptionTypeFinder {
    /// A finder with these error-code mappings, on top of the built-in ones for the codes
    /// the runtime's own conversions produce (time-outs and refused connections → Network).
    pub fn new(code_map: HashMap<String, JobExceptionType>) -> Self {
        let mut map: HashMap<String, JobExceptionType> = [
            (codes::TIMEOUT.to_owned(), JobExceptionType::NETWORK),
            (codes::CONNECTION.to_owned(), JobExceptionType::NETWORK),
            (codes::NETWORK.to_owned(), JobExceptionType::NETWORK),
        ]
        .into_iter()
        .collect();
        map.extend(code_map);
        Self { code_map: map }
    }

    /// Adds or replaces one error-code mapping.
    pub fn with_code(mut self, code: impl Into<String>, exception_type: JobExceptionType) -> Self {
        self.code_map.insert(code.into(), exception_type);
        self
    }

    /// Classifies an error without an event context.
    pub fn classify(&self, error: &JobError) -> JobExceptionType {
        if let Some(code) = error.code().filter(|c| !c.trim().is_empty())
            && let Some(mapped) = self.code_map.get(code)
        {
            return *mapped;
        }
        if error.is_business() || error.is_validation() {
            return JobExceptionType::BUSINESS;
        }
        if let Some(status) = error.http_status() {
            return if status == 408 || status == 429 || status >= 500 {
                JobExceptionType::NETWORK
            } else {
                JobExceptionType::APPLICATION
            };
        }
        JobExceptionType::SYSTEM
    }
}

impl JobExceptionTypeFinder for DefaultJobExceptionTypeFinder {
    fn find(&self, _context: &JobEventContext, error: &JobError) -> JobExceptionType {
        self.classify(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn finder() -> DefaultJobExceptionTypeFinder {
        DefaultJobExceptionTypeFinder::default().with_code("QUOTA", JobExceptionType::APPLICATION)
    }

    #[test]
    fn default_finder_order() {
        // spec: R24
        let f = finder();
        // (a) a mapped code wins over everything else
        assert_eq!(
            f.classify(&JobError::business("b").with_code("QUOTA")),
            JobExceptionType::APPLICATION
        );
        // an unmapped or blank code falls through
        assert_eq!(
            f.classify(&JobError::business("b").with_code("OTHER")),
            JobExceptionType::BUSINESS
        );
        assert_eq!(
            f.classify(&JobError::business("b").with_code("  ")),
            JobExceptionType::BUSINESS
        );
        // (b) and (c)
        assert_eq!(
            f.classify(&JobError::business("b")),
            JobExceptionType::BUSINESS
        );
        assert_eq!(
            f.classify(&JobError::validation("v")),
            JobExceptionType::BUSINESS
        );
        // (d) HTTP statuses
        for status in [408, 429, 500, 502, 503, 599] {
            assert_eq!(
                f.classify(&JobError::http(status, "x")),
                JobExceptionType::NETWORK,
                "{status}"
            );
        }
        for status in [400, 401, 404, 409, 422] {
            assert_eq!(
                f.classify(&JobError::http(status, "x")),
                JobExceptionType::APPLICATION,
                "{status}"
            );
        }
        // (e)
        assert_eq!(f.classify(&JobError::new("boom")), JobExceptionType::SYSTEM);
        // built-in codes from the conversions
        assert_eq!(
            f.classify(&JobError::timeout("slow")),
            JobExceptionType::NETWORK
        );
    }

    #[test]
    fn finder_is_object_safe_and_swappable() {
        // spec: R23
        struct AlwaysNetwork;
        impl JobExceptionTypeFinder for AlwaysNetwork {
            fn find(&self, _: &JobEventContext, _: &JobError) -> JobExceptionType {
                JobExceptionType::NETWORK
            }
        }
        let custom: Arc<dyn JobExceptionTypeFinder> = Arc::new(AlwaysNetwork);
        let ctx = JobEventContext::for_test(crate::JobInfo::once("j", "t"), custom.clone());
        assert_eq!(
            custom.find(&ctx, &JobError::business("x")),
            JobExceptionType::NETWORK
        );
        let default: Arc<dyn JobExceptionTypeFinder> = Arc::new(finder());
        assert_eq!(
            default.find(&ctx, &JobError::http(404, "x")),
            JobExceptionType::APPLICATION
        );
    }
}
