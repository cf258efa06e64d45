//! The enrolled kiosks' tokens, remembered for a few seconds after a look-up.
//!
//! Every kiosk request carries its bearer token, and a ticket is the request that comes
//! in bursts: looking the token up in the database each time cost a round trip to the
//! reader connection's thread per ticket (BENCHMARKS.md, "Ticket throughput beside a
//! bare durable server"). Known tokens are kept here; unknown ones never are (strangers
//! cannot fill it, it holds at most one entry per kiosk). Everything in this process that
//! changes a kiosk's token or its `disabled` flag calls [`KioskTokens::forget`]; an entry
//! also expires after [`KioskTokens::FRESH_FOR`], so a change made by another process (an
//! admin command on the same file) is seen within that time. A change that must take
//! effect at once from another process (`sportello hub kiosk remove`) also rewrites a
//! stamp file beside the database ([`announce_change`]); every remembered entry carries
//! the stamp seen before its look-up and is trusted only while the stamp is unchanged,
//! which costs one `stat` per cached request instead of a database round trip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// What a token resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKiosk {
    /// The kiosk's id.
    pub kiosk_id: String,
    /// Whether the office disabled it.
    pub disabled: bool,
    /// The office it belongs to.
    pub office: i64,
}

/// The stamp file as last seen: it is replaced (a new inode) on every change, so its
/// identity and time say whether anything changed since. `None` when it does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(Option<(u64, u64, SystemTime)>);

/// The stamp file of the hub database at `database`.
pub fn stamp_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".kiosks-changed");
    PathBuf::from(name)
}

/// Tells a running hub watching the stamp file `path` (`store::Location::kiosks_stamp`)
/// to forget every remembered token now: writes a new stamp file and renames it over
/// the old one. Called after the change committed.
pub fn announce_change(path: &Path) -> std::io::Result<()> {
    let mut fresh = path.as_os_str().to_owned();
    fresh.push(format!(".{}", std::process::id()));
    let fresh = PathBuf::from(fresh);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    std::fs::write(&fresh, format!("{}\n", now.as_nanos()))?;
    std::fs::rename(&fresh, path)
}

fn read_stamp(path: Option<&Path>) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    Stamp(path.and_then(|p| std::fs::metadata(p).ok()).map(|m| {
        (
            m.dev(),
            m.ino(),
            m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        )
    }))
}

/// Token hash → kiosk, with the time of the look-up and the stamp seen before it.
#[derive(Default)]
pub struct KioskTokens {
    known: Mutex<HashMap<String, (KnownKiosk, Instant, Stamp)>>,
    stamp_file: Option<PathBuf>,
}

impl KioskTokens {
    /// How long a look-up is trusted.
    pub const FRESH_FOR: Duration = Duration::from_secs(5);

    /// A cache watching the stamp file `path` for changes announced by other processes.
    pub fn watching(path: PathBuf) -> KioskTokens {
        KioskTokens {
            known: Mutex::default(),
            stamp_file: Some(path),
        }
    }

    /// The stamp now: take it before a look-up and hand it to [`Self::remember`].
    pub fn stamp(&self) -> Stamp {
        read_stamp(self.stamp_file.as_deref())
    }

    /// The kiosk of `token_hash`, if looked up less than [`Self::FRESH_FOR`] ago and no
    /// change was announced since.
    pub fn get(&self, token_hash: &str) -> Option<KnownKiosk> {
        let (kiosk, seen) = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            known
                .get(token_hash)
                .filter(|(_, at, _)| at.elapsed() < Self::FRESH_FOR)
                .map(|(kiosk, _, seen)| (kiosk.clone(), *seen))?
        };
        if seen != self.stamp() {
            self.known
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            return None;
        }
        Some(kiosk)
    }

    /// Remembers a look-up that found a kiosk; `stamp` is [`Self::stamp`] taken before it.
    pub fn remember(&self, token_hash: String, kiosk: KnownKiosk, stamp: Stamp) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        // One entry per kiosk: a kiosk enrolled again has a new token.
        known.retain(|_, (k, _, _)| k.kiosk_id != kiosk.kiosk_id);
        known.insert(token_hash, (kiosk, Instant::now(), stamp));
    }

    /// Forgets everything known about `kiosk_id` (its token or state changed).
    pub fn forget(&self, kiosk_id: &str) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (k, _, _)| k.kiosk_id != kiosk_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(id: &str, disabled: bool) -> KnownKiosk {
        KnownKiosk {
            kiosk_id: id.into(),
            disabled,
            office: 1,
        }
    }

    #[test]
    fn one_entry_per_kiosk_and_forgotten_on_change() {
        let tokens = KioskTokens::default();
        tokens.remember("h1".into(), kiosk("k-1", false), tokens.stamp());
        assert_eq!(tokens.get("h1"), Some(kiosk("k-1", false)));
        // Enrolled again: the old token is gone at once.
        tokens.remember("h2".into(), kiosk("k-1", false), tokens.stamp());
        assert_eq!(tokens.get("h1"), None);
        tokens.forget("k-1");
        assert_eq!(tokens.get("h2"), None);
    }

    #[test]
    fn a_change_announced_by_another_process_empties_the_cache_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = stamp_path(&dir.path().join("hub.sqlite"));
        let tokens = KioskTokens::watching(db.clone());
        // Looked up before any stamp existed, then a change is announced.
        tokens.remember("h1".into(), kiosk("k-1", false), tokens.stamp());
        assert_eq!(tokens.get("h1"), Some(kiosk("k-1", false)));
        announce_change(&db).unwrap();
        assert_eq!(tokens.get("h1"), None);
        // Remembered after the change: trusted until the next one.
        tokens.remember("h1".into(), kiosk("k-1", false), tokens.stamp());
        assert_eq!(tokens.get("h1"), Some(kiosk("k-1", false)));
        announce_change(&db).unwrap();
        assert_eq!(tokens.get("h1"), None);
        // A look-up that started before a change is never trusted after it.
        let before = tokens.stamp();
        announce_change(&db).unwrap();
        tokens.remember("h1".into(), kiosk("k-1", false), before);
        assert_eq!(tokens.get("h1"), None);
    }
}
