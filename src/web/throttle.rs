//! The throttle on repeated failed sign-ins (SPEC §6): a web concern — it
//! counts by the client's IP address, which only the server knows — kept
//! in memory, per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The throttle every request shares.
#[derive(Debug, Default)]
pub struct SignIns(Mutex<Throttle>);

impl SignIns {
    /// May `client` try to sign in now?
    pub fn allows(&self, client: IpAddr) -> bool {
        self.lock().allows(client, Instant::now())
    }

    pub fn failed(&self, client: IpAddr) {
        self.lock().failed(client, Instant::now());
    }

    pub fn succeeded(&self, client: IpAddr) {
        self.lock().succeeded(client);
    }

    /// The throttle, even after a thread panicked holding it: its counts
    /// are always whole, and a poisoned lock read as "refuse" would answer
    /// every sign-in with 429 until a restart.
    fn lock(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Failed sign-ins by client address: after `LIMIT` within `WINDOW`, that
/// client's sign-ins are refused for `LOCKOUT` (SPEC §6: 10, 10 minutes, a
/// minute).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<IpAddr, Vec<Instant>>,
    locked: HashMap<IpAddr, Instant>,
}

impl Throttle {
    pub const LIMIT: usize = 10;
    pub const WINDOW: Duration = Duration::from_secs(600);
    pub const LOCKOUT: Duration = Duration::from_secs(60);

    /// May `client` try to sign in at `now`?
    pub fn allows(&mut self, client: IpAddr, now: Instant) -> bool {
        match self.locked.get(&client) {
            Some(&until) if now < until => false,
            Some(_) => {
                self.locked.remove(&client);
                true
            }
            None => true,
        }
    }

    /// Records a failed sign-in.
    pub fn failed(&mut self, client: IpAddr, now: Instant) {
        let recent = self.failures.entry(client).or_default();
        recent.retain(|&t| now.duration_since(t) < Self::WINDOW);
        recent.push(now);
        if recent.len() >= Self::LIMIT {
            recent.clear();
            self.locked.insert(client, now + Self::LOCKOUT);
        }
        // Forget clients that went quiet, so the map cannot grow forever.
        if self.failures.len() > 10_000 {
            self.failures.retain(|_, v| {
                v.last()
                    .is_some_and(|&t| now.duration_since(t) < Self::WINDOW)
            });
        }
    }

    /// A successful sign-in clears the client's failures.
    pub fn succeeded(&mut self, client: IpAddr) {
        self.failures.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_a_client_out_for_a_minute() {
        let mut t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Instant::now();
        for i in 0..9 {
            assert!(t.allows(ip, start));
            t.failed(ip, start + Duration::from_secs(i));
        }
        assert!(t.allows(ip, start + Duration::from_secs(10)));
        t.failed(ip, start + Duration::from_secs(10));
        assert!(!t.allows(ip, start + Duration::from_secs(11)));
        assert!(t.allows(other, start + Duration::from_secs(11)));
        assert!(!t.allows(ip, start + Duration::from_secs(69)));
        assert!(t.allows(ip, start + Duration::from_secs(71)));
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut t = Throttle::default();
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let start = Instant::now();
        for i in 0..9 {
            t.failed(ip, start + Duration::from_secs(i));
        }
        t.failed(ip, start + Duration::from_secs(700));
        assert!(t.allows(ip, start + Duration::from_secs(701)));
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
        assert!(shared.allows(ip));
        shared.failed(ip);
        shared.succeeded(ip);
    }
}
