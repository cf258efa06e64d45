//! "My documents": a citizen signs in on their phone (SPID/CIE through the hub's OpenID
//! Connect login), sees their applications and prints certificates.
//!
//! The kiosk never sees a password or PIN, shows only the person's initials, keeps no copy
//! of a certificate (it lives in memory only until the printer has it) and ends the
//! authenticated session after printing, on "finish" and on idle.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::core::{KioskCore, PrintResult};
use crate::lang::Lang;
use crate::printer::TextFont;
use crate::printer::job::PrintOutcome;
use crate::printer::layout;
use crate::printer::status::PrinterState;
use crate::protocol::{
    ApplicationStatus, CertificateOffer, CreateLoginSessionRequest, IssueCertificateRequest,
    IssuedCertificate, LoginSessionStatus,
};
use crate::sync::client::ClientError;

/// A login the citizen can complete on their phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginStarted {
    /// The hub's session id (this kiosk only).
    pub session_id: Uuid,
    /// The one-time link, shown as a QR code.
    pub url: String,
    /// Until when the link works.
    pub expires_at: DateTime<Utc>,
    /// The code shown beside the QR code, which the citizen types on the phone (empty
    /// from a hub that sends none).
    pub code: String,
}

/// Why "my documents" cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentsError {
    /// The hub is unreachable, or this office offers no citizen login.
    Unavailable,
    /// Too many logins from this kiosk just now.
    TooMany,
    /// The session is over (ended, expired, failed): start again.
    Ended,
    /// The printer cannot print now: nothing was issued.
    PrinterUnavailable,
    /// The certificate is not available for this person.
    NotAvailable,
}

fn documents_error(err: &ClientError) -> DocumentsError {
    use crate::protocol::errors::*;
    if err.is_refusal(&[TOO_MANY_LOGINS, TOO_MANY_FAILED_LOGINS]) {
        DocumentsError::TooMany
    } else if err.is_refusal(&[
        SESSION_ENDED,
        SESSION_EXPIRED,
        LOGIN_FAILED,
        UNKNOWN_SESSION,
    ]) {
        DocumentsError::Ended
    } else if err.is_refusal(&[CERTIFICATE_UNAVAILABLE, UNKNOWN_CERTIFICATE]) {
        DocumentsError::NotAvailable
    } else {
        DocumentsError::Unavailable
    }
}

/// The certificate as the printer lays it out: the hub's text, and its seal as the QR.
pub fn printable(certificate: &IssuedCertificate) -> layout::DocumentData {
    layout::DocumentData {
        title: certificate.title.clone(),
        header_lines: certificate.issuer_lines.clone(),
        paragraphs: certificate.body.clone(),
        footer_lines: certificate.footer_lines.clone(),
        qr_payload: Some(certificate.seal.clone()),
    }
}

/// Bound on any call of this flow: a citizen is standing at the kiosk.
const CALL_TIMEOUT: Duration = Duration::from_secs(8);

async fn bounded<T>(call: impl Future<Output = Result<T, ClientError>>) -> Result<T, ClientError> {
    crate::sync::client::bounded(CALL_TIMEOUT, call).await
}

impl KioskCore {
    /// Starts a login: the link to show as a QR code.
    pub async fn start_login(&self, lang: Lang) -> Result<LoginStarted, DocumentsError> {
        let hub = self.hub();
        let request = CreateLoginSessionRequest { lang: Some(lang) };
        let result = bounded(hub.create_login_session(&request)).await;
        self.observe(&result);
        match result {
            Ok(created) => Ok(LoginStarted {
                session_id: created.session_id,
                url: created.login_url,
                expires_at: created.expires_at,
                code: created.binding_code.unwrap_or_default(),
            }),
            Err(err) => {
                tracing::warn!(%err, "cannot start a citizen login");
                Err(documents_error(&err))
            }
        }
    }

    /// Where the login is (the kiosk polls this).
    pub async fn login_status(
        &self,
        session_id: Uuid,
    ) -> Result<LoginSessionStatus, DocumentsError> {
        let result = bounded(self.hub().login_session(session_id)).await;
        self.observe(&result);
        result.map_err(|e| documents_error(&e))
    }

    /// The signed-in person's applications and the certificates they can print.
    pub async fn my_documents(
        &self,
        session_id: Uuid,
        lang: Lang,
    ) -> Result<(Vec<ApplicationStatus>, Vec<CertificateOffer>), DocumentsError> {
        let hub = self.hub();
        let applications = bounded(hub.applications(session_id, lang)).await;
        self.observe(&applications);
        let certificates = bounded(hub.certificates(session_id, lang)).await;
        self.observe(&certificates);
        match (applications, certificates) {
            (Ok(a), Ok(c)) => Ok((a, c)),
            (Err(err), _) | (_, Err(err)) => Err(documents_error(&err)),
        }
    }

    /// Issues the certificate, prints it, forgets it, and ends the session. The printer
    /// is asked first, so no certificate is issued that cannot come out.
    pub async fn print_certificate(
        &self,
        session_id: Uuid,
        kind: String,
        lang: Lang,
    ) -> Result<PrintResult, DocumentsError> {
        let printer = self.printer().clone();
        let ready = tokio::task::spawn_blocking(move || printer.poll())
            .await
            .unwrap_or(PrinterState::NotResponding);
        if !ready.can_print() {
            tracing::warn!(state = %ready, "certificate not issued: the printer cannot print");
            return Err(DocumentsError::PrinterUnavailable);
        }
        // Arabic and Chinese print as raster text; without their font the certificate is
        // asked for in Italian, which every printer carries.
        let font = if layout::needs_font(self.printer().profile(), lang) {
            let loaded = tokio::task::spawn_blocking(move || TextFont::shared(lang)).await;
            match loaded {
                Ok(Ok(font)) => Some(font),
                Ok(Err(err)) => {
                    tracing::warn!(lang = lang.code(), %err, "raster font missing: certificate in Italian");
                    None
                }
                Err(_) => None,
            }
        } else {
            None
        };
        let lang = if layout::needs_font(self.printer().profile(), lang) && font.is_none() {
            Lang::IT
        } else {
            lang
        };
        let hub = self.hub();
        let request = IssueCertificateRequest { kind, lang };
        let issued = bounded(hub.issue_certificate(session_id, &request)).await;
        self.observe(&issued);
        let certificate = issued.map_err(|e| documents_error(&e))?;
        let certificate_id = certificate.certificate_id.clone();
        // The only copy: built, sent to the printer, dropped with the task.
        let bytes = layout::document_in(
            &printable(&certificate),
            self.printer().profile(),
            lang,
            font.as_deref(),
        );
        drop(certificate);
        let printer = self.printer().clone();
        let outcome = tokio::task::spawn_blocking(move || printer.print(&bytes)).await;
        self.end_login(session_id).await;
        let result = match outcome {
            Ok(PrintOutcome::Printed { .. }) => PrintResult::Printed,
            Ok(PrintOutcome::Failed(f)) if f.state == Some(PrinterState::PaperOut) => {
                PrintResult::PaperOut
            }
            _ => PrintResult::Fault,
        };
        tracing::info!(%certificate_id, ?result, "certificate printed");
        Ok(result)
    }

    /// Ends the session at the hub (finish, idle, after printing); errors are only logged.
    pub async fn end_login(&self, session_id: Uuid) {
        let result = bounded(self.hub().end_login_session(session_id)).await;
        self.observe(&result);
        if let Err(err) = result {
            tracing::warn!(%err, "could not end a citizen session; it expires by itself");
        }
    }
}
