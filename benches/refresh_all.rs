//! Refresh-all at scale: N accounts (default 1,000) on M loopback origins (default 300,
//! 127.0.x.y, so 3–4 accounts per origin) with injected latency (default 50 ms per
//! request), under the real per-origin politeness limits. The floor is the busiest
//! origin refreshed alone (its accounts only, a fresh client): every origin serves
//! ~1 request/s, so refresh-all can end no sooner. Prints both, the ratio (goal ≤ 1.2)
//! and the peak RSS of this process. Asserts nothing about time.
//!
//!     cargo bench --bench refresh_all -- [ACCOUNTS] [ORIGINS] [LATENCY_MS]

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/fake_relay/mod.rs"]
mod fake_relay;

use std::sync::Arc;
use std::time::Instant;

use apihub::domain::{Account, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::{CancelFlag, RefreshEvent, refresh_accounts};
use apihub::relay::{ClientConfig, RelayClient};
use apihub::store::{SharedStore, Store};
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(1000) as usize;
    let origins = (args.get(1).copied().unwrap_or(300) as usize).clamp(1, 60_000);
    let latency_ms = args.get(2).copied().unwrap_or(50);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(n, origins, latency_ms));
}

async fn run(n: usize, origins: usize, latency_ms: u64) {
    let mut fakes = Vec::with_capacity(origins);
    for i in 0..origins {
        // new-api current: token auth only, so several accounts (user ids) share a fake.
        let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
        cfg.delay_ms = latency_ms;
        cfg.key_count = 10;
        let ip = format!("127.0.{}.{}:0", 1 + i / 250, 1 + i % 250);
        fakes.push(FakeRelay::start_on(&ip, cfg).await);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = Store::open_shared(dir.path()).expect("store");
    {
        let mut s = store.lock().expect("lock");
        for i in 0..n {
            let f = &fakes[i % origins];
            let cfg = f.cfg();
            s.upsert_account(&NewAccount {
                site_url: f.url.clone(),
                site_name: format!("fake {}", i % origins),
                kind: SiteKind::NewApi,
                user_id: (i / origins + 1).to_string(),
                username: format!("user{i}"),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
            })
            .expect("seed");
        }
    }
    let accounts = store.lock().expect("lock").list_accounts().expect("list");
    let busiest: Vec<Account> = accounts.iter().filter(|a| a.site.url == fakes[0].url).cloned().collect();

    let (alone, _) = timed(&store, busiest.clone()).await;
    let alone_requests = fakes[0].requests();

    let before: usize = fakes.iter().map(FakeRelay::requests).sum();
    let origin_of: std::collections::HashMap<i64, String> =
        accounts.iter().map(|a| (a.id, a.site.url.clone())).collect();
    let (all, summary, done) = timed_with_finishes(&store, accounts).await;
    let requests: usize = fakes.iter().map(FakeRelay::requests).sum::<usize>() - before;
    println!("accounts={n} origins={origins} latency_ms={latency_ms}");
    println!("busiest_origin_alone_ms={} accounts={} requests={alone_requests}", alone.as_millis(), busiest.len());
    println!("all_accounts_ms={} requests={requests} ok={} failed={}", all.as_millis(), summary.ok, summary.failed);
    println!("ratio_all_to_busiest_origin={:.2} (goal <= 1.20)", all.as_secs_f64() / alone.as_secs_f64());
    // When each origin finished its last account, by how many accounts it had: shows
    // whether the end is set by the busiest origins (scheduling) or by every origin
    // (shared CPU, store).
    let mut per_origin: std::collections::HashMap<&str, (usize, f64)> = std::collections::HashMap::new();
    for (id, at) in &done {
        let e = per_origin.entry(origin_of[id].as_str()).or_default();
        e.0 += 1;
        e.1 = e.1.max(*at);
    }
    let mut by_count: std::collections::BTreeMap<usize, Vec<f64>> = std::collections::BTreeMap::new();
    for (count, last) in per_origin.values() {
        by_count.entry(*count).or_default().push(*last);
    }
    for (count, mut lasts) in by_count {
        lasts.sort_by(f64::total_cmp);
        let q = |f: f64| lasts[((lasts.len() - 1) as f64 * f) as usize];
        println!(
            "origins_with_{count}_accounts={} finished_s min={:.1} p50={:.1} max={:.1}",
            lasts.len(),
            q(0.0),
            q(0.5),
            q(1.0)
        );
    }
    println!("peak_rss_mb={:.1} (this process: fakes + client + store)", peak_rss_kb() as f64 / 1024.0);
}

/// One refresh-all run with a fresh client (empty per-origin limiters).
async fn timed(store: &SharedStore, accounts: Vec<Account>) -> (std::time::Duration, apihub::engine::RefreshSummary) {
    let (d, summary, _) = timed_with_finishes(store, accounts).await;
    (d, summary)
}

/// As [`timed`], also when each account finished (seconds from the start).
async fn timed_with_finishes(
    store: &SharedStore,
    accounts: Vec<Account>,
) -> (std::time::Duration, apihub::engine::RefreshSummary, Vec<(i64, f64)>) {
    let client = Arc::new(RelayClient::new(ClientConfig::default()).expect("client"));
    let t = Instant::now();
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = done.clone();
    let summary = refresh_accounts(
        client,
        store.clone(),
        accounts,
        apihub::engine::DEFAULT_MAX_CONCURRENCY,
        CancelFlag::default(),
        move |e| {
            if let RefreshEvent::AccountDone { account_id, .. } = e {
                sink.lock().expect("lock").push((account_id, t.elapsed().as_secs_f64()));
            }
        },
    )
    .await;
    let done = std::mem::take(&mut *done.lock().expect("lock"));
    (t.elapsed(), summary, done)
}

/// `VmHWM` of this process in kB (0 where /proc is missing).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
