-- The login throttle's state shared by every app server (SQLite's 0021 says why).
CREATE TABLE login_windows (
    client  TEXT   PRIMARY KEY,
    started BIGINT NOT NULL,
    used    BIGINT NOT NULL
);

CREATE TABLE login_backoffs (
    account      TEXT   NOT NULL,
    client       TEXT   NOT NULL,
    failures     BIGINT NOT NULL,
    next_allowed BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    PRIMARY KEY (account, client)
);
