-- The cases a key mediates, counted against its quota each time it convenes one.
CREATE INDEX members_by_key ON members (key, role);
