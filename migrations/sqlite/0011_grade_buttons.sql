-- Four grade buttons (Again, Hard, Good, Easy: SM-2 grades 1, 3, 4, 5) are the default for new
-- accounts; accounts that already exist keep the six SM-2 grades they know.
ALTER TABLE users ADD COLUMN grade_buttons TEXT NOT NULL DEFAULT 'four'
    CHECK (grade_buttons IN ('four', 'six'));
UPDATE users SET grade_buttons = 'six';
