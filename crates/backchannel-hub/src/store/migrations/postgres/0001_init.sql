-- The hub's first schema on PostgreSQL: the same tables as SQLite's 0001_init.sql. Keys, case
-- ids and blobs are BYTEA; roles and kinds snake_case text; times and positions BIGINT.
-- Identity columns named `ord` stand in for SQLite's rowid where rows are listed in
-- insertion order.

CREATE TABLE cases (
    case_id    BYTEA PRIMARY KEY,
    created_ms BIGINT NOT NULL
);

CREATE TABLE members (
    case_id   BYTEA NOT NULL REFERENCES cases (case_id),
    key       BYTEA NOT NULL,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL,
    party     TEXT,
    joined_ms BIGINT NOT NULL,
    ord       BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE invites (
    case_id    BYTEA NOT NULL REFERENCES cases (case_id),
    code_hash  TEXT NOT NULL,
    role       TEXT NOT NULL,
    party      TEXT,
    created_ms BIGINT NOT NULL,
    used_by    BYTEA,
    used_ms    BIGINT,
    PRIMARY KEY (case_id, code_hash)
);

CREATE TABLE channels (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id BYTEA NOT NULL REFERENCES cases (case_id),
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    head    BIGINT NOT NULL DEFAULT 0,
    UNIQUE (case_id, name)
);

CREATE TABLE channel_members (
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    key        BYTEA NOT NULL,
    ord        BIGINT GENERATED ALWAYS AS IDENTITY,
    UNIQUE (channel_id, key)
);

CREATE TABLE entries (
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    author     BYTEA NOT NULL,
    body       BYTEA NOT NULL,
    at_ms      BIGINT NOT NULL,
    -- The MLS epoch the message was sent in; NULL in sealed channels.
    epoch      BIGINT,
    PRIMARY KEY (channel_id, seq)
);

-- One accepted commit per epoch: this is what keeps an MLS group from forking, whichever hub
-- process accepted the commit.
CREATE UNIQUE INDEX entries_one_commit_per_epoch ON entries (channel_id, epoch) WHERE kind = 'commit';

CREATE TABLE welcomes (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key     BYTEA NOT NULL,
    case_id BYTEA NOT NULL REFERENCES cases (case_id),
    channel TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    body    BYTEA NOT NULL
);
CREATE INDEX welcomes_by_key ON welcomes (key, id);

CREATE TABLE key_packages (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key  BYTEA NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX key_packages_by_key ON key_packages (key, id);

CREATE TABLE seen_nonces (
    key   BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    ts_ms BIGINT NOT NULL,
    PRIMARY KEY (key, nonce)
);
CREATE INDEX seen_nonces_by_ts ON seen_nonces (ts_ms);
