-- The hub keeps no name in clear. A member's display name is sealed under the case key, which
-- the hub never holds; which party an invite is for is the mediator's to know, so a member
-- row names the invite it spent instead. The names held until now are dropped.
ALTER TABLE members ADD COLUMN sealed_name BLOB;
ALTER TABLE members ADD COLUMN invite TEXT;
UPDATE members SET invite = (
    SELECT code_hash FROM invites
    WHERE invites.case_id = members.case_id AND invites.used_by = members.key
);
ALTER TABLE members DROP COLUMN name;
ALTER TABLE members DROP COLUMN party;
ALTER TABLE invites DROP COLUMN party;
