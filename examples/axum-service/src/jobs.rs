//! The service's job types. Each is a serde value queued by a handler; its run reads the
//! service's shared state ([`AppState`]) with `ctx.state::<AppState>()`.

use bgtasks::prelude::*;
use bgtasks::sqlite::sqlx;
use serde::{Deserialize, Serialize};

use crate::db;
use crate::state::AppState;

/// Welcomes a new user: queued by `POST /signups` in the transaction that stores the
/// signup, so that it exists exactly when the signup does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeMail {
    /// The signup's row id.
    pub signup_id: i64,
    /// Where the mail goes.
    pub email: String,
}

impl JobType for WelcomeMail {
    const TYPE: &'static str = "welcome-mail";
}

impl Job for WelcomeMail {
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let app = ctx.state::<AppState>()?;
        // The mail is "sent" by writing it to the outbox table, once per signup even if
        // the run is repeated (a crash after the write, say): runs are at least once.
        let mut tx = app.db.begin_with("BEGIN IMMEDIATE").await?;
        let first =
            sqlx::query("UPDATE signups SET welcomed_at = ? WHERE id = ? AND welcomed_at IS NULL")
                .bind(db::now())
                .bind(self.signup_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if first {
            sqlx::query(
                "INSERT INTO sent_mails (signup_id, from_address, to_address, subject, sent_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(self.signup_id)
            .bind(&app.sender)
            .bind(&self.email)
            .bind("Welcome aboard")
            .bind(db::now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        ctx.set_result(if first {
            format!("welcome mail sent to {}", self.email)
        } else {
            format!("{} was welcomed before", self.email)
        });
        Ok(())
    }
}

/// Counts the signups of the last `days` days: queued by `POST /reports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupReport {
    /// How many days back the report looks.
    pub days: u32,
}

impl JobType for SignupReport {
    const TYPE: &'static str = "signup-report";
}

impl Job for SignupReport {
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let app = ctx.state::<AppState>()?;
        let since = db::now() - i64::from(self.days) * 86_400;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM signups WHERE created_at >= ?")
            .bind(since)
            .fetch_one(&app.db)
            .await?;
        ctx.set_result(format!("{count} signups in the last {} days", self.days));
        Ok(())
    }
}
