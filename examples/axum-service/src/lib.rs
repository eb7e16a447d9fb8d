//! An axum HTTP service on SQLite whose handlers queue typed bgtasks jobs:
//!
//! - `POST /signups` stores a signup **and** queues its welcome mail in one SQLite
//!   transaction (`bgtasks::sqlite::enqueue_in`): a signup refused inside the transaction
//!   leaves neither row nor job;
//! - `POST /reports` queues a report with a delay and a priority and answers its job id;
//! - `GET /jobs/{id}` shows a job's status.
//!
//! The jobs read the service's shared state ([`AppState`]) with `ctx.state::<AppState>()`.

mod db;
mod error;
mod jobs;
mod routes;
mod service;
mod state;

pub use self::error::ApiError;
pub use self::jobs::{SignupReport, WelcomeMail};
pub use self::service::{Config, Service, StartError};
pub use self::state::AppState;
