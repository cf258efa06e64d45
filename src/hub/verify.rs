//! `GET /verify?seal=...`: the public page a phone opens from a certificate's QR code, and
//! `GET /verify/api?seal=...`, the same answer in JSON (used by `sportello verify` online).
//!
//! The verdict: **genuine** (the signature is the hub's and the hub issued a certificate
//! with that id and digest: the original content is shown while it is kept; once it is
//! erased the page says only that the seal is valid and the certificate expired, since
//! the text on the paper can no longer be compared, security finding 17), **not
//! genuine** (a signature that does not verify, or a digest that differs from the issued
//! one), or **unknown** (not a seal, or a valid signature for an id this hub has no
//! record of). Holding the paper (or its QR) is what gives access to the content, as it
//! is printed on it anyway. No login, no JavaScript, in any shipped language (the
//! original content stays in the certificate's own language).
//!
//! Written for both engines (`hub::sql`).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::login::phone_page;
use super::sql::{Sql, args};
use super::state::AppState;
use super::tracking::{choose_lang, dir, escape, ltr};
use crate::lang::{Lang, fill, tr};
use crate::protocol::{Verdict, VerifyResponse};
use crate::seal::{CertificateContent, Seal};

/// Checks `text` (a seal or a verification URL) against the hub's key and records.
pub async fn check(state: &AppState, text: &str) -> VerifyResponse {
    let answer = |verdict, reason: &str, id: Option<String>| VerifyResponse {
        verdict,
        reason: reason.to_string(),
        certificate_id: id,
        issued_at: None,
        content: None,
    };
    let Ok(seal) = Seal::parse(text) else {
        return answer(Verdict::Unknown, "malformed", None);
    };
    let id = seal.certificate_id.clone();
    if seal
        .verify(std::slice::from_ref(state.seal_key.public()))
        .is_none()
    {
        return answer(Verdict::NotGenuine, "bad_signature", Some(id));
    }
    let lookup = id.clone();
    let row = state
        .db
        .read(move |conn| {
            let row = Sql::from(conn).query_opt(
                "SELECT digest, issued_at, content FROM certificates WHERE id = ?1",
                args![&lookup],
            )?;
            match row {
                Some(r) => Ok(Some((
                    r.get::<String>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<String>>(2)?,
                ))),
                None => Ok(None),
            }
        })
        .await;
    let (digest, issued_at, content) = match row {
        Ok(Some(row)) => row,
        Ok(None) => return answer(Verdict::Unknown, "unknown_certificate", Some(id)),
        Err(e) => {
            tracing::warn!(code = e.code, "verify: look-up failed");
            return answer(Verdict::Unknown, "unavailable", Some(id));
        }
    };
    if digest != seal.digest_text() {
        return answer(Verdict::NotGenuine, "digest_mismatch", Some(id));
    }
    let content = content.and_then(|c| CertificateContent::from_json(&c).ok());
    let reason = match &content {
        Some(c) if !seal.matches(c) => {
            return answer(Verdict::NotGenuine, "digest_mismatch", Some(id));
        }
        Some(_) => "ok",
        None => "content_erased",
    };
    VerifyResponse {
        verdict: Verdict::Genuine,
        reason: reason.to_string(),
        certificate_id: Some(id),
        issued_at: Some(issued_at),
        content,
    }
}

fn seal_param(query: Option<&str>) -> String {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "seal")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `GET /verify/api?seal=...`: always 200 with a verdict (a malformed seal is `unknown`).
pub async fn verify_api(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Json<VerifyResponse> {
    let text = seal_param(query.as_deref());
    Json(check(&state, &text).await)
}

/// `GET /verify?seal=...`: the verdict as a page; 200 when genuine, 404 when unknown or
/// malformed, 409 when not genuine.
pub async fn verify_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let lang = choose_lang(query.as_deref(), accept);
    let text = seal_param(query.as_deref());
    let result = check(&state, &text).await;
    // Certificates show their issuing office's time; the check page, the configured one's.
    let body = verdict_body(lang, &result, &state.configured_office().tz);
    let status = match result.verdict {
        Verdict::Genuine => StatusCode::OK,
        Verdict::NotGenuine => StatusCode::CONFLICT,
        Verdict::Unknown => StatusCode::NOT_FOUND,
    };
    let seal = url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let href = |l: Lang| format!("/verify?lang={}&seal={seal}", l.code());
    phone_page(
        status,
        lang,
        &state.config.office_name,
        tr(lang, "Certificate check"),
        &body,
        Some(&href),
    )
}

/// The page's body for `result`, in `lang`: the verdict and, for a genuine seal, the
/// certificate's id, date and original content (in the certificate's own language).
fn verdict_body(lang: Lang, result: &VerifyResponse, tz: &chrono_tz::Tz) -> String {
    let mut body = String::new();
    match (result.verdict, result.reason.as_str()) {
        (Verdict::Genuine, _) => {
            // The seal binds the id and digest, not the paper: "genuine" only beside the
            // original text to compare with.
            let headline = if result.content.is_some() {
                tr(
                    lang,
                    "Genuine certificate: it was issued by this office and has not been altered. Compare the printed text with the original below.",
                )
            } else {
                tr(
                    lang,
                    "The seal is valid, but the certificate has expired and its text can no longer be checked.",
                )
            };
            body.push_str(&format!("<p><strong>{}</strong></p>\n", escape(headline)));
            if let Some(id) = &result.certificate_id {
                body.push_str(&format!(
                    "<p>{}</p>\n",
                    fill(&escape(tr(lang, "Certificate no. {}")), &[&ltr(id)])
                ));
            }
            if let Some(at) = result
                .issued_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            {
                let local = at.with_timezone(tz).format("%d/%m/%Y %H:%M").to_string();
                body.push_str(&format!(
                    "<p>{}</p>\n",
                    fill(&escape(tr(lang, "Issued on {}")), &[&ltr(&local)])
                ));
            }
            if let Some(c) = &result.content {
                let direction = Lang::from_tag(&c.lang).map_or("auto", dir);
                body.push_str(&format!(
                    "<h2>{}</h2>\n<section lang=\"{}\" dir=\"{direction}\" class=\"original\">\n",
                    escape(tr(lang, "Original text")),
                    escape(&c.lang)
                ));
                for line in &c.issuer_lines {
                    body.push_str(&format!("<p>{}</p>\n", escape(line)));
                }
                body.push_str(&format!("<h3>{}</h3>\n", escape(&c.title)));
                for p in c.body.iter().chain(&c.footer_lines) {
                    body.push_str(&format!("<p>{}</p>\n", escape(p)));
                }
                body.push_str("</section>\n");
            }
        }
        (Verdict::NotGenuine, _) => body.push_str(&format!(
            "<p><strong>{}</strong></p>\n",
            escape(tr(
                lang,
                "NOT a genuine certificate: the seal does not match a certificate issued by this office, or the certificate has been altered."
            ))
        )),
        (Verdict::Unknown, "malformed") => body.push_str(&format!(
            "<p>{}</p>\n",
            escape(tr(
                lang,
                "This is not a certificate seal. Please scan the QR code printed on the certificate again."
            ))
        )),
        (Verdict::Unknown, _) => body.push_str(&format!(
            "<p>{}</p>\n",
            escape(tr(
                lang,
                "Cannot be checked: this seal does not match any certificate known to this office."
            ))
        )),
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genuine(lang: &str) -> VerifyResponse {
        VerifyResponse {
            verdict: Verdict::Genuine,
            reason: "ok".into(),
            certificate_id: Some("C-1234".into()),
            issued_at: Some("2026-12-01T09:30:00Z".into()),
            content: Some(CertificateContent {
                seal_version: "1".into(),
                certificate_id: "C-1234".into(),
                kind: "did".into(),
                lang: lang.into(),
                issued_at: "2026-12-01T09:30:00Z".into(),
                title: "T".into(),
                issuer_lines: vec!["I".into()],
                body: vec!["B <b>".into()],
                footer_lines: vec!["F".into()],
            }),
        }
    }

    #[test]
    fn the_verdict_in_english_keeps_codes_left_to_right() {
        let body = verdict_body(Lang::EN, &genuine("en"), &chrono_tz::Europe::Rome);
        assert!(
            body.starts_with("<p><strong>Genuine certificate: "),
            "{body}"
        );
        assert!(
            body.contains("<p>Certificate no. <bdi>C-1234</bdi></p>"),
            "{body}"
        );
        assert!(
            body.contains("<p>Issued on <bdi>01/12/2026 10:30</bdi></p>"),
            "{body}"
        );
        assert!(
            body.contains(
                "<h2>Original text</h2>\n<section lang=\"en\" dir=\"ltr\" class=\"original\">"
            ),
            "{body}"
        );
        assert!(body.contains("<p>B &lt;b&gt;</p>"), "{body}");
        // The original stays in its own language, whatever the page's.
        let body = verdict_body(Lang::IT, &genuine("xx"), &chrono_tz::Europe::Rome);
        assert!(body.contains("<section lang=\"xx\" dir=\"auto\""), "{body}");
        // Erased: no "genuine", and nothing to compare with.
        let mut erased = genuine("it");
        erased.reason = "content_erased".into();
        erased.content = None;
        let body = verdict_body(Lang::IT, &erased, &chrono_tz::Europe::Rome);
        assert!(
            body.starts_with("<p><strong>Il sigillo è valido, ma il certificato è scaduto e il suo testo non può più essere verificato.</strong></p>"),
            "{body}"
        );
        assert!(
            !body.contains("autentic") && !body.contains("original"),
            "{body}"
        );
        let unknown = VerifyResponse {
            verdict: Verdict::Unknown,
            reason: "malformed".into(),
            certificate_id: None,
            issued_at: None,
            content: None,
        };
        let body = verdict_body(Lang::EN, &unknown, &chrono_tz::Europe::Rome);
        assert_eq!(
            body,
            "<p>This is not a certificate seal. Please scan the QR code printed on the certificate again.</p>\n"
        );
    }
}
