//! Money as the site gives it, through the CLI against fake sites over real HTTP: VoAPI
//! v2 money strings stay money in the site's own currency (`"quota": null`), a malformed
//! amount fails that refresh and keeps the last good figures, and small amounts never
//! print as zero.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_relay;

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::{Value, json};

fn apihub(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").arg("--data-dir").arg(dir);
    c
}

fn run(dir: PathBuf, args: Vec<String>) -> String {
    let out = apihub(&dir).args(&args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn cli(dir: &Path, args: &[&str]) -> String {
    let (d, a) = (dir.to_path_buf(), args.iter().map(|s| s.to_string()).collect());
    tokio::task::spawn_blocking(move || run(d, a)).await.unwrap()
}

async fn cli_json(dir: &Path, args: &[&str]) -> Value {
    let out = cli(dir, args).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A VoAPI v2 fake billing in `currency`, basic balance 18.64 (+ bind 2.50).
async fn voapi(currency: &str) -> FakeRelay {
    let mut cfg = FakeConfig::new(Variant::VoapiV2);
    cfg.usd_balance = 18.64;
    cfg.money_currency = currency.into();
    cfg.key_count = 2;
    FakeRelay::start(cfg).await
}

async fn add(dir: &Path, f: &FakeRelay, kind: &str, name: &str) {
    let cfg = f.cfg();
    let uid = cfg.user_id.to_string();
    cli(
        dir,
        &["accounts", "add", "--url", &f.url, "--kind", kind, "--name", name, "--token", &cfg.token, "--user-id", &uid],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voapi_v2_money_stays_money_in_the_sites_currency() {
    let (usd, cny) = (voapi("USD").await, voapi("CNY").await);
    let dir = tempfile::tempdir().unwrap();
    add(dir.path(), &usd, "voapi-v2", "Vo USD").await;
    add(dir.path(), &cny, "voapi-v2", "Vo CNY").await;

    let v = cli_json(dir.path(), &["refresh", "--json"]).await;
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, cur) in rows.iter().zip(["USD", "CNY"]) {
        assert_eq!(row["status"], "ok", "{row}");
        // basic 18.640000 + bind 2.500000; used 1.000000 + 0.500000. No invented quota.
        assert_eq!(row["balance"], json!({"quota": null, "amount": 21.14, "currency": cur}));
        assert_eq!(row["used"], json!({"quota": null, "amount": 1.5, "currency": cur}));
        assert_eq!(row["keys"], 2);
    }

    // The table prints the same figures, in each site's currency.
    let table = cli(dir.path(), &["accounts", "list"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert_eq!(
        lines[1],
        format!(
            "{:>4}  {:<10}  {:<24}  {:<16}  {:>16}  {:>10}  ok",
            1, "voapi-v2", "Vo USD", "alice", "21.14 USD", "-"
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{:>4}  {:<10}  {:<24}  {:<16}  {:>16}  {:>10}  ok",
            2, "voapi-v2", "Vo CNY", "alice", "21.14 CNY", "-"
        )
    );

    // Malformed money strings: that refresh fails as `malformed`, naming the field, and
    // the last good figures stay.
    let good = rows[0]["balance"].clone();
    for bad in [json!("abc"), json!(""), Value::Null] {
        usd.state.cfg.lock().unwrap().user_extra = json!({"bindBalance": bad});
        let v = cli_json(dir.path(), &["refresh", "--json", "--account", "1"]).await;
        let row = &v.as_array().unwrap()[0];
        assert_eq!(row["status"], "error", "{bad}: {row}");
        assert_eq!(row["error"]["kind"], "malformed", "{bad}");
        let msg = row["error"]["message"].as_str().unwrap();
        assert!(msg.contains("bindBalance"), "{bad}: {msg}");
        assert_eq!(row["balance"], good, "{bad}: the last good balance stays");
    }
    // A missing currency is USD; the site's currency is otherwise honoured as given.
    usd.state.cfg.lock().unwrap().user_extra =
        json!({"currency": null, "basicBalance": "0.004900", "bindBalance": "0"});
    let v = cli_json(dir.path(), &["refresh", "--json", "--account", "1"]).await;
    assert_eq!(v[0]["balance"], json!({"quota": null, "amount": 0.0049, "currency": "USD"}));
    let table = cli(dir.path(), &["accounts", "list"]).await;
    assert!(table.lines().nth(1).unwrap().contains("  0.0049 USD  "), "never shown as zero: {table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_check_in_rewards_are_never_shown_as_zero() {
    // new-api: 2,431 quota = $0.004862.
    let mut cfg = FakeConfig::new(Variant::NewApiClassic);
    cfg.status_extra = json!({"checkin_enabled": true});
    cfg.checkin_reward_quota = 2_431;
    cfg.key_count = 1;
    let newapi = FakeRelay::start(cfg).await;
    // VoAPI v2 in CNY: amount 0.004 + bonus 0.0009.
    let cny = voapi("CNY").await;
    let dir = tempfile::tempdir().unwrap();
    {
        // Stored directly: adding through the CLI would refresh it under the politeness limits.
        use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
        let cfg = newapi.cfg();
        let mut s = apihub::store::Store::open(dir.path()).unwrap().store;
        s.upsert_account(&NewAccount {
            site_url: newapi.url.clone(),
            site_name: "New".into(),
            kind: SiteKind::NewApi,
            user_id: cfg.user_id.to_string(),
            username: cfg.username.clone(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(cfg.token.clone()), ..Default::default() },
        })
        .unwrap();
    }
    add(dir.path(), &cny, "voapi-v2", "Vo CNY").await;
    // The VoAPI account once (its currency); the new-api one is checked in unrefreshed.
    cli(dir.path(), &["refresh", "--account", "2"]).await;

    let v = cli_json(dir.path(), &["checkin", "--json"]).await;
    let rows = v.as_array().unwrap();
    let by = |id: i64| rows.iter().find(|r| r["account_id"] == id).unwrap().clone();
    let (n, c) = (by(1), by(2));
    assert_eq!((n["result"].as_str(), n["reward_quota"].as_i64()), (Some("done"), Some(2_431)), "{n}");
    assert_eq!(n["reward"], "$0.0049");
    assert_eq!(c["result"], "done", "{c}");
    assert_eq!(c["reward_quota"], Value::Null, "a money reward has no quota");
    assert_eq!(c["reward"], "¥0.0049", "in the site's currency");
}
