-- A class's default desired retention for its students on FSRS who have not chosen their own
-- (NULL: none, and such students study at 90%).
ALTER TABLE classes ADD COLUMN default_retention INTEGER
    CHECK (default_retention IS NULL OR default_retention BETWEEN 70 AND 97);
-- Whether the student chose their own retention on /account (else their class's default).
ALTER TABLE users ADD COLUMN retention_chosen INTEGER NOT NULL DEFAULT 0;
