-- Remembered browsers: one row per browser on which a user chose to skip
-- the second step, holding the SHA-256 hash of its cookie's token, never
-- the token.
--
-- Indexes:
--   - a browser by id, and the uniqueness of ids across all users: the
--     primary key.
--   - a browser by token hash at login, and the uniqueness of hashes across
--     all users: the UNIQUE key.
--   - a user's browsers, oldest first, and deleting them all:
--     twofa_browsers_user, on (user_id, created_ns), whose leading column
--     also serves every lookup by user_id alone.
--
-- Ties of created_ns are listed by id in byte order, as Go compares
-- strings: id is VARBINARY, which compares bytes.
--
-- Times are BIGINT Unix nanoseconds, 0 for the zero time.
CREATE TABLE IF NOT EXISTS twofa_browsers (
	id           VARBINARY(255) NOT NULL PRIMARY KEY,
	user_id      VARBINARY(255) NOT NULL,
	hash         VARBINARY(255) NOT NULL,
	label        BLOB   NOT NULL,
	created_ns   BIGINT NOT NULL,
	last_used_ns BIGINT NOT NULL,
	UNIQUE KEY twofa_browsers_hash (hash),
	KEY twofa_browsers_user (user_id, created_ns)
) ENGINE = InnoDB;
