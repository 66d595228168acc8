//! Which database a hub uses, as named on the command line: a PostgreSQL URL or a SQLite file.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the hub keeps its state.
///
/// `Debug` and `Display` hide the password a PostgreSQL URL may carry, so the value can be
/// logged.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created and migrated at start: one hub process.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://…` or `postgresql://…`), migrated at start: any number of
    /// hub processes may share it.
    Postgres(String),
}

impl Database {
    /// A value starting with `postgres://` or `postgresql://` names PostgreSQL; anything else
    /// is a SQLite file path.
    pub fn parse(value: &str) -> Self {
        if is_postgres_url(value) {
            Database::Postgres(value.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(value))
        }
    }
}

fn is_postgres_url(value: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        value
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

impl From<PathBuf> for Database {
    /// As [`Database::parse`]; a path that is not UTF-8 is always a SQLite file.
    fn from(path: PathBuf) -> Self {
        match path.to_str() {
            Some(text) if is_postgres_url(text) => Database::Postgres(text.to_owned()),
            _ => Database::Sqlite(path),
        }
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Database::from(path.to_path_buf())
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(&redact(url)).finish(),
        }
    }
}

/// The URL with the password of its user part and any `password=` parameter replaced by
/// `***`.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_postgres_and_anything_else_is_a_file() {
        for url in [
            "postgres://hub@db/hub",
            "postgresql://hub@db/hub",
            "POSTGRES://h/d",
        ] {
            assert_eq!(Database::parse(url), Database::Postgres(url.to_owned()));
            assert_eq!(
                Database::from(PathBuf::from(url)),
                Database::Postgres(url.to_owned())
            );
        }
        for path in [
            "hub.sqlite",
            "/var/lib/hub/postgres.db",
            "postgres",
            "postgres:/x",
        ] {
            assert_eq!(Database::parse(path), Database::Sqlite(PathBuf::from(path)));
            assert_eq!(
                Database::from(PathBuf::from(path)),
                Database::Sqlite(PathBuf::from(path))
            );
        }
    }

    #[test]
    fn passwords_are_not_shown() {
        let db = Database::parse(
            "postgres://hub:s3cret@db.internal:5432/hub?password=s3cret&sslmode=disable",
        );
        for shown in [db.to_string(), format!("{db:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("hub:***@db.internal:5432/hub"), "{shown}");
            assert!(shown.contains("sslmode=disable"), "{shown}");
        }
        assert_eq!(
            Database::parse("postgresql://hub@/hub?host=/run/pg").to_string(),
            "postgresql://hub@/hub?host=/run/pg"
        );
    }
}

/// How durable an acknowledged entry is on SQLite. PostgreSQL syncs every commit (its default
/// `synchronous_commit`), whichever is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL mode: an acknowledged entry survives a killed hub; a power
    /// loss may take the last ones.
    #[default]
    Normal,
    /// `synchronous=FULL`: every acknowledged entry is on disk before its answer leaves.
    Full,
}

impl Durability {
    /// `normal` or `full`, as the command line names them.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "normal" => Some(Self::Normal),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}
