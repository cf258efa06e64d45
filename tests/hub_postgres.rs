//! The hub's SQL layer on a real PostgreSQL server beside SQLite (issue 19): the two
//! schemas describe the same tables, values cross both engines alike, numbering stays
//! gapless with several connections writing at once, and a lost server reads as
//! "unavailable" (503), not as a failed request. The server is a throwaway one from
//! Debian's packages (`common::PostgresServer`).

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::NaiveDate;
use sportello::hub::error::ApiError;
use sportello::hub::numbering::{BAND_ZONE_START, next_online, reserve_band};
use sportello::hub::offices::Day;
use sportello::hub::pg_schema;
use sportello::hub::sql::postgres::{PgConn, PgOpenError};
use sportello::hub::sql::{Sql, args};
use sportello::hub::store;

use common::PostgresServer;

/// A migrated PostgreSQL database of its own on `server`.
fn migrated(server: &PostgresServer, name: &str) -> (String, RefCell<PgConn>) {
    let url = server.database(name);
    let mut conn = PgConn::connect(&url).expect("connect");
    let version = conn.migrate(pg_schema::MIGRATIONS, &url).expect("migrate");
    assert_eq!(version, pg_schema::MIGRATIONS.len() as i64);
    (url, RefCell::new(conn))
}

/// (table, column) → (type class, not null), and the explicit index names.
type Schema = (BTreeMap<(String, String), (String, bool)>, Vec<String>);

fn sqlite_schema(conn: &rusqlite::Connection) -> Schema {
    let sql = Sql::from(conn);
    let mut columns = BTreeMap::new();
    let tables = sql
        .query_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            args![],
        )
        .unwrap();
    for table in tables {
        let table: String = table.get(0).unwrap();
        let info = sql
            .query_all(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)",
                args![&table],
            )
            .unwrap();
        for column in info {
            let name: String = column.get(0).unwrap();
            let ty: String = column.get(1).unwrap();
            // A primary key is NOT NULL on PostgreSQL; SQLite merely allows NULL in one.
            let not_null = column.get::<bool>(2).unwrap() || column.get::<i64>(3).unwrap() > 0;
            columns.insert((table.clone(), name), (ty, not_null));
        }
    }
    let mut indexes: Vec<String> = sql
        .query_all(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            args![],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    indexes.sort();
    (columns, indexes)
}

fn postgres_schema(conn: &RefCell<PgConn>) -> Schema {
    let sql = Sql::Postgres(conn);
    let mut columns = BTreeMap::new();
    let rows = sql
        .query_all(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name <> 'schema_version'",
            args![],
        )
        .unwrap();
    for row in rows {
        let ty: String = row.get(2).unwrap();
        // The SQLite declaration each PostgreSQL type stands for (pg_schema's header).
        let ty = match ty.as_str() {
            "bigint" => "INTEGER",
            "text" => "TEXT",
            "double precision" => "REAL",
            other => panic!("column of type {other}: pg_schema maps only INTEGER, TEXT, REAL"),
        };
        let nullable: String = row.get(3).unwrap();
        columns.insert(
            (row.get(0).unwrap(), row.get(1).unwrap()),
            (ty.to_owned(), nullable == "NO"),
        );
    }
    // Constraint indexes (`*_pkey`, `*_key`) are SQLite's automatic ones.
    let mut indexes: Vec<String> = sql
        .query_all(
            "SELECT indexname::text FROM pg_indexes
             WHERE schemaname = current_schema()
               AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'",
            args![],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    indexes.sort();
    (columns, indexes)
}

#[test]
fn the_postgres_schema_matches_sqlites_step_for_step() {
    assert_eq!(
        pg_schema::MIGRATIONS.len(),
        store::MIGRATIONS.len(),
        "hub::store::MIGRATIONS and hub::pg_schema::MIGRATIONS must grow together"
    );
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open(&dir.path().join("hub.sqlite")).unwrap();
    let (url, pg) = migrated(&server, "schema");

    let (sqlite_columns, sqlite_indexes) = sqlite_schema(&sqlite);
    let (pg_columns, pg_indexes) = postgres_schema(&pg);
    for (key, sqlite_side) in &sqlite_columns {
        assert_eq!(
            pg_columns.get(key),
            Some(sqlite_side),
            "column {key:?}: SQLite has {sqlite_side:?}"
        );
    }
    for key in pg_columns.keys() {
        // SQLite's implicit rowid, explicit on PostgreSQL (pg_schema's header).
        if key.0 == "tickets" && key.1 == "rowid" {
            continue;
        }
        assert!(
            sqlite_columns.contains_key(key),
            "{key:?} only on PostgreSQL"
        );
    }
    assert_eq!(pg_indexes, sqlite_indexes);
    assert!(
        sqlite_columns.len() > 100,
        "{} columns",
        sqlite_columns.len()
    );

    // Starting again changes nothing; a database from a newer hub is refused.
    let mut again = PgConn::connect(&url).unwrap();
    assert_eq!(
        again.migrate(pg_schema::MIGRATIONS, &url).unwrap(),
        store::MIGRATIONS.len() as i64
    );
    again
        .batch("INSERT INTO schema_version (version) VALUES (99)")
        .unwrap();
    let err = again.migrate(pg_schema::MIGRATIONS, &url).unwrap_err();
    assert!(
        matches!(err, PgOpenError::NewerSchema { found: 99, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("newer than this program's"),
        "{err}"
    );
}

/// The same statements, through the same calls, on one engine.
fn values_round_trip(sql: Sql<'_>) {
    let engine = sql.engine();
    sql.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)",
        args!["office", "Sede di Roma Eur – sportello unico"],
    )
    .unwrap();
    sql.execute(
        "INSERT INTO service_stats (office_id, service, average_seconds, samples)
         VALUES (1, ?1, ?2, ?3)",
        args!["naspi", 312.5, 7u16],
    )
    .unwrap();
    let row = sql
        .query_one(
            "SELECT s.value, t.average_seconds, t.samples, NULL,
                    EXISTS (SELECT 1 FROM settings WHERE key = ?1), count(*)
             FROM settings s, service_stats t WHERE s.key = ?1 GROUP BY 1, 2, 3",
            args!["office"],
        )
        .unwrap();
    assert_eq!(
        row.get::<String>(0).unwrap(),
        "Sede di Roma Eur – sportello unico",
        "{engine:?}"
    );
    assert_eq!(row.get::<f64>(1).unwrap(), 312.5, "{engine:?}");
    assert_eq!(row.get::<u16>(2).unwrap(), 7, "{engine:?}");
    assert_eq!(row.get::<Option<String>>(3).unwrap(), None, "{engine:?}");
    assert!(row.get::<bool>(4).unwrap(), "{engine:?}");
    assert_eq!(row.get::<usize>(5).unwrap(), 1, "{engine:?}");
    // A bare `?` after a numbered one, and a row that is not there.
    let none = sql
        .query_opt(
            "SELECT value FROM settings WHERE key = ?1 AND value = ?",
            args!["office", "elsewhere"],
        )
        .unwrap();
    assert_eq!(none, None, "{engine:?}");
    let changed = sql
        .execute("DELETE FROM settings WHERE key = ?1", args!["office"])
        .unwrap();
    assert_eq!(changed, 1, "{engine:?}");
}

#[test]
fn values_cross_both_engines_alike() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open(&dir.path().join("hub.sqlite")).unwrap();
    values_round_trip(Sql::from(&sqlite));
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let (_, pg) = migrated(&server, "values");
    values_round_trip(Sql::Postgres(&pg));
}

/// Every connection takes `per_writer` online numbers and as many bands of 3, one write
/// transaction each, all connections at once; returns every number taken online and
/// every number leased in a band, sorted. A band is read, then moved (`reserve_band`):
/// without one writer at a time two connections would lease the same numbers.
fn numbers_taken_at_once<C: Send + 'static>(
    connections: Vec<C>,
    per_writer: usize,
    sql: fn(&C) -> Sql<'_>,
) -> (Vec<u16>, Vec<u16>) {
    let day = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    let handles: Vec<_> = connections
        .into_iter()
        .map(|conn| {
            std::thread::spawn(move || {
                let sql = sql(&conn);
                let mut online = Vec::new();
                let mut leased = Vec::new();
                for _ in 0..per_writer {
                    sql.begin_write().unwrap();
                    online.push(next_online(sql, day, "naspi").unwrap());
                    sql.commit().unwrap();
                    sql.begin_write().unwrap();
                    let (first, last) = reserve_band(sql, day, "naspi", 3).unwrap().unwrap();
                    sql.commit().unwrap();
                    leased.extend(first..=last);
                }
                (online, leased)
            })
        })
        .collect();
    let (mut online, mut leased) = (Vec::new(), Vec::new());
    for handle in handles {
        let (o, l) = handle.join().unwrap();
        online.extend(o);
        leased.extend(l);
    }
    online.sort_unstable();
    leased.sort_unstable();
    (online, leased)
}

#[test]
fn numbers_stay_gapless_with_writers_on_several_connections() {
    const WRITERS: usize = 4;
    const EACH: usize = 40;
    let expected: Vec<u16> = (1..=(WRITERS * EACH) as u16).collect();
    // Bands of 3 from 999 down, each number once.
    let expected_bands: Vec<u16> = ((1000 - 3 * WRITERS * EACH) as u16..=999).collect();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.sqlite");
    let files: Vec<_> = (0..WRITERS).map(|_| store::open(&path).unwrap()).collect();
    let (online, leased) = numbers_taken_at_once(files, EACH, |c| Sql::from(c));
    assert_eq!(online, expected, "SQLite");
    assert_eq!(leased, expected_bands, "SQLite");

    let Some(server) = PostgresServer::start() else {
        return;
    };
    let (url, pg) = migrated(&server, "numbers");
    let connections: Vec<_> = (0..WRITERS)
        .map(|_| RefCell::new(PgConn::connect(&url).unwrap()))
        .collect();
    let (online, leased) = numbers_taken_at_once(connections, EACH, |c| Sql::Postgres(c));
    assert_eq!(online, expected, "PostgreSQL");
    assert_eq!(leased, expected_bands, "PostgreSQL: a band leased twice");

    // Bands and online numbers never meet, as on SQLite (hub::numbering's own test).
    let sql = Sql::Postgres(&pg);
    let day = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
    };
    sql.begin_write().unwrap();
    assert_eq!(next_online(sql, day, "a").unwrap(), 1);
    assert_eq!(reserve_band(sql, day, "a", 10).unwrap(), Some((990, 999)));
    let mut lowest = 990;
    while let Some((first, _)) = reserve_band(sql, day, "a", 50).unwrap() {
        lowest = first;
    }
    assert_eq!(lowest, BAND_ZONE_START);
    let mut last = 1;
    while let Ok(n) = next_online(sql, day, "a") {
        last = n;
    }
    assert_eq!(last, BAND_ZONE_START - 1);
    assert_eq!(
        next_online(sql, day, "a").unwrap_err().code,
        "no_numbers_left"
    );
    sql.commit().unwrap();
}

#[test]
fn a_lost_server_answers_503_and_a_new_connection_recovers() {
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let (url, pg) = migrated(&server, "outage");
    let day = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    assert_eq!(next_online(Sql::Postgres(&pg), day, "naspi").unwrap(), 1);

    server.kill();
    let err = Sql::Postgres(&pg)
        .query_one("SELECT 1", args![])
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let answer = ApiError::from(err);
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.code, "database_unavailable");
    assert!(PgConn::connect(&url).is_err(), "nobody listens");

    server.restart();
    let again = RefCell::new(PgConn::connect(&url).unwrap());
    assert_eq!(next_online(Sql::Postgres(&again), day, "naspi").unwrap(), 2);
}

/// Leases bands for two kiosks, uses up most of one band with tickets and asks again:
/// what each engine answers, in order.
fn band_leases(sql: Sql<'_>) -> Vec<sportello::protocol::BandsResponse> {
    use sportello::hub::bands::{Sizing, lease};
    let catalogue = sportello::catalogue::Catalogue::builtin();
    let day = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    let now = "2026-12-03T09:00:00Z".parse().unwrap();
    let sizing = Sizing {
        floor: 10,
        max: 60,
        demand_minutes: 120,
        history_days: 7,
    };
    let service = catalogue.services()[0].code.clone();
    let only = [service.clone()];
    let mut answers = vec![
        lease(sql, "k1", &catalogue, None, day, sizing, now).unwrap(),
        lease(sql, "k2", &catalogue, Some(&only), day, sizing, now).unwrap(),
        lease(sql, "k1", &catalogue, Some(&only), day, sizing, now).unwrap(),
    ];
    // k1 numbers 8 of its 10 offline: a third is no longer left, so a new band comes.
    let first = answers[2].bands[0].first;
    for seq in first..first + 8 {
        sql.execute(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 lang, kiosk_id, offline, status, issued_at, queued_at, office_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, 'it', 'k1', 1, 'waiting', ?6, 0, 1)",
            args![
                format!("t{seq}"),
                day.text(),
                format!("X{seq}"),
                seq,
                &service,
                "2026-12-03T08:30:00Z"
            ],
        )
        .unwrap();
    }
    answers.push(lease(sql, "k1", &catalogue, Some(&only), day, sizing, now).unwrap());
    // An unknown service changes nothing and says which.
    let err = lease(
        sql,
        "k1",
        &catalogue,
        Some(&["nope".into()]),
        day,
        sizing,
        now,
    )
    .unwrap_err();
    assert_eq!(err.code, "unknown_service", "{:?}", sql.engine());
    answers
}

#[test]
fn bands_are_leased_alike_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open(&dir.path().join("hub.sqlite")).unwrap();
    let on_sqlite = band_leases(Sql::from(&sqlite));
    assert_eq!(
        on_sqlite[2].bands,
        on_sqlite[0].bands[..1],
        "k1 asked again: the same band"
    );
    assert_eq!(
        on_sqlite[0].bands[0].last, 999,
        "k1's first band tops the range"
    );
    assert_ne!(
        on_sqlite[3].bands[0], on_sqlite[2].bands[0],
        "a new band once used up"
    );
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let (_, pg) = migrated(&server, "bands");
    assert_eq!(band_leases(Sql::Postgres(&pg)), on_sqlite);
}

/// Tickets joining and leaving two queues the ways the hub's paths change them (issue,
/// call, transfer, priority, withdrawal); every ticket's position and each queue's length
/// after each change, as one engine reports them. Exercises the `queue_waiting` counts
/// that triggers keep (SQLite's triggers, PostgreSQL's plpgsql function).
fn queue_positions(sql: Sql<'_>) -> Vec<(String, u32)> {
    use sportello::hub::queue::{position, waiting};
    let day = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    let issue = |n: u32, service: &str, priority: bool, appointment: bool, queued_at: i64| {
        sql.execute(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 appointment, lang, kiosk_id, offline, status, issued_at, queued_at, office_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, 'it', 'k1', 0, 'waiting', ?8, ?9, 1)",
            args![
                format!("t{n:02}"),
                day.text(),
                format!("N{n:03}"),
                n,
                service,
                priority,
                appointment.then(|| format!("A{n}")),
                "2026-12-03T08:00:00Z",
                queued_at
            ],
        )
        .unwrap();
    };
    let snapshot = |out: &mut Vec<(String, u32)>, step: &str| {
        for n in 1..=12u32 {
            let id = format!("t{n:02}");
            out.push((format!("{step} {id}"), position(sql, &id).unwrap()));
        }
        for service in ["naspi", "did"] {
            out.push((
                format!("{step} {service}"),
                waiting(sql, day, service).unwrap(),
            ));
        }
    };
    let mut out = Vec::new();
    // Same second for several: the insertion order breaks the tie.
    for (n, service, priority, appointment, at) in [
        (1, "naspi", false, false, 100),
        (2, "naspi", false, false, 100),
        (3, "naspi", true, false, 105),
        (4, "naspi", false, true, 101),
        (5, "did", false, false, 99),
        (6, "naspi", false, false, 90),
        (7, "did", true, true, 120),
        (8, "naspi", false, true, 101),
        (9, "naspi", true, false, 100),
        (10, "did", false, false, 99),
        (11, "naspi", false, false, 100),
        (12, "did", false, false, 130),
    ] {
        issue(n, service, priority, appointment, at);
    }
    snapshot(&mut out, "issued");
    sql.execute(
        "UPDATE tickets SET status = 'called' WHERE id = 't03'",
        args![],
    )
    .unwrap();
    sql.execute(
        "UPDATE tickets SET service = 'did' WHERE id = 't06'",
        args![],
    )
    .unwrap();
    sql.execute("UPDATE tickets SET priority = 1 WHERE id = 't11'", args![])
        .unwrap();
    sql.execute(
        "UPDATE tickets SET status = 'void' WHERE id = 't05'",
        args![],
    )
    .unwrap();
    sql.execute("DELETE FROM tickets WHERE id = 't08'", args![])
        .unwrap();
    snapshot(&mut out, "changed");
    sql.execute(
        "UPDATE tickets SET status = 'waiting' WHERE id = 't03'",
        args![],
    )
    .unwrap();
    snapshot(&mut out, "recalled");
    out
}

#[test]
fn queue_positions_agree_on_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open(&dir.path().join("hub.sqlite")).unwrap();
    let on_sqlite = queue_positions(Sql::from(&sqlite));
    let first: Vec<u32> = on_sqlite[..12].iter().map(|(_, p)| *p).collect();
    // naspi: 9 and 3 (priority; 9 first by time), then 4, 8 (appointments; 4 came first),
    // then 6 (the oldest), 1, 2, 11 (same second: by arrival); did: 7, then 5, 10, 12.
    assert_eq!(first, [6, 7, 2, 3, 2, 5, 1, 4, 1, 3, 8, 4], "SQLite");
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let (_, pg) = migrated(&server, "queue");
    assert_eq!(queue_positions(Sql::Postgres(&pg)), on_sqlite);
}

/// A one-office database as the hub left it before offices (schema step 14): two tickets
/// (one called and done), today's numbers, a booking, a service time, a retired number.
fn before_offices(sql: Sql<'_>) {
    for (id, number, seq, status) in [("t1", "N001", 1, "done"), ("t2", "N002", 2, "waiting")] {
        sql.execute(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 lang, kiosk_id, offline, status, issued_at, queued_at, called_at)
             VALUES (?1, '2026-12-03', ?2, ?3, 'naspi', 'naspi', 0, 'it', 'k1', 0, ?4,
                 '2026-12-03T08:00:00Z', ?3, ?5)",
            args![
                id,
                number,
                seq,
                status,
                (status == "done").then_some(5000i64)
            ],
        )
        .unwrap();
    }
    for statement in [
        "INSERT INTO number_blocks (day, service, next_online, band_floor)
         VALUES ('2026-12-03', 'naspi', 3, 1000)",
        "INSERT INTO appointments (day, code, time, service)
         VALUES ('2026-12-03', 'B-1', '09:00', 'naspi')",
        "INSERT INTO service_stats (service, average_seconds, samples) VALUES ('naspi', 300, 4)",
        "INSERT INTO retired_numbers (day, number, ticket_id, retired_at)
         VALUES ('2026-12-03', 'N900', 't1', '2026-12-03T08:00:00Z')",
    ] {
        sql.execute(statement, args![]).unwrap();
    }
}

/// After steps 15 and 16 every row belongs to office 1, its queue counts are rebuilt, its numbers
/// go on where they were, and another office has numbers of its own.
fn after_offices(sql: Sql<'_>) {
    let engine = sql.engine();
    let office_of = |table: &str| -> Vec<i64> {
        sql.query_all(&format!("SELECT DISTINCT office_id FROM {table}"), args![])
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    };
    for table in [
        "tickets",
        "number_blocks",
        "appointments",
        "service_stats",
        "retired_numbers",
    ] {
        assert_eq!(office_of(table), [1], "{table} on {engine:?}");
    }
    let ours = Day {
        office: 1,
        date: NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
    };
    let theirs = Day { office: 2, ..ours };
    assert_eq!(
        sportello::hub::queue::waiting(sql, ours, "naspi").unwrap(),
        1,
        "{engine:?}"
    );
    assert_eq!(
        sportello::hub::queue::position(sql, "t2").unwrap(),
        1,
        "{engine:?}"
    );
    assert_eq!(next_online(sql, ours, "naspi").unwrap(), 3, "{engine:?}");
    // Step 16: a ticket called before it has its call as its first (the reports' wait).
    let first: Vec<Option<i64>> = sql
        .query_all(
            "SELECT first_called_at FROM tickets WHERE id IN ('t1', 't2') ORDER BY id",
            args![],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(first, [Some(5000), None], "{engine:?}");
    assert_eq!(next_online(sql, theirs, "naspi").unwrap(), 1, "{engine:?}");
    // N001 again: refused in office 1, a ticket of its own in office 2.
    let insert = |id: &str, office: i64| {
        sql.execute(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 lang, kiosk_id, offline, status, issued_at, queued_at, office_id)
             VALUES (?1, '2026-12-03', 'N001', 1, 'naspi', 'naspi', 0, 'it', 'k2', 0,
                 'waiting', '2026-12-03T08:00:00Z', 5, ?2)",
            args![id, office],
        )
    };
    assert!(insert("t3", 1).is_err(), "{engine:?}: a number twice");
    insert("t4", 2).unwrap();
    assert_eq!(
        sportello::hub::queue::waiting(sql, theirs, "naspi").unwrap(),
        1,
        "{engine:?}"
    );
    assert_eq!(
        sportello::hub::queue::waiting(sql, ours, "naspi").unwrap(),
        1,
        "{engine:?}: the other office's ticket is not in this queue"
    );
}

#[test]
fn a_one_office_database_keeps_everything_when_offices_arrive() {
    const BEFORE: usize = 14;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.sqlite");
    {
        let old = sportello::sqlite::open(
            &path,
            sportello::sqlite::Durability::Full,
            &store::MIGRATIONS[..BEFORE],
        )
        .unwrap();
        before_offices(Sql::from(&old));
    }
    let upgraded = store::open(&path).unwrap();
    after_offices(Sql::from(&upgraded));

    let Some(server) = PostgresServer::start() else {
        return;
    };
    let url = server.database("upgrade");
    let mut conn = PgConn::connect(&url).unwrap();
    conn.migrate(&pg_schema::MIGRATIONS[..BEFORE], &url)
        .unwrap();
    let old = RefCell::new(conn);
    before_offices(Sql::Postgres(&old));
    let mut conn = old.into_inner();
    conn.migrate(pg_schema::MIGRATIONS, &url).unwrap();
    after_offices(Sql::Postgres(&RefCell::new(conn)));
}

/// A certificate authority's PEM written to `dir/name`.
fn authority_file(dir: &std::path::Path, name: &str, pem: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn the_hub_reaches_postgresql_over_verified_tls() {
    let Some(server) = PostgresServer::start() else {
        return;
    };
    let url = server.database("tls");
    let ca = server.require_tls();
    let dir = tempfile::tempdir().unwrap();
    let ca = authority_file(dir.path(), "ca.pem", &ca);

    // The server now refuses connections without TLS.
    assert!(PgConn::connect(&url).is_err(), "an unencrypted connection");

    // Verified TLS: connected, encrypted, and the hub's own opening (migrations) works.
    let tls_url = format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display());
    let conn = RefCell::new(PgConn::connect(&tls_url).unwrap());
    let encrypted: bool = Sql::Postgres(&conn)
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            args![],
        )
        .unwrap()
        .get(0)
        .unwrap();
    assert!(encrypted);
    let location = store::Location {
        database: sportello::config::hub::Database::Postgres(tls_url),
        files: dir.path().to_owned(),
    };
    let opened = store::connect(&location).unwrap();
    assert_eq!(
        store::schema_version(opened.sql()).unwrap(),
        pg_schema::MIGRATIONS.len() as i64
    );

    // A server whose certificate another authority signed: refused, even with `require`.
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let stranger = authority_file(dir.path(), "other.pem", &stranger.cert.pem());
    let refused = PgConn::connect(&format!(
        "{url}?sslmode=require&sslrootcert={}",
        stranger.display()
    ))
    .err()
    .expect("a server the given authority did not vouch for");
    assert!(matches!(refused, PgOpenError::Connect { .. }), "{refused}");
    assert!(!refused.to_string().contains("PASSWORD"), "{refused}");
}
