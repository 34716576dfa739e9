//! `apihub checkin` against fake relays: per-account JSON results, exit 0, and the
//! day's state remembered for the next run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::process::Command;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::{Value, json};

fn checkin_json(dir: std::path::PathBuf, extra: Vec<String>) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_apihub"))
        .env("APIHUB_LOG", "off")
        .env("NO_PROXY", "127.0.0.1")
        .arg("--data-dir")
        .arg(&dir)
        .args(["checkin", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkin_lists_each_account_and_remembers_the_day() {
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.status_extra = json!({"checkin_enabled": true});
    let fake = FakeRelay::start(cfg.clone()).await;
    let hub = FakeRelay::start(FakeConfig::new(Variant::OneHub)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    {
        let mut s = apihub::store::Store::open(dir.path()).unwrap().store;
        for (url, kind) in [(&fake.url, SiteKind::NewApi), (&hub.url, SiteKind::OneHub)] {
            ids.push(
                s.upsert_account(&NewAccount {
                    site_url: url.clone(),
                    site_name: kind.as_str().into(),
                    kind,
                    user_id: "42".into(),
                    username: "alice".into(),
                    auth: AuthMethod::AccessToken,
                    credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
                })
                .unwrap(),
            );
        }
    }
    let d = dir.path().to_path_buf();
    let v = tokio::task::spawn_blocking(move || checkin_json(d, vec![])).await.unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1, "one-hub has no check-in: {v}");
    assert_eq!(rows[0]["account_id"], ids[0]);
    assert_eq!(rows[0]["result"], "done");
    assert_eq!(rows[0]["reward_quota"], 4321);
    assert_eq!(rows[0]["reward"], "$0.01");
    assert_eq!(hub.requests(), 0);

    let d = dir.path().to_path_buf();
    let before = fake.requests();
    let v = tokio::task::spawn_blocking(move || checkin_json(d, vec!["--account".into(), ids[0].to_string()]))
        .await
        .unwrap();
    assert_eq!(v[0]["result"], "already");
    assert_eq!(fake.requests(), before, "done today: the site is not asked again");
}
