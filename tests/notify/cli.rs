//! The commands, as a user runs them (the built binary on a temporary data dir):
//! `notify add|list|test|remove|history`, `summary [--send] [--json]`, `refresh` from
//! cron sending a new alert once, and `watch` refreshing, sending and stopping cleanly
//! on SIGTERM while a second `watch` on the same data dir stands by.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;
use serde_json::Value;

use super::events::webhook;
use super::fake_relay::{FakeConfig, FakeRelay, Variant};
use super::fakes::fakes;

fn apihub(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").arg("--data-dir").arg(dir);
    c
}

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = apihub(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn notify_commands_add_list_test_remove_history_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let api = fakes().url.clone();
    assert_eq!(run(d, &["settings", "set", "ui.lang", "en"], &[]).0, 0);
    let add = [
        "notify",
        "add",
        "telegram",
        "--name",
        "phone",
        "--token-env",
        "TG_TOKEN",
        "--chat-id",
        "42",
        "--api-base",
        &api,
        "--events",
        "low_balance,summary",
    ];
    let (code, out, err) = run(d, &add, &[("TG_TOKEN", "ok-cli1")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("saved telegram channel \"phone\": chat 42 via {api}; events: low_balance,summary")),
        "{out}"
    );
    assert!(!out.contains("ok-cli1"), "the token is not printed");
    // The same name again, a missing field, an unset variable: one line each, exit 1.
    let (code, _, err) = run(d, &add, &[("TG_TOKEN", "ok-cli1")]);
    assert_eq!(code, 1);
    assert!(err.contains("a channel named \"phone\" exists"), "{err}");
    let (code, _, err) = run(d, &["notify", "add", "telegram", "--name", "x", "--chat-id", "1"], &[]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: telegram channel: the bot token (--token) is required");
    let (code, _, err) = run(d, &["notify", "add", "wecom", "--name", "w", "--url-env", "NOT_SET_ANYWHERE"], &[]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: environment variable NOT_SET_ANYWHERE (for --url-env) is not set");
    let (code, _, err) = run(d, &["notify", "add", "ntfy", "--name", "n", "--topic", "t", "--events", "low"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--events: unknown event \"low\""), "{err}");

    let (code, out, _) = run(d, &["notify", "list", "--json"], &[]);
    assert_eq!(code, 0);
    assert!(!out.contains("ok-cli1"), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["name"], "phone");
    assert_eq!(v[0]["target"], format!("chat 42 via {api}"));
    assert_eq!(v[0]["events"], serde_json::json!(["low_balance", "summary"]));
    assert_eq!(v[0]["status"], "unused");

    let (code, out, err) = run(d, &["notify", "test", "phone"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sent a test message on \"phone\""), "{out}");
    let seen = fakes().seen("cli1");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["text"], "API Hub Desk: test\ntest message: this channel works");
    let v: Value = serde_json::from_str(&run(d, &["notify", "list", "--json"], &[]).1).unwrap();
    assert_eq!(v[0]["status"], "ok");

    // A channel the service refuses: the test says why, the list shows it failing.
    let broken =
        ["notify", "add", "telegram", "--name", "broken", "--token-env", "TG", "--chat-id", "42", "--api-base", &api];
    assert_eq!(run(d, &broken, &[("TG", "err-cli2")]).0, 0);
    let (code, _, err) = run(d, &["notify", "test", "broken"], &[]);
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "error: channel \"broken\": Telegram: HTTP 400: Bad Request: chat not found");
    let (_, out, _) = run(d, &["notify", "list"], &[]);
    assert!(out.contains("FAILING since") && out.contains("chat not found"), "{out}");
    assert_eq!(run(d, &["notify", "remove", "broken"], &[]).0, 0);
    let (code, _, err) = run(d, &["notify", "remove", "broken"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no channel named \"broken\""), "{err}");
    assert_eq!(run(d, &["notify", "test", "nobody"], &[]).0, 1);

    // The summary: printed, as JSON, and sent on the channels that get it.
    let (code, out, _) = run(d, &["summary", "--json"], &[]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accounts"], 0);
    let (code, out, err) = run(d, &["summary", "--send"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("API Hub Desk daily summary "), "{out}");
    assert!(err.contains("summary sent on 1 of 1 channel(s)"), "{err}");
    let seen = fakes().seen("cli1");
    assert_eq!(seen.len(), 2);
    assert!(seen[1].body["text"].as_str().unwrap().starts_with("API Hub Desk daily summary "), "{:?}", seen[1].body);
    let (code, out, _) = run(d, &["notify", "history", "--json"], &[]);
    assert_eq!(code, 0);
    let h: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(h[0]["kind"], "summary");
    assert_eq!(h[0]["deliveries"][0]["channel"], "phone");
    assert_eq!(h[0]["deliveries"][0]["state"], "sent");
    let (_, out, _) = run(d, &["notify", "history"], &[]);
    assert!(out.contains("summary") && out.contains("phone: sent"), "{out}");
}

/// A key-only account (a few requests per refresh: quick under the politeness limits).
fn account(url: &str, cfg: &FakeConfig) -> NewAccount {
    NewAccount {
        site_url: url.into(),
        site_name: "Fake".into(),
        kind: SiteKind::OneApi,
        user_id: String::new(),
        username: "alice".into(),
        auth: AuthMethod::ApiKey,
        credentials: Credentials { api_key: Some(format!("sk-{}", cfg.sk_key)), ..Default::default() },
    }
}

/// A data dir with one account on `fake` ($7.30 left, alert below $10) and a webhook.
fn prepared(fake: &FakeRelay, cfg: &FakeConfig, target: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    s.set_setting("alerts.low_balance", "10").unwrap();
    s.set_setting("ui.lang", "en").unwrap();
    s.upsert_account(&account(&fake.url, cfg)).unwrap();
    s.save_notify_channel(&webhook("hook", target, vec![])).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_from_cron_sends_a_new_alert_once() {
    let cfg = FakeConfig::new(Variant::OneApi);
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = prepared(&fake, &cfg, "ok-cron1");
    let d = dir.path().to_path_buf();
    let (code, _, err) = tokio::task::spawn_blocking(move || run(&d, &["refresh"], &[])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 notification(s) sent"), "{err}");
    let seen = fakes().seen("cron1");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["text"], "Fake / alice: balance $7.30 is below $10.00");
    // The next cron run: the state did not change, nothing is sent again.
    let d = dir.path().to_path_buf();
    let (code, _, err) = tokio::task::spawn_blocking(move || run(&d, &["refresh", "--json"], &[])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(fakes().seen("cron1").len(), 1);
}

/// A child's stderr, collected line by line on a thread.
fn collect(child: &mut std::process::Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut s = t.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    text
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_refreshes_sends_and_stops_cleanly_on_sigterm_beside_a_second_watch() {
    let cfg = FakeConfig::new(Variant::OneApi);
    let fake = FakeRelay::start(cfg.clone()).await;
    let dir = prepared(&fake, &cfg, "ok-watch1");
    let d = dir.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_apihub"))
                .env_remove("APIHUB_LOG")
                .env("NO_PROXY", "127.0.0.1")
                .args(["--data-dir", d.to_str().unwrap(), "watch", "--tick-secs", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut first = spawn();
        let log1 = collect(&mut first);
        // The never-refreshed account is due at once: refreshed, its alert sent.
        wait_for("the alert from watch", || fakes().seen("watch1").len() == 1);
        let mut second = spawn();
        let log2 = collect(&mut second);
        wait_for("the second watch to stand by", || log2.lock().unwrap().contains("standing by"));
        for child in [&first, &second] {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        let s1 = first.wait().unwrap();
        let s2 = second.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let (l1, l2) = (log1.lock().unwrap().clone(), log2.lock().unwrap().clone());
        (s1, s2, l1, l2)
    })
    .await
    .unwrap();
    let (s1, s2, l1, l2) = result;
    assert_eq!(s1.code(), Some(0), "{l1}");
    assert_eq!(s2.code(), Some(0), "{l2}");
    assert!(l1.contains("runs the schedule on this data dir") && l1.contains("refreshing 1 account(s)"), "{l1}");
    assert!(l1.contains("SIGTERM") && l1.contains("watch: stopped"), "{l1}");
    assert!(!l2.contains("refreshing"), "the one standing by did not refresh: {l2}");
    assert_eq!(fakes().seen("watch1").len(), 1, "sent once");
    assert!(fake.requests() > 0);
    // The lease was given back: anyone may take it now.
    let mut s = Store::open(dir.path()).unwrap().store;
    let now = apihub::domain::time::now_unix();
    assert_eq!(s.notify_lease("schedule", "test", 60, now).unwrap(), apihub::store::Lease::Mine);
}

/// After a lost key, a credential reset removes the channels (their settings were
/// sealed with the lost key) and says so; `notify add` works again with the new key.
#[test]
fn a_credential_reset_removes_the_sealed_channels_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = ["notify", "add", "wecom", "--name", "ops", "--url-env", "HOOK"];
    let hook = format!("{}/cgi-bin/webhook/send?key=ok-reset1", fakes().url);
    assert_eq!(run(d, &add, &[("HOOK", &hook)]).0, 0);
    std::fs::remove_file(d.join("secret.key")).unwrap();
    let (code, out, err) = run(d, &["recover", "reset-credentials", "--yes"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed alert channels ops"), "{out}");
    assert_eq!(run(d, &["notify", "list", "--json"], &[]).1.trim(), "[]");
    assert_eq!(run(d, &add, &[("HOOK", &hook)]).0, 0);
    assert_eq!(run(d, &["notify", "test", "ops"], &[]).0, 0);
    assert_eq!(fakes().seen("reset1").len(), 1);
}

/// `--token -` reads the token from one line of stdin (nothing on the command line).
#[test]
fn a_token_can_come_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let api = fakes().url.clone();
    let mut child = apihub(dir.path())
        .args(["notify", "add", "telegram", "--name", "p", "--token", "-", "--chat-id", "7", "--api-base", &api])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ok-stdin1\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(run(dir.path(), &["notify", "test", "p"], &[]).0, 0);
    assert_eq!(fakes().seen("stdin1")[0].path, "/botok-stdin1/sendMessage");
}
