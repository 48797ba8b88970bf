-- University sign-on (issue 26): the browser's time zone, sent with the sign-on link and kept
-- with the login under way, becomes a new account's zone (an IANA name checked before it is
-- stored; empty when none was sent or it was not one).
ALTER TABLE sign_on_flows ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
