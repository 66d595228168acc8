-- The hub keeps no name in clear: as SQLite's 0008_sealed_names.sql.
ALTER TABLE members ADD COLUMN sealed_name BYTEA;
ALTER TABLE members ADD COLUMN invite TEXT;
UPDATE members SET invite = invites.code_hash
    FROM invites
    WHERE invites.case_id = members.case_id AND invites.used_by = members.key;
ALTER TABLE members DROP COLUMN name;
ALTER TABLE members DROP COLUMN party;
ALTER TABLE invites DROP COLUMN party;
