-- The history's events that stand: grades and repeats that no undo took back. Eight queries
-- spelled this condition out; a view says it once. SQLite flattens the view into each query,
-- so the plans (and the index on `undoes`) are the same as before.
CREATE VIEW standing_reviews AS
    SELECT r.* FROM reviews r
    WHERE r.kind IN ('grade', 'repeat')
      AND NOT EXISTS (SELECT 1 FROM reviews u WHERE u.undoes = r.id);
