//! The fleet page's software updates: the bundles the hub holds and the latest rollout
//! for every clerk to see; starting and stopping a rollout for a clerk with the role
//! `maintainer` only (the kiosks still accept only bundles signed by the maintainer's CA
//! and never an older version, whoever starts a rollout). Bundles are added on the hub's
//! machine (`sportello hub update add`): a bundle is hundreds of megabytes, more than a
//! clerk page should take in. Every change is logged with the clerk's name.
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::auth::{OperatorAuth, Role};
use super::error::{ApiError, ApiJson};
use super::offices::CONFIGURED_OFFICE;
use super::sql::{Sql, args};
use super::state::AppState;
use super::updates::{self, BundleInfo, RolloutStatus, UpdateError, Waves};

/// The most kiosks a rollout may name (a region's office has far fewer).
const MAX_NAMED_KIOSKS: usize = 1000;

/// `GET /fleet/api/updates`.
#[derive(Debug, Serialize)]
pub struct UpdatesView {
    /// Whether this clerk may start and stop rollouts.
    pub can_roll_out: bool,
    /// The bundles the hub holds, newest first.
    pub bundles: Vec<BundleInfo>,
    /// The latest rollout, if any.
    pub rollout: Option<RolloutStatus>,
}

/// `GET /fleet/api/updates`.
pub async fn view(
    State(state): State<AppState>,
    op: OperatorAuth,
) -> Result<Json<UpdatesView>, ApiError> {
    let office = op.office.id;
    let (bundles, rollout) = state
        .db
        .read(move |conn| {
            let sql = Sql::from(&*conn);
            let mut rollout = updates::latest(sql)?;
            // A clerk sees how the rollout goes on their own office's kiosks only.
            if let Some(rollout) = &mut rollout {
                let ours: Vec<String> = sql
                    .query_all("SELECT id FROM kiosks WHERE office_id = ?1", args![office])?
                    .iter()
                    .map(|r| r.get(0))
                    .collect::<Result<_, _>>()?;
                rollout.targets.retain(|t| ours.contains(&t.kiosk_id));
            }
            Ok((updates::bundles(sql)?, rollout))
        })
        .await?;
    Ok(Json(UpdatesView {
        can_roll_out: op.role == Role::Maintainer && op.office.id == CONFIGURED_OFFICE,
        bundles,
        rollout,
    }))
}

/// A rollout reaches every office's kiosks (one image for the whole fleet): only a
/// maintainer of the hub's own office (hub.toml's, office 1) starts or stops one from the
/// page; in a region that is its IT office. 403 for the others.
fn require_hub_office(op: &OperatorAuth) -> Result<(), ApiError> {
    if op.office.id == CONFIGURED_OFFICE {
        return Ok(());
    }
    tracing::warn!(clerk = %op.name, office = %op.office.code, "rollout refused: not the hub's own office");
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "region_rollout",
        "a rollout reaches every office's kiosks: it is started by a maintainer of the hub's \
         own office, or with `sportello hub update rollout`",
    ))
}

/// `POST /fleet/api/updates/rollout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    /// The version of a bundle the hub holds.
    pub version: String,
    /// Kiosk ids or names; empty: every kiosk.
    #[serde(default)]
    pub kiosks: Vec<String>,
    /// Kiosks in the first wave.
    pub canary: u16,
    /// Each later wave's share of the rest, 1-100.
    pub percent: u8,
}

/// `POST /fleet/api/updates/rollout`: starts a rollout (stopping a running one).
pub async fn start(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiJson(req): ApiJson<RolloutRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    op.require(Role::Maintainer)?;
    require_hub_office(&op)?;
    if !(1..=100).contains(&req.percent) {
        return Err(ApiError::unprocessable(
            "invalid_rollout",
            "percent must be between 1 and 100",
        ));
    }
    if req.kiosks.len() > MAX_NAMED_KIOSKS || req.kiosks.iter().any(|k| k.len() > 64) {
        return Err(ApiError::unprocessable(
            "invalid_rollout",
            format!("at most {MAX_NAMED_KIOSKS} kiosks, each name at most 64 characters"),
        ));
    }
    let waves = Waves {
        canary: usize::from(req.canary),
        percent: req.percent,
    };
    let version = req.version.clone();
    let (rollout, sizes) = state
        .db
        .write(move |conn| {
            Sql::from(&*conn).write_transaction(|sql| {
                updates::start_rollout_in(sql, &req.version, &req.kiosks, waves).map_err(|err| {
                    match err {
                        UpdateError::Invalid(why) => {
                            ApiError::unprocessable("invalid_rollout", why)
                        }
                        // An unreachable database is 503 as everywhere; any other
                        // failure keeps this context.
                        UpdateError::Sql(err) if err.is_unavailable() => err.into(),
                        other => ApiError::internal("starting a rollout", other),
                    }
                })
            })
        })
        .await?;
    tracing::warn!(clerk = %op.name, %version, waves = ?sizes, "update rollout started from the fleet page");
    Ok(Json(
        serde_json::json!({ "rollout": rollout, "waves": sizes }),
    ))
}

/// `POST /fleet/api/updates/stop`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    /// Why, for the status line (at most 200 characters kept).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /fleet/api/updates/stop`: no more offers; kiosks past installing finish.
pub async fn stop(
    State(state): State<AppState>,
    op: OperatorAuth,
    ApiJson(req): ApiJson<StopRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    op.require(Role::Maintainer)?;
    require_hub_office(&op)?;
    let why: String = req
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("stopped from the fleet page")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let reason = format!("{why} ({})", op.name);
    let stopped = state
        .db
        .write(move |conn| Ok(updates::stop_rollout_in(conn, &reason)?))
        .await?;
    tracing::warn!(clerk = %op.name, stopped, "update rollout stop asked from the fleet page");
    Ok(Json(serde_json::json!({ "stopped": stopped })))
}
