-- Tags on cards, as instructors edit them: a normalised, comma-separated list ("cnn,loss").
ALTER TABLE cards ADD COLUMN tags TEXT NOT NULL DEFAULT '';
