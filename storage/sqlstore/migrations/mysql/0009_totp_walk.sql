-- A walk over every TOTP record in user ID order, for key rotation.
--
-- The walk reads batches by keyset pagination: the records whose user_id
-- comes after the last one read, in byte order, as Go compares strings.
-- user_id is VARBINARY, which sorts bytes, so the primary key's index
-- serves the walk and PostgreSQL's 0009 index has no counterpart here. The
-- statement below does nothing; it keeps the numbers of the dialects'
-- migrations alike.
DO 0;
