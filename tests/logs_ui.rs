//! The Logs panel's Usage tab through egui_kittest: rows, totals, a model filter, charts.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;
mod fake_relay;

use apihub::domain::usage_log::{LogKind, UsageLog};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;

/// No usage job runs (so no spinner keeps repainting).
fn idle(h: &egui_kittest::Harness<'static, apihub::app::App>) -> bool {
    let u = &h.state().state().logs;
    !u.charts.is_loading() && !u.stats.is_loading() && !u.window.is_loading() && !u.names.is_loading()
}

const MODELS: [&str; 3] = ["gpt-4o-mini", "claude-sonnet", "deepseek-chat"];

fn seed(s: &mut apihub::store::Store, lang: &str) -> Vec<UsageLog> {
    s.set_setting("ui.lang", lang).unwrap();
    let id = s
        .upsert_account(&NewAccount {
            site_url: "https://alpha.example".into(),
            site_name: "Alpha".into(),
            kind: SiteKind::NewApi,
            user_id: "1".into(),
            username: "ann".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
        })
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let rows: Vec<UsageLog> = (0..90i64)
        .map(|i| UsageLog {
            account_id: id,
            created_at: now - 600 * i,
            kind: LogKind::Consume,
            raw_type: 2,
            model: MODELS[i as usize % 3].into(),
            token_name: "key-1".into(),
            quota: 1_000 + i,
            prompt_tokens: 10,
            completion_tokens: 5,
            content_hash: format!("h{i}"),
            ..Default::default()
        })
        .collect();
    s.insert_usage_logs(&rows).unwrap();
    rows
}

#[test]
fn filtering_by_model_narrows_the_rows_and_updates_the_totals_and_charts_open_with_data() {
    let _l = ui_lock();
    let mut rows = Vec::new();
    let mut t = app_with(|s| rows = seed(s, "en"));
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Logs").next().unwrap().click();
    run_until(h, "stats loaded", |h| {
        idle(h) && h.state().state().logs.stats.value().is_some_and(|s| s.totals.requests == 90)
    });
    assert!(h.query_by_label("Requests: 90").is_some(), "totals of every row");
    assert!(h.query_all_by_label("gpt-4o-mini").count() > 0, "rows of every model shown");
    let all_quota: i64 = rows.iter().map(|r| r.quota).sum();
    assert!(h.query_by_label(&format!("Total cost: ${:.4}", all_quota as f64 / 500_000.0)).is_some());

    // Statistics: click a model to filter by it.
    h.get_by_label("Statistics").click();
    h.run();
    h.get_by_label("claude-sonnet").click();
    run_until(h, "filtered stats", |h| {
        idle(h) && h.state().state().logs.stats.value().is_some_and(|s| s.totals.requests == 30)
    });
    let f = h.state().state().logs.filter.clone().unwrap();
    assert_eq!(f.model.as_deref(), Some("claude-sonnet"));
    assert!(h.query_by_label("Requests: 30").is_some(), "totals follow the filter");
    let want: i64 = rows.iter().filter(|r| r.model == "claude-sonnet").map(|r| r.quota).sum();
    assert!(h.query_by_label(&format!("Total cost: ${:.4}", want as f64 / 500_000.0)).is_some());
    assert_eq!(h.state().state().logs.window.value().unwrap().total, 30);
    assert_eq!(h.query_all_by_label("gpt-4o-mini").count(), 0, "other models' rows are gone");
    assert!(h.query_all_by_label("claude-sonnet").count() >= 2, "picker and rows show the model");

    // Charts open with data.
    h.get_by_label("Charts").click();
    run_until(h, "charts loaded", |h| idle(h) && h.state().state().logs.charts.value().is_some());
    let charts = h.state().state().logs.charts.value().unwrap().clone();
    let per_day: i64 = charts.per_day.iter().map(|p| p.totals.quota).sum();
    assert_eq!(per_day, want, "spend per day sums the filtered rows");
    assert!(h.query_by_label("Spend per day (USD)").is_some());
    assert!(h.query_by_label("Requests per hour").is_some());
}

#[test]
fn every_usage_view_renders_in_chinese_with_the_embedded_glyphs() {
    let _l = ui_lock();
    let mut t = app_with(|s| {
        seed(s, "zh-CN");
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("日志").next().unwrap().click();
    run_until(h, "stats loaded", |h| idle(h) && h.state().state().logs.stats.value().is_some());
    assert!(h.query_by_label("请求数：90").is_some());
    for view in ["统计", "图表", "明细"] {
        h.get_by_label(view).click();
        run_until(h, view, |h| idle(h) && (view != "图表" || h.state().state().logs.charts.value().is_some()));
    }
    assert!(h.query_by_label("每日花费（美元）").is_none(), "back on the rows view");
}

#[test]
fn sync_logs_fetches_the_sites_rows_and_shows_them() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = fake_relay::FakeConfig::new(fake_relay::Variant::Veloera);
    let fake = rt.block_on(fake_relay::FakeRelay::start(cfg.clone()));
    let url = fake.url.clone();
    let mut t = app_with(move |s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&NewAccount {
            site_url: url,
            site_name: "Vel".into(),
            kind: SiteKind::Veloera,
            user_id: cfg.user_id.to_string(),
            username: cfg.username.clone(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Logs").next().unwrap().click();
    run_until(h, "empty logs", |h| idle(h) && h.state().state().logs.window.value().is_some());
    assert!(h.query_by_label("No usage logs yet").is_some());
    h.get_by_label("Sync logs").click();
    run_until(h, "synced and re-queried", |h| {
        let u = &h.state().state().logs;
        idle(h) && u.sync.is_none() && u.window.value().is_some_and(|w| w.total > 0)
    });
    let u = &h.state().state().logs;
    assert_eq!(u.last_sync[0].inserted, fake.cfg().logs.len());
    assert_eq!(u.window.value().unwrap().total, fake.cfg().logs.len(), "30-day range holds every fake row");
    assert!(h.query_by_label_contains("Last sync:").is_some());
    assert!(h.query_all_by_label("claude-sonnet").count() > 0, "synced rows in the table");
}

#[test]
fn after_a_log_sync_the_sites_panel_shows_todays_figures_from_the_synced_rows() {
    use apihub::domain::snapshot::{AccountState, Part, Snapshot, TodayUsage};
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = fake_relay::FakeConfig::new(fake_relay::Variant::Veloera);
    let fake = rt.block_on(fake_relay::FakeRelay::start(cfg.clone()));
    let url = fake.url.clone();
    let mut id = 0;
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        id = s
            .upsert_account(&NewAccount {
                site_url: url,
                site_name: "Vel".into(),
                kind: SiteKind::Veloera,
                user_id: cfg.user_id.to_string(),
                username: cfg.username.clone(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
            })
            .unwrap();
        // The last refresh's estimate: 1 request, 1 quota.
        let today =
            TodayUsage { spend: apihub::domain::money::Amount::Quota(1), requests: Some(1), ..Default::default() };
        let state = AccountState {
            snapshot: Some(Box::new(Snapshot { today: Part::complete(today), ..Default::default() })),
            ..Default::default()
        };
        s.save_account_state(id, &state, "2026-01-01").unwrap();
    });
    let h = &mut t.harness;
    let today_of = |h: &egui_kittest::Harness<'static, apihub::app::App>| {
        h.state().state().sites.states.get(&id).and_then(|s| s.snapshot.as_ref()).and_then(|s| s.today.value.clone())
    };
    run_until(h, "states loaded", |h| today_of(h).is_some());
    assert_eq!(today_of(h).unwrap().requests, Some(1), "no synced rows yet: the snapshot's figure");

    h.get_all_by_label("Logs").next().unwrap().click();
    run_until(h, "logs idle", |h| idle(h) && h.state().state().logs.window.value().is_some());
    h.get_by_label("Sync logs").click();
    let (start, end) = apihub::domain::time::local_day_window();
    let rows: Vec<_> =
        cfg.logs.iter().filter(|r| r.log_type == 2 && r.created_at >= start && r.created_at <= end).collect();
    run_until(h, "today's sums from the synced rows", |h| {
        today_of(h).and_then(|t| t.requests) == Some(rows.len() as i64)
    });
    let spend: i64 = rows.iter().map(|r| r.quota).sum();
    let t = today_of(h).unwrap();
    assert_eq!(t.spend, apihub::domain::money::Amount::Quota(spend));
    assert_eq!(t.prompt_tokens, Some(rows.iter().map(|r| r.prompt_tokens).sum()));

    h.get_all_by_label("Sites").next().unwrap().click();
    h.run();
    let shown = apihub::domain::money::CurrencySettings::default().format_quota(spend);
    assert!(h.query_all_by_label(&shown).count() > 0, "the Sites table shows today's synced spend {shown}");
}

#[test]
fn the_first_sync_depth_is_chosen_in_settings_and_kept_across_restarts() {
    let _l = ui_lock();
    let t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let common::TestApp { mut harness, _rt, dir } = t;
    let h = &mut harness;
    assert_eq!(h.state().state().settings.logs.history_days, 30);
    h.get_all_by_label("Settings").next().unwrap().click();
    h.run();
    h.get_by_label("First sync depth").click(); // the picker, labelled by the text before it
    h.run();
    h.get_by_label("90 days").click();
    let path = dir.path().to_path_buf();
    run_until(h, "setting saved", |_| {
        apihub::store::Store::open(&path).unwrap().store.setting("logs.history_days").unwrap().as_deref() == Some("90")
    });
    assert_eq!(h.state().state().settings.logs.history_days, 90);
    drop(harness);
    drop(_rt);

    let mut t = common::app_in(dir, |_| {});
    let h = &mut t.harness;
    assert_eq!(h.state().state().settings.logs.history_days, 90, "loaded from the store on start");
    h.get_all_by_label("Logs").next().unwrap().click();
    run_until(h, "logs idle", |h| idle(h) && h.state().state().logs.window.value().is_some());
    // The filter row's labels stand before their pickers and name them.
    for label in ["Account", "Range", "Type", "First sync depth"] {
        let picker = h.get_by_role_and_label(egui::accesskit::Role::ComboBox, label).rect();
        let text = h.get_by_role_and_label(egui::accesskit::Role::Label, label).rect();
        assert!(text.max.x <= picker.min.x, "{label}: the label stands before its picker ({text:?}, {picker:?})");
    }
    h.get_by_label("First sync depth").click();
    h.run();
    assert!(h.query_by_label("180 days").is_some(), "the choices are offered");
    assert!(h.query_by_label("90 days").is_some());
}
