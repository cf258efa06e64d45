//! `/metrics` in the Prometheus text format, written by hand.
//!
//! Request latency is measured by a middleware into fixed-bucket histograms per route;
//! ticket and kiosk figures are read from the database and the kiosks' last-seen times
//! when scraped, so they are right after a restart too.
//!
//! Written for both engines (`hub::sql`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::offices;
use super::sql::{Sql, args};
use super::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// In-memory counters of a running hub.
#[derive(Default)]
pub struct Metrics {
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    issued_total: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    /// Records one request's duration.
    pub fn observe(&self, method: &str, route: &str, seconds: f64) {
        let mut map = self.latency.lock().unwrap_or_else(PoisonError::into_inner);
        let h = map
            .entry((route.to_string(), method.to_string()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Counts a newly issued ticket of `office` (its code; replays are not counted).
    pub fn ticket_issued(&self, office: &str, service: &str) {
        *self
            .issued_total
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((office.to_string(), service.to_string()))
            .or_default() += 1;
    }
}

/// Ticket counts per key of one office's day (`?1` the day, `?2` the office).
fn counts(
    sql: Sql<'_>,
    query: &str,
    day: &offices::Day,
) -> Result<std::collections::HashMap<String, i64>, ApiError> {
    let mut found = std::collections::HashMap::new();
    for row in sql.query_all(query, args![day.text(), day.office])? {
        found.insert(row.get(0)?, row.get(1)?);
    }
    Ok(found)
}

/// Middleware: times every request under its matched route (unmatched ones as `other`).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |p| p.as_str())
        .to_string();
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    state
        .metrics
        .observe(method, &route, started.elapsed().as_secs_f64());
    response
}

/// The method as a metrics label, from a fixed set: a client may send any method name
/// of any length, and each distinct label would be a new series kept forever.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let st = state.clone();
    let now = state.now();
    // Per office (its own day) and service: (office code, service, issued, waiting).
    let per_office = state
        .db
        .read(move |conn| {
            let sql = Sql::from(&*conn);
            let mut out = Vec::new();
            let mut enrolled = Vec::new();
            for office in offices::list(sql)? {
                let day = office.day_at(now);
                let issued = counts(
                    sql,
                    "SELECT number_service, count(*) FROM tickets
                     WHERE office_id = ?2 AND day = ?1 GROUP BY number_service",
                    &day,
                )?;
                let waiting = counts(
                    sql,
                    "SELECT service, count(*) FROM tickets
                     WHERE office_id = ?2 AND day = ?1 AND status = 'waiting' GROUP BY service",
                    &day,
                )?;
                for s in st.catalogue_of(&office).services() {
                    let issued = issued.get(&s.code).copied().unwrap_or(0);
                    let waiting = waiting.get(&s.code).copied().unwrap_or(0);
                    out.push((office.code.clone(), s.code.clone(), issued, waiting));
                }
                let kiosks: i64 = sql
                    .query_one(
                        "SELECT count(*) FROM kiosks WHERE removed_at IS NULL AND office_id = ?1",
                        args![office.id],
                    )?
                    .get(0)?;
                enrolled.push((office.code, kiosks));
            }
            Ok((out, enrolled))
        })
        .await?;
    let (services, enrolled) = per_office;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP sportello_tickets_issued_today Tickets numbered today (the office's day), per office and service.\n# TYPE sportello_tickets_issued_today gauge"
    );
    for (office, service, issued, _) in &services {
        let _ = writeln!(
            out,
            "sportello_tickets_issued_today{{office=\"{}\",service=\"{}\"}} {issued}",
            label(office),
            label(service)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sportello_tickets_waiting Tickets waiting now, per office and service.\n# TYPE sportello_tickets_waiting gauge"
    );
    for (office, service, _, waiting) in &services {
        let _ = writeln!(
            out,
            "sportello_tickets_waiting{{office=\"{}\",service=\"{}\"}} {waiting}",
            label(office),
            label(service)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sportello_tickets_issued_total Tickets issued by this process since it started, per office and service.\n# TYPE sportello_tickets_issued_total counter"
    );
    let issued_total = state
        .metrics
        .issued_total
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for ((office, service), n) in &issued_total {
        let _ = writeln!(
            out,
            "sportello_tickets_issued_total{{office=\"{}\",service=\"{}\"}} {n}",
            label(office),
            label(service)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sportello_kiosks_online Kiosks heard from within the online window.\n# TYPE sportello_kiosks_online gauge\nsportello_kiosks_online {}",
        state.kiosks_online()
    );
    let _ = writeln!(
        out,
        "# HELP sportello_kiosks_enrolled Kiosks enrolled, per office.\n# TYPE sportello_kiosks_enrolled gauge"
    );
    for (office, kiosks) in &enrolled {
        let _ = writeln!(
            out,
            "sportello_kiosks_enrolled{{office=\"{}\"}} {kiosks}",
            label(office)
        );
    }
    let _ = writeln!(
        out,
        "# HELP sportello_call_audio_syntheses_total Call phrases rendered by espeak-ng (cache misses).\n# TYPE sportello_call_audio_syntheses_total counter\nsportello_call_audio_syntheses_total {}",
        state.call_audio.syntheses()
    );
    let _ = writeln!(
        out,
        "# HELP sportello_call_audio_cached Call phrases held in memory.\n# TYPE sportello_call_audio_cached gauge\nsportello_call_audio_cached {}",
        state.call_audio.cached()
    );
    let (group_commits, grouped_writes) = state.db.group_commit_stats();
    let _ = writeln!(
        out,
        "# HELP sportello_db_group_commits_total Shared write transactions committed (one fsync each).\n# TYPE sportello_db_group_commits_total counter\nsportello_db_group_commits_total {group_commits}"
    );
    let _ = writeln!(
        out,
        "# HELP sportello_db_grouped_writes_total Writes run in committed shared transactions (tickets), refused ones included.\n# TYPE sportello_db_grouped_writes_total counter\nsportello_db_grouped_writes_total {grouped_writes}"
    );
    let _ = writeln!(
        out,
        "# HELP sportello_http_request_duration_seconds Request latency per route.\n# TYPE sportello_http_request_duration_seconds histogram"
    );
    let latency = state
        .metrics
        .latency
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for ((route, method), h) in &latency {
        let labels = format!("route=\"{}\",method=\"{}\"", label(route), label(method));
        for (bound, count) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(
                out,
                "sportello_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "sportello_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "sportello_http_request_duration_seconds_sum{{{labels}}} {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "sportello_http_request_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
