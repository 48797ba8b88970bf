-- Which news a study reminder has already mentioned (issue 27): a reply to a report, an exam
-- set for the student's class and a fit's rescheduling are told in the NEXT reminder only,
-- not in every reminder until the student opens a page. Set in the reminder's transaction;
-- a new reply or a new rescheduling is news again (its column goes back to NULL).
ALTER TABLE card_reports ADD COLUMN reply_mailed_at INTEGER;
ALTER TABLE exam_notices ADD COLUMN mailed_at INTEGER;
ALTER TABLE schedule_notices ADD COLUMN mailed_at INTEGER;
