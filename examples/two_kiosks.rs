//! Two scripted kiosks for a hub demo: each enrolls with a one-time token, leases bands,
//! sends heartbeats and issues a morning's tickets (walk-ins, priority, an appointment).
//!
//! `cargo run --example two_kiosks -- URL TOKEN_A TOKEN_B [SECONDS_BETWEEN_TICKETS]`
//! (`scripts/hub-demo` runs it against a loopback hub).

use std::time::Duration;

use sportello::protocol::{
    BandsRequest, EnrollRequest, HeartbeatRequest, IssueTicketRequest, PrinterState,
};
use sportello::sync::{HubClient, HubClientConfig};

const SCRIPT: [(&str, bool, Option<&str>); 12] = [
    ("naspi", false, None),
    ("isee", false, None),
    ("naspi", true, None),
    ("did-patto", false, None),
    ("appuntamento", false, Some("DEMO1")),
    ("naspi", false, None),
    ("estratto-conto", false, None),
    ("isee", false, None),
    ("offerte-lavoro", false, None),
    ("naspi", false, None),
    ("did-patto", true, None),
    ("isee", false, None),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, token_a, token_b, rest @ ..] = args.as_slice() else {
        return Err("usage: two_kiosks URL TOKEN_A TOKEN_B [SECONDS]".into());
    };
    let pause: f64 = rest.first().map_or(Ok(3.0), |s| s.parse())?;
    let mut kiosks = Vec::new();
    for (name, token) in [("ingresso-1", token_a), ("ingresso-2", token_b)] {
        let mut client = HubClient::new(HubClientConfig::new(url.clone()))?;
        let enrolled = client
            .enroll(&EnrollRequest {
                enrollment_token: token.clone(),
                name: Some(name.to_string()),
                previous: None,
            })
            .await?;
        client.set_token(enrolled.token);
        let bands = client.lease_bands(&BandsRequest::default()).await?;
        println!(
            "{name}: enrolled, {} offline bands leased",
            bands.bands.len()
        );
        kiosks.push((name, client));
    }
    for (i, (service, priority, appointment)) in SCRIPT.iter().enumerate() {
        let (name, kiosk) = &kiosks[i % 2];
        let request = IssueTicketRequest {
            op_id: uuid::Uuid::new_v4(),
            service: service.to_string(),
            priority: *priority,
            lang: "it".into(),
            appointment: appointment.map(str::to_string),
            codice_fiscale: None,
            codice_fiscale_from_card: false,
            offline_number: None,
            issued_at: chrono::Utc::now().fixed_offset(),
        };
        match kiosk.issue_ticket(&request).await {
            Ok(issued) => println!(
                "{name}: {} for {} (position {}, about {} min)",
                issued.ticket.number,
                issued.ticket.service,
                issued.ticket.position,
                issued.ticket.eta_minutes
            ),
            Err(e) => println!("{name}: {service}: {e}"),
        }
        kiosk
            .heartbeat(&HeartbeatRequest {
                version: env!("CARGO_PKG_VERSION").into(),
                printer: if i == 7 {
                    PrinterState::PaperNearEnd
                } else {
                    PrinterState::Ok
                },
                outbox_depth: 0,
                oldest_pending_seconds: None,
                printer_detail: None,
                kiosk_time: Some(chrono::Utc::now()),
                update: None,
            })
            .await?;
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    }
    Ok(())
}
