//! A month of tickets with known waits for the reports' tests (tests/hub_reports.rs) and
//! the browser's view of them (tests/hub_browser.rs), written straight into the hub's
//! database.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Rome;
use sportello::hub::sql::args;

use super::TestHub;

/// One synthetic ticket.
pub struct Made {
    day: NaiveDate,
    service: &'static str,
    queued: DateTime<Utc>,
    /// Minutes to the first call; `None`: never called.
    wait: Option<i64>,
    /// Minutes at the counter (from the call); `None` with a no-show.
    service_minutes: Option<i64>,
    counter: &'static str,
    clerk: &'static str,
    priority: bool,
    appointment: bool,
    offline: bool,
    transfers: i64,
}

fn local(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    Rome.from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// October 2026, Rome. Each weekday (22 of them): NASpI at 09:00, 09:10, 09:20, 09:30
/// waiting 5, 10, 15 and 40 minutes (the first with priority, the second booked, the
/// last a no-show), served 10 minutes each at Sportello 1 by anna; ISEE at 10:00 and
/// 10:10 waiting 2 and 4 minutes (the first transferred once, the second numbered
/// offline), served 5 minutes at Sportello 2 by bruno. On 30 October one more NASpI
/// ticket is never called. On Sunday 25 October, when the clocks go back at 03:00, two
/// DID tickets join at 02:30 summer time and 02:30 winter time (00:30 and 01:30 UTC) and
/// another joins at 00:50 UTC and is called at 01:10 UTC: 20 minutes each, though for
/// the last the clock on the wall went from 02:50 back to 02:10.
pub fn october() -> Vec<Made> {
    let mut made = Vec::new();
    let base = |day, service, queued, wait, counter, clerk| Made {
        day,
        service,
        queued,
        wait,
        service_minutes: None,
        counter,
        clerk,
        priority: false,
        appointment: false,
        offline: false,
        transfers: 0,
    };
    for d in 1..=31 {
        let day = NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        for (i, wait) in [5, 10, 15, 40].into_iter().enumerate() {
            let queued = local(day, 9, 10 * i as u32);
            made.push(Made {
                service_minutes: (i < 3).then_some(10),
                priority: i == 0,
                appointment: i == 1,
                ..base(day, "naspi", queued, Some(wait), "Sportello 1", "anna")
            });
        }
        for (i, wait) in [2, 4].into_iter().enumerate() {
            let queued = local(day, 10, 10 * i as u32);
            made.push(Made {
                service_minutes: Some(5),
                transfers: i64::from(i == 0),
                offline: i == 1,
                ..base(day, "isee", queued, Some(wait), "Sportello 2", "bruno")
            });
        }
        if d == 30 {
            made.push(base(day, "naspi", local(day, 11, 0), None, "", ""));
        }
    }
    let dst = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
    let utc = |h, m| Utc.with_ymd_and_hms(2026, 10, 25, h, m, 0).unwrap();
    for (queued, wait) in [(utc(0, 30), 20), (utc(1, 30), 20), (utc(0, 50), 20)] {
        made.push(Made {
            service_minutes: Some(5),
            ..base(dst, "did-patto", queued, Some(wait), "Sportello 1", "anna")
        });
    }
    made
}

pub fn insert_history(hub: &TestHub, made: &[Made]) {
    hub.with_db(|sql| {
        for (n, t) in made.iter().enumerate() {
            let ms = |at: DateTime<Utc>| at.timestamp_millis();
            let called = t.wait.map(|w| t.queued + chrono::TimeDelta::minutes(w));
            let finished = match (called, t.service_minutes) {
                (Some(c), Some(s)) => Some(c + chrono::TimeDelta::minutes(s)),
                (Some(c), None) => Some(c),
                _ => None,
            };
            let status = match (called, t.service_minutes) {
                (None, _) => "waiting",
                (Some(_), None) => "no_show",
                _ => "done",
            };
            let prefix = match t.service {
                "naspi" => "N",
                "isee" => "I",
                _ => "D",
            };
            sql.execute(
                "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                     appointment, lang, kiosk_id, offline, status, counter, issued_at,
                     queued_at, called_at, serving_at, finished_at, office_id,
                     first_called_at, transfers, clerk)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, 'it', 'k-1', ?8, ?9, ?10, ?11, ?12,
                     ?13, ?13, ?14, 1, ?13, ?15, ?16)",
                args![
                    format!("t{n}"),
                    t.day.to_string(),
                    format!("{prefix}{:03}", n % 1000),
                    n as i64,
                    t.service,
                    t.priority,
                    t.appointment.then_some("B-1"),
                    t.offline,
                    status,
                    (!t.counter.is_empty()).then_some(t.counter),
                    t.queued.to_rfc3339(),
                    ms(t.queued),
                    called.map(ms),
                    finished.map(ms),
                    t.transfers,
                    (!t.clerk.is_empty()).then_some(t.clerk)
                ],
            )
            .unwrap();
        }
    });
}

/// The text of the file at `path` once it exists (up to 10 s).
pub async fn eventually_file(path: &std::path::Path) -> String {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{} was not written", path.display());
}
