//! The Gateway panel in the window: started from its button on the app's runtime, in
//! front of a fake upstream; one request through it shows up as a row of its log.

use egui_kittest::kittest::Queryable;
use serde_json::json;

use crate::common::{app_with, run_until, ui_lock};
use crate::rig::{Acct, seed};
use crate::upstream;

#[test]
fn the_panel_starts_the_gateway_and_a_request_through_it_shows_in_the_log() {
    let _l = ui_lock();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let up = rt.block_on(upstream::start("alpha"));
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.set_setting("gateway.listen", "127.0.0.1:0").unwrap();
        seed(s, &Acct::new("alpha", &up.url, &["m1"]));
    });
    let h = &mut t.harness;
    h.set_size(egui::vec2(1400.0, 900.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 1));
    h.get_by_label("Gateway").click();
    run_until(h, "key and candidates read", |h| {
        let g = &h.state().state().gateway;
        g.key.is_some() && g.candidates.value().is_some_and(|v| v.models.len() == 1)
    });
    assert!(h.query_by_label_contains("sk-local-").is_some(), "the masked key is shown");
    assert!(h.query_by_label("m1 (1)").is_some(), "the model with its one candidate");
    assert!(h.query_by_label("No requests through the gateway yet").is_some());

    h.get_by_label("Start gateway").click();
    run_until(h, "running", |h| h.state().state().gateway.addr.is_some());
    let g = &h.state().state().gateway;
    let (addr, key) = (g.addr.unwrap(), g.key.clone().unwrap());
    assert!(h.query_by_label("Stop gateway").is_some());
    assert!(h.query_by_label(format!("http://{addr}/v1").as_str()).is_some(), "the address is shown");

    let reply = rt.block_on(async {
        let http = apihub::tls::client_builder().no_proxy().build().unwrap();
        let r = http
            .post(format!("http://{addr}/v1/chat/completions"))
            .bearer_auth(key.expose())
            .json(&json!({"model": "m1", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(up.hits(), 1);
    run_until(h, "the request in the log", |h| h.state().state().gateway.recent().len() == 1);
    assert!(h.query_by_label("ok").is_some(), "the row's outcome");
    assert!(h.query_by_label("200").is_some(), "the row's status");
    assert!(h.query_by_label("No requests through the gateway yet").is_none());

    h.get_by_label("Stop gateway").click();
    run_until(h, "stopped", |h| h.state().state().gateway.run == apihub::app::gateway::RunState::Stopped);
    assert!(std::net::TcpStream::connect(addr).is_err(), "nothing listens any more");
    // Stopped: the row now comes from the store.
    run_until(h, "the stored log", |h| h.state().state().gateway.log.value().is_some_and(|l| l.len() == 1));
    assert!(h.query_by_label("ok").is_some());
}

#[test]
fn use_in_from_the_panel_points_a_tool_at_the_local_gateway() {
    let _l = ui_lock();
    let home = tempfile::tempdir().unwrap();
    let mut homes = apihub::exports::Homes::under(home.path());
    homes.claude_config_dir = Some(home.path().join("claude-dir"));
    let file = home.path().join("claude-dir/settings.json");
    let mut t = crate::common::app_in_homes(tempfile::tempdir().unwrap(), Some(homes), |s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.set_setting("gateway.listen", "127.0.0.1:8765").unwrap();
        seed(s, &Acct::new("alpha", "http://127.0.0.1:9", &["m1"]));
    });
    let h = &mut t.harness;
    h.set_size(egui::vec2(1400.0, 900.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 1));
    h.get_by_label("Gateway").click();
    run_until(h, "key read", |h| h.state().state().gateway.key.is_some());
    h.get_by_label("Use in…").click();
    h.run();
    h.get_by_label("Claude Code").click();
    run_until(h, "diff shown", |h| {
        h.query_by_label_contains("\"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:8765\"").is_some()
    });
    let key = h.state().state().gateway.key.clone().unwrap();
    assert!(h.query_by_label_contains(key.expose()).is_none(), "the local key is masked on screen");
    h.key_press(egui::Key::Enter);
    run_until(h, "written", |h| h.query_by_label("Undo").is_some());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("http://127.0.0.1:8765") && text.contains(key.expose()), "{text}");
}

/// A stored attempt (the gateway's writer's row) for the figures.
fn attempt(account: apihub::domain::AccountId, ok: bool, at_ms: i64) -> apihub::domain::gateway::AttemptRecord {
    use apihub::domain::gateway::{AttemptRecord, Endpoint, Outcome, Usage};
    AttemptRecord {
        at_ms,
        request_id: at_ms as u64,
        attempt: 1,
        endpoint: Endpoint::ChatCompletions,
        client_model: "m1".into(),
        account_id: Some(account),
        key_id: Some(1),
        upstream_model: "m1".into(),
        stream: false,
        status: if ok { 200 } else { 502 },
        outcome: if ok { Outcome::Ok } else { Outcome::Failover },
        error_class: None,
        message: String::new(),
        latency_ms: 20.0,
        ttfb_ms: Some(7.0),
        usage: Usage { prompt_tokens: Some(1_200), completion_tokens: Some(30), ..Usage::default() },
        cost_usd: Some(0.25),
        cost_real: Some(0.5),
    }
}

#[test]
fn per_account_figures_show_in_the_panel_and_the_logs_statistics_and_the_order_is_edited() {
    let _l = ui_lock();
    let now = chrono::Utc::now().timestamp_millis();
    let mut ids = Vec::new();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        ids.push(seed(s, &Acct::new("alpha", "http://127.0.0.1:9", &["m1"])));
        ids.push(seed(s, &Acct::new("beta", "http://127.0.0.2:9", &["m1"])));
        // Two attempts on alpha (one failed over), one on beta two days ago: outside 24 h.
        s.insert_gateway_attempts(&[
            attempt(ids[0], false, now - 2_000),
            attempt(ids[0], true, now - 1_000),
            attempt(ids[1], true, now - 2 * 86_400_000),
        ])
        .unwrap();
    });
    let h = &mut t.harness;
    h.set_size(egui::vec2(1400.0, 900.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 2));
    h.get_by_label("Gateway").click();
    run_until(h, "figures read", |h| h.state().state().gateway.summary.value().is_some());
    let rows = h.state().state().gateway.summary.value().unwrap().clone();
    assert_eq!(rows.len(), 1, "only the last 24 hours: {rows:?}");
    assert_eq!((rows[0].account_id, rows[0].ok, rows[0].attempts), (ids[0], 1, 2));
    assert!(h.query_by_label("1 / 2").is_some(), "ok / attempts shown");
    assert!(h.query_by_label("2.4k / 60").is_some(), "tokens in / out");

    // The order editor: beta moves above alpha and the whole list is saved.
    h.get_by_label("Account order (for \"My order\")").click();
    h.run();
    h.get_all_by_label("↓").next().expect("a move-down button").click();
    run_until(h, "order saved", |h| h.state().state().settings.gateway.order == vec![ids[1], ids[0]]);

    // The Logs panel's statistics: the same records under its filter (all time here).
    h.get_by_label("Logs").click();
    h.run();
    h.get_by_label("Statistics").click();
    h.run();
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Range").click();
    h.run();
    h.get_by_label("All time").click();
    run_until(h, "logs figures", |h| h.state().state().logs.gateway.value().is_some_and(|r| r.len() == 2));
    run_until(h, "drawn with the statistics", |h| h.query_by_label("Through the local gateway").is_some());
    assert!(h.query_by_label("1 / 2").is_some() && h.query_by_label("1 / 1").is_some());
}
