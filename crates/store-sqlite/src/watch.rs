//! The "a job may be due" signal: fired after this handle's own writes, and — through a
//! watcher on SQLite's `PRAGMA data_version` — after commits by other connections and
//! processes on the same file.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection, SqlitePool};
use tokio::sync::Notify;

/// The subscribers of one store handle.
#[derive(Debug, Default)]
pub(crate) struct DueSignal {
    subscribers: Mutex<Vec<Weak<Notify>>>,
}

impl DueSignal {
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

/// Watches the file for commits made by other connections (`PRAGMA data_version`
/// changes when one commits) every `interval`, and fires the signal when it sees one.
/// The first reading is taken before this returns, so that every commit after the store
/// was opened is seen. Stops when the store's pool is closed or its handles are dropped.
/// Runs on a connection of its own.
pub(crate) async fn spawn_watcher(
    options: SqliteConnectOptions,
    pool: SqlitePool,
    signal: Weak<DueSignal>,
    interval: Duration,
    db: Arc<str>,
) {
    let mut watcher = Watcher {
        options,
        db,
        conn: None,
        last: None,
        missed: false,
    };
    watcher.read().await;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(signal) = signal.upgrade() else {
                break;
            };
            if pool.is_closed() {
                break;
            }
            if watcher.read().await {
                signal.notify();
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
    /// Whether the connection was lost: commits may have been missed meanwhile.
    missed: bool,
}

impl Watcher {
    /// Reads the data version; `true` if another connection committed since the last
    /// reading (or may have, after a lost connection).
    async fn read(&mut self) -> bool {
        if self.conn.is_none() {
            match self.options.connect().await {
                Ok(conn) => self.conn = Some(conn),
                Err(error) => {
                    tracing::debug!(db = %self.db, %error, "the change watcher could not connect; will retry");
                    self.missed = true;
                    return false;
                }
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(version) => {
                let changed = self.missed || self.last.is_some_and(|seen| seen != version);
                self.last = Some(version);
                self.missed = false;
                changed
            }
            Err(error) => {
                tracing::debug!(db = %self.db, %error, "the change watcher could not read; will reconnect");
                self.conn = None;
                self.last = None;
                self.missed = true;
                false
            }
        }
    }
}
