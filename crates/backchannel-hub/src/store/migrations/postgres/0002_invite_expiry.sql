-- Invites that expire, and invites the mediator revokes: as SQLite's 0003_invite_expiry.sql.
-- NULL: never expires, not revoked.
ALTER TABLE invites ADD COLUMN expires_ms BIGINT;
ALTER TABLE invites ADD COLUMN revoked_ms BIGINT;
