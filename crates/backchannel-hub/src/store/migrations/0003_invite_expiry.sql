-- Invites that expire, and invites the mediator revokes. NULL: never expires, not revoked.
ALTER TABLE invites ADD COLUMN expires_ms INTEGER;
ALTER TABLE invites ADD COLUMN revoked_ms INTEGER;
