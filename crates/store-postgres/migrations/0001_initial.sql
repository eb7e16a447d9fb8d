-- bgtasks schema version 1: jobs with their leases, run logs, job actions and job locks.
-- Status, kind, priority and source are stored as the reference's numeric codes (R4, R5).

CREATE TABLE bgtasks_schema (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    version INTEGER NOT NULL
);
INSERT INTO bgtasks_schema (version) VALUES (1);

CREATE TABLE bgtasks_jobs (
    id TEXT PRIMARY KEY,
    tenant_id UUID,
    name TEXT NOT NULL,
    job_group TEXT NOT NULL,
    job_type TEXT NOT NULL,
    args JSONB NOT NULL,
    -- None -1, Completed 0, Queuing 5, Running 10, FailedRetry 15, Paused 20, Stopped 30
    status SMALLINT NOT NULL,
    description TEXT NOT NULL,
    creation_time TIMESTAMPTZ NOT NULL,
    begin_time TIMESTAMPTZ NOT NULL,
    end_time TIMESTAMPTZ,
    last_run_time TIMESTAMPTZ,
    next_run_time TIMESTAMPTZ,
    -- Once 0, Period 1, Persistent 2
    kind SMALLINT NOT NULL,
    cron TEXT,
    trigger_count INTEGER NOT NULL,
    try_count INTEGER NOT NULL,
    max_try_count INTEGER NOT NULL,
    max_count INTEGER NOT NULL,
    is_abandoned BOOLEAN NOT NULL,
    interval_secs BIGINT NOT NULL,
    -- Low 5, BelowNormal 10, Normal 15, AboveNormal 20, High 25
    priority SMALLINT NOT NULL,
    lock_timeout_secs BIGINT NOT NULL,
    node_name TEXT,
    result TEXT,
    -- None -1, User 0, System 10
    source SMALLINT NOT NULL,
    base_interval_secs BIGINT,
    -- The fencing token grows with every claim; a lease is held while lease_node is set.
    lease_token BIGINT NOT NULL DEFAULT 0,
    lease_node TEXT,
    lease_expires_at TIMESTAMPTZ,
    lease_due_at TIMESTAMPTZ
);

-- The claimable jobs, by due time: the earliest due time of a node, and the due range.
CREATE INDEX bgtasks_jobs_due ON bgtasks_jobs (next_run_time)
    WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15)
        AND next_run_time IS NOT NULL;

-- The claimable jobs in claim order (priority, then fewest tries, then earliest due).
CREATE INDEX bgtasks_jobs_claim ON bgtasks_jobs (priority DESC, try_count, next_run_time)
    WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15)
        AND next_run_time IS NOT NULL;

-- Leases, by expiry: what the rescuer looks at. (Its predicate is on lease_expires_at,
-- not lease_node, so that the planner never picks it to scan every lease when a batched
-- completion names its rows by id.)
CREATE INDEX bgtasks_jobs_leased ON bgtasks_jobs (lease_expires_at)
    WHERE lease_expires_at IS NOT NULL;

-- Completed jobs, by the time clean-up measures their age from.
CREATE INDEX bgtasks_jobs_completed ON bgtasks_jobs
    ((COALESCE(last_run_time, end_time, creation_time)), id)
    WHERE status = 0;

CREATE TABLE bgtasks_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id TEXT NOT NULL,
    job_name TEXT NOT NULL,
    job_group TEXT NOT NULL,
    job_type TEXT NOT NULL,
    message TEXT NOT NULL,
    run_time TIMESTAMPTZ NOT NULL,
    exception TEXT,
    tenant_id UUID,
    node TEXT NOT NULL,
    duration_ms BIGINT NOT NULL
);

CREATE INDEX bgtasks_logs_job ON bgtasks_logs (job_id, id DESC);

CREATE TABLE bgtasks_job_actions (
    job_id TEXT PRIMARY KEY,
    actions JSONB NOT NULL
);

CREATE TABLE bgtasks_locks (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Wake-ups: a job that becomes claimable (inserted, stored, triggered, retried, released,
-- rescued) notifies channel `bgtasks_due`. PostgreSQL sends a notification at commit and
-- folds identical ones of one transaction into one, so a batch costs one message.
CREATE FUNCTION bgtasks_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bgtasks_due', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER bgtasks_jobs_due_on_insert
    AFTER INSERT ON bgtasks_jobs
    FOR EACH ROW
    WHEN (NEW.lease_node IS NULL AND NOT NEW.is_abandoned AND NEW.status IN (5, 10, 15)
        AND NEW.next_run_time IS NOT NULL)
    EXECUTE FUNCTION bgtasks_notify_due();

CREATE TRIGGER bgtasks_jobs_due_on_update
    AFTER UPDATE ON bgtasks_jobs
    FOR EACH ROW
    WHEN (NEW.lease_node IS NULL AND NOT NEW.is_abandoned AND NEW.status IN (5, 10, 15)
        AND NEW.next_run_time IS NOT NULL
        AND (OLD.lease_node IS NOT NULL OR OLD.is_abandoned OR OLD.status NOT IN (5, 10, 15)
            OR OLD.next_run_time IS DISTINCT FROM NEW.next_run_time
            OR OLD.node_name IS DISTINCT FROM NEW.node_name))
    EXECUTE FUNCTION bgtasks_notify_due();
