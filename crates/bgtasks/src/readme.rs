//! The repository's README and getting-started guide, compiled and run as doc tests, so
//! that every Rust example in them builds against this crate as an outside crate would.

/// The examples of the repository's `README.md`.
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The examples of `docs/getting-started.md`.
#[doc = include_str!("../../../docs/getting-started.md")]
pub struct GettingStartedDoctests;
