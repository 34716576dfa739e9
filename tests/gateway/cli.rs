//! `apihub gateway …` and `apihub serve` through the real binary.

use std::process::Command;

use apihub::store::Store;
use serde_json::{Value, json};

use crate::rig::{Acct, seed, spawn_serve};
use crate::upstream;

fn apihub(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apihub"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("APIHUB_LOG", "off")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_policy_candidates_serve_and_log() {
    let up = upstream::start("alpha").await;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        seed(&mut s, &Acct::new("alpha", &up.url, &["m1"]));
    }
    let d = dir.path();
    let (code, key1, _) = apihub(d, &["gateway", "key"]);
    assert_eq!(code, 0);
    let key1 = key1.trim().to_string();
    assert!(key1.starts_with("sk-local-"), "{key1}");
    assert_eq!(apihub(d, &["gateway", "key"]).1.trim(), key1, "kept");
    let (code, key2, _) = apihub(d, &["gateway", "key", "--rotate"]);
    assert_eq!(code, 0);
    let key = key2.trim().to_string();
    assert_ne!(key, key1);

    assert_eq!(apihub(d, &["gateway", "policy"]).1.trim(), "cheapest");
    assert_eq!(apihub(d, &["gateway", "policy", "balance"]).1.trim(), "balance");
    assert_eq!(apihub(d, &["gateway", "policy"]).1.trim(), "balance");
    let (code, _, err) = apihub(d, &["gateway", "policy", "random"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unknown policy"), "{err}");

    let (code, _, err) = apihub(d, &["gateway", "alias", "fast", "m1#999x"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(apihub(d, &["gateway", "alias", "fast", "m1"]).0, 0);
    // The gateway's settings are the `gateway.*` keys of `apihub settings`.
    assert_eq!(apihub(d, &["settings", "get", "gateway.aliases"]).1.trim(), "fast=m1");
    assert_eq!(apihub(d, &["settings", "set", "gateway.policy", "order"]).0, 0);
    assert_eq!(apihub(d, &["gateway", "policy"]).1.trim(), "order");
    let (code, _, err) = apihub(d, &["settings", "set", "gateway.listen", "0.0.0.0:8765"]);
    assert_eq!(code, 1, "not loopback: {err}");
    let (_, list, _) = apihub(d, &["settings", "list"]);
    for key in ["gateway.max_attempts", "gateway.idle_timeout_secs", "gateway.pins"] {
        assert!(list.contains(key), "{key} in {list}");
    }
    assert!(!list.contains("local_key"), "the local key is not a setting");
    assert_eq!(apihub(d, &["settings", "set", "gateway.policy", "balance"]).0, 0);
    let (code, out, _) = apihub(d, &["gateway", "candidates", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["policy"], "balance");
    let names: Vec<&str> = v["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(names, ["fast", "m1"]);
    assert_eq!(v["models"][1]["candidates"][0]["key_name"], "alpha-k1");
    assert!(!out.contains("sk-alpha-key"), "keys never printed");
    let (_, text, _) = apihub(d, &["gateway", "candidates"]);
    assert!(text.contains("m1") && text.contains("alpha / alpha"), "{text}");

    // serve on a free port, one request, SIGTERM, then the log.
    let d2 = d.to_path_buf();
    let (child, base) = tokio::task::spawn_blocking(move || spawn_serve(&d2)).await.unwrap();
    let http = apihub::tls::client_builder().no_proxy().build().unwrap();
    let r = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "fast", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(up.last().body["model"], "m1");
    let mut child = child;
    #[cfg(unix)]
    {
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    }
    #[cfg(not(unix))]
    child.kill().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    #[cfg(unix)]
    assert!(status.success(), "a clean stop on SIGTERM: {status:?}");
    let _ = status;
    let (code, out, _) = apihub(d, &["gateway", "log", "--json"]);
    assert_eq!(code, 0);
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["outcome"], "ok");
    assert_eq!(rows[0]["client_model"], "fast");
    assert_eq!(rows[0]["upstream_model"], "m1");
    assert_eq!(rows[0]["usage"]["prompt_tokens"], 10);
    let (_, text, _) = apihub(d, &["gateway", "log"]);
    assert!(text.contains("fast→m1") && text.contains(" ok "), "{text}");
    // Per-account figures: the alias and the upstream name both select the record.
    let account = rows[0]["account_id"].as_i64().unwrap();
    for model in ["fast", "m1"] {
        let (code, out, _) = apihub(d, &["gateway", "stats", "--model", model, "--json"]);
        assert_eq!(code, 0);
        let stats: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(stats.as_array().unwrap().len(), 1, "{stats}");
        assert_eq!((stats[0]["account_id"].as_i64(), stats[0]["attempts"].as_i64()), (Some(account), Some(1)));
        assert_eq!(stats[0]["prompt_tokens"], 10);
    }
    let (_, text, _) = apihub(d, &["gateway", "stats", "--model", "other"]);
    assert!(text.contains("no gateway requests recorded in that window"), "{text}");
}
