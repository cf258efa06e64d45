//! Slows down password guessing at the counter page's login.
//!
//! After [`FREE_FAILURES`] wrong passwords in a row for one clerk name, that name must wait
//! before the next attempt: 30 s, doubling with each further failure up to 15 minutes. The
//! password is not even checked while the name waits, so guessing gets nowhere; a correct
//! login clears the count. Counted per name (unknown names too, so a refusal does not
//! reveal which names exist), in memory: a hub restart starts afresh, which costs an
//! attacker a restart they cannot cause from the page.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// Wrong passwords allowed in a row before a name has to wait.
pub const FREE_FAILURES: u32 = 5;
/// The first wait once the free failures are used up.
const FIRST_WAIT_SECONDS: i64 = 30;
/// The longest wait.
const LONGEST_WAIT_SECONDS: i64 = 15 * 60;
/// Names tracked before stale entries are dropped (bounds memory against junk names).
const PRUNE_ABOVE: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Failures {
    in_a_row: u32,
    last: DateTime<Utc>,
    wait_until: Option<DateTime<Utc>>,
}

/// The failure counts of the counter page's login, shared by its handlers.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    names: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// `Err(seconds)` while `name` must wait before trying again.
    pub fn check(&self, name: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        match names.get(&key(name)).and_then(|f| f.wait_until) {
            Some(until) if until > now => {
                let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(1);
                Err(millis.div_ceil(1000).max(1))
            }
            _ => Ok(()),
        }
    }

    /// Records a wrong password for `name`.
    pub fn failed(&self, name: &str, now: DateTime<Utc>) {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if names.len() > PRUNE_ABOVE {
            let stale = TimeDelta::seconds(LONGEST_WAIT_SECONDS * 2);
            names.retain(|_, f| now - f.last < stale);
        }
        let entry = names.entry(key(name)).or_insert(Failures {
            in_a_row: 0,
            last: now,
            wait_until: None,
        });
        entry.in_a_row = entry.in_a_row.saturating_add(1);
        entry.last = now;
        if entry.in_a_row >= FREE_FAILURES {
            let doublings = (entry.in_a_row - FREE_FAILURES).min(10);
            let wait = (FIRST_WAIT_SECONDS << doublings).min(LONGEST_WAIT_SECONDS);
            entry.wait_until = Some(now + TimeDelta::seconds(wait));
        }
    }

    /// A correct password: `name` starts afresh.
    pub fn succeeded(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.remove(&key(name));
    }
}

/// Names differing only in case or surrounding spaces count as one.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES - 1 {
            throttle.failed("anna", at(0));
            assert_eq!(throttle.check("anna", at(0)), Ok(()));
        }
        throttle.failed("anna", at(0));
        assert_eq!(throttle.check("anna", at(0)), Err(30));
        assert_eq!(throttle.check("anna", at(29)), Err(1));
        assert_eq!(throttle.check("anna", at(30)), Ok(()));
        throttle.failed("anna", at(30));
        assert_eq!(throttle.check("anna", at(30)), Err(60));
        for i in 0..20 {
            throttle.failed("anna", at(100 + i));
        }
        assert_eq!(throttle.check("anna", at(119)), Err(15 * 60));
    }

    #[test]
    fn names_are_independent_case_blind_and_cleared_by_success() {
        let throttle = LoginThrottle::default();
        for _ in 0..FREE_FAILURES {
            throttle.failed(" Anna", at(0));
        }
        assert!(throttle.check("anna", at(1)).is_err());
        assert_eq!(throttle.check("marco", at(1)), Ok(()));
        throttle.succeeded("ANNA");
        assert_eq!(throttle.check("anna", at(1)), Ok(()));
        throttle.failed("anna", at(2));
        assert_eq!(
            throttle.check("anna", at(2)),
            Ok(()),
            "the count restarted after the success"
        );
    }

    #[test]
    fn junk_names_do_not_grow_memory_without_bound() {
        let throttle = LoginThrottle::default();
        for i in 0..3000 {
            throttle.failed(&format!("junk-{i}"), at(i * 10));
        }
        let tracked = throttle.names.lock().unwrap().len();
        assert!(tracked <= PRUNE_ABOVE + 1 + 200, "{tracked} names tracked");
    }
}
