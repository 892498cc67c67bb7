//! The throttle on repeated failed sign-ins (SPEC §6): a web concern — it
//! counts by the client's IP address, which only the server knows — kept
//! in memory, per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::conns::Client;

/// The throttle every request shares.
#[derive(Debug, Default)]
pub struct SignIns(Mutex<Throttle>);

impl SignIns {
    /// May `client` have a password checked now? If so the attempt is
    /// counted at once, before the check (SPEC §6: however many sign-ins
    /// arrive at once, no more than `LIMIT` are checked): a success takes
    /// it back with `succeeded`, a failure leaves it counted.
    ///
    /// A client is as the connection gate counts one: an IPv6 address by
    /// its /64, which one subscriber holds whole (else each of its 2^64
    /// addresses would have ten guesses).
    pub fn reserve(&self, client: IpAddr) -> bool {
        self.lock().reserve(Client::of(client).ip(), Instant::now())
    }

    pub fn failed(&self, client: IpAddr) {
        self.lock().failed(Client::of(client).ip(), Instant::now());
    }

    pub fn succeeded(&self, client: IpAddr) {
        self.lock().succeeded(Client::of(client).ip());
    }

    /// The throttle, even after a thread panicked holding it: its counts
    /// are always whole, and a poisoned lock read as "refuse" would answer
    /// every sign-in with 429 until a restart.
    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sign-in attempts by client address, each counted from before its
/// password is checked: a client with `LIMIT` attempts (failed, or being
/// checked) within `WINDOW` has no password checked, and the `LIMIT`th
/// failure refuses it for `LOCKOUT` besides (SPEC §6: 10, 10 minutes, a
/// minute).
#[derive(Debug, Default)]
pub struct Throttle {
    attempts: HashMap<IpAddr, Vec<Instant>>,
    locked: HashMap<IpAddr, Instant>,
}

impl Throttle {
    pub const LIMIT: usize = 10;
    pub const WINDOW: Duration = Duration::from_secs(600);
    pub const LOCKOUT: Duration = Duration::from_secs(60);

    /// May `client` have a password checked at `now`? Counts the attempt
    /// if so, in the same step as the question.
    pub fn reserve(&mut self, client: IpAddr, now: Instant) -> bool {
        match self.locked.get(&client) {
            Some(&until) if now < until => return false,
            Some(_) => {
                self.locked.remove(&client);
            }
            None => {}
        }
        // Forget clients that went quiet, so the map cannot grow forever.
        if self.attempts.len() > 10_000 {
            self.attempts.retain(|_, v| {
                v.last()
                    .is_some_and(|&t| now.duration_since(t) < Self::WINDOW)
            });
        }
        let recent = self.attempts.entry(client).or_default();
        recent.retain(|&t| now.duration_since(t) < Self::WINDOW);
        if recent.len() >= Self::LIMIT {
            return false;
        }
        recent.push(now);
        true
    }

    /// The reserved attempt failed: it stays counted, and the `LIMIT`th
    /// locks the client out.
    pub fn failed(&mut self, client: IpAddr, now: Instant) {
        let counted = self.attempts.get(&client).map_or(0, |recent| {
            recent
                .iter()
                .filter(|&&t| now.duration_since(t) < Self::WINDOW)
                .count()
        });
        if counted >= Self::LIMIT {
            self.locked.insert(client, now + Self::LOCKOUT);
        }
    }

    /// The reserved attempt succeeded: it no longer counts. (Attempts that
    /// failed still do: the password was right this once, but the wrong
    /// ones were checked.)
    pub fn succeeded(&mut self, client: IpAddr) {
        if let Some(recent) = self.attempts.get_mut(&client) {
            recent.pop();
            if recent.is_empty() {
                self.attempts.remove(&client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let signins = SignIns::default();
        for i in 0..Throttle::LIMIT {
            let ip: IpAddr = format!("2001:db8:5:6::{:x}", i + 1).parse().unwrap();
            assert!(signins.reserve(ip), "attempt {i}");
            signins.failed(ip);
        }
        assert!(!signins.reserve("2001:db8:5:6:ffff::1".parse().unwrap()));
        assert!(signins.reserve("2001:db8:5:7::1".parse().unwrap()));
    }

    #[test]
    fn ten_failures_lock_a_client_out_for_a_minute() {
        let mut t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        for i in 0..10 {
            let at = start + Duration::from_secs(60 * i);
            assert!(t.reserve(ip, at), "attempt {i}");
            t.failed(ip, at);
        }
        let last = start + Duration::from_secs(540);
        assert!(!t.reserve(ip, last + Duration::from_secs(1)));
        assert!(t.reserve(other, last + Duration::from_secs(1)));
        // The first failure left the window, but the minute holds.
        assert!(!t.reserve(ip, last + Duration::from_secs(59)));
        assert!(t.reserve(ip, last + Duration::from_secs(61)));
    }

    #[test]
    fn no_more_than_ten_are_checked_however_many_arrive_at_once() {
        let mut t = Throttle::default();
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        let now = Instant::now();
        let checked = (0..200).filter(|_| t.reserve(ip, now)).count();
        assert_eq!(checked, Throttle::LIMIT);
        // Still refused after the lockout's minute: ten were checked
        // within the ten minutes.
        assert!(!t.reserve(ip, now + Duration::from_secs(300)));
        assert!(t.reserve(ip, now + Duration::from_secs(601)));
    }

    #[test]
    fn a_success_gives_back_its_own_attempt_only() {
        let mut t = Throttle::default();
        let ip: IpAddr = "192.0.2.11".parse().unwrap();
        let now = Instant::now();
        for _ in 0..9 {
            assert!(t.reserve(ip, now));
            t.failed(ip, now);
        }
        for _ in 0..5 {
            assert!(t.reserve(ip, now));
            t.succeeded(ip);
        }
        assert!(t.reserve(ip, now));
        t.failed(ip, now);
        assert!(!t.reserve(ip, now));
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut t = Throttle::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let start = Instant::now();
        for i in 0..9 {
            assert!(t.reserve(ip, start + Duration::from_secs(i)));
            t.failed(ip, start + Duration::from_secs(i));
        }
        assert!(t.reserve(ip, start + Duration::from_secs(700)));
        t.failed(ip, start + Duration::from_secs(700));
        assert!(t.reserve(ip, start + Duration::from_secs(701)));
    }

    #[test]
    fn a_poisoned_throttle_still_lets_people_sign_in() {
        let shared = std::sync::Arc::new(SignIns::default());
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let holder = shared.clone();
        let _ = std::thread::spawn(move || {
            let _held = holder.0.lock();
            panic!("poisons the lock");
        })
        .join();
        assert!(shared.0.is_poisoned());
        assert!(shared.reserve(ip));
        shared.failed(ip);
        shared.succeeded(ip);
    }
}
