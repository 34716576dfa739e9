//! Streams: a break after the first byte ends the stream with the protocol's error event
//! and does not fail over; a client that goes away cancels the upstream; the idle timeout.

use std::time::Duration;

use apihub::domain::gateway::Outcome;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::rig::{Acct, Rig, settings};
use crate::upstream::{self, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_after_the_first_byte_ends_the_stream_with_an_error_event() {
    let a = upstream::start("a").await;
    let b = upstream::start("b").await;
    let accts = [Acct::new("a", &a.url, &["m"]).ratio(1.0), Acct::new("b", &b.url, &["m"]).ratio(2.0)];
    let rig = Rig::start(&accts, settings(|_| {})).await;
    a.set(Mode::BreakAfterFirst);
    let cases = [
        ("/v1/chat/completions", json!({"model": "m", "stream": true, "messages": []})),
        ("/v1/responses", json!({"model": "m", "stream": true, "input": "hi"})),
        ("/v1/messages", json!({"model": "m", "stream": true, "max_tokens": 5, "messages": []})),
    ];
    for (path, body) in cases {
        // A broken stream cools its account for a moment: let it reopen.
        rig.clock.advance_ms(60_000);
        let r = rig.post(path, &body).await;
        assert_eq!(r.status(), 200, "committed before the break");
        let text = r.text().await.unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.trim().is_empty()).collect();
        assert_eq!(events.len(), 2, "{path}: the first event, then the error: {text}");
        let last = events[1];
        let data: Value = serde_json::from_str(last.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
        match path {
            "/v1/chat/completions" => {
                assert!(!last.contains("event:"));
                assert_eq!(data["error"]["code"], "upstream_stream_error");
            }
            "/v1/responses" => {
                assert!(last.starts_with("event: error"));
                assert_eq!(data["type"], "error");
                assert_eq!(data["sequence_number"], 1, "the next after the first event's 0");
            }
            _ => {
                assert!(last.starts_with("event: error"));
                assert_eq!(data["error"]["type"], "api_error");
            }
        }
    }
    assert_eq!((a.hits(), b.hits()), (3, 0), "no failover after the first byte");
    let live = rig.records(3).await;
    assert!(live.recent.iter().all(|r| r.outcome == Outcome::StreamError));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_cancels_the_upstream() {
    let a = upstream::start("a").await;
    a.set(Mode::HangAfterFirst);
    let rig = Rig::start(&[Acct::new("a", &a.url, &["m"])], settings(|_| {})).await;
    let r = rig.chat("m", true).await;
    assert_eq!(r.status(), 200);
    let mut s = r.bytes_stream();
    let first = s.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "), "the first chunk arrives at once");
    assert_eq!(a.state.open.load(std::sync::atomic::Ordering::SeqCst), 1);
    drop(s);
    for _ in 0..500 {
        if a.dropped() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.dropped(), 1, "the upstream stream was dropped");
    let live = rig.records(1).await;
    assert_eq!(live.recent[0].outcome, Outcome::Cancelled);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stream_ends_at_the_idle_timeout() {
    let a = upstream::start("a").await;
    a.set(Mode::HangAfterFirst);
    let rig = Rig::start(&[Acct::new("a", &a.url, &["m"])], settings(|s| s.idle_timeout_secs = 1)).await;
    let r = rig.post("/v1/messages", &json!({"model": "m", "stream": true, "max_tokens": 5, "messages": []})).await;
    let text = r.text().await.unwrap();
    assert!(text.starts_with("event: message_start"), "{text}");
    assert!(text.contains("event: error") && text.contains("no data for 1 s"), "{text}");
    for _ in 0..500 {
        if a.dropped() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.dropped(), 1, "the upstream request is closed too");
    rig.stop().await;
}
