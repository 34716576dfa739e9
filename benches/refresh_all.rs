//! Refresh-all throughput: N accounts (default 300) on N distinct loopback origins
//! (127.0.0.x) with injected latency (default 100 ms per request). Prints the wall
//! time, requests sent, and the ratio to refreshing one account alone (goal ≤ 2).
//! Asserts nothing about time.
//!
//!     cargo bench --bench refresh_all -- [N] [LATENCY_MS]

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/fake_relay/mod.rs"]
mod fake_relay;

use std::sync::Arc;
use std::time::Instant;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::{CancelFlag, refresh_accounts};
use apihub::relay::{ClientConfig, RelayClient};
use apihub::store::Store;
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(300) as usize;
    let latency_ms = args.get(1).copied().unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run(n, latency_ms));
}

async fn run(n: usize, latency_ms: u64) {
    let mut fakes = Vec::with_capacity(n);
    for i in 0..n {
        let mut cfg = FakeConfig::new(Variant::NewApiClassic);
        cfg.delay_ms = latency_ms;
        cfg.key_count = 10;
        let ip = format!("127.0.{}.{}:0", 1 + i / 250, 1 + i % 250);
        fakes.push(FakeRelay::start_on(&ip, cfg).await);
    }
    let client = Arc::new(RelayClient::new(ClientConfig::default()).expect("client"));
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = Store::open_shared(dir.path()).expect("store");
    {
        let mut s = store.lock().expect("lock");
        for (i, f) in fakes.iter().enumerate() {
            let cfg = f.cfg();
            s.upsert_account(&NewAccount {
                site_url: f.url.clone(),
                site_name: format!("fake {i}"),
                kind: SiteKind::NewApi,
                user_id: cfg.user_id.to_string(),
                username: cfg.username.clone(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
            })
            .expect("seed");
        }
    }
    let accounts = store.lock().expect("lock").list_accounts().expect("list");

    let t = Instant::now();
    refresh_accounts(client.clone(), store.clone(), accounts[..1].to_vec(), 1, CancelFlag::default(), |_| {}).await;
    let one = t.elapsed();
    let one_requests = fakes[0].requests();

    let before: usize = fakes.iter().map(FakeRelay::requests).sum();
    let t = Instant::now();
    let summary = refresh_accounts(
        client,
        store,
        accounts,
        apihub::engine::DEFAULT_MAX_CONCURRENCY,
        CancelFlag::default(),
        |_| {},
    )
    .await;
    let all = t.elapsed();
    let requests: usize = fakes.iter().map(FakeRelay::requests).sum::<usize>() - before;
    println!("accounts={n} latency_ms={latency_ms}");
    println!("one_account_ms={} requests_per_account={one_requests}", one.as_millis());
    println!("all_accounts_ms={} requests={requests} ok={} failed={}", all.as_millis(), summary.ok, summary.failed);
    println!("ratio_all_to_one={:.2}", all.as_secs_f64() / one.as_secs_f64());
}
