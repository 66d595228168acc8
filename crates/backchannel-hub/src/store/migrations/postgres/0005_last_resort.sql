-- Key packages that last: each key may keep one last-resort key package (MLS's last_resort
-- extension) beside its ordinary ones. It is handed out when no ordinary one is left and is
-- never deleted by a claim; a newer one replaces it.
ALTER TABLE key_packages ADD COLUMN last_resort BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (key) WHERE last_resort;
