//! A codice fiscale that passes through identification, scanning, the outbox and config
//! errors never reaches a log line in clear, even when code logs it carelessly.

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde_json::json;
use sportello::config;
use sportello::config::kiosk::KioskConfig;
use sportello::identity::{CodiceFiscale, parse_health_card_scan};
use sportello::logging::Redacting;
use sportello::store::{NewOp, OpKind, Store};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const SECRET: &str = "MRSMSR81D60Z611H";

#[test]
fn codice_fiscale_never_reaches_a_log_line_in_clear() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(Redacting(capture.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let cf: CodiceFiscale = SECRET.parse().unwrap();
        tracing::info!(cf = ?cf, "identified by typing");
        tracing::info!(cf = %cf.masked(), "identified, masked on purpose");

        let scanned = parse_health_card_scan(&format!("*{SECRET}*\r\n")).unwrap();
        tracing::info!(?scanned, "health card scanned");

        // Careless code: the code in clear in a message and in a field.
        tracing::warn!("lookup failed for {}", cf);
        tracing::warn!(raw = %format!("*{SECRET}*"), "raw scan");
        let typo = format!("{}X", &SECRET[..15]);
        if let Err(e) = typo.parse::<CodiceFiscale>() {
            tracing::warn!(input = %typo, error = %e, "typed code rejected");
        }

        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("k.sqlite")).unwrap();
        let op = NewOp::new(OpKind::IssueTicket, json!({ "service": "naspi" }))
            .with_personal(json!({ "codice_fiscale": cf }));
        store.enqueue(&op, Utc::now()).unwrap();
        let pending = store.first_pending().unwrap().unwrap();
        tracing::debug!(?pending, "outbox head");

        let bad = format!("kiosk_id = \"{SECRET}!\"\n");
        let err = config::parse::<KioskConfig>(&bad, "kiosk.toml").unwrap_err();
        tracing::error!(%err, "config rejected");
    });
    let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.lines().count() >= 8,
        "every event was logged:\n{logged}"
    );
    assert!(
        logged.contains("MRS************H"),
        "the masked form is there:\n{logged}"
    );
    assert!(
        !logged.contains(SECRET),
        "the code leaked in clear:\n{logged}"
    );
    let typo_masked = "MRS************X";
    assert!(
        logged.contains(typo_masked),
        "a mistyped code is masked too:\n{logged}"
    );
}
