-- Bounded ceremonies, and codes and set-ups bound to the session that
-- began them.
--
-- twofa_webauthn_ceremonies_user, on (user_id, expires_ns, id), serves a
-- put's trim of the user's ceremonies beyond the ones that expire last
-- (read from the index's end, no sort), and the deletion of all of a
-- user's ceremonies. The clean-up of expired ceremonies of every user keeps
-- using twofa_webauthn_ceremonies_expires, from 0004.
--
-- Ties of expires_ns are trimmed by id in byte order, as Go compares
-- strings: SQLite's default collation, BINARY, is that order.
--
-- The bindings are digests the factors make; NULL for none.
CREATE INDEX twofa_webauthn_ceremonies_user ON twofa_webauthn_ceremonies (user_id, expires_ns, id);

ALTER TABLE twofa_email ADD COLUMN code_binding BLOB;

ALTER TABLE twofa_totp ADD COLUMN active_binding BLOB;
ALTER TABLE twofa_totp ADD COLUMN pending_binding BLOB;
