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
