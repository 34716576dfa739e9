//! The CLI against fake relay sites over real HTTP: add, refresh, list, offline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::process::Command;

use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::{Value, json};

fn apihub(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").arg("--data-dir").arg(dir);
    c
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_refresh_and_list_a_cny_new_api_account_then_survive_the_site_going_down() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.status_extra = json!({"quota_display_type": "CNY", "usd_exchange_rate": 7.3, "system_name": "Fake CNY"});
    cfg.key_count = 3;
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();

    let url = fake.url.clone();
    let token = cfg.token.clone();
    let out = tokio::task::spawn_blocking(move || {
        apihub(&d)
            .args(["accounts", "add", "--url", &url, "--kind", "new-api", "--token", &token, "--user-id", "42"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("alice"), "{said}");
    assert!(said.contains("¥53.29"), "3,650,000 quota = $7.30 = ¥53.29: {said}");

    let d = dir.path().to_path_buf();
    let v = tokio::task::spawn_blocking(move || run_json(apihub(&d).args(["refresh", "--json"]))).await.unwrap();
    let a = &v.as_array().unwrap()[0];
    assert_eq!(a["status"], "ok");
    assert_eq!(a["kind"], "new-api");
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["balance"]["quota"], 3_650_000);
    assert_eq!(a["balance"]["currency"], "CNY");
    assert!((a["balance"]["amount"].as_f64().unwrap() - 53.29).abs() < 1e-9);
    assert_eq!(a["keys"], 3);
    assert_eq!(a["models"], 3);
    assert!(a["today"]["spend_quota"].as_i64().unwrap() > 0);
    assert!(a["fetched_at"].as_i64().unwrap() > 0);

    // The site starts answering 429 to everything: refresh still exits 0, says why,
    // and keeps the last good data.
    fake.state.cfg.lock().unwrap().rate_limit_after = Some(0);
    let d = dir.path().to_path_buf();
    let v = tokio::task::spawn_blocking(move || run_json(apihub(&d).args(["refresh", "--json"]))).await.unwrap();
    let b = &v.as_array().unwrap()[0];
    assert_eq!(b["status"], "error");
    assert_eq!(b["error"]["kind"], "rate_limited");
    assert_eq!(b["balance"], a["balance"], "last good balance kept");
    assert_eq!(b["keys"], 3);
    let d = dir.path().to_path_buf();
    let listed =
        tokio::task::spawn_blocking(move || run_json(apihub(&d).args(["accounts", "list", "--json"]))).await.unwrap();
    assert_eq!(listed, v, "accounts list prints the same objects from the store");
}

#[test]
fn refresh_with_nothing_to_do_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = apihub(dir.path()).args(["refresh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unreachable_site_is_an_error_row_and_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of 127.0.0.1: connection refused.
    let out = apihub(dir.path())
        .args(["accounts", "add", "--url", "http://127.0.0.1:9", "--token", "t", "--user-id", "1", "--no-verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = run_json(apihub(dir.path()).args(["refresh", "--json"]));
    assert_eq!(v[0]["status"], "error");
    assert_eq!(v[0]["error"]["kind"], "unavailable");
    assert_eq!(v[0]["balance"], Value::Null, "no data is not zero");
}

#[test]
fn bad_credentials_are_refused_without_saving() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeRelay::start(FakeConfig::new(Variant::Veloera)));
    let dir = tempfile::tempdir().unwrap();
    let out = apihub(dir.path())
        .args(["accounts", "add", "--url", &fake.url, "--kind", "veloera", "--token", "wrong", "--user-id", "42"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth"), "{}", String::from_utf8_lossy(&out.stderr));
    let v = run_json(apihub(dir.path()).args(["accounts", "list", "--json"]));
    assert_eq!(v, json!([]));
}

#[test]
fn password_sign_in_with_2fa_and_an_explicit_token_mint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.totp = Some("123456".into());
    let fake = rt.block_on(FakeRelay::start(cfg.clone()));
    let dir = tempfile::tempdir().unwrap();
    let base = ["accounts", "add", "--url", fake.url.as_str(), "--kind", "new-api", "--username", "alice"];
    // Without the code: a clear request for it, nothing saved.
    let out = apihub(dir.path()).args(base).args(["--password", &cfg.password]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--totp"));
    // With the code and --mint-token: the stored credential is a fresh access token.
    let out = apihub(dir.path())
        .args(base)
        .args(["--password", &cfg.password, "--totp", "123456", "--mint-token"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no longer works"), "the user is told the old token died");
    let store = apihub::store::Store::open(dir.path()).unwrap().store;
    let acc = &store.list_accounts().unwrap()[0];
    assert_eq!(acc.auth, apihub::domain::AuthMethod::AccessToken);
    assert_eq!(acc.user_id, "42");
    let token = store.credentials(acc.id).unwrap().access_token.unwrap();
    assert_ne!(token, cfg.token, "a new token was minted");
    assert!(store.credentials(acc.id).unwrap().password.is_none(), "the password is never stored");
    // The minted token works for refresh.
    let v = run_json(apihub(dir.path()).args(["refresh", "--json"]));
    assert_eq!(v[0]["status"], "ok");
}

#[test]
fn detect_names_the_kind_and_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = FakeConfig::new(Variant::Veloera);
    cfg.status_extra = json!({"check_in_enabled": true});
    let fake = rt.block_on(FakeRelay::start(cfg));
    let dir = tempfile::tempdir().unwrap();
    let v = run_json(apihub(dir.path()).args(["detect", &fake.url, "--json"]));
    assert_eq!(v["kind"], "veloera");
    assert!(!v["reason"].as_str().unwrap().is_empty());
}
