-- Administration of accounts: a disabled account cannot log in and its sessions stop working;
-- after an admin resets a password, the user must choose a new one before anything else.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));
