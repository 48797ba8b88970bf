-- no-transaction
-- Deck names are unique per owner, not site-wide: a site-wide UNIQUE let anyone discover the
-- names of other instructors' private decks by trying to create one ("already exists").
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt the way SQLite's
-- documentation prescribes (foreign keys off, so dropping the old table cascades nothing).
--
-- Also: only a deck's owner (or an admin) may assign a private deck to a class. Assignments
-- of another instructor's private deck, which an earlier version allowed, are removed.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE decks_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL COLLATE NOCASE,
    description TEXT    NOT NULL DEFAULT '',
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    public      INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0, 1))
);
INSERT INTO decks_new (id, name, description, owner_id, created_at, public)
    SELECT id, name, description, owner_id, created_at, public FROM decks;
DROP TABLE decks;
ALTER TABLE decks_new RENAME TO decks;
-- Shipped decks have no owner; they share the 0 slot so they stay unique among themselves.
CREATE UNIQUE INDEX decks_owner_name ON decks (COALESCE(owner_id, 0), name);
DELETE FROM class_decks
WHERE EXISTS (
    SELECT 1 FROM decks d JOIN classes c ON c.id = class_decks.class_id
    WHERE d.id = class_decks.deck_id AND d.public = 0
      AND d.owner_id IS NOT c.owner_id
      AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.owner_id AND u.role = 'admin')
);
COMMIT;
PRAGMA foreign_keys = ON;
