-- Cloze notes (issue 24): one note's text with its deletions ({{c1::answer}},
-- {{c1::answer::hint}}) and an optional extra shown on the back. Each deletion number is a
-- card of its own (`cards.note_id`, `cards.cloze`) with its own schedule; editing the note
-- rewrites the cards of the numbers that remain in place (same ids, so the same progress),
-- adds the new numbers and deletes the ones gone. `format` is how the text was written
-- (its cards are stored as HTML either way).
CREATE TABLE cloze_notes (
    id         INTEGER PRIMARY KEY,
    deck_id    INTEGER NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    extra      TEXT    NOT NULL DEFAULT '',
    format     TEXT    NOT NULL DEFAULT 'html' CHECK (format IN ('text', 'html')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX cloze_notes_deck ON cloze_notes (deck_id);

ALTER TABLE cards ADD COLUMN note_id INTEGER REFERENCES cloze_notes (id) ON DELETE CASCADE;
ALTER TABLE cards ADD COLUMN cloze INTEGER;
CREATE UNIQUE INDEX cards_note_cloze ON cards (note_id, cloze);

-- A note goes with its last card.
CREATE TRIGGER cloze_note_orphan AFTER DELETE ON cards WHEN OLD.note_id IS NOT NULL BEGIN
    DELETE FROM cloze_notes WHERE id = OLD.note_id
        AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.note_id = OLD.note_id);
END;
