-- A student's own FSRS parameters (issue 12), fitted on the earlier part of their own history
-- once they have 1,000 reviews, and scored with their class's parameters (or FSRS's defaults)
-- on the later part that the fit never saw. Kept, and scheduling them, only where they predict
-- those reviews better; a fit that was not kept is still saved, to show why.
CREATE TABLE student_fits (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    parameters        TEXT    NOT NULL,
    reviews           INTEGER NOT NULL,
    split_day         INTEGER NOT NULL,
    fitted_at         INTEGER NOT NULL,
    scored            INTEGER NOT NULL,
    own_log_loss      REAL    NOT NULL,
    baseline_log_loss REAL    NOT NULL,
    kept              INTEGER NOT NULL CHECK (kept IN (0, 1))
);
