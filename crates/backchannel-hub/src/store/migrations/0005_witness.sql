-- The hub as a witness (src/witness.rs): its signing key, and for each case registered with it
-- (hosted here or not: these tables know nothing of `cases`) its mediator, the keys allowed to
-- send heads, and one chain hash per position of its public record, 1 to the newest, with no
-- hole.

-- One row, created at the first start: the Ed25519 secret the hub co-signs with. A backup of
-- the database holds it.
CREATE TABLE witness_key (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
);

CREATE TABLE witnessed_cases (
    case_id    BLOB PRIMARY KEY,
    mediator   BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
-- The cases a key has registered, counted against its quota.
CREATE INDEX witnessed_cases_by_mediator ON witnessed_cases (mediator);

CREATE TABLE witness_submitters (
    case_id BLOB NOT NULL REFERENCES witnessed_cases (case_id),
    key     BLOB NOT NULL,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE witness_hashes (
    case_id BLOB NOT NULL REFERENCES witnessed_cases (case_id),
    idx     INTEGER NOT NULL CHECK (idx >= 1),
    hash    BLOB NOT NULL,
    PRIMARY KEY (case_id, idx)
);
