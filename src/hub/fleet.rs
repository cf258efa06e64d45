//! The fleet page's JSON endpoints: every kiosk's state, and disabling one remotely.
//! Kiosks removed with `sportello hub kiosk remove` are not listed; a change is logged
//! with the clerk's name (security finding 18).
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiJson};
use super::sql::{Sql, SqlError, args};
use super::state::AppState;

/// Clock difference between a kiosk and the hub that the fleet page flags.
pub const CLOCK_TOLERANCE_SECONDS: i64 = 120;

/// One kiosk as the fleet page shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KioskRow {
    /// Hub id.
    pub kiosk_id: String,
    /// Name given at enrollment.
    pub name: String,
    /// Firmware version from the last heartbeat.
    pub version: Option<String>,
    /// Time of the last heartbeat (RFC 3339).
    pub last_heartbeat: Option<String>,
    /// Last request of any kind since the hub started (RFC 3339).
    pub last_seen: Option<String>,
    /// Heard from within the online window.
    pub online: bool,
    /// Printer state from the last heartbeat.
    pub printer: Option<String>,
    /// Printer detail text.
    pub printer_detail: Option<String>,
    /// Unsent operations at the last heartbeat.
    pub outbox_depth: Option<u32>,
    /// Age in seconds of the oldest of them.
    pub oldest_pending_seconds: Option<i64>,
    /// The kiosk's clock at the last heartbeat.
    pub kiosk_time: Option<String>,
    /// How far the kiosk's clock was ahead (+) or behind (−) the hub's at that heartbeat,
    /// in seconds (network delay included, so a second or two is normal).
    pub clock_offset_seconds: Option<i64>,
    /// The offset is beyond [`CLOCK_TOLERANCE_SECONDS`]: offline tickets and printed times
    /// on that kiosk may be wrong, so the fleet page flags it.
    pub clock_wrong: bool,
    /// Whether the office disabled it.
    pub disabled: bool,
    /// Its place in the latest software rollout, if it is in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<KioskUpdate>,
}

/// A kiosk's line in the latest rollout (`hub::updates`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KioskUpdate {
    /// The version rolled out.
    pub version: String,
    /// The rollout: `running`, `stopped` or `done`.
    pub rollout: String,
    /// `waiting` (its wave has not opened), or how far it got: `offered`,
    /// `downloading`, `installed`, `booted`, `good`, `rolled_back`, `failed`.
    pub state: String,
    /// The slot it runs from.
    pub booted_slot: Option<String>,
    /// Its last reason or progress.
    pub detail: Option<String>,
}

/// `GET /fleet/api/kiosks`.
pub async fn kiosks(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<Vec<KioskRow>>, ApiError> {
    let office = op.office.id;
    let mut rows = state
        .db
        .read(move |conn| {
            let sql = Sql::from(&*conn);
            let mut rows = sql
                .query_all(
                    "SELECT id, name, version, last_heartbeat, printer, printer_detail,
                        outbox_depth, kiosk_time, disabled, oldest_pending_seconds
                     FROM kiosks WHERE removed_at IS NULL AND office_id = ?1
                     ORDER BY name, id",
                    args![office],
                )?
                .into_iter()
                .map(|r| {
                    Ok(KioskRow {
                        kiosk_id: r.get(0)?,
                        name: r.get(1)?,
                        version: r.get(2)?,
                        last_heartbeat: r.get(3)?,
                        last_seen: None,
                        online: false,
                        printer: r.get(4)?,
                        printer_detail: r.get(5)?,
                        outbox_depth: r.get(6)?,
                        kiosk_time: r.get(7)?,
                        clock_offset_seconds: None,
                        clock_wrong: false,
                        disabled: r.get(8)?,
                        oldest_pending_seconds: r.get(9)?,
                        update: None,
                    })
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            if let Some(rollout) = super::updates::latest(sql)? {
                for row in &mut rows {
                    let target = rollout.targets.iter().find(|t| t.kiosk_id == row.kiosk_id);
                    row.update = target.map(|t| KioskUpdate {
                        version: rollout.version.clone(),
                        rollout: rollout.state.clone(),
                        state: t.state.clone(),
                        booted_slot: t.booted_slot.clone(),
                        detail: t.detail.clone(),
                    });
                }
            }
            Ok(rows)
        })
        .await?;
    let now = state.now();
    let window = chrono::TimeDelta::seconds(i64::from(state.config.queue.kiosk_online_seconds));
    for row in &mut rows {
        let seen = state.kiosk_last_seen(&row.kiosk_id);
        row.online = seen.is_some_and(|at| now - at <= window);
        row.last_seen = seen.map(|at| at.to_rfc3339());
        row.clock_offset_seconds = clock_offset(row);
        row.clock_wrong = row
            .clock_offset_seconds
            .is_some_and(|offset| offset.abs() > CLOCK_TOLERANCE_SECONDS);
    }
    Ok(Json(rows))
}

/// The kiosk's clock minus the hub's, both as of the last heartbeat.
fn clock_offset(row: &KioskRow) -> Option<i64> {
    let parse = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let kiosk = parse(&row.kiosk_time)?;
    let hub = parse(&row.last_heartbeat)?;
    Some((kiosk - hub).num_seconds())
}

/// Enable or disable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    /// `true` to take the kiosk out of service.
    pub disabled: bool,
}

/// `POST /fleet/api/kiosks/{kiosk_id}/disabled`.
pub async fn set_disabled(
    State(state): State<AppState>,
    op: OperatorAuth,
    Path(kiosk_id): Path<String>,
    ApiJson(req): ApiJson<DisableRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = kiosk_id.clone();
    let office = op.office.id;
    let changed = state
        .db
        .write(move |conn| {
            Ok(Sql::from(&*conn).execute(
                "UPDATE kiosks SET disabled = ?2
                 WHERE id = ?1 AND removed_at IS NULL AND office_id = ?3",
                args![id, req.disabled, office],
            )?)
        })
        .await?;
    state.kiosk_tokens.forget(&kiosk_id);
    // Other hub processes on the database (a region's) drop their cached tokens too.
    let stamp = super::store::Location::of(&state.config).kiosks_stamp();
    if let Err(e) = super::kiosk_tokens::announce_change(&stamp) {
        tracing::warn!(%e, stamp = %stamp.display(), "other hub processes keep the kiosk's token up to 5 s");
    }
    if changed == 0 {
        return Err(ApiError::not_found(
            "unknown_kiosk",
            "no kiosk with this id",
        ));
    }
    tracing::info!(kiosk = %kiosk_id, clerk = %op.name, operator = op.operator_id, disabled = req.disabled, "kiosk state changed");
    Ok(Json(serde_json::json!({ "ok": true })))
}
