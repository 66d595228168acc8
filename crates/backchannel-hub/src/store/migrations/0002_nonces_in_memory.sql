-- Replay protection moved to the hub's memory and its nonce log (src/replay.rs).
DROP TABLE seen_nonces;
