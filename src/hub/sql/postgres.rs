//! The PostgreSQL side of [`super::Sql`]: one blocking connection (the `postgres` crate,
//! the synchronous face of `tokio-postgres`), its prepared statements, the translation of
//! [`Value`]s to and from PostgreSQL's types, and forward-only migrations.
//!
//! Why `postgres` and not an async client or sqlx: the hub's database work already runs
//! on its own writer thread and on blocking threads, in closures that take a connection
//! (`hub::store`); a blocking client keeps that shape for both engines. sqlx would bring
//! a second SQLite driver whose `libsqlite3-sys` clashes with rusqlite's.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::str::FromStr;
use std::time::Duration;

use ::postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use ::postgres::{Client, Config, NoTls, Statement};
use bytes::BytesMut;

use super::{Row, SqlError, Value, to_dollar};

type BoxError = Box<dyn StdError + Sync + Send>;

/// The advisory lock every write transaction holds (`pg_advisory_xact_lock`): one writer
/// at a time on the database, whichever hub process it runs in ("SPOR").
pub const WRITE_LOCK: i64 = 0x5350_4f52;

/// The advisory lock a hub holds while it migrates the schema, so two processes started
/// together do not both apply a migration.
const MIGRATION_LOCK: i64 = 0x5350_4f4d;

/// The client, closed off the async threads: closing it blocks, which tokio refuses on
/// a thread that drives tasks, and the hub's reader connection goes with the last handle
/// to the hub's state, on such a thread (the bench's shutdown panicked there).
struct OwnedClient(Option<Client>);

impl std::ops::Deref for OwnedClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().expect("the client is there until dropped")
    }
}

impl std::ops::DerefMut for OwnedClient {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("the client is there until dropped")
    }
}

impl Drop for OwnedClient {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            // If the thread cannot start, the connection is left to the server to end.
            let closing = std::thread::Builder::new().name("pg-close".into());
            if let Err(e) = closing.spawn(move || drop(client)) {
                tracing::warn!(%e, "a database connection was not closed");
            }
        }
    }
}

/// What [`PgConn::next_notification`] heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// A notification's payload.
    Message(String),
    /// Nothing within the time.
    Nothing,
    /// The connection is gone: connect again.
    Closed,
}

/// One connection and the statements prepared on it.
pub struct PgConn {
    client: OwnedClient,
    statements: HashMap<String, Statement>,
    files_dir: Option<std::path::PathBuf>,
}

/// Why a PostgreSQL database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum PgOpenError {
    /// The URL is not one the client understands.
    #[error("database {shown}: not a PostgreSQL URL the hub can use: {reason}")]
    BadUrl {
        /// The URL without its password.
        shown: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached or refused the login.
    #[error("database {shown}: cannot connect: {source}")]
    Connect {
        /// The URL without its password.
        shown: String,
        /// The client's reason.
        #[source]
        source: ::postgres::Error,
    },
    /// A migration failed; nothing of it was applied.
    #[error("database {shown}: migrating the schema failed: {source}")]
    Migrate {
        /// The URL without its password.
        shown: String,
        /// The server's reason.
        #[source]
        source: SqlError,
    },
    /// The database was migrated by a newer hub.
    #[error(
        "database {shown} has schema version {found}, newer than this program's {supported}: run the newer hub or restore a backup"
    )]
    NewerSchema {
        /// The URL without its password.
        shown: String,
        /// Version in the database.
        found: i64,
        /// Highest version this binary knows.
        supported: i64,
    },
}

/// `url` as it may be logged (defined with the setting it comes from).
pub use crate::config::hub::redact_url;

impl PgConn {
    /// Connects to `url` (`postgres://user:password@host:port/database?...`; with
    /// `sslmode=verify-full&sslrootcert=CA.pem` over TLS, `super::pg_tls`).
    pub fn connect(url: &str) -> Result<PgConn, PgOpenError> {
        let shown = redact_url(url);
        let bad_url = |reason: String| PgOpenError::BadUrl {
            shown: shown.clone(),
            reason,
        };
        let prepared = super::pg_tls::prepare(url).map_err(bad_url)?;
        let mut config = Config::from_str(&prepared.url).map_err(|e| bad_url(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("sportello-hub");
        }
        let client = match prepared.tls {
            Some(tls) => config.connect(tls),
            None => config.connect(NoTls),
        }
        .map_err(|source| PgOpenError::Connect { shown, source })?;
        Ok(PgConn {
            client: OwnedClient(Some(client)),
            statements: HashMap::new(),
            files_dir: None,
        })
    }

    /// Keeps the hub's files (keys, certificate, bundles) in `dir`: what is beside the
    /// database file for SQLite (`super::Sql::files_dir`).
    pub fn with_files_dir(mut self, dir: impl Into<std::path::PathBuf>) -> PgConn {
        self.files_dir = Some(dir.into());
        self
    }

    /// Where the hub keeps its files, once set.
    pub fn files_dir(&self) -> Option<&std::path::Path> {
        self.files_dir.as_deref()
    }

    /// True once the connection is gone (the server restarted, the network dropped).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, SqlError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&to_dollar(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs one statement; the rows it changed.
    pub fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, SqlError> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &params(args))?)
    }

    /// Every row of a query, each column converted to a [`Value`].
    pub fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, SqlError> {
        let statement = self.statement(sql)?;
        let rows = self.client.query(&statement, &params(args))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| row.try_get::<_, PgValue>(i).map(|v| v.0))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
                    .map_err(SqlError::from)
            })
            .collect()
    }

    /// Several statements without parameters.
    pub fn batch(&mut self, sql: &str) -> Result<(), SqlError> {
        Ok(self.client.batch_execute(sql)?)
    }

    /// `BEGIN` and the database-wide write lock ([`WRITE_LOCK`]).
    pub fn begin_write(&mut self) -> Result<(), SqlError> {
        self.client.batch_execute("BEGIN")?;
        let locked = self
            .client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]);
        if let Err(e) = locked {
            // Leave no transaction open behind a failed lock.
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }

    /// Waits up to `timeout` for a notification on a channel this connection listens
    /// to (`LISTEN`).
    pub fn next_notification(&mut self, timeout: Duration) -> Heard {
        use ::postgres::fallible_iterator::FallibleIterator;
        let next = self.client.notifications().timeout_iter(timeout).next();
        match next {
            Ok(Some(notification)) => Heard::Message(notification.payload().to_owned()),
            Ok(None) if !self.client.is_closed() => Heard::Nothing,
            _ => Heard::Closed,
        }
    }

    /// Brings the schema to `migrations.len()`: `migrations[i]` takes it from version `i`
    /// to `i + 1`. All missing steps run in one transaction (PostgreSQL's DDL is
    /// transactional) under [`MIGRATION_LOCK`]; a database newer than `migrations` is
    /// refused. Returns the version reached.
    pub fn migrate(&mut self, migrations: &[&str], url: &str) -> Result<i64, PgOpenError> {
        let shown = redact_url(url);
        let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
        let failed = |source: SqlError| PgOpenError::Migrate {
            shown: shown.clone(),
            source,
        };
        let mut tx = self.client.transaction().map_err(|e| failed(e.into()))?;
        let found = (|| -> Result<i64, ::postgres::Error> {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_version (
                     version    BIGINT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )?;
            let row = tx.query_one("SELECT COALESCE(max(version), 0) FROM schema_version", &[])?;
            row.try_get(0)
        })()
        .map_err(|e| failed(e.into()))?;
        if found > supported {
            return Err(PgOpenError::NewerSchema {
                shown,
                found,
                supported,
            });
        }
        for (index, step) in migrations.iter().enumerate().skip(found as usize) {
            let version = index as i64 + 1;
            tx.batch_execute(step).map_err(|e| failed(e.into()))?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )
            .map_err(|e| failed(e.into()))?;
        }
        tx.commit().map_err(|e| failed(e.into()))?;
        self.statements.clear();
        Ok(supported)
    }
}

/// True for an error that means the server is out of reach, not that it refused the
/// statement: the connection closed, an I/O failure, or the server shutting down or
/// starting (SQLSTATE classes 08 and 57P).
pub fn is_connection_error(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(state) => {
            let code = state.code();
            code.starts_with("08") || code.starts_with("57P")
        }
        // No SQLSTATE: the client's own failure, an I/O error among them.
        None => e.source().is_some_and(|s| s.is::<std::io::Error>()),
    }
}

fn params(args: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => int_to_sql(*v, ty, out),
            Value::Real(v) if *ty == Type::FLOAT4 => (*v as f32).to_sql(ty, out),
            Value::Real(v) if *ty == Type::FLOAT8 => v.to_sql(ty, out),
            Value::Text(v) => v.as_str().to_sql(ty, out),
            Value::Blob(v) => v.as_slice().to_sql(ty, out),
            Value::Real(_) => {
                Err(format!("a real number cannot be bound to a {ty} parameter").into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer into whatever integer-like type PostgreSQL inferred for the parameter,
/// as SQLite would store it there.
fn int_to_sql(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *ty == Type::INT8 {
        v.to_sql(ty, out)
    } else if *ty == Type::INT4 {
        i32::try_from(v)?.to_sql(ty, out)
    } else if *ty == Type::INT2 {
        i16::try_from(v)?.to_sql(ty, out)
    } else if *ty == Type::BOOL {
        (v != 0).to_sql(ty, out)
    } else if *ty == Type::FLOAT8 {
        (v as f64).to_sql(ty, out)
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
        v.to_string().as_str().to_sql(ty, out)
    } else {
        Err(format!("an integer cannot be bound to a {ty} parameter").into())
    }
}

/// A column of any type the hub's schema uses, as a [`Value`].
struct PgValue(Value);

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgValue, BoxError> {
        let value = if *ty == Type::BOOL {
            Value::Int(i64::from(bool::from_sql(ty, raw)?))
        } else if *ty == Type::INT8 {
            Value::Int(i64::from_sql(ty, raw)?)
        } else if *ty == Type::INT4 {
            Value::Int(i64::from(i32::from_sql(ty, raw)?))
        } else if *ty == Type::INT2 {
            Value::Int(i64::from(i16::from_sql(ty, raw)?))
        } else if *ty == Type::FLOAT8 {
            Value::Real(f64::from_sql(ty, raw)?)
        } else if *ty == Type::FLOAT4 {
            Value::Real(f64::from(f32::from_sql(ty, raw)?))
        } else if *ty == Type::BYTEA {
            Value::Blob(<&[u8]>::from_sql(ty, raw)?.to_vec())
        } else if <&str as FromSql>::accepts(ty) {
            Value::Text(<&str>::from_sql(ty, raw)?.to_owned())
        } else {
            return Err(format!(
                "a {ty} column: cast it to bigint, double precision or text in the query"
            )
            .into());
        };
        Ok(PgValue(value))
    }

    fn from_sql_null(_: &Type) -> Result<PgValue, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact_url("postgres://hub:s3cret@db.example:5432/sportello?sslmode=require"),
            "postgres://hub:***@db.example:5432/sportello?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://hub@db/sportello"),
            "postgres://hub@db/sportello"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(
            redact_url("host=db user=hub password=s3cret dbname=sportello"),
            "host=db user=hub password=*** dbname=sportello"
        );
    }
}
