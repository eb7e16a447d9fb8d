//! Listing jobs: the query's filters, sort and page as SQL, every value bound (never
//! written into the statement), with the results of `rules::matches_query` and
//! `rules::compare_jobs`: text compared by byte order (`COLLATE "C"`, as Rust compares
//! strings), next and last run times without one last in either direction, ties by id.

use bgtasks_store::{JobPage, JobQuery, JobSortField, StoreError, TimeRange};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::rows::{code, limit, record_columns, record_from_row};
use crate::store::PostgresJobStore;

/// Appends ` AND <column> >= from AND <column> <= to` for the ends the range has (a
/// missing time, NULL, is then out, as `TimeRange::contains` says).
fn push_range(sql: &mut QueryBuilder<Postgres>, column: &str, range: &TimeRange) {
    if let Some(from) = range.from {
        sql.push(format_args!(" AND {column} >= "));
        sql.push_bind(from);
    }
    if let Some(to) = range.to {
        sql.push(format_args!(" AND {column} <= "));
        sql.push_bind(to);
    }
}

/// Appends the query's filters, as ` AND …` conditions after a `WHERE TRUE`.
pub(crate) fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &JobQuery) {
    if let Some(text) = query.text_lowercase() {
        // A substring of any of the texts, case-insensitively: `strpos` needs no escaping
        // of LIKE's wildcards.
        sql.push(" AND (");
        for (i, column) in ["id", "name", "job_group", "job_type", "description"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push(format_args!("strpos(lower({column}), "));
            sql.push_bind(text.clone());
            sql.push(") > 0");
        }
        sql.push(")");
    }
    let exact = [
        ("name", &query.name),
        ("job_group", &query.group),
        ("job_type", &query.job_type),
        ("node_name", &query.node_name),
    ];
    for (column, value) in exact {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} = "));
            sql.push_bind(value.clone());
        }
    }
    if !query.statuses.is_empty() {
        let codes: Vec<i16> = query.statuses.iter().map(|s| code(s.code())).collect();
        sql.push(" AND status = ANY(");
        sql.push_bind(codes);
        sql.push(")");
    }
    push_range(sql, "begin_time", &query.begin_time);
    push_range(sql, "end_time", &query.end_time);
    push_range(sql, "last_run_time", &query.last_run_time);
    push_range(sql, "creation_time", &query.creation_time);
    if let Some(abandoned) = query.abandoned {
        sql.push(" AND is_abandoned = ");
        sql.push_bind(abandoned);
    }
    let coded = [
        ("kind", query.kind.map(|k| k.code())),
        ("priority", query.priority.map(|p| p.code())),
        ("source", query.source.map(|s| s.code())),
    ];
    for (column, value) in coded {
        if let Some(value) = value {
            sql.push(format_args!(" AND {column} = "));
            sql.push_bind(code(value));
        }
    }
    match query.running {
        Some(true) => {
            sql.push(" AND lease_node IS NOT NULL");
        }
        Some(false) => {
            sql.push(" AND lease_node IS NULL");
        }
        None => {}
    }
}

/// The ORDER BY of the query's sort: the field, its direction, then the id ascending.
fn order_by(query: &JobQuery) -> String {
    let column = match query.sort.field {
        JobSortField::CreationTime => "creation_time",
        JobSortField::Id => "id COLLATE \"C\"",
        JobSortField::Name => "name COLLATE \"C\"",
        JobSortField::Group => "job_group COLLATE \"C\"",
        JobSortField::JobType => "job_type COLLATE \"C\"",
        JobSortField::Status => "status",
        JobSortField::Priority => "priority",
        JobSortField::NextRunTime => "next_run_time",
        JobSortField::LastRunTime => "last_run_time",
        JobSortField::TriggerCount => "trigger_count",
        JobSortField::TryCount => "try_count",
    };
    let direction = if query.sort.descending { "DESC" } else { "ASC" };
    // Only the run times can be NULL; they sort last either way.
    format!(" ORDER BY {column} {direction} NULLS LAST, id COLLATE \"C\" ASC")
}

impl PostgresJobStore {
    /// One page of the jobs `query` selects, and how many match.
    pub(crate) async fn list_page(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        let fail = self.fail("list jobs");
        let page_size = query.page_size();
        let mut items = Vec::new();
        let mut total = None;
        if page_size > 0 {
            let mut sql = QueryBuilder::<Postgres>::new(concat!(
                "SELECT ",
                record_columns!(),
                ", count(*) OVER () AS total FROM bgtasks_jobs WHERE TRUE"
            ));
            push_filters(&mut sql, query);
            sql.push(order_by(query));
            sql.push(" LIMIT ");
            sql.push_bind(limit(page_size));
            sql.push(" OFFSET ");
            sql.push_bind(limit(query.offset));
            let rows = sql
                .build()
                .fetch_all(&self.inner.pool)
                .await
                .map_err(&fail)?;
            if let Some(first) = rows.first() {
                total = Some(first.try_get::<i64, _>("total").map_err(&fail)?);
            } else if query.offset == 0 {
                total = Some(0);
            }
            items = rows.iter().map(record_from_row).collect::<Result<_, _>>()?;
        }
        let total = match total {
            Some(total) => total,
            // No row to read the total from (a count only, or a page past the end).
            None => {
                let mut sql =
                    QueryBuilder::<Postgres>::new("SELECT count(*) FROM bgtasks_jobs WHERE TRUE");
                push_filters(&mut sql, query);
                sql.build_query_scalar::<i64>()
                    .fetch_one(&self.inner.pool)
                    .await
                    .map_err(&fail)?
            }
        };
        Ok(JobPage {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}
