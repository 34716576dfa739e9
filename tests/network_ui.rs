//! Network settings in the window: a global proxy saved in Settings takes effect on the
//! running app's refreshes (a counting proxy sees them); "No proxy" on the account's site
//! bypasses it; a malformed extra CA file is refused with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use apihub::domain::network::{ProxySetting, SiteProxy};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use common::{app_with, click_row, run_until, type_into, ui_lock};
use egui_kittest::kittest::Queryable;
use fake_relay::proxy::CountingProxy;
use fake_relay::{FakeConfig, FakeRelay, Variant};

type H = egui_kittest::Harness<'static, apihub::app::App>;

/// Clicks "Refresh all" and waits until a refresh that reached the fake has finished.
fn refresh_all(h: &mut H, fake: &FakeRelay) {
    let before = fake.requests();
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| fake.requests() > before && h.state().state().sites.refresh.is_none());
    assert!(h.query_by_label("Refresh done: 1 ok, 0 failed, 0 cancelled").is_some());
}

#[test]
fn a_global_proxy_applies_at_once_and_a_site_can_opt_out() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut fc = FakeConfig::new(Variant::NewApiClassic);
    fc.key_count = 2;
    let fake = rt.block_on(FakeRelay::start(fc));
    let proxy = rt.block_on(CountingProxy::start());
    let cfg = fake.cfg();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "Proxied".into(),
            kind: SiteKind::NewApi,
            user_id: cfg.user_id.to_string(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    });
    let h = &mut t.harness;
    // Tall enough for every Settings section to be on screen (clicks land on widgets).
    h.set_size(egui::vec2(1280.0, 3000.0));
    run_until(h, "accounts loaded", |h| h.query_by_label("Proxied").is_some());

    // Settings → Network: a malformed CA file is refused, then the proxy is saved.
    h.get_all_by_label("Settings").next().unwrap().click();
    h.run();
    h.get_by_label("Proxy URL").click();
    h.run();
    type_into(h, "Proxy", &proxy.url);
    let bad = t.dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    type_into(h, "Extra CA certificate (PEM file path)", &bad.display().to_string());
    h.get_by_label("Save network settings").click();
    run_until(h, "refused", |h| h.query_by_label_contains("Not saved: extra CA certificate file").is_some());
    // Clear the CA path (select all, delete) and save again.
    h.get_by_label("Extra CA certificate (PEM file path)").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run();
    h.get_by_label("Save network settings").click();
    run_until(h, "saved", |h| h.query_by_label("Network settings saved and applied").is_some());

    // The running app's refresh now goes through the proxy.
    h.get_all_by_label("Sites").next().unwrap().click();
    h.run();
    refresh_all(h, &fake);
    let through_proxy = proxy.count_to(&fake.url);
    assert!(through_proxy > 0, "refresh went through the global proxy: {:?}", proxy.seen());

    // The site opts out: "No proxy" in the account detail's site network section.
    click_row(h, "Proxied");
    run_until(h, "detail open", |h| h.query_by_label("Save site network settings").is_some());
    // The section is at the bottom of the detail's scroll area.
    h.get_by_label("Save site network settings").scroll_to_me();
    h.run();
    h.get_by_label("No proxy").click();
    h.run();
    type_into(h, "Custom User-Agent", "SiteUA/1");
    h.get_by_label("Save site network settings").click();
    run_until(h, "site saved", |h| h.query_by_label("Site network settings saved").is_some());
    refresh_all(h, &fake);
    assert_eq!(proxy.count_to(&fake.url), through_proxy, "the site now bypasses the global proxy");

    // Both are in the store for the next start.
    let store = apihub::store::Store::open(t.dir.path()).unwrap().store;
    assert_eq!(store.network_settings().unwrap().proxy, ProxySetting::Url(proxy.url.clone()));
    assert_eq!(store.network_settings().unwrap().extra_ca_file, "");
    let (_, _, net) = store.site_networks().unwrap().into_iter().next().unwrap();
    assert_eq!(net.proxy, SiteProxy::Direct);
    assert_eq!(net.user_agent.as_deref(), Some("SiteUA/1"));
}
