-- A walk over every TOTP record in user ID order, for key rotation.
--
-- The walk reads batches by keyset pagination: the records whose user_id
-- comes after the last one read, in byte order, as Go compares strings.
-- That is user_id COLLATE "C" whatever the database's own collation, and
-- the primary key's index is in the database's collation, so it cannot
-- serve the walk; twofa_totp_walk can, one range scan per batch with no
-- sort.
CREATE INDEX twofa_totp_walk ON twofa_totp (user_id COLLATE "C");
