//! Who gets a connection, and for how long a stranger may hold one.
//!
//! - A socket that has not finished TLS, the startup message and
//!   authentication within `[serve] startup_timeout_secs` is closed.
//! - Handshakes under way have their own bound (`[serve] max_startups`), and
//!   `max_connections` counts authenticated sessions only: silent sockets can
//!   never keep a client who knows the password out.
//! - After a few wrong passwords from one address, each further attempt from
//!   it waits its turn, the wait doubling up to a cap ([`Throttle`]).
//!
//! Every refused, timed-out or failed connection is logged with its peer
//! address, never with a password.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// Wrong passwords an address may send before its attempts are spaced out.
pub const FREE_FAILURES: u32 = 3;
/// The wait after the first failure past the free ones; it doubles with each.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest wait between two attempts from one address.
pub const MAX_DELAY: Duration = Duration::from_secs(2);
/// An address with no failure for this long starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most (the oldest are forgotten first).
const MAX_ADDRESSES: usize = 10_000;

/// What the server admits, shared by every connection.
#[derive(Debug)]
pub struct Admission {
    sessions: Arc<Semaphore>,
    startups: Arc<Semaphore>,
    /// How long a connection may take to authenticate.
    pub startup_timeout: Duration,
    /// Wrong passwords per address.
    pub throttle: Throttle,
}

impl Admission {
    /// `max_connections` sessions, `max_startups` handshakes under way.
    pub fn new(max_connections: usize, max_startups: usize, startup_timeout: Duration) -> Admission {
        Admission {
            sessions: Arc::new(Semaphore::new(max_connections)),
            startups: Arc::new(Semaphore::new(max_startups)),
            startup_timeout,
            throttle: Throttle::default(),
        }
    }

    /// A place for one more handshake, `None` when `max_startups` are under way.
    pub fn start(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.startups).try_acquire_owned().ok()
    }
}

/// One connection's way in: it holds a session slot once authenticated, and
/// tells the accept loop so (which then stops the startup deadline).
#[derive(Debug)]
pub struct Gate {
    admission: Arc<Admission>,
    session: Mutex<Option<OwnedSemaphorePermit>>,
    admitted: watch::Sender<bool>,
    /// The client's address, for the log and the throttle.
    pub peer: SocketAddr,
}

impl Gate {
    /// The gate of a connection from `peer`; the receiver hears `true` once it is admitted.
    pub fn new(admission: Arc<Admission>, peer: SocketAddr) -> (Gate, watch::Receiver<bool>) {
        let (admitted, rx) = watch::channel(false);
        (Gate { admission, session: Mutex::new(None), admitted, peer }, rx)
    }

    /// Whether a session slot is free now.
    pub fn has_room(&self) -> bool {
        self.admission.sessions.available_permits() > 0
    }

    /// Hold a session slot while authentication may complete.
    pub fn reserve(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.admission.sessions).try_acquire_owned().ok()
    }

    /// Authentication succeeded: keep the slot for the connection's life.
    pub fn admit(&self, permit: OwnedSemaphorePermit) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(permit);
        self.admission.throttle.succeeded(self.peer.ip());
        let _ = self.admitted.send(true);
    }

    /// The server's throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.admission.throttle
    }
}

/// Failed password attempts per address: past [`FREE_FAILURES`], each
/// attempt from the address waits its turn, spaced by a delay that doubles
/// with every failure up to [`MAX_DELAY`]. Parallel attempts from one address
/// queue behind each other, so opening more connections does not help.
#[derive(Debug, Default)]
pub struct Throttle {
    by_address: Mutex<HashMap<IpAddr, Record>>,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    next_turn: Instant,
}

/// The delay between attempts after `failures` wrong passwords.
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

impl Throttle {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.by_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long an attempt from `ip` must wait before its password is checked:
    /// until the delay after its last failure has passed, and behind every
    /// attempt from it already waiting (each takes a turn of one delay).
    pub fn turn(&self, ip: IpAddr) -> Duration {
        let now = Instant::now();
        let mut records = self.records();
        let Some(r) = records.get_mut(&ip) else { return Duration::ZERO };
        if now.duration_since(r.last) > FORGET_AFTER {
            records.remove(&ip);
            return Duration::ZERO;
        }
        let delay = delay_after(r.failures);
        if delay.is_zero() {
            return Duration::ZERO;
        }
        let start = r.next_turn.max(now);
        r.next_turn = start + delay;
        start - now
    }

    /// A wrong password from `ip`; the number of failures so far.
    pub fn failed(&self, ip: IpAddr) -> u32 {
        let now = Instant::now();
        let mut records = self.records();
        if records.len() >= MAX_ADDRESSES && !records.contains_key(&ip) {
            records.retain(|_, r| now.duration_since(r.last) <= FORGET_AFTER);
            if records.len() >= MAX_ADDRESSES
                && let Some(oldest) = records.iter().min_by_key(|(_, r)| r.last).map(|(ip, _)| *ip)
            {
                records.remove(&oldest);
            }
        }
        let r = records.entry(ip).or_insert(Record { failures: 0, last: now, next_turn: now });
        if now.duration_since(r.last) > FORGET_AFTER {
            r.failures = 0;
        }
        r.failures += 1;
        r.last = now;
        // The address's next attempt waits out the delay from this failure.
        r.next_turn = r.next_turn.max(now + delay_after(r.failures));
        r.failures
    }

    /// The right password from `ip`: its failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        self.records().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let d: Vec<u64> = (0..10).map(|n| delay_after(n).as_millis() as u64).collect();
        assert_eq!(d, [0, 0, 0, 250, 500, 1000, 2000, 2000, 2000, 2000]);
    }

    #[test]
    fn parallel_attempts_from_one_address_queue() {
        let t = Throttle::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..4 {
            t.failed(ip);
        }
        // 4 failures: the next attempt waits 500 ms, parallel ones queue 500 ms apart.
        let waits: Vec<u128> = (0..3).map(|_| t.turn(ip).as_micros()).collect();
        assert!((300_000..=500_000).contains(&waits[0]), "{waits:?}");
        for pair in waits.windows(2) {
            assert!((490_000..=500_000).contains(&(pair[1] - pair[0])), "{waits:?}");
        }
        // Another address is not slowed, and success forgets.
        assert_eq!(t.turn([10, 0, 0, 2].into()), Duration::ZERO);
        t.succeeded(ip);
        assert_eq!(t.turn(ip), Duration::ZERO);
    }
}
