//! Rolling a software update out to the kiosks, from the hub (issue 18, item 4).
//!
//! A maintainer adds a signed bundle (`sportello hub update add FILE --version V`: the
//! file is kept beside the database under `updates/<sha256>.raucb`) and rolls it out to
//! chosen kiosks or to all, in waves: a canary wave first, then waves of a share of the
//! rest. A wave opens only when every kiosk of the waves before it runs the new version
//! and has marked it good; the first kiosk that rolls back or fails stops the rollout (no
//! new offers; kiosks already past installing finish on their own).
//!
//! The kiosks learn of it in their heartbeat answer (`UpdateOffer`) and fetch the bundle
//! through `GET /api/v1/updates/{sha256}` with their token, over the link they already
//! use; they report each step in their heartbeats (`UpdateReport`). A kiosk counts as
//! updated only when it says `good` from another slot than the one it ran when it
//! started: a kiosk that rolled back runs its old slot and can never say so by mistake.
//!
//! One rollout runs at a time; starting another stops the one before.
//!
//! Written for both engines (`hub::sql`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::admin::AdminError;
use super::sql::{Sql, SqlError, args};
use super::store::{self, Location};
use crate::protocol::paths;
use crate::protocol::{UpdateOffer, UpdateReport, UpdateState};

/// The target state of a kiosk whose wave has not opened yet.
const WAITING: &str = "waiting";

/// Why adding a bundle or starting a rollout did nothing.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The request is not acceptable: no such version or kiosk, a version already
    /// another bundle, no kiosks. The reason, for the maintainer.
    #[error("{0}")]
    Invalid(String),
    /// A statement failed.
    #[error("database: {0}")]
    Sql(#[from] SqlError),
}

impl From<UpdateError> for AdminError {
    fn from(err: UpdateError) -> AdminError {
        match err {
            UpdateError::Invalid(why) => AdminError::Invalid(why),
            UpdateError::Sql(err) => AdminError::Sql(err),
        }
    }
}

/// Where the bundles of the hub at `location` are kept.
pub fn bundle_dir(location: impl Into<Location>) -> PathBuf {
    let location = &location.into();
    location.files.join("updates")
}

/// The file of the bundle with this SHA-256.
pub fn bundle_path(location: impl Into<Location>, sha256: &str) -> PathBuf {
    let location = &location.into();
    bundle_dir(location).join(format!("{sha256}.raucb"))
}

/// A version as the bundle's manifest and Debian spell it: `0.2.0`, `0.2.0+git2026...`.
fn check_version(version: &str) -> Result<(), AdminError> {
    let fine = !version.is_empty()
        && version.len() <= 64
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~-".contains(c));
    if fine {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "`{version}` is not a version: a digit first, then letters, digits and . + ~ - (at most 64)"
        )))
    }
}

/// Adds the bundle `file` as `version`: copies it beside the database and records its
/// SHA-256 and size. Returns the SHA-256. The same file added again is harmless.
pub fn add_bundle(
    location: impl Into<Location>,
    file: &Path,
    version: &str,
) -> Result<String, AdminError> {
    let location = &location.into();
    check_version(version)?;
    let conn = store::connect(location)?;
    let dir = bundle_dir(location);
    std::fs::create_dir_all(&dir)
        .map_err(|e| AdminError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
    let partial = dir.join(format!(".adding-{}", std::process::id()));
    let (sha256, size) = copy_hashing(file, &partial)?;
    Sql::from(&conn).write_transaction(|sql| {
        let known: Option<String> = sql
            .query_opt(
                "SELECT sha256 FROM update_bundles WHERE version = ?1",
                args![version],
            )?
            .map(|row| row.get(0))
            .transpose()?;
        if let Some(known) = known.filter(|k| *k != sha256) {
            let _ = std::fs::remove_file(&partial);
            return Err(UpdateError::Invalid(format!(
                "version {version} is already another bundle (sha256 {known}): a release is never replaced, make a new version"
            )));
        }
        std::fs::rename(&partial, bundle_path(location, &sha256))
            .map_err(|e| UpdateError::Invalid(format!("cannot keep the bundle: {e}")))?;
        sql.execute(
            "INSERT INTO update_bundles (sha256, version, size, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO NOTHING",
            args![
                &sha256,
                version,
                i64::try_from(size).unwrap_or(i64::MAX),
                Utc::now().to_rfc3339()
            ],
        )?;
        Ok(())
    })?;
    Ok(sha256)
}

fn copy_hashing(from: &Path, to: &Path) -> Result<(String, u64), AdminError> {
    let cannot = |what: &str, path: &Path, e: std::io::Error| {
        AdminError::Invalid(format!("cannot {what} {}: {e}", path.display()))
    };
    let mut input = std::fs::File::open(from).map_err(|e| cannot("read", from, e))?;
    let mut output = std::fs::File::create(to).map_err(|e| cannot("write", to, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = input
            .read(&mut buffer)
            .map_err(|e| cannot("read", from, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        output
            .write_all(&buffer[..n])
            .map_err(|e| cannot("write", to, e))?;
        size += n as u64;
    }
    output.sync_all().map_err(|e| cannot("write", to, e))?;
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((sha256, size))
}

/// How a rollout is cut into waves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waves {
    /// Kiosks in the first wave.
    pub canary: usize,
    /// Each later wave: this share of the kiosks left after the canary (at least one).
    pub percent: u8,
}

impl Default for Waves {
    /// One canary, then quarters of the rest.
    fn default() -> Self {
        Waves {
            canary: 1,
            percent: 25,
        }
    }
}

/// Starts rolling out `version` to `kiosks` (ids or names; all kiosks when empty), in
/// `waves`. Any rollout still running is stopped. Returns the rollout's id and how many
/// kiosks each wave holds.
pub fn start_rollout(
    location: impl Into<Location>,
    version: &str,
    kiosks: &[String],
    waves: Waves,
) -> Result<(i64, Vec<usize>), AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    Ok(Sql::from(&conn).write_transaction(|sql| start_rollout_in(sql, version, kiosks, waves))?)
}

/// [`start_rollout`] inside the caller's transaction (the fleet page's, on the writer).
pub fn start_rollout_in<'c>(
    sql: impl Into<Sql<'c>>,
    version: &str,
    kiosks: &[String],
    waves: Waves,
) -> Result<(i64, Vec<usize>), UpdateError> {
    let sql = sql.into();
    let sha256: String = sql
        .query_opt(
            "SELECT sha256 FROM update_bundles WHERE version = ?1",
            args![version],
        )?
        .ok_or_else(|| {
            UpdateError::Invalid(format!(
                "no bundle with version {version}: add it first with `update add`"
            ))
        })?
        .get(0)?;
    let mut all: Vec<(String, String)> = sql
        .query_all(
            "SELECT id, name FROM kiosks WHERE removed_at IS NULL ORDER BY name, id",
            args![],
        )?
        .into_iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?)))
        .collect::<Result<_, SqlError>>()?;
    if !kiosks.is_empty() {
        for wanted in kiosks {
            if !all.iter().any(|(id, name)| id == wanted || name == wanted) {
                return Err(UpdateError::Invalid(format!(
                    "no kiosk `{wanted}` (an id or a name from the fleet page)"
                )));
            }
        }
        all.retain(|(id, name)| kiosks.iter().any(|w| w == id || w == name));
    }
    if all.is_empty() {
        return Err(UpdateError::Invalid("no kiosks to update".into()));
    }
    let now = Utc::now().to_rfc3339();
    sql.execute(
        "UPDATE update_rollouts SET state = 'stopped', stop_reason = 'a new rollout was started'
         WHERE state = 'running'",
        args![],
    )?;
    let rollout: i64 = sql
        .query_one(
            "INSERT INTO update_rollouts (sha256, started_at, state) VALUES (?1, ?2, 'running')
             RETURNING id",
            args![sha256, &now],
        )?
        .get(0)?;
    let sizes = wave_sizes(all.len(), waves);
    let mut kiosk_ids = all.into_iter().map(|(id, _)| id);
    for (wave, size) in sizes.iter().enumerate() {
        for id in kiosk_ids.by_ref().take(*size) {
            sql.execute(
                "INSERT INTO update_targets (rollout_id, kiosk_id, wave, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                args![rollout, id, wave, WAITING, &now],
            )?;
        }
    }
    Ok((rollout, sizes))
}

/// How many kiosks each wave holds: the canary first, then slices of `percent`.
pub fn wave_sizes(kiosks: usize, waves: Waves) -> Vec<usize> {
    let canary = waves.canary.min(kiosks);
    let mut sizes = Vec::new();
    if canary > 0 {
        sizes.push(canary);
    }
    let rest = kiosks - canary;
    let slice = (rest * usize::from(waves.percent.clamp(1, 100))).div_ceil(100);
    let slice = slice.max(1);
    let mut left = rest;
    while left > 0 {
        let size = slice.min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// Stops the running rollout (no new offers). Returns whether one was running.
pub fn stop_rollout(location: impl Into<Location>, reason: &str) -> Result<bool, AdminError> {
    let location = &location.into();
    let conn = store::connect(location)?;
    Ok(stop_rollout_in(&conn, reason)?)
}

/// [`stop_rollout`] on the caller's connection.
pub fn stop_rollout_in<'c>(sql: impl Into<Sql<'c>>, reason: &str) -> Result<bool, SqlError> {
    let stopped = sql.into().execute(
        "UPDATE update_rollouts SET state = 'stopped', stop_reason = ?1 WHERE state = 'running'",
        args![reason],
    )?;
    Ok(stopped > 0)
}

/// A bundle the hub holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleInfo {
    /// Its version.
    pub version: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was added (RFC 3339).
    pub added_at: String,
}

/// The bundles the hub holds, newest first.
pub fn bundles<'c>(sql: impl Into<Sql<'c>>) -> Result<Vec<BundleInfo>, SqlError> {
    sql.into()
        .query_all(
            "SELECT version, sha256, size, added_at FROM update_bundles ORDER BY added_at DESC, version DESC",
            args![],
        )?
        .into_iter()
        .map(|r| {
            Ok(BundleInfo {
                version: r.get(0)?,
                sha256: r.get(1)?,
                size: u64::try_from(r.get::<i64>(2)?).unwrap_or(0),
                added_at: r.get(3)?,
            })
        })
        .collect()
}

/// A kiosk's line in the latest rollout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TargetStatus {
    /// The kiosk's id.
    pub kiosk_id: String,
    /// Its wave (0 is the canary).
    pub wave: u32,
    /// `waiting` or an [`UpdateState`] name.
    pub state: String,
    /// The slot it reported running from.
    pub booted_slot: Option<String>,
    /// Its last reason or progress.
    pub detail: Option<String>,
}

/// The latest rollout: version, state (`running`, `stopped`, `done`), why it stopped,
/// and its kiosks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RolloutStatus {
    /// The bundle's version.
    pub version: String,
    /// `running`, `stopped` or `done`.
    pub state: String,
    /// Why it stopped.
    pub stop_reason: Option<String>,
    /// Every kiosk in it.
    pub targets: Vec<TargetStatus>,
}

/// The latest rollout, if any.
pub fn latest<'c>(sql: impl Into<Sql<'c>>) -> Result<Option<RolloutStatus>, SqlError> {
    let sql = sql.into();
    let Some(r) = sql.query_opt(
        "SELECT r.id, b.version, r.state, r.stop_reason FROM update_rollouts r
         JOIN update_bundles b ON b.sha256 = r.sha256 ORDER BY r.id DESC LIMIT 1",
        args![],
    )?
    else {
        return Ok(None);
    };
    let (id, version, state, stop_reason): (i64, String, String, Option<String>) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    let targets = sql
        .query_all(
            "SELECT kiosk_id, wave, state, booted_slot, detail FROM update_targets
             WHERE rollout_id = ?1 ORDER BY wave, kiosk_id",
            args![id],
        )?
        .into_iter()
        .map(|r| {
            Ok(TargetStatus {
                kiosk_id: r.get(0)?,
                wave: r.get(1)?,
                state: r.get(2)?,
                booted_slot: r.get(3)?,
                detail: r.get(4)?,
            })
        })
        .collect::<Result<_, SqlError>>()?;
    Ok(Some(RolloutStatus {
        version,
        state,
        stop_reason,
        targets,
    }))
}

/// The running rollout's bundle when `kiosk_id` is one of its kiosks and its wave is
/// open: what `GET /api/v1/updates/{sha256}` may hand it.
pub fn offered_bundle<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_id: &str,
    sha256: &str,
) -> Result<Option<u64>, SqlError> {
    let sql = sql.into();
    let Some(target) = running_target(sql, kiosk_id)? else {
        return Ok(None);
    };
    if target.sha256 != sha256 || !wave_open(sql, target.rollout, target.wave)? {
        return Ok(None);
    }
    Ok(Some(target.size))
}

/// A kiosk's place in the running rollout.
struct Target {
    rollout: i64,
    sha256: String,
    version: String,
    size: u64,
    wave: i64,
    state: String,
    from_slot: Option<String>,
}

fn running_target(sql: Sql<'_>, kiosk_id: &str) -> Result<Option<Target>, SqlError> {
    sql.query_opt(
        "SELECT r.id, r.sha256, b.version, b.size, t.wave, t.state, t.from_slot
         FROM update_rollouts r
         JOIN update_bundles b ON b.sha256 = r.sha256
         JOIN update_targets t ON t.rollout_id = r.id AND t.kiosk_id = ?1
         WHERE r.state = 'running'",
        args![kiosk_id],
    )?
    .map(|r| {
        Ok(Target {
            rollout: r.get(0)?,
            sha256: r.get(1)?,
            version: r.get(2)?,
            size: u64::try_from(r.get::<i64>(3)?).unwrap_or(0),
            wave: r.get(4)?,
            state: r.get(5)?,
            from_slot: r.get(6)?,
        })
    })
    .transpose()
}

/// Every kiosk of the waves before `wave` has the update running and good.
fn wave_open(sql: Sql<'_>, rollout: i64, wave: i64) -> Result<bool, SqlError> {
    let behind: i64 = sql
        .query_one(
            "SELECT count(*) FROM update_targets WHERE rollout_id = ?1 AND wave < ?2 AND state <> 'good'",
            args![rollout, wave],
        )?
        .get(0)?;
    Ok(behind == 0)
}

/// Takes a kiosk's heartbeat report into the running rollout and returns the offer for
/// it, if any. Runs inside the heartbeat's write.
pub fn on_heartbeat<'c>(
    sql: impl Into<Sql<'c>>,
    kiosk_id: &str,
    report: Option<&UpdateReport>,
    now: DateTime<Utc>,
) -> Result<Option<UpdateOffer>, SqlError> {
    let sql = sql.into();
    let Some(target) = running_target(sql, kiosk_id)? else {
        return Ok(None);
    };
    let now = now.to_rfc3339();
    let mut state = target.state.clone();
    if let Some(report) = report.filter(|r| r.version == target.version) {
        let slot: String = report.booted_slot.chars().take(8).collect();
        // `good` counts only from a slot other than the one the kiosk ran at the start.
        let believable = report.state != UpdateState::Good
            || target.from_slot.as_deref().is_some_and(|from| from != slot);
        if believable {
            state = report.state.as_str().to_string();
            let detail: Option<String> = report
                .detail
                .as_ref()
                .map(|d| d.chars().take(200).collect());
            sql.execute(
                "UPDATE update_targets SET state = ?3, booted_slot = ?4, detail = ?5, updated_at = ?6,
                     from_slot = coalesce(from_slot,
                         CASE WHEN ?3 IN ('offered', 'downloading', 'installed') THEN ?4 END)
                 WHERE rollout_id = ?1 AND kiosk_id = ?2",
                args![target.rollout, kiosk_id, &state, &slot, detail, &now],
            )?;
        }
        if matches!(report.state, UpdateState::RolledBack | UpdateState::Failed) {
            let reason = format!(
                "kiosk {kiosk_id}: {}{}",
                report.state.as_str().replace('_', " "),
                report
                    .detail
                    .as_deref()
                    .map(|d| format!(" ({})", d.chars().take(200).collect::<String>()))
                    .unwrap_or_default()
            );
            tracing::warn!(kiosk = kiosk_id, version = %target.version, %reason, "update rollout stopped");
            sql.execute(
                "UPDATE update_rollouts SET state = 'stopped', stop_reason = ?2 WHERE id = ?1",
                args![target.rollout, reason],
            )?;
            return Ok(None);
        }
        if report.state == UpdateState::Good && believable {
            tracing::info!(kiosk = kiosk_id, version = %target.version, slot = %slot, "kiosk updated and good");
            let left: i64 = sql
                .query_one(
                    "SELECT count(*) FROM update_targets WHERE rollout_id = ?1 AND state <> 'good'",
                    args![target.rollout],
                )?
                .get(0)?;
            if left == 0 {
                sql.execute(
                    "UPDATE update_rollouts SET state = 'done' WHERE id = ?1",
                    args![target.rollout],
                )?;
                tracing::info!(version = %target.version, "update rollout done: every kiosk is good");
            }
        }
    }
    let finished = UpdateState::parse(&state).is_some_and(UpdateState::is_final);
    if finished || !wave_open(sql, target.rollout, target.wave)? {
        return Ok(None);
    }
    if state == WAITING {
        sql.execute(
            "UPDATE update_targets SET state = 'offered', updated_at = ?3
             WHERE rollout_id = ?1 AND kiosk_id = ?2",
            args![target.rollout, kiosk_id, now],
        )?;
    }
    Ok(Some(UpdateOffer {
        path: paths::fill(paths::UPDATE_BUNDLE, &target.sha256),
        version: target.version,
        sha256: target.sha256,
        size: target.size,
    }))
}

/// The file from byte `from` as a response body, read in 64 KiB pieces as the client
/// takes them (a bundle is hundreds of megabytes).
pub async fn stream_file(path: &Path, from: u64) -> std::io::Result<axum::body::Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(from)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let piece = match file.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => Ok(axum::body::Bytes::copy_from_slice(&buffer[..n])),
                Err(err) => Err(err),
            };
            let failed = piece.is_err();
            if tx.send(piece).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(axum::body::Body::from_stream(
        tokio_stream::wrappers::ReceiverStream::new(rx),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_start_with_the_canary_and_cover_every_kiosk_once() {
        let w = |canary, percent| Waves { canary, percent };
        assert_eq!(wave_sizes(10, w(1, 25)), vec![1, 3, 3, 3]);
        assert_eq!(wave_sizes(200, w(2, 50)), vec![2, 99, 99]);
        assert_eq!(wave_sizes(1, w(1, 25)), vec![1]);
        assert_eq!(wave_sizes(3, w(0, 100)), vec![3]);
        assert_eq!(wave_sizes(5, w(9, 10)), vec![5]);
        assert_eq!(
            wave_sizes(4, w(1, 0)),
            vec![1, 1, 1, 1],
            "at least one a wave"
        );
        for n in 0..50 {
            assert_eq!(wave_sizes(n, w(2, 30)).iter().sum::<usize>(), n);
        }
    }

    #[test]
    fn versions_are_checked() {
        assert!(check_version("0.2.0+git20261203.abc").is_ok());
        assert!(check_version("1.0~rc1").is_ok());
        for bad in ["", "v1.0", "1.0 beta", "1/0", &"1".repeat(65)] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
