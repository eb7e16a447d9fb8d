//! The store's signals — "a job may be due" and "a running job was paused, stopped or
//! removed" — fired after this handle's own writes, and, through a watcher on SQLite's
//! `PRAGMA data_version`, after commits by other connections and processes on the file.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection, SqlitePool};
use tokio::sync::Notify;

/// The subscribers of one signal of a store handle.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    subscribers: Mutex<Vec<Weak<Notify>>>,
}

impl Signal {
    /// A new subscriber.
    pub(crate) fn subscribe(&self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.lock().push(Arc::downgrade(&notify));
        notify
    }

    /// Wakes every subscriber (dropping the ones that are gone).
    pub(crate) fn notify(&self) {
        self.lock().retain(|weak| match weak.upgrade() {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Notify>>> {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The two signals of a store handle.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    /// A job may have become due.
    pub(crate) due: Signal,
    /// A running job was paused, stopped or removed: its node should renew at once.
    pub(crate) control: Signal,
}

/// Reads the control counter, bumped by every pause, stop or removal of a running job.
const CONTROL_VERSION: &str = "SELECT version FROM bgtasks_control WHERE id = 1";

/// Watches the file for commits made by other connections (`PRAGMA data_version`
/// changes when one commits) every `interval`: fires the due signal when it sees one,
/// and the control signal when the control counter moved too (one cheap read, only when
/// the file changed). The first reading is taken before this returns, so that every
/// commit after the store was opened is seen. Stops when the store's pool is closed or
/// its handles are dropped. Runs on a connection of its own.
pub(crate) async fn spawn_watcher(
    options: SqliteConnectOptions,
    pool: SqlitePool,
    signals: Weak<Signals>,
    interval: Duration,
    db: Arc<str>,
) {
    let mut watcher = Watcher {
        options,
        db,
        conn: None,
        last: None,
        control: None,
        missed: false,
    };
    watcher.read().await;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(signals) = signals.upgrade() else {
                break;
            };
            if pool.is_closed() {
                break;
            }
            let seen = watcher.read().await;
            if seen.changed {
                signals.due.notify();
            }
            if seen.control {
                signals.control.notify();
            }
        }
        if let Some(conn) = watcher.conn.take() {
            let _ = conn.close().await;
        }
    });
}

struct Watcher {
    options: SqliteConnectOptions,
    db: Arc<str>,
    conn: Option<SqliteConnection>,
    /// The data version last read.
    last: Option<i64>,
    /// The control counter last read.
    control: Option<i64>,
    /// Whether the connection was lost: commits may have been missed meanwhile.
    missed: bool,
}

/// What one look at the file found.
#[derive(Debug, Default)]
struct Seen {
    /// Another connection committed (or may have, after a lost connection).
    changed: bool,
    /// A running job was paused, stopped or removed (or may have been).
    control: bool,
}

impl Watcher {
    /// Reads the data version, and the control counter when it changed.
    async fn read(&mut self) -> Seen {
        if self.conn.is_none() {
            match self.options.connect().await {
                Ok(conn) => self.conn = Some(conn),
                Err(error) => {
                    tracing::debug!(db = %self.db, %error, "the change watcher could not connect; will retry");
                    self.missed = true;
                    return Seen::default();
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Seen::default();
        };
        let version = match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(version) => version,
            Err(error) => return self.lost(&error),
        };
        let first = self.last.is_none();
        let changed = self.missed || self.last.is_some_and(|seen| seen != version);
        self.last = Some(version);
        if !(changed || first) {
            return Seen::default();
        }
        let control = match sqlx::query_scalar::<_, i64>(CONTROL_VERSION)
            .fetch_optional(&mut *conn)
            .await
        {
            Ok(control) => control,
            Err(error) => return self.lost(&error),
        };
        let moved = self.missed || (!first && self.control != control);
        self.control = control;
        self.missed = false;
        Seen {
            changed,
            control: moved,
        }
    }

    /// The connection failed: reconnect at the next look, and report a change then
    /// (commits may be missed meanwhile).
    fn lost(&mut self, error: &sqlx::Error) -> Seen {
        tracing::debug!(db = %self.db, %error, "the change watcher could not read; will reconnect");
        self.conn = None;
        self.last = None;
        self.missed = true;
        Seen::default()
    }
}
