-- The hub as a witness: as SQLite's 0005_witness.sql. Keys, case ids, hashes and the secret
-- are BYTEA; times and positions BIGINT.

CREATE TABLE witness_key (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BYTEA NOT NULL
);

CREATE TABLE witnessed_cases (
    case_id    BYTEA PRIMARY KEY,
    mediator   BYTEA NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX witnessed_cases_by_mediator ON witnessed_cases (mediator);

CREATE TABLE witness_submitters (
    case_id BYTEA NOT NULL REFERENCES witnessed_cases (case_id),
    key     BYTEA NOT NULL,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE witness_hashes (
    case_id BYTEA NOT NULL REFERENCES witnessed_cases (case_id),
    idx     BIGINT NOT NULL CHECK (idx >= 1),
    hash    BYTEA NOT NULL,
    PRIMARY KEY (case_id, idx)
);
