//! The hub's SQLite file: schema migrations and access from async handlers.
//!
//! The hub is the only place a display number is decided, so its commits use
//! `synchronous=FULL`: a number printed on paper must survive a power cut of the mini PC.
//! One writer connection on its own thread serialises every state change and groups
//! the bursty ones into shared commits ([`super::writer`]); a second connection serves
//! reads concurrently through WAL. On PostgreSQL ([`Location`] naming a server) the
//! same two connections are kept, and replaced when the server drops them.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use super::error::ApiError;
use super::sql::postgres::{PgConn, PgOpenError};
use super::sql::{Conn, Engine, Sql, SqlError};
use super::writer::{Reconnect, Writer};
use crate::config::hub::{Database, HubConfig};
use crate::sqlite::{self, DbError, Durability};

/// Schema migrations, oldest first. Never edit a shipped entry: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: kiosks, operators, tickets, numbering, bands, replays, appointments.
    "CREATE TABLE kiosks (
        id              TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        token_hash      TEXT NOT NULL UNIQUE,
        enrolled_at     TEXT NOT NULL,
        disabled        INTEGER NOT NULL DEFAULT 0,
        version         TEXT,
        printer         TEXT,
        printer_detail  TEXT,
        outbox_depth    INTEGER,
        kiosk_time      TEXT,
        last_heartbeat  TEXT
    );
    CREATE TABLE enrollment_tokens (
        token_hash  TEXT PRIMARY KEY,
        created_at  TEXT NOT NULL,
        used_at     TEXT,
        kiosk_id    TEXT
    );
    CREATE TABLE operators (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        password_hash   TEXT NOT NULL,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE sessions (
        token_hash  TEXT PRIMARY KEY,
        operator_id INTEGER NOT NULL REFERENCES operators(id),
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        counter     TEXT,
        services    TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE number_blocks (
        day         TEXT NOT NULL,
        service     TEXT NOT NULL,
        next_online INTEGER NOT NULL,
        band_floor  INTEGER NOT NULL,
        PRIMARY KEY (day, service)
    );
    CREATE TABLE bands (
        id          INTEGER PRIMARY KEY,
        day         TEXT NOT NULL,
        service     TEXT NOT NULL,
        kiosk_id    TEXT NOT NULL,
        first       INTEGER NOT NULL,
        last        INTEGER NOT NULL,
        leased_at   TEXT NOT NULL
    );
    CREATE INDEX bands_by_kiosk ON bands (kiosk_id, day, service);
    CREATE TABLE tickets (
        id              TEXT PRIMARY KEY,
        day             TEXT NOT NULL,
        number          TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        number_service  TEXT NOT NULL,
        service         TEXT NOT NULL,
        priority        INTEGER NOT NULL,
        appointment     TEXT,
        lang            TEXT NOT NULL,
        kiosk_id        TEXT NOT NULL,
        offline         INTEGER NOT NULL,
        status          TEXT NOT NULL,
        counter         TEXT,
        issued_at       TEXT NOT NULL,
        queued_at       INTEGER NOT NULL,
        called_at       INTEGER,
        serving_at      INTEGER,
        finished_at     INTEGER,
        UNIQUE (day, number)
    );
    CREATE INDEX tickets_queue ON tickets (day, service, status);
    CREATE INDEX tickets_counter ON tickets (day, counter, status);
    CREATE TABLE ops (
        op_id           TEXT PRIMARY KEY,
        kiosk_id        TEXT NOT NULL,
        request_hash    TEXT NOT NULL,
        response        TEXT NOT NULL,
        created_at      TEXT NOT NULL
    );
    CREATE TABLE service_stats (
        service         TEXT PRIMARY KEY,
        average_seconds REAL NOT NULL,
        samples         INTEGER NOT NULL
    );
    CREATE TABLE appointments (
        day         TEXT NOT NULL,
        code        TEXT NOT NULL,
        time        TEXT NOT NULL,
        service     TEXT NOT NULL,
        cf_hash     TEXT,
        ticket_id   TEXT,
        PRIMARY KEY (day, code)
    );
    CREATE TABLE settings (
        key     TEXT PRIMARY KEY,
        value   TEXT NOT NULL
    );",
    // 2: a ticket's optional codice fiscale (purged after its day) and its op_id (the
    // kiosk's tracking id); the request hash without `offline_number`, to recognise an
    // online answer lost in flight; online numbers retired by such a renumbering.
    "ALTER TABLE tickets ADD COLUMN codice_fiscale TEXT;
    ALTER TABLE tickets ADD COLUMN op_id TEXT;
    UPDATE tickets SET op_id = (
        SELECT ops.op_id FROM ops
        WHERE json_valid(ops.response) AND json_extract(ops.response, '$.ticket_id') = tickets.id
    );
    CREATE INDEX tickets_by_op ON tickets (op_id) WHERE op_id IS NOT NULL;
    CREATE INDEX tickets_personal ON tickets (day) WHERE codice_fiscale IS NOT NULL;
    ALTER TABLE ops ADD COLUMN base_hash TEXT;
    CREATE TABLE retired_numbers (
        day         TEXT NOT NULL,
        number      TEXT NOT NULL,
        ticket_id   TEXT NOT NULL,
        retired_at  TEXT NOT NULL,
        PRIMARY KEY (day, number)
    );",
    // 3: how long the oldest unsent operation of each kiosk has waited.
    "ALTER TABLE kiosks ADD COLUMN oldest_pending_seconds INTEGER;",
    // 4: citizen logins (a kiosk's login session, its one-time link and the OIDC flow
    // state; the person's code and names only while authenticated), back-office records
    // (keyed by the keyed hash of the codice fiscale, never the code), issued
    // certificates (content kept for /verify, erased after the retention) and the audit
    // log (no names, no codes: the keyed hash).
    "CREATE TABLE auth_sessions (
        id              TEXT PRIMARY KEY,
        kiosk_id        TEXT NOT NULL,
        link_hash       TEXT NOT NULL UNIQUE,
        lang            TEXT NOT NULL,
        state           TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        link_expires_at INTEGER NOT NULL,
        link_used_at    INTEGER,
        sign_in_expires_at INTEGER,
        oidc_state_hash TEXT UNIQUE,
        oidc_nonce      TEXT,
        pkce_verifier   TEXT,
        browser_hash    TEXT,
        authenticated_at INTEGER,
        expires_at      INTEGER,
        finished_at     INTEGER,
        failure         TEXT,
        cf_hash         TEXT,
        codice_fiscale  TEXT,
        given_name      TEXT,
        family_name     TEXT,
        initials        TEXT
    );
    CREATE INDEX auth_sessions_by_kiosk ON auth_sessions (kiosk_id, created_at);
    CREATE TABLE record_applications (
        cf_hash     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        reference   TEXT NOT NULL DEFAULT '',
        status      TEXT NOT NULL,
        last_change TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (cf_hash, kind, reference)
    );
    CREATE TABLE record_employment (
        cf_hash     TEXT PRIMARY KEY,
        status      TEXT NOT NULL,
        did_date    TEXT,
        as_of       TEXT NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE record_contributions (
        cf_hash     TEXT NOT NULL,
        fund        TEXT NOT NULL,
        period_from TEXT NOT NULL,
        period_to   TEXT NOT NULL,
        weeks       INTEGER NOT NULL,
        as_of       TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (cf_hash, fund, period_from)
    );
    CREATE TABLE certificates (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        kiosk_id    TEXT NOT NULL,
        session_id  TEXT NOT NULL,
        cf_hash     TEXT NOT NULL,
        issued_at   TEXT NOT NULL,
        key_id      TEXT NOT NULL,
        digest      TEXT NOT NULL,
        content     TEXT,
        content_erased_at TEXT
    );
    CREATE INDEX certificates_by_time ON certificates (issued_at) WHERE content IS NOT NULL;
    CREATE TABLE audit (
        id              INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        event           TEXT NOT NULL,
        kiosk_id        TEXT,
        session_id      TEXT,
        subject         TEXT,
        certificate_id  TEXT,
        detail          TEXT
    );
    CREATE INDEX audit_by_time ON audit (at);",
    // 5: a short tag per kiosk (A, B, ... AA), part of its emergency numbers (N-A01).
    "ALTER TABLE kiosks ADD COLUMN tag TEXT;",
    // 6: the queue's order in the index, so a ticket's position (counted at every issue
    // and look-up) reads the index alone, not every waiting ticket's row
    // (BENCHMARKS.md, "Ticket throughput beside a bare durable server"). It replaces the
    // narrower `tickets_queue`.
    "CREATE INDEX tickets_queue_order
         ON tickets (day, service, status, priority, queued_at, appointment);
    DROP INDEX tickets_queue;",
    // 7: how many tickets wait in each queue group (day, service, priority, appointment),
    // kept by triggers on every change of a ticket, so a position is a sum over at most
    // four rows minus the few tickets behind it, not a count of everyone waiting
    // (BENCHMARKS.md, "Ticket throughput beside a bare durable server").
    "CREATE TABLE queue_waiting (
        day         TEXT NOT NULL,
        service     TEXT NOT NULL,
        priority    INTEGER NOT NULL,
        appointment INTEGER NOT NULL,
        waiting     INTEGER NOT NULL,
        PRIMARY KEY (day, service, priority, appointment)
    ) WITHOUT ROWID;
    INSERT INTO queue_waiting
        SELECT day, service, priority, appointment IS NOT NULL, count(*)
        FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3, 4;
    CREATE TRIGGER queue_waiting_on_insert AFTER INSERT ON tickets
        WHEN NEW.status = 'waiting'
    BEGIN
        INSERT INTO queue_waiting
            VALUES (NEW.day, NEW.service, NEW.priority, NEW.appointment IS NOT NULL, 1)
            ON CONFLICT DO UPDATE SET waiting = waiting + 1;
    END;
    CREATE TRIGGER queue_waiting_on_leave
        AFTER UPDATE OF day, service, status, priority, appointment ON tickets
        WHEN OLD.status = 'waiting'
    BEGIN
        UPDATE queue_waiting SET waiting = waiting - 1
            WHERE day = OLD.day AND service = OLD.service AND priority = OLD.priority
              AND appointment = (OLD.appointment IS NOT NULL);
    END;
    CREATE TRIGGER queue_waiting_on_join
        AFTER UPDATE OF day, service, status, priority, appointment ON tickets
        WHEN NEW.status = 'waiting'
    BEGIN
        INSERT INTO queue_waiting
            VALUES (NEW.day, NEW.service, NEW.priority, NEW.appointment IS NOT NULL, 1)
            ON CONFLICT DO UPDATE SET waiting = waiting + 1;
    END;
    CREATE TRIGGER queue_waiting_on_delete AFTER DELETE ON tickets
        WHEN OLD.status = 'waiting'
    BEGIN
        UPDATE queue_waiting SET waiting = waiting - 1
            WHERE day = OLD.day AND service = OLD.service AND priority = OLD.priority
              AND appointment = (OLD.appointment IS NOT NULL);
    END;",
    // 8: account lifecycle and accountability (security findings 18, 19): a clerk can be
    // disabled, a kiosk removed (its row stays: tickets, audit rows and its tag name it),
    // a clerk session remembers when it was last used (idle timeout), and an audit row
    // names the clerk who searched the log.
    "ALTER TABLE operators ADD COLUMN disabled_at TEXT;
    ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
    ALTER TABLE kiosks ADD COLUMN removed_at TEXT;
    ALTER TABLE audit ADD COLUMN operator TEXT;",
    // 9: the short binding code the kiosk shows beside a login's QR code and the citizen
    // types on the phone (security finding 2), and how many wrong codes were typed.
    "ALTER TABLE auth_sessions ADD COLUMN binding_code TEXT;
    ALTER TABLE auth_sessions ADD COLUMN code_attempts INTEGER NOT NULL DEFAULT 0;",
    // 10: the clerk session that called a ticket: only it sees the ticket's codice
    // fiscale (security finding 10).
    "ALTER TABLE tickets ADD COLUMN called_by TEXT;",
    // 11: numbers a kiosk carried from its previous hub (hub::carried): one-number bands that
    // validate its tickets but are never handed out as a band to number from.
    "ALTER TABLE bands ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;",
    // 12: software updates rolled out to the kiosks (hub::updates).
    "CREATE TABLE update_bundles (
        sha256   TEXT PRIMARY KEY,
        version  TEXT NOT NULL UNIQUE,
        size     INTEGER NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE TABLE update_rollouts (
        id          INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL REFERENCES update_bundles (sha256),
        started_at  TEXT NOT NULL,
        state       TEXT NOT NULL,
        stop_reason TEXT
    );
    CREATE TABLE update_targets (
        rollout_id  INTEGER NOT NULL REFERENCES update_rollouts (id),
        kiosk_id    TEXT NOT NULL,
        wave        INTEGER NOT NULL,
        state       TEXT NOT NULL,
        booted_slot TEXT,
        from_slot   TEXT,
        detail      TEXT,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (rollout_id, kiosk_id)
    );
    CREATE INDEX update_targets_by_kiosk ON update_targets (kiosk_id);",
    // 13: what a clerk may do beyond the counter (hub::auth::Role): `maintainer` rolls
    // software out from the fleet page.
    "ALTER TABLE operators ADD COLUMN role TEXT NOT NULL DEFAULT 'clerk';",
    // 14: wrong clerk passwords per name and address, in the database so that every hub
    // process on it counts them together (hub::login_failures).
    "CREATE TABLE login_failures (
        name        TEXT NOT NULL,
        address     TEXT NOT NULL,
        in_a_row    INTEGER NOT NULL,
        wait_until  TEXT,
        last_at     TEXT NOT NULL,
        PRIMARY KEY (name, address)
    );",
    // 15: offices as data (issue 19): a region's hub holds many offices, each with its
    // name, time zone, counters, services (`code` or `code=PREFIX`, a JSON list; NULL:
    // the whole catalogue) and hours (`[hours]` as JSON; NULL: hub.toml's); kiosks, clerks, enrolment tokens, tickets, numbers,
    // bands, bookings, service times and audit rows belong to one. Office 1 is the one
    // hub.toml describes (its row is refreshed from it at every start), so a single-office
    // hub changes nothing. Numbers are unique per office, day and service: the tables
    // keyed by day are rebuilt with the office in their key (SQLite cannot change a key).
    "CREATE TABLE offices (
        id          INTEGER PRIMARY KEY,
        code        TEXT NOT NULL UNIQUE,
        name        TEXT NOT NULL,
        time_zone   TEXT NOT NULL,
        counters    TEXT NOT NULL DEFAULT '[]',
        services    TEXT,
        hours       TEXT,
        created_at  TEXT NOT NULL
    );
    INSERT INTO offices (id, code, name, time_zone, created_at)
        VALUES (1, 'default', '', 'Europe/Rome', '');
    ALTER TABLE kiosks ADD COLUMN office_id INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE enrollment_tokens ADD COLUMN office_id INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE operators ADD COLUMN office_id INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE bands ADD COLUMN office_id INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE audit ADD COLUMN office_id INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX audit_by_office ON audit (office_id, at);

    ALTER TABLE tickets RENAME TO tickets_before_offices;
    CREATE TABLE tickets (
        id              TEXT PRIMARY KEY,
        day             TEXT NOT NULL,
        number          TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        number_service  TEXT NOT NULL,
        service         TEXT NOT NULL,
        priority        INTEGER NOT NULL,
        appointment     TEXT,
        lang            TEXT NOT NULL,
        kiosk_id        TEXT NOT NULL,
        offline         INTEGER NOT NULL,
        status          TEXT NOT NULL,
        counter         TEXT,
        issued_at       TEXT NOT NULL,
        queued_at       INTEGER NOT NULL,
        called_at       INTEGER,
        serving_at      INTEGER,
        finished_at     INTEGER,
        codice_fiscale  TEXT,
        op_id           TEXT,
        called_by       TEXT,
        office_id       INTEGER NOT NULL,
        UNIQUE (office_id, day, number)
    );
    INSERT INTO tickets (rowid, id, day, number, seq, number_service, service, priority,
            appointment, lang, kiosk_id, offline, status, counter, issued_at, queued_at,
            called_at, serving_at, finished_at, codice_fiscale, op_id, called_by, office_id)
        SELECT rowid, id, day, number, seq, number_service, service, priority,
            appointment, lang, kiosk_id, offline, status, counter, issued_at, queued_at,
            called_at, serving_at, finished_at, codice_fiscale, op_id, called_by, 1
        FROM tickets_before_offices;
    DROP TABLE tickets_before_offices;
    CREATE INDEX tickets_queue_order
         ON tickets (office_id, day, service, status, priority, queued_at, appointment);
    CREATE INDEX tickets_counter ON tickets (office_id, day, counter, status);
    CREATE INDEX tickets_by_op ON tickets (op_id) WHERE op_id IS NOT NULL;
    CREATE INDEX tickets_personal ON tickets (day) WHERE codice_fiscale IS NOT NULL;

    DROP TABLE queue_waiting;
    CREATE TABLE queue_waiting (
        office_id   INTEGER NOT NULL,
        day         TEXT NOT NULL,
        service     TEXT NOT NULL,
        priority    INTEGER NOT NULL,
        appointment INTEGER NOT NULL,
        waiting     INTEGER NOT NULL,
        PRIMARY KEY (office_id, day, service, priority, appointment)
    ) WITHOUT ROWID;
    INSERT INTO queue_waiting
        SELECT office_id, day, service, priority, appointment IS NOT NULL, count(*)
        FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3, 4, 5;
    CREATE TRIGGER queue_waiting_on_insert AFTER INSERT ON tickets
        WHEN NEW.status = 'waiting'
    BEGIN
        INSERT INTO queue_waiting
            VALUES (NEW.office_id, NEW.day, NEW.service, NEW.priority,
                    NEW.appointment IS NOT NULL, 1)
            ON CONFLICT DO UPDATE SET waiting = waiting + 1;
    END;
    CREATE TRIGGER queue_waiting_on_leave
        AFTER UPDATE OF office_id, day, service, status, priority, appointment ON tickets
        WHEN OLD.status = 'waiting'
    BEGIN
        UPDATE queue_waiting SET waiting = waiting - 1
            WHERE office_id = OLD.office_id AND day = OLD.day AND service = OLD.service
              AND priority = OLD.priority AND appointment = (OLD.appointment IS NOT NULL);
    END;
    CREATE TRIGGER queue_waiting_on_join
        AFTER UPDATE OF office_id, day, service, status, priority, appointment ON tickets
        WHEN NEW.status = 'waiting'
    BEGIN
        INSERT INTO queue_waiting
            VALUES (NEW.office_id, NEW.day, NEW.service, NEW.priority,
                    NEW.appointment IS NOT NULL, 1)
            ON CONFLICT DO UPDATE SET waiting = waiting + 1;
    END;
    CREATE TRIGGER queue_waiting_on_delete AFTER DELETE ON tickets
        WHEN OLD.status = 'waiting'
    BEGIN
        UPDATE queue_waiting SET waiting = waiting - 1
            WHERE office_id = OLD.office_id AND day = OLD.day AND service = OLD.service
              AND priority = OLD.priority AND appointment = (OLD.appointment IS NOT NULL);
    END;

    ALTER TABLE number_blocks RENAME TO number_blocks_before_offices;
    CREATE TABLE number_blocks (
        office_id   INTEGER NOT NULL,
        day         TEXT NOT NULL,
        service     TEXT NOT NULL,
        next_online INTEGER NOT NULL,
        band_floor  INTEGER NOT NULL,
        PRIMARY KEY (office_id, day, service)
    );
    INSERT INTO number_blocks SELECT 1, day, service, next_online, band_floor
        FROM number_blocks_before_offices;
    DROP TABLE number_blocks_before_offices;

    ALTER TABLE retired_numbers RENAME TO retired_numbers_before_offices;
    CREATE TABLE retired_numbers (
        office_id   INTEGER NOT NULL,
        day         TEXT NOT NULL,
        number      TEXT NOT NULL,
        ticket_id   TEXT NOT NULL,
        retired_at  TEXT NOT NULL,
        PRIMARY KEY (office_id, day, number)
    );
    INSERT INTO retired_numbers SELECT 1, day, number, ticket_id, retired_at
        FROM retired_numbers_before_offices;
    DROP TABLE retired_numbers_before_offices;

    ALTER TABLE appointments RENAME TO appointments_before_offices;
    CREATE TABLE appointments (
        office_id   INTEGER NOT NULL,
        day         TEXT NOT NULL,
        code        TEXT NOT NULL,
        time        TEXT NOT NULL,
        service     TEXT NOT NULL,
        cf_hash     TEXT,
        ticket_id   TEXT,
        PRIMARY KEY (office_id, day, code)
    );
    INSERT INTO appointments SELECT 1, day, code, time, service, cf_hash, ticket_id
        FROM appointments_before_offices;
    DROP TABLE appointments_before_offices;

    ALTER TABLE service_stats RENAME TO service_stats_before_offices;
    CREATE TABLE service_stats (
        office_id       INTEGER NOT NULL,
        service         TEXT NOT NULL,
        average_seconds REAL NOT NULL,
        samples         INTEGER NOT NULL,
        PRIMARY KEY (office_id, service)
    );
    INSERT INTO service_stats SELECT 1, service, average_seconds, samples
        FROM service_stats_before_offices;
    DROP TABLE service_stats_before_offices;",
    // 16: what the office's reports need (issue 20): when a ticket was first called (a
    // recall moves `called_at`, not this), how often it was transferred, and the clerk who
    // last called it (a login name: clerks are staff, not citizens; shown to managers only).
    // Tickets called before this step get their latest call as their first (a recall may
    // have moved it: the best there is).
    "ALTER TABLE tickets ADD COLUMN first_called_at INTEGER;
    ALTER TABLE tickets ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN clerk TEXT;
    UPDATE tickets SET first_called_at = called_at
        WHERE first_called_at IS NULL AND called_at IS NOT NULL;",
];

/// Where the hub keeps its data: the database and the directory of the files beside it
/// (keys, certificate, update bundles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The database.
    pub database: Database,
    /// The directory of the files.
    pub files: PathBuf,
}

impl Location {
    /// The location `config` names: with SQLite the files are beside the file; with
    /// PostgreSQL they are in `data_dir` (which validation requires).
    pub fn of(config: &HubConfig) -> Location {
        let files = match (&config.database, &config.data_dir) {
            (_, Some(dir)) => dir.clone(),
            (Database::Sqlite(path), None) => beside(path),
            (Database::Postgres(_), None) => PathBuf::from("."),
        };
        Location {
            database: config.database.clone(),
            files,
        }
    }

    /// The SQLite file at `path`, its files beside it.
    pub fn sqlite(path: &Path) -> Location {
        Location {
            database: Database::sqlite(path),
            files: beside(path),
        }
    }

    /// The file a change of the kiosks' tokens is announced through
    /// ([`super::kiosk_tokens`]).
    pub fn kiosks_stamp(&self) -> PathBuf {
        match &self.database {
            Database::Sqlite(path) => super::kiosk_tokens::stamp_path(path),
            Database::Postgres(_) => self.files.join("kiosks-changed"),
        }
    }
}

/// An SQLite file's path names its location (the set-up commands and tests take either).
impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::sqlite(path)
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::sqlite(path)
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Location {
        location.clone()
    }
}

/// The directory an SQLite file is in (`.` for a bare name).
fn beside(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned()
}

/// Why the hub's database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The SQLite file.
    #[error(transparent)]
    Sqlite(#[from] DbError),
    /// The PostgreSQL server.
    #[error(transparent)]
    Postgres(#[from] PgOpenError),
    /// The files beside the database (the codice fiscale hash key).
    #[error("database {database}: {source}")]
    Files {
        /// The database, without a password.
        database: String,
        /// What failed.
        #[source]
        source: SqlError,
    },
    /// The thread that owns the writer connection could not be started.
    #[error("database {database}: could not start its writer thread: {source}")]
    Thread {
        /// The database, without a password.
        database: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// Opens (creating and migrating) the hub's SQLite file with full durability, and makes
/// sure the key of the codice fiscale hashes is in its file beside it (made here, once,
/// so two connections never make two keys).
pub fn open(path: &Path) -> Result<Connection, OpenError> {
    let conn = sqlite::open(path, Durability::Full, MIGRATIONS)?;
    super::appointments::cf_hash_key(&conn).map_err(|source| OpenError::Files {
        database: path.display().to_string(),
        source,
    })?;
    Ok(conn)
}

/// Opens one connection to the database at `location`, migrating it to this hub's schema
/// (forward only; a database migrated by a newer hub is refused).
pub fn connect(location: &Location) -> Result<Conn, OpenError> {
    match &location.database {
        Database::Sqlite(path) => Ok(Conn::Sqlite(open(path)?)),
        Database::Postgres(url) => {
            let files = |source: std::io::Error| OpenError::Files {
                database: location.database.to_string(),
                source: SqlError::File {
                    path: location.files.display().to_string(),
                    source,
                },
            };
            std::fs::create_dir_all(&location.files).map_err(files)?;
            let mut pg = PgConn::connect(url)?;
            pg.migrate(super::pg_schema::MIGRATIONS, url)?;
            let conn = Conn::Postgres(Box::new(RefCell::new(pg.with_files_dir(&location.files))));
            super::appointments::cf_hash_key(&conn).map_err(|source| OpenError::Files {
                database: location.database.to_string(),
                source,
            })?;
            Ok(conn)
        }
    }
}

/// The schema version the database is at (`hub migrate` prints it).
pub fn schema_version(sql: Sql<'_>) -> Result<i64, SqlError> {
    let query = match sql.engine() {
        Engine::Sqlite => "PRAGMA user_version",
        Engine::Postgres => "SELECT COALESCE(max(version), 0) FROM schema_version",
    };
    sql.query_one(query, &[])?.get(0)
}

/// How a closed connection to `location` is replaced: a plain connect, the schema being
/// already in place.
fn reconnector(location: &Location) -> Reconnect {
    let location = location.clone();
    Box::new(move || connect(&location).map_err(|e| e.to_string()))
}

/// The hub's two connections, shared by all handlers.
#[derive(Clone)]
pub struct Db {
    writer: Writer,
    reader: Arc<Mutex<Conn>>,
    reconnect: Arc<Mutex<Reconnect>>,
    reader_down: Arc<AtomicBool>,
}

impl Db {
    /// Opens the writer and the reader on `location`.
    pub fn open(location: &Location) -> Result<Db, OpenError> {
        let writer = connect(location)?;
        let reader = connect(location)?;
        let writer =
            Writer::start(writer, reconnector(location)).map_err(|source| OpenError::Thread {
                database: location.database.to_string(),
                source,
            })?;
        Ok(Db {
            writer,
            reader: Arc::new(Mutex::new(reader)),
            reconnect: Arc::new(Mutex::new(reconnector(location))),
            reader_down: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs `f` alone with the writer connection; `f` manages its own transactions.
    pub async fn write<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        self.writer.alone(f).await
    }

    /// Runs `f` inside the next shared transaction (group commit): the answer comes once
    /// that transaction is durable; an error from `f` undoes `f` alone. `f` must not
    /// begin or end transactions.
    pub async fn write_grouped<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&Conn) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        self.writer.grouped(f).await
    }

    /// Group commits so far: (transactions committed, writes they held).
    pub fn group_commit_stats(&self) -> (u64, u64) {
        let stats = self.writer.stats();
        (stats.group_commits(), stats.grouped_writes())
    }

    /// Runs `f` with the reader connection on a blocking thread.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        F: FnOnce(&mut Conn) -> Result<R, ApiError> + Send + 'static,
        R: Send + 'static,
    {
        let (conn, reconnect, down) = (
            self.reader.clone(),
            self.reconnect.clone(),
            self.reader_down.clone(),
        );
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave the database inconsistent (an
            // open transaction is rolled back when dropped), so a poisoned lock is still
            // usable.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            if guard.is_closed() {
                let reconnect = reconnect.lock().unwrap_or_else(PoisonError::into_inner);
                if !super::writer::revive(&mut guard, &reconnect, &down) {
                    return Err(ApiError::database_unavailable());
                }
            }
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal("database task", e))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_gains_op_ids_for_its_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = sqlite::open(&path, Durability::Full, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 lang, kiosk_id, offline, status, issued_at, queued_at)
             VALUES ('t1', '2026-11-27', 'N001', 1, 'naspi', 'naspi', 0, 'it', 'k', 0,
                 'waiting', '2026-11-27T09:00:00+00:00', 0),
                    ('t2', '2026-11-27', 'N002', 2, 'naspi', 'naspi', 0, 'it', 'k', 0,
                 'waiting', '2026-11-27T09:00:00+00:00', 0);
             INSERT INTO ops (op_id, kiosk_id, request_hash, response, created_at)
             VALUES ('op-1', 'k', 'h', '{\"ticket_id\":\"t1\",\"number\":\"N001\"}', 'x'),
                    ('op-x', 'k', 'h', 'not json', 'x');",
        )
        .unwrap();
        drop(conn);
        let conn = open(&path).unwrap();
        let op_ids: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, op_id FROM tickets ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            op_ids,
            [
                ("t1".to_string(), Some("op-1".to_string())),
                ("t2".to_string(), None)
            ]
        );
        let base: Option<String> = conn
            .query_row("SELECT base_hash FROM ops WHERE op_id = 'op-1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(base, None, "old ops are never renumbered");
    }
}
