//! Issuing certificates: the text from imported records and the signed-in identity, the
//! seal (see [`crate::seal`]), the stored copy for `/verify` and the audit row.
//!
//! Every certificate says who it is for (full name and codice fiscale from the identity
//! provider), what is certified, when and where it was issued, its id, and the sentence
//! L. 183/2011 art. 15 requires on certificates for private parties (DPR 445/2000 art. 40
//! c. 02): «Il presente certificato non può essere prodotto agli organi della pubblica
//! amministrazione o ai privati gestori di pubblici servizi» — always in Italian, after
//! its translation on a certificate in any other language.
//!
//! The hub keeps each certificate's canonical content for
//! `auth.certificate_retention_days` (certificates for private parties are valid six
//! months), then erases it; the id, kind, date and digest stay, so `/verify` can still
//! tell a genuine seal from a forged one.
//!
//! Written for both engines (`hub::sql`).

use chrono::{DateTime, SubsecRound, Utc};

use super::audit::{self, AuditEvent, Entry};
use super::error::ApiError;
use super::login::Session;
use super::offices::Office;
use super::records::{self, CertificateKind, fund_name};
use super::sql::{Sql, SqlError, args};
use super::state::AppState;
use crate::catalogue::Agency;
use crate::lang::{Lang, fill, isolate, tr};
use crate::protocol::errors as code;
use crate::protocol::{IssueCertificateRequest, IssuedCertificate};
use crate::seal::{self, CertificateContent};

/// The statutory sentence (L. 183/2011 art. 15), printed on every certificate.
pub const STATUTORY_IT: &str = "Il presente certificato non può essere prodotto agli organi della pubblica amministrazione o ai privati gestori di pubblici servizi.";

/// Its English translation, printed before the Italian text on English certificates
/// (see [`statutory`]).
pub const STATUTORY_EN: &str = "This certificate cannot be presented to public administrations or to private operators of public services.";

/// The statutory sentence in `lang` ([`STATUTORY_EN`] is its msgid), printed before
/// the Italian text on a certificate in another language than Italian.
fn statutory(lang: Lang) -> &'static str {
    tr(
        lang,
        "This certificate cannot be presented to public administrations or to private operators of public services.",
    )
}

/// The printed lines of a certificate, before sealing.
struct Text {
    title: String,
    issuer_lines: Vec<String>,
    body: Vec<String>,
    footer_lines: Vec<String>,
}

fn issuer_lines(agency: Agency, lang: Lang, office: &str) -> Vec<String> {
    let agency = match agency {
        Agency::Inps => tr(lang, "INPS - Italian National Social Security Institute"),
        _ => tr(lang, "Centro per l'impiego (public job centre)"),
    };
    vec![agency.to_string(), office.to_string()]
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Who: "Giulia Verdi, codice fiscale VRD…" (or only the code when no name was sent).
fn who(session_name: Option<String>, code: &str, lang: Lang) -> String {
    match session_name {
        Some(name) => fill(
            tr(lang, "{}, codice fiscale (tax code) {},"),
            &[&isolate(lang, &name), &isolate(lang, code)],
        ),
        None => fill(
            tr(lang, "the person with codice fiscale (tax code) {}"),
            &[&isolate(lang, code)],
        ),
    }
}

/// Builds the text of `kind` for the signed-in person; `None` when the records do not
/// support it.
#[allow(clippy::too_many_arguments)]
fn render(
    sql: Sql<'_>,
    kind: &CertificateKind,
    lang: Lang,
    session: &Session,
    certificate_id: &str,
    issued_local: DateTime<chrono_tz::Tz>,
    office: &str,
) -> Result<Option<Text>, ApiError> {
    let subject = session.subject.clone().unwrap_or_default();
    let Some(identity) = session.identity() else {
        return Ok(None);
    };
    let code = identity.codice_fiscale.as_str().to_string();
    let person = who(identity.full_name(), &code, lang);
    // Names, codes and dates keep their own order inside a right-to-left sentence (the
    // text is unchanged in a left-to-right language).
    let date = |d: chrono::NaiveDate| isolate(lang, &date(d));
    let mut body = Vec::new();
    match kind.code {
        "stato-occupazionale" => {
            let Some(e) = records::employment(sql, &subject)? else {
                return Ok(None);
            };
            body.push(fill(
                tr(lang, "This is to certify that {} on {} was {}."),
                &[&person, &date(e.as_of), e.status.text(lang)],
            ));
            if let Some(did) = e.did_date {
                body.push(fill(
                    tr(
                        lang,
                        "Declaration of immediate availability for work (DID) made on {}.",
                    ),
                    &[&date(did)],
                ));
            }
        }
        "did" => {
            let Some(e) = records::employment(sql, &subject)? else {
                return Ok(None);
            };
            let Some(did) = e.did_date else {
                return Ok(None);
            };
            body.push(fill(
                tr(
                    lang,
                    "This is to certify that {} made the declaration of immediate availability for work (DID, art. 19 of Legislative Decree 150/2015) on {}.",
                ),
                &[&person, &date(did)],
            ));
            body.push(fill(
                tr(lang, "Employment status on {}: {}."),
                &[&date(e.as_of), e.status.text(lang)],
            ));
        }
        "estratto-contributivo" => {
            let rows = records::contributions(sql, &subject)?;
            let Some(as_of) = rows.iter().map(|r| r.as_of).max() else {
                return Ok(None);
            };
            let person = person.trim_end_matches(',');
            body.push(fill(tr(lang, "Insured person: {}."), &[person]));
            body.push(fill(
                tr(lang, "Contributions recorded by INPS as of {}:"),
                &[&date(as_of)],
            ));
            for r in &rows {
                body.push(fill(
                    tr(lang, "{}: {} to {}, {} weeks."),
                    &[
                        &isolate(lang, &fund_name(&r.fund, lang)),
                        &date(r.from),
                        &date(r.to),
                        &r.weeks.to_string(),
                    ],
                ));
            }
            let total: u64 = rows.iter().map(|r| u64::from(r.weeks)).sum();
            body.push(fill(tr(lang, "Total: {} weeks."), &[&total.to_string()]));
        }
        _ => return Ok(None),
    }
    let day = isolate(lang, &issued_local.format("%d/%m/%Y").to_string());
    let time = isolate(lang, &issued_local.format("%H:%M").to_string());
    body.push(fill(
        tr(
            lang,
            "Certificate no. {} issued on {} at {} at {}, at the request of the person concerned, identified by digital identity.",
        ),
        &[
            &isolate(lang, certificate_id),
            &day,
            &time,
            &isolate(lang, office),
        ],
    ));
    // Always in Italian; on a certificate in another language, its translation first.
    if lang != Lang::IT {
        body.push(statutory(lang).to_string());
        body.push(format!("«{STATUTORY_IT}»"));
    } else {
        body.push(STATUTORY_IT.to_string());
    }
    let footer_lines = vec![
        fill(tr(lang, "Issued on {} at {}"), &[&day, &time]),
        tr(lang, "To check that it is genuine, scan the QR code.").to_string(),
    ];
    Ok(Some(Text {
        title: kind.title(lang).to_string(),
        issuer_lines: issuer_lines(kind.agency, lang, office),
        body,
        footer_lines,
    }))
}

/// Issues a certificate of `request.kind` to the session's person (inside the caller's
/// transaction): renders, seals, stores, audits.
pub fn issue<'c>(
    sql: impl Into<Sql<'c>>,
    st: &AppState,
    office: &Office,
    session: &Session,
    request: &IssueCertificateRequest,
    now: DateTime<Utc>,
) -> Result<IssuedCertificate, ApiError> {
    let kind = CertificateKind::find(&request.kind).ok_or_else(|| {
        ApiError::unprocessable(
            code::UNKNOWN_CERTIFICATE,
            format!(
                "`{}` is not a certificate kind (stato-occupazionale, did, estratto-contributivo)",
                request.kind.chars().take(40).collect::<String>()
            ),
        )
    })?;
    let sql = sql.into();
    let issued_at = now.trunc_subsecs(0);
    let mut certificate_id = seal::new_certificate_id();
    for _ in 0..5 {
        let taken: bool = sql
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM certificates WHERE id = ?1)",
                args![&certificate_id],
            )?
            .get(0)?;
        if !taken {
            break;
        }
        certificate_id = seal::new_certificate_id();
    }
    let text = render(
        sql,
        kind,
        request.lang,
        session,
        &certificate_id,
        issued_at.with_timezone(&office.tz),
        &office.name,
    )?
    .ok_or_else(|| {
        ApiError::unprocessable(
            code::CERTIFICATE_UNAVAILABLE,
            "the records hold no data for this certificate for this person",
        )
    })?;
    let content = CertificateContent {
        seal_version: seal::VERSION.to_string(),
        certificate_id: certificate_id.clone(),
        kind: kind.code.to_string(),
        lang: request.lang.code().to_string(),
        issued_at: issued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        title: text.title,
        issuer_lines: text.issuer_lines,
        body: text.body,
        footer_lines: text.footer_lines,
    };
    let seal = st.seal_key.seal(&content);
    let subject = session.subject.clone().unwrap_or_default();
    sql.execute(
        "INSERT INTO certificates (id, kind, kiosk_id, session_id, cf_hash, issued_at, key_id,
             digest, content)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        args![
            &certificate_id,
            kind.code,
            &session.kiosk_id,
            &session.id,
            &subject,
            &content.issued_at,
            &st.seal_key.public().kid,
            seal.digest_text(),
            content.canonical()
        ],
    )?;
    audit::record(
        sql,
        now,
        AuditEvent::CertificateIssued,
        &Entry {
            kiosk_id: Some(&session.kiosk_id),
            session_id: Some(&session.id),
            subject: Some(&subject),
            certificate_id: Some(&certificate_id),
            detail: Some(kind.code),
            operator: None,
            office: Some(office.id),
        },
    )?;
    Ok(IssuedCertificate {
        certificate_id,
        issued_at,
        title: content.title,
        issuer_lines: content.issuer_lines,
        body: content.body,
        footer_lines: content.footer_lines,
        seal: format!("{}/verify?seal={}", st.public_base, seal.text()),
    })
}

/// Erases the content of certificates issued before `cutoff` (the id, kind, date and
/// digest stay); returns how many.
pub fn erase_old_content<'c>(
    sql: impl Into<Sql<'c>>,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, SqlError> {
    let erased = sql.into().execute(
        "UPDATE certificates SET content = NULL, content_erased_at = ?2
         WHERE content IS NOT NULL AND issued_at < ?1",
        args![
            cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ],
    )?;
    Ok(erased as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_texts_are_the_msgids_and_the_statutory_sentence_stays_italian() {
        assert_eq!(statutory(Lang::EN), STATUTORY_EN);
        assert_eq!(
            who(Some("Giulia Verdi".into()), "VRDGLI90C55H501X", Lang::EN),
            "Giulia Verdi, codice fiscale (tax code) VRDGLI90C55H501X,"
        );
        assert_eq!(
            who(None, "VRDGLI90C55H501X", Lang::EN),
            "the person with codice fiscale (tax code) VRDGLI90C55H501X"
        );
        assert_eq!(
            issuer_lines(Agency::Cpi, Lang::EN, "Ufficio"),
            ["Centro per l'impiego (public job centre)", "Ufficio"]
        );
        assert_eq!(
            issuer_lines(Agency::Inps, Lang::EN, "Ufficio")[0],
            "INPS - Italian National Social Security Institute"
        );
        assert!(STATUTORY_IT.starts_with("Il presente certificato non può essere prodotto"));
        // In a right-to-left language the code keeps its own order.
        if let Some(rtl) = Lang::all().find(|l| l.is_rtl()) {
            let person = who(None, "VRDGLI90C55H501X", rtl);
            assert!(
                person.contains("\u{2068}VRDGLI90C55H501X\u{2069}"),
                "{person}"
            );
        }
    }
}
