-- WebAuthn: each user's random user handle, their security keys and
-- passkeys, and the ceremonies (challenges) between begin and finish.
--
-- Indexes:
--   - a handle by user_id: the primary key; a user by handle: the UNIQUE
--     constraint's index, which also keeps two users from sharing a handle.
--   - a credential by id, and the uniqueness of ids across all users: the
--     primary key; a user's credentials, oldest first, and deleting them all:
--     twofa_webauthn_credentials_user, on (user_id, created_ns), whose
--     leading column also serves every lookup by user_id alone.
--   - a ceremony by id: the primary key; the clean-up of expired ones:
--     twofa_webauthn_ceremonies_expires.
--
-- Times are BIGINT Unix nanoseconds, 0 for the zero time.
CREATE TABLE twofa_webauthn_handles (
	user_id TEXT  NOT NULL PRIMARY KEY,
	handle  BYTEA NOT NULL UNIQUE
);

CREATE TABLE twofa_webauthn_credentials (
	id           BYTEA  NOT NULL PRIMARY KEY,
	user_id      TEXT   NOT NULL,
	name         TEXT   NOT NULL,
	data         BYTEA  NOT NULL,
	created_ns   BIGINT NOT NULL,
	last_used_ns BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX twofa_webauthn_credentials_user ON twofa_webauthn_credentials (user_id, created_ns);

CREATE TABLE twofa_webauthn_ceremonies (
	id         TEXT   NOT NULL PRIMARY KEY,
	user_id    TEXT   NOT NULL,
	kind       TEXT   NOT NULL,
	data       BYTEA  NOT NULL,
	expires_ns BIGINT NOT NULL
);

CREATE INDEX twofa_webauthn_ceremonies_expires ON twofa_webauthn_ceremonies (expires_ns);
