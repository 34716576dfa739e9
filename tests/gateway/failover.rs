//! Each failure class does what the taxonomy says, counted per upstream; cool-downs back
//! off and recover by one trial request.

use apihub::domain::gateway::Outcome;
use apihub::gateway::CellState;
use serde_json::Value;

use crate::rig::{Acct, Rig, settings};
use crate::upstream::{self, Mode, Upstream, refused_url};

fn status(code: u16, body: &str) -> Mode {
    Mode::Status(code, body.into(), None)
}

/// `a` (cheapest, tried first) and `b` (dearer) both sell `m`.
async fn pair() -> (Upstream, Upstream, Vec<Acct>) {
    let a = upstream::start("a").await;
    let b = upstream::start("b").await;
    let accts = vec![Acct::new("a", &a.url, &["m", "n"]).ratio(1.0), Acct::new("b", &b.url, &["m", "n"]).ratio(2.0)];
    (a, b, accts)
}

async fn served(rig: &Rig, model: &str) -> (u16, Value) {
    let r = rig.chat(model, false).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn who(v: &Value) -> &str {
    v["choices"][0]["message"]["content"].as_str().unwrap_or("?").trim_start_matches("hello from ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_refused_connections_fail_over() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(502, "<html>Bad gateway</html>"));
    let (s, v) = served(&rig, "m").await;
    assert_eq!((s, who(&v)), (200, "b"));
    assert_eq!((a.hits(), b.hits()), (1, 1));
    // A's account cools down (transient): the next request goes straight to b.
    let (s, v) = served(&rig, "m").await;
    assert_eq!((s, who(&v)), (200, "b"));
    assert_eq!((a.hits(), b.hits()), (1, 2));
    rig.stop().await;

    // Nothing listening at all.
    let mut accts = accts.clone();
    accts[0].url = refused_url();
    let rig = Rig::start(&accts, settings(|_| {})).await;
    let (s, v) = served(&rig, "m").await;
    assert_eq!((s, who(&v)), (200, "b"));
    let live = rig.records(2).await;
    let failed = live.recent.iter().find(|r| r.outcome == Outcome::Failover).unwrap();
    assert_eq!((failed.status, failed.error_class.as_deref()), (0, Some("transient")));
    assert!(failed.message.contains("connect"), "{}", failed.message);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_cool_the_account_until_retry_after() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(Mode::Status(429, r#"{"error":{"message":"You have reached the request limit"}}"#.into(), Some("30".into())));
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    assert_eq!((a.hits(), b.hits()), (1, 1));
    // Every model of that account waits: n goes to b too.
    assert_eq!(who(&served(&rig, "n").await.1), "b");
    assert_eq!(a.hits(), 1);
    let view = rig.gw().view(Some("m"));
    let a_state = view.models[0].candidates.iter().find(|c| c.info.account_label.starts_with("a")).unwrap().state;
    assert_eq!(a_state, CellState::Cooling { scope: "account", secs_left: 30 });
    // 29 s later still cooling; at 30 s one trial goes to a.
    rig.clock.advance_ms(29_000);
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    assert_eq!(a.hits(), 1);
    rig.clock.advance_ms(1_000);
    a.set(Mode::Ok);
    assert_eq!(who(&served(&rig, "m").await.1), "a");
    assert_eq!(a.hits(), 2);
    rig.stop().await;

    // Only rate-limited accounts: 429 with Retry-After, OpenAI's shape.
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(Mode::Status(429, "{}".into(), Some("7".into())));
    b.set(Mode::Status(429, "{}".into(), Some("3".into())));
    let r = rig.chat("m", false).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_keys_and_empty_balances_cool_long_and_alert() {
    let (a, _b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(401, r#"{"error":{"message":"无效的令牌 (request id: x)","type":"new_api_error"}}"#));
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    // The key is parked: other models on it skip it as well.
    assert_eq!(who(&served(&rig, "n").await.1), "b");
    assert_eq!(a.hits(), 1);
    let live = rig.records(3).await;
    assert_eq!(live.alerts.len(), 1, "{:?}", live.alerts);
    assert_eq!(live.alerts[0].class, "key_auth");
    assert!(live.alerts[0].message.contains("无效的令牌"));
    // Five minutes later one trial: still dead → ten minutes.
    rig.clock.advance_ms(5 * 60_000);
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    assert_eq!(a.hits(), 2);
    let view = rig.gw().view(Some("m"));
    let st = view.models[0].candidates.iter().find(|c| c.info.account_label.starts_with("a")).unwrap().state;
    assert_eq!(st, CellState::Cooling { scope: "key", secs_left: 600 }, "backed off ×2");
    rig.stop().await;

    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(403, r#"{"error":{"message":"用户额度不足, 剩余额度: ＄0.00","type":"new_api_error","code":"insufficient_user_quota"}}"#));
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    assert_eq!((a.hits(), b.hits()), (1, 1));
    let live = rig.records(2).await;
    assert_eq!(live.alerts[0].class, "account_quota");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_missing_in_the_group_cools_only_that_model() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(503, r#"{"error":{"message":"No available channel for model m under group default (distributor)","code":"model_not_found"}}"#));
    assert_eq!(who(&served(&rig, "m").await.1), "b");
    a.set(Mode::Ok);
    assert_eq!(who(&served(&rig, "n").await.1), "a", "the key still serves its other models");
    assert_eq!(who(&served(&rig, "m").await.1), "b", "but not m for a while");
    assert_eq!((a.hits(), b.hits()), (2, 2));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_go_back_unchanged_without_failover() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    let body = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
    a.set(status(400, body));
    let r = rig.chat("m", false).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().await.unwrap(), body, "the upstream's own body");
    assert_eq!((a.hits(), b.hits()), (1, 0));
    // No cool-down: a is tried first again.
    a.set(Mode::Ok);
    assert_eq!(who(&served(&rig, "m").await.1), "a");
    let live = rig.records(2).await;
    assert_eq!(live.recent[0].outcome, Outcome::ClientError);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_stop_at_the_maximum() {
    let ups = vec![
        upstream::start("a").await,
        upstream::start("b").await,
        upstream::start("c").await,
        upstream::start("d").await,
    ];
    let accts: Vec<Acct> =
        ups.iter().enumerate().map(|(i, u)| Acct::new(&u.state.name, &u.url, &["m"]).ratio(1.0 + i as f64)).collect();
    for u in &ups {
        u.set(status(500, r#"{"error":{"message":"get_channel_failed"}}"#));
    }
    let rig = Rig::start(&accts, settings(|s| s.max_attempts = 3)).await;
    let r = rig.post("/v1/messages", &serde_json::json!({"model": "m", "max_tokens": 5, "messages": []})).await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "Anthropic's shape on /v1/messages");
    assert_eq!(v["error"]["type"], "api_error");
    assert!(v["error"]["message"].as_str().unwrap().contains("3 attempt(s)"), "{v}");
    assert_eq!(ups.iter().map(Upstream::hits).collect::<Vec<_>>(), [1, 1, 1, 0]);
    // The three cool down; d is next, and fails too.
    let r = rig.chat("m", false).await;
    assert_eq!(r.status(), 502);
    assert_eq!(ups.iter().map(Upstream::hits).collect::<Vec<_>>(), [1, 1, 1, 1]);
    // All cooling after transient failures: the one reopening first is still tried
    // rather than refusing the request.
    for u in &ups {
        u.set(Mode::Ok);
    }
    let r = rig.chat("m", false).await;
    assert_eq!(r.status(), 200);
    assert_eq!(ups.iter().map(Upstream::hits).collect::<Vec<_>>(), [2, 1, 1, 1]);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cool_down_backs_off_and_one_trial_recovers() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(500, "{}"));
    served(&rig, "m").await;
    let st = |rig: &Rig| {
        let v = rig.gw().view(Some("m"));
        v.models[0].candidates.iter().find(|c| c.info.account_label.starts_with("a")).unwrap().state
    };
    assert_eq!(st(&rig), CellState::Cooling { scope: "account", secs_left: 2 });
    rig.clock.advance_ms(2_000);
    assert_eq!(st(&rig), CellState::Trial { scope: "account" });
    // The trial fails: twice as long.
    served(&rig, "m").await;
    assert_eq!(a.hits(), 2);
    assert_eq!(st(&rig), CellState::Cooling { scope: "account", secs_left: 4 });
    rig.clock.advance_ms(4_000);
    a.set(Mode::Ok);
    assert_eq!(who(&served(&rig, "m").await.1), "a", "the trial succeeds");
    assert_eq!(st(&rig), CellState::Ready);
    assert_eq!(who(&served(&rig, "m").await.1), "a");
    assert_eq!((a.hits(), b.hits()), (4, 2));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_counting_fails_over_without_cooling_anything() {
    let (a, b, accts) = pair().await;
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(status(404, "404 page not found"));
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = rig.post("/v1/messages/count_tokens", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!((a.hits(), b.hits()), (1, 1));
    a.set(Mode::Ok);
    let r = rig.post("/v1/messages", &serde_json::json!({"model": "m", "max_tokens": 5, "messages": []})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(a.hits(), 2, "a's model was not cooled by the missing probe route");
    rig.stop().await;
}
