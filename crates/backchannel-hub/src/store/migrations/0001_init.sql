-- The hub's first schema. Keys, case ids and blobs are BLOBs; roles and kinds snake_case text.

CREATE TABLE cases (
    case_id    BLOB PRIMARY KEY,
    created_ms INTEGER NOT NULL
);

CREATE TABLE members (
    case_id   BLOB NOT NULL REFERENCES cases (case_id),
    key       BLOB NOT NULL,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL,
    party     TEXT,
    joined_ms INTEGER NOT NULL,
    PRIMARY KEY (case_id, key)
);

CREATE TABLE invites (
    case_id    BLOB NOT NULL REFERENCES cases (case_id),
    code_hash  TEXT NOT NULL,
    role       TEXT NOT NULL,
    party      TEXT,
    created_ms INTEGER NOT NULL,
    used_by    BLOB,
    used_ms    INTEGER,
    PRIMARY KEY (case_id, code_hash)
);

CREATE TABLE channels (
    id      INTEGER PRIMARY KEY,
    case_id BLOB NOT NULL REFERENCES cases (case_id),
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    head    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (case_id, name)
);

CREATE TABLE channel_members (
    channel_id INTEGER NOT NULL REFERENCES channels (id),
    key        BLOB NOT NULL,
    UNIQUE (channel_id, key)
);

CREATE TABLE entries (
    channel_id INTEGER NOT NULL REFERENCES channels (id),
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    author     BLOB NOT NULL,
    body       BLOB NOT NULL,
    at_ms      INTEGER NOT NULL,
    -- The MLS epoch the message was sent in; NULL in sealed channels.
    epoch      INTEGER,
    PRIMARY KEY (channel_id, seq)
);

-- One accepted commit per epoch: this is what keeps an MLS group from forking.
CREATE UNIQUE INDEX entries_one_commit_per_epoch ON entries (channel_id, epoch) WHERE kind = 'commit';

CREATE TABLE welcomes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key     BLOB NOT NULL,
    case_id BLOB NOT NULL REFERENCES cases (case_id),
    channel TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    body    BLOB NOT NULL
);
CREATE INDEX welcomes_by_key ON welcomes (key, id);

CREATE TABLE key_packages (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    key  BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX key_packages_by_key ON key_packages (key, id);

CREATE TABLE seen_nonces (
    key   BLOB NOT NULL,
    nonce BLOB NOT NULL,
    ts_ms INTEGER NOT NULL,
    PRIMARY KEY (key, nonce)
);
CREATE INDEX seen_nonces_by_ts ON seen_nonces (ts_ms);
