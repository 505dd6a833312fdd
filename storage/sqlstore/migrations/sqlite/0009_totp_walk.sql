-- A walk over every TOTP record in user ID order, for key rotation.
--
-- The walk reads batches by keyset pagination: the records whose user_id
-- comes after the last one read, in byte order, as Go compares strings.
-- SQLite's default collation, BINARY, is that order, so the primary key's
-- index serves the walk and PostgreSQL's 0009 index has no counterpart
-- here. The statement below changes nothing; it keeps the numbers of the
-- two dialects' migrations alike.
UPDATE twofa_totp SET user_id = user_id WHERE 0;
