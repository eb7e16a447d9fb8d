//! The W3C trace context of the code that queued a job, carried with the job so that its
//! runs continue that trace — on whichever node, in whichever process, they happen.

use std::fmt;

use crate::job::JobInfo;

/// The argument under which a job carries the `traceparent` of the code that queued it
/// (see [`JobInfo::with_trace_parent`]). Runnables never see it: the runtime takes it out
/// of the arguments it hands them, typed jobs included.
pub const TRACE_PARENT_ARG: &str = "__bgtasks_traceparent";

/// A W3C `traceparent` (version 00): `00-<trace id>-<parent span id>-<flags>`, in lower
/// case hex. Build one with [`parse`](Self::parse) from a header, or from the parts.
///
/// ```
/// use bgtasks_abstractions::TraceParent;
///
/// let parent = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(parent.is_sampled());
/// assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_err());
/// # Ok::<(), bgtasks_abstractions::TraceParentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: String,
    span_id: String,
    flags: u8,
}

/// A `traceparent` that is not one, with the value and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid traceparent `{value}`: {reason}")]
pub struct TraceParentError {
    /// The value given (cut to 80 characters).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl TraceParent {
    /// Parses a `traceparent` header value (surrounding blanks are ignored). Versions
    /// other than `00` are refused, as are all-zero ids.
    pub fn parse(text: &str) -> Result<Self, TraceParentError> {
        let value = text.trim();
        let invalid = |reason| TraceParentError {
            value: value.chars().take(80).collect(),
            reason,
        };
        let parts: Vec<&str> = value.split('-').collect();
        let [version, trace_id, span_id, flags] = parts.as_slice() else {
            return Err(invalid("expected four parts joined by `-`"));
        };
        if *version != "00" {
            return Err(invalid("only version `00` is supported"));
        }
        let parent = Self::from_parts(trace_id, span_id, 0).map_err(|e| invalid(e.reason))?;
        if flags.len() != 2 || !is_lower_hex(flags) {
            return Err(invalid("the flags must be 2 lower-case hex digits"));
        }
        let flags = u8::from_str_radix(flags, 16).map_err(|_| invalid("unreadable flags"))?;
        Ok(Self { flags, ..parent })
    }

    /// A trace parent from a trace id (32 lower-case hex digits), a parent span id (16)
    /// and the trace flags (bit 0: sampled).
    pub fn from_parts(trace_id: &str, span_id: &str, flags: u8) -> Result<Self, TraceParentError> {
        let invalid = |reason| TraceParentError {
            value: format!("{trace_id}-{span_id}"),
            reason,
        };
        if trace_id.len() != 32 || !is_lower_hex(trace_id) {
            return Err(invalid("the trace id must be 32 lower-case hex digits"));
        }
        if span_id.len() != 16 || !is_lower_hex(span_id) {
            return Err(invalid(
                "the parent span id must be 16 lower-case hex digits",
            ));
        }
        if trace_id.bytes().all(|b| b == b'0') {
            return Err(invalid("the trace id is all zeros"));
        }
        if span_id.bytes().all(|b| b == b'0') {
            return Err(invalid("the parent span id is all zeros"));
        }
        Ok(Self {
            trace_id: trace_id.to_owned(),
            span_id: span_id.to_owned(),
            flags,
        })
    }

    /// The trace id: 32 lower-case hex digits.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The parent span id: 16 lower-case hex digits.
    pub fn span_id(&self) -> &str {
        &self.span_id
    }

    /// The trace flags.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the caller sampled the trace (flag bit 0).
    pub fn is_sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

impl JobInfo {
    /// Carries `parent` with the job (under [`TRACE_PARENT_ARG`]), so that the spans of
    /// its runs continue that trace. With the runtime's `opentelemetry` feature a job
    /// queued inside a traced span carries the span's context by itself.
    pub fn with_trace_parent(mut self, parent: &TraceParent) -> Self {
        self.args.insert(TRACE_PARENT_ARG, parent.to_string());
        self
    }

    /// The trace parent the job carries, if it carries a valid one.
    pub fn trace_parent(&self) -> Option<TraceParent> {
        self.args
            .get(TRACE_PARENT_ARG)
            .and_then(|value| value.as_str())
            .and_then(|text| TraceParent::parse(text).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_parent_round_trips_through_a_job() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent = TraceParent::parse(header).unwrap();
        assert_eq!(parent.to_string(), header);
        assert_eq!(parent.span_id(), "00f067aa0ba902b7");
        let job = JobInfo::once("j", "t").with_trace_parent(&parent);
        assert_eq!(job.trace_parent(), Some(parent));
        assert_eq!(
            job.args.get(TRACE_PARENT_ARG).and_then(|v| v.as_str()),
            Some(header)
        );
    }

    #[test]
    fn malformed_trace_parents_are_named() {
        for (text, reason) in [
            ("00-abc", "expected four parts joined by `-`"),
            (
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "only version `00` is supported",
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "the trace id must be 32 lower-case hex digits",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "the parent span id is all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
                "the flags must be 2 lower-case hex digits",
            ),
        ] {
            let error = TraceParent::parse(text).unwrap_err();
            assert_eq!(error.reason, reason, "{text}");
            assert!(error.to_string().contains(text), "{error}");
        }
    }

    #[test]
    fn a_job_without_a_valid_trace_parent_has_none() {
        assert_eq!(JobInfo::once("j", "t").trace_parent(), None);
        let job = JobInfo::once("j", "t").with_arg(TRACE_PARENT_ARG, "garbage");
        assert_eq!(job.trace_parent(), None);
    }
}
