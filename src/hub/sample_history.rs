//! Weeks of made-up tickets for the demo (issue 20), so a manager opening the reports of
//! a fresh demo hub sees what they look like: weekdays from 08:30 to 15:30, more arrivals
//! mid-morning, three counters working the queue in order (so waits grow at the peak),
//! a few no-shows. Deterministic: the same days give the same tickets. Never used by a
//! real office; no personal data in it.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};

use super::admin::AdminError;
use super::offices;
use super::sql::{Sql, args};
use super::store::{self, Location};
use crate::catalogue::Catalogue;

/// Tickets arriving in each hour from 08:00 to 15:00 on an ordinary weekday.
const PER_HOUR: [i64; 8] = [10, 26, 30, 22, 14, 9, 10, 5];

/// The counters and who works at each.
const COUNTERS: [(&str, &str); 3] = [
    ("Sportello 1", "anna"),
    ("Sportello 2", "bruno"),
    ("Sportello 3", "carla"),
];

/// A small deterministic sequence (xorshift).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as i64
    }
}

/// Fills the `days` office days before today (weekdays only) of the configured office;
/// returns how many tickets were written.
pub fn fill(
    location: impl Into<Location>,
    catalogue: &Catalogue,
    days: i64,
    now: DateTime<Utc>,
) -> Result<usize, AdminError> {
    let conn = store::connect(&location.into())?;
    let office = offices::find(&conn, offices::CONFIGURED_CODE)?;
    let services: Vec<(&str, char)> = catalogue
        .services()
        .iter()
        .take(5)
        .map(|s| (s.code.as_str(), s.prefix))
        .collect();
    if services.is_empty() {
        return Ok(0);
    }
    let today = office.day_at(now).date;
    let mut dice = Dice(0x5a11_0ffe);
    let mut written = 0;
    Sql::from(&conn).write_transaction(|sql| {
        for back in (1..=days).rev() {
            let day = today - TimeDelta::days(back);
            if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                continue;
            }
            written += fill_day(sql, &office, day, &services, &mut dice)?;
        }
        Ok::<_, AdminError>(())
    })?;
    Ok(written)
}

fn fill_day(
    sql: Sql<'_>,
    office: &offices::Office,
    day: NaiveDate,
    services: &[(&str, char)],
    dice: &mut Dice,
) -> Result<usize, AdminError> {
    let at = |hour: u32, minute: i64| {
        office
            .tz
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc) + TimeDelta::minutes(minute))
    };
    // When each counter is free next.
    let Some(opening) = at(8, 30) else {
        return Ok(0);
    };
    let mut free = [opening; 3];
    let mut seq = vec![0i64; services.len()];
    let mut written = 0;
    for (h, arrivals) in PER_HOUR.iter().enumerate() {
        let busier = arrivals + dice.below(6) - 2;
        for n in 0..busier.max(0) {
            let Some(queued) = at(8 + h as u32, n * 60 / busier.max(1) + dice.below(3)) else {
                continue;
            };
            let s = usize::try_from(dice.below(services.len() as i64)).unwrap_or(0);
            let (service, prefix) = services[s];
            seq[s] += 1;
            let counter = (0..3).min_by_key(|c| free[*c]).unwrap_or(0);
            let called = queued.max(free[counter]);
            let no_show = dice.below(20) == 0;
            let minutes = if no_show { 1 } else { 4 + dice.below(12) };
            let finished =
                called + TimeDelta::minutes(minutes) + TimeDelta::seconds(dice.below(60));
            free[counter] = finished;
            let (name, clerk) = COUNTERS[counter];
            sql.execute(
                "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                     appointment, lang, kiosk_id, offline, status, counter, issued_at,
                     queued_at, called_at, serving_at, finished_at, office_id,
                     first_called_at, transfers, clerk)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, NULL, 'it', 'demo-history', 0, ?7, ?8,
                     ?9, ?10, ?11, ?11, ?12, ?13, ?11, 0, ?14)",
                args![
                    format!("history-{day}-{service}-{}", seq[s]),
                    day.to_string(),
                    format!("{prefix}{:03}", seq[s].min(999)),
                    seq[s],
                    service,
                    dice.below(12) == 0,
                    if no_show { "no_show" } else { "done" },
                    name,
                    queued.to_rfc3339(),
                    queued.timestamp_millis(),
                    called.timestamp_millis(),
                    finished.timestamp_millis(),
                    office.id,
                    clerk
                ],
            )?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_weeks_of_weekdays_with_waits_that_grow_at_the_peak() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        drop(store::open(&path).unwrap());
        let now = "2026-12-04T12:00:00Z".parse().unwrap();
        let catalogue = Catalogue::builtin();
        let written = fill(&path, &catalogue, 21, now).unwrap();
        // 15 weekdays of about 126 tickets.
        assert!((15 * 100..15 * 150).contains(&written), "{written}");
        let conn = store::open(&path).unwrap();
        let office = offices::find(&conn, "default").unwrap();
        let period = super::super::reports::Period::new(
            office.day_at(now).date - TimeDelta::days(21),
            office.day_at(now).date,
        )
        .unwrap();
        let report = super::super::reports::report(
            &conn,
            &office,
            &catalogue,
            &crate::config::hub::ReportsConfig::default(),
            period,
            now,
        )
        .unwrap();
        assert_eq!(report.overall.issued as usize, written);
        // Mid-morning waits are longer than at opening.
        let tuesday = report.waits[1];
        assert!(
            tuesday[10].unwrap() > tuesday[8].unwrap_or(0.0),
            "{tuesday:?}"
        );
        // The same days give the same tickets.
        let again = tempfile::tempdir().unwrap();
        let path = again.path().join("h.sqlite");
        drop(store::open(&path).unwrap());
        assert_eq!(fill(&path, &catalogue, 21, now).unwrap(), written);
    }
}
