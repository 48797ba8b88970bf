-- An instructor's reply to a report, shown to the student on the card's page.
ALTER TABLE card_reports ADD COLUMN reply TEXT;
ALTER TABLE card_reports ADD COLUMN replied_at INTEGER;
