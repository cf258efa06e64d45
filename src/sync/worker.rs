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

use super::port::{Enrollment, Kiosk, News};
use crate::protocol::{BandsRequest, HeartbeatRequest, IssueTicketRequest, WithdrawRequest};
use crate::store::{LocalBand, OpKind, StoreError};
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
pub async fn run<K: Kiosk>(kiosk: Arc<K>, intervals: Intervals) {
    let kiosk = kiosk.as_ref();
    let mut link = LinkState::default();
    let mut due = Due::now();
    loop {
        // Nothing is sent without a token of the hub in kiosk.toml: a kiosk enrolling again
        // (a replaced hub) keeps its outbox until the new hub has answered, or the old
        // token's 401 would settle every operation as refused.
        let enrolled = match kiosk.enrollment() {
            Enrollment::Done => true,
            Enrollment::Pending(request) => {
                enroll(kiosk, &mut link, &request).await;
                kiosk.enrollment() == Enrollment::Done
            }
            Enrollment::NotConfigured => false,
        };
        let now = Instant::now();
        if now >= due.heartbeat {
            heartbeat(kiosk, &mut link).await;
            due.heartbeat = now + intervals.heartbeat;
        }
        if now >= due.queues {
            kiosk.refresh_queues().await;
            due.queues = now + intervals.queues;
        }
        if now >= due.bands && enrolled && link.online && !link.disabled {
            top_up_bands(kiosk, &mut link).await;
            due.bands = now + intervals.bands;
        }
        if now >= due.purge {
            purge(kiosk);
            due.purge = now + intervals.purge;
        }
        let next_op = if enrolled {
            drain(kiosk, &mut link, &intervals).await
        } else {
            None
        };
        let next = [due.heartbeat, due.queues, due.bands, due.purge]
            .into_iter()
            .chain(next_op)
            .min()
            .unwrap_or(now + intervals.heartbeat);
        let sleep = next.saturating_duration_since(Instant::now());
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = kiosk.wake().notified() => {}
        }
    }
}

/// What the worker's own calls showed of the hub.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkState {
    online: bool,
    disabled: bool,
}

impl LinkState {
    /// Notes the outcome of a call and tells the kiosk.
    fn observe<T>(&mut self, kiosk: &impl Kiosk, result: &Result<T, ClientError>) {
        let (online, disabled) = match result {
            Ok(_) => (true, Some(false)),
            Err(ClientError::Disabled { .. }) => (true, Some(true)),
            Err(err) if err.retry_later() => (false, None),
            Err(_) => (true, None),
        };
        self.online = online;
        self.disabled = disabled.unwrap_or(self.disabled);
        kiosk.report(News::Link { online, disabled });
    }
}

/// Tells the kiosk that the store failed; the caller backs off.
fn store_failed(kiosk: &impl Kiosk, what: &str, err: StoreError) {
    tracing::error!(%err, "{what}");
    kiosk.report(News::StoreFailed(err));
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

async fn enroll(
    kiosk: &impl Kiosk,
    link: &mut LinkState,
    request: &crate::protocol::EnrollRequest,
) {
    let result = kiosk.hub().enroll(request).await;
    link.observe(kiosk, &result);
    match result {
        Ok(enrolled) => {
            tracing::info!(kiosk = %enrolled.kiosk_id, "enrolled at the hub");
            kiosk.report(News::Enrolled(enrolled));
        }
        Err(err) => tracing::warn!(%err, "enrollment failed"),
    }
}

/// Sends the heartbeat; passes on the hub's clock and a new catalogue.
pub async fn heartbeat(kiosk: &impl Kiosk, link: &mut LinkState) {
    let health = kiosk.health().await;
    let stats = match kiosk.store().outbox_stats() {
        Ok(stats) => Some(stats),
        Err(err) => {
            store_failed(kiosk, "cannot read the outbox figures", err);
            None
        }
    };
    let request = HeartbeatRequest {
        version: env!("CARGO_PKG_VERSION").to_string(),
        printer: health.printer,
        outbox_depth: stats.map_or(0, |s| s.pending as u32),
        oldest_pending_seconds: stats
            .and_then(|s| s.oldest_pending_at)
            .map(|at| (Utc::now() - at).num_seconds().max(0) as u64),
        printer_detail: health.detail,
        kiosk_time: Some(Utc::now()),
        update: kiosk.update(),
    };
    let sent = Instant::now();
    let result = kiosk.hub().heartbeat(&request).await;
    link.observe(kiosk, &result);
    let Ok(answer) = result else {
        return;
    };
    kiosk.report(News::HubTime {
        at: answer.hub_time,
        round_trip: sent.elapsed(),
    });
    if let Some(offer) = answer.update {
        kiosk.report(News::UpdateOffered(offer));
    }
    let etag = kiosk.catalogue_etag();
    if etag.as_deref() != Some(answer.catalogue_etag.as_str()) {
        let fetched = kiosk.hub().catalogue(etag.as_deref()).await;
        link.observe(kiosk, &fetched);
        if let Ok(CatalogueFetch::Changed { etag, catalogue }) = fetched {
            kiosk.report(News::Catalogue {
                body: catalogue,
                etag,
            });
        }
    }
}

async fn top_up_bands(kiosk: &impl Kiosk, link: &mut LinkState) {
    let office = kiosk.office();
    let Some(today) = office.today else {
        return;
    };
    let held = match kiosk.store().bands(today) {
        Ok(held) => held,
        Err(err) => return store_failed(kiosk, "cannot read offline number bands", err),
    };
    let low: Vec<String> = office
        .services
        .into_iter()
        .filter(|code| {
            let mine = || held.iter().filter(|b| &b.service == code);
            let remaining: u16 = mine().map(LocalBand::remaining).sum();
            // Top up while a third of the biggest band is left: the hub sizes bands by
            // demand, so a third of one lasts a third of the span it was sized for.
            let largest = mine()
                .map(|b| b.last.saturating_sub(b.first).saturating_add(1))
                .max()
                .unwrap_or(0);
            remaining < LOW_WATER.max(largest / 3)
        })
        .collect();
    if low.is_empty() {
        return;
    }
    let result = kiosk
        .hub()
        .lease_bands(&BandsRequest {
            services: Some(low),
        })
        .await;
    link.observe(kiosk, &result);
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
            let saved = kiosk.store().save_bands(answer.day, &bands);
            if let Err(err) = saved {
                store_failed(kiosk, "cannot store offline number bands", err);
            }
        }
        Err(err) => tracing::warn!(%err, "cannot lease offline number bands"),
    }
}

fn purge(kiosk: &impl Kiosk) {
    let purged = kiosk.store().purge_acknowledged(Utc::now() - KEEP_ACKED);
    if let Err(err) = purged {
        store_failed(kiosk, "cannot purge acknowledged operations", err);
    }
    if let Some(today) = kiosk.office().today {
        let purged = kiosk.store().purge_tickets_before(today);
        if let Err(err) = purged {
            store_failed(kiosk, "cannot purge old tickets", err);
        }
    }
}

/// Sends pending operations in order until one must wait. Returns when to try again
/// (`None` when the outbox is empty). A store failure is reported and backs off: the
/// same operation is never retried without a pause.
pub async fn drain(
    kiosk: &impl Kiosk,
    link: &mut LinkState,
    intervals: &Intervals,
) -> Option<Instant> {
    let backing_off = || Some(Instant::now() + intervals.max_backoff);
    loop {
        let head = kiosk.store().first_pending();
        let head = match head {
            Ok(head) => head?,
            Err(err) => {
                store_failed(kiosk, "cannot read the outbox", err);
                return backing_off();
            }
        };
        let now = Utc::now();
        if head.next_attempt_at > now {
            let wait = (head.next_attempt_at - now).to_std().unwrap_or_default();
            return Some(Instant::now() + wait);
        }
        let decoded = match head.kind {
            Some(OpKind::Withdraw) => serde_json::from_value(head.payload.clone())
                .map(Outgoing::Withdraw)
                .map_err(|err| err.to_string()),
            Some(OpKind::IssueTicket | OpKind::CheckIn) => {
                serde_json::from_value::<IssueTicketRequest>(head.payload.clone())
                    .map(|mut request| {
                        request.codice_fiscale = head.codice_fiscale().map(str::to_string);
                        Outgoing::Ticket(request)
                    })
                    .map_err(|err| err.to_string())
            }
            None => Err("an operation kind this firmware does not know".to_string()),
        };
        let outgoing = match decoded {
            Ok(outgoing) => outgoing,
            Err(why) => {
                tracing::error!(op_id = %head.op_id, %why, "unreadable operation settled");
                let settled = kiosk.store().settle_rejected(head.op_id, &why, now);
                if let Err(err) = settled {
                    store_failed(kiosk, "cannot settle an unreadable operation", err);
                    return backing_off();
                }
                continue;
            }
        };
        let result = outgoing.send(kiosk).await;
        link.observe(kiosk, &result);
        let recorded = match result {
            Ok(response) => {
                let acked = kiosk.store().acknowledge(head.op_id, &response, Utc::now());
                if acked.is_ok() {
                    tracing::info!(op_id = %head.op_id, kind = head.kind.map_or("", OpKind::as_str), "operation acknowledged");
                }
                acked.map(|_| None)
            }
            Err(ClientError::Disabled { .. }) => {
                // Keep it: the office may enable the kiosk again.
                let retry =
                    Utc::now() + TimeDelta::from_std(intervals.max_backoff).unwrap_or_default();
                kiosk
                    .store()
                    .record_failure(head.op_id, "kiosk disabled", retry)
                    .map(|()| Some(intervals.max_backoff))
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
                kiosk
                    .store()
                    .record_failure(head.op_id, &err.to_string(), retry)
                    .map(|()| Some(delay))
            }
            Err(err) => {
                tracing::warn!(op_id = %head.op_id, %err, "hub refused an operation for good");
                kiosk
                    .store()
                    .settle_rejected(head.op_id, &err.to_string(), Utc::now())
                    .map(|()| None)
            }
        };
        match recorded {
            Ok(None) => {}
            Ok(Some(wait)) => return Some(Instant::now() + wait),
            Err(err) => {
                store_failed(kiosk, "cannot record the hub's answer", err);
                return backing_off();
            }
        }
    }
}

/// An outbox operation decoded for sending.
enum Outgoing {
    /// A ticket or check-in, with its personal data put back.
    Ticket(IssueTicketRequest),
    /// Withdrawing a ticket operation nobody was handed.
    Withdraw(WithdrawRequest),
}

impl Outgoing {
    /// Sends it; the hub's answer is what the outbox keeps.
    async fn send(&self, kiosk: &impl Kiosk) -> Result<serde_json::Value, ClientError> {
        let hub = kiosk.hub();
        match self {
            Outgoing::Ticket(request) => {
                let issued = hub.issue_ticket(request).await?;
                Ok(serde_json::to_value(&issued.ticket).unwrap_or_default())
            }
            Outgoing::Withdraw(request) => {
                let answer = hub.withdraw(request).await?;
                tracing::info!(op_id = %answer.op_id, outcome = ?answer.outcome, "withdrawal acknowledged");
                Ok(serde_json::to_value(&answer).unwrap_or_default())
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
