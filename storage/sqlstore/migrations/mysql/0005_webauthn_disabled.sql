-- Security keys turned off for a while, on the user's handle row (looked up
-- by user_id, its primary key). Run again after a crash, the column is
-- found made (error 1060), which the migration runner takes as done.
ALTER TABLE twofa_webauthn_handles ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
