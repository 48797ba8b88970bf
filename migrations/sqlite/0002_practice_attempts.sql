-- Answers checked for generated practice problems, from /practice drills and from generated
-- cards in reviews. The variant is fixed by (family, seed), so the attempt stores no copy of
-- the problem; what the student typed and the verdict are kept for their history and for the
-- class's misconception statistics.
CREATE TABLE practice_attempts (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family            TEXT    NOT NULL,
    seed              INTEGER NOT NULL,
    answer            TEXT    NOT NULL,
    correct           INTEGER NOT NULL CHECK (correct IN (0, 1)),
    misconception     TEXT,
    suggested_quality INTEGER NOT NULL CHECK (suggested_quality BETWEEN 0 AND 5),
    response_ms       INTEGER,
    card_id           INTEGER REFERENCES cards (id) ON DELETE SET NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX practice_attempts_user ON practice_attempts (user_id, id);
CREATE INDEX practice_attempts_family ON practice_attempts (family, misconception);
