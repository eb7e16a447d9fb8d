//! Queueing jobs in the caller's own transaction (R49): the jobs exist, and run, if and
//! only if that transaction commits.

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_store::StoreError;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection, SqlSafeStr, SqlStr};

use crate::definitions::{INSERT_MANY_INTO, insert_on};
use crate::errors::is_unavailable;
use crate::options::is_plain_identifier;

/// Queues `jobs` on `conn`, in the transaction it is in: they exist, and run, if and only
/// if that transaction commits (R49). A business row written in the same transaction is
/// there exactly when its jobs are.
///
/// `conn` is any connection to the store's database — one of your own pool, or one of
/// [`PostgresJobStore::pool`](crate::PostgresJobStore::pool) — and a
/// [`sqlx::Transaction`] derefs to one: `enqueue_in(&mut tx, &jobs)`. Without a
/// transaction the statement commits by itself. The jobs table is found through the
/// connection's `search_path` (`public` by default); for a store in a schema of its own
/// ([`PostgresStoreOptions::with_schema`](crate::PostgresStoreOptions::with_schema)) use
/// [`enqueue_in_schema`]. A store must have been connected to the database once, so that
/// its tables exist at this build's version.
///
/// Same semantics as the store's [`insert`](bgtasks_store::JobDefinitions::insert): each
/// job is inserted unless a job with its id is stored (a repeated id in the batch once,
/// from its first occurrence), at revision 1 with no lease; the result says, per job,
/// whether it was inserted. A batch of any size is one statement.
///
/// The jobs are taken as prepared for queueing — status Queuing (or Paused) and their
/// first fire time in `next_run_time`, as the runtime's queueing sets them; a job without
/// a next run time is stored but not run. Each is validated first
/// ([`JobInfo::validate`]); a job with status None (which no node would ever run), or
/// holding a NUL character (which PostgreSQL text and JSONB cannot store) in its id,
/// names, description, cron, node, result, arguments or actions, is refused too. One
/// refused job refuses the whole batch before any statement is sent, with an error naming
/// the job and the reason — so your transaction is not aborted and goes on.
///
/// # Metrics
/// Each job it reports inserted is counted in `bgtasks_jobs_enqueued_total` with
/// `{type, kind, source="api"}`, as the runtime's `queue` counts it, when this function
/// returns — before your commit: a job queued in a transaction that then rolls back stays
/// counted (docs/observability.md).
///
/// # When nodes see the jobs
/// The jobs table's trigger notifies channel [`DUE_CHANNEL`](crate::DUE_CHANNEL) inside
/// your transaction; PostgreSQL delivers the notification when it commits, and never if
/// it rolls back. Every store listening (each runtime's) wakes its node at once.
///
/// # Bounds
/// The statement runs on your connection, under its settings: the store's
/// `statement_timeout` and `call_timeout` do not apply. Inserting an id that another open
/// transaction has just inserted waits for that transaction to end (the job is then
/// `false` if it committed, inserted if it rolled back); set `lock_timeout` or
/// `statement_timeout` on your connection to bound such waits.
///
/// # Errors
/// The refusal of a batch is [`StoreError::Other`]. A database error is
/// [`StoreError::Unavailable`] when trying again may work (the connection dropped, a
/// serialization failure under `REPEATABLE READ` or `SERIALIZABLE`: run the transaction
/// again) and [`StoreError::Other`] otherwise (no jobs table on the `search_path`, say).
/// After a database error PostgreSQL has aborted your transaction: roll it back.
///
/// ```
/// use bgtasks_abstractions::{JobInfo, JobStatus};
/// use bgtasks_postgres::{enqueue_in, sqlx};
///
/// /// Writes an invoice and queues the job that mails it, both or neither.
/// async fn bill(pool: &sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
///     let mut job = JobInfo::once("send-invoice-42", "send-invoice").with_arg("invoice", "42");
///     job.status = JobStatus::Queuing; // as the runtime's queueing prepares it
///     job.next_run_time = Some(job.begin_time);
///
///     let mut tx = pool.begin().await?;
///     sqlx::query("INSERT INTO invoices (id, total) VALUES ($1, $2)")
///         .bind("42")
///         .bind(1200)
///         .execute(&mut *tx)
///         .await?;
///     assert_eq!(enqueue_in(&mut tx, &[job]).await?, vec![true]);
///     tx.commit().await?; // nodes wake now
///     Ok(())
/// }
/// ```
pub async fn enqueue_in(
    conn: &mut PgConnection,
    jobs: &[JobInfo],
) -> Result<Vec<bool>, StoreError> {
    enqueue_with(conn, "INSERT INTO bgtasks_jobs".to_owned(), jobs).await
}

/// [`enqueue_in`] for a store whose tables are in the schema `schema` (the one given to
/// [`PostgresStoreOptions::with_schema`](crate::PostgresStoreOptions::with_schema)),
/// whatever the connection's `search_path`.
///
/// ```
/// use bgtasks_abstractions::JobInfo;
/// use bgtasks_postgres::{enqueue_in_schema, sqlx};
///
/// async fn queue(tx: &mut sqlx::PgTransaction<'_>, jobs: &[JobInfo]) -> Result<(), Box<dyn std::error::Error>> {
///     let inserted = enqueue_in_schema(tx, "jobs", jobs).await?;
///     assert_eq!(inserted.len(), jobs.len());
///     Ok(())
/// }
/// ```
pub async fn enqueue_in_schema(
    conn: &mut PgConnection,
    schema: &str,
    jobs: &[JobInfo],
) -> Result<Vec<bool>, StoreError> {
    if !is_plain_identifier(schema) {
        return Err(StoreError::other(format!(
            "cannot queue jobs in schema `{schema}`: a bgtasks schema is named by lower-case \
             ASCII letters, digits and `_` (as `PostgresStoreOptions::with_schema` requires)"
        )));
    }
    enqueue_with(conn, format!("INSERT INTO {schema}.bgtasks_jobs"), jobs).await
}

async fn enqueue_with(
    conn: &mut PgConnection,
    insert_into: String,
    jobs: &[JobInfo],
) -> Result<Vec<bool>, StoreError> {
    check_batch(jobs)?;
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let batch = describe(jobs);
    let failed = |error: sqlx::Error| failed_in_transaction(&batch, error);
    // `insert_into` names the table with a checked identifier at most.
    let sql: SqlStr = AssertSqlSafe(insert_into + INSERT_MANY_INTO).into_sql_str();
    let inserted = insert_on(conn, sql, jobs, &failed).await?;
    // Counted as the runtime's queueing counts, once the batch is in the transaction
    // (whatever becomes of the transaction afterwards: docs/observability.md).
    bgtasks_store::metrics::enqueued(jobs, &inserted);
    Ok(inserted)
}

/// Refuses the whole batch when one job may not be queued: it does not validate, or it
/// has status None.
fn check_batch(jobs: &[JobInfo]) -> Result<(), StoreError> {
    for job in jobs {
        if let Err(error) = job.validate() {
            return Err(refused(jobs, error.to_string(), Some(Box::new(error))));
        }
        if job.status == JobStatus::None {
            let reason = format!(
                "job `{}` has status None, which no node runs: prepare it for queueing \
                 (status Queuing and its first fire time as `next_run_time`)",
                job.id
            );
            return Err(refused(jobs, reason, None));
        }
    }
    Ok(())
}

/// Refuses the whole batch when a job holds the NUL character where PostgreSQL cannot
/// store it (text and JSONB both refuse it), naming the job and where it is.
pub(crate) fn refuse_nul(jobs: &[JobInfo]) -> Result<(), StoreError> {
    for job in jobs {
        if let Some(place) = nul_in(job) {
            let reason = format!(
                "job `{}`: {place} holds a NUL character, which PostgreSQL cannot store",
                job.id.replace('\0', "\\0")
            );
            return Err(refused(jobs, reason, None));
        }
    }
    Ok(())
}

/// Where in `job` a NUL character is, if anywhere.
fn nul_in(job: &JobInfo) -> Option<String> {
    let texts = [
        ("the id", Some(&job.id)),
        ("the name", Some(&job.name)),
        ("the group", Some(&job.group)),
        ("the job type", Some(&job.job_type)),
        ("the description", Some(&job.description)),
        ("the cron expression", job.cron.as_ref()),
        ("the node name", job.node_name.as_ref()),
        ("the result", job.result.as_ref()),
    ];
    if let Some((field, _)) = texts
        .iter()
        .find(|(_, text)| text.is_some_and(|t| t.contains('\0')))
    {
        return Some((*field).to_owned());
    }
    for (key, value) in job.args.as_map() {
        if let Some(path) = nul_path(key, value) {
            return Some(format!("argument `{path}`"));
        }
    }
    for action in &job.actions {
        if action.name.contains('\0') {
            return Some("the name of an action".to_owned());
        }
        for (key, value) in &action.parameters {
            if let Some(path) = nul_path(key, value) {
                return Some(format!("parameter `{path}` of action `{}`", action.name));
            }
        }
    }
    None
}

/// The path (`key.inner[2]`) to the first NUL character under `key`, if any.
fn nul_path(key: &str, value: &Value) -> Option<String> {
    if key.contains('\0') {
        return Some(key.replace('\0', "\\0"));
    }
    match value {
        Value::String(text) if text.contains('\0') => Some(key.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(&format!("{key}[{i}]"), item)),
        Value::Object(map) => map
            .iter()
            .find_map(|(inner, item)| nul_path(&format!("{key}.{inner}"), item)),
        _ => None,
    }
}

/// The refusal of the batch `jobs` for `reason`.
fn refused(
    jobs: &[JobInfo],
    reason: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    let nothing = match jobs.len() {
        1 => "it was not queued".to_owned(),
        n => format!("none of the batch's {n} jobs was queued"),
    };
    StoreError::Other {
        message: format!("{reason}; {nothing}"),
        source,
    }
}

/// The batch, for messages: its first job and how many there are.
fn describe(jobs: &[JobInfo]) -> String {
    match jobs {
        [job] => format!("job `{}`", job.id),
        [first, ..] => format!("{} jobs (the first `{}`)", jobs.len(), first.id),
        [] => "no jobs".to_owned(),
    }
}

/// A database error while queueing `batch` in the caller's transaction.
fn failed_in_transaction(batch: &str, error: sqlx::Error) -> StoreError {
    let missing = matches!(
        &error,
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "42P01" || c == "42703")
    );
    let hint = if missing {
        " (no bgtasks jobs table of this build is on the connection's search_path: connect \
         a PostgresJobStore to the database once, and use enqueue_in_schema when its \
         schema is not `public`)"
    } else {
        ""
    };
    let message =
        format!("could not queue {batch} in the caller's PostgreSQL transaction: {error}{hint}");
    let unavailable = is_unavailable(&error);
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(error));
    if unavailable {
        StoreError::Unavailable { message, source }
    } else {
        StoreError::Other { message, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_where_it_is() {
        let mut job = JobInfo::once("a", "t")
            .with_arg("plain", "text")
            .with_arg("deep", serde_json::json!({"list": ["ok", "b\u{0}d"]}));
        assert_eq!(nul_in(&job).as_deref(), Some("argument `deep.list[1]`"));
        job.description = "x\0".into();
        assert_eq!(nul_in(&job).as_deref(), Some("the description"));
        let clean = JobInfo::once("a", "t").with_arg("text", "\\u0000 is not NUL");
        assert_eq!(nul_in(&clean), None);
    }
}
