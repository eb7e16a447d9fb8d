//! PostgreSQL for the scenarios: a database of their own on the shared test server, and a
//! private throwaway cluster for the scenario that stops the server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use sqlx::{Connection, PgConnection};
use tokio::process::Command;

use crate::harness::{Context, Res, ensure};

/// The URL of database `name` on the server of `admin`.
pub(crate) fn url_of(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.to_owned(), String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base.as_str(),
    };
    format!("{server}/{name}{query}")
}

/// Creates an empty database for a scenario and returns its name.
pub(crate) async fn create_database(admin: &str, scenario: &str) -> Res<String> {
    let tag: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let name = format!(
        "bgtasks_rel_{tag}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut conn = PgConnection::connect(admin)
        .await
        .ctx("connect to the PostgreSQL test server as its superuser")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .ctx("create the scenario's database")?;
    conn.close().await.ok();
    Ok(name)
}

/// Drops a scenario's database (closing whatever still uses it).
pub(crate) async fn drop_database(admin: &str, name: &str) -> Res<()> {
    let mut conn = PgConnection::connect(admin)
        .await
        .ctx("connect to the PostgreSQL test server")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .ctx("drop the scenario's database")?;
    conn.close().await.ok();
    Ok(())
}

/// The directory of `initdb` and `pg_ctl`: `BGTASKS_TEST_POSTGRES_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub(crate) fn find_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("BGTASKS_TEST_POSTGRES_BIN")
        && !dir.trim().is_empty()
    {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> Res<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").ctx("bind an ephemeral port")?;
    Ok(listener.local_addr().ctx("local address")?.port())
}

/// A PostgreSQL cluster of the suite's own, in a temp directory on a free port, that a
/// scenario may stop and start. Stopped and removed on drop.
pub(crate) struct PrivateCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    /// `initdb`, then start on a free loopback port.
    pub(crate) async fn start(bin: &Path) -> Res<Self> {
        let dir = tempfile::Builder::new()
            .prefix("bgtasks-rel-pg-")
            .tempdir()
            .ctx("create the cluster's directory")?
            .keep();
        let as_postgres = is_root().await;
        if as_postgres {
            let owner = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .await
                .ctx("chown the cluster's directory")?;
            ensure!(
                owner.success(),
                "could not give `{}` to the postgres user",
                dir.display()
            );
            let _ =
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        }
        let cluster = Self {
            bin: bin.to_owned(),
            port: free_port()?,
            dir,
            as_postgres,
        };
        cluster
            .run(&format!(
                "'{}' -D '{}' -U postgres -A trust -E UTF8 --no-sync > '{}' 2>&1",
                cluster.bin.join("initdb").display(),
                cluster.data().display(),
                cluster.dir.join("initdb.log").display()
            ))
            .await
            .map_err(|e| format!("initdb failed: {e}: {}", cluster.log("initdb.log")))?;
        cluster.start_server().await?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join(" | ")
    }

    /// The superuser URL of its `postgres` database.
    pub(crate) fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub(crate) async fn start_server(&self) -> Res<()> {
        self.run(&format!(
            "'{}' -D '{}' -l '{}' -w -t 60 -o \"-p {} -k '{}' -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off\" start > /dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display(),
            self.dir.join("server.log").display(),
            self.port,
            self.dir.display()
        ))
        .await
        .map_err(|e| format!("pg_ctl start failed: {e}: {}", self.log("server.log")))
    }

    /// Stops the server with `-m fast`: every connection is cut, nothing is accepted
    /// until [`start_server`](Self::start_server).
    pub(crate) async fn stop_fast(&self) -> Res<()> {
        self.run(&format!(
            "'{}' -D '{}' -m fast -w stop > /dev/null",
            self.bin.join("pg_ctl").display(),
            self.data().display()
        ))
        .await
        .map_err(|e| format!("pg_ctl stop failed: {e}: {}", self.log("server.log")))
    }

    async fn run(&self, script: &str) -> Res<()> {
        let status = if self.as_postgres {
            Command::new("su")
                .args(["postgres", "-s", "/bin/sh", "-c", script])
                .status()
                .await
        } else {
            Command::new("sh").args(["-c", script]).status().await
        }
        .ctx("run a PostgreSQL command")?;
        ensure!(status.success(), "exit status {status}");
        Ok(())
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
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
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn is_root() -> bool {
    match Command::new("id").arg("-u").output().await {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim() == "0",
        Err(_) => false,
    }
}
