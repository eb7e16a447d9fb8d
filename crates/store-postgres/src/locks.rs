//! Job locks (R28) across processes: a row per held key, with its owner and an expiry on
//! the database's clock, so that every node agrees when a lock lapses.

use std::time::Duration;

use bgtasks_store::{JobLockProvider, StoreError};
use sqlx::PgPool;

use crate::errors::store_error;
use crate::store::bounded;

/// Takes the lock of a key unless another holder has it and it has not expired (by the
/// database's `now()`). A lock lasts at least one second.
const TRY_LOCK: &str = "INSERT INTO bgtasks_locks (key, owner, expires_at) \
     VALUES ($1, $2, now() + make_interval(secs => $3)) \
     ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at \
     WHERE bgtasks_locks.expires_at <= now() \
     RETURNING 1";

/// The longest a lock lasts: ten years (a longer request is cut to this).
const MAX_LOCK_SECS: i64 = 10 * 365 * 24 * 3600;

/// Releases a lock only if this owner still holds it.
const RELEASE: &str = "DELETE FROM bgtasks_locks WHERE key = $1 AND owner = $2";

/// Job locks in table `bgtasks_locks`. Each provider has its own owner id: a lock it holds
/// is refused to every other provider (in this process or another) until it is released
/// or expires, and a provider releases only its own locks. Expiry is measured by the
/// database's clock, the one clock all nodes share. Get one from
/// [`PostgresJobStore::lock_provider`](crate::PostgresJobStore::lock_provider).
#[derive(Debug, Clone)]
pub struct PostgresJobLockProvider {
    pool: PgPool,
    server: String,
    owner: String,
    /// The longest time one call may take (R45).
    call_timeout: Duration,
}

impl PostgresJobLockProvider {
    pub(crate) fn new(pool: PgPool, server: String, call_timeout: Duration) -> Self {
        Self {
            pool,
            server,
            owner: uuid::Uuid::new_v4().simple().to_string(),
            call_timeout,
        }
    }

    /// This provider's owner id, as stored with the locks it holds.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl JobLockProvider for PostgresJobLockProvider {
    async fn try_lock(&self, key: &str, seconds: i64) -> Result<bool, StoreError> {
        // Seconds as a double (exact at these sizes), at least one and at most ten years.
        let seconds = seconds.clamp(1, MAX_LOCK_SECS) as f64;
        let what = "take a job lock";
        let call = async {
            let taken = sqlx::query(TRY_LOCK)
                .bind(key)
                .bind(&self.owner)
                .bind(seconds)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| store_error(&self.server, what, e))?;
            Ok(taken.is_some())
        };
        bounded(&self.server, self.call_timeout, what, call).await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let what = "release a job lock";
        let call = async {
            sqlx::query(RELEASE)
                .bind(key)
                .bind(&self.owner)
                .execute(&self.pool)
                .await
                .map_err(|e| store_error(&self.server, what, e))?;
            Ok(())
        };
        bounded(&self.server, self.call_timeout, what, call).await
    }
}
