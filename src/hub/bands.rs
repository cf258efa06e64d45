//! Leasing bands of display numbers to a kiosk for offline use.
//!
//! A kiosk asks while it is online; it keeps the band and numbers from it only when the
//! hub is unreachable. The hub answers with the kiosk's latest band for each service while
//! more than a third of it is unused as far as the hub has seen, and leases a new one
//! otherwise (so a kiosk tops up before it runs dry), so asking again is harmless. A
//! kiosk should drain its outbox before asking.
//!
//! A new band is sized by demand: enough numbers for `[queue] band_demand_minutes` of
//! this kiosk's busiest hour for the service in the last `band_history_days` office
//! days, never fewer than `band_size` nor more than `band_max`. A busy kiosk then rides
//! out an outage of that length without emergency numbers; a quiet one does not take
//! numbers from the others. Written for both engines (`hub::sql`).

use chrono::{DateTime, Utc};

use super::error::ApiError;
use super::numbering::reserve_band;
use super::offices::Day;
use super::sql::{Sql, args};
use crate::catalogue::Catalogue;
use crate::protocol::errors as code;
use crate::protocol::{Band, BandsResponse};

/// At most this many bands per kiosk, service and day: a kiosk stuck in a loop cannot
/// drain the numbers of the office.
pub const MAX_BANDS_PER_DAY: u32 = 10;

/// How big a new band is (`[queue]` in hub.toml).
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    /// The fewest numbers (and the size without history).
    pub floor: u16,
    /// The most numbers.
    pub max: u16,
    /// Minutes of the busiest hour a band covers (0: always `floor`).
    pub demand_minutes: u32,
    /// Office days looked back for the busiest hour.
    pub history_days: u32,
}

impl Sizing {
    /// The sizing `[queue]` asks for.
    pub fn from_config(queue: &crate::config::hub::QueueConfig) -> Sizing {
        let numbers = |n: u32| u16::try_from(n).unwrap_or(u16::MAX);
        Sizing {
            floor: numbers(queue.band_size),
            max: numbers(queue.band_max),
            demand_minutes: queue.band_demand_minutes,
            history_days: queue.band_history_days,
        }
    }

    /// The size for a kiosk whose busiest hour had `busiest_hour` tickets.
    fn size_for(self, busiest_hour: u32) -> u16 {
        let wanted = (u64::from(busiest_hour) * u64::from(self.demand_minutes)).div_ceil(60);
        let wanted = u16::try_from(wanted).unwrap_or(u16::MAX);
        wanted.clamp(self.floor, self.max.max(self.floor))
    }
}

/// The most tickets `kiosk_id` issued for `service` in one hour (UTC hour of issue) over
/// the `days` office days before `day` and `day` itself.
fn busiest_hour(
    sql: Sql<'_>,
    kiosk_id: &str,
    service: &str,
    day: Day,
    days: u32,
) -> Result<u32, ApiError> {
    let since = day.date - chrono::Days::new(u64::from(days));
    let busiest: Option<u32> = sql
        .query_one(
            "SELECT max(n) FROM (
                 SELECT count(*) AS n FROM tickets
                 WHERE office_id = ?5 AND day >= ?3 AND day <= ?4 AND kiosk_id = ?1
                   AND number_service = ?2
                 GROUP BY substr(issued_at, 1, 13)) AS per_hour",
            args![kiosk_id, service, since.to_string(), day.text(), day.office],
        )?
        .get(0)?;
    Ok(busiest.unwrap_or(0))
}

/// Leases (or returns the current) bands of `kiosk_id` for `services` (all when `None`).
pub fn lease<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_id: &str,
    catalogue: &Catalogue,
    services: Option<&[String]>,
    day: Day,
    sizing: Sizing,
    now: DateTime<Utc>,
) -> Result<BandsResponse, ApiError> {
    let wanted: Vec<&crate::catalogue::Service> = match services {
        None => catalogue.services().iter().collect(),
        Some(codes) => {
            if codes.len() > catalogue.services().len() {
                return Err(ApiError::unprocessable(
                    "too_many_services",
                    "more services than the catalogue has",
                ));
            }
            codes
                .iter()
                .map(|code| {
                    catalogue.service(code).ok_or_else(|| {
                        ApiError::unprocessable(
                            code::UNKNOWN_SERVICE,
                            format!("service `{code}` is not in the catalogue"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    sql.into().write_transaction(|sql| {
        let mut bands = Vec::new();
        for service in wanted {
            if let Some((first, last)) = band_for(sql, kiosk_id, service, day, sizing, now)? {
                bands.push(Band {
                    service: service.code.clone(),
                    prefix: service.prefix,
                    first,
                    last,
                });
            }
        }
        Ok(BandsResponse {
            day: day.date,
            bands,
        })
    })
}

/// The kiosk's current band for `service` while more than a third of it is unused, else
/// a new one (none once the day's numbers or the kiosk's bands run out).
fn band_for(
    sql: Sql<'_>,
    kiosk_id: &str,
    service: &crate::catalogue::Service,
    day: Day,
    sizing: Sizing,
    now: DateTime<Utc>,
) -> Result<Option<(u16, u16)>, ApiError> {
    let latest = sql.query_opt(
        "SELECT first, last FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3
             AND carried = 0
         ORDER BY id DESC LIMIT 1",
        args![kiosk_id, day.text(), &service.code],
    )?;
    let count: u32 = sql
        .query_one(
            "SELECT count(*) FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3
                 AND carried = 0",
            args![kiosk_id, day.text(), &service.code],
        )?
        .get(0)?;
    if let Some(row) = latest {
        let (first, last): (u16, u16) = (row.get(0)?, row.get(1)?);
        let used: u32 = sql
            .query_one(
                "SELECT count(*) FROM tickets WHERE office_id = ?5 AND day = ?1
                     AND number_service = ?2 AND seq BETWEEN ?3 AND ?4",
                args![day.text(), &service.code, first, last, day.office],
            )?
            .get(0)?;
        let size = u32::from(last - first + 1);
        let left = size.saturating_sub(used);
        if left * 3 > size || count >= MAX_BANDS_PER_DAY {
            return Ok(Some((first, last)));
        }
    }
    let size = demand_size(sql, kiosk_id, &service.code, day, sizing)?;
    new_band(sql, kiosk_id, day, &service.code, size, now)
}

/// The size of a new band for this kiosk and service.
fn demand_size(
    sql: Sql<'_>,
    kiosk_id: &str,
    service: &str,
    day: Day,
    sizing: Sizing,
) -> Result<u16, ApiError> {
    if sizing.demand_minutes == 0 {
        return Ok(sizing.floor);
    }
    let busiest = busiest_hour(sql, kiosk_id, service, day, sizing.history_days)?;
    Ok(sizing.size_for(busiest))
}

fn new_band(
    sql: Sql<'_>,
    kiosk_id: &str,
    day: Day,
    service: &str,
    size: u16,
    now: DateTime<Utc>,
) -> Result<Option<(u16, u16)>, ApiError> {
    let Some((first, last)) = reserve_band(sql, day, service, size)? else {
        return Ok(None);
    };
    sql.execute(
        "INSERT INTO bands (day, service, kiosk_id, first, last, leased_at, office_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![
            day.text(),
            service,
            kiosk_id,
            first,
            last,
            now.to_rfc3339(),
            day.office
        ],
    )?;
    Ok(Some((first, last)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params};

    const SIZING: Sizing = Sizing {
        floor: 10,
        max: 60,
        demand_minutes: 120,
        history_days: 7,
    };

    /// One ticket row of `kiosk` for `service`: (day, display number, seq, issued at).
    fn ticket(conn: &Connection, kiosk: &str, service: &str, at: (&str, &str, i64, &str)) {
        let (day, number, seq, issued_at) = at;
        conn.execute(
            "INSERT INTO tickets (id, day, number, seq, number_service, service, priority,
                 lang, kiosk_id, offline, status, issued_at, queued_at, office_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, 'it', ?6, 0, 'waiting', ?7, 0, 1)",
            params![
                format!("{kiosk}-{day}-{number}"),
                day,
                number,
                seq,
                service,
                kiosk,
                issued_at
            ],
        )
        .unwrap();
    }

    /// `count` tickets of `kiosk` for `service` on `day`, all in one hour.
    fn history(conn: &Connection, kiosk: &str, service: &str, day: &str, count: i64) {
        for n in 0..count {
            let number = format!("{kiosk}-{service}-{n}");
            let issued_at = format!("{day}T09:{:02}:00+00:00", n % 60);
            ticket(conn, kiosk, service, (day, &number, n + 1, &issued_at));
        }
    }

    fn size(band: &Band) -> u16 {
        band.last - band.first + 1
    }

    #[test]
    fn a_band_covers_two_hours_of_the_kiosks_busiest_hour_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let catalogue = Catalogue::builtin();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let day = Day { office: 1, date };
        // Yesterday 24 NASpI tickets in the busiest hour (and fewer in another day's);
        // ISEE 100 in an hour; DID none; another kiosk's NASpI rush does not count.
        history(&conn, "k-1", "naspi", "2026-12-01", 24);
        history(&conn, "k-1", "naspi", "2026-11-30", 5);
        history(&conn, "k-1", "isee", "2026-11-28", 100);
        history(&conn, "k-2", "naspi", "2026-12-01", 200);
        // Older than the seven days looked back: ignored.
        history(&conn, "k-1", "did-patto", "2026-11-20", 50);
        let codes: Vec<String> = ["naspi", "isee", "did-patto"].map(String::from).to_vec();
        let leased = lease(
            &mut conn,
            "k-1",
            &catalogue,
            Some(&codes),
            day,
            SIZING,
            Utc::now(),
        )
        .unwrap();
        let sizes: Vec<(&str, u16)> = leased
            .bands
            .iter()
            .map(|b| (b.service.as_str(), size(b)))
            .collect();
        assert_eq!(sizes, [("naspi", 48), ("isee", 60), ("did-patto", 10)]);
        // Demand sizing off: the fixed size.
        let fixed = Sizing {
            demand_minutes: 0,
            ..SIZING
        };
        let other = lease(
            &mut conn,
            "k-3",
            &catalogue,
            Some(&codes[..1]),
            day,
            fixed,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(size(&other.bands[0]), 10);
    }

    #[test]
    fn a_new_band_comes_once_two_thirds_of_the_last_are_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let catalogue = Catalogue::builtin();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let day = Day { office: 1, date };
        let naspi = vec!["naspi".to_string()];
        let ask = |conn: &mut Connection| {
            lease(
                conn,
                "k-1",
                &catalogue,
                Some(&naspi),
                day,
                SIZING,
                Utc::now(),
            )
            .unwrap()
            .bands[0]
                .clone()
        };
        let first = ask(&mut conn);
        assert_eq!((first.first, first.last), (990, 999));
        // The hub has seen 6 of its 10 numbers used: 4 left, more than a third.
        let use_numbers = |conn: &Connection, seqs: std::ops::RangeInclusive<i64>| {
            for seq in seqs {
                let number = format!("N{seq}");
                let at = (
                    "2026-12-02",
                    number.as_str(),
                    seq,
                    "2026-12-02T09:00:00+00:00",
                );
                ticket(conn, "k-1", "naspi", at);
            }
        };
        use_numbers(&conn, 990..=995);
        assert_eq!(ask(&mut conn), first, "still the same band");
        // 7 used, 3 left: a new band before this one runs dry, sized by today's demand
        // so far (7 in the hour: 14 numbers for two hours).
        use_numbers(&conn, 996..=996);
        let second = ask(&mut conn);
        assert_eq!((second.first, second.last), (976, 989));
    }
}
