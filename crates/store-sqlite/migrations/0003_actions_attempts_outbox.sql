-- bgtasks SQLite schema, version 3: store contract v3 of bgtasks-store.
--
-- Every job, run log and lock of version 2 is kept. A job's actions move from their own
-- table into the job's row (a JSON column), beside its time limit; jobs count their
-- claims (attempts) and the rescues of their runs in a row; run logs keep the failure
-- type of their error; the notifications that runs' outcomes call for are kept in an
-- outbox (R51).

-- The longest one run may take, in seconds (R44); NULL: the job type's limit.
ALTER TABLE bgtasks_jobs ADD COLUMN time_limit INTEGER;
-- The job's actions (R31): a JSON array of {name, parameters}.
ALTER TABLE bgtasks_jobs ADD COLUMN actions TEXT NOT NULL DEFAULT '[]';
-- How many times the job was claimed, ever (R43).
ALTER TABLE bgtasks_jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- How many times in a row its run was rescued since the last completion (R43).
ALTER TABLE bgtasks_jobs ADD COLUMN rescues INTEGER NOT NULL DEFAULT 0;

-- The actions of version 2's table move into their jobs. Actions of jobs that no longer
-- exist have nothing to act for and go with the table; so does a value that is not a JSON
-- array (version 2 could not read it either), rather than make its job undecodable.
UPDATE bgtasks_jobs SET actions = a.actions
FROM bgtasks_job_actions AS a
WHERE a.job_id = bgtasks_jobs.id
  AND json_valid(a.actions) AND json_type(a.actions) = 'array';

DROP TABLE bgtasks_job_actions;

-- The failure type of a failed run (the bits of JobExceptionType); NULL for a success and
-- for a run interrupted before its end.
ALTER TABLE bgtasks_job_logs ADD COLUMN exception_type INTEGER;

-- Retention by age (R46) and the run history: logs by run time.
CREATE INDEX bgtasks_job_logs_run_time ON bgtasks_job_logs (run_time);

-- The outbox (R51): notifications stored with the outcome that called for them, and
-- delivered under leases whose tokens come from bgtasks_lease_tokens.
CREATE TABLE bgtasks_notifications (
    id               TEXT    NOT NULL PRIMARY KEY,  -- its stable identity (Message-ID)
    job_id           TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    kind             INTEGER NOT NULL,              -- Failure 1, Success 2, Completion 3
    payload          TEXT    NOT NULL,              -- JSON
    created_at       INTEGER NOT NULL,
    state            INTEGER NOT NULL,              -- Pending 0, Delivered 1, Failed 2
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    finished_at      INTEGER,
    last_error       TEXT,
    -- The delivery in flight; all NULL when no node holds the notification.
    lease_node       TEXT,
    lease_token      INTEGER,
    lease_expires_at INTEGER
) STRICT;

-- Claims: pending notifications by the time their next attempt is due.
CREATE INDEX bgtasks_notifications_claim
    ON bgtasks_notifications (next_attempt_at)
    WHERE state = 0;

-- The throttle: the latest notification of a job and action.
CREATE INDEX bgtasks_notifications_throttle
    ON bgtasks_notifications (job_id, action, created_at);

-- Listing, newest first.
CREATE INDEX bgtasks_notifications_created
    ON bgtasks_notifications (created_at DESC, id DESC);

-- Retention: finished notifications by the time they finished.
CREATE INDEX bgtasks_notifications_finished
    ON bgtasks_notifications (finished_at)
    WHERE state <> 0;
