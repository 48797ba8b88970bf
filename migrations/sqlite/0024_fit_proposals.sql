-- A class's fit waits here as a proposal, with what applying it would do to its students'
-- schedules, until its instructor applies it (it becomes the class's fit in class_fits and
-- the students on FSRS are rescheduled) or discards it. One per class; a new fit replaces it.
CREATE TABLE class_fit_proposals (
    class_id      INTEGER PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    parameters    TEXT    NOT NULL,
    reviews       INTEGER NOT NULL,
    split_day     INTEGER NOT NULL,
    fitted_at     INTEGER NOT NULL,
    students      INTEGER NOT NULL,
    affected      INTEGER NOT NULL,
    sooner        INTEGER NOT NULL,
    later         INTEGER NOT NULL,
    unchanged     INTEGER NOT NULL,
    due_before    INTEGER NOT NULL,
    due_after     INTEGER NOT NULL,
    largest_shift INTEGER NOT NULL
);

-- What a student is told on their next review page after an applied fit moved their cards:
-- when, and how many cards. One per student, the latest; shown for 7 days or until dismissed.
CREATE TABLE schedule_notices (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    changed_at INTEGER NOT NULL,
    cards      INTEGER NOT NULL
);
