-- Backup codes: one set per user, its codes hashed.
-- Lookups: the set by user_id (primary key); a code by (user_id, idx)
-- (primary key), checked against set_id. Keys and compared columns are
-- binary (see 0001).
CREATE TABLE IF NOT EXISTS twofa_backup_sets (
	user_id    VARBINARY(255) NOT NULL PRIMARY KEY,
	set_id     VARBINARY(255) NOT NULL,
	salt       BLOB    NOT NULL,
	kdf        BLOB    NOT NULL,
	created_ns BIGINT  NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS twofa_backup_codes (
	user_id VARBINARY(255) NOT NULL,
	set_id  VARBINARY(255) NOT NULL,
	idx     INTEGER NOT NULL,
	hash    BLOB    NOT NULL,
	used_ns BIGINT  NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, idx)
) ENGINE = InnoDB;
