//! Test support: a real SMTP server (Python's aiosmtpd) and helpers to read back what it
//! received, plus log capture.
//!
//! When `BGTASKS_TEST_SMTP_HOST`, `BGTASKS_TEST_SMTP_PORT` and `BGTASKS_TEST_MAILDIR` are
//! set (the project's test script starts one server for the whole run), tests share that
//! server and find their own messages by job id. Otherwise each test starts its own
//! `python3 -m aiosmtpd` on a free port with a temporary Maildir, killed on drop.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgtasks_exception_handling::{JOB_ID_HEADER, SmtpMailTransport, SmtpTls};
use mail_parser::{MessageParser, MimeHeaders};

/// The sender the test transport uses.
pub const TEST_FROM: &str = "Jobs <jobs@bgtasks.test>";

/// A running SMTP server writing every message into `maildir/new/`.
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub maildir: PathBuf,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl SmtpServer {
    /// The shared server named by the environment, or a new one of this test's own.
    pub fn start() -> Self {
        let host = std::env::var("BGTASKS_TEST_SMTP_HOST").ok();
        let port = std::env::var("BGTASKS_TEST_SMTP_PORT").ok();
        let maildir = std::env::var("BGTASKS_TEST_MAILDIR").ok();
        match (host, port, maildir) {
            (Some(host), Some(port), Some(maildir)) => Self {
                host,
                port: port.parse().unwrap_or_else(|e| {
                    panic!("BGTASKS_TEST_SMTP_PORT=`{port}` is not a port: {e}")
                }),
                maildir: PathBuf::from(maildir),
                child: None,
                _dir: None,
            },
            (None, None, None) => Self::start_own(),
            _ => panic!(
                "set all of BGTASKS_TEST_SMTP_HOST, BGTASKS_TEST_SMTP_PORT and BGTASKS_TEST_MAILDIR, or none"
            ),
        }
    }

    fn start_own() -> Self {
        let python = std::env::var("BGTASKS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let probe = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output();
        match probe {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "the SMTP tests need Python's aiosmtpd, which `{python}` cannot import: run `pip install aiosmtpd` \
                 (or `apt-get install python3-aiosmtpd`). {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!(
                "the SMTP tests need `{python}` with aiosmtpd (`pip install aiosmtpd`), but it could not run: {e}"
            ),
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start aiosmtpd (`pip install aiosmtpd`): {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("aiosmtpd exited with {status} before listening: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            host: "127.0.0.1".to_owned(),
            port,
            maildir,
            child: Some(child),
            _dir: Some(dir),
        }
    }

    /// A plain-text SMTP transport to this server with a 5 s timeout.
    pub fn transport(&self) -> SmtpMailTransport {
        SmtpMailTransport::builder(self.host.clone())
            .port(self.port)
            .tls(SmtpTls::None)
            .from(TEST_FROM.parse().expect("a valid mailbox"))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a plain transport always builds")
    }

    /// Every message received so far about `job_id`.
    pub fn messages_for(&self, job_id: &str) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut mails: Vec<ReceivedMail> = entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read(e.path()).ok())
            .map(|raw| ReceivedMail::parse(&raw))
            .filter(|m| m.job_id.as_deref() == Some(job_id))
            .collect();
        mails.sort_by(|a, b| a.subject.cmp(&b.subject));
        mails
    }

    /// Waits (at most 10 s) until `count` messages about `job_id` arrived, then gives them.
    pub async fn wait_for(&self, job_id: &str, count: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.messages_for(job_id);
            if mails.len() >= count || Instant::now() >= deadline {
                assert_eq!(mails.len(), count, "messages about job `{job_id}`");
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts that, after a grace period, exactly `count` messages about `job_id` arrived.
    pub async fn assert_count_settles(&self, job_id: &str, count: usize) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            self.messages_for(job_id).len(),
            count,
            "messages about job `{job_id}`"
        );
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nothing listens on (right now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("a local address").port()
}

/// One received message, parsed.
#[derive(Debug)]
pub struct ReceivedMail {
    /// The envelope sender (`X-MailFrom`).
    pub mail_from: String,
    /// The envelope recipients (`X-RcptTo`).
    pub rcpt_to: Vec<String>,
    /// The `From` header's address and display name.
    pub from: (Option<String>, Option<String>),
    /// The `To` header's addresses.
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub job_id: Option<String>,
    pub content_type: Option<String>,
    /// The decoded HTML body.
    pub html: String,
}

impl ReceivedMail {
    pub fn parse(raw: &[u8]) -> Self {
        let message = MessageParser::default()
            .parse(raw)
            .expect("a parsable message");
        let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_owned());
        let from = message.from().and_then(|a| a.first());
        Self {
            mail_from: header("X-MailFrom").unwrap_or_default(),
            rcpt_to: header("X-RcptTo")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            from: (
                from.and_then(|a| a.address()).map(str::to_owned),
                from.and_then(|a| a.name()).map(str::to_owned),
            ),
            to: message
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.address())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            subject: message.subject().map(str::to_owned),
            job_id: header(JOB_ID_HEADER),
            content_type: message
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default())),
            html: message
                .body_html(0)
                .map(|b| b.into_owned())
                .unwrap_or_default(),
        }
    }
}

/// A unique job id for one test, so that tests sharing a server find their own mail.
pub fn unique_job_id(test: &str) -> String {
    format!("{test}-{}", uuid::Uuid::new_v4().simple())
}

/// Captures formatted log lines while the guard lives (current-thread runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs lock")).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a file the file transport wrote.
pub fn read_eml(path: &Path) -> ReceivedMail {
    ReceivedMail::parse(&std::fs::read(path).expect("readable .eml"))
}
