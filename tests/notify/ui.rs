//! The Notifications section in the running app (egui_kittest, no GPU): add a webhook
//! channel through the dialog, see it listed without its key, press the test button,
//! and see the fake service receive the message and the section say so, in English and
//! in Chinese; the alert settings' USD threshold.

use egui_kittest::kittest::Queryable;

use super::common::{app_with, run_until, type_into, ui_lock};
use super::fakes::fakes;
use apihub::app::notify::TestState;

#[test]
fn a_webhook_channel_added_in_the_dialog_is_tested_and_the_fake_receives_it() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    h.set_size(egui::vec2(1200.0, 2600.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Settings").next().unwrap().click();
    h.run();
    assert!(h.query_by_label("Notifications").is_some(), "the section is in Settings");
    assert!(h.query_by_label("No channels yet").is_some());

    h.get_by_label("Add channel…").click();
    h.run();
    assert!(h.query_by_label("Add a notification channel").is_some(), "the dialog opened");
    // Nothing typed yet: what is missing is said, and Save waits for it.
    assert!(h.query_by_label("Enter a name").is_some());
    assert!(h.query_by_label("Webhook URL: required").is_some());
    h.get_by_label("Save channel").click();
    h.run();
    assert!(h.query_by_label("Add a notification channel").is_some(), "Save does nothing yet");

    type_into(h, "Channel name", "ops");
    type_into(h, "Webhook URL", "not a url");
    assert!(h.query_by_label("Webhook URL: must be an http:// or https:// URL").is_some());
    let url = format!("{}/hook/ok-ui1", fakes().url);
    // Replace the bad text: select all, then type.
    h.get_by_label("Webhook URL").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_label("Webhook URL").type_text(&url);
    h.run();
    assert!(h.query_by_label_contains("must be an http").is_none(), "the URL is accepted");
    h.get_by_label("Save channel").click();
    run_until(h, "channel saved", |h| h.state().state().notify.channels().len() == 1);
    run_until(h, "dialog closed", |h| h.query_by_label("Add a notification channel").is_none());
    let c = h.state().state().notify.channels()[0].clone();
    assert_eq!((c.spec.name.as_str(), c.spec.config.url.as_str()), ("ops", url.as_str()));
    assert!(h.query_by_label(&c.spec.config.target(c.spec.kind)).is_some(), "where it sends is listed");
    assert!(h.query_by_label_contains("ok-ui1").is_none(), "the URL's key is never shown");
    assert!(h.query_by_label("Not used yet").is_some());

    h.get_by_label("Send test").click();
    run_until(h, "test sent", |h| matches!(h.state().state().notify.tests.get("ops"), Some(TestState::Sent(_))));
    let seen = fakes().seen("ui1");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].body["source"], "api-hub-desk");
    assert!(h.query_by_label("Test message sent").is_some());
    run_until(h, "status reloaded", |h| h.state().state().notify.channels()[0].last_ok_at.is_some());
    assert!(h.query_by_label_contains("OK (").is_some());

    // The USD threshold that `alerts.low_balance_usd` sets from the CLI is in the app too.
    type_into(h, "Low-balance threshold in USD", "5");
    run_until(h, "USD threshold set", |h| h.state().state().settings.alerts.low_balance_usd == Some(5.0));

    // The same section in Chinese.
    h.get_by_label("简体中文").click();
    h.run();
    assert!(h.query_by_label("通知渠道").is_some());
    assert!(h.query_by_label("测试消息已送达").is_some());
}
