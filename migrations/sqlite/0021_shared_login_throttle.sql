-- The login throttle's state, for a store several app servers share (PostgreSQL): each
-- server's in-memory throttle only sees its own requests, so there the password-check budget
-- of an address, and the backoff of an account from an address, are kept here as well
-- (`auth::throttle::reserve` is the rule for both). A single SQLite server never writes
-- these tables; they exist on both backends so that the schemas stay one.
CREATE TABLE login_windows (
    client  TEXT    PRIMARY KEY,
    started INTEGER NOT NULL,
    used    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE login_backoffs (
    account      TEXT    NOT NULL,
    client       TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    next_allowed INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    PRIMARY KEY (account, client)
) WITHOUT ROWID;
