-- Classes: an instructor's group of students, joined with a short unguessable code. Decks are
-- public (everyone sees them: the shipped decks and admins' imports so far) or private to
-- their owner and the classes they are assigned to.
ALTER TABLE decks ADD COLUMN public INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0, 1));

CREATE TABLE classes (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    join_code  TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX classes_owner ON classes (owner_id);

CREATE TABLE class_members (
    class_id  INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, user_id)
) WITHOUT ROWID;
CREATE INDEX class_members_user ON class_members (user_id);

CREATE TABLE class_decks (
    class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    deck_id  INTEGER NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    PRIMARY KEY (class_id, deck_id)
) WITHOUT ROWID;
CREATE INDEX class_decks_deck ON class_decks (deck_id);
