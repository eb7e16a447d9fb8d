-- bgtasks SQLite schema, version 2: the store contract of bgtasks-store.
--
-- Every job, run log, action and lock of version 1 is kept. Jobs gain the revision of
-- their definition, the interruption asked of a run in flight and a pending trigger;
-- lease tokens come from one counter for the whole store (R38) instead of a per-row
-- counter; the nodes sharing the file are registered; a counter tells other processes
-- that a running job was paused, stopped or removed.

-- The revision of the job's definition: 1 when inserted, one more with every update.
ALTER TABLE bgtasks_jobs ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
-- An interruption asked of the run in flight, not yet acted on by its node:
-- NULL none, 20 Paused, 30 Stopped (the status codes). Only set while a lease is held.
ALTER TABLE bgtasks_jobs ADD COLUMN interrupt INTEGER;
-- 1 when the job was triggered during its run: it runs once more when the run ends.
-- Only set while a lease is held.
ALTER TABLE bgtasks_jobs ADD COLUMN triggered INTEGER NOT NULL DEFAULT 0;

-- Lease tokens: the last one handed out. A claim bumps it inside its `BEGIN IMMEDIATE`,
-- so a token is never handed out twice, not even for a job removed and queued again
-- under its id. Seeded above every token version 1 handed out.
CREATE TABLE bgtasks_lease_tokens (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
) STRICT;

INSERT INTO bgtasks_lease_tokens (id, last)
SELECT 1, MAX(COALESCE(MAX(fencing_token), 0), COALESCE(MAX(lease_token), 0))
FROM bgtasks_jobs;

-- The per-row counter of version 1, replaced by bgtasks_lease_tokens.
ALTER TABLE bgtasks_jobs DROP COLUMN fencing_token;

-- Bumped by every pause, stop or removal of a job that a node is running, so that the
-- other processes on the file (which watch it when the file changes) make their nodes
-- renew at once rather than at their next renewal.
CREATE TABLE bgtasks_control (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;

INSERT INTO bgtasks_control (id, version) VALUES (1, 0);

-- The nodes sharing the file, as their last heartbeat told.
CREATE TABLE bgtasks_nodes (
    node         TEXT    NOT NULL PRIMARY KEY,
    job_types    TEXT    NOT NULL,                  -- a JSON array of job type names
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    running      INTEGER NOT NULL,
    info         TEXT    NOT NULL                   -- JSON
) STRICT;
