-- A reply to a report is news for its reporter until they open the card it is on or dismiss
-- the notice every page shows them: when they did, NULL while the reply is unread. Replies
-- written before this migration count as read (their reporters were never told of them, and
-- a banner for a months-old reply would be noise).
ALTER TABLE card_reports ADD COLUMN reply_seen_at BIGINT;
UPDATE card_reports SET reply_seen_at = replied_at WHERE replied_at IS NOT NULL;
-- The session lookup asks every page whether the user has an unread reply.
CREATE INDEX card_reports_unread ON card_reports (user_id)
    WHERE replied_at IS NOT NULL AND reply_seen_at IS NULL;
