//! Usage log sync of sub2api accounts (`GET /api/v1/usage`, `{code, message, data}`,
//! Bearer JWT, USD costs) against the fake sub2api site, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use apihub::domain::usage_log::{LogFilter, LogKind};
use apihub::domain::{Account, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::log_sync::{LogSyncError, SyncOptions, sync_account};
use apihub::store::{SharedStore, Store};
use fake_relay::{FakeConfig, FakeRelay, LogRow, Variant};

fn add(store: &SharedStore, fake: &FakeRelay) -> Account {
    let cfg = fake.cfg();
    let mut s = store.lock().unwrap();
    let id = s
        .upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "sub2api".into(),
            kind: SiteKind::Sub2api,
            user_id: cfg.user_id.to_string(),
            username: cfg.username.clone(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    s.account(id).unwrap()
}

fn count(store: &SharedStore, f: &LogFilter) -> usize {
    store.lock().unwrap().count_usage_logs(f).unwrap()
}

fn consume(cfg: &FakeConfig) -> Vec<LogRow> {
    cfg.logs.iter().filter(|r| r.log_type == 2).cloned().collect()
}

fn usage_paths(fake: &FakeRelay, from: usize) -> Vec<String> {
    fake.paths()[from..].iter().filter(|p| p.starts_with("/api/v1/usage?")).cloned().collect()
}

async fn setup(cfg: FakeConfig) -> (FakeRelay, tempfile::TempDir, SharedStore, Account) {
    let fake = FakeRelay::start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let acc = add(&store, &fake);
    (fake, dir, store, acc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_stores_exactly_the_sites_rows_with_usd_costs_in_quota_units() {
    let (fake, _dir, store, acc) = setup(FakeConfig::new(Variant::Sub2api)).await;
    let r = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    let rows = consume(&fake.cfg());
    assert_eq!(r.partial, None, "{r:?}");
    assert_eq!((r.fetched, r.inserted), (rows.len(), rows.len()), "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), rows.len());
    assert_eq!(count(&store, &LogFilter { kind: Some(LogKind::Consume), ..Default::default() }), rows.len());

    // Pages asked newest first, 100 a page, 1-based, with a date window.
    let pages = usage_paths(&fake, 0);
    assert_eq!(pages.len(), 2, "{} rows = 2 pages of 100: {pages:?}", rows.len());
    assert!(pages[0].starts_with("/api/v1/usage?page=1&page_size=100&start_date="), "{pages:?}");
    assert!(pages[0].contains("sort_order=desc") && pages[0].contains("timezone=UTC"), "{pages:?}");
    assert!(pages[1].starts_with("/api/v1/usage?page=2&"), "{pages:?}");

    // Sums equal the fake's: actual_cost USD × 500,000 = the quota it was made from.
    let s = store.lock().unwrap();
    let st = s.usage_log_stats(&LogFilter::default()).unwrap();
    assert_eq!(st.totals.requests, rows.len() as i64);
    assert_eq!(st.totals.quota, rows.iter().map(|r| r.quota).sum::<i64>());
    assert_eq!(st.totals.prompt_tokens, rows.iter().map(|r| r.prompt_tokens).sum::<i64>());
    assert_eq!(st.totals.completion_tokens, rows.iter().map(|r| r.completion_tokens).sum::<i64>());
    let claude = st.by_model.iter().find(|b| b.key == "claude-sonnet").unwrap();
    let want: i64 = rows.iter().filter(|r| r.model_name == "claude-sonnet").map(|r| r.quota).sum();
    assert_eq!(claude.totals.quota, want);
    assert_eq!(st.by_day.len(), 2, "today and yesterday");

    // One row in detail: the fake's consume row 0 is the newest with the lowest quota.
    let first = &rows[0];
    let f = LogFilter { model: Some(first.model_name.clone()), ..Default::default() };
    let all = s.query_usage_logs(&f, 1_000, 0).unwrap();
    let r0 = all.iter().find(|r| r.quota == first.quota).expect("row 0 stored");
    assert_eq!(r0.created_at, first.created_at);
    assert_eq!((r0.prompt_tokens, r0.completion_tokens), (first.prompt_tokens, first.completion_tokens));
    assert_eq!((r0.token_name.as_str(), r0.group.as_str()), ("key-0", "default"));
    assert_eq!((r0.duration_ms, r0.is_stream, r0.kind), (Some(1500), true, LogKind::Consume));
    assert_eq!(r0.request_id, "req-000000");
    assert!(
        r0.other.contains("\"cache_read_tokens\":0") && r0.other.contains("\"rate_multiplier\":0.8"),
        "{}",
        r0.other
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_adds_only_the_new_rows() {
    let (fake, _dir, store, acc) = setup(FakeConfig::new(Variant::Sub2api)).await;
    let relay = common::fast_relay();
    sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
    let before_rows = count(&store, &LogFilter::default());

    // 25 new requests; some share a second and a model with older ones.
    let now = chrono::Utc::now().timestamp();
    {
        let mut c = fake.state.cfg.lock().unwrap();
        for i in 0..25 {
            c.logs.push(LogRow {
                created_at: now - i / 5,
                log_type: 2,
                model_name: "new-model".into(),
                quota: 700 + i,
                prompt_tokens: 3,
                completion_tokens: 4,
            });
        }
    }
    let before = fake.paths().len();
    let r = sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
    assert_eq!((r.inserted, r.partial.clone()), (25, None), "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), before_rows + 25, "no duplicates, no gaps");
    assert_eq!(count(&store, &LogFilter { model: Some("new-model".into()), ..Default::default() }), 25);
    let asked = usage_paths(&fake, before);
    let month_ago = chrono::DateTime::from_timestamp(now - 31 * 86_400, 0).unwrap().format("%Y-%m-%d").to_string();
    assert!(asked.iter().all(|p| !p.contains(&format!("start_date={month_ago}"))), "{asked:?}");
    assert_eq!(asked.len(), 2, "the new rows' page and one page of known rows: {asked:?}");

    let r = sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
    assert_eq!(r.inserted, 0, "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), consume(&fake.cfg()).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_depth_holds_although_sub2api_windows_are_whole_days() {
    let now = chrono::Utc::now().timestamp();
    let mut cfg = FakeConfig::new(Variant::Sub2api);
    for days in [2, 8, 31] {
        cfg.logs.push(LogRow {
            created_at: now - days * 86_400,
            log_type: 2,
            model_name: format!("old-{days}"),
            quota: 1,
            prompt_tokens: 1,
            completion_tokens: 1,
        });
    }
    let (fake, _dir, store, acc) = setup(cfg).await;
    let opts = SyncOptions { history_days: 7, ..Default::default() };
    let r = sync_account(&common::fast_relay(), &store, &acc, &opts).await.unwrap();
    assert_eq!(r.partial, None);
    let kept = |d: i64| count(&store, &LogFilter { model: Some(format!("old-{d}")), ..Default::default() });
    assert_eq!((kept(2), kept(8), kept(31)), (1, 0, 0), "the 8-day-old row is in the day-wide window but not kept");
    let want = consume(&fake.cfg()).iter().filter(|r| r.created_at > now - 7 * 86_400 - 60).count();
    assert_eq!(count(&store, &LogFilter::default()), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_an_auth_error_and_stored_rows_stay() {
    let (fake, _dir, store, acc) = setup(FakeConfig::new(Variant::Sub2api)).await;
    sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    let stored = count(&store, &LogFilter::default());
    assert!(stored > 100);

    // sub2api's string code in a 200 envelope.
    fake.state.cfg.lock().unwrap().fail_paths =
        vec![("/api/v1/usage?".into(), 200, r#"{"code":"TOKEN_EXPIRED","message":"Token has expired"}"#.into())];
    let e = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap_err();
    match &e {
        LogSyncError::Relay(r) => assert_eq!(r.kind(), "auth", "{e}"),
        other => panic!("not a relay error: {other}"),
    }
    assert_eq!(count(&store, &LogFilter::default()), stored);
    let st = store.lock().unwrap().log_sync_state(acc.id).unwrap();
    assert!(st.last_error.as_deref().is_some_and(|m| m.contains("expired")), "{st:?}");

    // A revoked JWT: HTTP 401 with `code: "UNAUTHORIZED"`.
    {
        let mut c = fake.state.cfg.lock().unwrap();
        c.fail_paths.clear();
        c.token = "someone-else".into();
    }
    let e = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap_err();
    assert!(matches!(&e, LogSyncError::Relay(r) if r.kind() == "auth"), "{e}");
    assert_eq!(count(&store, &LogFilter::default()), stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_sync_keeps_its_page_and_the_next_one_fills_the_gap() {
    let mut cfg = FakeConfig::new(Variant::Sub2api);
    cfg.rate_limit_after = Some(1); // page 1 answers, page 2 is a 429
    let (fake, _dir, store, acc) = setup(cfg).await;
    let r = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    assert!(r.partial.as_deref().is_some_and(|p| p.contains("rate")), "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), 100, "the first page is kept");
    let st = store.lock().unwrap().log_sync_state(acc.id).unwrap();
    assert_eq!((st.synced_until, st.last_complete), (None, false));

    fake.state.cfg.lock().unwrap().rate_limit_after = None;
    let r = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    assert_eq!(r.partial, None, "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), consume(&fake.cfg()).len(), "gap filled, no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_gives_usd_costs_and_no_quota_column_for_sub2api_rows() {
    let (fake, dir, store, acc) = setup(FakeConfig::new(Variant::Sub2api)).await;
    sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    let rows = consume(&fake.cfg());
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_apihub"))
            .arg("--data-dir")
            .arg(&d)
            .args(["logs", "--csv"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (quota, cost, currency) = (col("quota"), col("cost"), col("currency"));
    let data: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(data.len(), rows.len());
    let total: f64 = data.iter().map(|f| f[cost].parse::<f64>().unwrap()).sum();
    let want: f64 = rows.iter().map(|r| r.quota as f64 / 500_000.0).sum();
    assert!((total - want).abs() < 1e-3, "{total} vs {want} USD");
    assert!(data.iter().all(|f| f[quota].is_empty() && f[currency] == "USD"), "{text}");
}
