-- Each app server keeps the review page's reads of a student for a while (src/study/review/
-- cache.rs), so that a page whose data has not changed (the answer view after the question
-- view, a reload) is not read again. On SQLite a kept copy is checked against these versions
-- before it is served: a student's row changes with every change to their schedules, history
-- or card controls, and row 0 with every change to any card or deck. Triggers keep them, so
-- no write path can be missed: the command-line import from another process included. One
-- point read on the server's own connection replaces the page's queries.
CREATE TABLE queue_versions (
    user_id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TRIGGER review_states_insert_queue AFTER INSERT ON review_states BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER review_states_update_queue AFTER UPDATE ON review_states BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER review_states_delete_queue AFTER DELETE ON review_states BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER reviews_insert_queue AFTER INSERT ON reviews BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER reviews_update_queue AFTER UPDATE ON reviews BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER reviews_delete_queue AFTER DELETE ON reviews BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER card_controls_insert_queue AFTER INSERT ON card_controls BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER card_controls_update_queue AFTER UPDATE ON card_controls BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (NEW.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER card_controls_delete_queue AFTER DELETE ON card_controls BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (OLD.user_id, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER cards_insert_queue AFTER INSERT ON cards BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER cards_update_queue AFTER UPDATE ON cards BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER cards_delete_queue AFTER DELETE ON cards BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER decks_insert_queue AFTER INSERT ON decks BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER decks_update_queue AFTER UPDATE ON decks BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER decks_delete_queue AFTER DELETE ON decks BEGIN
    INSERT INTO queue_versions (user_id, version) VALUES (0, 1)
        ON CONFLICT DO UPDATE SET version = version + 1;
END;
