-- Exam dates (issue 12). A class's exam covers some of its decks; no card of them may come
-- due after the exam without a review in its window, the study days just before it.
CREATE TABLE class_exams (
    id          INTEGER PRIMARY KEY,
    class_id    INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- A study day: days since 1970-01-01, as review_states.due_day.
    exam_day    INTEGER NOT NULL,
    window_days INTEGER NOT NULL DEFAULT 5 CHECK (window_days BETWEEN 1 AND 30),
    created_at  INTEGER NOT NULL
);
CREATE INDEX class_exams_class ON class_exams (class_id, exam_day);

CREATE TABLE class_exam_decks (
    exam_id INTEGER NOT NULL REFERENCES class_exams (id) ON DELETE CASCADE,
    deck_id INTEGER NOT NULL REFERENCES decks (id) ON DELETE CASCADE,
    PRIMARY KEY (exam_id, deck_id)
) WITHOUT ROWID;

-- The study day of a card's last grade. An exam may bring the due day forward, so the due day
-- less the interval no longer tells when the card was graded (FSRS needs the days elapsed),
-- and the natural due day (graded_day + interval_days) is what placing a card again starts
-- from. Every row so far was scheduled without exams.
ALTER TABLE review_states ADD COLUMN graded_day INTEGER;
UPDATE review_states SET graded_day = due_day - interval_days;
