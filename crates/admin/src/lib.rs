#![doc = include_str!("../README.md")]

mod api;
mod app;
mod auth;
mod config;
mod dashboard;
mod error;
mod extract;
mod filter;
mod model;
mod openapi;
mod params;
mod probes;
mod prometheus;
mod serve;
mod state;

pub use self::app::Admin;
pub use self::config::{AdminConfig, DEFAULT_BULK_LIMIT, Role};
pub use self::probes::health_router;
pub use self::prometheus::{install_prometheus_recorder, metrics_router, prometheus_builder};
pub use self::serve::{AdminServer, ServeError, serve};
pub use metrics_exporter_prometheus::{BuildError as PrometheusBuildError, PrometheusHandle};
