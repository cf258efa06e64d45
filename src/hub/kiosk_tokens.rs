//! The enrolled kiosks' tokens, remembered for a few seconds after a look-up.
//!
//! Every kiosk request carries its bearer token, and a ticket is the request that comes
//! in bursts: looking the token up in the database each time cost a round trip to the
//! reader connection's thread per ticket (BENCHMARKS.md, "Ticket throughput beside a
//! bare durable server"). Known tokens are kept here; unknown ones never are (strangers
//! cannot fill it, it holds at most one entry per kiosk). Everything in this process that
//! changes a kiosk's token or its `disabled` flag calls [`KioskTokens::forget`]; an entry
//! also expires after [`KioskTokens::FRESH_FOR`], so a change made by another process (an
//! admin command on the same file) is seen within that time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What a token resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKiosk {
    /// The kiosk's id.
    pub kiosk_id: String,
    /// Whether the office disabled it.
    pub disabled: bool,
}

/// Token hash → kiosk, with the time of the look-up.
#[derive(Default)]
pub struct KioskTokens {
    known: Mutex<HashMap<String, (KnownKiosk, Instant)>>,
}

impl KioskTokens {
    /// How long a look-up is trusted.
    pub const FRESH_FOR: Duration = Duration::from_secs(5);

    /// The kiosk of `token_hash`, if looked up less than [`Self::FRESH_FOR`] ago.
    pub fn get(&self, token_hash: &str) -> Option<KnownKiosk> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(token_hash)
            .filter(|(_, at)| at.elapsed() < Self::FRESH_FOR)
            .map(|(kiosk, _)| kiosk.clone())
    }

    /// Remembers a look-up that found a kiosk.
    pub fn remember(&self, token_hash: String, kiosk: KnownKiosk) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        // One entry per kiosk: a kiosk enrolled again has a new token.
        known.retain(|_, (k, _)| k.kiosk_id != kiosk.kiosk_id);
        known.insert(token_hash, (kiosk, Instant::now()));
    }

    /// Forgets everything known about `kiosk_id` (its token or state changed).
    pub fn forget(&self, kiosk_id: &str) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (k, _)| k.kiosk_id != kiosk_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(id: &str, disabled: bool) -> KnownKiosk {
        KnownKiosk {
            kiosk_id: id.into(),
            disabled,
        }
    }

    #[test]
    fn one_entry_per_kiosk_and_forgotten_on_change() {
        let tokens = KioskTokens::default();
        tokens.remember("h1".into(), kiosk("k-1", false));
        assert_eq!(tokens.get("h1"), Some(kiosk("k-1", false)));
        // Enrolled again: the old token is gone at once.
        tokens.remember("h2".into(), kiosk("k-1", false));
        assert_eq!(tokens.get("h1"), None);
        tokens.forget("k-1");
        assert_eq!(tokens.get("h2"), None);
    }
}
