-- A student's report of a problem with a card ("the answer is wrong"), for the instructor's
-- triage list. Resolved reports are kept with who resolved them and when.
CREATE TABLE card_reports (
    id          INTEGER PRIMARY KEY,
    card_id     INTEGER NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX card_reports_open ON card_reports (card_id) WHERE resolved_at IS NULL;
