//! Each endpoint, streaming and not; model rewriting for aliases; the upstream key and
//! headers; `/v1/models`; accounting with usage and cost.

use apihub::domain::SiteKind;
use apihub::domain::gateway::{Endpoint, Outcome};
use apihub::gateway::AliasTarget;
use apihub::store::GatewayLogQuery;
use serde_json::{Value, json};

use crate::rig::{Acct, Rig, settings};
use crate::upstream::{self, reply_text};

fn body_for(e: Endpoint, model: &str, stream: bool) -> Value {
    match e {
        Endpoint::ChatCompletions => {
            json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        }
        Endpoint::Completions => json!({"model": model, "stream": stream, "prompt": "hi"}),
        Endpoint::Embeddings => json!({"model": model, "input": "hi"}),
        Endpoint::Responses => json!({"model": model, "stream": stream, "input": "hi"}),
        Endpoint::Messages => {
            json!({"model": model, "stream": stream, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        }
        Endpoint::CountTokens => json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
    }
}

/// The reply's text, whatever its shape (JSON or the concatenated SSE deltas).
fn text_of(e: Endpoint, body: &str) -> String {
    if !body.starts_with("data:") && !body.starts_with("event:") {
        let v: Value = serde_json::from_str(body).unwrap();
        return match e {
            Endpoint::ChatCompletions => v["choices"][0]["message"]["content"].as_str().unwrap().into(),
            Endpoint::Completions => v["choices"][0]["text"].as_str().unwrap().into(),
            Endpoint::Responses => v["output"][0]["content"][0]["text"].as_str().unwrap().into(),
            Endpoint::Messages => v["content"][0]["text"].as_str().unwrap().into(),
            Endpoint::Embeddings => v["data"][0]["embedding"].to_string(),
            Endpoint::CountTokens => v["input_tokens"].to_string(),
        };
    }
    let mut out = String::new();
    for line in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        for t in [&v["choices"][0]["delta"]["content"], &v["delta"], &v["delta"]["text"]] {
            if let Some(s) = t.as_str() {
                out.push_str(s);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_streaming_and_not() {
    let up = upstream::start("alpha").await;
    let rig = Rig::start(&[Acct::new("alpha", &up.url, &["m1"])], settings(|_| {})).await;
    let mut expected_records = 0;
    for e in Endpoint::ALL {
        for stream in [false, true] {
            if stream && matches!(e, Endpoint::Embeddings | Endpoint::CountTokens) {
                continue;
            }
            let r = rig.post(e.path(), &body_for(e, "m1", stream)).await;
            assert_eq!(r.status(), 200, "{e:?} stream={stream}");
            let ct = r.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(ct.starts_with("text/event-stream"), stream, "{e:?}");
            let body = r.text().await.unwrap();
            let text = text_of(e, &body);
            match e {
                Endpoint::Embeddings => assert_eq!(text, "[0.25,-0.5,1.0]"),
                Endpoint::CountTokens => assert_eq!(text, "7"),
                _ => assert_eq!(text, reply_text("alpha"), "{e:?} stream={stream}: {body}"),
            }
            let seen = up.last();
            assert_eq!(seen.path, e.path());
            if e.is_anthropic() {
                assert_eq!(seen.headers["x-api-key"], "sk-alpha-key");
                assert!(!seen.headers.contains_key("authorization"), "the local key never goes upstream");
                assert_eq!(seen.headers["anthropic-version"], "2023-06-01", "added when the client sent none");
            } else {
                assert_eq!(seen.headers["authorization"], "Bearer sk-alpha-key");
                assert!(!seen.headers.contains_key("x-api-key"));
            }
            expected_records += 1;
        }
    }
    let live = rig.records(expected_records).await;
    assert!(live.recent.iter().all(|r| r.outcome == Outcome::Ok), "{:?}", live.recent);
    let chat_stream = live.recent.iter().find(|r| r.endpoint == Endpoint::ChatCompletions && r.stream).unwrap();
    assert_eq!(
        (chat_stream.usage.prompt_tokens, chat_stream.usage.completion_tokens),
        (Some(10), Some(5)),
        "SSE usage read"
    );
    let msg_stream = live.recent.iter().find(|r| r.endpoint == Endpoint::Messages && r.stream).unwrap();
    assert_eq!((msg_stream.usage.prompt_tokens, msg_stream.usage.completion_tokens), (Some(10), Some(5)));
    let resp_json = live.recent.iter().find(|r| r.endpoint == Endpoint::Responses && !r.stream).unwrap();
    assert_eq!(resp_json.usage.completion_tokens, Some(5), "JSON tail usage read");
    // Ratio 1 → $2 per 1M tokens in and out: 15 tokens = $0.00003; paid 1.0 → the same real cost.
    assert!((resp_json.cost_usd.unwrap() - 0.00003).abs() < 1e-12, "{:?}", resp_json.cost_usd);
    assert_eq!(resp_json.cost_usd, resp_json.cost_real);
    let store = rig.stop().await;
    let rows = store.lock().unwrap().gateway_attempts(&GatewayLogQuery { limit: 100, ..Default::default() }).unwrap();
    assert_eq!(rows.len() as u64, expected_records, "every record written in batches");
    assert!(rows.iter().all(|r| r.ttfb_ms.is_some() && r.latency_ms >= r.ttfb_ms.unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_rewrite_the_model_and_are_listed() {
    let a = upstream::start("alpha").await;
    let b = upstream::start("beta").await;
    let accts = [
        Acct::new("alpha", &a.url, &["claude-sonnet-4-5"]),
        Acct::new("beta", &b.url, &["claude-4.5-sonnet"]).ratio(0.5),
    ];
    let rig = Rig::start(
        &accts,
        settings(|s| {
            s.aliases.insert(
                "sonnet".into(),
                vec![
                    AliasTarget { model: "claude-sonnet-4-5".into(), account: None },
                    AliasTarget { model: "claude-4.5-sonnet".into(), account: None },
                ],
            );
        }),
    )
    .await;
    let r = rig.post("/v1/messages", &body_for(Endpoint::Messages, "sonnet", false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(b.last().body["model"], "claude-4.5-sonnet", "the cheaper site's own name went upstream");
    assert_eq!(b.last().body["messages"][0]["content"], "hi", "the rest of the body as sent");
    assert_eq!(a.hits(), 0);
    // The model list: every routable name and the alias; Anthropic's shape on request.
    let models = |anthropic: bool| {
        let mut req = rig.http.get(format!("{}/v1/models", rig.base)).header("x-api-key", &rig.key);
        if anthropic {
            req = req.header("anthropic-version", "2023-06-01");
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let list = models(false).await;
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["claude-4.5-sonnet", "claude-sonnet-4-5", "sonnet"]);
    assert_eq!(list["object"], "list");
    let anth = models(true).await;
    assert_eq!(anth["data"][2]["type"], "model");
    assert_eq!(anth["has_more"], false);
    let one = rig.http.get(format!("{}/v1/models/sonnet", rig.base)).bearer_auth(&rig.key).send().await.unwrap();
    assert_eq!(one.status(), 200);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocols_follow_the_kind_and_endpoint_types() {
    let hub = upstream::start("hub").await;
    let old = upstream::start("old").await;
    let typed = upstream::start("typed").await;
    let mut t = Acct::new("typed", &typed.url, &["claude-x"]);
    t.endpoint_types = vec![("claude-x".into(), vec!["anthropic".into()])];
    let rig = Rig::start(
        &[
            Acct::new("hub", &hub.url, &["h-model"]).kind(SiteKind::OneHub),
            Acct::new("old", &old.url, &["o-model"]).kind(SiteKind::OneApi),
            t,
        ],
        settings(|_| {}),
    )
    .await;
    // one-hub serves Anthropic messages under /claude/v1.
    let r = rig.post("/v1/messages", &body_for(Endpoint::Messages, "h-model", false)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(hub.last().path, "/claude/v1/messages");
    // one-api has no /v1/messages: a clear error in Anthropic's shape, nothing sent.
    let r = rig.post("/v1/messages", &body_for(Endpoint::Messages, "o-model", false)).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert!(v["error"]["message"].as_str().unwrap().contains("does not convert"), "{v}");
    assert_eq!(old.hits(), 0);
    // An anthropic-only model (supported_endpoint_types) is not served on chat.
    let r = rig.chat("claude-x", false).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unsupported_endpoint");
    assert_eq!(typed.hits(), 0);
    rig.stop().await;
}
