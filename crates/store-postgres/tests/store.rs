//! What only the PostgreSQL store does: connecting (and failing to), its schema version
//! and the upgrades from versions 1 and 2, surviving a restart, the database's clock and
//! the bounds on every call (R45), LISTEN/NOTIFY wake-ups and control signals, and faults
//! (dropped connections, corrupt rows, NUL characters). The contract itself is checked by
//! `tests/conformance.rs`.
// spec: R27, R28, R31, R45

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg;
mod support;
