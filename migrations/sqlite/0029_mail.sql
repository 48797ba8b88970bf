-- Mail (issue 27). Every message goes through `outbox`, written in the same transaction as
-- what causes it (an address to confirm, a password reset asked for), and is sent by one app
-- server's sender (`src/jobs/mail.rs`): a row is pending, then claimed (sending: `claimed_by`
-- names the server, `lease_until` how long the claim holds), then sent or, after its last
-- try, failed; a failed try waits `next_attempt_at` (a backoff) before the next. A server that
-- stops after sending and before marking the row sent leaves it sending: once its lease has
-- run out the row is pending again and is sent once more (its `message_id` stays the same, so
-- mail systems may recognise the copy). Times are Unix milliseconds of the servers' clocks.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    to_address      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    unsubscribe_url TEXT,
    message_id      TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);

-- The claim: the oldest pending rows whose time has come.
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE state = 'pending';
-- Leases that ran out.
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE state = 'sending';
-- How many messages of a kind one account was sent lately (the reset's limit per account).
CREATE INDEX outbox_user_kind ON outbox (user_id, kind, created_at);

-- A student's e-mail address: nothing but its confirmation is sent to it before
-- `confirmed_at`. Never shown to anyone but its owner.
CREATE TABLE mail_addresses (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    address      TEXT    NOT NULL,
    confirmed_at INTEGER,
    created_at   INTEGER NOT NULL,
    -- Reminders (opt-in): the local hour to send at (NULL: none), weekly (a Monday digest)
    -- or daily, the local date (day number) of the last one sent, and the token of its
    -- one-click unsubscribe link.
    remind_hour       INTEGER,
    remind_weekly     INTEGER NOT NULL DEFAULT 0,
    reminded_day      INTEGER,
    unsubscribe_token TEXT
);
-- The reminders' pass, in batches by user.
CREATE INDEX mail_addresses_reminders ON mail_addresses (user_id) WHERE remind_hour IS NOT NULL;
CREATE UNIQUE INDEX mail_addresses_unsubscribe ON mail_addresses (unsubscribe_token);
CREATE INDEX mail_addresses_address ON mail_addresses (lower(address));

-- Single-use tokens sent by mail (confirming an address, resetting a password): only their
-- SHA-256 is stored. A reset token also keeps a digest of the password hash it was issued
-- under (`password_stamp`), so any later password change voids it.
CREATE TABLE mail_tokens (
    token_hash     TEXT    PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    address        TEXT    NOT NULL,
    password_stamp TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX mail_tokens_user ON mail_tokens (user_id, purpose);
