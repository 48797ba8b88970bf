-- An exam set for a class is news for each of its members: every page tells them of it (a
-- banner linking to their exams on /stats) until they open /stats or dismiss the banner, and
-- a reminder they asked for mentions it as new. Written with the exam, in the same
-- transaction; deleting the exam deletes its notices.
CREATE TABLE exam_notices (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exam_id    BIGINT NOT NULL REFERENCES class_exams (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, exam_id)
);
-- Deleting an exam finds its notices.
CREATE INDEX exam_notices_exam ON exam_notices (exam_id);
-- Sessions carry the banner (0030): a dismissed or deleted notice makes its user's stale on
-- every app server. A new one comes with its exam, whose own trigger tells everyone.
CREATE TRIGGER exam_notices_stale AFTER DELETE ON exam_notices
    FOR EACH ROW EXECUTE FUNCTION notify_stale_user('user_id');
