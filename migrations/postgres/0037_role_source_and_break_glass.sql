-- University sign-on (issue 26), after the second review.
-- Where an account's role came from: NULL when given here (registration, the users page, the
-- command line), else the key of the provider whose groups gave it. A role a provider's groups
-- gave holds only while that provider keeps confirming it: a login that cannot ask it (a
-- password, another provider that maps no groups) takes the role back.
ALTER TABLE users ADD COLUMN role_source TEXT;
-- The break-glass admin made by `studyhall create-admin`: the one account that logs in with a
-- password when local login is off, and whose role sign-on never changes.
ALTER TABLE users ADD COLUMN break_glass BIGINT NOT NULL DEFAULT 0 CHECK (break_glass IN (0, 1));
-- Sites from before: an admin with a password that never signed on was made here (the command
-- line, the first account, the users page) and keeps its way in.
UPDATE users SET break_glass = 1
WHERE role = 'admin' AND password_hash <> '!sign-on'
  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id);
