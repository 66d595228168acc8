-- What each key has stored at the hub: the bytes of the entries it authored (bodies and
-- welcomes), counted against `--max-bytes-per-key` in the post's own transaction.
CREATE TABLE usage (
    key BLOB PRIMARY KEY NOT NULL,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO usage (key, bytes)
    SELECT author, SUM(length(body)) FROM entries GROUP BY author;
