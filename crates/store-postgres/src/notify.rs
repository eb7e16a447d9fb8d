//! The signals: a background task LISTENs on channels `bgtasks_due` and `bgtasks_control`
//! on one connection and pokes every subscriber's [`Notify`] of that channel — when a job
//! may have become due, or when a running job was paused, stopped or removed. It
//! reconnects with back-off when its connection drops, and pokes every subscriber once
//! after every (re)connect, since something may have happened while it was away. After a
//! minute without a notification it pings the server, so that a server that vanished
//! without a reset does not leave it waiting for ever (R45).

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgNotification, PgPoolOptions};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The channel the schema's triggers notify when a job may have become due.
pub const DUE_CHANNEL: &str = "bgtasks_due";

/// The channel the store notifies, in the transaction that makes the change, when a job
/// that holds a lease is paused, stopped or removed (R39).
pub const CONTROL_CHANNEL: &str = "bgtasks_control";

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// How long the listener waits for a notification before it pings the server.
const SILENCE: Duration = Duration::from_secs(60);

/// The subscribers of one store.
#[derive(Default)]
struct Subscribers(Mutex<Vec<Weak<Notify>>>);

impl Subscribers {
    /// Pokes every live subscriber; forgets the dropped ones.
    fn wake_all(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|weak| match weak.upgrade() {
                Some(notify) => {
                    notify.notify_one();
                    true
                }
                None => false,
            });
    }
}

/// The listening task of a store.
enum Listener {
    /// Not started: no one subscribed yet.
    Idle,
    /// Listening.
    Running(JoinHandle<()>),
    /// The store was closed: no task starts again.
    Stopped,
}

/// The subscribers of each channel.
#[derive(Default)]
struct Channels {
    due: Subscribers,
    control: Subscribers,
}

impl Channels {
    fn wake_all(&self) {
        self.due.wake_all();
        self.control.wake_all();
    }
}

/// Which channel a subscriber listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// `bgtasks_due`.
    Due,
    /// `bgtasks_control`.
    Control,
}

/// The signals of one store: their subscribers and the listening task, started with the
/// first subscription and stopped when the store is dropped.
pub(crate) struct Signals {
    subscribers: Arc<Channels>,
    task: Mutex<Listener>,
    connect: PgConnectOptions,
    connect_timeout: Duration,
    server: String,
    runtime: Handle,
}

impl Signals {
    pub(crate) fn new(
        connect: PgConnectOptions,
        connect_timeout: Duration,
        server: String,
        runtime: Handle,
    ) -> Self {
        Self {
            subscribers: Arc::default(),
            task: Mutex::new(Listener::Idle),
            connect,
            connect_timeout,
            server,
            runtime,
        }
    }

    /// A new subscriber of `channel`; starts the listening task if it is not running.
    pub(crate) fn subscribe(&self, channel: Channel) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        let subscribers = match channel {
            Channel::Due => &self.subscribers.due,
            Channel::Control => &self.subscribers.control,
        };
        subscribers
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&notify));
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(*task, Listener::Idle) {
            *task = Listener::Running(self.runtime.spawn(listen(
                self.connect.clone(),
                self.connect_timeout,
                self.server.clone(),
                Arc::downgrade(&self.subscribers),
            )));
        }
        notify
    }

    /// Stops the listening task for good (the store was closed).
    pub(crate) fn stop(&self) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if let Listener::Running(running) = std::mem::replace(&mut *task, Listener::Stopped) {
            running.abort();
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Listens until the store is dropped (the task is aborted then, or it sees its
/// subscribers gone).
async fn listen(
    connect: PgConnectOptions,
    connect_timeout: Duration,
    server: String,
    subscribers: Weak<Channels>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut failures = 0_u32;
    loop {
        match open(&connect, connect_timeout).await {
            Ok(mut listener) => {
                if failures > 0 {
                    tracing::info!(server = %server, "listening for due jobs and control again");
                }
                failures = 0;
                backoff = BACKOFF_MIN;
                // Work may have become due, or a run been paused, while no one was
                // listening.
                let Some(subs) = subscribers.upgrade() else {
                    return;
                };
                subs.wake_all();
                drop(subs);
                loop {
                    match next_notification(&mut listener, connect_timeout).await {
                        Ok(Some(first)) => {
                            // Fold whatever else already arrived into one wake-up per
                            // channel.
                            let (mut due, mut control) = (false, false);
                            let mut note = |channel: &str| {
                                due |= channel == DUE_CHANNEL;
                                control |= channel == CONTROL_CHANNEL;
                            };
                            note(first.channel());
                            while let Some(next) = listener.next_buffered() {
                                note(next.channel());
                            }
                            let Some(subs) = subscribers.upgrade() else {
                                return;
                            };
                            if due {
                                subs.due.wake_all();
                            }
                            if control {
                                subs.control.wake_all();
                            }
                        }
                        Ok(None) => {
                            tracing::warn!(server = %server, "the LISTEN connection was lost; reconnecting");
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(server = %server, %error, "the LISTEN connection failed; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(server = %server, %error, failures,
                        retry_in_ms = backoff.as_millis() as u64,
                        "cannot LISTEN for due jobs and control; wake-ups and interruptions may come late (the runtime re-reads the next due time and renews its leases on its own schedule)");
                }
            }
        }
        if subscribers.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Opens a listening connection, within twice the connect timeout. Each has a pool of its
/// own (of one connection, apart from the store's), so that a dead connection given up on
/// never holds the slot of the next one.
async fn open(connect: &PgConnectOptions, timeout: Duration) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(connect.clone());
    let opening = async {
        let mut listener = PgListener::connect_with(&pool).await?;
        // A lost connection ends `try_recv` with `None`; the caller reconnects, with
        // back-off.
        listener.eager_reconnect(false);
        listener.ignore_pool_close_event(true);
        listener.listen_all([DUE_CHANNEL, CONTROL_CHANNEL]).await?;
        Ok(listener)
    };
    tokio::time::timeout(timeout.saturating_mul(2), opening)
        .await
        .unwrap_or_else(|_| Err(no_answer("LISTEN")))
}

/// The next notification (`Ok(None)`: the connection was lost). After [`SILENCE`]
/// without one, a ping (answered within `timeout`) proves the connection alive.
async fn next_notification(
    listener: &mut PgListener,
    timeout: Duration,
) -> Result<Option<PgNotification>, sqlx::Error> {
    loop {
        if let Ok(received) = tokio::time::timeout(SILENCE, listener.try_recv()).await {
            return received;
        }
        let ping = sqlx::query("SELECT 1").execute(&mut *listener);
        match tokio::time::timeout(timeout, ping).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => return Err(no_answer("a ping")),
        }
    }
}

/// The error of a request the server did not answer in time.
fn no_answer(request: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no answer to {request} in time"),
    ))
}
