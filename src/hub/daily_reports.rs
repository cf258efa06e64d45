//! The day's summary kept for the archive (issue 20): once an office's day is over, the
//! hub writes that day's figures per service as CSV beside its database,
//! `reports/<office>/<YYYY-MM-DD>.csv` (the `services` table of `/reports/export`), once,
//! from 01:00 the next morning (tickets numbered offline late in the evening have had an
//! hour to arrive). A day without tickets gets no file. Housekeeping calls it; a day
//! already written is left alone, so several hub processes sharing the files write it
//! once (a file appears whole: written aside, then renamed).

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::error::ApiError;
use super::offices;
use super::reports::{Period, report};
use super::reports_page::csv_text;
use super::state::AppState;

/// Where the summary of `office`'s `date` goes under `files`.
pub fn summary_path(files: &Path, office: &str, date: chrono::NaiveDate) -> PathBuf {
    files
        .join("reports")
        .join(office)
        .join(format!("{date}.csv"))
}

/// Writes yesterday's summary of every office that has none yet; returns the files written.
pub async fn write_closed_days(
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, ApiError> {
    let files = super::store::Location::of(&state.config).files;
    let all = state.db.read(|conn| Ok(offices::list(&*conn)?)).await?;
    let mut written = Vec::new();
    for office in all {
        if now.with_timezone(&office.tz).hour() < 1 {
            continue;
        }
        let yesterday = office.day_at(now).date - TimeDelta::days(1);
        let path = summary_path(&files, &office.code, yesterday);
        if path.exists() {
            continue;
        }
        let catalogue = state.catalogue_of(&office);
        let targets = state.config.reports.clone();
        let period =
            Period::new(yesterday, yesterday).map_err(|e| ApiError::internal("period", e))?;
        let office_for_report = office.clone();
        let made = state
            .db
            .read(move |conn| {
                report(
                    &*conn,
                    &office_for_report,
                    &catalogue,
                    &targets,
                    period,
                    now,
                )
            })
            .await?;
        if made.overall.issued == 0 {
            continue;
        }
        let text = csv_text(&made, "services").map_err(|e| ApiError::internal("csv", e))?;
        write_whole(&path, &text)
            .map_err(|e| ApiError::internal("daily summary", format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let aside = path.with_extension(format!("csv.{}", std::process::id()));
    std::fs::write(&aside, text)?;
    std::fs::rename(&aside, path)
}
