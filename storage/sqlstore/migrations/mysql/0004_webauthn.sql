-- WebAuthn: each user's random user handle, their security keys and
-- passkeys, and the ceremonies (challenges) between begin and finish.
--
-- Indexes:
--   - a handle by user_id: the primary key; a user by handle: the UNIQUE
--     key, which also keeps two users from sharing a handle (WebAuthn
--     handles are at most 64 bytes).
--   - a credential by id, and the uniqueness of ids across all users: the
--     primary key (WebAuthn credential IDs are at most 1023 bytes); a
--     user's credentials, oldest first, and deleting them all:
--     twofa_webauthn_credentials_user, on (user_id, created_ns), whose
--     leading column also serves every lookup by user_id alone.
--   - a ceremony by id: the primary key; the clean-up of expired ones:
--     twofa_webauthn_ceremonies_expires.
--
-- Each index is made with its table, in one statement. Keys and compared
-- columns are binary (see 0001). Times are BIGINT Unix nanoseconds, 0 for
-- the zero time.
CREATE TABLE IF NOT EXISTS twofa_webauthn_handles (
	user_id VARBINARY(255) NOT NULL PRIMARY KEY,
	handle  VARBINARY(255) NOT NULL,
	UNIQUE KEY twofa_webauthn_handles_handle (handle)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS twofa_webauthn_credentials (
	id           VARBINARY(1023) NOT NULL PRIMARY KEY,
	user_id      VARBINARY(255)  NOT NULL,
	name         BLOB       NOT NULL,
	data         MEDIUMBLOB NOT NULL,
	created_ns   BIGINT     NOT NULL,
	last_used_ns BIGINT     NOT NULL DEFAULT 0,
	KEY twofa_webauthn_credentials_user (user_id, created_ns)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS twofa_webauthn_ceremonies (
	id         VARBINARY(255) NOT NULL PRIMARY KEY,
	user_id    VARBINARY(255) NOT NULL,
	kind       VARBINARY(255) NOT NULL,
	data       MEDIUMBLOB     NOT NULL,
	expires_ns BIGINT         NOT NULL,
	KEY twofa_webauthn_ceremonies_expires (expires_ns)
) ENGINE = InnoDB;
