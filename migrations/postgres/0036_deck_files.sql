-- Files an Anki package brings that no card shows (issue 24, third part): no note names them
-- (a font or picture its templates use, a file left over), or cards may not show them (a type
-- not served here). Kept with the deck under their names in the package, by content hash in
-- `media` like every file, never served, and written back into the deck's Anki export.
CREATE TABLE deck_media (
    deck_id BIGINT NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    name    TEXT   NOT NULL,
    hash    TEXT   NOT NULL REFERENCES media (hash) ON DELETE CASCADE,
    PRIMARY KEY (deck_id, name)
);
CREATE INDEX deck_media_hash ON deck_media (hash);

-- A file goes when neither a card nor a deck keeps it any more.
CREATE OR REPLACE FUNCTION card_media_orphan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM media WHERE hash = OLD.hash
        AND NOT EXISTS (SELECT 1 FROM card_media m WHERE m.hash = OLD.hash)
        AND NOT EXISTS (SELECT 1 FROM deck_media d WHERE d.hash = OLD.hash);
    RETURN NULL;
END $$;
CREATE TRIGGER deck_media_orphan AFTER DELETE ON deck_media
    FOR EACH ROW EXECUTE FUNCTION card_media_orphan();

-- An import's preview keeps the names and hashes of those files (JSON) until it is confirmed.
ALTER TABLE pending_imports ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
