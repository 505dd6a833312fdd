-- Remembered browsers: one row per browser on which a user chose to skip
-- the second step, holding the SHA-256 hash of its cookie's token, never
-- the token.
--
-- Indexes:
--   - a browser by id, and the uniqueness of ids across all users: the
--     primary key.
--   - a browser by token hash at login, and the uniqueness of hashes across
--     all users: the UNIQUE constraint's index.
--   - a user's browsers, oldest first, and deleting them all:
--     twofa_browsers_user, on (user_id, created_ns), whose leading column
--     also serves every lookup by user_id alone.
--
-- Ties of created_ns are listed by id in byte order, as Go compares
-- strings: SQLite's default collation, BINARY, is that order.
--
-- Times are BIGINT Unix nanoseconds, 0 for the zero time.
CREATE TABLE twofa_browsers (
	id           TEXT   NOT NULL PRIMARY KEY,
	user_id      TEXT   NOT NULL,
	hash         BLOB   NOT NULL UNIQUE,
	label        TEXT   NOT NULL,
	created_ns   BIGINT NOT NULL,
	last_used_ns BIGINT NOT NULL
);

CREATE INDEX twofa_browsers_user ON twofa_browsers (user_id, created_ns);
