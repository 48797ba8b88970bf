-- A class's fit waits here as a proposal, with what applying it would do to its students'
-- schedules, until its instructor applies it (it becomes the class's fit in class_fits and
-- the students on FSRS are rescheduled) or discards it. One per class; a new fit replaces it.
CREATE TABLE class_fit_proposals (
    class_id      BIGINT PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    parameters    TEXT    NOT NULL,
    reviews       BIGINT  NOT NULL,
    split_day     BIGINT  NOT NULL,
    fitted_at     BIGINT  NOT NULL,
    students      BIGINT  NOT NULL,
    affected      BIGINT  NOT NULL,
    sooner        BIGINT  NOT NULL,
    later         BIGINT  NOT NULL,
    unchanged     BIGINT  NOT NULL,
    due_before    BIGINT  NOT NULL,
    due_after     BIGINT  NOT NULL,
    largest_shift BIGINT  NOT NULL
);

-- What a student is told on their next review page after an applied fit moved their cards:
-- when, and how many cards. One per student, the latest; shown for 7 days or until dismissed.
CREATE TABLE schedule_notices (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    changed_at BIGINT NOT NULL,
    cards      BIGINT NOT NULL
);
