//! Integration tests that start the whole runtime through the `bgtasks` composition
//! crate live in `tests/tests/`, one binary per topic.
