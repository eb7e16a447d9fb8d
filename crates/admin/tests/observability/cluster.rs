//! A PostgreSQL cluster of the test's own — `initdb` into a temporary directory, started on
//! a free loopback port — that a test may stop and start again without touching the
//! shared server of `BGTASKS_TEST_POSTGRES_URL`, which other tests use meanwhile. The
//! server's binaries come from `BGTASKS_TEST_POSTGRES_BIN` (scripts/postgres.sh sets it).
//! Stopped and removed on drop, also when the test fails.

use std::net::TcpListener;
use std::path::PathBuf;

use tokio::process::Command;

/// A private PostgreSQL cluster, stopped (`-m immediate`) and deleted on drop.
pub struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Whether the server's commands run as the `postgres` user (`initdb` refuses root).
    as_postgres: bool,
}

/// The directory of `initdb` and `pg_ctl`. Fails (never skips) when it is not set.
fn bin_dir() -> PathBuf {
    match std::env::var("BGTASKS_TEST_POSTGRES_BIN") {
        Ok(dir) if !dir.trim().is_empty() => PathBuf::from(dir),
        _ => panic!(
            "BGTASKS_TEST_POSTGRES_BIN is not set: this test starts and stops a PostgreSQL \
             cluster of its own and needs the directory of `initdb` and `pg_ctl` (such as \
             /usr/lib/postgresql/15/bin). Run `bash scripts/test.sh`, which sets it (or \
             `. scripts/postgres.sh && start_postgres` in your shell)."
        ),
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a local address").port()
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl PrivateCluster {
    /// `initdb` into a temporary directory, then starts the server on a free loopback
    /// port.
    pub async fn start() -> Self {
        let bin = bin_dir();
        assert!(
            bin.join("initdb").is_file() && bin.join("pg_ctl").is_file(),
            "BGTASKS_TEST_POSTGRES_BIN=`{}` holds no initdb and pg_ctl",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("bgtasks-admin-pg-")
            .tempdir()
            .expect("a temporary directory for the cluster");
        let as_postgres = is_root();
        if as_postgres {
            let owner = std::process::Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(
                owner.success(),
                "could not give the cluster's directory to postgres"
            );
            std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .expect("open the cluster's directory to the postgres user");
        }
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let initdb = format!(
            "'{}' -D '{}' -U postgres -A trust -E UTF8 --no-sync > '{}' 2>&1",
            cluster.bin.join("initdb").display(),
            cluster.data().display(),
            cluster.file("initdb.log").display()
        );
        if let Err(error) = cluster.run(&initdb).await {
            panic!("initdb failed: {error}: {}", cluster.tail("initdb.log"));
        }
        cluster.start_server().await;
        cluster
    }

    fn data(&self) -> PathBuf {
        self.file("data")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The last lines of one of the cluster's logs, for failure messages.
    fn tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.file(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join(" | ")
    }

    /// The cluster's directory (its data, its logs), removed on drop.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// The superuser URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub async fn start_server(&self) {
        let script = format!(
            "'{}' -D '{}' -l '{}' -w -t 60 -o \"-p {} -k '{}' -c listen_addresses=127.0.0.1 \
             -c fsync=off\" start > /dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display(),
            self.file("server.log").display(),
            self.port,
            self.dir.path().display()
        );
        if let Err(error) = self.run(&script).await {
            panic!("pg_ctl start failed: {error}: {}", self.tail("server.log"));
        }
    }

    /// Stops the server with `pg_ctl stop -m fast`: every connection is cut and none is
    /// accepted until [`start_server`](Self::start_server).
    pub async fn stop_fast(&self) {
        let script = format!(
            "'{}' -D '{}' -m fast -w stop > /dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        if let Err(error) = self.run(&script).await {
            panic!("pg_ctl stop failed: {error}: {}", self.tail("server.log"));
        }
    }

    async fn run(&self, script: &str) -> Result<(), String> {
        let status = if self.as_postgres {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", script])
                .status()
                .await
        } else {
            Command::new("sh").args(["-c", script]).status().await
        }
        .map_err(|error| format!("could not run `{script}`: {error}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{script}` exited with {status}"))
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // Whatever state the test left it in (a no-op when it is stopped); the directory
        // goes with the TempDir.
        let script = format!(
            "'{}' -D '{}' -m immediate stop > /dev/null 2>&1",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        );
        let _ = if self.as_postgres {
            std::process::Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", &script])
                .status()
        } else {
            std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
        };
    }
}
