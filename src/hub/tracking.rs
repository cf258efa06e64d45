//! `GET /t/{reference}`: the public "where is my turn" page a citizen opens on a phone
//! from the QR code on the ticket.
//!
//! The reference is the ticket id or the kiosk's op_id (printed even on a ticket issued
//! while the hub was unreachable, so its page starts working once the kiosk syncs). No
//! login and no JavaScript: plain HTML that reloads itself every 20 seconds, in any
//! shipped language (`?lang=`, else the browser's, else Italian; right to left where the
//! language is) with links to the others. It shows the number, the service, the state,
//! people ahead and the estimated wait, and the counter once called: nothing personal,
//! since anyone holding the paper (or the link) can open it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::kiosk_api::status_by_ref;
use super::offices::Office;
use super::sql::{Sql, args};
use super::state::AppState;
use crate::lang::{Lang, fill, tr};
use crate::protocol::{TicketStatus, TicketStatusResponse};

/// Seconds between the page's automatic reloads.
pub const REFRESH_SECONDS: u32 = 20;

/// The page's language: `?lang=` when it names a shipped language, else the first
/// shipped language in `Accept-Language` by preference, else Italian.
pub fn choose_lang(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("lang=").and_then(Lang::from_tag))
        .or_else(|| accept_language.and_then(Lang::from_accept_language))
        .unwrap_or(Lang::IT)
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `dir="…"` for `lang`: `rtl` for right-to-left languages, `ltr` otherwise.
pub(crate) fn dir(lang: Lang) -> &'static str {
    if lang.is_rtl() { "rtl" } else { "ltr" }
}

/// `text` (escaped) kept left to right inside a right-to-left page: ticket numbers,
/// codes, the codice fiscale.
pub(crate) fn ltr(text: &str) -> String {
    format!("<bdi>{}</bdi>", escape(text))
}

/// The look every phone page shares (tracking, sign-in, verification): large type, the
/// office's name in a header bar, the language list. Logical properties only, so a
/// right-to-left page (`dir="rtl"`) mirrors.
pub(crate) const PHONE_STYLE: &str = "html,body{margin:0;padding:0;background:#fff;color:#111;\
font-family:\"DejaVu Sans\",Arial,Helvetica,sans-serif;font-size:22px;line-height:1.4;\
text-align:start}\
header{background:#036;color:#fff;padding:12px 16px;font-size:20px}\
main{padding:16px;max-width:640px}\
nav{margin:24px 0 8px}nav a{display:inline-block;color:#036;font-size:22px;\
margin-block:0 12px;margin-inline:0 24px}";

/// The `<html>` element of a phone page in `lang`: its language and direction.
pub(crate) fn html_open(lang: Lang) -> String {
    format!("<html lang=\"{}\" dir=\"{}\">", lang.code(), dir(lang))
}

/// The list of the other shipped languages, each by its own name and linking to
/// `href(language)`: a `<nav>` every phone page that can change language ends with.
pub(crate) fn language_links(current: Lang, href: impl Fn(Lang) -> String) -> String {
    let mut links = String::new();
    for lang in Lang::all().filter(|&l| l != current) {
        links.push_str(&format!(
            "<a href=\"{href}\" lang=\"{code}\" hreflang=\"{code}\" dir=\"{dir}\">{name}</a>\n",
            href = escape(&href(lang)),
            code = lang.code(),
            dir = dir(lang),
            name = escape(lang.native_name()),
        ));
    }
    format!(
        "<nav aria-label=\"{}\">\n{links}</nav>\n",
        escape(tr(current, "Languages"))
    )
}

/// The tracking page's stylesheet, served as `/assets/tracking.css` (no inline styles:
/// the Content-Security-Policy allows none).
pub(crate) fn stylesheet() -> String {
    format!("{PHONE_STYLE}{STYLE}")
}

const STYLE: &str = "\
.number{font-size:96px;font-weight:bold;margin:0;letter-spacing:2px}\
.service{font-size:26px;margin:0 0 16px}\
.state{font-size:34px;font-weight:bold;margin:16px 0}\
.called{background:#ffbf00;padding:12px}\
.counter{font-size:48px;font-weight:bold}\
dl{font-size:26px}dt{font-weight:bold}dd{margin:0 0 12px}\
.note{font-size:18px;color:#333}a{color:#036;font-size:22px}";

/// Renders a whole page around `body`, ending with the language list `languages`.
fn render(
    lang: Lang,
    title: &str,
    office: &str,
    refresh: bool,
    languages: &str,
    body: &str,
) -> String {
    let refresh = if refresh {
        format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n")
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n{html}\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n{refresh}<title>{title}</title>\n\
<link rel=\"stylesheet\" href=\"/assets/tracking.css\">\n</head>\n<body>\n<header>{office}</header>\n<main>\n{body}\
{languages}</main>\n</body>\n</html>\n",
        html = html_open(lang),
        title = escape(title),
        office = escape(office),
    )
}

/// A phone page's answer: HTML, never cached, no referrer, not indexed.
pub(crate) fn phone_response(status: StatusCode, page: String) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
            (REFERRER_POLICY, "no-referrer"),
            (HeaderName::from_static("x-robots-tag"), "noindex"),
        ],
        page,
    )
        .into_response()
}

/// `<p class="state">` with `text` (escaped).
fn state_line(text: &str) -> String {
    format!("<p class=\"state\">{}</p>\n", escape(text))
}

/// The body of a found ticket's page.
fn ticket_body(lang: Lang, t: &TicketStatusResponse, service_name: &str, time: &str) -> String {
    let mut body = format!(
        "<p>{label}</p>\n<p class=\"number\">{number}</p>\n<p class=\"service\">{service}</p>\n",
        label = escape(tr(lang, "Your number")),
        number = ltr(&t.number),
        service = escape(service_name),
    );
    let counter = ltr(t.counter.as_deref().unwrap_or("-"));
    match t.status {
        TicketStatus::Waiting => {
            body.push_str(&state_line(tr(lang, "Waiting")));
            body.push_str("<dl>\n");
            let ahead = t.position.saturating_sub(1);
            if ahead == 0 {
                body.push_str(&format!("<dt>{}</dt>\n", escape(tr(lang, "You are next!"))));
            } else {
                body.push_str(&format!(
                    "<dt>{}</dt><dd>{ahead}</dd>\n",
                    escape(tr(lang, "People before you"))
                ));
            }
            let wait = if t.eta_minutes == 0 {
                tr(lang, "shortly").to_string()
            } else {
                fill(
                    tr(lang, "{} minutes approx."),
                    &[&t.eta_minutes.to_string()],
                )
            };
            body.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>\n</dl>\n",
                escape(tr(lang, "Estimated wait")),
                escape(&wait)
            ));
        }
        TicketStatus::Called => body.push_str(&format!(
            "<div class=\"called\">\n<p class=\"state\">{}</p>\n<p>{}</p>\n\
<p class=\"counter\">{counter}</p>\n</div>\n",
            escape(tr(lang, "It is your turn!")),
            escape(tr(lang, "Please go to")),
        )),
        TicketStatus::Serving => body.push_str(&format!(
            "<p class=\"state\">{}</p>\n<p class=\"counter\">{counter}</p>\n",
            escape(tr(lang, "Being served at")),
        )),
        TicketStatus::Done => body.push_str(&state_line(tr(lang, "Served. Thank you!"))),
        TicketStatus::NoShow => body.push_str(&state_line(tr(
            lang,
            "Your number was called but nobody came. Please ask at the front desk.",
        ))),
        TicketStatus::Cancelled => body.push_str(&state_line(tr(
            lang,
            "No longer valid: the office day has ended.",
        ))),
    }
    let refreshed = fill(
        tr(
            lang,
            "This page refreshes itself every 20 seconds. Last update: {}",
        ),
        &[time],
    );
    body.push_str(&format!("<p class=\"note\">{}</p>\n", escape(&refreshed)));
    body
}

/// The office of ticket `ticket_id` (the configured one if it cannot be read).
async fn office_of(state: &AppState, ticket_id: Uuid) -> std::sync::Arc<Office> {
    let id = ticket_id.to_string();
    let office = state
        .db
        .read(move |conn| {
            Ok(Sql::from(&*conn)
                .query_opt("SELECT office_id FROM tickets WHERE id = ?1", args![id])?
                .map(|row| row.get::<i64>(0))
                .transpose()?)
        })
        .await;
    match office {
        Ok(Some(id)) => state
            .office(id)
            .await
            .unwrap_or_else(|_| state.configured_office()),
        _ => state.configured_office(),
    }
}

/// `GET /t/{reference}`: the ticket's page; a friendly 404 page for a reference that is
/// unknown (perhaps not synced yet) or malformed. Never an error in JSON.
pub async fn tracking_page(
    State(state): State<AppState>,
    reference: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = choose_lang(query.as_deref(), accept);
    let office = state.config.office_name.clone();
    let parsed = reference
        .ok()
        .and_then(|Path(text)| Uuid::parse_str(text.trim()).ok());
    let not_found = tr(lang, "Ticket not found yet");
    let Some(reference) = parsed else {
        let languages = language_links(lang, |l| format!("?lang={}", l.code()));
        let body = format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            escape(not_found),
            escape(tr(
                lang,
                "This address does not match a ticket. Please scan the QR code printed on your ticket again."
            ))
        );
        let page = render(lang, not_found, &office, false, &languages, &body);
        return phone_response(StatusCode::NOT_FOUND, page);
    };
    let languages = language_links(lang, |l| format!("/t/{reference}?lang={}", l.code()));
    match status_by_ref(&state, reference).await {
        Ok(Some(ticket)) => {
            let service_name = state
                .catalogue
                .service(&ticket.service)
                .map_or(ticket.service.as_str(), |s| s.name(lang));
            let ticket_office = office_of(&state, ticket.ticket_id).await;
            let office = ticket_office.name.clone();
            let time = state
                .now()
                .with_timezone(&ticket_office.tz)
                .format("%H:%M")
                .to_string();
            let body = ticket_body(lang, &ticket, service_name, &time);
            let title = format!("{} {}", ticket.number, tr(lang, "Your turn"));
            phone_response(
                StatusCode::OK,
                render(lang, &title, &office, true, &languages, &body),
            )
        }
        Ok(None) => {
            let body = format!(
                "<h1>{}</h1>\n<p>{}</p>\n",
                escape(not_found),
                escape(tr(
                    lang,
                    "We cannot find this ticket yet. If it was issued while the office system was unreachable, it will appear here within a few minutes: this page refreshes itself."
                ))
            );
            let page = render(lang, not_found, &office, true, &languages, &body);
            phone_response(StatusCode::NOT_FOUND, page)
        }
        Err(e) => {
            tracing::warn!(code = e.code, "tracking page: look-up failed");
            let body = format!(
                "<p>{}</p>\n",
                escape(tr(
                    lang,
                    "The service is not available right now. Please try again in a few minutes."
                ))
            );
            let page = render(
                lang,
                tr(lang, "Your turn"),
                &office,
                true,
                &languages,
                &body,
            );
            phone_response(StatusCode::SERVICE_UNAVAILABLE, page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_query_then_header_then_italian() {
        assert_eq!(choose_lang(Some("lang=en"), Some("it")), Lang::EN);
        assert_eq!(choose_lang(Some("x=1&lang=it"), Some("en")), Lang::IT);
        assert_eq!(choose_lang(Some("lang=EN-gb"), None), Lang::EN);
        // A language the product does not ship is ignored (`de`, `nl`).
        assert_eq!(
            choose_lang(Some("lang=de"), Some("en-GB,en;q=0.9")),
            Lang::EN
        );
        assert_eq!(
            choose_lang(None, Some("de-DE, en;q=0.5, it;q=0.8")),
            Lang::IT
        );
        assert_eq!(choose_lang(None, Some("de, nl")), Lang::IT);
        assert_eq!(choose_lang(None, Some("en;q=0")), Lang::IT);
        assert_eq!(choose_lang(None, Some(";;,,=q")), Lang::IT);
        assert_eq!(choose_lang(Some("lang=%FF"), None), Lang::IT);
        assert_eq!(choose_lang(None, None), Lang::IT);
        // Every shipped language can be asked for by its code.
        for lang in Lang::all() {
            let query = format!("lang={}", lang.code());
            assert_eq!(choose_lang(Some(&query), Some("it")), lang);
            assert_eq!(choose_lang(None, Some(lang.code())), lang);
        }
    }

    #[test]
    fn language_links_name_every_other_language_in_its_own_script_and_direction() {
        let links = language_links(Lang::IT, |l| format!("/t/x?lang={}&a=<b>", l.code()));
        assert!(links.starts_with("<nav aria-label=\""), "{links}");
        assert!(links.ends_with("</nav>\n"), "{links}");
        assert!(
            !links.contains("lang=\"it\""),
            "not the current one: {links}"
        );
        assert_eq!(links.matches("<a ").count(), Lang::all().len() - 1);
        for lang in Lang::all().filter(|&l| l != Lang::IT) {
            let code = lang.code();
            let direction = if lang.is_rtl() { "rtl" } else { "ltr" };
            let link = format!(
                "<a href=\"/t/x?lang={code}&amp;a=&lt;b&gt;\" lang=\"{code}\" hreflang=\"{code}\" \
dir=\"{direction}\">{}</a>",
                escape(lang.native_name())
            );
            assert!(links.contains(&link), "{link} in {links}");
        }
        let english = language_links(Lang::EN, |l| l.code().to_string());
        assert!(english.contains("aria-label=\"Languages\""), "{english}");
        assert!(english.contains(">Italiano</a>"), "{english}");
    }

    #[test]
    fn pages_carry_their_language_and_direction() {
        for lang in Lang::all() {
            let page = render(lang, "t", "o", false, "", "");
            let html = format!(
                "<html lang=\"{}\" dir=\"{}\">",
                lang.code(),
                if lang.is_rtl() { "rtl" } else { "ltr" }
            );
            assert!(page.contains(&html), "{page}");
        }
        assert_eq!(html_open(Lang::EN), "<html lang=\"en\" dir=\"ltr\">");
        assert_eq!(ltr("N-A01"), "<bdi>N-A01</bdi>");
    }

    #[test]
    fn the_english_page_is_the_msgids() {
        let ticket = TicketStatusResponse {
            ticket_id: Uuid::nil(),
            number: "N012".into(),
            service: "isee".into(),
            status: TicketStatus::Waiting,
            priority: false,
            position: 3,
            eta_minutes: 10,
            counter: None,
        };
        let body = ticket_body(Lang::EN, &ticket, "ISEE", "09:30");
        assert!(body.contains("<p>Your number</p>"), "{body}");
        assert!(
            body.contains("<p class=\"number\"><bdi>N012</bdi></p>"),
            "{body}"
        );
        assert!(body.contains("People before you</dt><dd>2</dd>"), "{body}");
        assert!(
            body.contains("Estimated wait</dt><dd>10 minutes approx.</dd>"),
            "{body}"
        );
        assert!(
            body.contains("This page refreshes itself every 20 seconds. Last update: 09:30"),
            "{body}"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
