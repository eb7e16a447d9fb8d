//! Lease tokens: one counter for the whole file (`bgtasks_lease_tokens`), read and bumped
//! inside the write transaction of a claim — of runs or of notifications — so that a
//! token is never handed out twice in the life of the file (R38), not even for a job
//! removed and queued again under its id.

use bgtasks_store::StoreError;
use sqlx::SqliteConnection;

use crate::errors::other;
use crate::store::Inner;

/// The last lease token handed out in the store.
const LAST_TOKEN: &str = "SELECT last FROM bgtasks_lease_tokens WHERE id = 1";

/// Records the last lease token handed out.
const SAVE_TOKEN: &str = "UPDATE bgtasks_lease_tokens SET last = ?1 WHERE id = 1";

/// The tokens one write transaction hands out: the counter is read when the first token
/// is needed and saved once, before the transaction commits.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    /// The last token handed out, once the counter was read.
    last: Option<i64>,
    /// Whether this transaction handed out a token (and must save the counter).
    handed_out: bool,
}

impl Tokens {
    /// Reads the counter, unless it was read already (call before [`next`](Self::next)).
    pub(crate) async fn load(
        &mut self,
        conn: &mut SqliteConnection,
        inner: &Inner,
        operation: &str,
    ) -> Result<(), StoreError> {
        if self.last.is_some() {
            return Ok(());
        }
        let last: Option<i64> = sqlx::query_scalar(LAST_TOKEN)
            .fetch_optional(&mut *conn)
            .await
            .map_err(inner.failed(operation))?;
        let last = last.ok_or_else(|| {
            other(format!(
                "the lease token counter (table `bgtasks_lease_tokens`) of the SQLite job \
                 store `{}` has no row; the schema is damaged",
                inner.db
            ))
        })?;
        self.last = Some(last);
        Ok(())
    }

    /// The next token, for the lease of `holder` (named in the error when the counter
    /// was not read or has no token left).
    pub(crate) fn next(&mut self, inner: &Inner, holder: &str) -> Result<i64, StoreError> {
        let next = self
            .last
            .and_then(|last| last.checked_add(1))
            .ok_or_else(|| {
                other(format!(
                    "no lease token left for {holder} in the SQLite job store `{}`",
                    inner.db
                ))
            })?;
        self.last = Some(next);
        self.handed_out = true;
        Ok(next)
    }

    /// Saves the counter, if a token was handed out (inside the same transaction).
    pub(crate) async fn save(
        &self,
        conn: &mut SqliteConnection,
        inner: &Inner,
        operation: &str,
    ) -> Result<(), StoreError> {
        let Some(last) = self.last.filter(|_| self.handed_out) else {
            return Ok(());
        };
        sqlx::query(SAVE_TOKEN)
            .bind(last)
            .execute(&mut *conn)
            .await
            .map_err(inner.failed(operation))?;
        Ok(())
    }
}
