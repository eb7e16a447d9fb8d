-- bgtasks schema version 3: actions stored with their job, attempts and rescues counted,
-- time limits, failure types in run logs, and the notification outbox (R31, R42-R46, R51).
-- Every job, run log and lock of version 2 is kept; the actions of each job move from
-- `bgtasks_job_actions` into its row.

-- A run's time limit in seconds (R44; NULL: the job type's), the job's actions as a JSON
-- array (R31), how many times it was claimed ever, and how many times in a row its run
-- was rescued since the last completion (R43). (Constant defaults: no table rewrite.)
ALTER TABLE bgtasks_jobs
    ADD COLUMN time_limit_secs BIGINT,
    ADD COLUMN actions JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN rescues INTEGER NOT NULL DEFAULT 0;

-- The actions move into their job's row. (A row of `bgtasks_job_actions` whose job does not
-- exist belonged to no job, and goes with the table.)
UPDATE bgtasks_jobs AS j SET actions = a.actions
FROM bgtasks_job_actions AS a
WHERE a.job_id = j.id;

DROP TABLE bgtasks_job_actions;

-- The failure type the finder gave a failed run (JobExceptionType bits; NULL for none),
-- and run logs by run time: what retention by age (R46) and the run history read.
ALTER TABLE bgtasks_logs ADD COLUMN exception_type INTEGER;
CREATE INDEX bgtasks_logs_run_time ON bgtasks_logs (run_time);

-- The outbox (R51): notifications a run's outcome called for, stored with that outcome
-- and delivered at least once by any node under fenced leases (tokens from
-- `bgtasks_lease_tokens`, like runs).
CREATE TABLE bgtasks_notifications (
    -- The notification's stable identity (the e-mail's Message-ID).
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    action TEXT NOT NULL,
    -- Failure 1, Success 2, Completion 3
    kind SMALLINT NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- Pending 0, Delivered 1, Failed 2
    state SMALLINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    last_error TEXT,
    -- The delivery in flight: held while lease_node is set.
    lease_node TEXT,
    lease_token BIGINT,
    lease_expires_at TIMESTAMPTZ
);

-- Claims: pending notifications by the time of their next attempt.
CREATE INDEX bgtasks_notifications_pending ON bgtasks_notifications (next_attempt_at)
    WHERE state = 0;

-- The throttle: the latest notifications of a job and action.
CREATE INDEX bgtasks_notifications_throttle ON bgtasks_notifications
    (job_id, action, created_at);

-- Listing, newest first.
CREATE INDEX bgtasks_notifications_created ON bgtasks_notifications (created_at DESC);

-- Pruning: finished notifications by the time they finished.
CREATE INDEX bgtasks_notifications_finished ON bgtasks_notifications (finished_at)
    WHERE state <> 0;

UPDATE bgtasks_schema SET version = 3;
