-- The security log: one row per security event of a user (a method added,
-- removed or turned off, a code used, a lock, a reset, a browser
-- remembered or revoked), never a secret, a code or a token.
--
-- seq is the order of appending, which breaks ties of at_ns: of two
-- entries of one instant, the one appended later is the newer.
-- AUTO_INCREMENT never hands out a seq twice; on a Galera cluster each
-- node hands out its own residues (wsrep_auto_increment_control), so two
-- entries of one instant appended on two nodes are ordered by node, not by
-- commit: only a tie-break.
--
-- twofa_log_user, on (user_id, at_ns, seq), serves the reading of a
-- user's newest entries (from the index's end, no sort), the trim of an
-- append (entries older than the retention, and those beyond the newest
-- keep), and deleting them all. Every user's rows are bounded by the
-- trim, so the table stays near users × keep.
--
-- Times are BIGINT Unix nanoseconds.
CREATE TABLE IF NOT EXISTS twofa_log (
	seq     BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	user_id VARBINARY(255) NOT NULL,
	at_ns   BIGINT NOT NULL,
	kind    BLOB   NOT NULL,
	method  BLOB   NOT NULL,
	detail  BLOB   NOT NULL,
	KEY twofa_log_user (user_id, at_ns, seq)
) ENGINE = InnoDB;
