//! The hub's SQL on either engine: SQLite (one office, the embedded default) or PostgreSQL
//! (a region: several hub processes on one replicated database, issue 19).
//!
//! Queries are written once, in the subset both engines read alike, with SQLite's
//! numbered parameters (`?1`); [`Sql`] is a borrowed handle on one connection of either
//! kind that runs them, and [`Row`] hands columns back through [`FromValue`], which
//! accepts what each engine returns for the same column (PostgreSQL's `boolean` for
//! SQLite's `0`/`1`, its `integer` where SQLite has one integer type). What the subset
//! leaves out is in ARCHITECTURE.md, "Writing SQL for both engines".
//!
//! Write transactions are serialised across every process on the database
//! ([`Sql::begin_write`]): SQLite takes its file's write lock, PostgreSQL a
//! transaction-scoped advisory lock, so an invariant that holds for one hub process on
//! SQLite holds for several on PostgreSQL.

pub mod pg_tls;
mod placeholders;
pub mod postgres;
mod value;

use std::cell::RefCell;

pub use placeholders::to_dollar;
pub use value::{FromValue, Row, Value};

use self::postgres::PgConn;

/// Which database engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An SQLite file beside the hub (`database = "sqlite:..."` or a path).
    Sqlite,
    /// A PostgreSQL server (`database = "postgres://..."`).
    Postgres,
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// SQLite refused.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or the connection to it is gone.
    #[error(transparent)]
    Postgres(#[from] ::postgres::Error),
    /// A column held something the caller did not expect.
    #[error("column {index}: expected {expected}, found {found}")]
    Column {
        /// 0-based column.
        index: usize,
        /// What the caller asked for.
        expected: &'static str,
        /// What the column held.
        found: &'static str,
    },
    /// `query_one` found no row.
    #[error("the query returned no row")]
    NoRow,
    /// A file the database keeps beside it (`Sql::files_dir`) could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

impl SqlError {
    /// True when the database could not be reached (the connection to PostgreSQL is
    /// closed or broken): the request may succeed later, so the hub answers 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            SqlError::Postgres(e) => postgres::is_connection_error(e),
            _ => false,
        }
    }
}

/// A borrowed handle on one connection of either engine. Cheap to copy; statements are
/// prepared once per connection and kept.
#[derive(Clone, Copy)]
pub enum Sql<'c> {
    /// An SQLite connection (rusqlite).
    Sqlite(&'c rusqlite::Connection),
    /// A PostgreSQL connection (the `postgres` crate, blocking: the hub's database work
    /// runs on its writer thread and on blocking threads, as with SQLite).
    Postgres(&'c RefCell<PgConn>),
}

/// One owned connection of either engine, as the hub's writer thread and reader hold it.
pub enum Conn {
    /// An SQLite connection.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL connection (in a `RefCell` because its statement cache changes
    /// behind the shared `Sql` handle; boxed, being the larger).
    Postgres(Box<RefCell<PgConn>>),
}

impl Conn {
    /// The handle statements run through.
    pub fn sql(&self) -> Sql<'_> {
        match self {
            Conn::Sqlite(conn) => Sql::Sqlite(conn),
            Conn::Postgres(conn) => Sql::Postgres(conn),
        }
    }

    /// True once the connection is gone for good (PostgreSQL restarted, the network
    /// dropped): the next use needs a new one. An SQLite file never is.
    pub fn is_closed(&self) -> bool {
        match self {
            Conn::Sqlite(_) => false,
            Conn::Postgres(conn) => conn.borrow().is_closed(),
        }
    }
}

impl<'c> From<&'c Conn> for Sql<'c> {
    fn from(conn: &'c Conn) -> Sql<'c> {
        conn.sql()
    }
}

impl<'c> From<&'c mut Conn> for Sql<'c> {
    fn from(conn: &'c mut Conn) -> Sql<'c> {
        conn.sql()
    }
}

impl<'c> From<&'c rusqlite::Connection> for Sql<'c> {
    fn from(conn: &'c rusqlite::Connection) -> Sql<'c> {
        Sql::Sqlite(conn)
    }
}

impl<'c> From<&'c rusqlite::Transaction<'_>> for Sql<'c> {
    fn from(tx: &'c rusqlite::Transaction<'_>) -> Sql<'c> {
        Sql::Sqlite(tx)
    }
}

impl<'c> From<&'c mut rusqlite::Connection> for Sql<'c> {
    fn from(conn: &'c mut rusqlite::Connection) -> Sql<'c> {
        Sql::Sqlite(conn)
    }
}

impl<'c> Sql<'c> {
    /// The engine behind this connection.
    pub fn engine(self) -> Engine {
        match self {
            Sql::Sqlite(_) => Engine::Sqlite,
            Sql::Postgres(_) => Engine::Postgres,
        }
    }

    /// The directory for the files the hub keeps beside its database (the keys of the
    /// codice fiscale hashes and the seal, the certificate, update bundles): an SQLite
    /// file's own directory; for PostgreSQL the hub's data directory. `None` for an
    /// in-memory SQLite database (tests), whose keys then stay in its `settings`.
    pub fn files_dir(self) -> Option<std::path::PathBuf> {
        match self {
            Sql::Sqlite(conn) => conn
                .path()
                .filter(|p| !p.is_empty())
                .and_then(|p| std::path::Path::new(p).parent().map(ToOwned::to_owned)),
            Sql::Postgres(conn) => conn.borrow().files_dir().map(ToOwned::to_owned),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(self, sql: &str, args: &[Value]) -> Result<u64, SqlError> {
        match self {
            Sql::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let changed = stmt.execute(rusqlite::params_from_iter(args.iter()))?;
                Ok(changed as u64)
            }
            Sql::Postgres(conn) => conn.borrow_mut().execute(sql, args),
        }
    }

    /// Every row of a query.
    pub fn query_all(self, sql: &str, args: &[Value]) -> Result<Vec<Row>, SqlError> {
        match self {
            Sql::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(value::sqlite_row(row, width)?);
                }
                Ok(out)
            }
            Sql::Postgres(conn) => conn.borrow_mut().query(sql, args),
        }
    }

    /// The first row of a query, if any.
    pub fn query_opt(self, sql: &str, args: &[Value]) -> Result<Option<Row>, SqlError> {
        match self {
            Sql::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                match rows.next()? {
                    Some(row) => Ok(Some(value::sqlite_row(row, width)?)),
                    None => Ok(None),
                }
            }
            Sql::Postgres(conn) => Ok(conn.borrow_mut().query(sql, args)?.into_iter().next()),
        }
    }

    /// The first row of a query that always returns one (`SELECT count(*) ...`).
    pub fn query_one(self, sql: &str, args: &[Value]) -> Result<Row, SqlError> {
        self.query_opt(sql, args)?.ok_or(SqlError::NoRow)
    }

    /// Several statements without parameters (schema changes).
    pub fn batch(self, sql: &str) -> Result<(), SqlError> {
        match self {
            Sql::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Sql::Postgres(conn) => conn.borrow_mut().batch(sql),
        }
    }

    /// Begins a write transaction that no other writer on this database, in this process
    /// or another, runs beside: SQLite's `BEGIN IMMEDIATE`; on PostgreSQL `BEGIN` and
    /// an advisory lock held to the end of the transaction.
    pub fn begin_write(self) -> Result<(), SqlError> {
        match self {
            Sql::Sqlite(conn) => Ok(conn.execute_batch("BEGIN IMMEDIATE")?),
            Sql::Postgres(conn) => conn.borrow_mut().begin_write(),
        }
    }

    /// Runs `f` in a write transaction ([`Sql::begin_write`]): committed when `f`
    /// succeeds, rolled back when it fails.
    pub fn write_transaction<R, E>(self, f: impl FnOnce(Sql<'c>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<SqlError>,
    {
        self.begin_write()?;
        match f(self) {
            Ok(value) => {
                self.commit()?;
                Ok(value)
            }
            Err(err) => {
                // The error that matters is `f`'s; a failed rollback leaves nothing
                // committed either.
                let _ = self.rollback();
                Err(err)
            }
        }
    }

    /// Commits the open transaction.
    pub fn commit(self) -> Result<(), SqlError> {
        self.batch("COMMIT")
    }

    /// Rolls the open transaction back.
    pub fn rollback(self) -> Result<(), SqlError> {
        self.batch("ROLLBACK")
    }
}

/// `&[Value]` from a list of anything a [`Value`] can be made from:
/// `sql.execute("... ?1, ?2", args![day.to_string(), service])`.
#[macro_export]
macro_rules! sql_args {
    () => { &[] as &[$crate::hub::sql::Value] };
    ($($arg:expr),+ $(,)?) => {
        &[$($crate::hub::sql::Value::from($arg)),+] as &[$crate::hub::sql::Value]
    };
}
pub use crate::sql_args as args;
