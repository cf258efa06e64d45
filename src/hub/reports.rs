//! The office's reports (issue 20): how long people waited and were served, by service,
//! counter, clerk, hour and weekday, over a period of office days. What each figure
//! means is written in docs/reports.md; this module is that text as code.
//!
//! One statement selects the period's tickets of one office on the tickets' index
//! (`office_id, day, ...`); the figures are computed here from those rows, because
//! percentiles and local hours (each office's time zone, across the DST change) are not
//! portable SQL between SQLite and PostgreSQL. No codice fiscale and no citizen name is
//! read: only times, services, counters and the clerk's login name.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use serde::Serialize;

use super::error::ApiError;
use super::offices::Office;
use super::sql::{Sql, args};
use crate::catalogue::Catalogue;
use crate::config::hub::ReportsConfig;

/// The longest period a report covers (a year and a day: a leap year's whole year).
pub const MAX_DAYS: i64 = 366;

/// Office days `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Period {
    /// A period, checked: `from` not after `to`, at most [`MAX_DAYS`] days.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, String> {
        if from > to {
            return Err(format!("the period starts ({from}) after it ends ({to})"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(format!("a report covers at most {MAX_DAYS} days"));
        }
        Ok(Period { from, to })
    }

    /// How many days of each weekday (Monday first) the period holds.
    fn weekdays(self) -> [u32; 7] {
        let mut count = [0; 7];
        let mut day = self.from;
        while day <= self.to {
            count[day.weekday().num_days_from_monday() as usize] += 1;
            day += TimeDelta::days(1);
        }
        count
    }
}

/// Per office day, (first call, last end) in milliseconds.
type DaySpans = BTreeMap<NaiveDate, (i64, i64)>;

/// One ticket as the reports read it.
#[derive(Debug, Clone)]
struct Row {
    day: NaiveDate,
    service: String,
    priority: bool,
    appointment: bool,
    offline: bool,
    status: String,
    counter: Option<String>,
    queued_at: i64,
    first_called_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    transfers: i64,
    clerk: Option<String>,
}

/// The figures of a set of tickets (the whole office, or one service).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Tickets issued (walk-in and appointment check-ins; withdrawn ones not counted).
    pub issued: u32,
    /// Of them, without an appointment.
    pub walk_in: u32,
    /// Of them, appointment check-ins.
    pub appointment: u32,
    /// Of them, with priority access.
    pub priority: u32,
    /// Of them, numbered by a kiosk offline (from a band, or an emergency number).
    pub offline: u32,
    /// Called, but the citizen did not come.
    pub no_shows: u32,
    /// Times a ticket was sent to another service's queue.
    pub transfers: u32,
    /// Tickets of a day that is over, never called.
    pub never_called: u32,
    /// Waiting now (today's, not called yet): in no wait figure.
    pub waiting_now: u32,
    /// Median wait to the first call, seconds.
    pub wait_median: Option<u32>,
    /// 90th percentile of the wait, seconds.
    pub wait_p90: Option<u32>,
    /// The target the share below is measured against, minutes.
    pub target_minutes: u32,
    /// Share of tickets called within the target, of those called or never called.
    pub within_target: Option<f64>,
    /// Median service time (tickets served), seconds.
    pub service_median: Option<u32>,
    /// 90th percentile of the service time, seconds.
    pub service_p90: Option<u32>,
}

/// One counter's work over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterFigures {
    /// The counter's name.
    pub counter: String,
    /// Tickets served there.
    pub served: u32,
    /// Tickets called there that did not come.
    pub no_shows: u32,
    /// Median service time there, seconds.
    pub service_median: Option<u32>,
}

/// One clerk's work over the period (managers only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClerkFigures {
    /// The clerk's login name.
    pub clerk: String,
    /// Tickets served.
    pub served: u32,
    /// Hours at the counter: per day, from the clerk's first call to their last ticket's
    /// end, summed.
    pub hours: f64,
    /// Tickets served per such hour.
    pub per_hour: Option<f64>,
}

/// One day of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayFigures {
    /// The office day.
    pub date: NaiveDate,
    /// Tickets issued.
    pub issued: u32,
    /// Median wait, seconds.
    pub wait_median: Option<u32>,
    /// 90th percentile of the wait, seconds.
    pub wait_p90: Option<u32>,
}

/// A weekday × hour table (Monday first, hours 0-23 of the office's local time).
pub type WeekGrid<T> = [[T; 24]; 7];

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The office's name.
    pub office: String,
    /// The period.
    pub period: Period,
    /// All services together.
    pub overall: Figures,
    /// Per service the tickets were taken for: (code, Italian name, figures), in the
    /// catalogue's order, services without tickets left out.
    pub services: Vec<(String, String, Figures)>,
    /// Per counter, by name.
    pub counters: Vec<CounterFigures>,
    /// Per clerk, by name.
    pub clerks: Vec<ClerkFigures>,
    /// Tickets joining the queue per weekday and hour, on average per such weekday.
    pub arrivals: WeekGrid<f64>,
    /// Tickets served per weekday and hour (by their end), on average per such weekday.
    pub served: WeekGrid<f64>,
    /// Mean wait in minutes of the tickets that joined the queue in each weekday and
    /// hour; `None` where none did and were called.
    pub waits: WeekGrid<Option<f64>>,
    /// Day by day.
    pub days: Vec<DayFigures>,
}

/// The value at percentile `p` of `sorted` (ascending), nearest rank: the smallest value
/// with at least `p` % of the values at or below it. `None` when empty.
pub fn percentile(sorted: &[u32], p: u32) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank - 1).copied()
}

fn seconds_between(from: i64, to: i64) -> u32 {
    u32::try_from((to - from).max(0) / 1000).unwrap_or(u32::MAX)
}

impl Row {
    /// Seconds from joining the queue to the first call.
    fn wait(&self) -> Option<u32> {
        self.first_called_at
            .map(|called| seconds_between(self.queued_at, called))
    }

    /// Seconds from the start of service (or the call) to its end, for a served ticket.
    fn service_time(&self) -> Option<u32> {
        match (self.status.as_str(), self.started_at, self.finished_at) {
            ("done", Some(start), Some(end)) => Some(seconds_between(start, end)),
            _ => None,
        }
    }
}

fn figures<'r>(rows: impl Iterator<Item = &'r Row>, today: NaiveDate, target: u32) -> Figures {
    let mut f = Figures {
        target_minutes: target,
        ..Figures::default()
    };
    let mut waits = Vec::new();
    let mut services = Vec::new();
    for row in rows {
        f.issued += 1;
        if row.appointment {
            f.appointment += 1;
        } else {
            f.walk_in += 1;
        }
        f.priority += u32::from(row.priority);
        f.offline += u32::from(row.offline);
        f.no_shows += u32::from(row.status == "no_show");
        f.transfers += u32::try_from(row.transfers).unwrap_or(0);
        match row.wait() {
            Some(wait) => waits.push(wait),
            None if row.day < today => f.never_called += 1,
            None => f.waiting_now += 1,
        }
        services.extend(row.service_time());
    }
    waits.sort_unstable();
    services.sort_unstable();
    f.wait_median = percentile(&waits, 50);
    f.wait_p90 = percentile(&waits, 90);
    f.service_median = percentile(&services, 50);
    f.service_p90 = percentile(&services, 90);
    let judged = waits.len() + f.never_called as usize;
    if judged > 0 {
        let within = waits.iter().filter(|w| **w <= target * 60).count();
        f.within_target = Some(within as f64 / judged as f64);
    }
    f
}

/// The local weekday (Monday = 0) and hour of an instant in milliseconds.
fn weekday_hour(office: &Office, millis: i64) -> Option<(usize, usize)> {
    let at = DateTime::<Utc>::from_timestamp_millis(millis)?.with_timezone(&office.tz);
    Some((
        at.weekday().num_days_from_monday() as usize,
        at.hour() as usize,
    ))
}

/// Reads the period's tickets of `office`.
fn rows(sql: Sql<'_>, office: &Office, period: Period) -> Result<Vec<Row>, ApiError> {
    let found = sql.query_all(
        "SELECT day, number_service, priority, appointment IS NOT NULL, offline, status,
                counter, queued_at, first_called_at, COALESCE(serving_at, called_at),
                finished_at, transfers, clerk
         FROM tickets
         WHERE office_id = ?1 AND day >= ?2 AND day <= ?3 AND status <> 'void'",
        args![office.id, period.from.to_string(), period.to.to_string()],
    )?;
    found
        .iter()
        .map(|r| {
            let day: String = r.get(0)?;
            Ok(Row {
                day: day
                    .parse()
                    .map_err(|e| ApiError::internal("ticket day", e))?,
                service: r.get(1)?,
                priority: r.get(2)?,
                appointment: r.get(3)?,
                offline: r.get(4)?,
                status: r.get(5)?,
                counter: r.get(6)?,
                queued_at: r.get(7)?,
                first_called_at: r.get(8)?,
                started_at: r.get(9)?,
                finished_at: r.get(10)?,
                transfers: r.get(11)?,
                clerk: r.get(12)?,
            })
        })
        .collect()
}

/// The report of `office` over `period`, as of `now`.
pub fn report<'c>(
    sql: impl Into<Sql<'c>>,
    office: &Office,
    catalogue: &Catalogue,
    targets: &ReportsConfig,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report, ApiError> {
    let rows = rows(sql.into(), office, period)?;
    let today = office.day_at(now).date;
    let overall = figures(rows.iter(), today, targets.target_minutes);
    let services = catalogue
        .services()
        .iter()
        .filter_map(|s| {
            let mut mine = rows.iter().filter(|r| r.service == s.code).peekable();
            mine.peek()?;
            let target = targets.target_for(&s.code);
            Some((
                s.code.clone(),
                s.name(crate::lang::Lang::IT).to_owned(),
                figures(mine, today, target),
            ))
        })
        .collect();

    let mut counters: BTreeMap<&str, (u32, u32, Vec<u32>)> = BTreeMap::new();
    // Per clerk: served, and per day the first call and the last end.
    let mut clerks: BTreeMap<&str, (u32, DaySpans)> = BTreeMap::new();
    let mut arrivals = [[0u32; 24]; 7];
    let mut served = [[0u32; 24]; 7];
    let mut wait_sums = [[(0u64, 0u32); 24]; 7];
    let mut by_day: BTreeMap<NaiveDate, (u32, Vec<u32>)> = BTreeMap::new();
    for row in &rows {
        let entry = by_day.entry(row.day).or_default();
        entry.0 += 1;
        entry.1.extend(row.wait());
        if let Some((d, h)) = weekday_hour(office, row.queued_at) {
            arrivals[d][h] += 1;
            if let Some(wait) = row.wait() {
                wait_sums[d][h].0 += u64::from(wait);
                wait_sums[d][h].1 += 1;
            }
        }
        if let Some(counter) = &row.counter {
            let c = counters.entry(counter).or_default();
            match row.status.as_str() {
                "done" => c.0 += 1,
                "no_show" => c.1 += 1,
                _ => {}
            }
            c.2.extend(row.service_time());
        }
        if row.status == "done"
            && let Some(end) = row.finished_at
        {
            if let Some((d, h)) = weekday_hour(office, end) {
                served[d][h] += 1;
            }
            if let Some(clerk) = &row.clerk {
                let start = row.first_called_at.or(row.started_at).unwrap_or(end);
                let c = clerks.entry(clerk).or_default();
                c.0 += 1;
                let span = c.1.entry(row.day).or_insert((start, end));
                span.0 = span.0.min(start);
                span.1 = span.1.max(end);
            }
        }
    }
    let weekdays = period.weekdays();
    let per_weekday = |grid: [[u32; 24]; 7]| -> WeekGrid<f64> {
        let mut out = [[0.0; 24]; 7];
        for (d, hours) in grid.iter().enumerate() {
            for (h, n) in hours.iter().enumerate() {
                if weekdays[d] > 0 {
                    out[d][h] = f64::from(*n) / f64::from(weekdays[d]);
                }
            }
        }
        out
    };
    let mut waits = [[None; 24]; 7];
    for (d, hours) in wait_sums.iter().enumerate() {
        for (h, (sum, n)) in hours.iter().enumerate() {
            if *n > 0 {
                waits[d][h] = Some(*sum as f64 / f64::from(*n) / 60.0);
            }
        }
    }
    Ok(Report {
        office: office.name.clone(),
        period,
        overall,
        services,
        counters: counters
            .into_iter()
            .map(|(counter, (served, no_shows, mut times))| {
                times.sort_unstable();
                CounterFigures {
                    counter: counter.to_owned(),
                    served,
                    no_shows,
                    service_median: percentile(&times, 50),
                }
            })
            .collect(),
        clerks: clerks
            .into_iter()
            .map(|(clerk, (served, days))| {
                let millis: i64 = days.values().map(|(start, end)| end - start).sum();
                let hours = millis as f64 / 3_600_000.0;
                ClerkFigures {
                    clerk: clerk.to_owned(),
                    served,
                    hours: (hours * 100.0).round() / 100.0,
                    per_hour: (hours > 0.0).then(|| f64::from(served) / hours),
                }
            })
            .collect(),
        arrivals: per_weekday(arrivals),
        served: per_weekday(served),
        waits,
        days: by_day
            .into_iter()
            .map(|(date, (issued, mut waits))| {
                waits.sort_unstable();
                DayFigures {
                    date,
                    issued,
                    wait_median: percentile(&waits, 50),
                    wait_p90: percentile(&waits, 90),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&values, 50), Some(5));
        assert_eq!(percentile(&values, 90), Some(9));
        assert_eq!(percentile(&values, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let odd: Vec<u32> = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        assert_eq!(percentile(&odd, 50), Some(6));
        assert_eq!(percentile(&odd, 90), Some(10));
    }

    #[test]
    fn a_period_is_ordered_and_at_most_a_year() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert!(Period::new(day(12, 2), day(12, 1)).is_err());
        assert!(Period::new(day(1, 1), day(12, 31)).is_ok());
        let leap = NaiveDate::from_ymd_opt(2028, 12, 31).unwrap();
        let start = NaiveDate::from_ymd_opt(2028, 1, 1).unwrap();
        assert!(Period::new(start, leap).is_ok(), "a leap year's 366 days");
        assert!(Period::new(day(1, 1), leap).is_err());
        // 1-7 December 2026: Tuesday to Monday, each weekday once, Tuesday... once.
        let week = Period::new(day(12, 1), day(12, 7)).unwrap();
        assert_eq!(week.weekdays(), [1; 7]);
    }
}
