//! How long the office's reports take over a year of a busy office (issue 20): 200,000
//! tickets in an SQLite hub file, reports over a day, a week, a month and the year; then,
//! in the same run, without the queue's indexes (the unique key on office, day and number
//! remains and serves the period as well); then all again with four more offices of the
//! same size in the file (a region's database: the other offices' rows should cost
//! nothing). `cargo bench --bench reports`; without `--bench` (as `cargo test` runs it)
//! a small smoke run.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use sportello::catalogue::Catalogue;
use sportello::config::hub::{HubConfig, ReportsConfig};
use sportello::hub::offices;
use sportello::hub::reports::{Period, report};
use sportello::hub::sql::{Sql, args};

const SERVICES: [&str; 4] = ["naspi", "isee", "did-patto", "estratto-conto"];

/// `per_day` tickets on each of `days` days ending 30 November 2026, 08:00-16:00 Rome,
/// waits and service times spread by a fixed pseudo-random sequence.
fn fill(sql: Sql<'_>, office: i64, days: i64, per_day: i64) {
    let last = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let mut seed: u64 = 0x5eed;
    let mut next = move |below: i64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as i64
    };
    sql.begin_write().unwrap();
    for d in 0..days {
        let day = last - TimeDelta::days(days - 1 - d);
        let opening = chrono_tz::Europe::Rome
            .from_local_datetime(&day.and_hms_opt(8, 0, 0).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc);
        for n in 0..per_day {
            let service = SERVICES[(n % 4) as usize];
            let queued = opening + TimeDelta::seconds(n * 8 * 3600 / per_day);
            let called = queued + TimeDelta::seconds(60 + next(3600));
            let finished = called + TimeDelta::seconds(120 + next(1200));
            let status = if next(20) == 0 { "no_show" } else { "done" };
            sql.execute(
                "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                     appointment, lang, kiosk_id, offline, status, counter, issued_at,
                     queued_at, called_at, serving_at, finished_at, office_id,
                     first_called_at, transfers, clerk)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, NULL, 'it', 'k-1', 0, ?7, ?8, ?9, ?10,
                     ?11, ?11, ?12, ?14, ?11, 0, ?13)",
                args![
                    format!("{office}-{day}-{n}"),
                    day.to_string(),
                    format!("{}{:03}", &service[..1].to_uppercase(), n % 1000),
                    n,
                    service,
                    next(10) == 0,
                    status,
                    format!("Sportello {}", 1 + next(4)),
                    queued.to_rfc3339(),
                    queued.timestamp_millis(),
                    called.timestamp_millis(),
                    finished.timestamp_millis(),
                    format!("clerk{}", next(6)),
                    office
                ],
            )
            .unwrap();
        }
    }
    sql.commit().unwrap();
}

/// The median of `runs` timings of the report over `period`.
fn time(sql: Sql<'_>, period: Period, runs: usize) -> (Duration, u32) {
    let office = offices::configured(&HubConfig::default(), chrono_tz::Europe::Rome);
    let catalogue = Catalogue::builtin();
    let targets = ReportsConfig::default();
    let now = "2026-12-01T10:00:00Z".parse().unwrap();
    let mut times = Vec::new();
    let mut issued = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let made = report(sql, &office, &catalogue, &targets, period, now).unwrap();
        times.push(started.elapsed());
        issued = made.overall.issued;
    }
    times.sort();
    (times[runs / 2], issued)
}

/// Times the four periods with the index, drops it, times them again and prints the
/// table; then puts the index back.
fn table(sql: Sql<'_>, days: i64, runs: usize) {
    let last = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let periods = [
        ("a day", 1),
        ("a week", 7),
        ("a month", 30),
        ("the year", days),
    ];
    let mut with_index = Vec::new();
    for (name, length) in periods {
        let period = Period::new(last - TimeDelta::days(length - 1), last).unwrap();
        with_index.push((name, period, time(sql, period, runs)));
    }
    // The same reports without the queue's indexes on (office, day, ...): the unique key
    // (office, day, number) is left, and leads with the same two columns.
    sql.batch("DROP INDEX tickets_queue_order; DROP INDEX tickets_counter;")
        .unwrap();
    println!("| period | tickets | all indexes, ms | key only, ms | key only / all |");
    println!("|---|---|---|---|---|");
    for (name, period, (with, issued)) in with_index {
        let (without, again) = time(sql, period, runs);
        assert_eq!(issued, again, "the same report either way");
        println!(
            "| {name} | {issued} | {:.1} | {:.1} | {:.2} |",
            with.as_secs_f64() * 1000.0,
            without.as_secs_f64() * 1000.0,
            without.as_secs_f64() / with.as_secs_f64()
        );
    }
    sql.batch(
        "CREATE INDEX tickets_queue_order
             ON tickets (office_id, day, service, status, priority, queued_at, appointment);
         CREATE INDEX tickets_counter ON tickets (office_id, day, counter, status);",
    )
    .unwrap();
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (days, per_day, runs) = if full { (365, 548, 5) } else { (10, 20, 1) };
    let dir = tempfile::tempdir().unwrap();
    let conn = sportello::hub::store::open(&dir.path().join("hub.sqlite")).unwrap();
    let sql = Sql::from(&conn);
    let started = Instant::now();
    fill(sql, 1, days, per_day);
    println!(
        "reports: {} tickets of one office over {days} days in an SQLite hub file (filled in {:.1} s)",
        days * per_day,
        started.elapsed().as_secs_f64()
    );
    table(sql, days, runs);
    for office in 2..=5 {
        fill(sql, office, days, per_day);
    }
    sql.batch("ANALYZE").unwrap();
    println!(
        "\nreports of the same office with four more like it in the file ({} tickets):",
        5 * days * per_day
    );
    table(sql, days, runs);
}
