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

CREATE FUNCTION notify_stale_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('studyhall_stale', 'q' || OLD.user_id);
    ELSE
        PERFORM pg_notify('studyhall_stale', 'q' || NEW.user_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION notify_stale_queues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('studyhall_stale', 'q*');
    RETURN NULL;
END;
$$;

-- A row's user never changes, so an update names the same student as before.
CREATE TRIGGER review_states_queue_stale AFTER INSERT OR UPDATE OR DELETE ON review_states
    FOR EACH ROW EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER reviews_queue_stale AFTER INSERT OR UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER card_controls_queue_stale AFTER INSERT OR UPDATE OR DELETE ON card_controls
    FOR EACH ROW EXECUTE FUNCTION notify_stale_queue();
CREATE TRIGGER cards_queue_stale AFTER INSERT OR UPDATE OR DELETE ON cards
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_queues();
