-- E-mail codes: one row per user who turned them on, holding the one live
-- code (hashed), NULL columns when there is none. Every lookup and
-- conditional write is by user_id, the primary key. Keys and compared
-- columns are binary (see 0001).
CREATE TABLE IF NOT EXISTS twofa_email (
	user_id    VARBINARY(255) NOT NULL PRIMARY KEY,
	disabled   INTEGER NOT NULL DEFAULT 0,
	since_ns   BIGINT  NOT NULL,
	code_id    VARBINARY(255),
	code_hash  BLOB,
	sent_ns    BIGINT,
	expires_ns BIGINT,
	failures   INTEGER NOT NULL DEFAULT 0
) ENGINE = InnoDB;
