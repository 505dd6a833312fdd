-- Authenticator-app records and per-user throttle counters.
--
-- Indexes: every lookup and every conditional write is by user_id, which is
-- the primary key of both tables, so the primary keys' indexes serve them all.
--
-- Every key and every compared column is binary (VARBINARY or BLOB): the
-- default collations of MySQL and MariaDB ignore case and accents and pad
-- with spaces, so that "alice", "Alice" and "alice " would be one user.
-- Binary columns compare and sort byte for byte, as Go compares strings,
-- and keep the bytes as written whatever the connection's character set.
--
-- Times are BIGINT Unix nanoseconds (0 for the zero time) so they read
-- back to the nanosecond, and booleans are INTEGER 0 or 1. Each secret is a
-- group of columns, NULL together when there is no such secret.
--
-- MySQL DDL is not transactional: every statement of a migration is one
-- object made whole or not at all, and written so that running it again
-- after a crash halfway finds it done (see Store.Migrate).
CREATE TABLE IF NOT EXISTS twofa_totp (
	user_id            VARBINARY(255) NOT NULL PRIMARY KEY,
	account            BLOB    NOT NULL,
	active_sealed      BLOB,
	active_algorithm   BLOB,
	active_digits      INTEGER,
	active_period      INTEGER,
	active_created_ns  BIGINT,
	pending_sealed     BLOB,
	pending_algorithm  BLOB,
	pending_digits     INTEGER,
	pending_period     INTEGER,
	pending_created_ns BIGINT,
	disabled           INTEGER NOT NULL DEFAULT 0,
	last_step          BIGINT  NOT NULL DEFAULT 0,
	version            BIGINT  NOT NULL
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS twofa_throttle (
	user_id  VARBINARY(255) NOT NULL PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_ns  BIGINT  NOT NULL
) ENGINE = InnoDB;
