-- Grading a card asks how many new cards its student has started today (the daily limit).
-- Counting that read every review the student made today, each checked against undos: a
-- student's 200th review of the day paid for the 199 before it. The day's rollup keeps the
-- number instead, in the same transaction as each grade and undo.
ALTER TABLE review_days ADD COLUMN introduced INTEGER NOT NULL DEFAULT 0;

UPDATE review_days SET introduced = (
    SELECT COUNT(*) FROM reviews r
    WHERE r.user_id = review_days.user_id AND r.study_day = review_days.study_day
      AND r.kind = 'grade' AND r.repetitions_before IS NULL
      AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id));

-- A card's events today are found by user, card and day, not by stepping through the card's
-- whole history.
DROP INDEX reviews_user_card;
CREATE INDEX reviews_user_card_day ON reviews (user_id, card_id, study_day);
