-- studyhall schema, version 1. Landed migrations are never edited: add a new file instead.
-- Times are Unix seconds (UTC). Study days are whole days since 1970-01-01 in the
-- user's own calendar (time zone + day start hour), computed in Rust when a row is written.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'student'
                            CHECK (role IN ('admin', 'instructor', 'student')),
    time_zone       TEXT    NOT NULL DEFAULT 'UTC',
    day_starts_hour INTEGER NOT NULL DEFAULT 4 CHECK (day_starts_hour BETWEEN 0 AND 23),
    new_per_day     INTEGER NOT NULL DEFAULT 20 CHECK (new_per_day BETWEEN 0 AND 9999),
    created_at      INTEGER NOT NULL
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    -- SHA-256 of the cookie's token: a stolen database holds no usable session.
    token_hash  BLOB    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE decks (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT    NOT NULL DEFAULT '',
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY,
    deck_id     INTEGER NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    front       TEXT    NOT NULL,
    back        TEXT    NOT NULL,
    kind        TEXT    NOT NULL DEFAULT 'basic' CHECK (kind IN ('basic', 'generated')),
    generator   TEXT,
    position    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Re-importing a file must not duplicate its cards.
CREATE UNIQUE INDEX cards_unique_text ON cards (deck_id, front, back);
CREATE INDEX cards_deck_position ON cards (deck_id, position);

-- The scheduler's current state of one card for one user. Absent row = new card.
CREATE TABLE review_states (
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_id             INTEGER NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    repetitions         INTEGER NOT NULL,
    easiness_hundredths INTEGER NOT NULL,
    interval_days       INTEGER NOT NULL,
    due_day             INTEGER NOT NULL,
    lapses              INTEGER NOT NULL DEFAULT 0,
    last_reviewed_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, card_id)
) WITHOUT ROWID;
CREATE INDEX review_states_due ON review_states (user_id, due_day);

-- Append-only history. kind 'grade' moved the schedule; 'repeat' is a same-day repeat of a
-- card graded below 4 (logged, schedule untouched); 'undo' takes back the event in `undoes`
-- and restores its before-state. Before-columns are NULL when the card was new.
CREATE TABLE reviews (
    id                    INTEGER PRIMARY KEY,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    card_id               INTEGER NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    kind                  TEXT    NOT NULL CHECK (kind IN ('grade', 'repeat', 'undo')),
    undoes                INTEGER REFERENCES reviews (id),
    reviewed_at           INTEGER NOT NULL,
    study_day             INTEGER NOT NULL,
    quality               INTEGER CHECK (quality BETWEEN 0 AND 5),
    repetitions_before    INTEGER,
    easiness_before       INTEGER,
    interval_before       INTEGER,
    due_day_before        INTEGER,
    lapses_before         INTEGER,
    last_reviewed_before  INTEGER,
    repetitions_after     INTEGER,
    easiness_after        INTEGER,
    interval_after        INTEGER,
    due_day_after         INTEGER,
    response_ms           INTEGER,
    variant_seed          TEXT,
    answer                TEXT,
    suggested_quality     INTEGER
);
CREATE INDEX reviews_user_day ON reviews (user_id, study_day);
CREATE INDEX reviews_user_card ON reviews (user_id, card_id);
CREATE UNIQUE INDEX reviews_undoes ON reviews (undoes) WHERE undoes IS NOT NULL;

-- Facts about this database itself, e.g. whether the course deck was imported on first start.
CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
