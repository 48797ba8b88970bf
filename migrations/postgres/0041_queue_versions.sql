-- Each app server keeps the review page's reads of a student for a while (src/study/review/
-- cache.rs), so that a page whose data has not changed (the answer view after the question
-- view, a reload) is not read again. SQLite checks a kept copy against the versions of this
-- table, one point read in the server's own process. Here that read would be the round trip
-- the copy saves: instead, as for sessions (migration 0030), these triggers send a notice on
-- channel `studyhall_stale` inside the changing transaction, delivered when it commits:
-- `q<user id>` when a student's schedules, history or card controls change, `q*` when any
-- card does (a deck's change already sends `*`). The table is created for the two schemas'
-- parity and stays empty here.
CREATE TABLE queue_versions (
    user_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- Once per statement, naming each student the statement touched once: a batch of grades is a
-- few statements, a deck's deletion a few cascades, whatever their rows. `changed` is the
-- statement's rows (new ones for an insert or update, a row's user never changing; old ones
-- for a delete); a statement that changed no row tells nobody.
CREATE FUNCTION notify_stale_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('studyhall_stale', 'q' || students.user_id)
        FROM (SELECT DISTINCT user_id FROM changed) AS students;
    RETURN NULL;
END;
$$;

CREATE FUNCTION notify_stale_queues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('studyhall_stale', 'q*');
    END IF;
    RETURN NULL;
END;
$$;

-- PostgreSQL takes a transition table only on a trigger of one event: three per table.
CREATE TRIGGER review_states_queue_insert AFTER INSERT ON review_states
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER review_states_queue_update AFTER UPDATE ON review_states
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER review_states_queue_delete AFTER DELETE ON review_states
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER reviews_queue_insert AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER reviews_queue_update AFTER UPDATE ON reviews
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER reviews_queue_delete AFTER DELETE ON reviews
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER card_controls_queue_insert AFTER INSERT ON card_controls
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER card_controls_queue_update AFTER UPDATE ON card_controls
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER card_controls_queue_delete AFTER DELETE ON card_controls
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER cards_queue_insert AFTER INSERT ON cards
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queues();
CREATE TRIGGER cards_queue_update AFTER UPDATE ON cards
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queues();
CREATE TRIGGER cards_queue_delete AFTER DELETE ON cards
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queues();
