//! Display numbers: the service prefix and three digits, per service, per office day.
//!
//! Online tickets take numbers upward from 001. Offline bands are leased downward from
//! 999, never below [`BAND_ZONE_START`], so the two never meet until the day is very
//! busy; `number_blocks` records, per day and service, the next online number and the
//! lowest number leased. Both moves happen in the caller's write transaction, so a number
//! is handed out once: online numbers have no gaps, a band is never given twice, and
//! nothing in a band is ever issued online. Written for both engines (`hub::sql`): on
//! PostgreSQL the caller's write transaction holds the database's write lock, so several
//! hub processes still hand a number out once.

use super::error::ApiError;
use super::offices::Day;
use super::sql::{Sql, args};
use crate::protocol::errors as code;
use crate::protocol::numbers::{MAX_NUMBER, TAG_LETTERS};

/// Bands are leased from 999 down to this number at the lowest.
pub const BAND_ZONE_START: u16 = 500;

/// Emergency numbers are stored with this added to their own sequence (1-99), so they
/// sort after and never collide with the three-digit numbers.
pub const EMERGENCY_SEQ_BASE: u16 = 1000;

/// The tag of the `index`-th kiosk enrolled (0-based): A..Z, then AA, AB...
pub fn kiosk_tag(index: usize) -> String {
    let n = TAG_LETTERS.len();
    if index < n {
        char::from(TAG_LETTERS[index]).to_string()
    } else {
        let i = (index - n) % (n * n);
        format!(
            "{}{}",
            char::from(TAG_LETTERS[i / n]),
            char::from(TAG_LETTERS[i % n])
        )
    }
}

fn no_numbers_left(service: &str) -> ApiError {
    ApiError::conflict(
        code::NO_NUMBERS_LEFT,
        format!("service `{service}` has used all 999 numbers of today"),
    )
}

/// (next online number, lowest leased number) for a day and service.
fn block(sql: Sql<'_>, day: Day, service: &str) -> Result<(u16, u16), ApiError> {
    let row = sql.query_opt(
        "SELECT next_online, band_floor FROM number_blocks
         WHERE office_id = ?3 AND day = ?1 AND service = ?2",
        args![day.text(), service, day.office],
    )?;
    match row {
        Some(row) => Ok((row.get(0)?, row.get(1)?)),
        None => {
            sql.execute(
                "INSERT INTO number_blocks (office_id, day, service, next_online, band_floor)
                 VALUES (?4, ?1, ?2, 1, ?3)",
                args![day.text(), service, MAX_NUMBER + 1, day.office],
            )?;
            Ok((1, MAX_NUMBER + 1))
        }
    }
}

/// Takes the next online number of `service` on `day`: one statement on the ticket
/// path, which moves the counter only while it is below the lowest leased band.
pub fn next_online<'c>(sql: impl Into<Sql<'c>>, day: Day, service: &str) -> Result<u16, ApiError> {
    // `number_blocks.` qualifies the columns: PostgreSQL would read a bare `next_online`
    // in DO UPDATE as ambiguous with the proposed row's.
    let taken = sql.into().query_opt(
        "INSERT INTO number_blocks (office_id, day, service, next_online, band_floor)
         VALUES (?4, ?1, ?2, 2, ?3)
         ON CONFLICT (office_id, day, service) DO UPDATE SET next_online = number_blocks.next_online + 1
             WHERE number_blocks.next_online < number_blocks.band_floor
         RETURNING next_online - 1",
        args![day.text(), service, MAX_NUMBER + 1, day.office],
    )?;
    match taken {
        Some(row) => Ok(row.get(0)?),
        None => Err(no_numbers_left(service)),
    }
}

/// Reserves up to `size` numbers below the lowest leased one; `None` when none are left.
pub fn reserve_band<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    service: &str,
    size: u16,
) -> Result<Option<(u16, u16)>, ApiError> {
    let sql = sql.into();
    let (next, floor) = block(sql, day, service)?;
    let last = floor - 1;
    let lowest_allowed = next.max(BAND_ZONE_START);
    if last < lowest_allowed {
        return Ok(None);
    }
    let first = floor.saturating_sub(size).max(lowest_allowed);
    sql.execute(
        "UPDATE number_blocks SET band_floor = ?3
         WHERE office_id = ?4 AND day = ?1 AND service = ?2",
        args![day.text(), service, first, day.office],
    )?;
    Ok(Some((first, last)))
}

/// Keeps `seq` out of every later band and online number of `service` on `day` (a number a
/// kiosk carried from its previous hub, `hub::carried`): the band floor moves down to it.
/// False when online numbering has already reached it.
pub fn hold_for_band<'c>(
    sql: impl Into<Sql<'c>>,
    day: Day,
    service: &str,
    seq: u16,
) -> Result<bool, ApiError> {
    let sql = sql.into();
    let (next, floor) = block(sql, day, service)?;
    if seq < next {
        return Ok(false);
    }
    if seq < floor {
        sql.execute(
            "UPDATE number_blocks SET band_floor = ?3
             WHERE office_id = ?4 AND day = ?1 AND service = ?2",
            args![day.text(), service, seq, day.office],
        )?;
    }
    Ok(true)
}

/// The first kiosk tag (`A`, `B`, ... ) no kiosk has yet.
pub fn free_tag<'c>(sql: impl Into<Sql<'c>>) -> Result<String, ApiError> {
    let sql = sql.into();
    let tagged: usize = sql
        .query_one("SELECT count(*) FROM kiosks WHERE tag IS NOT NULL", args![])?
        .get(0)?;
    let mut index = tagged;
    loop {
        let tag = kiosk_tag(index);
        let used: bool = sql
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM kiosks WHERE tag = ?1)",
                args![&tag],
            )?
            .get(0)?;
        if !used {
            return Ok(tag);
        }
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kiosk_tags_skip_i_and_o_and_never_repeat() {
        assert_eq!(kiosk_tag(0), "A");
        assert_eq!(kiosk_tag(7), "H");
        assert_eq!(kiosk_tag(8), "J", "no I");
        assert_eq!(kiosk_tag(24), "AA");
        let tags: std::collections::HashSet<String> = (0..600).map(kiosk_tag).collect();
        assert_eq!(tags.len(), 600);
    }

    #[test]
    fn online_and_bands_never_meet() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::store::open(&dir.path().join("h.sqlite")).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let day = Day { office: 1, date };
        let tx = conn.transaction().unwrap();
        assert_eq!(next_online(&tx, day, "a").unwrap(), 1);
        assert_eq!(next_online(&tx, day, "a").unwrap(), 2);
        assert_eq!(reserve_band(&tx, day, "a", 10).unwrap(), Some((990, 999)));
        assert_eq!(reserve_band(&tx, day, "a", 10).unwrap(), Some((980, 989)));
        // Another service and another day have their own numbers.
        assert_eq!(next_online(&tx, day, "b").unwrap(), 1);
        let next_day = Day {
            office: 1,
            date: date.succ_opt().unwrap(),
        };
        // And another office on the same day.
        let other_office = Day { office: 2, date };
        assert_eq!(next_online(&tx, other_office, "a").unwrap(), 1);
        assert_eq!(next_online(&tx, next_day, "a").unwrap(), 1);
        // Bands stop at the band zone.
        let mut lowest = 980;
        while let Some((first, _)) = reserve_band(&tx, day, "a", 50).unwrap() {
            lowest = first;
        }
        assert_eq!(lowest, BAND_ZONE_START);
        // Online numbering runs on up to the lowest band, then stops.
        let mut last = 2;
        while let Ok(n) = next_online(&tx, day, "a") {
            last = n;
        }
        assert_eq!(last, BAND_ZONE_START - 1);
        let err = next_online(&tx, day, "a").unwrap_err();
        assert_eq!(err.code, "no_numbers_left");
    }
}
