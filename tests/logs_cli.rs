//! `apihub logs sync`, `apihub logs --json|--csv` and `apihub stats` against a fake site.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod fake_relay;

use std::path::PathBuf;
use std::process::{Command, Output};

use fake_relay::{FakeConfig, FakeRelay, Variant};
use serde_json::Value;

fn apihub(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").arg("--data-dir").arg(dir);
    c
}

async fn run(dir: PathBuf, args: Vec<String>) -> Output {
    let out = tokio::task::spawn_blocking(move || apihub(&dir).args(&args).output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_json_after_logs_sync_lists_the_sites_rows_and_stats_sum_them() {
    let cfg = FakeConfig::new(Variant::OneHub);
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    run(
        d.clone(),
        strings(&[
            "accounts",
            "add",
            "--url",
            &fake.url,
            "--kind",
            "one-hub",
            "--token",
            &cfg.token,
            "--user-id",
            "42",
        ]),
    )
    .await;

    let out = run(d.clone(), strings(&["logs", "sync", "--json"])).await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["inserted"], cfg.logs.len());

    let out = run(d.clone(), strings(&["logs", "--json", "--model", "claude-sonnet"])).await;
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), cfg.logs.iter().filter(|r| r.model_name == "claude-sonnet").count());
    assert!(rows.iter().all(|r| r["model"] == "claude-sonnet" && r["type"] == "consume"));
    let times: Vec<i64> = rows.iter().map(|r| r["created_at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(rows[0]["duration_ms"], 1200, "one-hub request_time is already ms");

    let out = run(d.clone(), strings(&["stats", "--json", "--by", "model"])).await;
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    let consume: Vec<_> = cfg.logs.iter().filter(|r| r.log_type == 2).collect();
    assert_eq!(st["total"]["requests"], consume.len());
    assert_eq!(st["total"]["quota"], consume.iter().map(|r| r.quota).sum::<i64>());

    let out = run(d.clone(), strings(&["logs", "--csv", "--type", "topup"])).await;
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("time,account,type,model"));
    assert_eq!(lines.len(), 1 + 3, "three top-ups");
    assert!(lines[1].contains(",topup,"));

    // A second sync with nothing new adds nothing.
    let out = run(d, strings(&["logs", "sync", "--json"])).await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["inserted"], 0);
}

fn add_account(fake: &FakeRelay, cfg: &FakeConfig, kind: &str) -> Vec<String> {
    strings(&["accounts", "add", "--url", &fake.url, "--kind", kind, "--token", &cfg.token, "--user-id", "42"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_logs_sync_todays_requests_and_spend_come_from_the_synced_rows() {
    let cfg = FakeConfig::new(Variant::NewApiClassic);
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    run(d.clone(), add_account(&fake, &cfg, "new-api")).await;
    let (start, end) = apihub::domain::time::local_day_window();
    let today: Vec<_> =
        cfg.logs.iter().filter(|r| r.log_type == 2 && r.created_at >= start && r.created_at <= end).collect();

    let list = |d: PathBuf| async move {
        let out = run(d, strings(&["accounts", "list", "--json"])).await;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["today"].clone()
    };
    let before = list(d.clone()).await;
    assert_eq!(before["requests"], cfg.today_model_rows(start, end).0, "the snapshot's figure: rows with a model");
    run(d.clone(), strings(&["logs", "sync", "--json"])).await;
    let after = list(d.clone()).await;
    assert_eq!(after["requests"], today.len(), "every consume row of today, from the local rows");
    assert_ne!(after["requests"], before["requests"]);
    assert_eq!(after["spend_quota"], today.iter().map(|r| r.quota).sum::<i64>());
    assert_eq!(after["prompt_tokens"], today.iter().map(|r| r.prompt_tokens).sum::<i64>());
    assert_eq!(after["completion_tokens"], today.iter().map(|r| r.completion_tokens).sum::<i64>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_depth_is_saved_and_limits_the_next_new_accounts_first_sync() {
    let now = chrono::Utc::now().timestamp();
    let mut cfg = FakeConfig::new(Variant::OneHub);
    for days in [3, 10, 40, 100] {
        cfg.logs.push(fake_relay::LogRow {
            created_at: now - days * 86_400,
            log_type: 2,
            model_name: format!("old-{days}"),
            quota: 1,
            prompt_tokens: 1,
            completion_tokens: 1,
        });
    }
    let a = FakeRelay::start(cfg.clone()).await;
    let b = FakeRelay::start(cfg.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    run(d.clone(), add_account(&a, &cfg, "one-hub")).await;
    let within = |days: i64| cfg.logs.iter().filter(|r| r.created_at >= now - days * 86_400 - 60).count();

    let bad = apihub(&d).args(["logs", "sync", "--days", "5"]).output().unwrap();
    assert!(!bad.status.success(), "only 7, 30, 90 or 180");
    let out = run(d.clone(), strings(&["logs", "sync", "--days", "7", "--json"])).await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["inserted"], within(7), "7 days: the 10-, 40- and 100-day-old rows stay on the site");
    assert!(within(7) < cfg.logs.len() - 2);

    // A new account's first sync, without --days, uses the saved depth.
    run(d.clone(), add_account(&b, &cfg, "one-hub")).await;
    let out = run(d.clone(), strings(&["logs", "sync", "--account", "2", "--json"])).await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["account_id"], 2);
    assert_eq!(reports[0]["inserted"], within(7));

    // A deeper setting reaches further back for the next first sync.
    let c = FakeRelay::start(cfg.clone()).await;
    run(d.clone(), add_account(&c, &cfg, "one-hub")).await;
    let out = run(d.clone(), strings(&["logs", "sync", "--account", "3", "--days", "90", "--json"])).await;
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reports[0]["inserted"], within(90));
    assert_eq!(within(90), cfg.logs.len() - 1);
}
