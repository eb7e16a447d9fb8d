-- bgtasks SQLite schema, version 1.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC): exact, and sortable as
-- numbers. Status, kind, priority and source are the reference's numeric codes (R4, R5).

CREATE TABLE IF NOT EXISTS bgtasks_jobs (
    id               TEXT    NOT NULL PRIMARY KEY,
    tenant_id        TEXT,                          -- UUID, hyphenated
    name             TEXT    NOT NULL,
    job_group        TEXT    NOT NULL,
    job_type         TEXT    NOT NULL,
    args             TEXT    NOT NULL,              -- a JSON object
    status           INTEGER NOT NULL,              -- R4 code
    description      TEXT    NOT NULL,
    creation_time    INTEGER NOT NULL,
    begin_time       INTEGER NOT NULL,
    end_time         INTEGER,
    last_run_time    INTEGER,
    next_run_time    INTEGER,
    kind             INTEGER NOT NULL,              -- Once 0, Period 1, Persistent 2
    cron             TEXT,
    trigger_count    INTEGER NOT NULL,
    try_count        INTEGER NOT NULL,
    max_try_count    INTEGER NOT NULL,
    max_count        INTEGER NOT NULL,
    is_abandoned     INTEGER NOT NULL,              -- 0 or 1
    interval_secs    INTEGER NOT NULL,
    priority         INTEGER NOT NULL,              -- R5 code
    lock_timeout     INTEGER NOT NULL,
    node_name        TEXT,
    result           TEXT,
    source           INTEGER NOT NULL,              -- None -1, User 0, System 10
    base_interval    INTEGER,
    -- Grows with every claim; a lease's token is the value it had when claimed.
    fencing_token    INTEGER NOT NULL DEFAULT 0,
    -- The lease of the run in flight; all NULL when no run holds the job.
    lease_token      INTEGER,
    lease_node       TEXT,
    lease_expires_at INTEGER,
    lease_due_at     INTEGER
) STRICT;

-- Claims: claimable runs in claim order. A claim walks the (priority, try_count) groups
-- from the best down and, in each, seeks the runs due by now in due-time order, so it
-- reads only the runs it takes, however many others are due or scheduled.
CREATE INDEX IF NOT EXISTS bgtasks_jobs_claim
    ON bgtasks_jobs (priority DESC, try_count, next_run_time)
    WHERE lease_token IS NULL AND is_abandoned = 0 AND status IN (5, 10, 15)
      AND next_run_time IS NOT NULL;

-- The next due time of a node: claimable runs by due time.
CREATE INDEX IF NOT EXISTS bgtasks_jobs_due
    ON bgtasks_jobs (next_run_time, node_name)
    WHERE lease_token IS NULL AND is_abandoned = 0 AND status IN (5, 10, 15)
      AND next_run_time IS NOT NULL;

-- The rescuer: leases by expiry.
CREATE INDEX IF NOT EXISTS bgtasks_jobs_leases
    ON bgtasks_jobs (lease_expires_at)
    WHERE lease_token IS NOT NULL;

-- list_waiting, list_period, list_running.
CREATE INDEX IF NOT EXISTS bgtasks_jobs_status
    ON bgtasks_jobs (status, priority DESC, try_count, next_run_time);

-- Clean-up: Completed jobs by the time their age is measured from.
CREATE INDEX IF NOT EXISTS bgtasks_jobs_completed
    ON bgtasks_jobs (COALESCE(last_run_time, end_time, creation_time))
    WHERE status = 0;

CREATE TABLE IF NOT EXISTS bgtasks_job_logs (
    id          INTEGER NOT NULL PRIMARY KEY,       -- insertion order
    job_id      TEXT    NOT NULL,
    job_name    TEXT    NOT NULL,
    job_group   TEXT    NOT NULL,
    job_type    TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    run_time    INTEGER NOT NULL,
    exception   TEXT,
    tenant_id   TEXT,
    node        TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS bgtasks_job_logs_job ON bgtasks_job_logs (job_id, id DESC);

CREATE TABLE IF NOT EXISTS bgtasks_job_actions (
    job_id  TEXT NOT NULL PRIMARY KEY,
    actions TEXT NOT NULL                           -- a JSON array of {name, parameters}
) STRICT;

CREATE TABLE IF NOT EXISTS bgtasks_locks (
    key        TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,                    -- the holding provider's id
    expires_at INTEGER NOT NULL
) STRICT;
