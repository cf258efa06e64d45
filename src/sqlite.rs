//! Opening a SQLite file the way Sportello needs it: pragmas and schema migrations.
//!
//! Shared by the kiosk's store and the hub's, so both get the same guarantees: WAL, the
//! chosen durability, overwritten deleted data, and a schema that only ever moves forward
//! one committed migration at a time.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How hard each commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a commit survives power loss. The kiosk, whose outbox is the
    /// only copy of an operation until the hub acknowledges it.
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the process but may
    /// be lost on power loss. Only for data that can be rebuilt.
    Normal,
}

/// Why a database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused (missing directory, corrupt file, disk full...).
    #[error("database {path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },
    /// The file could not be created (missing directory, no permission...).
    #[error("database {path}: cannot create it: {source}")]
    Create {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The thread that owns the writer connection could not be started.
    #[error("database {path}: could not start its writer thread: {source}")]
    Thread {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer Sportello; opening it could lose data.
    #[error(
        "database {path} has schema version {found}, newer than this program's {supported}: install the newer version or restore a backup"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// Version in the file.
        found: i64,
        /// Highest version this binary knows.
        supported: i64,
    },
}

/// Opens (creating if needed) a database, sets the pragmas and applies `migrations`.
///
/// `migrations[i]` takes the schema from version `i` to `i + 1`; each runs in its own
/// transaction together with the version bump, so a crash leaves a consistent version.
pub fn open(
    path: &Path,
    durability: Durability,
    migrations: &[&str],
) -> Result<Connection, DbError> {
    let name = path.display().to_string();
    let sqlite = |source| DbError::Sqlite {
        path: name.clone(),
        source,
    };
    create_private(path).map_err(|source| DbError::Create {
        path: name.clone(),
        source,
    })?;
    let mut conn = Connection::open(path).map_err(sqlite)?;
    configure(&conn, durability).map_err(sqlite)?;
    migrate(&mut conn, migrations, &name)?;
    Ok(conn)
}

/// Creates the file readable by its owner only (0600) if it does not exist yet. The hub's
/// holds codici fiscali and records, the kiosk's a hub token; SQLite gives the WAL and
/// shared-memory files the same mode as the database. An existing file keeps its mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // journal_mode returns the resulting mode as a row.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={synchronous};
         PRAGMA foreign_keys=ON;
         PRAGMA secure_delete=ON;"
    ))?;
    // Room for every statement of the hot paths ([`Cached`]) at once.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// `query_row` and `execute` through the connection's statement cache: a statement on a
/// hot path (a ticket runs about a dozen) is compiled once per connection instead of on
/// every call. Same arguments and results as rusqlite's own.
pub trait Cached {
    /// [`Connection::query_row`], cached.
    fn cached_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;

    /// [`Connection::execute`], cached.
    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl Cached for Connection {
    fn cached_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn cached_execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

fn migrate(conn: &mut Connection, migrations: &[&str], name: &str) -> Result<(), DbError> {
    let sqlite = |source| DbError::Sqlite {
        path: name.to_string(),
        source,
    };
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite)?;
    let supported = migrations.len() as i64;
    if found > supported {
        return Err(DbError::NewerSchema {
            path: name.to_string(),
            found,
            supported,
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(sqlite)?;
        tx.execute_batch(sql).map_err(sqlite)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)
            .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security finding 16: the hub's file (codici fiscali, records) was created 0644.
    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_wal_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.sqlite");
        let conn = open(&path, Durability::Full, &["CREATE TABLE a (x INTEGER);"]).unwrap();
        conn.execute("INSERT INTO a VALUES (1)", []).unwrap();
        let wal = dir.path().join("private.sqlite-wal");
        for file in [&path, &wal] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }

    #[test]
    fn migrations_apply_once_and_refuse_newer_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let v1 = ["CREATE TABLE a (x INTEGER);"];
        let v2 = ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER);"];
        open(&path, Durability::Full, &v1).unwrap();
        // Re-opening must not re-run migration 1 (it would fail: table exists).
        let conn = open(&path, Durability::Full, &v2).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL is 2");
        drop(conn);
        let err = open(&path, Durability::Full, &v1).unwrap_err();
        assert!(matches!(
            err,
            DbError::NewerSchema {
                found: 2,
                supported: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_failing_migration_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        open(&path, Durability::Full, &["CREATE TABLE a (x INTEGER);"]).unwrap();
        let bad = [
            "CREATE TABLE a (x INTEGER);",
            "CREATE TABLE b (y); SELEC oops;",
        ];
        assert!(open(&path, Durability::Full, &bad).is_err());
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let b_exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(b_exists, 0);
    }
}
