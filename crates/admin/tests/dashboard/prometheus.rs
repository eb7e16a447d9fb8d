//! A real Prometheus server for the test: the binary named by `BGTASKS_TEST_PROMETHEUS`,
//! run with a config of its own and a temporary data directory on a free loopback port,
//! scraping one target every second; killed when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The environment variable naming the Prometheus binary.
pub const BINARY_VAR: &str = "BGTASKS_TEST_PROMETHEUS";

/// How often Prometheus scrapes the target.
pub const SCRAPE_EVERY: &str = "1s";

/// The job name of the scraped target (its `job` label).
pub const JOB: &str = "bgtasks";

/// A running Prometheus; the process is killed when this is dropped.
pub struct Prometheus {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    client: reqwest::Client,
}

/// What a query answered: its series, or Prometheus' error.
pub type Answer = Result<Vec<Value>, String>;

impl Prometheus {
    /// Starts the binary of `BGTASKS_TEST_PROMETHEUS` scraping `target`'s `/metrics`
    /// every second, and waits (up to 20 s) until it is ready. Fails, saying how to get
    /// one, when the variable is not set.
    pub async fn start(target: SocketAddr) -> Self {
        let binary = binary();
        let dir = tempfile::tempdir().expect("a temporary directory for Prometheus");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text(target)).expect("writing prometheus.yml");
        // A port can be taken between finding it free and Prometheus binding it: try a
        // few.
        let client = reqwest::Client::new();
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = dir.path().join(format!("prometheus-{port}.log"));
            let mut child = spawn(&binary, &config, &dir.path().join("data"), port, &log);
            let base = format!("http://127.0.0.1:{port}");
            if wait_ready(&mut child, &client, &base, Duration::from_secs(20)).await {
                return Self {
                    child,
                    base,
                    dir,
                    client,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!(
            "Prometheus ({}) did not become ready on a loopback port in 3 tries; its log:\n{last_log}",
            binary.display()
        );
    }

    /// Evaluates `query` at now through `/api/v1/query`: the series of its vector, or
    /// the error Prometheus gave (a query that does not parse, say).
    pub async fn query(&self, query: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", query)])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("calling Prometheus failed: {e}"))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("Prometheus answered no JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!(
                "{}: {}",
                body["errorType"].as_str().unwrap_or("error"),
                body["error"].as_str().unwrap_or("(no message)")
            ));
        }
        match body["data"]["resultType"].as_str() {
            Some("vector" | "matrix") => Ok(body["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()),
            Some("scalar" | "string") => Ok(vec![body["data"]["result"].clone()]),
            other => Err(format!("an unexpected result type {other:?}: {body}")),
        }
    }

    /// The values of label `name` on the series of `metric` (Grafana's
    /// `label_values(metric, name)`).
    pub async fn label_values(&self, metric: &str, name: &str) -> Vec<String> {
        let body: Value = self
            .client
            .get(format!("{}/api/v1/label/{name}/values", self.base))
            .query(&[("match[]", metric)])
            .send()
            .await
            .expect("calling Prometheus' label API")
            .json()
            .await
            .expect("JSON from Prometheus' label API");
        body["data"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How the scraped target fares, for failure messages: its health and last error.
    pub async fn target_health(&self) -> String {
        let body = self
            .client
            .get(format!("{}/api/v1/targets", self.base))
            .send()
            .await;
        match body {
            Ok(response) => match response.json::<Value>().await {
                Ok(body) => body["data"]["activeTargets"]
                    .as_array()
                    .map(|targets| {
                        targets
                            .iter()
                            .map(|t| {
                                format!(
                                    "{} health {} last error {:?}",
                                    t["scrapeUrl"], t["health"], t["lastError"]
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default(),
                Err(error) => format!("(no JSON: {error})"),
            },
            Err(error) => format!("(unreachable: {error})"),
        }
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "log") {
                    text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        text
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `/-/ready` of `base` until it answers 200 (true), or `child` exited or `within`
/// passed (false).
async fn wait_ready(
    child: &mut Child,
    client: &reqwest::Client,
    base: &str,
    within: Duration,
) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        let ready = client
            .get(format!("{base}/-/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The binary named by `BGTASKS_TEST_PROMETHEUS`; fails when it is not set or missing.
fn binary() -> PathBuf {
    let Some(path) = std::env::var_os(BINARY_VAR).filter(|p| !p.is_empty()) else {
        panic!(
            "{BINARY_VAR} is not set: this test needs a real Prometheus server. Install \
             Debian's `prometheus` package (scripts/test.sh does) and run it with \
             {BINARY_VAR}=/usr/bin/prometheus"
        );
    };
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "{BINARY_VAR}={} names no file: point it at the prometheus binary",
        path.display()
    );
    path
}

/// The config: scrape `target` every second, nothing else.
fn config_text(target: SocketAddr) -> String {
    format!(
        "global:\n  scrape_interval: {SCRAPE_EVERY}\n  scrape_timeout: {SCRAPE_EVERY}\n  \
         evaluation_interval: {SCRAPE_EVERY}\nscrape_configs:\n  - job_name: {JOB}\n    \
         metrics_path: /metrics\n    static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn(binary: &Path, config: &Path, data: &Path, port: u16, log: &Path) -> Child {
    let log_file = std::fs::File::create(log).expect("a log file for Prometheus");
    let log_err = log_file
        .try_clone()
        .expect("a second handle on the log file");
    Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .unwrap_or_else(|e| panic!("starting Prometheus ({}) failed: {e}", binary.display()))
}
