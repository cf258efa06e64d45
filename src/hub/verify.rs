//! `GET /verify?seal=...`: the public page a phone opens from a certificate's QR code, and
//! `GET /verify/api?seal=...`, the same answer in JSON (used by `sportello verify` online).
//!
//! The verdict: **genuine** (the signature is the hub's and the hub issued a certificate
//! with that id and digest: the original content is shown while it is kept), **not
//! genuine** (a signature that does not verify, or a digest that differs from the issued
//! one), or **unknown** (not a seal, or a valid signature for an id this hub has no
//! record of). Holding the paper (or its QR) is what gives access to the content, as it
//! is printed on it anyway. No login, no JavaScript, Italian or English.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::OptionalExtension;

use super::login::phone_page;
use super::state::AppState;
use super::tracking::{choose_lang, escape};
use crate::lang::Lang;
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
            Ok(conn
                .query_row(
                    "SELECT digest, issued_at, content FROM certificates WHERE id = ?1",
                    [&lookup],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    },
                )
                .optional()?)
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

struct Words {
    title: &'static str,
    genuine: &'static str,
    not_genuine: &'static str,
    unknown: &'static str,
    malformed: &'static str,
    erased: &'static str,
    issued: &'static str,
    id: &'static str,
    original: &'static str,
}

const IT: Words = Words {
    title: "Verifica del certificato",
    genuine: "Certificato autentico: è stato rilasciato da questo ufficio e non è stato alterato. Confronti il testo stampato con quello originale qui sotto.",
    not_genuine: "Certificato NON autentico: il sigillo non corrisponde a un certificato rilasciato da questo ufficio, oppure il certificato è stato alterato.",
    unknown: "Impossibile verificare: questo sigillo non corrisponde a nessun certificato noto a questo ufficio.",
    malformed: "Questo non è un sigillo di certificato. Inquadri di nuovo il codice QR stampato sul certificato.",
    erased: "Il sigillo è autentico, ma il testo originale non è più conservato (i certificati si conservano per il periodo di validità).",
    issued: "Rilasciato il",
    id: "Certificato n.",
    original: "Testo originale",
};

const EN: Words = Words {
    title: "Certificate check",
    genuine: "Genuine certificate: it was issued by this office and has not been altered. Compare the printed text with the original below.",
    not_genuine: "NOT a genuine certificate: the seal does not match a certificate issued by this office, or the certificate has been altered.",
    unknown: "Cannot be checked: this seal does not match any certificate known to this office.",
    malformed: "This is not a certificate seal. Please scan the QR code printed on the certificate again.",
    erased: "The seal is genuine, but the original text is no longer kept (certificates are kept while they are valid).",
    issued: "Issued on",
    id: "Certificate no.",
    original: "Original text",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::IT => &IT,
        Lang::EN => &EN,
    }
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
    let w = words(lang);
    let text = seal_param(query.as_deref());
    let result = check(&state, &text).await;
    let mut body = String::new();
    let status = match (result.verdict, result.reason.as_str()) {
        (Verdict::Genuine, reason) => {
            body.push_str(&format!("<p><strong>{}</strong></p>\n", escape(w.genuine)));
            if let Some(id) = &result.certificate_id {
                body.push_str(&format!("<p>{} {}</p>\n", w.id, escape(id)));
            }
            if let Some(at) = result
                .issued_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            {
                let local = at.with_timezone(&state.tz).format("%d/%m/%Y %H:%M");
                body.push_str(&format!("<p>{} {local}</p>\n", w.issued));
            }
            match (&result.content, reason) {
                (Some(c), _) => {
                    body.push_str(&format!(
                        "<h2>{}</h2>\n<section lang=\"{}\" class=\"original\">\n",
                        w.original,
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
                (None, _) => body.push_str(&format!("<p>{}</p>\n", escape(w.erased))),
            }
            StatusCode::OK
        }
        (Verdict::NotGenuine, _) => {
            body.push_str(&format!(
                "<p><strong>{}</strong></p>\n",
                escape(w.not_genuine)
            ));
            StatusCode::CONFLICT
        }
        (Verdict::Unknown, "malformed") => {
            body.push_str(&format!("<p>{}</p>\n", escape(w.malformed)));
            StatusCode::NOT_FOUND
        }
        (Verdict::Unknown, _) => {
            body.push_str(&format!("<p>{}</p>\n", escape(w.unknown)));
            StatusCode::NOT_FOUND
        }
    };
    let other = lang.other();
    let href = format!(
        "/verify?lang={}&seal={}",
        other.code(),
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
    );
    phone_page(
        status,
        lang,
        &state.config.office_name,
        w.title,
        &body,
        Some(&href),
    )
}
