//! The suite's own log (runtimes it runs in-process write here): kept in memory so that a
//! scenario can check what was logged, and saved next to a failed scenario's files.

use std::io::Write;
use std::sync::{Mutex, OnceLock, PoisonError};

static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

fn buffer() -> &'static Mutex<Vec<u8>> {
    BUFFER.get_or_init(|| Mutex::new(Vec::new()))
}

/// Where the subscriber writes.
#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        buffer()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        if std::env::var_os("RELIABILITY_SUITE_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber: bgtasks at `info`, the rest at `warn`.
pub(crate) fn install() {
    let filter = tracing_subscriber::EnvFilter::new(
        "warn,bgtasks_core=info,bgtasks_actions=info,bgtasks_exception_handling=info",
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

/// Everything logged since the last [`clear`].
pub(crate) fn text() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

/// Forgets what was logged so far.
pub(crate) fn clear() {
    buffer()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}
