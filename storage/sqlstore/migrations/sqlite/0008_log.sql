-- The security log: one row per security event of a user (a method added,
-- removed or turned off, a code used, a lock, a reset, a browser
-- remembered or revoked), never a secret, a code or a token.
--
-- seq is the order of appending, which breaks ties of at_ns: of two
-- entries of one instant, the one appended later is the newer.
-- seq is the rowid: SQLite gives a new row one more than the largest seq
-- in the table, so it sorts after every entry present. (AUTOINCREMENT
-- would also never reuse a deleted one, which no order here needs, at the
-- cost of a sqlite_sequence table.)
--
-- twofa_log_user, on (user_id, at_ns, seq), serves the reading of a
-- user's newest entries (from the index's end, no sort), the trim of an
-- append (entries older than the retention, and those beyond the newest
-- keep), and deleting them all. Every user's rows are bounded by the
-- trim, so the table stays near users × keep.
--
-- Times are BIGINT Unix nanoseconds.
CREATE TABLE twofa_log (
	seq     INTEGER PRIMARY KEY,
	user_id TEXT   NOT NULL,
	at_ns   BIGINT NOT NULL,
	kind    TEXT   NOT NULL,
	method  TEXT   NOT NULL,
	detail  TEXT   NOT NULL
);

CREATE INDEX twofa_log_user ON twofa_log (user_id, at_ns, seq);
