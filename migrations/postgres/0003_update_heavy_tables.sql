-- The tallies and the daily rollups are counters that grades update in place: every grade
-- moves a card between two due_tally rows and adds to a review_days row; a student's first
-- grade of a card adds to studied_tally; a new card adds to deck_tally. PostgreSQL writes
-- each update as a new row version. With full pages (the default fillfactor of 100) the new
-- version lands on another page and every index gets an entry for it, so until autovacuum
-- comes round a tally read walks one heap page per old version (measured on the benchmark's
-- seeded site: the queue head read 225 pages of due_tally and 450 of studied_tally for one
-- student, 1.1 ms where a vacuumed table took 0.23 ms). Free room on each page lets an
-- update stay on its page without index entries (a HOT update), and the page's old versions
-- are pruned when it is next read; a lower vacuum threshold cleans up after bulk loads
-- (an import, a class's first evening) without waiting for a fifth of the table to be dead.
ALTER TABLE due_tally SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE studied_tally SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE deck_tally SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE review_days SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.05);
