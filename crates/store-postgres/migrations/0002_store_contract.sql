-- bgtasks schema version 2: the store contract of bgtasks-store. Every job, run log, action
-- and lock of version 1 is kept.

-- The definition's revision (1 when inserted, one more with every definition update), and
-- what a running job's node learns at its next renewal: a pause or stop requested during
-- the run (the status code it asked for: 20 Paused, 30 Stopped; NULL for none) and a
-- trigger that came during the run (R39, R40). Both are set only while a lease is held and
-- cleared together with the lease. (Constant defaults: no table rewrite.)
ALTER TABLE bgtasks_jobs
    ADD COLUMN revision BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN interrupt SMALLINT CHECK (interrupt IN (20, 30)),
    ADD COLUMN triggered BOOLEAN NOT NULL DEFAULT FALSE;

-- Lease tokens for the lifetime of the store (R38), not per row: every claimed run takes
-- the next value, so a job removed and queued again under its id never sees an old
-- token. It starts past every token version 1 handed out (those counted per row).
-- `lease_token` keeps the token of the lease held (or of the last one).
CREATE SEQUENCE bgtasks_lease_tokens AS BIGINT MINVALUE 1;
SELECT setval('bgtasks_lease_tokens',
    COALESCE((SELECT max(lease_token) FROM bgtasks_jobs), 0) + 1, false);

-- The nodes sharing the store: their last heartbeat and the job types they run (R41).
CREATE TABLE bgtasks_nodes (
    node TEXT PRIMARY KEY,
    -- A JSON array of the job type names the node has registered.
    job_types JSONB NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    running BIGINT NOT NULL,
    info JSONB NOT NULL
);

-- Jobs scheduled nowhere (no next run time, no lease, active): what polling
-- (`publish_waiting`) and checking (`stop_lost`) look at. Claimed, completed and
-- scheduled rows are not in it, so claims and completions do not maintain it.
CREATE INDEX bgtasks_jobs_unscheduled ON bgtasks_jobs (priority DESC, try_count, id)
    WHERE next_run_time IS NULL AND lease_node IS NULL AND status IN (5, 10, 15);

UPDATE bgtasks_schema SET version = 2;
