//! What a kiosk enrolling again brings from its previous hub (issue 18, item 5).
//!
//! A kiosk is given a new enrollment token when its hub is replaced. It then enrolls at
//! the new hub without waiting for its outbox to drain (the old hub may be gone), and
//! brings three things along in `EnrollRequest::previous`:
//!
//! - its old kiosk token: a hub that knows it (its database restored onto a new machine)
//!   gives the kiosk its own row back, with its id, tag, bands and applied operations, so
//!   the outbox replays exactly as it would have to the old machine;
//! - its tag, which a new hub keeps when no other kiosk has it, so emergency numbers
//!   still in the outbox (`N-A01`) stay this kiosk's;
//! - the offline numbers it printed and never delivered. A new hub takes each one that is
//!   still free on its office day as a one-number band of this kiosk, marked `carried`:
//!   the operation carrying it is accepted when it arrives, the band is never handed out
//!   as a band to number from, and the day's band floor moves below it so that no later
//!   band or online number reaches it. A number already used or leased on that day is
//!   refused and named in the answer: only a same-day replacement with an empty database
//!   can meet one (docs/maintainer.md says to replace after closing or restore the
//!   database).
//!
//! All of it runs in the enrollment's transaction: an enrollment that fails leaves
//! nothing behind. Written for both engines (`hub::sql`).

use chrono::{DateTime, Utc};

use super::auth::token_hash;
use super::error::ApiError;
use super::numbering::{BAND_ZONE_START, free_tag, hold_for_band};
use super::offices::Office;
use super::sql::{Sql, args};
use super::tickets::number_taken;
use crate::catalogue::Catalogue;
use crate::protocol::numbers::{TAG_LETTERS, parse_number};
use crate::protocol::{CarriedNumber, PreviousEnrollment};

pub use crate::protocol::MAX_CARRIED_NUMBERS;

/// Refuses a `previous` no kiosk could send: too many numbers, or fields far too long.
pub fn check(previous: &PreviousEnrollment) -> Result<(), ApiError> {
    if previous.numbers.len() > MAX_CARRIED_NUMBERS {
        return Err(ApiError::unprocessable(
            "too_many_carried_numbers",
            format!("`previous.numbers` holds at most {MAX_CARRIED_NUMBERS} numbers"),
        ));
    }
    let too_long = previous.kiosk_token.len() > 256
        || previous.tag.as_deref().is_some_and(|t| t.len() > 8)
        || previous
            .numbers
            .iter()
            .any(|n| n.service.len() > 64 || n.number.len() > 16);
    if too_long {
        return Err(ApiError::unprocessable(
            "bad_previous",
            "`previous` has a token, tag, service or number far longer than any the hub gives",
        ));
    }
    Ok(())
}

/// The kiosk (id, tag) that holds `kiosk_token` on this hub and was not removed: the
/// same kiosk enrolling again at its own hub, restored.
pub fn known_kiosk<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_token: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let Some(row) = sql.into().query_opt(
        "SELECT id, tag FROM kiosks WHERE token_hash = ?1 AND removed_at IS NULL",
        args![token_hash(kiosk_token.trim())],
    )?
    else {
        return Ok(None);
    };
    let (id, tag): (String, Option<String>) = (row.get(0)?, row.get(1)?);
    Ok(tag.map(|tag| (id, tag)))
}

/// `wanted` when it is a tag and no kiosk has it (removed ones included: a tag is never
/// given twice), else the next free tag.
pub fn tag_for<'c>(sql: impl Into<Sql<'c>>, wanted: Option<&str>) -> Result<String, ApiError> {
    let sql = sql.into();
    let well_formed =
        |tag: &str| (1..=2).contains(&tag.len()) && tag.bytes().all(|b| TAG_LETTERS.contains(&b));
    if let Some(tag) = wanted.filter(|t| well_formed(t)) {
        let taken: bool = sql
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM kiosks WHERE tag = ?1)",
                args![tag],
            )?
            .get(0)?;
        if !taken {
            return Ok(tag.to_string());
        }
    }
    free_tag(sql)
}

/// Takes every carried number that is still free for `kiosk_id`; returns the refused
/// ones in the order given.
pub fn adopt<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_id: &str,
    catalogue: &Catalogue,
    office: &Office,
    numbers: &[CarriedNumber],
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let sql = sql.into();
    let mut refused = Vec::new();
    for carried in numbers {
        if !adopt_one(sql, kiosk_id, catalogue, office, carried, now)? {
            refused.push(carried.number.clone());
        }
    }
    if !refused.is_empty() {
        tracing::warn!(
            kiosk = kiosk_id,
            refused = %refused.join(" "),
            "a kiosk enrolling again carried offline numbers already used or leased here: \
             their tickets will be refused"
        );
    }
    Ok(refused)
}

fn adopt_one(
    sql: Sql<'_>,
    kiosk_id: &str,
    catalogue: &Catalogue,
    office: &Office,
    carried: &CarriedNumber,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let Some(service) = catalogue.service(&carried.service) else {
        return Ok(false);
    };
    let Some((prefix, seq)) = parse_number(&carried.number) else {
        return Ok(false);
    };
    if prefix != service.prefix || seq < BAND_ZONE_START {
        return Ok(false);
    }
    let day = office.day_at(carried.issued_at.with_timezone(&Utc));
    if number_taken(sql, day, &carried.number)? {
        return Ok(false);
    }
    let leased: bool = sql
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM bands WHERE office_id = ?4 AND day = ?1
                 AND service = ?2 AND first <= ?3 AND last >= ?3)",
            args![day.text(), &service.code, seq, day.office],
        )?
        .get(0)?;
    if leased || !hold_for_band(sql, day, &service.code, seq)? {
        return Ok(false);
    }
    sql.execute(
        "INSERT INTO bands (day, service, kiosk_id, first, last, leased_at, carried, office_id)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, 1, ?6)",
        args![
            day.text(),
            &service.code,
            kiosk_id,
            seq,
            now.to_rfc3339(),
            day.office
        ],
    )?;
    Ok(true)
}
