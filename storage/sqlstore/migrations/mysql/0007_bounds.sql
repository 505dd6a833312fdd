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
-- strings: id is VARBINARY.
--
-- The bindings are digests the factors make; NULL for none.
--
-- Four statements, each made whole or not at all: run again after a crash
-- halfway, those done are found made (errors 1060 and 1061), which the
-- migration runner takes as done.
CREATE INDEX twofa_webauthn_ceremonies_user ON twofa_webauthn_ceremonies (user_id, expires_ns, id);

ALTER TABLE twofa_email ADD COLUMN code_binding BLOB;

ALTER TABLE twofa_totp ADD COLUMN active_binding BLOB;

ALTER TABLE twofa_totp ADD COLUMN pending_binding BLOB;
