//! How fast one kiosk may have tickets numbered online.
//!
//! A kiosk prints one ticket every few seconds at best. A stolen kiosk token (the token
//! sits on the kiosk's data partition) could otherwise use up a service's 999 numbers of
//! the day in a second (security finding 8). Each kiosk has a bucket of
//! `[queue] kiosk_tickets_per_minute` tickets that refills at that rate; an empty bucket
//! answers 429 `too_many_tickets`, and the kiosk numbers the ticket from its band instead
//! (offline numbers were leased in advance and are not limited here). In memory: a
//! restart refills every bucket.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

/// Kiosks tracked before idle ones are dropped.
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// Per-kiosk buckets of online tickets.
#[derive(Debug)]
pub struct IssueLimit {
    per_minute: u32,
    kiosks: Mutex<HashMap<String, Bucket>>,
}

impl IssueLimit {
    /// `per_minute` tickets a minute after a burst of as many; 0 means no limit.
    pub fn new(per_minute: u32) -> IssueLimit {
        IssueLimit {
            per_minute,
            kiosks: Mutex::default(),
        }
    }

    /// Takes one ticket from `kiosk_id`'s bucket; `Err(seconds)` until one is free.
    pub fn take(&self, kiosk_id: &str, now: DateTime<Utc>) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut kiosks = self.kiosks.lock().unwrap_or_else(PoisonError::into_inner);
        if kiosks.len() > PRUNE_ABOVE {
            kiosks.retain(|_, b| (now - b.at).num_seconds() < 60);
        }
        let bucket = kiosks.entry(kiosk_id.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            let seconds = ((1.0 - bucket.tokens) / per_second).ceil().max(1.0);
            return Err(seconds as u64);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    #[test]
    fn a_burst_then_the_rate_per_kiosk() {
        let limit = IssueLimit::new(30);
        for _ in 0..30 {
            assert_eq!(limit.take("a", at(0)), Ok(()));
        }
        assert_eq!(limit.take("a", at(0)), Err(2), "one every 2 s");
        assert_eq!(limit.take("b", at(0)), Ok(()), "another kiosk has its own");
        assert_eq!(limit.take("a", at(2)), Ok(()));
        assert_eq!(limit.take("a", at(2)), Err(2));
        // A quiet hour refills to the burst, not beyond.
        for _ in 0..30 {
            assert_eq!(limit.take("a", at(3600)), Ok(()));
        }
        assert!(limit.take("a", at(3600)).is_err());
    }

    #[test]
    fn zero_is_no_limit() {
        let limit = IssueLimit::new(0);
        for _ in 0..10_000 {
            assert_eq!(limit.take("a", at(0)), Ok(()));
        }
    }
}
