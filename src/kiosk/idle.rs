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

/// How long a ticket shown only on screen (no paper) stays up without a touch: the
/// citizen has to copy or photograph it, and may have stepped away to find a pen. It ends
/// earlier when they say they noted it.
pub const SCREEN_TICKET_HOLD: Duration = Duration::from_secs(5 * 60);

/// Whether a screen-only ticket shown since `shown_at` still holds off the idle timer.
pub fn holds_screen_ticket(shown_at: Option<Instant>, now: Instant) -> bool {
    shown_at.is_some_and(|at| now.saturating_duration_since(at) < SCREEN_TICKET_HOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_only_ticket_holds_for_five_minutes() {
        let at = Instant::now();
        assert!(!holds_screen_ticket(None, at));
        assert!(holds_screen_ticket(Some(at), at + Duration::from_secs(299)));
        assert!(!holds_screen_ticket(Some(at), at + SCREEN_TICKET_HOLD));
    }

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
