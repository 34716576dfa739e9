//! The local key is required; bad input is a clear 4xx in the client's protocol shape and
//! never reaches an upstream.

use serde_json::{Value, json};

use crate::rig::{Acct, Rig, settings};
use crate::upstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_key_is_required() {
    let a = upstream::start("a").await;
    let rig = Rig::start(&[Acct::new("a", &a.url, &["m"])], settings(|_| {})).await;
    let url = format!("{}/v1/chat/completions", rig.base);
    let body = json!({"model": "m", "messages": []});
    let r = rig.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert_eq!(v["error"]["type"], "authentication_error");
    let r = rig.http.post(&url).bearer_auth("sk-local-wrong").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Anthropic clients get Anthropic's shape; x-api-key works.
    let murl = format!("{}/v1/messages", rig.base);
    let r = rig.http.post(&murl).header("x-api-key", "nope").json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!((v["type"].as_str(), v["error"]["type"].as_str()), (Some("error"), Some("authentication_error")));
    let r = rig
        .http
        .post(&murl)
        .header("x-api-key", &rig.key)
        .json(&json!({"model": "m", "max_tokens": 1, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The model list too.
    let r = rig.http.get(format!("{}/v1/models", rig.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(a.hits(), 1);
    assert_eq!(rig.gw().refused(), 4);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_in_the_protocol_shape() {
    let a = upstream::start("a").await;
    let rig = Rig::start(&[Acct::new("a", &a.url, &["m"])], settings(|s| s.max_body_bytes = 4096)).await;
    let send = |path: &'static str, body: Vec<u8>| {
        let req = rig.http.post(format!("{}{path}", rig.base)).bearer_auth(&rig.key).body(body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = send("/v1/chat/completions", vec![b'x'; 5000]).await;
    assert_eq!((s, v["error"]["code"].as_str()), (413, Some("request_too_large")));
    let (s, v) = send("/v1/messages", vec![b'x'; 5000]).await;
    assert_eq!((s, v["error"]["type"].as_str()), (413, Some("request_too_large")));
    let (s, v) = send("/v1/chat/completions", b"<html>".to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalid_json")));
    let (s, v) = send("/v1/chat/completions", br#"{"messages":[]}"#.to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("missing_model")));
    let (s, v) = send("/v1/chat/completions", br#"{"model":7}"#.to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalid_model")));
    let (s, v) = send("/v1/responses", br#"{"model":"gpt-nope","input":"x"}"#.to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("model_not_found")));
    let (s, v) = send("/v1/messages", br#"{"model":"gpt-nope"}"#.to_vec()).await;
    assert_eq!((s, v["error"]["type"].as_str()), (404, Some("not_found_error")));
    let (s, v) = send("/v1/audio/speech", b"{}".to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("unsupported_route")));
    let r = rig.http.get(format!("{}/v1/chat/completions", rig.base)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(a.hits(), 0, "nothing forwarded");
    // Requests the gateway answered itself are accounted as rejected (after the key check).
    let live = rig.records(2).await;
    assert!(live.recent.iter().any(|r| r.error_class.as_deref() == Some("model_not_found")));
    rig.stop().await;
}
