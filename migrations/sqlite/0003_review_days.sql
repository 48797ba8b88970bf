-- Per user and study day, what /stats shows: reviews that stand, and the mature-card reviews
-- (interval 21 days or more before the grade) with how many passed (grade 3 or more).
-- Maintained in the same transaction as every grade, repeat and undo, so /stats reads at most
-- a year of rows instead of a user's whole history. The history in `reviews` stays the truth:
-- this table can be rebuilt from it at any time (the statement below does exactly that).
CREATE TABLE review_days (
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    study_day      INTEGER NOT NULL,
    reviews        INTEGER NOT NULL DEFAULT 0,
    mature_reviews INTEGER NOT NULL DEFAULT 0,
    mature_passed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, study_day)
) WITHOUT ROWID;

INSERT INTO review_days (user_id, study_day, reviews, mature_reviews, mature_passed)
SELECT r.user_id, r.study_day, COUNT(*),
       COALESCE(SUM(r.kind = 'grade' AND r.interval_before >= 21), 0),
       COALESCE(SUM(r.kind = 'grade' AND r.interval_before >= 21 AND r.quality >= 3), 0)
FROM reviews r
WHERE r.kind IN ('grade', 'repeat')
  AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id)
GROUP BY r.user_id, r.study_day;
