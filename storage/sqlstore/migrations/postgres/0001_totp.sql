-- Authenticator-app records and per-user throttle counters.
--
-- Indexes: every lookup and every conditional write is by user_id, which is
-- the primary key of both tables, so the primary keys' indexes serve them all.
--
-- Portable types: times are BIGINT Unix nanoseconds (0 for the zero time) so
-- they read back to the nanosecond, and booleans are INTEGER 0 or 1. Each
-- secret is a group of columns, NULL together when there is no such secret.
CREATE TABLE twofa_totp (
	user_id            TEXT    NOT NULL PRIMARY KEY,
	account            TEXT    NOT NULL,
	active_sealed      BYTEA,
	active_algorithm   TEXT,
	active_digits      INTEGER,
	active_period      INTEGER,
	active_created_ns  BIGINT,
	pending_sealed     BYTEA,
	pending_algorithm  TEXT,
	pending_digits     INTEGER,
	pending_period     INTEGER,
	pending_created_ns BIGINT,
	disabled           INTEGER NOT NULL DEFAULT 0,
	last_step          BIGINT  NOT NULL DEFAULT 0,
	version            BIGINT  NOT NULL
);

CREATE TABLE twofa_throttle (
	user_id  TEXT    NOT NULL PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_ns  BIGINT  NOT NULL
);
