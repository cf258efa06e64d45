//! Slows down password guessing at the counter page's login, without letting strangers
//! lock a clerk out or exhaust the hub's memory.
//!
//! Three limits, all taken before a password is checked:
//! - **per clerk name and client address**: after [`FREE_FAILURES`] wrong passwords in a
//!   row, that name must wait before the next attempt from that address: 30 s, doubling
//!   up to 15 minutes. Attempts still being checked count as failures until they end, so a
//!   parallel burst gets no more than [`FREE_FAILURES`] checks. A correct login clears the
//!   count. Counted for unknown names too, so a refusal does not reveal which names exist;
//!   keyed by address, so failures from elsewhere never lock out the clerk's own PC.
//! - **per client address**: [`ADDRESS_BURST`] attempts, then one every
//!   [`ADDRESS_REFILL_SECONDS`], whatever the names (spraying many names).
//! - **at once, for everyone**: [`CHECKS_AT_ONCE`] password checks run together, on
//!   threads of their own (each Argon2 check takes 19 MiB, and memory freed on a thread
//!   stays with that thread's allocator arena: spread over tokio's blocking pool, up to
//!   512 threads, the checks kept gigabytes); the rest wait up to [`CHECK_QUEUE_WAIT`],
//!   then are turned away as busy.
//!
//! The wrong passwords in a row and the waits they earn are also kept in the database
//! ([`super::login_failures`]): every hub process on it (a region's) and a restarted hub
//! see them; the attempts in flight, the per-address bucket and the checks at once stay in
//! each process's memory, as they guard that process's own threads and memory. Behind a reverse proxy every client has the proxy's address: the
//! per-address limits then apply to all clerks together (see docs/maintainer.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Wrong passwords allowed in a row before a name has to wait.
pub const FREE_FAILURES: u32 = 5;
/// Attempts one address may make at once before the refill applies.
pub const ADDRESS_BURST: u32 = 10;
/// Seconds for one more attempt from an address (10 a minute).
pub const ADDRESS_REFILL_SECONDS: i64 = 6;
/// Password checks running at the same time.
pub const CHECKS_AT_ONCE: usize = 2;
/// How long an attempt waits for a free check before it is turned away.
pub const CHECK_QUEUE_WAIT: Duration = Duration::from_secs(3);
/// The first wait once the free failures are used up.
const FIRST_WAIT_SECONDS: i64 = 30;
/// The longest wait.
pub const LONGEST_WAIT_SECONDS: i64 = 15 * 60;

/// A name's wrong passwords in a row at an address and the wait they earned, as the
/// database keeps them for every hub process ([`super::login_failures`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Wrong passwords in a row.
    pub in_a_row: u32,
    /// No attempt before this.
    pub wait_until: Option<DateTime<Utc>>,
}

/// The wait after `in_a_row` wrong passwords: none for the free ones, then 30 s doubling
/// up to 15 minutes.
pub fn wait_after(in_a_row: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if in_a_row < FREE_FAILURES {
        return None;
    }
    let doublings = (in_a_row - FREE_FAILURES).min(10);
    let wait = (FIRST_WAIT_SECONDS << doublings).min(LONGEST_WAIT_SECONDS);
    Some(now + TimeDelta::seconds(wait))
}
/// Entries tracked before stale ones are dropped (bounds memory against junk names).
const PRUNE_ABOVE: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Failures {
    in_a_row: u32,
    in_flight: u32,
    last: DateTime<Utc>,
    wait_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Counts {
    names: HashMap<(String, IpAddr), Failures>,
    addresses: HashMap<IpAddr, Bucket>,
}

/// Why an attempt was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many wrong passwords for this name from this address: wait this many seconds.
    Name(u64),
    /// Too many attempts from this address: wait this many seconds.
    Address(u64),
    /// Every password check is busy: try again in a moment.
    Busy,
}

/// The limits of the counter page's login, shared by its handlers.
#[derive(Debug)]
pub struct LoginThrottle {
    counts: Mutex<Counts>,
    checks: Arc<Semaphore>,
    checkers: Checkers,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            counts: Mutex::default(),
            checks: Arc::new(Semaphore::new(CHECKS_AT_ONCE)),
            checkers: Checkers::start(CHECKS_AT_ONCE),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A few threads that run password checks, and nothing else.
#[derive(Debug)]
struct Checkers {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Checkers {
    fn start(threads: usize) -> Checkers {
        return_big_allocations();
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("hub-password-{n}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a password-check thread");
            }
        }
        Checkers {
            jobs: Mutex::new(jobs),
        }
    }

    /// Runs `f` on a checker thread; `None` if none is running.
    async fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(f());
        });
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .ok()?;
        result.await.ok()
    }
}

/// One admitted attempt: holds a place among the checks and counts as a failure until
/// [`Attempt::succeeded`] (or dropped after [`Attempt::failed`]).
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    key: (String, IpAddr),
    settled: bool,
    _check: OwnedSemaphorePermit,
}

impl LoginThrottle {
    /// Admits one attempt for `name` from `ip`, or says why not, counting the failures
    /// `stored` in the database besides this process's own. Waits (briefly) for a free
    /// password check.
    pub async fn admit(
        &self,
        name: &str,
        ip: IpAddr,
        now: DateTime<Utc>,
        stored: Stored,
    ) -> Result<Attempt<'_>, Refusal> {
        let key = (key(name), ip);
        if let Some(until) = stored.wait_until.filter(|until| *until > now) {
            return Err(Refusal::Name(seconds_until(until, now)));
        }
        self.reserve(&key, now, stored.in_a_row)?;
        let permit = tokio::time::timeout(CHECK_QUEUE_WAIT, self.checks.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok);
        let Some(permit) = permit else {
            self.release(&key);
            return Err(Refusal::Busy);
        };
        Ok(Attempt {
            throttle: self,
            key,
            settled: false,
            _check: permit,
        })
    }

    /// Checks both counts and takes a place in them, atomically; `stored_in_a_row` is the
    /// database's count of wrong passwords for the name there.
    fn reserve(
        &self,
        key: &(String, IpAddr),
        now: DateTime<Utc>,
        stored_in_a_row: u32,
    ) -> Result<(), Refusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.names.len() > PRUNE_ABOVE {
            let stale = TimeDelta::seconds(LONGEST_WAIT_SECONDS * 2);
            counts
                .names
                .retain(|_, f| f.in_flight > 0 || now - f.last < stale);
        }
        if counts.addresses.len() > PRUNE_ABOVE {
            let full = TimeDelta::seconds(ADDRESS_REFILL_SECONDS * i64::from(ADDRESS_BURST));
            counts.addresses.retain(|_, b| now - b.at < full);
        }
        if let Some(f) = counts.names.get(key) {
            if let Some(until) = f.wait_until.filter(|until| *until > now) {
                return Err(Refusal::Name(seconds_until(until, now)));
            }
            // Attempts in flight count as failures until they end, so a parallel burst
            // gets the free failures and no more; after a wait, one attempt at a time.
            let in_a_row = f.in_a_row.max(stored_in_a_row);
            if f.in_flight >= FREE_FAILURES.saturating_sub(in_a_row).max(1) {
                return Err(Refusal::Name(FIRST_WAIT_SECONDS as u64));
            }
        }
        let bucket = counts.addresses.entry(key.1).or_insert(Bucket {
            tokens: f64::from(ADDRESS_BURST),
            at: now,
        });
        let refilled = (now - bucket.at).num_milliseconds().max(0) as f64
            / (ADDRESS_REFILL_SECONDS as f64 * 1000.0);
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(ADDRESS_BURST));
        bucket.at = now;
        if bucket.tokens < 1.0 {
            let missing = (1.0 - bucket.tokens) * ADDRESS_REFILL_SECONDS as f64;
            return Err(Refusal::Address(missing.ceil().max(1.0) as u64));
        }
        bucket.tokens -= 1.0;
        let entry = counts.names.entry(key.clone()).or_insert(Failures {
            in_a_row: 0,
            in_flight: 0,
            last: now,
            wait_until: None,
        });
        entry.in_flight += 1;
        entry.last = now;
        Ok(())
    }

    fn release(&self, key: &(String, IpAddr)) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = counts.names.get_mut(key) {
            f.in_flight = f.in_flight.saturating_sub(1);
        }
    }
}

impl Attempt<'_> {
    /// Runs the password check `f` on the checker threads; `None` if they are gone.
    pub async fn check<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        self.throttle.checkers.run(f).await
    }

    /// A wrong password: one more failure in a row, and perhaps a wait.
    pub fn failed(mut self, now: DateTime<Utc>) {
        self.settled = true;
        let mut counts = self
            .throttle
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = counts.names.get_mut(&self.key) {
            f.in_flight = f.in_flight.saturating_sub(1);
            f.in_a_row = f.in_a_row.saturating_add(1);
            f.last = now;
            if let Some(until) = wait_after(f.in_a_row, now) {
                f.wait_until = Some(until);
            }
        }
    }

    /// A correct password: the name starts afresh at this address.
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut counts = self
            .throttle
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.names.remove(&self.key);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            // Ended without an answer (an error, a dropped request): not a failure.
            self.throttle.release(&self.key);
        }
    }
}

/// Makes big allocations come from the system and go back to it, however many came
/// before. glibc raises its mmap threshold after the first big free; from then on each
/// 19 MiB Argon2 buffer (64-byte aligned) was carved from the heap and not reused:
/// measured here, the peak memory grew 19 MiB with every password check, on one thread.
/// Process-wide and set once; harmless for everything else the hub allocates.
fn return_big_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes a tuning value of glibc's allocator.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        });
    }
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((until - now).num_milliseconds()).unwrap_or(1);
    millis.div_ceil(1000).max(1)
}

/// Names differing only in case or surrounding spaces count as one.
pub fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
    const THERE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));

    async fn fail(throttle: &LoginThrottle, name: &str, ip: IpAddr, now: DateTime<Utc>) {
        throttle
            .admit(name, ip, now, Stored::default())
            .await
            .unwrap()
            .failed(now);
    }

    #[tokio::test]
    async fn free_failures_then_doubling_waits_up_to_the_cap() {
        let throttle = LoginThrottle::default();
        for i in 0..FREE_FAILURES {
            fail(&throttle, "anna", HERE, at(i64::from(i) * 6)).await;
        }
        let t = i64::from(FREE_FAILURES - 1) * 6;
        assert_eq!(
            throttle
                .admit("anna", HERE, at(t), Stored::default())
                .await
                .unwrap_err(),
            Refusal::Name(30)
        );
        assert_eq!(
            throttle
                .admit("anna", HERE, at(t + 29), Stored::default())
                .await
                .unwrap_err(),
            Refusal::Name(1)
        );
        fail(&throttle, "anna", HERE, at(t + 30)).await;
        assert_eq!(
            throttle
                .admit("anna", HERE, at(t + 30), Stored::default())
                .await
                .unwrap_err(),
            Refusal::Name(60)
        );
    }

    #[tokio::test]
    async fn a_parallel_burst_gets_no_more_checks_than_the_free_failures() {
        let throttle = LoginThrottle::default();
        let mut admitted = Vec::new();
        let mut refused = 0;
        for _ in 0..8 {
            // Admitted attempts are still running: none has failed yet.
            match throttle.reserve(&(key("bob"), HERE), at(0), 0) {
                Ok(()) => admitted.push(()),
                Err(Refusal::Name(_)) => refused += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!((admitted.len(), refused), (FREE_FAILURES as usize, 3));
    }

    #[tokio::test]
    async fn failures_elsewhere_never_lock_out_this_address() {
        let throttle = LoginThrottle::default();
        for i in 0..FREE_FAILURES {
            fail(&throttle, " Anna", THERE, at(i64::from(i))).await;
        }
        assert!(
            throttle
                .admit("anna", THERE, at(6), Stored::default())
                .await
                .is_err()
        );
        let mine = throttle
            .admit("ANNA", HERE, at(6), Stored::default())
            .await
            .unwrap();
        mine.succeeded();
        assert!(
            throttle
                .admit("marco", THERE, at(7), Stored::default())
                .await
                .is_ok(),
            "other names"
        );
    }

    #[tokio::test]
    async fn one_address_spraying_names_is_slowed_down() {
        let throttle = LoginThrottle::default();
        for i in 0..ADDRESS_BURST {
            fail(&throttle, &format!("name-{i}"), HERE, at(0)).await;
        }
        assert_eq!(
            throttle
                .admit("another", HERE, at(0), Stored::default())
                .await
                .unwrap_err(),
            Refusal::Address(6)
        );
        assert!(
            throttle
                .admit("another", THERE, at(0), Stored::default())
                .await
                .is_ok()
        );
        assert!(
            throttle
                .admit("another", HERE, at(6), Stored::default())
                .await
                .is_ok(),
            "refilled"
        );
    }

    #[tokio::test]
    async fn only_a_few_checks_run_at_once_and_the_rest_are_busy() {
        let throttle = LoginThrottle::default();
        let ips: Vec<IpAddr> = (1..=4u8)
            .map(|i| IpAddr::V4(Ipv4Addr::new(10, 1, 0, i)))
            .collect();
        let mut running = Vec::new();
        for ip in &ips[..CHECKS_AT_ONCE] {
            running.push(
                throttle
                    .admit("x", *ip, at(0), Stored::default())
                    .await
                    .unwrap(),
            );
        }
        let busy = throttle
            .admit("x", ips[CHECKS_AT_ONCE], at(0), Stored::default())
            .await;
        assert_eq!(busy.unwrap_err(), Refusal::Busy);
        drop(running.pop());
        assert!(
            throttle
                .admit("x", ips[CHECKS_AT_ONCE], at(0), Stored::default())
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn junk_names_do_not_grow_memory_without_bound() {
        let throttle = LoginThrottle::default();
        for i in 0..3000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            fail(&throttle, &format!("junk-{i}"), ip, at(i64::from(i) * 10)).await;
        }
        let counts = throttle.counts.lock().unwrap();
        assert!(
            counts.names.len() <= PRUNE_ABOVE + 1 + 200,
            "{}",
            counts.names.len()
        );
        assert!(
            counts.addresses.len() <= PRUNE_ABOVE + 1,
            "{}",
            counts.addresses.len()
        );
    }
}
