-- Formatted cards (issue 24): each card says how its sides are stored. 'text' is every card
-- made before, shown exactly as it was; 'html' is sanitised HTML (src/markup.rs), passed
-- through the allow-list again each time a page shows it.
ALTER TABLE cards ADD COLUMN format TEXT NOT NULL DEFAULT 'text' CHECK (format IN ('text', 'html'));

-- Media files that cards show: stored once by the SHA-256 of their bytes (lowercase hex), in
-- the database so that every app server sharing it serves them. The type is decided from the
-- bytes (src/media.rs). `uploaded_by` may see a file no card uses yet (an import's preview).
CREATE TABLE media (
    hash         TEXT   NOT NULL PRIMARY KEY,
    content_type TEXT   NOT NULL,
    bytes        BYTEA  NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL
);

-- Which cards use which files: who may see a file (those who may see one of its cards), and
-- when it goes (with the last card that uses it).
CREATE TABLE card_media (
    card_id BIGINT NOT NULL REFERENCES cards (id) ON DELETE CASCADE,
    hash    TEXT   NOT NULL REFERENCES media (hash) ON DELETE CASCADE,
    PRIMARY KEY (card_id, hash)
);
CREATE INDEX card_media_hash ON card_media (hash);

-- A file no card uses any more is removed with its last card.
CREATE FUNCTION card_media_orphan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM media WHERE hash = OLD.hash
        AND NOT EXISTS (SELECT 1 FROM card_media m WHERE m.hash = OLD.hash);
    RETURN NULL;
END $$;
CREATE TRIGGER card_media_orphan AFTER DELETE ON card_media
    FOR EACH ROW EXECUTE FUNCTION card_media_orphan();
