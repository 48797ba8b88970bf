-- FSRS parameters fitted on a class's pooled reviews (the earlier half of its history at the
-- time), with what they were fitted on. One per class; a new fit replaces the old.
CREATE TABLE class_fits (
    class_id   INTEGER PRIMARY KEY REFERENCES classes (id) ON DELETE CASCADE,
    parameters TEXT    NOT NULL,
    reviews    INTEGER NOT NULL,
    split_day  INTEGER NOT NULL,
    fitted_at  INTEGER NOT NULL
);
