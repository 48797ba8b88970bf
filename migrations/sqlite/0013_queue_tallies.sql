-- The review page shows how many cards are due and how many are new on every view. Counting
-- them means stepping through every schedule a student has (hundreds to thousands of index
-- entries) on each page; these tallies keep the answer in a few rows instead. Triggers keep
-- them exact on every write path, this server's or another process's (the command-line
-- import), so no cache has to be told about a change; a property test compares them with a
-- recount after random sequences of grades, undos, imports, edits and deletions.

-- A user's schedules per due day and deck. Rows that reach zero are removed where that is
-- cheap (a single schedule's change) and left at zero by bulk changes, where they cost a sum
-- of one extra zero.
CREATE TABLE due_tally (
    user_id INTEGER NOT NULL,
    due_day INTEGER NOT NULL,
    deck_id INTEGER NOT NULL,
    cards   INTEGER NOT NULL,
    PRIMARY KEY (user_id, due_day, deck_id)
) WITHOUT ROWID;

-- A user's schedules per deck: the cards they have studied there.
CREATE TABLE studied_tally (
    user_id INTEGER NOT NULL,
    deck_id INTEGER NOT NULL,
    cards   INTEGER NOT NULL,
    PRIMARY KEY (user_id, deck_id)
) WITHOUT ROWID;

-- Cards per deck.
CREATE TABLE deck_tally (
    deck_id INTEGER PRIMARY KEY,
    cards   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO due_tally (user_id, due_day, deck_id, cards)
    SELECT s.user_id, s.due_day, c.deck_id, COUNT(*)
    FROM review_states s JOIN cards c ON c.id = s.card_id
    GROUP BY s.user_id, s.due_day, c.deck_id;
INSERT INTO studied_tally (user_id, deck_id, cards)
    SELECT s.user_id, c.deck_id, COUNT(*)
    FROM review_states s JOIN cards c ON c.id = s.card_id
    GROUP BY s.user_id, c.deck_id;
INSERT INTO deck_tally (deck_id, cards)
    SELECT deck_id, COUNT(*) FROM cards GROUP BY deck_id;

-- Deleting or moving a card finds its schedules through this index (the foreign key's
-- cascade used to scan every schedule for each deleted card).
CREATE INDEX review_states_card ON review_states (card_id);

CREATE TRIGGER review_states_tally_insert AFTER INSERT ON review_states BEGIN
    INSERT INTO due_tally (user_id, due_day, deck_id, cards)
        SELECT NEW.user_id, NEW.due_day, c.deck_id, 1 FROM cards c WHERE c.id = NEW.card_id
        ON CONFLICT DO UPDATE SET cards = cards + 1;
    INSERT INTO studied_tally (user_id, deck_id, cards)
        SELECT NEW.user_id, c.deck_id, 1 FROM cards c WHERE c.id = NEW.card_id
        ON CONFLICT DO UPDATE SET cards = cards + 1;
END;

-- When a card is deleted its row is gone before the cascade deletes its schedules, so the
-- deck is not found here and nothing is subtracted: `cards_tally_delete` already did it.
CREATE TRIGGER review_states_tally_delete AFTER DELETE ON review_states BEGIN
    UPDATE due_tally SET cards = cards - 1
        WHERE user_id = OLD.user_id AND due_day = OLD.due_day
          AND deck_id = (SELECT c.deck_id FROM cards c WHERE c.id = OLD.card_id);
    DELETE FROM due_tally
        WHERE user_id = OLD.user_id AND due_day = OLD.due_day AND cards = 0;
    UPDATE studied_tally SET cards = cards - 1
        WHERE user_id = OLD.user_id
          AND deck_id = (SELECT c.deck_id FROM cards c WHERE c.id = OLD.card_id);
    DELETE FROM studied_tally WHERE user_id = OLD.user_id AND cards = 0;
END;

CREATE TRIGGER review_states_tally_update AFTER UPDATE OF user_id, card_id, due_day ON review_states
WHEN OLD.due_day IS NOT NEW.due_day OR OLD.user_id <> NEW.user_id OR OLD.card_id <> NEW.card_id
BEGIN
    UPDATE due_tally SET cards = cards - 1
        WHERE user_id = OLD.user_id AND due_day = OLD.due_day
          AND deck_id = (SELECT c.deck_id FROM cards c WHERE c.id = OLD.card_id);
    DELETE FROM due_tally
        WHERE user_id = OLD.user_id AND due_day = OLD.due_day AND cards = 0;
    INSERT INTO due_tally (user_id, due_day, deck_id, cards)
        SELECT NEW.user_id, NEW.due_day, c.deck_id, 1 FROM cards c WHERE c.id = NEW.card_id
        ON CONFLICT DO UPDATE SET cards = cards + 1;
    UPDATE studied_tally SET cards = cards - 1
        WHERE (OLD.user_id <> NEW.user_id OR OLD.card_id <> NEW.card_id)
          AND user_id = OLD.user_id
          AND deck_id = (SELECT c.deck_id FROM cards c WHERE c.id = OLD.card_id);
    INSERT INTO studied_tally (user_id, deck_id, cards)
        SELECT NEW.user_id, c.deck_id, 1 FROM cards c
        WHERE (OLD.user_id <> NEW.user_id OR OLD.card_id <> NEW.card_id) AND c.id = NEW.card_id
        ON CONFLICT DO UPDATE SET cards = cards + 1;
    DELETE FROM studied_tally WHERE user_id = OLD.user_id AND cards = 0;
END;

CREATE TRIGGER cards_tally_insert AFTER INSERT ON cards BEGIN
    INSERT INTO deck_tally (deck_id, cards) VALUES (NEW.deck_id, 1)
        ON CONFLICT DO UPDATE SET cards = cards + 1;
END;

-- Before the row goes, while its schedules can still be found by card.
CREATE TRIGGER cards_tally_delete BEFORE DELETE ON cards BEGIN
    UPDATE deck_tally SET cards = cards - 1 WHERE deck_id = OLD.deck_id;
    INSERT INTO due_tally (user_id, due_day, deck_id, cards)
        SELECT s.user_id, s.due_day, OLD.deck_id, -COUNT(*) FROM review_states s
        WHERE s.card_id = OLD.id GROUP BY s.user_id, s.due_day
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
    INSERT INTO studied_tally (user_id, deck_id, cards)
        SELECT s.user_id, OLD.deck_id, -COUNT(*) FROM review_states s
        WHERE s.card_id = OLD.id GROUP BY s.user_id
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
END;

CREATE TRIGGER cards_tally_move AFTER UPDATE OF deck_id ON cards
WHEN OLD.deck_id <> NEW.deck_id
BEGIN
    UPDATE deck_tally SET cards = cards - 1 WHERE deck_id = OLD.deck_id;
    INSERT INTO deck_tally (deck_id, cards) VALUES (NEW.deck_id, 1)
        ON CONFLICT DO UPDATE SET cards = cards + 1;
    INSERT INTO due_tally (user_id, due_day, deck_id, cards)
        SELECT s.user_id, s.due_day, OLD.deck_id, -COUNT(*) FROM review_states s
        WHERE s.card_id = NEW.id GROUP BY s.user_id, s.due_day
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
    INSERT INTO due_tally (user_id, due_day, deck_id, cards)
        SELECT s.user_id, s.due_day, NEW.deck_id, COUNT(*) FROM review_states s
        WHERE s.card_id = NEW.id GROUP BY s.user_id, s.due_day
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
    INSERT INTO studied_tally (user_id, deck_id, cards)
        SELECT s.user_id, OLD.deck_id, -COUNT(*) FROM review_states s
        WHERE s.card_id = NEW.id GROUP BY s.user_id
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
    INSERT INTO studied_tally (user_id, deck_id, cards)
        SELECT s.user_id, NEW.deck_id, COUNT(*) FROM review_states s
        WHERE s.card_id = NEW.id GROUP BY s.user_id
        ON CONFLICT DO UPDATE SET cards = cards + excluded.cards;
END;
