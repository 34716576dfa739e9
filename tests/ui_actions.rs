//! Account actions in the window: create, note, disable and delete a key in the detail
//! panel, redeem a code and see the amount and the new balance, check in all and read
//! the summary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, click_row, run_until, type_into, ui_lock};
use egui_kittest::kittest::Queryable;
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::json;

fn seed(s: &mut apihub::store::Store, url: &str, name: &str, kind: SiteKind, cfg: &FakeConfig) {
    s.upsert_account(&NewAccount {
        site_url: url.into(),
        site_name: name.into(),
        kind,
        user_id: cfg.user_id.to_string(),
        username: "alice".into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
    })
    .unwrap();
}

#[test]
fn create_disable_delete_a_key_and_redeem_a_code() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::NewApiClassic);
    fc.key_count = 2;
    fc.redeem_codes = vec![("GIFT-5".into(), 2_500_000)];
    let fake = rt.block_on(FakeRelay::start(fc));
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        seed(s, &fake.url, "Working", SiteKind::NewApi, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Working").is_some());
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| h.query_by_label_contains("Refresh done").is_some());
    click_row(h, "Working");
    run_until(h, "detail open", |h| h.query_by_label("New key").is_some());

    h.get_by_label("New key").click();
    h.run();
    type_into(h, "Key name", "desk-ui");
    type_into(h, "Quota (USD)", "5");
    h.get_by_label("Create").click();
    run_until(h, "key listed", |h| h.query_by_label("desk-ui").is_some());
    assert!(h.query_by_label("Key desk-ui created").is_some());
    let added = fake.cfg().edits.added;
    let (_, k) = added.iter().next().unwrap();
    assert_eq!(k["remain_quota"], 2_500_000, "$5 at 500,000 quota per USD");

    // The user's own note on the new key: kept in the store (and synced).
    h.get_all_by_label("Note…").next().unwrap().click();
    h.run();
    type_into(h, "Note", "for CI");
    h.get_by_label("Save note").click();
    run_until(h, "note shown", |h| h.query_by_label("Note: for CI").is_some());
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    let id = store.list_accounts().unwrap()[0].id;
    let notes = store.key_notes(id).unwrap();
    assert_eq!(notes.values().collect::<Vec<_>>(), ["for CI"], "{notes:?}");
    let h = &mut t.harness;

    // Newest key first: its Disable button is the first one.
    h.get_all_by_label("Disable").next().unwrap().click();
    run_until(h, "disabled", |h| h.query_by_label("disabled").is_some());
    assert_eq!(fake.cfg().edits.edited.values().next().unwrap()["status"], 2);

    h.get_all_by_label("Delete key").next().unwrap().click();
    h.run();
    assert!(h.query_by_label_contains("Delete key desk-ui?").is_some(), "asks first");
    h.get_by_label("Yes, delete the key").click();
    run_until(h, "deleted on the site and gone from the list", |h| {
        fake.cfg().edits.deleted.len() == 1 && h.query_by_label("desk-ui").is_none()
    });

    type_into(h, "Redemption code", "GIFT-5");
    h.get_by_label("Redeem").click();
    run_until(h, "redeemed", |h| h.query_by_label("Redeemed: +$5.00").is_some());
    assert_eq!(fake.cfg().quota, 6_150_000);
    assert!(h.query_all_by_label("$12.30").count() >= 1, "balance 3,650,000 + 2,500,000 quota");
}

#[test]
fn check_in_all_shows_the_summary() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ok = FakeConfig::new(Variant::NewApiClassic);
    ok.status_extra = json!({"checkin_enabled": true});
    let ok = rt.block_on(FakeRelay::start(ok));
    let mut human = FakeConfig::new(Variant::NewApiClassic);
    human.status_extra = json!({"checkin_enabled": true, "turnstile_check": true});
    let human = rt.block_on(FakeRelay::start(human));
    let hub = rt.block_on(FakeRelay::start(FakeConfig::new(Variant::OneHub)));
    let cfg = ok.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        seed(s, &ok.url, "Daily", SiteKind::NewApi, &cfg);
        seed(s, &human.url, "Captcha", SiteKind::NewApi, &cfg);
        seed(s, &hub.url, "Hub", SiteKind::OneHub, &cfg);
        seed(s, "http://127.0.0.1:9", "Gone", SiteKind::Veloera, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Daily").is_some());
    h.get_by_label("Check in all").click();
    run_until(h, "summary", |h| h.query_by_label("Check-in summary").is_some());
    assert!(h.query_by_label("Checked in (1)").is_some());
    assert!(h.query_by_label("Checked in: +$0.01").is_some(), "4,321 quota reward");
    assert!(h.query_by_label("Needs manual action (1)").is_some());
    assert!(h.query_by_label("Open site").is_some(), "a link to check in by hand");
    assert!(h.query_by_label("Failed (1)").is_some());
    assert!(h.query_by_label_contains("no check-in 1").is_some(), "one-hub has none");
    assert_eq!(hub.requests(), 0);
    // The table shows today's state; closing the summary hides it.
    run_until(h, "state in table", |h| h.query_by_label("done today +$0.01").is_some());
    h.get_all_by_label("Close").last().unwrap().click();
    h.run();
    assert!(h.query_by_label("Check-in summary").is_none());
}

#[test]
fn the_summary_and_key_dialog_render_in_chinese() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::Veloera);
    fc.status_extra = json!({"check_in_enabled": true});
    fc.key_count = 1;
    let fake = rt.block_on(FakeRelay::start(fc));
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "zh-CN").unwrap();
        seed(s, &fake.url, "Velo", SiteKind::Veloera, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Velo").is_some());
    h.get_by_label("全部签到").click();
    run_until(h, "summary", |h| h.query_by_label("签到结果").is_some());
    assert!(h.query_by_label("签到成功（1）").is_some());
    assert!(h.query_by_label("签到成功：+$0.01").is_some(), "Veloera reward 2,500 quota");
    h.get_all_by_label("关闭").last().unwrap().click();
    h.run();
    h.get_by_label_contains("全部刷新").click();
    run_until(h, "refreshed", |h| h.state().state().sites.refresh.is_none() && h.query_by_label("Velo").is_some());
    // Wide enough for the check-in column beside the detail pane (it folds on a narrow window).
    h.set_size(egui::vec2(1600.0, 800.0));
    h.run();
    click_row(h, "Velo");
    run_until(h, "detail", |h| h.query_by_label("新建密钥").is_some());
    h.get_by_label("新建密钥").click();
    h.run();
    assert!(h.query_by_label("额度（USD）").is_some());
    assert_eq!(h.query_all_by_label("今日已签到 +$0.01").count(), 2, "in the table and in the detail");
}

#[test]
fn copying_a_masked_key_reveals_it_through_the_site() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::NewApiCurrent);
    fc.key_count = 1;
    let fake = rt.block_on(FakeRelay::start(fc));
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        seed(s, &fake.url, "Masked", SiteKind::NewApi, &cfg);
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.query_by_label("Masked").is_some());
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| h.query_by_label_contains("Refresh done").is_some());
    click_row(h, "Masked");
    run_until(h, "detail open", |h| h.query_by_label("New key").is_some());
    let masked = |h: &egui_kittest::Harness<'static, apihub::app::App>| {
        h.state().state().sites.states.values().next().unwrap().snapshot.as_ref().unwrap().keys.value.as_ref().unwrap()
            [0]
        .masked
    };
    assert!(masked(h));
    h.get_by_label("Copy").click();
    run_until(h, "revealed", |h| h.query_by_label("Full key copied").is_some());
    assert!(!masked(h), "the full key is kept");
    assert!(fake.paths().iter().any(|p| p == "/api/token/batch/keys"), "revealed through the site");
}
