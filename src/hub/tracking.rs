//! `GET /t/{reference}`: the public "where is my turn" page a citizen opens on a phone
//! from the QR code on the ticket.
//!
//! The reference is the ticket id or the kiosk's op_id (printed even on a ticket issued
//! while the hub was unreachable, so its page starts working once the kiosk syncs). No
//! login and no JavaScript: plain HTML that reloads itself every 20 seconds, in Italian
//! or English. It shows the number, the service, the state, people ahead and the
//! estimated wait, and the counter once called: nothing personal, since anyone holding
//! the paper (or the link) can open it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::kiosk_api::status_by_ref;
use super::state::AppState;
use crate::lang::Lang;
use crate::protocol::{TicketStatus, TicketStatusResponse};

/// Seconds between the page's automatic reloads.
pub const REFRESH_SECONDS: u32 = 20;

/// The page's language: `?lang=` when it names a shipped language, else the first
/// shipped language in `Accept-Language` by preference, else Italian.
pub fn choose_lang(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    let asked = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| {
            pair.strip_prefix("lang=")
                .and_then(|code| code.parse::<Lang>().ok())
        });
    if let Some(lang) = asked {
        return lang;
    }
    let mut best: Option<(f32, Lang)> = None;
    for entry in accept_language.unwrap_or_default().split(',') {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let Ok(lang) = primary.parse::<Lang>() else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::IT, |(_, lang)| lang)
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

/// Texts of the page, per language.
struct Words {
    title: &'static str,
    your_number: &'static str,
    waiting: &'static str,
    next: &'static str,
    ahead: &'static str,
    wait: &'static str,
    minutes: &'static str,
    shortly: &'static str,
    called: &'static str,
    go_to: &'static str,
    serving: &'static str,
    done: &'static str,
    no_show: &'static str,
    cancelled: &'static str,
    refreshed: &'static str,
    unknown_title: &'static str,
    unknown: &'static str,
    malformed: &'static str,
    unavailable: &'static str,
}

const IT: Words = Words {
    title: "Il suo turno",
    your_number: "Il suo numero",
    waiting: "In attesa",
    next: "È il prossimo!",
    ahead: "Persone prima di lei",
    wait: "Attesa stimata",
    minutes: "minuti circa",
    shortly: "a breve",
    called: "È il suo turno!",
    go_to: "Si rechi a",
    serving: "In corso a",
    done: "Servito. Grazie!",
    no_show: "Il numero è stato chiamato, ma nessuno si è presentato. Chieda all'accoglienza.",
    cancelled: "Non più valido: la giornata è terminata.",
    refreshed: "La pagina si aggiorna da sola ogni 20 secondi. Ultimo aggiornamento:",
    unknown_title: "Biglietto non ancora trovato",
    unknown: "Non troviamo ancora questo biglietto. Se è stato emesso mentre il sistema dell'ufficio non era raggiungibile, comparirà qui entro pochi minuti: la pagina si aggiorna da sola.",
    malformed: "Questo indirizzo non corrisponde a un biglietto. Inquadri di nuovo il codice QR stampato sul biglietto.",
    unavailable: "Il servizio non è disponibile in questo momento. Riprovi tra qualche minuto.",
};

const EN: Words = Words {
    title: "Your turn",
    your_number: "Your number",
    waiting: "Waiting",
    next: "You are next!",
    ahead: "People before you",
    wait: "Estimated wait",
    minutes: "minutes approx.",
    shortly: "shortly",
    called: "It is your turn!",
    go_to: "Please go to",
    serving: "Being served at",
    done: "Served. Thank you!",
    no_show: "Your number was called but nobody came. Please ask at the front desk.",
    cancelled: "No longer valid: the office day has ended.",
    refreshed: "This page refreshes itself every 20 seconds. Last update:",
    unknown_title: "Ticket not found yet",
    unknown: "We cannot find this ticket yet. If it was issued while the office system was unreachable, it will appear here within a few minutes: this page refreshes itself.",
    malformed: "This address does not match a ticket. Please scan the QR code printed on your ticket again.",
    unavailable: "The service is not available right now. Please try again in a few minutes.",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::IT => &IT,
        Lang::EN => &EN,
    }
}

/// The look every phone page shares (tracking, sign-in, verification): large type, the
/// office's name in a header bar.
pub(crate) const PHONE_STYLE: &str = "html,body{margin:0;padding:0;background:#fff;color:#111;\
font-family:\"DejaVu Sans\",Arial,Helvetica,sans-serif;font-size:22px;line-height:1.4}\
header{background:#036;color:#fff;padding:12px 16px;font-size:20px}\
main{padding:16px;max-width:640px}";

const STYLE: &str = "\
.number{font-size:96px;font-weight:bold;margin:0;letter-spacing:2px}\
.service{font-size:26px;margin:0 0 16px}\
.state{font-size:34px;font-weight:bold;margin:16px 0}\
.called{background:#ffbf00;padding:12px}\
.counter{font-size:48px;font-weight:bold}\
dl{font-size:26px}dt{font-weight:bold}dd{margin:0 0 12px}\
.note{font-size:18px;color:#333}a{color:#036;font-size:22px}";

/// Renders a whole page around `body`.
fn render(
    lang: Lang,
    title: &str,
    office: &str,
    refresh: bool,
    other_lang_href: &str,
    body: &str,
) -> String {
    let refresh = if refresh {
        format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n")
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"robots\" content=\"noindex\">\n{refresh}<title>{title}</title>\n\
<style>{PHONE_STYLE}{STYLE}</style>\n</head>\n<body>\n<header>{office}</header>\n<main>\n{body}\
<p><a href=\"{href}\" lang=\"{other_code}\">{other}</a></p>\n</main>\n</body>\n</html>\n",
        code = lang.code(),
        title = escape(title),
        office = escape(office),
        href = escape(other_lang_href),
        other_code = lang.other().code(),
        other = lang.other().native_name(),
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

/// The body of a found ticket's page.
fn ticket_body(w: &Words, t: &TicketStatusResponse, service_name: &str, time: &str) -> String {
    let mut body = format!(
        "<p>{label}</p>\n<p class=\"number\">{number}</p>\n<p class=\"service\">{service}</p>\n",
        label = w.your_number,
        number = escape(&t.number),
        service = escape(service_name),
    );
    let counter = escape(t.counter.as_deref().unwrap_or("-"));
    match t.status {
        TicketStatus::Waiting => {
            body.push_str(&format!("<p class=\"state\">{}</p>\n<dl>\n", w.waiting));
            let ahead = t.position.saturating_sub(1);
            if ahead == 0 {
                body.push_str(&format!("<dt>{}</dt>\n", w.next));
            } else {
                body.push_str(&format!("<dt>{}</dt><dd>{ahead}</dd>\n", w.ahead));
            }
            let wait = if t.eta_minutes == 0 {
                w.shortly.to_string()
            } else {
                format!("{} {}", t.eta_minutes, w.minutes)
            };
            body.push_str(&format!("<dt>{}</dt><dd>{wait}</dd>\n</dl>\n", w.wait));
        }
        TicketStatus::Called => body.push_str(&format!(
            "<div class=\"called\">\n<p class=\"state\">{}</p>\n<p>{}</p>\n\
<p class=\"counter\">{counter}</p>\n</div>\n",
            w.called, w.go_to
        )),
        TicketStatus::Serving => body.push_str(&format!(
            "<p class=\"state\">{}</p>\n<p class=\"counter\">{counter}</p>\n",
            w.serving
        )),
        TicketStatus::Done => body.push_str(&format!("<p class=\"state\">{}</p>\n", w.done)),
        TicketStatus::NoShow => body.push_str(&format!("<p class=\"state\">{}</p>\n", w.no_show)),
        TicketStatus::Cancelled => {
            body.push_str(&format!("<p class=\"state\">{}</p>\n", w.cancelled))
        }
    }
    body.push_str(&format!("<p class=\"note\">{} {time}</p>\n", w.refreshed));
    body
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
    let w = words(lang);
    let office = state.config.office_name.clone();
    let parsed = reference
        .ok()
        .and_then(|Path(text)| Uuid::parse_str(text.trim()).ok());
    let Some(reference) = parsed else {
        let href = format!("?lang={}", lang.other().code());
        let body = format!("<h1>{}</h1>\n<p>{}</p>\n", w.unknown_title, w.malformed);
        let page = render(lang, w.unknown_title, &office, false, &href, &body);
        return phone_response(StatusCode::NOT_FOUND, page);
    };
    let href = format!("/t/{reference}?lang={}", lang.other().code());
    match status_by_ref(&state, reference).await {
        Ok(Some(ticket)) => {
            let service_name = state
                .catalogue
                .service(&ticket.service)
                .map_or(ticket.service.as_str(), |s| s.name(lang));
            let time = state
                .now()
                .with_timezone(&state.tz)
                .format("%H:%M")
                .to_string();
            let body = ticket_body(w, &ticket, service_name, &time);
            let title = format!("{} {}", ticket.number, w.title);
            phone_response(
                StatusCode::OK,
                render(lang, &title, &office, true, &href, &body),
            )
        }
        Ok(None) => {
            let body = format!("<h1>{}</h1>\n<p>{}</p>\n", w.unknown_title, w.unknown);
            let page = render(lang, w.unknown_title, &office, true, &href, &body);
            phone_response(StatusCode::NOT_FOUND, page)
        }
        Err(e) => {
            tracing::warn!(code = e.code, "tracking page: look-up failed");
            let body = format!("<p>{}</p>\n", w.unavailable);
            let page = render(lang, w.title, &office, true, &href, &body);
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
        assert_eq!(
            choose_lang(Some("lang=fr"), Some("en-GB,en;q=0.9")),
            Lang::EN
        );
        assert_eq!(
            choose_lang(None, Some("fr-FR, en;q=0.5, it;q=0.8")),
            Lang::IT
        );
        assert_eq!(choose_lang(None, Some("de, fr")), Lang::IT);
        assert_eq!(choose_lang(None, Some("en;q=0")), Lang::IT);
        assert_eq!(choose_lang(None, Some(";;,,=q")), Lang::IT);
        assert_eq!(choose_lang(None, None), Lang::IT);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
