//! bgtasks
