//! "Try a model" against the fake relays over real HTTP: the streamed reply, time to first
//! token and total time, embeddings, OpenAI-style error bodies, the request never asking for
//! more than given, the stored "last verified"; the CLI (`apihub pricing`, `apihub try`) and
//! the Try window.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake_relay;

use std::process::Command;
use std::time::{Duration, Instant};

use apihub::domain::{Account, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::engine::try_model::{KeyChoice, try_model};
use apihub::relay::try_model::{TryErrorKind, TryKind, TryRequest};
use apihub::relay::{ClientConfig, OriginLimits, ProxySetting, RelayClient};
use apihub::store::{SharedStore, Store};
use egui_kittest::kittest::Queryable;
use fake_relay::{FakeConfig, FakeRelay, Variant, key_of};
use serde_json::Value;

fn client(timeout_secs: u64) -> RelayClient {
    RelayClient::new(ClientConfig {
        proxy: ProxySetting::Direct,
        connect_timeout_secs: 2,
        request_timeout_secs: timeout_secs,
        per_origin: OriginLimits { per_sec: 1000.0, burst: 100, ..OriginLimits::default() },
        ..ClientConfig::default()
    })
    .unwrap()
}

/// A store with one refreshed account on `fake` (its keys and prices stored).
async fn account_on(fake: &FakeRelay, kind: SiteKind, dir: &std::path::Path) -> (SharedStore, Account) {
    let cfg = fake.cfg();
    let (store, _) = Store::open_shared(dir).unwrap();
    let id = store
        .lock()
        .unwrap()
        .upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "fake".into(),
            kind,
            user_id: cfg.user_id.to_string(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    let account = store.lock().unwrap().account(id).unwrap();
    let state = apihub::engine::refresh_one(&client(5), &store, &account).await.unwrap();
    assert!(state.last_error.is_none(), "{:?}", state.last_error);
    (store, account)
}

fn request(model: &str, prompt: &str, max_tokens: u32) -> TryRequest {
    TryRequest { prompt: prompt.into(), max_tokens, ..TryRequest::new(model) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_reply_is_assembled_timed_and_stored() {
    let fake = FakeRelay::start(FakeConfig { key_count: 2, ..FakeConfig::new(Variant::NewApiClassic) }).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = account_on(&fake, SiteKind::NewApi, dir.path()).await;
    let report = try_model(&client(5), &store, &account, KeyChoice::Auto, request("gpt-4o-mini", "Hello there", 7))
        .await
        .unwrap();
    let out = report.result.as_ref().unwrap();
    assert_eq!(out.kind, TryKind::Chat);
    assert_eq!(out.reply, "Hi there!", "chunks joined exactly");
    assert_eq!(out.finish_reason.as_deref(), Some("stop"));
    let ttft = out.ttft_ms.unwrap();
    assert!(ttft > 0 && out.total_ms > 0);
    // Five chunks 15 ms apart; the first carries no text, so the first token comes later than it.
    assert!(ttft >= 25, "the role-only chunk is not the first token: {ttft}");
    assert!(ttft < out.total_ms, "{ttft} < {}", out.total_ms);
    // The request asked for exactly what was given, with the key of the account's first enabled key.
    let bodies = fake.bodies();
    let (path, body) = bodies.last().unwrap();
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(body["max_tokens"], 7);
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert_eq!(body["messages"][0]["content"], "Hello there");
    assert!(report.key_name.starts_with("key-"), "{}", report.key_name);
    // Stored, and readable after reopening the store.
    drop(store);
    let reopened = Store::open(dir.path()).unwrap().store;
    let trials = reopened.trials().unwrap();
    assert_eq!(trials.len(), 1);
    let v = &trials[0];
    assert_eq!((v.account_id, v.model.as_str(), v.ok), (account.id, "gpt-4o-mini", true));
    assert_eq!(v.ttft_ms, Some(ttft));
    assert_eq!(v.total_ms, Some(out.total_ms));
    assert_eq!(v.message, "Hi there!");
    assert!(v.at > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_key_is_revealed_before_the_try() {
    let fake = FakeRelay::start(FakeConfig { key_count: 2, ..FakeConfig::new(Variant::NewApiCurrent) }).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = account_on(&fake, SiteKind::NewApi, dir.path()).await;
    let keys = store.lock().unwrap().account_state(account.id).unwrap().snapshot.unwrap().keys.value.unwrap();
    assert!(keys.iter().all(|k| k.masked), "current new-api lists masked keys");
    let report = try_model(&client(5), &store, &account, KeyChoice::Id(keys[0].id), request("gpt-4o-mini", "hi", 4))
        .await
        .unwrap();
    assert_eq!(report.result.as_ref().unwrap().reply, "Hi there!");
    assert!(fake.paths().iter().any(|p| p.starts_with("/api/token/batch/keys")), "revealed through the site");
    let after = store.lock().unwrap().account_state(account.id).unwrap().snapshot.unwrap().keys.value.unwrap();
    assert!(!after.iter().find(|k| k.id == keys[0].id).unwrap().masked, "the revealed key is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_so_far_is_reported_as_it_streams() {
    let cfg = FakeConfig::new(Variant::NewApiClassic);
    let fake = FakeRelay::start(cfg.clone()).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let on_text = |t: &str| seen.lock().unwrap().push(t.to_string());
    let out =
        client(5).try_model_live(&fake.url, &cfg.sk_key, &request("gpt-4o-mini", "hi", 4), &on_text).await.unwrap();
    assert_eq!(out.reply, "Hi there!");
    assert_eq!(*seen.lock().unwrap(), ["Hi", "Hi there", "Hi there!"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_model_reports_its_dimensions() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.models.push("text-embedding-3-small".into());
    cfg.embedding_dims = 1536;
    let fake = FakeRelay::start(cfg.clone()).await;
    let key = cfg.sk_key.clone();
    let req = TryRequest::new("text-embedding-3-small");
    assert_eq!(req.kind, TryKind::Embedding);
    let out = client(5).try_model(&fake.url, &key, &req).await.unwrap();
    assert_eq!(out.dimensions, Some(1536));
    assert!(out.total_ms > 0);
    assert_eq!(out.ttft_ms, None);
    let bodies = fake.bodies();
    let (path, body) = bodies.last().unwrap();
    assert_eq!(path, "/v1/embeddings");
    assert!(body.get("max_tokens").is_none() && body.get("stream").is_none());
    assert_eq!(body["input"], "Say hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_are_classified_with_the_servers_message() {
    let new_api = FakeRelay::start(FakeConfig::new(Variant::NewApiClassic)).await;
    let one_api = FakeRelay::start(FakeConfig::new(Variant::OneApi)).await;
    let key = FakeConfig::new(Variant::OneApi).sk_key;
    let c = client(5);
    let chat = |m: &str| request(m, "hi", 4);

    let e = c.try_model(&new_api.url, "sk-wrong", &chat("gpt-4o-mini")).await.unwrap_err();
    assert_eq!((e.kind, e.status), (TryErrorKind::Auth, Some(401)));
    assert_eq!(e.message, "无效的令牌 (request id: fake)");
    let e = c.try_model(&one_api.url, "sk-wrong", &chat("gpt-4o-mini")).await.unwrap_err();
    assert_eq!((e.kind, e.status), (TryErrorKind::Auth, Some(401)));
    assert_eq!(e.message, "Incorrect API key provided");
    assert_eq!(e.code.as_deref(), Some("invalid_api_key"));

    let e = c.try_model(&new_api.url, &key, &chat("gpt-9")).await.unwrap_err();
    assert_eq!((e.kind, e.status), (TryErrorKind::ModelUnavailable, Some(503)));
    assert_eq!(e.message, "当前分组 default 下对于模型 gpt-9 无可用渠道 (request id: fake)");
    assert_eq!(e.code.as_deref(), Some("model_not_found"));
    let e = c.try_model(&one_api.url, &key, &chat("gpt-9")).await.unwrap_err();
    assert_eq!((e.kind, e.status), (TryErrorKind::ModelUnavailable, Some(400)));
    assert_eq!(e.message, "The model `gpt-9` does not exist or you do not have access to it.");

    // 429: classified with the message, and the origin is paused: the next try is not sent.
    new_api.state.cfg.lock().unwrap().chat_rate_limited = true;
    let e = c.try_model(&new_api.url, &key, &chat("gpt-4o-mini")).await.unwrap_err();
    assert_eq!((e.kind, e.status), (TryErrorKind::RateLimited, Some(429)));
    assert_eq!(e.message, "当前分组上游负载已饱和，请稍后再试");
    let sent = new_api.requests();
    let t = Instant::now();
    let e = c.try_model(&new_api.url, &key, &chat("gpt-4o-mini")).await.unwrap_err();
    assert_eq!(e.kind, TryErrorKind::RateLimited);
    assert_eq!(new_api.requests(), sent, "the paused origin got no request");
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_try_is_stored_with_its_class_and_message() {
    let fake = FakeRelay::start(FakeConfig { key_count: 1, ..FakeConfig::new(Variant::NewApiClassic) }).await;
    let dir = tempfile::tempdir().unwrap();
    let (store, account) = account_on(&fake, SiteKind::NewApi, dir.path()).await;
    let report = try_model(&client(5), &store, &account, KeyChoice::Auto, request("gpt-9", "hi", 4)).await.unwrap();
    assert_eq!(report.result.as_ref().unwrap_err().kind, TryErrorKind::ModelUnavailable);
    let v = &store.lock().unwrap().trials().unwrap()[0];
    assert!(!v.ok);
    assert_eq!(v.error_kind.as_deref(), Some("model_unavailable"));
    assert!(v.message.contains("无可用渠道"), "{}", v.message);
    assert_eq!((v.ttft_ms, v.total_ms), (None, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_stream_hits_the_client_timeout() {
    let cfg = FakeConfig { chunk_delay_ms: 3_000, ..FakeConfig::new(Variant::NewApiClassic) };
    let fake = FakeRelay::start(cfg.clone()).await;
    let t = Instant::now();
    let e = client(1).try_model(&fake.url, &cfg.sk_key, &request("gpt-4o-mini", "hi", 4)).await.unwrap_err();
    assert_eq!(e.kind, TryErrorKind::Unavailable);
    assert!(e.message.contains("timed out"), "{}", e.message);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

// --- CLI ---

fn apihub(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").arg("--data-dir").arg(dir);
    c
}

async fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = apihub(dir);
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

async fn run_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = run(dir, args).await;
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_pricing_ranks_the_cheapest_first_and_try_stores_last_verified() {
    // new-api: gpt-4o-mini ratio 15, completion 2, cheapest group vip 0.8 → $24 in, $48 out, chat $27.60.
    let mut n = FakeConfig::new(Variant::NewApiClassic);
    n.models = vec!["gpt-4o-mini".into(), "claude-sonnet".into()];
    n.key_count = 2;
    // one-hub: every model input 1.5, output 7.5 → $3 in, $15 out, chat $4.80.
    let mut o = FakeConfig::new(Variant::OneHub);
    o.models = vec!["gpt-4o-mini".into(), "gpt-4-turbo".into(), "deepseek-chat".into()];
    // Few pages: the CLI keeps the real politeness limits (about 1 request a second per site).
    o.key_count = 2;
    (n.logs, o.logs) = (Vec::new(), Vec::new());
    let (new_api, one_hub) = (FakeRelay::start(n.clone()).await, FakeRelay::start(o.clone()).await);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (url, kind, token) in [(&new_api.url, "new-api", &n.token), (&one_hub.url, "one-hub", &o.token)] {
        let out = run(
            d,
            &["accounts", "add", "--no-verify", "--url", url, "--kind", kind, "--token", token, "--user-id", "42"],
        )
        .await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let refreshed = run_json(d, &["refresh", "--json"]).await;
    assert!(refreshed.as_array().unwrap().iter().all(|a| a["status"] == "ok"), "{refreshed}");

    let v = run_json(d, &["pricing", "--json", "--model", "gpt-4*"]).await;
    let rows = v.as_array().unwrap();
    let names: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["model"].as_str().unwrap(), r["site"].as_str().unwrap())).collect();
    assert_eq!(
        names,
        [("gpt-4-turbo", "One Hub"), ("gpt-4o-mini", "One Hub"), ("gpt-4o-mini", "New API")],
        "only gpt-4…, cheapest first"
    );
    let eff: Vec<f64> = rows.iter().map(|r| r["effective_usd"].as_f64().unwrap()).collect();
    assert!((eff[1] - 4.8).abs() < 1e-9 && (eff[2] - 27.6).abs() < 1e-9, "{eff:?}");
    assert_eq!(rows[1]["input_usd_per_1m"], 3.0);
    assert_eq!(rows[2]["group"], "vip");
    assert_eq!(rows[2]["input_usd_per_1m"], 24.0);
    assert_eq!(rows[2]["output_usd_per_1m"], 48.0);
    assert_eq!((rows[1]["cheapest"].as_bool(), rows[2]["cheapest"].as_bool()), (Some(true), Some(false)));
    assert_eq!(rows[0]["rank"], 1);
    assert_eq!(rows[2]["verified"], Value::Null);
    // The coding-agent preset weighs input 98.7 %: 24 × 0.987 + 48 × 0.013 = 24.312.
    let v = run_json(d, &["pricing", "--json", "--model", "gpt-4o-mini", "--preset", "coding-agent"]).await;
    assert!((v[1]["effective_usd"].as_f64().unwrap() - 24.312).abs() < 1e-9, "{v}");
    assert!(!run(d, &["pricing", "--preset", "nope"]).await.status.success());
    // The table: ranked lines, the cheapest marked.
    let out = run(d, &["pricing", "--model", "gpt-4o-mini"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("One Hub") && lines[1].contains("$4.80") && lines[1].contains("1*"), "{text}");
    assert!(lines[2].contains("New API") && lines[2].contains("vip") && lines[2].contains("$27.60"), "{text}");
    let out = run(d, &["pricing", "--model", "nothing-like-this"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("no prices match"));

    // `apihub try` on the new-api account, then the row shows it as verified.
    let new_api_id = rows[2]["account_id"].as_i64().unwrap().to_string();
    let t = run_json(
        d,
        &[
            "try",
            "--account",
            &new_api_id,
            "--model",
            "gpt-4o-mini",
            "--prompt",
            "hello",
            "--max-tokens",
            "5",
            "--json",
        ],
    )
    .await;
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(t["reply"], "Hi there!");
    assert!(t["ttft_ms"].as_u64().unwrap() <= t["total_ms"].as_u64().unwrap());
    assert_eq!(new_api.bodies().last().unwrap().1["max_tokens"], 5);
    let key = t["key"].as_str().unwrap();
    assert!(!key.contains(&key_of(Variant::NewApiClassic, 0)), "the key is masked in the output");
    let v = run_json(d, &["pricing", "--json", "--model", "gpt-4o-mini"]).await;
    assert_eq!(v[1]["verified"]["ok"], true);
    assert_eq!(v[0]["verified"], Value::Null);
    // A failed try exits 1 and says why.
    let out = run(d, &["try", "--account", &new_api_id, "--model", "gpt-9"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("无可用渠道"));
}

// --- The window ---

#[test]
fn the_try_window_shows_the_reply() {
    let _l = common::ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cfg = FakeConfig { key_count: 2, chunk_delay_ms: 120, ..FakeConfig::new(Variant::NewApiClassic) };
    let fake = rt.block_on(FakeRelay::start(cfg));
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let (store, _) = account_on(&fake, SiteKind::NewApi, dir.path()).await;
        store.lock().unwrap().set_setting("ui.lang", "en").unwrap();
    });
    let mut t = common::app_in(dir, |_| {});
    let h = &mut t.harness;
    common::run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Pricing").next().unwrap().click();
    common::run_until(h, "prices shown", |h| h.query_by_label("$27.60").is_some());
    // The price button may lie beyond the window's width (the table scrolls sideways).
    h.get_by_label("$27.60").click_accesskit();
    h.run();
    assert!(h.query_by_label("Every account offering gpt-4o-mini").is_some(), "the detail opened");
    assert!(h.query_by_label("Not tried").is_some(), "no try yet");
    assert!(h.query_by_label("✓").is_none());
    h.get_by_label("Try").click();
    h.run();
    assert!(h.query_by_label("Try a model").is_some(), "the window opened");
    h.get_by_label("Prompt").click();
    h.run();
    h.get_by_label("Prompt").type_text(" please");
    h.run();
    h.get_by_label("Send").click();
    // Live: the first piece shows while the stream is still running (a spinner keeps repainting:
    // step by hand instead of running to a settled frame).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(h.query_by_label("Hi").is_some() && h.query_by_label("✓ Works").is_none()) {
        assert!(Instant::now() < deadline, "no partial reply");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    common::run_until(h, "the result", |h| h.query_by_label("✓ Works").is_some());
    assert!(h.query_by_label("Hi there!").is_some(), "the whole reply");
    assert!(h.query_by_label_contains("First token").is_some());
    assert!(h.query_by_label_contains("ms · just now").is_some(), "the detail shows it as verified");
    assert!(h.query_by_label("✓").is_some(), "the table marks the price as verified");
    // Beside the price and inside the table: the cell makes room for it (the columns do
    // not clip, so a mark pushed out of its cell would be drawn over the next one).
    let mark = h.get_by_label("✓").rect();
    let price = h
        .query_all_by_label("$27.60")
        .map(|n| n.rect())
        .find(|r| (r.center().y - mark.center().y).abs() < 4.0)
        .expect("the price on the mark's row");
    let table = apihub::ui::fit::table_rect(&h.ctx, "pricing").expect("the table was drawn");
    assert!(mark.left() >= price.right() - 0.5, "mark {mark:?} over the price {price:?}");
    assert!(mark.right() <= table.right() + 0.5, "mark {mark:?} outside the table {table:?}");
    assert_eq!(fake.bodies().last().unwrap().1["messages"][0]["content"], "Say hi please");
}
