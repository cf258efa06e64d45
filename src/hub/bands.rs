//! Leasing bands of display numbers to a kiosk for offline use.
//!
//! A kiosk asks while it is online; it keeps the band and numbers from it only when the
//! hub is unreachable. The hub answers with the kiosk's latest band for each service while
//! it still has numbers the hub has not seen used, and leases a new one otherwise, so
//! asking again is harmless. A kiosk should drain its outbox before asking.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::ApiError;
use super::numbering::reserve_band;
use crate::catalogue::Catalogue;
use crate::protocol::errors as code;
use crate::protocol::{Band, BandsResponse};

/// At most this many bands per kiosk, service and day: a kiosk stuck in a loop cannot
/// drain the numbers of the office.
pub const MAX_BANDS_PER_DAY: u32 = 10;

/// Leases (or returns the current) bands of `kiosk_id` for `services` (all when `None`).
pub fn lease(
    conn: &mut Connection,
    kiosk_id: &str,
    catalogue: &Catalogue,
    services: Option<&[String]>,
    day: NaiveDate,
    size: u16,
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
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut bands = Vec::new();
    for service in wanted {
        let latest: Option<(u16, u16)> = tx
            .query_row(
                "SELECT first, last FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3
                 ORDER BY id DESC LIMIT 1",
                params![kiosk_id, day.to_string(), service.code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let count: u32 = tx.query_row(
            "SELECT count(*) FROM bands WHERE kiosk_id = ?1 AND day = ?2 AND service = ?3",
            params![kiosk_id, day.to_string(), service.code],
            |r| r.get(0),
        )?;
        let band = match latest {
            Some((first, last)) => {
                let used: u32 = tx.query_row(
                    "SELECT count(*) FROM tickets WHERE day = ?1 AND number_service = ?2
                         AND seq BETWEEN ?3 AND ?4",
                    params![day.to_string(), service.code, first, last],
                    |r| r.get(0),
                )?;
                if used < u32::from(last - first + 1) || count >= MAX_BANDS_PER_DAY {
                    Some((first, last))
                } else {
                    new_band(&tx, kiosk_id, day, &service.code, size, now)?
                }
            }
            None => new_band(&tx, kiosk_id, day, &service.code, size, now)?,
        };
        if let Some((first, last)) = band {
            bands.push(Band {
                service: service.code.clone(),
                prefix: service.prefix,
                first,
                last,
            });
        }
    }
    tx.commit()?;
    Ok(BandsResponse { day, bands })
}

fn new_band(
    tx: &rusqlite::Transaction<'_>,
    kiosk_id: &str,
    day: NaiveDate,
    service: &str,
    size: u16,
    now: DateTime<Utc>,
) -> Result<Option<(u16, u16)>, ApiError> {
    let Some((first, last)) = reserve_band(tx, day, service, size)? else {
        return Ok(None);
    };
    tx.execute(
        "INSERT INTO bands (day, service, kiosk_id, first, last, leased_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            day.to_string(),
            service,
            kiosk_id,
            first,
            last,
            now.to_rfc3339()
        ],
    )?;
    Ok(Some((first, last)))
}
