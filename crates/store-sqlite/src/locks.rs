//! Job locks (R28) that exclude across processes: a row per held key, with its holder
//! and expiry.

use std::fmt;
use std::sync::Arc;

use bgtasks_abstractions::Clock;
use bgtasks_store::{JobLockProvider, StoreError};
use uuid::Uuid;

use crate::errors::store_error;
use crate::gate::WriteGate;
use crate::rows::micros;

/// Takes the lock unless another holder has it and it has not expired, in one statement.
const TRY_LOCK: &str = "INSERT INTO bgtasks_locks (key, owner, expires_at) VALUES (?1, ?2, ?3) \
     ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
     WHERE bgtasks_locks.expires_at <= ?4";

/// Job locks in `bgtasks_locks`. Each provider has an owner id of its own: a lock it
/// holds refuses every other provider (in this process or another) until it is released
/// or expires, and a provider releases only the locks it holds. Locks expire by the
/// provider's clock. Get one from
/// [`SqliteJobStore::lock_provider`](crate::SqliteJobStore::lock_provider).
pub struct SqliteJobLockProvider {
    pool: sqlx::SqlitePool,
    db: Arc<str>,
    writes: WriteGate,
    owner: String,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SqliteJobLockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteJobLockProvider")
            .field("db", &self.db)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl SqliteJobLockProvider {
    pub(crate) fn new(
        pool: sqlx::SqlitePool,
        db: Arc<str>,
        writes: WriteGate,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            pool,
            db,
            writes,
            owner: Uuid::new_v4().to_string(),
            clock,
        }
    }

    /// This provider's owner id, as stored with the locks it holds.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl JobLockProvider for SqliteJobLockProvider {
    /// Like the in-memory provider, a lock that is held and not expired refuses this
    /// provider too: a job's lock is taken once per run.
    async fn try_lock(&self, key: &str, seconds: i64) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let expires = chrono::Duration::try_seconds(seconds.max(1))
            .and_then(|held| now.checked_add_signed(held))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let operation = format!("lock `{key}`");
        let _write = self.writes.enter(&self.db, &operation).await?;
        let done = sqlx::query(TRY_LOCK)
            .bind(key.to_owned())
            .bind(self.owner.clone())
            .bind(micros(expires))
            .bind(micros(now))
            .execute(&self.pool)
            .await
            .map_err(|e| store_error(&self.db, &operation, e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let operation = format!("release the lock `{key}`");
        let _write = self.writes.enter(&self.db, &operation).await?;
        sqlx::query("DELETE FROM bgtasks_locks WHERE key = ? AND owner = ?")
            .bind(key.to_owned())
            .bind(self.owner.clone())
            .execute(&self.pool)
            .await
            .map_err(|e| store_error(&self.db, &operation, e))?;
        Ok(())
    }
}
