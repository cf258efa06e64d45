//! The kiosk's local store: one SQLite file on the persistent data partition.
//!
//! It holds the outbox (every operation, committed before it is sent or printed) and,
//! local tickets, offline number bands and cached hub data. Personal data lives in its
//! own column and is erased as soon as the hub acknowledges the operation that carried it.

pub mod enrollment;
pub mod local;
pub mod outbox;
pub mod withdrawal;

use std::path::Path;

use rusqlite::Connection;

pub use crate::sqlite::{DbError, Durability};
pub use local::{Handover, LocalBand, LocalTicket};
pub use outbox::{NewOp, OpKind, OutboxStats, PendingOp};

/// Schema migrations of the kiosk store, oldest first. Never edit a shipped entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: the outbox.
    "CREATE TABLE outbox (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        op_id           TEXT    NOT NULL UNIQUE,
        kind            TEXT    NOT NULL,
        payload         TEXT    NOT NULL,
        personal        TEXT,
        created_at      INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        acked_at        INTEGER,
        response        TEXT
    );
    CREATE INDEX outbox_pending ON outbox (acked_at, next_attempt_at, seq);",
    // 2: credentials, offline bands, tickets handed over, cached hub data.
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE bands (
        day     TEXT    NOT NULL,
        service TEXT    NOT NULL,
        prefix  TEXT    NOT NULL,
        first   INTEGER NOT NULL,
        last    INTEGER NOT NULL,
        next    INTEGER NOT NULL,
        PRIMARY KEY (day, service, first)
    );
    CREATE TABLE tickets (
        op_id     TEXT    PRIMARY KEY,
        day       TEXT    NOT NULL,
        number    TEXT    NOT NULL,
        service   TEXT    NOT NULL,
        offline   INTEGER NOT NULL,
        handover  TEXT    NOT NULL,
        issued_at INTEGER NOT NULL
    );
    CREATE INDEX tickets_day ON tickets (day, number);
    CREATE TABLE cache (
        key        TEXT    PRIMARY KEY,
        value      TEXT    NOT NULL,
        fetched_at INTEGER NOT NULL
    );",
];

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or migrated.
    #[error(transparent)]
    Open(#[from] DbError),
    /// A statement failed (disk full, I/O error, corrupt page...).
    #[error("local store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column could not be read back.
    #[error("local store: stored JSON is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    /// An operation id that is not in the outbox.
    #[error("local store: no operation {0} in the outbox")]
    UnknownOp(uuid::Uuid),
}

/// The kiosk's durable local state.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens the store at `path` with full durability, creating and migrating it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, Durability::Full)
    }

    /// Opens the store with a chosen durability (benchmarks compare the two).
    pub fn open_with(path: &Path, durability: Durability) -> Result<Store, StoreError> {
        let conn = crate::sqlite::open(path, durability, MIGRATIONS)?;
        Ok(Store { conn })
    }

    /// Runs SQLite's own consistency check; `Ok(())` when the file is sound.
    pub fn integrity_check(&self) -> Result<(), String> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if result == "ok" { Ok(()) } else { Err(result) }
    }
}
