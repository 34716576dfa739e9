//! Cool-downs (breakers) and the time-to-first-byte average, lock-free on the request path.
//!
//! Each candidate checks three [`Health`] cells: its account's, its key's and its key's
//! model's. A failure cools the cell its class points at for `base × 2^(strikes−1)`
//! (capped; a 429's `Retry-After` is a floor). When the time is up the cell is half-open:
//! exactly one request may try it (the trial); success closes the breaker and forgets the
//! strikes, failure cools it again for twice as long. Cells live in a registry keyed by
//! what they describe, so a rebuilt route table keeps them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::classify::FailClass;
use crate::domain::AccountId;

/// Milliseconds on a monotonic clock; tests use a [`ManualClock`].
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since an arbitrary start (never 0 for a real reading: 0 means "healthy").
    fn now_ms(&self) -> u64;
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

/// A clock moved by hand (tests of cool-down and recovery, no sleeping).
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock(AtomicU64::new(1_000))
    }
}

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance_ms(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Where a failure class cools down, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The whole account (site down, rate limit, balance gone).
    Account,
    /// One key (invalid, expired, its own quota gone).
    Key,
    /// One model on one key (not in the key's group, no such route).
    Model,
}

/// `(scope, base ms, cap ms)` for a failure class; `None` for a client error (no cool-down).
pub fn cooldown_for(class: FailClass) -> Option<(Scope, u64, u64)> {
    const S: u64 = 1_000;
    const MIN: u64 = 60 * S;
    const HOUR: u64 = 60 * MIN;
    Some(match class {
        FailClass::Transient => (Scope::Account, 2 * S, 2 * MIN),
        FailClass::RateLimited { .. } => (Scope::Account, 5 * S, 10 * MIN),
        FailClass::KeyAuth | FailClass::KeyQuota => (Scope::Key, 5 * MIN, 6 * HOUR),
        FailClass::AccountQuota => (Scope::Account, 10 * MIN, 6 * HOUR),
        FailClass::ModelMissing => (Scope::Model, 10 * MIN, 6 * HOUR),
        FailClass::Unsupported => (Scope::Model, 5 * MIN, 6 * HOUR),
        FailClass::Client => return None,
    })
}

/// Whether a cell admits a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Healthy.
    Open,
    /// Cooling down until this clock reading; `soft` when only for a transient failure or a
    /// rate limit (such a candidate may still be tried when nothing else is left).
    Closed {
        /// Clock reading when it reopens.
        until_ms: u64,
        /// Cooling for a transient failure or a rate limit.
        soft: bool,
    },
    /// Half-open and the trial is taken by another request.
    TrialBusy,
    /// Half-open and free: a request may claim the trial.
    TrialFree,
}

/// One breaker cell.
#[derive(Debug, Default)]
pub struct Health {
    /// 0 = healthy; else the clock reading the cool-down ends at.
    until_ms: AtomicU64,
    strikes: AtomicU32,
    trial: AtomicBool,
    /// The last failure was transient or a rate limit.
    soft: AtomicBool,
}

impl Health {
    /// Looks without claiming anything.
    pub fn gate(&self, now_ms: u64) -> Gate {
        let until = self.until_ms.load(Ordering::Acquire);
        if until == 0 {
            Gate::Open
        } else if now_ms < until {
            Gate::Closed { until_ms: until, soft: self.soft.load(Ordering::Relaxed) }
        } else if self.trial.load(Ordering::Acquire) {
            Gate::TrialBusy
        } else {
            Gate::TrialFree
        }
    }

    /// Claims the half-open trial; false when another request got it first.
    pub fn claim_trial(&self) -> bool {
        self.trial.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Gives a claimed trial back unused (the request ended some other way).
    pub fn release_trial(&self) {
        self.trial.store(false, Ordering::Release);
    }

    /// A success: closes the breaker and forgets the strikes.
    pub fn success(&self) {
        if self.until_ms.load(Ordering::Relaxed) != 0 || self.strikes.load(Ordering::Relaxed) != 0 {
            self.strikes.store(0, Ordering::Relaxed);
            self.until_ms.store(0, Ordering::Release);
            self.trial.store(false, Ordering::Release);
        }
    }

    /// A failure: cools for `base × 2^(strikes−1)` capped at `cap`, at least `floor_ms`.
    pub fn failure(&self, now_ms: u64, base_ms: u64, cap_ms: u64, floor_ms: Option<u64>, soft: bool) -> u64 {
        let strikes = self.strikes.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        let backoff = base_ms.saturating_mul(1u64 << (strikes - 1).min(20)).min(cap_ms);
        let dur = floor_ms.map_or(backoff, |f| backoff.max(f.min(6 * 3_600_000)));
        self.soft.store(soft, Ordering::Relaxed);
        self.until_ms.store(now_ms.saturating_add(dur).max(1), Ordering::Release);
        self.trial.store(false, Ordering::Release);
        dur
    }

    /// Failures in a row.
    pub fn strikes(&self) -> u32 {
        self.strikes.load(Ordering::Relaxed)
    }
}

/// A moving average of time to first byte (ms), 0 bits = not measured yet.
#[derive(Debug, Default)]
pub struct Ewma(AtomicU64);

impl Ewma {
    /// Weight of a new sample.
    const ALPHA: f64 = 0.3;

    /// Adds a sample.
    pub fn record(&self, ms: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let next =
                if cur == 0 { ms.max(0.001) } else { f64::from_bits(cur) * (1.0 - Self::ALPHA) + ms * Self::ALPHA };
            match self.0.compare_exchange_weak(cur, next.to_bits(), Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The average, when measured.
    pub fn get(&self) -> Option<f64> {
        let b = self.0.load(Ordering::Relaxed);
        (b != 0).then(|| f64::from_bits(b))
    }
}

/// What a cell describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CellKey {
    Account(AccountId),
    Key(AccountId, i64),
    Model(AccountId, i64, String),
    Ttfb(AccountId, String),
}

/// Every cell, kept across route-table rebuilds (locked only while a table is built).
#[derive(Debug, Default)]
pub struct HealthRegistry {
    health: Mutex<HashMap<CellKey, Arc<Health>>>,
    ttfb: Mutex<HashMap<CellKey, Arc<Ewma>>>,
}

impl HealthRegistry {
    fn cell(&self, key: CellKey) -> Arc<Health> {
        let mut g = self.health.lock().unwrap_or_else(|p| p.into_inner());
        g.entry(key).or_default().clone()
    }

    /// The account's cell.
    pub fn account(&self, a: AccountId) -> Arc<Health> {
        self.cell(CellKey::Account(a))
    }

    /// A key's cell (`key_id` 0 = the account's own key).
    pub fn key(&self, a: AccountId, key_id: i64) -> Arc<Health> {
        self.cell(CellKey::Key(a, key_id))
    }

    /// A model's cell on a key.
    pub fn model(&self, a: AccountId, key_id: i64, model: &str) -> Arc<Health> {
        self.cell(CellKey::Model(a, key_id, model.to_string()))
    }

    /// The time-to-first-byte average of a model on an account.
    pub fn ttfb(&self, a: AccountId, model: &str) -> Arc<Ewma> {
        let mut g = self.ttfb.lock().unwrap_or_else(|p| p.into_inner());
        g.entry(CellKey::Ttfb(a, model.to_string())).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_then_one_trial_recovers() {
        let h = Health::default();
        assert_eq!(h.gate(10), Gate::Open);
        assert_eq!(h.failure(10, 1000, 10_000, None, true), 1000);
        assert_eq!(h.gate(500), Gate::Closed { until_ms: 1010, soft: true });
        // Time up: half-open; exactly one request gets the trial.
        assert_eq!(h.gate(1010), Gate::TrialFree);
        assert!(h.claim_trial());
        assert!(!h.claim_trial());
        assert_eq!(h.gate(1011), Gate::TrialBusy);
        // The trial fails: twice as long.
        assert_eq!(h.failure(1100, 1000, 10_000, None, true), 2000);
        assert_eq!(h.failure(3100, 1000, 10_000, None, true), 4000);
        assert_eq!(h.failure(7100, 1000, 5_000, None, true), 5000, "capped");
        assert_eq!(h.strikes(), 4);
        assert!(h.claim_trial());
        h.success();
        assert_eq!(h.gate(7200), Gate::Open);
        assert_eq!(h.strikes(), 0);
        // A released trial can be claimed again.
        h.failure(0, 10, 10, None, false);
        assert_eq!(h.gate(5), Gate::Closed { until_ms: 10, soft: false });
        assert!(h.claim_trial());
        h.release_trial();
        assert_eq!(h.gate(20), Gate::TrialFree);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let h = Health::default();
        assert_eq!(h.failure(0, 5000, 600_000, Some(30_000), true), 30_000);
        let h = Health::default();
        assert_eq!(h.failure(0, 5000, 600_000, Some(1), true), 5000);
    }

    #[test]
    fn classes_cool_their_own_scope() {
        assert_eq!(cooldown_for(FailClass::KeyAuth).unwrap().0, Scope::Key);
        assert_eq!(cooldown_for(FailClass::AccountQuota).unwrap().0, Scope::Account);
        assert_eq!(cooldown_for(FailClass::ModelMissing).unwrap().0, Scope::Model);
        assert_eq!(cooldown_for(FailClass::RateLimited { retry_after_ms: None }).unwrap().0, Scope::Account);
        assert!(cooldown_for(FailClass::Client).is_none());
        let long = cooldown_for(FailClass::KeyAuth).unwrap().1;
        let short = cooldown_for(FailClass::Transient).unwrap().1;
        assert!(long > short * 10, "auth cools down longer");
    }

    #[test]
    fn ewma_moves_toward_samples_and_registry_keeps_cells() {
        let e = Ewma::default();
        assert_eq!(e.get(), None);
        e.record(100.0);
        assert_eq!(e.get(), Some(100.0));
        e.record(200.0);
        assert!((e.get().unwrap() - 130.0).abs() < 1e-9);
        let r = HealthRegistry::default();
        assert!(Arc::ptr_eq(&r.account(1), &r.account(1)));
        assert!(!Arc::ptr_eq(&r.key(1, 2), &r.key(1, 3)));
        assert!(Arc::ptr_eq(&r.ttfb(1, "m"), &r.ttfb(1, "m")));
    }
}
