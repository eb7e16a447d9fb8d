//! The Grafana dashboard's queries against a real Prometheus: a runtime on the in-memory
//! store serves `/metrics` through the admin router on loopback, a job mix feeds every
//! panel, a real `prometheus` (the binary named by `BGTASKS_TEST_PROMETHEUS`) scrapes it
//! every second, and every query of every panel of docs/grafana/bgtasks.json must be
//! valid and return at least one series with a number (not only NaN).
//!
//! Prometheus scrapes on the real clock, so this test runs on it too; it waits for
//! conditions (Prometheus ready, a first scrape, the finished mix in Prometheus, every
//! panel answering), each with a generous bound, never for a fixed time.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[path = "dashboard/mix.rs"]
mod mix;
#[path = "dashboard/panels.rs"]
mod panels;
#[path = "dashboard/prometheus.rs"]
mod prometheus;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks_admin::{Admin, AdminConfig, install_prometheus_recorder, serve};
use bgtasks_core::JobScheduler;
use bgtasks_core::store::InMemoryJobStore;

use crate::panels::PanelQuery;
use crate::prometheus::{Answer, Prometheus};

/// Polls until every query answers a series with a number, or `within` passed: the
/// answers of the last round.
async fn poll_all(
    prometheus: &Prometheus,
    queries: &[String],
    within: Duration,
) -> Vec<(String, Answer)> {
    let deadline = Instant::now() + within;
    loop {
        let mut answers = Vec::with_capacity(queries.len());
        for query in queries {
            answers.push((query.clone(), prometheus.query(query).await));
        }
        let done = answers.iter().all(|(_, answer)| answered(answer));
        // A query Prometheus refuses will not get better by waiting.
        let refused = answers.iter().any(|(_, answer)| answer.is_err());
        if done || refused || Instant::now() >= deadline {
            return answers;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether a query answered at least one series whose value is a number.
fn answered(answer: &Answer) -> bool {
    answer
        .as_ref()
        .is_ok_and(|series| values(series).iter().any(|v| !v.is_nan()))
}

/// The values of a vector's series (NaN for one that is not a number).
fn values(series: &[serde_json::Value]) -> Vec<f64> {
    series
        .iter()
        .map(|s| {
            s["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// What went wrong with each query that failed, naming its panel: refused, no series,
/// or only series whose value is not a number.
fn failures(queries: &[PanelQuery], answers: &[(String, Answer)]) -> Vec<String> {
    queries
        .iter()
        .zip(answers)
        .filter_map(|(query, (evaluated, answer))| {
            let what = match answer {
                _ if answered(answer) => return None,
                Ok(series) if !series.is_empty() => {
                    format!("returned only NaN, which draws nothing: {series:?}")
                }
                Ok(_) => "returned no series".to_owned(),
                Err(error) => format!("is not valid: {error}"),
            };
            Some(format!(
                "panel `{}` query {} {what}\n    dashboard: {}\n    evaluated: {evaluated}",
                query.panel, query.ref_id, query.expr
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_answers_from_a_real_prometheus() {
    // spec: R22 (failure types), R43 (a rescue), R44 (a time-out)
    let dashboard = panels::dashboard();
    let queries = panels::queries(&dashboard);
    assert!(
        !queries.is_empty(),
        "no queries in {}",
        panels::dashboard_path().display()
    );

    // The process's recorder, as a host installs it (this binary has this one test).
    let handle = install_prometheus_recorder().expect("no recorder installed yet");
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = mix::runtime(store.clone());
    let server = serve(
        "127.0.0.1:0".parse().unwrap(),
        &Admin::new(runtime.clone(), AdminConfig::new().metrics(handle)),
    )
    .await
    .unwrap();
    let prometheus = Prometheus::start(server.local_addr()).await;

    // A first scrape before any run, so that rates and increases start from nothing.
    let up = format!("up{{job=\"{}\"}} == 1", prometheus::JOB);
    let first = poll_all(
        &prometheus,
        std::slice::from_ref(&up),
        Duration::from_secs(15),
    )
    .await;
    assert!(
        answered(&first[0].1),
        "Prometheus did not scrape {} within 15 s: {}; {:?}\n{}",
        server.local_addr(),
        prometheus.target_health().await,
        first[0].1,
        prometheus.log()
    );

    mix::queue(&runtime, &store).await;
    runtime.start().await.unwrap();

    let finished = mix::finished();
    let answers = poll_all(&prometheus, &finished, Duration::from_secs(25)).await;
    let unmet: Vec<_> = answers
        .iter()
        .filter(|(_, answer)| !answered(answer))
        .map(|(query, answer)| format!("{query} -> {answer:?}"))
        .collect();
    assert!(
        unmet.is_empty(),
        "Prometheus did not see the whole job mix within 25 s: {unmet:#?}\ntarget: {}",
        prometheus.target_health().await
    );

    // The failures of the mix show in rates: every counter series of a job type exists,
    // at 0, from the node's start (before the first scrape), so `increase()` counts the
    // first failure, retry and abandonment of each type instead of starting from them.
    let counted: Vec<String> = [
        "bgtasks_job_failures_total",
        "bgtasks_job_retries_total",
        "bgtasks_jobs_abandoned_total",
    ]
    .iter()
    .map(|metric| format!("sum(increase({metric}[{}])) > 0", panels::RATE_WINDOW))
    .collect();
    let seen = poll_all(&prometheus, &counted, Duration::from_secs(10)).await;
    for (query, answer) in &seen {
        assert!(
            answered(answer),
            "{query}: the mix's first failures are missing from the rates: {answer:?}"
        );
    }

    // Every query of every panel; series that appeared in the last scrape need one more
    // for a rate, so poll (briefly) until all answer.
    let evaluable: Vec<String> = queries.iter().map(PanelQuery::evaluable).collect();
    let answers = poll_all(&prometheus, &evaluable, Duration::from_secs(10)).await;
    for (query, (_, answer)) in queries.iter().zip(&answers) {
        let values: Vec<f64> = answer.as_ref().map_or(Vec::new(), |s| values(s));
        println!(
            "{:<45} {} {:>3} series {values:.3?}",
            query.panel,
            query.ref_id,
            values.len()
        );
    }
    let failed = failures(&queries, &answers);
    assert!(
        failed.is_empty(),
        "{} of {} dashboard queries failed against Prometheus (rate window {}):\n{}",
        failed.len(),
        queries.len(),
        panels::RATE_WINDOW,
        failed.join("\n")
    );

    // The `type` variable's values: Grafana's label_values(metric, label).
    let (metric, label) = panels::type_variable(&dashboard);
    let types = prometheus.label_values(&metric, &label).await;
    for job_type in ["ok", "biz", "app", "net", "sys", "slow", "tick", "beat"] {
        assert!(
            types.iter().any(|t| t == job_type),
            "label_values({metric}, {label}) lacks `{job_type}`: {types:?}"
        );
    }

    drop(prometheus);
    server.shutdown().await.unwrap();
    runtime.shutdown().await.unwrap();
}
