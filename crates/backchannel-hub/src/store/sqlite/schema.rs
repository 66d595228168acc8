//! The schema of the hub's SQLite file: its migrations, applied in order at open, each in a
//! transaction of its own with the version it brings.

use anyhow::Context as _;
use rusqlite::Connection;

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_nonces_in_memory.sql"),
    include_str!("../migrations/0003_invite_expiry.sql"),
    include_str!("../migrations/0004_members_by_key.sql"),
    include_str!("../migrations/0005_witness.sql"),
    include_str!("../migrations/0006_last_resort.sql"),
    include_str!("../migrations/0007_usage.sql"),
    include_str!("../migrations/0008_sealed_names.sql"),
];

/// Brings the schema up to date; refuses a database newer than this hub.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: usize = conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM schema_version")?
        .query_row([], |row| row.get(0))?;
    anyhow::ensure!(
        current <= MIGRATIONS.len(),
        "the database has schema version {current}, newer than this hub's {}",
        MIGRATIONS.len()
    );
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("migrating to schema version {}", index + 1))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [index + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use backchannel_core::api::MemberRole;
    use backchannel_core::{CaseId, PublicKey};

    use super::*;
    use crate::store::Backend as _;
    use crate::store::Sqlite;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        drop(Sqlite::open(&path).unwrap());
        let store = Sqlite::open(&path).unwrap();
        let versions: usize = store
            .lock()
            .unwrap()
            .conn
            .query_row("SELECT COUNT(*) FROM schema_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(versions, MIGRATIONS.len());
    }

    /// A database at `path` migrated to `version` only, as a hub of that version left it.
    fn at_version(path: &std::path::Path, version: usize) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            .unwrap();
        for (index, sql) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [index + 1],
            )
            .unwrap();
        }
        conn
    }

    #[test]
    fn invites_made_before_expiry_existed_never_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        // A database as a hub of schema version 2 left it, with an unspent invite.
        let conn = at_version(&path, 2);
        conn.execute_batch(
            "INSERT INTO cases (case_id, created_ms) VALUES (zeroblob(16), 1);
             INSERT INTO channels (case_id, name, kind) VALUES (zeroblob(16), 'public', 'sealed');
             INSERT INTO invites (case_id, code_hash, role, created_ms)
                 VALUES (zeroblob(16), 'old', 'observer', 1);",
        )
        .unwrap();
        drop(conn);

        let store = Sqlite::open(&path).unwrap();
        let member = store
            .join(
                &CaseId([0; 16]),
                &PublicKey([2; 32]),
                "old",
                b"sealed name",
                u64::MAX >> 1,
            )
            .unwrap();
        assert_eq!(member.role, MemberRole::Observer);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let store = Sqlite::open(&path).unwrap();
        store
            .lock()
            .unwrap()
            .conn
            .execute("INSERT INTO schema_version (version) VALUES (99)", [])
            .unwrap();
        drop(store);
        assert!(Sqlite::open(&path).is_err());
    }

    #[test]
    fn names_held_in_clear_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        // A database as a hub of schema version 7 left it: names and parties in clear.
        let conn = at_version(&path, 7);
        conn.execute_batch(
            "INSERT INTO cases (case_id, created_ms) VALUES (zeroblob(16), 1);
             INSERT INTO members (case_id, key, name, role, party, joined_ms)
                 VALUES (zeroblob(16), x'01', 'Islamabad', 'mediator', NULL, 1),
                        (zeroblob(16), x'02', 'Araghchi', 'party', 'Iran', 2);
             INSERT INTO invites (case_id, code_hash, role, party, created_ms, used_by)
                 VALUES (zeroblob(16), 'spent', 'party', 'Iran', 1, x'02');",
        )
        .unwrap();
        drop(conn);

        drop(Sqlite::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        type Row = (Vec<u8>, Option<String>, Option<Vec<u8>>);
        let members: Vec<Row> = conn
            .prepare("SELECT key, invite, sealed_name FROM members ORDER BY joined_ms")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            members,
            [(vec![1], None, None), (vec![2], Some("spent".into()), None)]
        );
        // No column of members or invites holds a name or a party any more.
        let dump: String = conn
            .query_row(
                "SELECT group_concat(sql, ' ') FROM sqlite_master
                 WHERE type = 'table' AND name IN ('members', 'invites')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(dump.contains("sealed_name"), "{dump}");
        assert!(
            !dump.contains("party") && !dump.contains(" name "),
            "{dump}"
        );
    }
}
