//! A clock the kiosk can trust for the office day.
//!
//! A Raspberry Pi has no battery clock: after a power cut it boots with a wrong time
//! until NTP or the hub corrects it. A ticket's office day must never come from such a
//! time. The kiosk therefore anchors time to the hub's clock (from each heartbeat) on the
//! monotonic clock, which no jump of the system clock can move; without an anchor it uses
//! the system clock only when the configured policy trusts it (by default: when the
//! kernel reports NTP synchronisation).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::config::kiosk::SystemClockTrust;

/// Whether the kernel's clock is synchronised by NTP, read with `adjtimex(2)`.
pub fn kernel_clock_synchronised() -> bool {
    // SAFETY: adjtimex with `modes == 0` only reads the kernel's state into the zeroed
    // struct we own; it changes nothing.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    state >= 0 && state != libc::TIME_ERROR
}

/// Time anchored to the hub, or the system clock when policy allows.
pub struct TrustedClock {
    anchor: Mutex<Option<(DateTime<Utc>, Instant)>>,
    trust: SystemClockTrust,
    system_synchronised: fn() -> bool,
}

impl TrustedClock {
    /// A clock with no hub anchor yet.
    pub fn new(trust: SystemClockTrust) -> TrustedClock {
        TrustedClock::with_probe(trust, kernel_clock_synchronised)
    }

    /// As [`TrustedClock::new`] with another way of asking whether NTP synchronised the
    /// system clock (tests).
    pub fn with_probe(trust: SystemClockTrust, probe: fn() -> bool) -> TrustedClock {
        TrustedClock {
            anchor: Mutex::new(None),
            trust,
            system_synchronised: probe,
        }
    }

    /// Records the hub's time as answered to a request that took `round_trip`: the
    /// answer was made about half-way through.
    pub fn observe_hub(&self, hub_time: DateTime<Utc>, round_trip: Duration) {
        let half = TimeDelta::from_std(round_trip / 2).unwrap_or_default();
        *self.anchor.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((hub_time + half, Instant::now()));
    }

    /// The current time if it can be trusted, else `None`.
    pub fn now(&self) -> Option<DateTime<Utc>> {
        let anchor = *self.anchor.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((hub_time, at)) = anchor {
            return Some(hub_time + TimeDelta::from_std(at.elapsed()).unwrap_or_default());
        }
        let trusted = match self.trust {
            SystemClockTrust::Always => true,
            SystemClockTrust::Never => false,
            SystemClockTrust::Ntp => (self.system_synchronised)(),
        };
        trusted.then(Utc::now)
    }

    /// The best available time, for the on-screen clock only (never for a ticket).
    pub fn display_now(&self) -> DateTime<Utc> {
        self.now().unwrap_or_else(Utc::now)
    }

    /// The office day now, when the time can be trusted.
    pub fn today(&self, tz: Tz) -> Option<NaiveDate> {
        self.now().map(|t| t.with_timezone(&tz).date_naive())
    }

    /// How far the system clock is from the hub's, when anchored (hub minus system).
    pub fn system_offset(&self) -> Option<TimeDelta> {
        let anchor = *self.anchor.lock().unwrap_or_else(PoisonError::into_inner);
        anchor.map(|(hub_time, at)| {
            hub_time + TimeDelta::from_std(at.elapsed()).unwrap_or_default() - Utc::now()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_anchor_wins_over_a_wrong_system_clock() {
        let clock = TrustedClock::with_probe(SystemClockTrust::Ntp, || false);
        assert_eq!(
            clock.now(),
            None,
            "unsynchronised and no hub: no trusted time"
        );
        let hub = Utc::now() + TimeDelta::days(400);
        clock.observe_hub(hub, Duration::from_millis(100));
        let now = clock.now().unwrap();
        let drift = (now - hub - TimeDelta::milliseconds(50))
            .num_milliseconds()
            .abs();
        assert!(drift < 1000, "{drift} ms");
        let offset = clock.system_offset().unwrap();
        assert!((offset.num_days() - 400).abs() <= 1);
    }

    #[test]
    fn policy_decides_about_the_system_clock() {
        assert!(
            TrustedClock::with_probe(SystemClockTrust::Always, || false)
                .now()
                .is_some()
        );
        assert!(
            TrustedClock::with_probe(SystemClockTrust::Never, || true)
                .now()
                .is_none()
        );
        assert!(
            TrustedClock::with_probe(SystemClockTrust::Ntp, || true)
                .now()
                .is_some()
        );
    }

    #[test]
    fn the_office_day_turns_at_local_midnight() {
        let clock = TrustedClock::with_probe(SystemClockTrust::Never, || false);
        // 23:30 UTC on 27 November is 00:30 on 28 November in Rome.
        let hub = "2026-11-27T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        clock.observe_hub(hub, Duration::ZERO);
        assert_eq!(
            clock.today(chrono_tz::Europe::Rome),
            NaiveDate::from_ymd_opt(2026, 11, 28)
        );
        assert_eq!(
            clock.today(chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 11, 27)
        );
    }
}
