-- "Study N more new cards today": a one-day extension of the new-card limit, like Anki's
-- custom study. It counts only on the study day it was granted for.
ALTER TABLE users ADD COLUMN extra_new_day INTEGER;
ALTER TABLE users ADD COLUMN extra_new INTEGER NOT NULL DEFAULT 0 CHECK (extra_new BETWEEN 0 AND 9999);
-- New cards are interleaved across decks by their position (the first card of every deck,
-- then the second ...); this index lets that query stop at the first unseen card.
CREATE INDEX cards_position ON cards (position, deck_id, id);
