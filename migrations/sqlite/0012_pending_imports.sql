-- An import waits here between its preview and the instructor's "Import": the parsed cards
-- (JSON), not the file, so what is imported is exactly what the preview showed. One per user;
-- a newer preview replaces it, and the server drops those older than a day.
CREATE TABLE pending_imports (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    token      TEXT    NOT NULL,
    deck_name  TEXT    NOT NULL,
    cards      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
