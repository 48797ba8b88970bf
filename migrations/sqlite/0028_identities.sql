-- University sign-on (issue 26). An account's identities at OpenID providers, keyed by
-- (issuer, subject) and never by e-mail; the e-mail and name last seen are kept to show.
CREATE TABLE identities (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider      TEXT    NOT NULL,
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    email         TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject);
CREATE INDEX identities_user ON identities (user_id);

-- A login under way: found by the SHA-256 of its `state`, bound to the browser that started
-- it by the SHA-256 of a cookie, taken (deleted) once, good for a few minutes. In the
-- database, so a flow started on one app server can finish on another.
CREATE TABLE sign_on_flows (
    state_hash    BLOB    NOT NULL PRIMARY KEY,
    browser_hash  BLOB    NOT NULL,
    provider      TEXT    NOT NULL,
    nonce         TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    -- Set when a signed-in user links a provider from /account.
    link_user_id  INTEGER REFERENCES users (id) ON DELETE CASCADE,
    next          TEXT    NOT NULL DEFAULT '',
    -- The address that started it (throttle::client_key), for the per-address cap.
    client        TEXT    NOT NULL DEFAULT '',
    expires_at    INTEGER NOT NULL
);
CREATE INDEX sign_on_flows_expiry ON sign_on_flows (expires_at);
CREATE INDEX sign_on_flows_client ON sign_on_flows (client);

-- The ID token a session signed on with, sent back as `id_token_hint` when it logs out.
CREATE TABLE sign_on_sessions (
    session_id INTEGER NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    id_token   TEXT    NOT NULL
);
