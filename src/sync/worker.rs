//! The sync worker: everything the kiosk tells or asks the hub in the background.
//!
//! It enrolls the kiosk on first start, drains the outbox in order (retrying with
//! exponential backoff and jitter until the hub answers), sends heartbeats (which also
//! set the trusted clock and reveal a new catalogue or a disabled kiosk), keeps a band of
//! offline numbers for every service, refreshes the queue figures, and purges what the
//! hub has acknowledged. It never blocks the UI: it runs on the tokio runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use rand::Rng;

use crate::board::LedMode;
use crate::hub::api::{
    BandsRequest, EnrollRequest, HeartbeatRequest, IssueTicketRequest, PrinterState as HubPrinter,
};
use crate::kiosk::core::KioskCore;
use crate::printer::status::PrinterState;
use crate::store::LocalBand;
use crate::sync::client::{CatalogueFetch, ClientError};

/// How often the worker's periodic duties run.
#[derive(Debug, Clone)]
pub struct Intervals {
    /// Heartbeat (clock, disabled state, catalogue changes).
    pub heartbeat: Duration,
    /// Queue figures for the screens.
    pub queues: Duration,
    /// Checking that every service has offline numbers left.
    pub bands: Duration,
    /// Purging acknowledged operations and old tickets.
    pub purge: Duration,
    /// First retry delay of a failed operation; doubles up to `max_backoff`.
    pub base_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            heartbeat: Duration::from_secs(30),
            queues: Duration::from_secs(20),
            bands: Duration::from_secs(60),
            purge: Duration::from_secs(600),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Keep a service's band topped up when fewer numbers than this remain.
const LOW_WATER: u16 = 3;
/// Acknowledged operations are kept this long (for `doctor`), then purged.
const KEEP_ACKED: TimeDelta = TimeDelta::hours(1);

/// The delay before retry number `attempt` (1-based): exponential, capped, with ±25%
/// jitter so a fleet coming back online does not hit the hub in step.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(max);
    let jitter = rand::rng().random_range(0.75..1.25);
    capped.mul_f64(jitter)
}

/// Runs until the process ends.
pub async fn run(core: Arc<KioskCore>, intervals: Intervals) {
    let mut due = Due::now();
    loop {
        if !core.enrolled() {
            enroll(&core).await;
        }
        let now = Instant::now();
        if now >= due.heartbeat {
            heartbeat(&core).await;
            due.heartbeat = now + intervals.heartbeat;
        }
        if now >= due.queues {
            core.refresh_queue_figures().await;
            due.queues = now + intervals.queues;
        }
        if now >= due.bands && core.is_online() && !core.is_disabled() {
            top_up_bands(&core).await;
            due.bands = now + intervals.bands;
        }
        if now >= due.purge {
            purge(&core);
            due.purge = now + intervals.purge;
        }
        let next_op = drain(&core, &intervals).await;
        let next = [due.heartbeat, due.queues, due.bands, due.purge]
            .into_iter()
            .chain(next_op)
            .min()
            .unwrap_or(now + intervals.heartbeat);
        let sleep = next.saturating_duration_since(Instant::now());
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = core.wake.notified() => {}
        }
    }
}

struct Due {
    heartbeat: Instant,
    queues: Instant,
    bands: Instant,
    purge: Instant,
}

impl Due {
    fn now() -> Due {
        let now = Instant::now();
        Due {
            heartbeat: now,
            queues: now,
            bands: now,
            purge: now,
        }
    }
}

async fn enroll(core: &KioskCore) {
    let Some(token) = core.config().hub.enrollment_token.clone() else {
        tracing::warn!("not enrolled: set hub.enrollment_token in kiosk.toml");
        return;
    };
    let request = EnrollRequest {
        enrollment_token: token,
        name: Some(core.config().kiosk_id.clone()),
    };
    let result = core.hub().enroll(&request).await;
    core.observe(&result);
    match result {
        Ok(enrolled) => match core.set_token(&enrolled.kiosk_id, &enrolled.token, &enrolled.tag) {
            Ok(()) => tracing::info!(kiosk = %enrolled.kiosk_id, "enrolled at the hub"),
            Err(err) => tracing::error!(%err, "enrolled but cannot store the token"),
        },
        Err(err) => tracing::warn!(%err, "enrollment failed"),
    }
}

/// Sends the heartbeat; sets the clock, notices a disabled kiosk and a new catalogue.
pub async fn heartbeat(core: &KioskCore) {
    let printer_port = core.printer().clone();
    if let Ok(state) = tokio::task::spawn_blocking(move || printer_port.poll()).await {
        let _ = core.store().set_meta("printer_state", state.describe());
    }
    let (printer_state, detail) = core.printer().last_state();
    let near_end_sensor = core.board().paper_near_end();
    let stats = core.store().outbox_stats().ok();
    let printer = match printer_state {
        PrinterState::Ready if near_end_sensor => HubPrinter::PaperNearEnd,
        PrinterState::Ready => HubPrinter::Ok,
        PrinterState::PaperNearEnd => HubPrinter::PaperNearEnd,
        PrinterState::PaperOut => HubPrinter::PaperOut,
        PrinterState::NotResponding => HubPrinter::Offline,
        _ => HubPrinter::Error,
    };
    let request = HeartbeatRequest {
        version: env!("CARGO_PKG_VERSION").to_string(),
        printer,
        outbox_depth: stats.map_or(0, |s| s.pending as u32),
        oldest_pending_seconds: stats
            .and_then(|s| s.oldest_pending_at)
            .map(|at| (Utc::now() - at).num_seconds().max(0) as u64),
        printer_detail: detail,
        kiosk_time: Some(Utc::now()),
    };
    let sent = Instant::now();
    let result = core.hub().heartbeat(&request).await;
    core.observe(&result);
    let led = match (&result, printer) {
        (Err(ClientError::Disabled { .. }), _) => LedMode::Blinking,
        (_, HubPrinter::Ok) => LedMode::Steady,
        _ => LedMode::Blinking,
    };
    if let Err(err) = core.board().set_led(led) {
        tracing::warn!(%err, "cannot set the status LED");
    }
    let Ok(answer) = result else {
        return;
    };
    core.clock().observe_hub(answer.hub_time, sent.elapsed());
    if core.catalogue_etag().as_deref() != Some(answer.catalogue_etag.as_str()) {
        let fetched = core.hub().catalogue(core.catalogue_etag().as_deref()).await;
        core.observe(&fetched);
        if let Ok(CatalogueFetch::Changed { etag, catalogue }) = fetched {
            core.apply_catalogue(catalogue, etag);
        }
    }
}

async fn top_up_bands(core: &KioskCore) {
    let Some(today) = core.today() else {
        return;
    };
    let held = core.store().bands(today).unwrap_or_default();
    let catalogue = core.catalogue();
    let low: Vec<String> = catalogue
        .services()
        .iter()
        .filter(|s| {
            held.iter()
                .filter(|b| b.service == s.code)
                .map(LocalBand::remaining)
                .sum::<u16>()
                < LOW_WATER
        })
        .map(|s| s.code.clone())
        .collect();
    if low.is_empty() {
        return;
    }
    let result = core
        .hub()
        .lease_bands(&BandsRequest {
            services: Some(low),
        })
        .await;
    core.observe(&result);
    match result {
        Ok(answer) => {
            let bands: Vec<LocalBand> = answer
                .bands
                .iter()
                .map(|b| LocalBand {
                    day: answer.day,
                    service: b.service.clone(),
                    prefix: b.prefix,
                    first: b.first,
                    last: b.last,
                    next: b.first,
                })
                .collect();
            if let Err(err) = core.store().save_bands(answer.day, &bands) {
                tracing::error!(%err, "cannot store offline number bands");
            }
        }
        Err(err) => tracing::warn!(%err, "cannot lease offline number bands"),
    }
}

fn purge(core: &KioskCore) {
    let mut store = core.store();
    if let Err(err) = store.purge_acknowledged(Utc::now() - KEEP_ACKED) {
        tracing::warn!(%err, "cannot purge acknowledged operations");
    }
    if let Some(today) = core.today()
        && let Err(err) = store.purge_tickets_before(today)
    {
        tracing::warn!(%err, "cannot purge old tickets");
    }
}

/// Sends pending operations in order until one must wait. Returns when to try again
/// (`None` when the outbox is empty).
pub async fn drain(core: &KioskCore, intervals: &Intervals) -> Option<Instant> {
    loop {
        let head = match core.store().first_pending() {
            Ok(head) => head?,
            Err(err) => {
                tracing::error!(%err, "cannot read the outbox");
                return Some(Instant::now() + intervals.max_backoff);
            }
        };
        let now = Utc::now();
        if head.next_attempt_at > now {
            let wait = (head.next_attempt_at - now).to_std().unwrap_or_default();
            return Some(Instant::now() + wait);
        }
        let mut request: IssueTicketRequest = match serde_json::from_value(head.payload.clone()) {
            Ok(request) => request,
            Err(err) => {
                tracing::error!(op_id = %head.op_id, %err, "unreadable operation settled");
                let _ = core
                    .store()
                    .settle_rejected(head.op_id, "unreadable payload", now);
                continue;
            }
        };
        request.codice_fiscale = head
            .personal
            .as_ref()
            .and_then(|p| p.get("codice_fiscale"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let result = core.hub().issue_ticket(&request).await;
        core.observe(&result);
        match result {
            Ok(issued) => {
                let response = serde_json::to_value(&issued.ticket).unwrap_or_default();
                if let Err(err) = core.store().acknowledge(head.op_id, &response, Utc::now()) {
                    tracing::error!(%err, "cannot record an acknowledgement");
                    return Some(Instant::now() + intervals.max_backoff);
                }
                tracing::info!(op_id = %head.op_id, number = %issued.ticket.number, "operation acknowledged");
            }
            Err(ClientError::Disabled { .. }) => {
                // Keep it: the office may enable the kiosk again.
                let retry =
                    Utc::now() + TimeDelta::from_std(intervals.max_backoff).unwrap_or_default();
                let _ = core
                    .store()
                    .record_failure(head.op_id, "kiosk disabled", retry);
                return Some(Instant::now() + intervals.max_backoff);
            }
            Err(err)
                if err.retry_later()
                    || matches!(err, ClientError::PinMismatch | ClientError::Config(_)) =>
            {
                let delay = backoff(
                    head.attempts + 1,
                    intervals.base_backoff,
                    intervals.max_backoff,
                );
                let retry = Utc::now() + TimeDelta::from_std(delay).unwrap_or_default();
                let _ = core
                    .store()
                    .record_failure(head.op_id, &err.to_string(), retry);
                return Some(Instant::now() + delay);
            }
            Err(err) => {
                tracing::warn!(op_id = %head.op_id, %err, "hub refused an operation for good");
                let _ = core
                    .store()
                    .settle_rejected(head.op_id, &err.to_string(), Utc::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        for attempt in 1..40 {
            let d = backoff(attempt, base, max);
            let nominal = base.saturating_mul(1 << (attempt - 1).min(16)).min(max);
            assert!(
                d >= nominal.mul_f64(0.75) && d <= nominal.mul_f64(1.25),
                "{attempt}: {d:?}"
            );
        }
        let spread: std::collections::HashSet<u128> =
            (0..20).map(|_| backoff(3, base, max).as_millis()).collect();
        assert!(spread.len() > 1, "jitter varies the delay");
    }
}
