//! The reply body passed through to the client chunk by chunk: nothing is buffered beyond
//! the chunk in hand (plus a small tail or one partial SSE line to read the usage block),
//! idle and total timeouts, a protocol-shaped error event when an SSE stream breaks, and
//! the accounting record written when the body ends or the client goes away (dropping the
//! body drops the upstream response, which closes that upstream connection).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use memchr::memmem;
use tokio::time::Sleep;

use super::accounting::Accounting;
use super::health::Health;
use super::protocol::{Endpoint, stream_error_event};
use crate::domain::gateway::{AttemptRecord, Outcome, Usage};
use crate::domain::money::real_cost;
use crate::domain::pricing::PriceRow;

/// Bytes of a JSON reply's end kept to read its `usage` block.
const JSON_TAIL: usize = 16 * 1024;
/// Longest SSE line read for usage (longer lines pass through unread).
const MAX_LINE: usize = 1024 * 1024;

/// Reads the usage block out of the bytes going by.
#[derive(Debug)]
enum Meter {
    /// `text/event-stream`: complete `data:` lines mentioning `"usage"` are parsed.
    Sse { carry: Vec<u8>, skipping: bool, usage: Usage, next_seq: Option<u64>, responses: bool },
    /// Anything else: the last [`JSON_TAIL`] bytes, searched at the end.
    Json { tail: Vec<u8> },
}

fn usage_in(v: &serde_json::Value) -> Option<Usage> {
    let u = v
        .get("usage")
        .or_else(|| v.get("response").and_then(|r| r.get("usage")))
        .or_else(|| v.get("message").and_then(|m| m.get("usage")))?;
    u.is_object().then(|| Usage::from_json(u))
}

impl Meter {
    fn new(sse: bool, e: Endpoint) -> Meter {
        if sse {
            Meter::Sse {
                carry: Vec::new(),
                skipping: false,
                usage: Usage::default(),
                next_seq: None,
                responses: e == Endpoint::Responses,
            }
        } else {
            Meter::Json { tail: Vec::new() }
        }
    }

    fn line(line: &[u8], usage: &mut Usage, next_seq: &mut Option<u64>, responses: bool) {
        let Some(data) = line.strip_prefix(b"data:") else { return };
        if responses && let Some(p) = memmem::find(data, b"\"sequence_number\":") {
            let digits: Vec<u8> =
                data[p + 18..].iter().copied().skip_while(|b| *b == b' ').take_while(u8::is_ascii_digit).collect();
            if let Some(n) = std::str::from_utf8(&digits).ok().and_then(|d| d.parse::<u64>().ok()) {
                *next_seq = Some(n + 1);
            }
        }
        if memmem::find(data, b"\"usage\"").is_none() || memmem::find(data, b"\"usage\":null").is_some() {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data.trim_ascii())
            && let Some(u) = usage_in(&v)
        {
            usage.merge(u);
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        match self {
            Meter::Sse { carry, skipping, usage, next_seq, responses } => {
                let mut rest = chunk;
                while let Some(nl) = memchr::memchr(b'\n', rest) {
                    let seg = &rest[..nl];
                    if *skipping {
                        *skipping = false;
                    } else if carry.is_empty() {
                        Self::line(seg.strip_suffix(b"\r").unwrap_or(seg), usage, next_seq, *responses);
                    } else {
                        carry.extend_from_slice(seg);
                        let line = std::mem::take(carry);
                        Self::line(line.strip_suffix(b"\r").unwrap_or(&line), usage, next_seq, *responses);
                    }
                    rest = &rest[nl + 1..];
                }
                if !rest.is_empty() && !*skipping {
                    if carry.len() + rest.len() > MAX_LINE {
                        carry.clear();
                        *skipping = true;
                    } else {
                        carry.extend_from_slice(rest);
                    }
                }
            }
            Meter::Json { tail } => {
                tail.extend_from_slice(chunk);
                if tail.len() > 2 * JSON_TAIL {
                    tail.drain(..tail.len() - JSON_TAIL);
                }
            }
        }
    }

    fn usage(&self) -> Usage {
        match self {
            Meter::Sse { usage, .. } => *usage,
            Meter::Json { tail } => {
                let Some(p) = memmem::rfind(tail, b"\"usage\"") else { return Usage::default() };
                let rest = tail[p + 7..].trim_ascii_start();
                let Some(rest) = rest.strip_prefix(b":") else { return Usage::default() };
                let mut de = serde_json::Deserializer::from_slice(rest.trim_ascii_start());
                match <serde_json::Value as serde::Deserialize>::deserialize(&mut de) {
                    Ok(v) if v.is_object() => Usage::from_json(&v),
                    _ => Usage::default(),
                }
            }
        }
    }

    fn next_seq(&self) -> Option<u64> {
        match self {
            Meter::Sse { next_seq, .. } => *next_seq,
            Meter::Json { .. } => None,
        }
    }
}

/// What to write when the body ends.
#[derive(Debug)]
pub(crate) struct Finish {
    pub accounting: Accounting,
    pub record: AttemptRecord,
    pub arrived: Instant,
    pub price: Option<PriceRow>,
    pub paid_per_usd: Option<f64>,
    /// The account's breaker: a stream that breaks counts as a transient failure.
    pub account: std::sync::Arc<Health>,
    pub clock: std::sync::Arc<dyn super::health::Clock>,
}

impl Finish {
    fn write(mut self, outcome: Outcome, message: Option<String>, usage: Usage) {
        let r = &mut self.record;
        r.outcome = outcome;
        r.latency_ms = self.arrived.elapsed().as_secs_f64() * 1000.0;
        r.usage = usage;
        r.cost_usd = self.price.as_ref().and_then(|p| usage.cost_usd(p));
        r.cost_real = r.cost_usd.and_then(|u| real_cost(u, self.paid_per_usd));
        if let Some(m) = message {
            r.error_class = Some("transient".into());
            r.message = m;
        }
        if outcome == Outcome::StreamError
            && let Some((_, base, cap)) = super::health::cooldown_for(super::classify::FailClass::Transient)
        {
            self.account.failure(self.clock.now_ms(), base, cap, None, true);
        }
        self.accounting.record(self.record);
    }
}

/// The pass-through body.
pub(crate) struct PassBody {
    first: Option<Bytes>,
    upstream: reqwest::Body,
    meter: Meter,
    sse: bool,
    endpoint: Endpoint,
    /// Bytes passed so far, and the whole length when the upstream gave one.
    passed: u64,
    expected: Option<u64>,
    /// The last bytes sent ended an SSE event (`\n\n`), or nothing was sent yet.
    at_event_end: bool,
    timer: Pin<Box<Sleep>>,
    idle: std::time::Duration,
    deadline: tokio::time::Instant,
    done: bool,
    finish: Option<Finish>,
}

impl PassBody {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        first: Option<Bytes>,
        upstream: reqwest::Body,
        sse: bool,
        endpoint: Endpoint,
        idle: std::time::Duration,
        deadline: tokio::time::Instant,
        finish: Finish,
    ) -> PassBody {
        let wake = (tokio::time::Instant::now() + idle).min(deadline);
        let first_len = first.as_ref().map_or(0, |b| b.len() as u64);
        let expected = upstream.size_hint().exact().map(|rest| rest + first_len);
        PassBody {
            passed: 0,
            expected,
            first,
            upstream,
            meter: Meter::new(sse, endpoint),
            sse,
            endpoint,
            at_event_end: true,
            timer: Box::pin(tokio::time::sleep_until(wake)),
            idle,
            deadline,
            done: false,
            finish: Some(finish),
        }
    }

    fn pass(&mut self, data: Bytes) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.meter.feed(&data);
        if self.sse {
            self.at_event_end = data.ends_with(b"\n\n") || data.ends_with(b"\r\n\r\n");
        }
        // A reply with a length is complete once its last byte passed: hyper stops polling
        // then, so this is where it ends (not in the drop, which means the client left).
        self.passed += data.len() as u64;
        if self.expected == Some(self.passed) {
            self.end(Outcome::Ok, None);
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn end(&mut self, outcome: Outcome, message: Option<String>) {
        self.done = true;
        if let Some(f) = self.finish.take() {
            f.write(outcome, message, self.meter.usage());
        }
    }

    /// The upstream broke after bytes were sent: an SSE stream gets the error event, other
    /// bodies are cut (the client sees an incomplete reply, never a wrong one).
    fn fail(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let message = format!("the upstream stream broke: {why}");
        let next_seq = self.meter.next_seq();
        self.end(Outcome::StreamError, Some(message.clone()));
        if self.sse {
            let ev = stream_error_event(self.endpoint, &message, next_seq, !self.at_event_end);
            Poll::Ready(Some(Ok(Frame::data(ev))))
        } else {
            Poll::Ready(Some(Err(std::io::Error::other(message))))
        }
    }
}

impl Body for PassBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            return this.pass(first);
        }
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        let wake = (tokio::time::Instant::now() + this.idle).min(this.deadline);
                        this.timer.as_mut().reset(wake);
                        return this.pass(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let why = super::proxy::transport_line(&e, "reading the reply");
                    return this.fail(why);
                }
                Poll::Ready(None) => {
                    this.end(Outcome::Ok, None);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    ready!(this.timer.as_mut().poll(cx));
                    let why = if tokio::time::Instant::now() >= this.deadline {
                        "the total timeout ran out".to_string()
                    } else {
                        format!("no data for {} s", this.idle.as_secs())
                    };
                    return this.fail(why);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.first.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.expected {
            Some(n) if !self.sse => SizeHint::with_exact(n.saturating_sub(self.passed)),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for PassBody {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            let usage = self.meter.usage();
            f.write(Outcome::Cancelled, None, usage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_usage_is_read_across_chunk_boundaries() {
        let mut m = Meter::new(true, Endpoint::ChatCompletions);
        let stream = b"data: {\"choices\":[],\"usage\":null}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34}}\n\ndata: [DONE]\n\n";
        for part in stream.chunks(7) {
            m.feed(part);
        }
        assert_eq!(m.usage().prompt_tokens, Some(12));
        assert_eq!(m.usage().completion_tokens, Some(34));
    }

    #[test]
    fn anthropic_usage_merges_start_and_delta() {
        let mut m = Meter::new(true, Endpoint::Messages);
        m.feed(b"event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\r\n\r\n");
        m.feed(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n");
        assert_eq!((m.usage().prompt_tokens, m.usage().completion_tokens), (Some(25), Some(15)));
    }

    #[test]
    fn responses_track_the_sequence_and_completed_usage() {
        let mut m = Meter::new(true, Endpoint::Responses);
        m.feed(b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"delta\":\"hi\"}\n\n");
        assert_eq!(m.next_seq(), Some(5));
        m.feed(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\": 9,\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}\n\n");
        assert_eq!(m.next_seq(), Some(10));
        assert_eq!(m.usage().completion_tokens, Some(2));
    }

    #[test]
    fn json_usage_is_read_from_the_tail() {
        let mut m = Meter::new(false, Endpoint::ChatCompletions);
        let filler = "x".repeat(100_000);
        let body = format!(
            "{{\"id\":\"a\",\"choices\":[{{\"message\":{{\"content\":\"{filler}\"}}}}],\"usage\": {{\"prompt_tokens\":7,\"completion_tokens\":8}}}}"
        );
        for part in body.as_bytes().chunks(4096) {
            m.feed(part);
        }
        assert_eq!(m.usage().prompt_tokens, Some(7));
        if let Meter::Json { tail } = &m {
            assert!(tail.len() <= 2 * JSON_TAIL, "the tail stays small");
        }
        let mut none = Meter::new(false, Endpoint::Embeddings);
        none.feed(b"{\"data\":[]}");
        assert_eq!(none.usage(), Usage::default());
    }

    #[test]
    fn an_overlong_line_is_skipped_not_kept() {
        let mut m = Meter::new(true, Endpoint::ChatCompletions);
        let big = vec![b'a'; MAX_LINE + 10];
        m.feed(b"data: ");
        m.feed(&big);
        if let Meter::Sse { carry, skipping, .. } = &m {
            assert!(carry.is_empty() && *skipping);
        }
        m.feed(b"\ndata: {\"usage\":{\"prompt_tokens\":1}}\n");
        assert_eq!(m.usage().prompt_tokens, Some(1));
    }
}
