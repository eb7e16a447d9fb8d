//! What only the PostgreSQL store does: connecting (and failing to), its schema version
//! and the migration from version 1, surviving a restart, the database's clock (R45),
//! LISTEN/NOTIFY wake-ups and control signals, and faults (dropped connections, corrupt
//! rows, NUL characters). The contract itself is checked by `tests/conformance.rs`.
// spec: R27, R28, R31

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg;
mod support;
