-- An exam set for a class is news for each of its members: every page tells them of it (a
-- banner linking to their exams on /stats) until they open /stats or dismiss the banner, and
-- a reminder they asked for mentions it as new. Written with the exam, in the same
-- transaction; deleting the exam deletes its notices.
CREATE TABLE exam_notices (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exam_id    INTEGER NOT NULL REFERENCES class_exams (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, exam_id)
);
-- Deleting an exam finds its notices.
CREATE INDEX exam_notices_exam ON exam_notices (exam_id);
