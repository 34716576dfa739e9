//! The app's job registry and controllers through the window: one job per name, the
//! same refusal everywhere ("already running"), refresh-all and a single account's
//! refresh excluding each other per account (counted at the fake site).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use std::collections::BTreeMap;
use std::sync::Arc;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, run_until, ui_lock};
use egui_kittest::kittest::Queryable;
use fake_relay::{FakeConfig, FakeRelay, Variant};

fn account(url: &str, name: &str, cfg: &FakeConfig) -> NewAccount {
    NewAccount {
        site_url: url.into(),
        site_name: name.into(),
        kind: SiteKind::NewApi,
        user_id: cfg.user_id.to_string(),
        username: cfg.username.clone(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
    }
}

/// Requests per path (query left out) seen by a fake.
fn per_path(fake: &FakeRelay) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in fake.paths() {
        *m.entry(p.split('?').next().unwrap_or("").to_string()).or_default() += 1;
    }
    m
}

#[test]
fn a_single_refresh_while_refresh_all_covers_the_account_is_refused_and_nothing_is_fetched_twice() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let mut a = FakeConfig::new(Variant::NewApiClassic);
    a.key_count = 2;
    a.logs = Vec::new();
    a.gate = Some(("/api/user/self".into(), gate.clone()));
    let mut b = a.clone();
    b.gate = None;
    let (fa, fb) = rt.block_on(async { (FakeRelay::start(a.clone()).await, FakeRelay::start(b.clone()).await) });
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&account(&fa.url, "Alpha", &a)).unwrap();
        s.upsert_account(&account(&fb.url, "Beta", &b)).unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().accounts.value().is_some_and(|a| a.len() == 2));

    h.get_by_label_contains("Refresh all").click();
    run_until(h, "alpha's refresh in flight", |_| fa.paths().iter().any(|p| p.starts_with("/api/user/self")));
    assert!(h.state().state().refresh.is_some());

    // Alpha's own refresh button while refresh-all holds alpha: refused, said so.
    let row_buttons: Vec<_> = h.get_all_by_label("Refresh").collect();
    assert_eq!(row_buttons.len(), 2, "one refresh button per row");
    row_buttons[0].click();
    h.run();
    assert!(h.query_by_label_contains("already running").is_some(), "the status line says so");
    // Refresh all again: the same refusal.
    h.get_by_label_contains("Refresh all").click();
    h.run();
    assert!(h.query_by_label_contains("already running").is_some());

    gate.add_permits(1_000);
    run_until(h, "refresh finished", |h| h.state().state().refresh.is_none());
    let seen = per_path(&fa);
    assert!(seen.contains_key("/api/user/self") && seen.contains_key("/api/status"), "{seen:?}");
    assert!(seen.values().all(|n| *n == 1), "exactly one request per endpoint: {seen:?}");
    assert!(h.state().state().states.values().all(|s| s.last_error.is_none()));
}
