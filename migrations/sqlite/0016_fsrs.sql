-- FSRS beside SM-2 (issue 12). A student chooses the scheduler and, under FSRS, the recall
-- they want when a card comes due. SM-2 stays the default.
ALTER TABLE users ADD COLUMN scheduler TEXT NOT NULL DEFAULT 'sm2'
    CHECK (scheduler IN ('sm2', 'fsrs'));
ALTER TABLE users ADD COLUMN desired_retention INTEGER NOT NULL DEFAULT 90
    CHECK (desired_retention BETWEEN 70 AND 97);

-- A card's FSRS memory (stability in days, difficulty 1 to 10) for a student on FSRS; NULL
-- under SM-2. Like the SM-2 columns, it is a fold over the card's standing grades, recomputed
-- from the history whenever the student switches.
ALTER TABLE review_states ADD COLUMN stability REAL;
ALTER TABLE review_states ADD COLUMN difficulty REAL;
