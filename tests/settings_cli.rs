//! `apihub settings` and the CLI's network configuration: `detect` and `try` go through
//! the same client as `refresh` (saved proxy, CA file, sites' User-Agents). The site
//! here is `http://fake-relay.invalid`, a name that never resolves: a local proxy maps
//! it to a fake relay, so a command reaches the site only when it uses the saved proxy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::process::{Command, Output};

use fake_relay::proxy::CountingProxy;
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::Value;

const SITE: &str = "http://fake-relay.invalid";

fn apihub(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    // No proxy from the environment: only the saved setting may route requests.
    c.env("APIHUB_LOG", "off")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .arg("--data-dir")
        .arg(dir);
    c
}

async fn run(dir: &std::path::Path, args: &[&str]) -> Output {
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
async fn detect_and_try_use_the_saved_proxy_like_refresh() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.models = vec!["gpt-4o-mini".into()];
    cfg.key_count = 1;
    cfg.logs = Vec::new();
    let fake = FakeRelay::start(cfg.clone()).await;
    let proxy = CountingProxy::start_mapping(vec![(SITE.into(), fake.url.clone())]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Without the proxy the name does not resolve: detect fails.
    let out = run(d, &["detect", SITE]).await;
    assert!(!out.status.success(), "{SITE} must not resolve: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(proxy.count_to(SITE), 0);

    let added = run(
        d,
        &[
            "accounts",
            "add",
            "--no-verify",
            "--url",
            SITE,
            "--kind",
            "new-api",
            "--token",
            &cfg.token,
            "--user-id",
            "42",
        ],
    )
    .await;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let set = run(d, &["settings", "set", "network.proxy", &proxy.url]).await;
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    assert_eq!(String::from_utf8_lossy(&run(d, &["settings", "get", "network.proxy"]).await.stdout).trim(), proxy.url);

    // Refresh goes through the saved proxy (it always did).
    let v = run_json(d, &["refresh", "--json"]).await;
    assert_eq!(v[0]["status"], "ok", "{v}");
    let after_refresh = proxy.count_to(SITE);
    assert!(after_refresh > 0, "refresh used the proxy: {:?}", proxy.seen());

    // Detect: the same client, so the same proxy.
    let v = run_json(d, &["detect", SITE, "--json"]).await;
    assert_eq!(v["kind"], "new-api", "{v}");
    let after_detect = proxy.count_to(SITE);
    assert!(after_detect > after_refresh, "detect used the proxy: {:?}", proxy.seen());

    // Try: one streamed request with the account's key, through the proxy.
    let id = v_account_id(d).await;
    let t = run_json(d, &["try", "--account", &id, "--model", "gpt-4o-mini", "--max-tokens", "5", "--json"]).await;
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(t["reply"], "Hi there!");
    assert!(
        proxy.seen().iter().skip(after_detect).any(|u| u.starts_with(&format!("{SITE}/v1/chat/completions"))),
        "try used the proxy: {:?}",
        proxy.seen()
    );
}

async fn v_account_id(d: &std::path::Path) -> String {
    let v = run_json(d, &["accounts", "list", "--json"]).await;
    v[0]["account_id"].as_i64().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_list_get_set_unset_with_clear_errors_and_older_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A data dir as an older version left it: string rows under the old names.
    {
        let mut s = apihub::store::Store::open(d).unwrap().store;
        s.set_setting("refresh.interval_mins", "45").unwrap();
        s.set_setting("refresh.auto", "off").unwrap();
        s.set_secret_setting("net.proxy", "http://bob:s3cret@proxy.example:3128").unwrap();
        s.set_setting("ui.theme", "purple").unwrap();
    }
    let all = run_json(d, &["settings", "list", "--json"]).await;
    assert_eq!(all["refresh.interval_minutes"], "45");
    assert_eq!(all["refresh.auto"], "false");
    assert_eq!(all["ui.theme"], "system", "a bad stored value reads as the default");
    assert_eq!(all["network.proxy"], "http://bob:***@proxy.example:3128/", "the password never printed");
    assert_eq!(all["logs.history_days"], "30");
    let text = run(d, &["settings", "list"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().any(|l| l == "refresh.interval_minutes = 45"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");

    let out = run(d, &["settings", "set", "refresh.interval_minutes", "15"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "refresh.interval_minutes = 15");
    let get = run(d, &["settings", "get", "refresh.interval_minutes"]).await;
    assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "15");

    // A bad key lists the valid ones; a bad value says what the setting takes. Nothing saved.
    let bad = run(d, &["settings", "set", "refresh.every", "15"]).await;
    assert_eq!(bad.status.code(), Some(1));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("unknown setting") && e.contains("refresh.interval_minutes") && e.contains("network.proxy"),
        "{e}"
    );
    let bad = run(d, &["settings", "set", "logs.history_days", "12"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("7, 30, 90 or 180"));
    let bad = run(d, &["settings", "set", "ui.theme", "purple"]).await;
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`dark`"));
    assert!(!run(d, &["settings", "get", "nope"]).await.status.success());

    let out = run(d, &["settings", "unset", "refresh.interval_minutes"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "refresh.interval_minutes = 30");
    // The app reads the same rows.
    let s = apihub::store::Store::open(d).unwrap().store;
    let loaded = s.load_settings().unwrap().settings;
    assert_eq!(loaded.refresh.interval_mins, 30);
    assert!(!loaded.refresh.enabled);
}
