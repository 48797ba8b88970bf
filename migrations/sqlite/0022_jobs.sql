-- Background work that runs once across the app servers of a site (`src/jobs`): the fits of
-- FSRS to a class or a student today, mail and more later. A row is asked for (queued), taken
-- by one server (running: `claimed_by` names it, `lease_until` is how long the claim holds
-- without news from it), and ends done or failed. A server that stops mid-job stops renewing
-- its lease; once the lease has run out another server takes the job again, its `attempts`
-- counting the tries (and fencing off the earlier runner's writes). Times are Unix
-- milliseconds of the servers' own (system) clocks. `progress_done` of `progress_total` is
-- what a page shows while the job runs, whichever server runs it; `key` says what the job is
-- about (a class's id for its fit), and one kind has at most one open job per key, so that
-- asking twice queues once. Finished rows are kept a while to show why a job failed, then
-- deleted.
CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_after      INTEGER NOT NULL,
    claimed_by     TEXT,
    lease_until    INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    progress_done  INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    error          TEXT
);

-- Asking twice queues once: at most one open job of a kind for a key (and the page's look-up).
CREATE UNIQUE INDEX jobs_open_key ON jobs (kind, key) WHERE state IN ('queued', 'running');
-- The claim: the oldest queued job.
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
-- Leases that ran out.
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
-- The clean-up of finished rows.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
