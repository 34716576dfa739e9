//! Per-origin politeness: at most `max_in_flight` concurrent requests, a token bucket
//! (`per_sec` sustained, `burst`), a pause of the whole origin after a 429, and a least
//! gap between two `/api/log…` requests (servers rate-limit those separately).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Duration, Instant};

use super::OriginLimits;

/// The limiter of one origin (scheme + host + port).
#[derive(Debug)]
pub struct OriginLimiter {
    limits: OriginLimits,
    slots: Arc<Semaphore>,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
    /// Latest start reserved for a log request (reserved before a slot is taken, so
    /// waiting log requests never hold the origin's slots).
    log_reserved: Option<Instant>,
    /// When the last log request was let through.
    log_sent: Option<Instant>,
}

/// Whether a URL path is a log endpoint: `/api/log` or anything under `/api/log/`
/// (also behind a base-path prefix).
pub fn is_log_path(path: &str) -> bool {
    path.match_indices("/api/log").any(|(i, m)| {
        let rest = &path[i + m.len()..];
        rest.is_empty() || rest.starts_with('/')
    })
}

/// A granted request slot; the slot is released when this is dropped.
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

/// What [`OriginLimiter::acquire`] decided when the origin is paused for long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PausedFor {
    /// Seconds left of the pause.
    pub remaining_secs: u64,
}

impl OriginLimiter {
    /// A limiter with these limits (zeros are raised to sane minimums).
    pub fn new(limits: OriginLimits) -> OriginLimiter {
        let max = limits.max_in_flight.max(1);
        let burst = f64::from(limits.burst.max(1));
        OriginLimiter {
            limits,
            slots: Arc::new(Semaphore::new(max)),
            state: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
                paused_until: None,
                log_reserved: None,
                log_sent: None,
            }),
        }
    }

    fn rate(&self) -> f64 {
        if self.limits.per_sec.is_finite() && self.limits.per_sec > 0.0 { self.limits.per_sec } else { 1.0 }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Waits for a slot and a token. If the origin is paused (after a 429) for longer
    /// than `max_wait`, gives up at once with the time left instead of waiting.
    pub async fn acquire(&self, max_wait: Duration) -> Result<Permit, PausedFor> {
        self.acquire_for("", max_wait).await
    }

    /// As [`OriginLimiter::acquire`] for a request to `path`: log paths
    /// ([`is_log_path`]) are also kept `log_min_gap_ms` apart; other paths are not
    /// delayed by them.
    pub async fn acquire_for(&self, path: &str, max_wait: Duration) -> Result<Permit, PausedFor> {
        let gap = Duration::from_millis(self.limits.log_min_gap_ms);
        let is_log = !gap.is_zero() && is_log_path(path);
        if is_log {
            // Reserve a start time first, without holding a slot.
            let start = {
                let mut st = self.lock();
                let now = Instant::now();
                let start = st.log_reserved.map_or(now, |r| (r + gap).max(now));
                st.log_reserved = Some(start);
                start
            };
            tokio::time::sleep_until(start).await;
        }
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(s) => s,
            // The semaphore is never closed; treat it as "no limit" if it ever is.
            Err(_) => return Err(PausedFor { remaining_secs: 0 }),
        };
        loop {
            let wait = {
                let mut st = self.lock();
                let now = Instant::now();
                if let Some(until) = st.paused_until {
                    if until > now {
                        let left = until - now;
                        if left > max_wait {
                            return Err(PausedFor { remaining_secs: left.as_secs_f64().ceil() as u64 });
                        }
                        Some(left)
                    } else {
                        st.paused_until = None;
                        None
                    }
                } else {
                    None
                };
                let burst = f64::from(self.limits.burst.max(1));
                let elapsed = now.saturating_duration_since(st.last).as_secs_f64();
                st.tokens = (st.tokens + elapsed * self.rate()).min(burst);
                st.last = now;
                let log_wait = st.log_sent.filter(|_| is_log).map(|t| t + gap).filter(|t| *t > now);
                match st.paused_until {
                    Some(until) if until > now => Some(until - now),
                    // A log request that lost its reserved turn (slot or token waits).
                    _ if log_wait.is_some() => log_wait.map(|t| t - now),
                    _ if st.tokens >= 1.0 => {
                        st.tokens -= 1.0;
                        if is_log {
                            st.log_sent = Some(now);
                        }
                        None
                    }
                    _ => Some(Duration::from_secs_f64(((1.0 - st.tokens) / self.rate()).max(0.001))),
                }
            };
            match wait {
                None => return Ok(Permit { _slot: slot }),
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Pauses the origin after a 429: `retry_after_secs` if given, else the configured
    /// default; capped at `max_pause_secs`.
    pub fn pause(&self, retry_after_secs: Option<u64>) {
        let secs = retry_after_secs.unwrap_or(self.limits.pause_on_429_secs).min(self.limits.max_pause_secs);
        let until = Instant::now() + Duration::from_secs(secs);
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.paused_until = Some(st.paused_until.map_or(until, |u| u.max(until)));
        st.tokens = 0.0;
    }
}

/// All origins' limiters, created on first use.
#[derive(Debug, Default)]
pub struct LimiterRegistry {
    limits: OriginLimits,
    map: Mutex<HashMap<String, Arc<OriginLimiter>>>,
}

impl LimiterRegistry {
    /// A registry giving every origin these limits.
    pub fn new(limits: OriginLimits) -> LimiterRegistry {
        LimiterRegistry { limits, map: Mutex::new(HashMap::new()) }
    }

    /// The limiter of `origin` (e.g. `https://api.example.com:443`).
    pub fn get(&self, origin: &str) -> Arc<OriginLimiter> {
        let mut map = match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        map.entry(origin.to_string()).or_insert_with(|| Arc::new(OriginLimiter::new(self.limits.clone()))).clone()
    }
}

/// `scheme://host:port` of a URL (the port made explicit), or `None` if it does not parse.
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    let port = u.port_or_known_default()?;
    Some(format!("{}://{}:{}", u.scheme(), host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_in_flight: usize, per_sec: f64, burst: u32) -> OriginLimits {
        OriginLimits { max_in_flight, per_sec, burst, ..OriginLimits::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn token_bucket_allows_burst_then_sustained_rate() {
        let l = OriginLimiter::new(limits(10, 2.0, 4));
        let start = Instant::now();
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(l.acquire(Duration::from_secs(60)).await.unwrap());
        }
        assert_eq!(Instant::now(), start, "the burst is immediate");
        held.push(l.acquire(Duration::from_secs(60)).await.unwrap());
        // The fifth waits for one token at 2/s.
        assert_eq!(Instant::now() - start, Duration::from_millis(500));
        held.push(l.acquire(Duration::from_secs(60)).await.unwrap());
        assert_eq!(Instant::now() - start, Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_is_bounded() {
        let l = Arc::new(OriginLimiter::new(limits(2, 1000.0, 100)));
        let a = l.acquire(Duration::from_secs(1)).await.unwrap();
        let _b = l.acquire(Duration::from_secs(1)).await.unwrap();
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.acquire(Duration::from_secs(1)).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!third.is_finished(), "a third request must wait for a slot");
        drop(a);
        third.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_origin() {
        let l = OriginLimiter::new(OriginLimits { pause_on_429_secs: 7, ..limits(2, 1000.0, 100) });
        l.pause(None);
        let start = Instant::now();
        drop(l.acquire(Duration::from_secs(30)).await.unwrap());
        assert_eq!(Instant::now() - start, Duration::from_secs(7));
        // A long Retry-After is not waited out: the caller is told how long is left.
        l.pause(Some(120));
        let e = l.acquire(Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(e.remaining_secs, 120);
    }

    #[tokio::test(start_paused = true)]
    async fn log_requests_are_spaced_and_other_paths_are_not() {
        let l = OriginLimiter::new(OriginLimits { log_min_gap_ms: 200, ..limits(2, 1000.0, 100) });
        let start = Instant::now();
        drop(l.acquire_for("/api/log/self", Duration::from_secs(5)).await.unwrap());
        drop(l.acquire_for("/api/user/self", Duration::from_secs(5)).await.unwrap());
        assert_eq!(Instant::now(), start, "the first log request and other paths go at once");
        drop(l.acquire_for("/api/log/self/stat", Duration::from_secs(5)).await.unwrap());
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        drop(l.acquire_for("/api/user/self", Duration::from_secs(5)).await.unwrap());
        assert_eq!(Instant::now() - start, Duration::from_millis(200));
        assert!(is_log_path("/api/log") && is_log_path("/relay/api/log/self") && !is_log_path("/api/logo"));
    }

    #[test]
    fn origins_make_the_port_explicit() {
        assert_eq!(origin_of("https://A.example.com/api/x").as_deref(), Some("https://a.example.com:443"));
        assert_eq!(origin_of("http://127.0.0.1:3000/").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("not a url"), None);
    }
}
