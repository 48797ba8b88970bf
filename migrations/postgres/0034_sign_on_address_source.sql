-- University sign-on (issue 26), after review. The identity that brought an account's address
-- (NULL: the user typed it, or confirmed it by the mailed link): only that identity's sign-ons
-- change it, and unlinking the identity takes back its confirmation.
ALTER TABLE mail_addresses ADD COLUMN source_identity BIGINT;
-- Whether the identity ever gave the account an address: once it has, an address the user
-- removed is not given back by the next sign-on.
ALTER TABLE identities ADD COLUMN gave_address BIGINT NOT NULL DEFAULT 0;
-- Identities an admin unlinked from an account: linking by e-mail never joins them to that
-- account again.
CREATE TABLE unlinked_identities (
    issuer      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    unlinked_at BIGINT  NOT NULL,
    PRIMARY KEY (issuer, subject, user_id)
);

-- Sites that signed on before: an address equal to the e-mail an identity of the account last
-- brought is taken to be that identity's (the earlier rule followed it the same way).
UPDATE mail_addresses SET source_identity = (
    SELECT MIN(i.id) FROM identities i
    WHERE i.user_id = mail_addresses.user_id AND i.email <> ''
      AND lower(i.email) = lower(mail_addresses.address));
UPDATE identities SET gave_address = 1
WHERE id IN (SELECT source_identity FROM mail_addresses WHERE source_identity IS NOT NULL);
