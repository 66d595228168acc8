-- The cases a key mediates, counted against its quota each time it convenes one: as SQLite's
-- 0004_members_by_key.sql.
CREATE INDEX members_by_key ON members (key, role);
