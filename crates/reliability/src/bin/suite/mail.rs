//! SMTP for the scenarios: the real server (Python's aiosmtpd) the test script starts, or
//! one of the suite's own, and two broken servers: one that never answers and one that
//! refuses every session.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bgtasks::exception_handling::{JOB_ID_HEADER, SmtpMailTransport, SmtpTls};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::harness::{Context, Res};
use crate::postgres::free_port;

/// A real SMTP server writing every message into `maildir/new/`.
pub(crate) struct SmtpServer {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) maildir: PathBuf,
    _child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl SmtpServer {
    /// The server named by `BGTASKS_TEST_SMTP_HOST`, `_PORT` and `BGTASKS_TEST_MAILDIR`,
    /// else a new `python3 -m aiosmtpd` on a free port.
    pub(crate) async fn start() -> Res<Self> {
        let host = std::env::var("BGTASKS_TEST_SMTP_HOST").ok();
        let port = std::env::var("BGTASKS_TEST_SMTP_PORT").ok();
        let maildir = std::env::var("BGTASKS_TEST_MAILDIR").ok();
        if let (Some(host), Some(port), Some(maildir)) = (host, port, maildir) {
            return Ok(Self {
                host,
                port: port
                    .parse()
                    .ctx("BGTASKS_TEST_SMTP_PORT is not a port number")?,
                maildir: PathBuf::from(maildir),
                _child: None,
                _dir: None,
            });
        }
        let dir = tempfile::tempdir().ctx("create a maildir")?;
        let maildir = dir.path().join("maildir");
        let port = free_port()?;
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ctx("start `python3 -m aiosmtpd` (pip install aiosmtpd)")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "aiosmtpd exited with {status} (is it installed? pip install aiosmtpd)"
                ));
            }
            if Instant::now() >= deadline {
                return Err("aiosmtpd did not listen within 20 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            host: "127.0.0.1".to_owned(),
            port,
            maildir,
            _child: Some(child),
            _dir: Some(dir),
        })
    }

    /// A plain SMTP transport to this server.
    pub(crate) fn transport(&self) -> Res<SmtpMailTransport> {
        smtp_transport(&self.host, self.port, Duration::from_secs(10))
    }

    /// How many messages about `job_id` arrived.
    pub(crate) fn count_for(&self, job_id: &str) -> usize {
        let header = format!("{JOB_ID_HEADER}: {job_id}");
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter(|text| text.lines().any(|l| l.trim_end() == header))
            .count()
    }

    /// The messages that arrived about the jobs `about` accepts (by their
    /// `X-Bgtasks-Job-Id` header), with their `Message-ID`s, in one pass over the maildir.
    pub(crate) fn received(&self, about: impl Fn(&str) -> bool) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|text| ReceivedMail::parse(&text))
            .filter(|mail| about(&mail.job_id))
            .collect()
    }

    /// Waits (at most `within`) for `count` messages about `job_id`, then a little more to
    /// see that no more arrive; gives the final count.
    pub(crate) async fn settled_count(
        &self,
        job_id: &str,
        count: usize,
        within: Duration,
    ) -> usize {
        let deadline = Instant::now() + within;
        while self.count_for(job_id) < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.count_for(job_id)
    }
}

/// A message the server received, as its headers tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceivedMail {
    /// The job it is about (`X-Bgtasks-Job-Id`).
    pub(crate) job_id: String,
    /// Its `Message-ID`, `<…>` included; empty when it has none.
    pub(crate) message_id: String,
}

impl ReceivedMail {
    /// The headers of a stored message (folded lines unfolded); `None` without a job id.
    fn parse(text: &str) -> Option<Self> {
        let mut headers: Vec<String> = Vec::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                break;
            }
            match headers.last_mut() {
                Some(last) if line.starts_with([' ', '\t']) => last.push_str(line.trim_start()),
                _ => headers.push(line.to_owned()),
            }
        }
        let header = |name: &str| {
            headers.iter().find_map(|h| {
                let (key, value) = h.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        Some(Self {
            job_id: header(JOB_ID_HEADER)?,
            message_id: header("Message-ID").unwrap_or_default(),
        })
    }
}

/// A plain SMTP transport to `host:port`.
pub(crate) fn smtp_transport(host: &str, port: u16, timeout: Duration) -> Res<SmtpMailTransport> {
    SmtpMailTransport::builder(host.to_owned())
        .port(port)
        .tls(SmtpTls::None)
        .from(
            "Jobs <jobs@bgtasks.test>"
                .parse()
                .ctx("the sender address")?,
        )
        .timeout(timeout)
        .build()
        .ctx("build an SMTP transport")
}

/// A TCP server that misbehaves as SMTP: it accepts and then never says anything
/// (`hang`), or greets with `554` and hangs up (`refuse`). Stops on drop.
pub(crate) struct BrokenSmtp {
    pub(crate) port: u16,
    task: JoinHandle<()>,
}

impl BrokenSmtp {
    pub(crate) async fn hang() -> Res<Self> {
        Self::start(false).await
    }

    pub(crate) async fn refuse() -> Res<Self> {
        Self::start(true).await
    }

    async fn start(refuse: bool) -> Res<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .ctx("bind a broken SMTP server")?;
        let port = listener.local_addr().ctx("its address")?.port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                if refuse {
                    let _ = socket
                        .write_all(b"554 5.3.2 no service here, go away\r\n")
                        .await;
                    let _ = socket.shutdown().await;
                } else {
                    held.push(socket);
                }
            }
        });
        Ok(Self { port, task })
    }
}

impl Drop for BrokenSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}
