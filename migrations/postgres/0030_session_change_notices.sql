-- Each app server keeps the sessions it has read (a user, their rights and the decks they may
-- see) for a few seconds, so a page costs one statement instead of three. Where several
-- servers share this database, each must hear at once of a change made through another:
-- these triggers send a notice on channel `studyhall_stale` for every change to what a cached
-- session holds, inside the changing transaction, so PostgreSQL delivers it exactly when the
-- change commits (never before, never lost for a listener that stays connected). The payload
-- is the user id whose sessions went stale, or `*` for everyone (a deck, a class or an exam
-- changed, which may change what whole classes see). A server that loses its listening
-- connection forgets everything and serves no cached session until it listens again.
CREATE FUNCTION notify_stale_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('studyhall_stale', (to_jsonb(OLD) ->> TG_ARGV[0]));
    ELSE
        PERFORM pg_notify('studyhall_stale', (to_jsonb(NEW) ->> TG_ARGV[0]));
        IF TG_OP = 'UPDATE' THEN
            PERFORM pg_notify('studyhall_stale', (to_jsonb(OLD) ->> TG_ARGV[0]));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION notify_stale_everyone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('studyhall_stale', '*');
    RETURN NULL;
END;
$$;

-- A logout, a password change or an admin's reset deletes sessions (sessions are never
-- updated; a new one tells nobody anything).
CREATE TRIGGER sessions_stale AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
-- Role, password, disabled, time zone, limits, scheduler and retention live on the user.
CREATE TRIGGER users_stale AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('id');
-- Joining or leaving a class changes the decks, retention and exams of that student.
CREATE TRIGGER class_members_stale AFTER INSERT OR UPDATE OR DELETE ON class_members
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
-- The banners every page shows: a class fit moved their cards; a reply to their report.
CREATE TRIGGER schedule_notices_stale AFTER INSERT OR UPDATE OR DELETE ON schedule_notices
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
CREATE TRIGGER card_reports_stale AFTER UPDATE OR DELETE ON card_reports
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
-- A student's own FSRS fit.
CREATE TRIGGER student_fits_stale AFTER INSERT OR UPDATE OR DELETE ON student_fits
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
-- What whole classes see and how they are scheduled: once per statement.
CREATE TRIGGER decks_stale AFTER INSERT OR UPDATE OR DELETE ON decks
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
CREATE TRIGGER classes_stale AFTER UPDATE OR DELETE ON classes
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
CREATE TRIGGER class_decks_stale AFTER INSERT OR UPDATE OR DELETE ON class_decks
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
CREATE TRIGGER class_fits_stale AFTER INSERT OR UPDATE OR DELETE ON class_fits
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
CREATE TRIGGER class_exams_stale AFTER INSERT OR UPDATE OR DELETE ON class_exams
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
CREATE TRIGGER class_exam_decks_stale AFTER INSERT OR UPDATE OR DELETE ON class_exam_decks
    FOR EACH STATEMENT EXECUTE FUNCTION notify_stale_everyone();
