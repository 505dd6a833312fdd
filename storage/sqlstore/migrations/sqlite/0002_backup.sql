-- Backup codes: one set per user, its codes hashed.
-- Lookups: the set by user_id (primary key); a code by (user_id, idx)
-- (primary key), checked against set_id.
CREATE TABLE twofa_backup_sets (
	user_id    TEXT    NOT NULL PRIMARY KEY,
	set_id     TEXT    NOT NULL,
	salt       BLOB    NOT NULL,
	kdf        TEXT    NOT NULL,
	created_ns BIGINT  NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE twofa_backup_codes (
	user_id TEXT    NOT NULL,
	set_id  TEXT    NOT NULL,
	idx     INTEGER NOT NULL,
	hash    BLOB    NOT NULL,
	used_ns BIGINT  NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, idx)
);
