//! Usage log sync against fake relay sites of every pagination variant, over real HTTP.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;
mod fake_relay;

use apihub::domain::usage_log::{LogFilter, LogKind};
use apihub::domain::{Account, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::log_sync::{SyncOptions, sync_account};
use apihub::store::{SharedStore, Store};
use fake_relay::{FakeConfig, FakeRelay, LogRow, Variant};

fn kind_of(v: Variant) -> SiteKind {
    match v {
        Variant::OneApi => SiteKind::OneApi,
        Variant::Veloera => SiteKind::Veloera,
        Variant::OneHub => SiteKind::OneHub,
        Variant::DoneHub => SiteKind::DoneHub,
        _ => SiteKind::NewApi,
    }
}

fn add(store: &SharedStore, fake: &FakeRelay, v: Variant) -> Account {
    let cfg = fake.cfg();
    let mut s = store.lock().unwrap();
    let id = s
        .upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: format!("{v:?}"),
            kind: kind_of(v),
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

fn new_row(t: i64, quota: i64) -> LogRow {
    LogRow { created_at: t, log_type: 2, model_name: "new-model".into(), quota, prompt_tokens: 3, completion_tokens: 4 }
}

const VARIANTS: [Variant; 6] = [
    Variant::OneApi,
    Variant::NewApiClassic,
    Variant::NewApiCurrent,
    Variant::Veloera,
    Variant::OneHub,
    Variant::DoneHub,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_then_incremental_sync_has_no_duplicates_and_no_gaps_on_every_variant() {
    for v in VARIANTS {
        let fake = FakeRelay::start(FakeConfig::new(v)).await;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        let acc = add(&store, &fake, v);
        let relay = common::fast_relay();
        let all = fake.cfg().logs.len();

        let r = sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
        assert_eq!(r.partial, None, "{v:?}");
        assert_eq!(r.fetched, all, "{v:?}: every row of the window fetched");
        assert_eq!(count(&store, &LogFilter::default()), all, "{v:?}: 3 identical top-ups are kept apart");

        // New rows appear on the site; the incremental sync adds exactly those.
        let now = chrono::Utc::now().timestamp();
        {
            let mut c = fake.state.cfg.lock().unwrap();
            for i in 0..25 {
                c.logs.push(new_row(now - i, 7_000 + i));
            }
        }
        let before = fake.paths().len();
        let r = sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
        assert_eq!(r.inserted, 25, "{v:?}: {r:?}");
        assert_eq!(count(&store, &LogFilter::default()), all + 25, "{v:?}: no duplicates, no gaps");
        let asked: Vec<String> =
            fake.paths()[before..].iter().filter(|p| p.starts_with("/api/log/self")).cloned().collect();
        assert!(
            asked
                .iter()
                .all(|p| !p.contains("start_timestamp=0")
                    && !p.contains(&format!("start_timestamp={}", now - 30 * 86_400))),
            "{v:?}: the incremental sync asks only from the last window: {asked:?}"
        );
        let model = LogFilter { model: Some("new-model".into()), ..Default::default() };
        assert_eq!(count(&store, &model), 25);
        // A third sync with nothing new stores nothing.
        let r = sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
        assert_eq!(r.inserted, 0, "{v:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_api_pages_are_one_based_and_display_index_ids_do_not_matter() {
    let fake = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let acc = add(&store, &fake, Variant::NewApiClassic);
    sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    let pages: Vec<String> = fake.paths().into_iter().filter(|p| p.starts_with("/api/log/self?")).collect();
    assert!(pages[0].starts_with("/api/log/self?p=1&page_size=100&type=0"), "{pages:?}");
    assert!(pages[1].starts_with("/api/log/self?p=2&"), "never p=0, which new-api serves as p=1: {pages:?}");
    assert_eq!(pages.len(), 2);
    // New rows shift every display id by one; content identity keeps the store exact.
    fake.state.cfg.lock().unwrap().logs.push(new_row(chrono::Utc::now().timestamp(), 1));
    // Force a full re-read of the window (as after a partial sync).
    store.lock().unwrap().save_log_sync_state(acc.id, None, Some("test")).unwrap();
    sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    assert_eq!(count(&store, &LogFilter::default()), fake.cfg().logs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_sync_keeps_its_rows_and_the_next_one_fills_the_gap() {
    let mut cfg = FakeConfig::new(Variant::OneApi); // 10 rows per page: 16 pages
    cfg.rate_limit_after = Some(3);
    let fake = FakeRelay::start(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let acc = add(&store, &fake, Variant::OneApi);
    let r = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    assert!(r.partial.as_deref().is_some_and(|p| p.contains("rate")), "{r:?}");
    assert_eq!(count(&store, &LogFilter::default()), 30, "three pages kept");
    let st = store.lock().unwrap().log_sync_state(acc.id).unwrap();
    assert_eq!((st.synced_until, st.last_complete), (None, false));

    fake.state.cfg.lock().unwrap().rate_limit_after = None;
    // A fresh client: the old one's limiter pauses the origin after the 429.
    let r = sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
    assert_eq!(r.partial, None);
    assert_eq!(count(&store, &LogFilter::default()), fake.cfg().logs.len(), "gap filled, no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_hub_windows_are_clamped_to_180_days() {
    let fake = FakeRelay::start(FakeConfig::new(Variant::DoneHub)).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let acc = add(&store, &fake, Variant::DoneHub);
    let opts = SyncOptions { history_days: 365, ..Default::default() };
    let r = sync_account(&common::fast_relay(), &store, &acc, &opts).await.unwrap();
    assert_eq!(r.partial, None);
    assert_eq!(count(&store, &LogFilter::default()), fake.cfg().logs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_shapes_of_each_kind_are_normalised_and_stats_equal_hand_sums() {
    for (v, duration_ms, channel, group) in [
        (Variant::OneApi, Some(1200), Some(3), ""),
        (Variant::NewApiClassic, Some(1000), Some(3), "default"),
        (Variant::Veloera, Some(1000), Some(3), "default"),
        (Variant::OneHub, Some(1200), Some(3), ""),
        (Variant::DoneHub, Some(1200), None, ""),
    ] {
        let fake = FakeRelay::start(FakeConfig::new(v)).await;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        let acc = add(&store, &fake, v);
        sync_account(&common::fast_relay(), &store, &acc, &SyncOptions::default()).await.unwrap();
        let s = store.lock().unwrap();
        let rows = s.query_usage_logs(&LogFilter { kind: Some(LogKind::Consume), ..Default::default() }, 1, 0).unwrap();
        let r = &rows[0];
        assert_eq!((r.duration_ms, r.channel_id, r.group.as_str()), (duration_ms, channel, group), "{v:?}");
        assert_eq!(r.account_id, acc.id);
        if matches!(v, Variant::OneHub | Variant::DoneHub) {
            assert_eq!(r.other, "{\"cache_tokens\":0}", "metadata object kept as JSON text");
        } else if v != Variant::OneApi {
            assert_eq!(r.other, "{}");
        }
        let topups = s.count_usage_logs(&LogFilter { kind: Some(LogKind::Topup), ..Default::default() }).unwrap();
        assert_eq!(topups, 3, "{v:?}");

        // Statistics equal sums computed by hand from the fake's rows.
        let cfg = fake.cfg();
        let consume: Vec<&LogRow> = cfg.logs.iter().filter(|r| r.log_type == 2).collect();
        let st = s.usage_log_stats(&LogFilter::default()).unwrap();
        assert_eq!(st.totals.requests, consume.len() as i64);
        assert_eq!(st.totals.quota, consume.iter().map(|r| r.quota).sum::<i64>());
        assert_eq!(st.totals.prompt_tokens, consume.iter().map(|r| r.prompt_tokens).sum::<i64>());
        assert_eq!(st.totals.completion_tokens, consume.iter().map(|r| r.completion_tokens).sum::<i64>());
        let gpt = st.by_model.iter().find(|b| b.key == "gpt-4o-mini").unwrap();
        let want: i64 = consume.iter().filter(|r| r.model_name == "gpt-4o-mini").map(|r| r.quota).sum();
        assert_eq!(gpt.totals.quota, want);
        assert_eq!(st.by_account.len(), 1);
        assert_eq!(st.by_day.len(), 2, "today and yesterday");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sites_own_stat_matches_the_local_sum_of_the_same_window() {
    let fake = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open_shared(dir.path()).unwrap();
    let acc = add(&store, &fake, Variant::NewApiClassic);
    let relay = common::fast_relay();
    sync_account(&relay, &store, &acc, &SyncOptions::default()).await.unwrap();
    let (start, end) = apihub::domain::time::local_day_window();
    let site = apihub::engine::log_sync::site_stats(relay, store.clone(), vec![acc.clone()], start, end).await;
    let local = store
        .lock()
        .unwrap()
        .usage_log_stats(&LogFilter { since: Some(start), until: Some(end), ..Default::default() })
        .unwrap();
    assert_eq!(site[0].site_quota, Ok(Some(local.totals.quota)));
    assert_eq!(local.totals.quota, fake.cfg().today_spend(start, end), "and both equal the fake's own sum");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_depth_limits_what_a_first_sync_asks_for_and_stores() {
    let now = chrono::Utc::now().timestamp();
    let mut cfg = FakeConfig::new(Variant::NewApiCurrent);
    for days in [2, 8, 31, 91] {
        cfg.logs.push(LogRow { model_name: format!("old-{days}"), ..new_row(now - days * 86_400, 1) });
    }
    for (depth, oldest_kept) in [(7, 2), (30, 8), (90, 31), (180, 91)] {
        let fake = FakeRelay::start(cfg.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        let acc = add(&store, &fake, Variant::NewApiCurrent);
        let opts = SyncOptions { history_days: depth, ..Default::default() };
        sync_account(&common::fast_relay(), &store, &acc, &opts).await.unwrap();
        let want = cfg.logs.iter().filter(|r| r.created_at > now - depth * 86_400 - 60).count();
        assert_eq!(count(&store, &LogFilter::default()), want, "{depth} days");
        let kept = |d: i64| count(&store, &LogFilter { model: Some(format!("old-{d}")), ..Default::default() });
        assert_eq!(kept(oldest_kept), 1, "{depth} days keeps the {oldest_kept}-day-old row");
        for d in [2, 8, 31, 91].into_iter().filter(|d| *d > oldest_kept) {
            assert_eq!(kept(d), 0, "{depth} days leaves the {d}-day-old row on the site");
        }
    }
}
