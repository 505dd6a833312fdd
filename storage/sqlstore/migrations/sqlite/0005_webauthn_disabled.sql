-- Security keys turned off for a while, on the user's handle row (looked up
-- by user_id, its primary key).
ALTER TABLE twofa_webauthn_handles ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
