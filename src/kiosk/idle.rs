//! The idle timeout of a visit: warn, let the citizen ask for more time, then wipe.
//!
//! WCAG 2.2.1 and EN 301 549: no time limit without a warning, at least 20 seconds to
//! answer it with one action, and as many extensions as needed. Pure logic over
//! caller-supplied instants so it is tested without waiting.

use std::time::{Duration, Instant};

/// What the screen should show now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleState {
    /// The citizen is active (or the kiosk is at rest).
    Active,
    /// The warning is up; the visit is wiped when the countdown reaches zero.
    Warning {
        /// Whole seconds left, rounded up, never 0 while warning.
        seconds_left: u32,
    },
    /// Time is up: wipe the visit now.
    Expired,
}

/// Tracks activity against the configured idle and warning periods.
#[derive(Debug, Clone)]
pub struct IdleTimer {
    idle_after: Duration,
    warn_for: Duration,
    last_activity: Instant,
}

impl IdleTimer {
    /// A timer that warns after `idle_after` without activity and expires `warn_for`
    /// later.
    pub fn new(idle_after: Duration, warn_for: Duration, now: Instant) -> IdleTimer {
        IdleTimer {
            idle_after,
            warn_for,
            last_activity: now,
        }
    }

    /// Any touch, key or scan; also the "more time" button, so it can be pressed any
    /// number of times.
    pub fn activity(&mut self, now: Instant) {
        self.last_activity = now;
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> IdleState {
        let idle = now.saturating_duration_since(self.last_activity);
        if idle < self.idle_after {
            return IdleState::Active;
        }
        let warned = idle - self.idle_after;
        if warned >= self.warn_for {
            return IdleState::Expired;
        }
        let left = self.warn_for - warned;
        let seconds_left = left.as_secs() as u32 + u32::from(left.subsec_nanos() > 0);
        IdleState::Warning { seconds_left }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_then_expires_and_can_be_extended_many_times() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timer = IdleTimer::new(s(60), s(30), t0);
        assert_eq!(timer.state(t0 + s(59)), IdleState::Active);
        assert_eq!(
            timer.state(t0 + s(60)),
            IdleState::Warning { seconds_left: 30 }
        );
        assert_eq!(
            timer.state(t0 + Duration::from_millis(89_500)),
            IdleState::Warning { seconds_left: 1 }
        );
        assert_eq!(timer.state(t0 + s(90)), IdleState::Expired);
        let mut now = t0;
        for _ in 0..15 {
            now += s(85);
            assert!(matches!(
                timer.state(now),
                IdleState::Warning { .. } | IdleState::Active
            ));
            timer.activity(now);
            assert_eq!(timer.state(now), IdleState::Active);
        }
    }
}
