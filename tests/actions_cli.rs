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
    let first = ids[0];
    let v = tokio::task::spawn_blocking(move || checkin_json(d, vec!["--account".into(), first.to_string()]))
        .await
        .unwrap();
    assert_eq!(v[0]["result"], "already");
    assert_eq!(fake.requests(), before, "done today: the site is not asked again");

    // `--force` asks the site anyway (it answers "already").
    let d = dir.path().to_path_buf();
    let v = tokio::task::spawn_blocking(move || checkin_json(d, vec!["--force".into()])).await.unwrap();
    assert_eq!(v[0]["result"], "already");
    assert!(fake.paths()[before..].iter().any(|p| p == "/api/user/checkin"), "forced: asked again");

    // Marked done by hand: listed as `manual`, never asked.
    {
        let mut s = apihub::store::Store::open(dir.path()).unwrap().store;
        let acc = s.account(ids[0]).unwrap();
        let day = apihub::engine::actions::checkin_day(acc.site.kind, apihub::domain::time::now_unix());
        s.save_checkin(
            ids[0],
            &apihub::store::CheckinRecord {
                day,
                outcome: apihub::store::CheckinRecordOutcome::Manual,
                reward: None,
                message: String::new(),
                updated_at: 0,
            },
        )
        .unwrap();
    }
    let (d, before) = (dir.path().to_path_buf(), fake.requests());
    let v = tokio::task::spawn_blocking(move || checkin_json(d, vec![])).await.unwrap();
    assert_eq!(v[0]["result"], "manual");
    assert_eq!(fake.requests(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_redeem_from_the_command_line() {
    let mut cfg = FakeConfig::new(Variant::OneHub);
    cfg.key_count = 2;
    cfg.redeem_codes = vec![("R1".into(), 500_000)];
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let id = apihub::store::Store::open(dir.path())
        .unwrap()
        .store
        .upsert_account(&NewAccount {
            site_url: fake.url.clone(),
            site_name: "Hub".into(),
            kind: SiteKind::OneHub,
            user_id: "42".into(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap()
        .to_string();
    let d = dir.path().to_path_buf();
    let run = move |args: Vec<&str>| {
        let out = Command::new(env!("CARGO_BIN_EXE_apihub"))
            .env("APIHUB_LOG", "off")
            .env("NO_PROXY", "127.0.0.1")
            .arg("--data-dir")
            .arg(&d)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let out = tokio::task::spawn_blocking(move || {
        let created = run(vec!["keys", "create", "--account", &id, "--name", "cli", "--quota", "2"]);
        let listed: Value = serde_json::from_str(&run(vec!["keys", "list", "--account", &id, "--json"])).unwrap();
        let deleted = run(vec!["keys", "delete", "--account", &id, "3"]);
        let redeemed = run(vec!["redeem", "--account", &id, "R1"]);
        (created, listed, deleted, redeemed)
    })
    .await
    .unwrap();
    assert!(out.0.contains("created key cli (id 3)"), "{}", out.0);
    let k = out.1.as_array().unwrap().iter().find(|k| k["name"] == "cli").unwrap().clone();
    assert_eq!(k["remain_quota"], 1_000_000, "$2 at 500,000 per USD");
    assert!(out.2.contains("deleted key 3"));
    assert!(out.3.contains("redeemed: +$1.00"), "{}", out.3);
    assert_eq!(fake.cfg().edits.deleted.len(), 1);
    assert_eq!(fake.cfg().quota, 3_650_000 + 500_000);
}
