//! The reports as a manager reads them (issue 20): `/reports/view` (a printable page with
//! charts and their tables), `/reports/api/report` (JSON) and `/reports/export/NAME.csv`.
//! Only a clerk with the role `manager` sees them, and only for their own office; the
//! page at `/reports` (`pages`) logs in and chooses the period.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeDelta};

use super::auth::{OperatorAuth, Role};
use super::charts::{self, WEEKDAYS, number};
use super::error::ApiError;
use super::offices::Office;
use super::reports::{self, Figures, Period, Report};
use super::state::AppState;
use super::tracking::escape;

/// The period a query names: `period=today|week|month` (this week from Monday, this
/// month from the 1st, up to today) or `from=YYYY-MM-DD&to=YYYY-MM-DD`; this week when
/// nothing is given.
pub fn period_of(query: Option<&str>, today: NaiveDate) -> Result<Period, ApiError> {
    let mut kind = None;
    let (mut from, mut to) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let date = || {
            value.parse::<NaiveDate>().map_err(|_| {
                ApiError::bad_request("bad_period", format!("`{key}` must be a date YYYY-MM-DD"))
            })
        };
        match key.as_ref() {
            "period" => kind = Some(value.to_string()),
            "from" if !value.is_empty() => from = Some(date()?),
            "to" if !value.is_empty() => to = Some(date()?),
            _ => {}
        }
    }
    let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
    let (from, to) = match kind.as_deref() {
        Some("today") => (today, today),
        Some("month") => (today.with_day(1).unwrap_or(today), today),
        Some("custom") | None if from.is_some() || to.is_some() => {
            (from.unwrap_or(to.unwrap_or(today)), to.unwrap_or(today))
        }
        Some("week") | Some("custom") | None => (monday, today),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_period",
                format!(
                    "`period` is today, week, month or custom, not `{}`",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    };
    Period::new(from, to).map_err(|why| ApiError::bad_request("bad_period", why))
}

async fn compute(
    state: &AppState,
    office: &Office,
    query: Option<&str>,
) -> Result<Report, ApiError> {
    let now = state.now();
    let period = period_of(query, office.day_at(now).date)?;
    let catalogue = state.catalogue_of(office);
    let targets = state.config.reports.clone();
    let office = office.clone();
    state
        .db
        .read(move |conn| reports::report(&*conn, &office, &catalogue, &targets, period, now))
        .await
}

/// `GET /reports/api/report?...`: the report as JSON (managers).
pub async fn report_json(
    State(state): State<AppState>,
    op: OperatorAuth,
    RawQuery(query): RawQuery,
) -> Result<Json<Report>, ApiError> {
    op.require(Role::Manager)?;
    Ok(Json(compute(&state, &op.office, query.as_deref()).await?))
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"it\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/assets/style.css\">\n\
         <link rel=\"stylesheet\" href=\"/assets/reports.css\">\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// `GET /reports/view?...`: the report as a page (managers); a page saying why otherwise.
pub async fn view(
    State(state): State<AppState>,
    op: Result<OperatorAuth, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    page(state, op, query, render).await
}

/// `GET /reports/summary?...`: one printable page (the day's or the week's summary: the
/// figures, the services, their chart), for managers.
pub async fn summary(
    State(state): State<AppState>,
    op: Result<OperatorAuth, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    page(state, op, query, render_summary).await
}

async fn page(
    state: AppState,
    op: Result<OperatorAuth, ApiError>,
    query: Option<String>,
    render: fn(&Report) -> String,
) -> Response {
    let refusal = |status: StatusCode, text: &str| {
        let body = format!(
            "<main><h1>Rapporti</h1><p class=\"error\" role=\"alert\">{}</p>\
             <p><a href=\"/reports\">Torna alla pagina dei rapporti</a></p></main>\n",
            escape(text)
        );
        html(status, document("Sportello - Rapporti", &body))
    };
    let op = match op {
        Ok(op) => op,
        Err(_) => {
            return refusal(
                StatusCode::UNAUTHORIZED,
                "Accedere prima dalla pagina dei rapporti.",
            );
        }
    };
    if op.require(Role::Manager).is_err() {
        return refusal(
            StatusCode::FORBIDDEN,
            "I rapporti sono riservati agli operatori con il ruolo di responsabile (manager).",
        );
    }
    match compute(&state, &op.office, query.as_deref()).await {
        Ok(report) => html(StatusCode::OK, render(&report)),
        Err(e) if e.status == StatusCode::BAD_REQUEST => refusal(e.status, &e.message),
        Err(e) => refusal(e.status, "I rapporti non sono disponibili ora: riprovare."),
    }
}

fn minutes(seconds: Option<u32>) -> String {
    seconds
        .map(|s| number(f64::from(s) / 60.0))
        .unwrap_or_else(|| "-".to_owned())
}

fn share(value: Option<f64>) -> String {
    value
        .map(|v| format!("{} %", number((v * 100.0).round())))
        .unwrap_or_else(|| "-".to_owned())
}

/// The rows of the figures table: (heading, value).
fn figure_rows(f: &Figures) -> Vec<(String, String)> {
    vec![
        ("Biglietti emessi".into(), f.issued.to_string()),
        ("senza appuntamento".into(), f.walk_in.to_string()),
        ("con appuntamento".into(), f.appointment.to_string()),
        ("con priorità".into(), f.priority.to_string()),
        ("numerati offline".into(), f.offline.to_string()),
        ("Assenti alla chiamata".into(), f.no_shows.to_string()),
        ("Trasferimenti".into(), f.transfers.to_string()),
        ("Mai chiamati".into(), f.never_called.to_string()),
        ("In attesa ora".into(), f.waiting_now.to_string()),
        ("Attesa mediana (min)".into(), minutes(f.wait_median)),
        ("Attesa, 90° percentile (min)".into(), minutes(f.wait_p90)),
        (
            format!("Chiamati entro {} min", f.target_minutes),
            share(f.within_target),
        ),
        ("Servizio mediano (min)".into(), minutes(f.service_median)),
        (
            "Servizio, 90° percentile (min)".into(),
            minutes(f.service_p90),
        ),
    ]
}

/// The hours worth showing: from the earliest to the latest with any arrival or service
/// (8-18 when there is none).
fn busy_hours(report: &Report) -> std::ops::Range<usize> {
    let busy: Vec<usize> = (0..24)
        .filter(|h| (0..7).any(|d| report.arrivals[d][*h] > 0.0 || report.served[d][*h] > 0.0))
        .collect();
    match (busy.first(), busy.last()) {
        (Some(first), Some(last)) => *first..last + 1,
        _ => 8..18,
    }
}

fn grid_table(
    caption: &str,
    grid: &[[Option<f64>; 24]; 7],
    hours: std::ops::Range<usize>,
) -> String {
    let mut out = format!(
        "<table class=\"grid\"><caption>{}</caption><thead><tr><th scope=\"col\">Giorno</th>",
        escape(caption)
    );
    for h in hours.clone() {
        let _ = write!(out, "<th scope=\"col\">{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (d, name) in WEEKDAYS.iter().enumerate() {
        let _ = write!(out, "<tr><th scope=\"row\">{name}</th>");
        for h in hours.clone() {
            let _ = write!(
                out,
                "<td>{}</td>",
                grid[d][h].map(number).unwrap_or_default()
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn some_grid(grid: &[[f64; 24]; 7]) -> [[Option<f64>; 24]; 7] {
    let mut out = [[None; 24]; 7];
    for d in 0..7 {
        for h in 0..24 {
            if grid[d][h] > 0.0 {
                out[d][h] = Some(grid[d][h]);
            }
        }
    }
    out
}

fn heading(report: &Report, title: &str) -> String {
    let Period { from, to } = report.period;
    format!(
        "<header><h1>{} &ndash; {}</h1><p>Dal {} al {} (giorni dell'ufficio)</p></header>\n<main>\n",
        escape(title),
        escape(&report.office),
        from.format("%d/%m/%Y"),
        to.format("%d/%m/%Y")
    )
}

fn summary_table(report: &Report) -> String {
    let mut out =
        String::from("<section id=\"summary\"><h2>In sintesi</h2><table class=\"figures\"><tbody>");
    for (heading, value) in figure_rows(&report.overall) {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(&heading),
            escape(&value)
        );
    }
    out.push_str("</tbody></table></section>\n");
    out
}

fn service_bars(report: &Report) -> String {
    let bars: Vec<(String, f64)> = report
        .services
        .iter()
        .map(|(_, name, f)| (name.clone(), f64::from(f.wait_median.unwrap_or(0)) / 60.0))
        .collect();
    charts::bars(
        "wait-by-service",
        "Attesa mediana per servizio",
        "Minuti dall'emissione (o dall'arrivo con appuntamento) alla prima chiamata, valore mediano per servizio; i numeri sono nella tabella.",
        &bars,
        "min",
    )
}

/// The one-page summary: figures, services (chart and short table).
pub fn render_summary(report: &Report) -> String {
    let Period { from, to } = report.period;
    let mut body = heading(report, "Sintesi");
    body.push_str(&summary_table(report));
    body.push_str("<section id=\"services\"><h2>Per servizio</h2>");
    body.push_str(&service_bars(report));
    body.push_str("<table><thead><tr><th scope=\"col\">Servizio</th><th scope=\"col\">Biglietti</th><th scope=\"col\">Attesa mediana (min)</th><th scope=\"col\">90° percentile (min)</th><th scope=\"col\">Entro l'obiettivo</th><th scope=\"col\">Servizio mediano (min)</th></tr></thead><tbody>");
    for (_, name, f) in &report.services {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            f.issued,
            minutes(f.wait_median),
            minutes(f.wait_p90),
            share(f.within_target),
            minutes(f.service_median)
        );
    }
    body.push_str("</tbody></table></section>\n</main>\n");
    document(&format!("Sportello - Sintesi {from} - {to}"), &body)
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let Period { from, to } = report.period;
    let range = format!("from={from}&to={to}");
    let mut body = heading(report, "Rapporti");
    let _ = writeln!(
        body,
        "<nav class=\"noprint\" aria-label=\"Periodo ed esportazioni\"><ul>\
         <li><a href=\"/reports/view?period=today\">Oggi</a></li>\
         <li><a href=\"/reports/view?period=week\">Questa settimana</a></li>\
         <li><a href=\"/reports/view?period=month\">Questo mese</a></li>\
         <li><a href=\"/reports\">Altro periodo</a></li>\
         <li><a href=\"/reports/summary?{range}\">Sintesi stampabile</a></li></ul>\
         <p>Esporta in CSV: {} &middot; Per stampare: Ctrl+P (una pagina di sintesi).</p></nav>",
        ["services", "days", "hours", "counters", "clerks"]
            .iter()
            .map(|t| format!(
                "<a href=\"/reports/export/{t}.csv?{range}\">{}</a>",
                csv_title(t)
            ))
            .collect::<Vec<_>>()
            .join(" &middot; ")
    );

    body.push_str(&summary_table(report));

    // Per service: bars of the median wait, and the full table.
    body.push_str("<section id=\"services\"><h2>Per servizio</h2>");
    body.push_str(&service_bars(report));
    body.push_str("<table class=\"wide\"><caption>Dati per servizio</caption><thead><tr><th scope=\"col\">Servizio</th>");
    let headings: Vec<String> = figure_rows(&Figures::default())
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    for heading in &headings {
        let _ = write!(body, "<th scope=\"col\">{}</th>", escape(heading));
    }
    body.push_str("</tr></thead><tbody>");
    for (_, name, f) in &report.services {
        let _ = write!(body, "<tr><th scope=\"row\">{}</th>", escape(name));
        for (_, value) in figure_rows(f) {
            let _ = write!(body, "<td>{}</td>", escape(&value));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></section>\n");

    // When people wait: the heat map of mean waits, arrivals and capacity.
    let hours = busy_hours(report);
    body.push_str("<section id=\"hours\"><h2>Attesa per giorno e ora</h2>");
    body.push_str(&charts::heat_map(
        "waits",
        "Attesa media per giorno della settimana e ora di arrivo",
        "Minuti di attesa medi dei biglietti arrivati in ciascuna ora; più scuro, più attesa. I valori sono scritti nelle celle e nella tabella che segue.",
        &report.waits,
        hours.clone(),
        "min",
    ));
    body.push_str(&grid_table(
        "Attesa media (minuti) per giorno e ora di arrivo",
        &report.waits,
        hours.clone(),
    ));
    body.push_str("<h3>Arrivi e capacità</h3>");
    let arrivals = some_grid(&report.arrivals);
    let served = some_grid(&report.served);
    body.push_str(&charts::heat_map(
        "arrivals",
        "Arrivi medi per giorno della settimana e ora",
        "Biglietti entrati in coda in ciascuna ora, in media per giorno di quel tipo nel periodo.",
        &arrivals,
        hours.clone(),
        "biglietti",
    ));
    body.push_str(&grid_table(
        "Arrivi medi per giorno e ora",
        &arrivals,
        hours.clone(),
    ));
    body.push_str(&charts::heat_map(
        "served",
        "Biglietti serviti in media per giorno della settimana e ora",
        "Biglietti conclusi allo sportello in ciascuna ora, in media per giorno di quel tipo: la capacità messa in campo. Dove gli arrivi superano i serviti, la coda cresce.",
        &served,
        hours.clone(),
        "biglietti",
    ));
    body.push_str(&grid_table(
        "Serviti in media per giorno e ora",
        &served,
        hours,
    ));
    body.push_str("</section>\n");

    // Day by day.
    let points: Vec<(String, Option<f64>)> = report
        .days
        .iter()
        .map(|d| {
            (
                d.date.format("%d/%m").to_string(),
                d.wait_median.map(|s| f64::from(s) / 60.0),
            )
        })
        .collect();
    body.push_str("<section id=\"trend\"><h2>Andamento giornaliero</h2>");
    body.push_str(&charts::line(
        "trend",
        "Attesa mediana giorno per giorno",
        "Minuti di attesa mediani per ogni giorno del periodo con biglietti; i numeri sono nella tabella che segue.",
        &points,
        "min",
    ));
    body.push_str("<table><caption>Giorno per giorno</caption><thead><tr><th scope=\"col\">Giorno</th><th scope=\"col\">Biglietti</th><th scope=\"col\">Attesa mediana (min)</th><th scope=\"col\">90° percentile (min)</th></tr></thead><tbody>");
    for d in &report.days {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.date.format("%d/%m/%Y"),
            d.issued,
            minutes(d.wait_median),
            minutes(d.wait_p90)
        );
    }
    body.push_str("</tbody></table></section>\n");

    // Counters and clerks.
    body.push_str("<section id=\"counters\"><h2>Per sportello</h2><table><thead><tr><th scope=\"col\">Sportello</th><th scope=\"col\">Serviti</th><th scope=\"col\">Assenti</th><th scope=\"col\">Servizio mediano (min)</th></tr></thead><tbody>");
    for c in &report.counters {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.counter),
            c.served,
            c.no_shows,
            minutes(c.service_median)
        );
    }
    body.push_str("</tbody></table></section>\n");
    body.push_str("<section id=\"clerks\"><h2>Per operatore</h2><p>Ore allo sportello: per ogni giorno, dalla prima chiamata alla fine dell'ultimo biglietto.</p><table><thead><tr><th scope=\"col\">Operatore</th><th scope=\"col\">Serviti</th><th scope=\"col\">Ore allo sportello</th><th scope=\"col\">Serviti per ora</th></tr></thead><tbody>");
    for c in &report.clerks {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.clerk),
            c.served,
            number(c.hours),
            c.per_hour.map(number).unwrap_or_else(|| "-".into())
        );
    }
    body.push_str("</tbody></table></section>\n");
    body.push_str("<p class=\"note\">Definizioni: docs/reports.md. Nessun codice fiscale né nome di cittadini in questi dati.</p>\n</main>\n");
    document(&format!("Sportello - Rapporti {from} - {to}"), &body)
}

fn csv_title(table: &str) -> &'static str {
    match table {
        "services" => "per servizio",
        "days" => "per giorno",
        "hours" => "per giorno e ora",
        "counters" => "per sportello",
        _ => "per operatore",
    }
}

/// `GET /reports/export/{services|days|hours|counters|clerks}.csv?...` (managers).
pub async fn export_csv(
    State(state): State<AppState>,
    op: OperatorAuth,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    op.require(Role::Manager)?;
    let table = file.strip_suffix(".csv").unwrap_or_default().to_owned();
    if !["services", "days", "hours", "counters", "clerks"].contains(&table.as_str()) {
        return Err(ApiError::not_found(
            "unknown_table",
            "the tables are services, days, hours, counters and clerks (NAME.csv)",
        ));
    }
    let report = compute(&state, &op.office, query.as_deref()).await?;
    let text = csv_text(&report, &table).map_err(|e| ApiError::internal("csv", e))?;
    let name = format!(
        "attachment; filename=\"sportello-{table}-{}-{}.csv\"",
        report.period.from, report.period.to
    );
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (CONTENT_DISPOSITION, name),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        text,
    )
        .into_response())
}

fn seconds(value: Option<u32>) -> String {
    value.map(|s| s.to_string()).unwrap_or_default()
}

/// One table of `report` as CSV (`,`-separated, times in seconds, shares 0-1).
pub fn csv_text(report: &Report, table: &str) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let figures = |f: &Figures| -> Vec<String> {
        vec![
            f.issued.to_string(),
            f.walk_in.to_string(),
            f.appointment.to_string(),
            f.priority.to_string(),
            f.offline.to_string(),
            f.no_shows.to_string(),
            f.transfers.to_string(),
            f.never_called.to_string(),
            f.waiting_now.to_string(),
            seconds(f.wait_median),
            seconds(f.wait_p90),
            f.target_minutes.to_string(),
            f.within_target
                .map(|v| format!("{v:.4}"))
                .unwrap_or_default(),
            seconds(f.service_median),
            seconds(f.service_p90),
        ]
    };
    match table {
        "services" => {
            out.write_record([
                "service",
                "issued",
                "walk_in",
                "appointment",
                "priority",
                "offline",
                "no_shows",
                "transfers",
                "never_called",
                "waiting_now",
                "wait_median_s",
                "wait_p90_s",
                "target_min",
                "within_target",
                "service_median_s",
                "service_p90_s",
            ])?;
            let mut all = vec![("*".to_owned(), &report.overall)];
            all.extend(report.services.iter().map(|(code, _, f)| (code.clone(), f)));
            for (code, f) in all {
                let mut record = vec![code];
                record.extend(figures(f));
                out.write_record(&record)?;
            }
        }
        "days" => {
            out.write_record(["date", "issued", "wait_median_s", "wait_p90_s"])?;
            for d in &report.days {
                out.write_record([
                    d.date.to_string(),
                    d.issued.to_string(),
                    seconds(d.wait_median),
                    seconds(d.wait_p90),
                ])?;
            }
        }
        "hours" => {
            out.write_record([
                "weekday",
                "hour",
                "arrivals_per_day",
                "served_per_day",
                "mean_wait_min",
            ])?;
            for d in 0..7 {
                for h in 0..24 {
                    out.write_record([
                        (d + 1).to_string(),
                        h.to_string(),
                        format!("{:.2}", report.arrivals[d][h]),
                        format!("{:.2}", report.served[d][h]),
                        report.waits[d][h]
                            .map(|w| format!("{w:.1}"))
                            .unwrap_or_default(),
                    ])?;
                }
            }
        }
        "counters" => {
            out.write_record(["counter", "served", "no_shows", "service_median_s"])?;
            for c in &report.counters {
                out.write_record([
                    c.counter.clone(),
                    c.served.to_string(),
                    c.no_shows.to_string(),
                    seconds(c.service_median),
                ])?;
            }
        }
        _ => {
            out.write_record(["clerk", "served", "hours", "per_hour"])?;
            for c in &report.clerks {
                out.write_record([
                    c.clerk.clone(),
                    c.served.to_string(),
                    format!("{:.2}", c.hours),
                    c.per_hour.map(|v| format!("{v:.2}")).unwrap_or_default(),
                ])?;
            }
        }
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
