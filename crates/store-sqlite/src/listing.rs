//! Listing jobs: the query's filters, order and page as SQL, every value bound (never
//! written into the statement). Agrees with `rules::matches_query` and
//! `rules::compare_jobs`; one difference is SQLite's: `lower()` folds ASCII letters
//! only, so the text filter ignores the case of ASCII letters only.

use bgtasks_store::{JobPage, JobQuery, JobSortField, StoreError, TimeRange};
use sqlx::{QueryBuilder, Sqlite};

use crate::rows::{decode_record, limit, micros, record_columns};
use crate::store::Inner;

/// The columns the text filter searches.
const TEXT_COLUMNS: [&str; 5] = ["id", "name", "job_group", "job_type", "description"];

/// One page of the jobs `query` selects, and how many match in all (both read in one
/// read transaction, so that they agree).
pub(crate) async fn list(inner: &Inner, query: &JobQuery) -> Result<JobPage, StoreError> {
    let failed = inner.failed("list jobs");
    let text = query.text_lowercase();
    let mut tx = inner.pool.begin().await.map_err(&failed)?;

    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM bgtasks_jobs");
    push_filters(&mut count, query, text.as_deref());
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(&mut *tx)
        .await
        .map_err(&failed)?;

    let page_size = query.page_size();
    let mut items = Vec::new();
    if page_size > 0 && u64::try_from(query.offset).unwrap_or(u64::MAX) < total.unsigned_abs() {
        let mut select = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            record_columns!(),
            " FROM bgtasks_jobs"
        ));
        push_filters(&mut select, query, text.as_deref());
        push_order(&mut select, query);
        select
            .push(" LIMIT ")
            .push_bind(limit(page_size))
            .push(" OFFSET ")
            .push_bind(limit(query.offset));
        let rows = select.build().fetch_all(&mut *tx).await.map_err(&failed)?;
        items = rows
            .iter()
            .map(|row| decode_record(row, &inner.db))
            .collect::<Result<_, _>>()?;
    }
    tx.commit().await.map_err(&failed)?;
    Ok(JobPage {
        items,
        total: total.unsigned_abs(),
    })
}

/// Appends ` WHERE …` with every filter the query sets (nothing when it sets none).
fn push_filters(sql: &mut QueryBuilder<Sqlite>, query: &JobQuery, text: Option<&str>) {
    let mut filters = Filters { sql, any: false };
    if let Some(text) = text {
        filters.next();
        filters.sql.push("(");
        for (i, column) in TEXT_COLUMNS.iter().enumerate() {
            if i > 0 {
                filters.sql.push(" OR ");
            }
            filters
                .sql
                .push(format_args!("instr(lower({column}), "))
                .push_bind(text.to_owned())
                .push(") > 0");
        }
        filters.sql.push(")");
    }
    filters.equals("name", query.name.clone());
    filters.equals("job_group", query.group.clone());
    filters.equals("job_type", query.job_type.clone());
    if !query.statuses.is_empty() {
        filters.next();
        filters.sql.push("status IN (");
        let mut codes = filters.sql.separated(", ");
        for status in &query.statuses {
            codes.push_bind(i64::from(status.code()));
        }
        filters.sql.push(")");
    }
    filters.within("begin_time", query.begin_time);
    filters.within("end_time", query.end_time);
    filters.within("last_run_time", query.last_run_time);
    filters.within("creation_time", query.creation_time);
    filters.equals("is_abandoned", query.abandoned.map(i64::from));
    filters.equals("kind", query.kind.map(|k| i64::from(k.code())));
    filters.equals("priority", query.priority.map(|p| i64::from(p.code())));
    filters.equals("source", query.source.map(|s| i64::from(s.code())));
    filters.equals("node_name", query.node_name.clone());
    if let Some(running) = query.running {
        filters.next();
        filters.sql.push(if running {
            "lease_token IS NOT NULL"
        } else {
            "lease_token IS NULL"
        });
    }
}

/// The WHERE clause being built: each filter is joined to the previous ones by `AND`.
struct Filters<'a> {
    sql: &'a mut QueryBuilder<Sqlite>,
    any: bool,
}

impl Filters<'_> {
    /// Starts the next filter.
    fn next(&mut self) {
        self.sql.push(if self.any { " AND " } else { " WHERE " });
        self.any = true;
    }

    /// `column = value`, when a value is given.
    fn equals<T>(&mut self, column: &'static str, value: Option<T>)
    where
        T: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + 'static,
    {
        if let Some(value) = value {
            self.next();
            self.sql.push(column).push(" = ").push_bind(value);
        }
    }

    /// The column's time in the range (a missing time is in an open range only).
    fn within(&mut self, column: &'static str, range: TimeRange) {
        if let Some(from) = range.from {
            self.next();
            self.sql.push(column).push(" >= ").push_bind(micros(from));
        }
        if let Some(to) = range.to {
            self.next();
            self.sql.push(column).push(" <= ").push_bind(micros(to));
        }
    }
}

/// Appends the query's order: its field and direction, missing run times last in either
/// direction, then the id ascending.
fn push_order(sql: &mut QueryBuilder<Sqlite>, query: &JobQuery) {
    let direction = if query.sort.descending { "DESC" } else { "ASC" };
    let column = match query.sort.field {
        JobSortField::CreationTime => "creation_time",
        JobSortField::Id => "id",
        JobSortField::Name => "name",
        JobSortField::Group => "job_group",
        JobSortField::JobType => "job_type",
        JobSortField::Status => "status",
        JobSortField::Priority => "priority",
        JobSortField::NextRunTime => "next_run_time",
        JobSortField::LastRunTime => "last_run_time",
        JobSortField::TriggerCount => "trigger_count",
        JobSortField::TryCount => "try_count",
    };
    sql.push(" ORDER BY ");
    if matches!(
        query.sort.field,
        JobSortField::NextRunTime | JobSortField::LastRunTime
    ) {
        sql.push(format_args!("{column} IS NULL, "));
    }
    sql.push(format_args!("{column} {direction}, id ASC"));
}
