//! The hub's notion of "now", injectable so tests can move time past local midnight.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; shared by clones.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// Moves the time forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The office day of an instant: the local date in the office's time zone.
pub fn office_day(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_turns_at_local_midnight_not_utc() {
        let tz: Tz = "Europe/Rome".parse().unwrap();
        // 22:59:59 UTC on 27 Nov is 23:59:59 in Rome (CET, UTC+1).
        let before = "2026-11-27T22:59:59Z".parse().unwrap();
        let after = "2026-11-27T23:00:00Z".parse().unwrap();
        assert_eq!(office_day(before, tz).to_string(), "2026-11-27");
        assert_eq!(office_day(after, tz).to_string(), "2026-11-28");
        // Summer time: UTC+2.
        let summer = "2026-07-01T22:00:00Z".parse().unwrap();
        assert_eq!(office_day(summer, tz).to_string(), "2026-07-02");
    }
}
