//! One request: local key, body, model, candidates, attempts with failover by the error
//! taxonomy, then the committed reply passed through.
//!
//! Failover happens only before the first byte reaches the client: an attempt commits once
//! the upstream sent a 2xx status *and* its first body bytes. A non-2xx reply is read (at
//! most 64 KiB) and classified: a client error goes back to the client unchanged, anything
//! else cools its account / key / model down and the next candidate is tried, up to
//! `max_attempts`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;

use super::accounting::Accounting;
use super::body::{Peek, PeekError, peek, with_model};
use super::classify::{FailClass, classify};
use super::health::{Clock, Gate, Health, cooldown_for};
use super::local_key;
use super::protocol::{Endpoint, ErrorKind, GatewayFault, shape};
use super::stream::{Finish, PassBody};
use super::table::{Candidate, RouteTable};
use crate::domain::gateway::{AttemptRecord, Outcome, Usage};

/// Most of an error reply read to classify it.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// The gateway's shared state.
#[derive(Debug)]
pub(crate) struct Core {
    table: RwLock<Arc<RouteTable>>,
    pub clock: Arc<dyn Clock>,
    pub accounting: Accounting,
    next_id: AtomicU64,
    /// Requests refused for a missing or wrong local key.
    pub refused: AtomicU64,
}

impl Core {
    pub fn new(table: RouteTable, clock: Arc<dyn Clock>, accounting: Accounting) -> Core {
        Core {
            table: RwLock::new(Arc::new(table)),
            clock,
            accounting,
            next_id: AtomicU64::new(1),
            refused: AtomicU64::new(0),
        }
    }

    pub fn table(&self) -> Arc<RouteTable> {
        self.table.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn swap(&self, t: RouteTable) {
        *self.table.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(t);
    }
}

/// A transport failure in one line (without the "site unavailable" prefix).
pub(crate) fn transport_line(e: &reqwest::Error, what: &str) -> String {
    match crate::relay::http::transport_error(e, what) {
        crate::relay::RelayError::Unavailable { message } => message,
        other => other.to_string(),
    }
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Request headers never sent upstream: hop-by-hop ones, the local key, what reqwest sets
/// itself, and the client's own identity (the site's User-Agent setting applies).
fn dropped_request_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host"
            | "authorization"
            | "x-api-key"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "accept-encoding"
            | "user-agent"
            | "cookie"
    )
}

/// Reply headers never passed back: hop-by-hop ones and cookies.
fn dropped_reply_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
            | "set-cookie"
    )
}

/// What every attempt of one request shares.
struct Ctx<'a> {
    core: &'a Core,
    table: &'a RouteTable,
    endpoint: Endpoint,
    model: &'a str,
    body: &'a Bytes,
    stream: bool,
    forward: HeaderMap,
    arrived: Instant,
    at_ms: i64,
    request_id: u64,
}

/// How an attempt ended.
enum Step {
    /// A reply for the client (committed success or a client error).
    Reply(Response),
    /// Failed over: the class and one line.
    Failed { class: FailClass, line: String },
}

/// Breaker trials this attempt claimed; given back when it ends without a verdict.
struct Trials<'a>(Vec<&'a Health>);

impl Drop for Trials<'_> {
    fn drop(&mut self) {
        for h in &self.0 {
            h.release_trial();
        }
    }
}

/// Whether the candidate may be tried now: `Ok` with the trials it claimed, or `Err` with
/// when it reopens (and whether only for soft reasons); `Err(None)` while another request
/// holds its trial.
fn admit(c: &Candidate, now: u64) -> Result<Trials<'_>, Option<(u64, bool)>> {
    let mut closed: Option<(u64, bool)> = None;
    let mut busy = false;
    let mut free = Vec::new();
    for cell in c.cells() {
        match cell.gate(now) {
            Gate::Open => {}
            Gate::Closed { until_ms, soft } => {
                closed = Some(match closed {
                    None => (until_ms, soft),
                    Some((u, s)) => (u.max(until_ms), s && soft),
                });
            }
            Gate::TrialBusy => busy = true,
            Gate::TrialFree => free.push(cell),
        }
    }
    if closed.is_some() {
        return Err(closed);
    }
    if busy {
        return Err(None);
    }
    let mut claimed = Trials(Vec::new());
    for cell in free {
        if !cell.claim_trial() {
            return Err(None);
        }
        claimed.0.push(cell);
    }
    Ok(claimed)
}

fn fault(status: StatusCode, kind: ErrorKind, code: &'static str, message: impl Into<String>) -> GatewayFault {
    GatewayFault::new(status, kind, code, message)
}

/// Serves one routed request.
pub(crate) async fn relay(core: Arc<Core>, endpoint: Endpoint, headers: HeaderMap, body: Body) -> Response {
    let arrived = Instant::now();
    let table = core.table();
    let shape = shape(endpoint);
    match local_key::presented(&headers) {
        Some(k) if table.key.matches(k) => {}
        presented => {
            core.refused.fetch_add(1, Ordering::Relaxed);
            let message = if presented.is_some() {
                "the local key is wrong (see `apihub gateway key`)"
            } else {
                "no local key: send it as `Authorization: Bearer sk-local-…` or `x-api-key`"
            };
            return fault(StatusCode::UNAUTHORIZED, ErrorKind::Authentication, "invalid_api_key", message)
                .response(shape);
        }
    }
    let limit = table.settings.max_body_bytes;
    let too_large = || {
        fault(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooLarge,
            "request_too_large",
            format!("the body is over {limit} bytes"),
        )
    };
    if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return too_large().response(shape);
    }
    let bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large().response(shape),
        Err(e) => {
            let msg = format!("the body could not be read: {e}");
            return fault(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, "invalid_body", msg).response(shape);
        }
    };
    let Peek { model, stream } = match peek(&bytes) {
        Ok(p) => p,
        Err(PeekError::NotJson(m)) => {
            return fault(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, "invalid_json", m).response(shape);
        }
        Err(PeekError::ModelNotString) => {
            let m = "`model` must be a string";
            return fault(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, "invalid_model", m).response(shape);
        }
    };
    let Some(model) = model.filter(|m| !m.trim().is_empty()) else {
        let m = "the body has no `model`";
        return fault(StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest, "missing_model", m).response(shape);
    };
    let mut forward = HeaderMap::with_capacity(headers.len());
    for (k, v) in &headers {
        if !dropped_request_header(k) {
            forward.append(k.clone(), v.clone());
        }
    }
    if !forward.contains_key(header::CONTENT_TYPE) {
        forward.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if endpoint.is_anthropic() && !forward.contains_key("anthropic-version") {
        forward.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
    let ctx = Ctx {
        core: &core,
        table: &table,
        endpoint,
        model: &model,
        body: &bytes,
        stream,
        forward,
        arrived,
        at_ms: unix_ms(),
        request_id: core.next_id.fetch_add(1, Ordering::Relaxed),
    };
    match route(&ctx).await {
        Ok(r) => r,
        Err(f) => {
            ctx.reject(&f);
            f.response(shape)
        }
    }
}

impl Ctx<'_> {
    fn record(&self, attempt: u32, c: Option<&Candidate>, status: u16, outcome: Outcome) -> AttemptRecord {
        AttemptRecord {
            at_ms: self.at_ms,
            request_id: self.request_id,
            attempt,
            endpoint: self.endpoint,
            client_model: self.model.to_string(),
            account_id: c.map(|c| c.info.account_id),
            key_id: c.map(|c| c.info.key_id),
            upstream_model: c.map(|c| c.info.upstream_model.clone()).unwrap_or_default(),
            stream: self.stream,
            status,
            outcome,
            error_class: None,
            message: String::new(),
            latency_ms: self.arrived.elapsed().as_secs_f64() * 1000.0,
            ttfb_ms: None,
            usage: Usage::default(),
            cost_usd: None,
            cost_real: None,
        }
    }

    /// Records a request the gateway answered itself after the key check.
    fn reject(&self, f: &GatewayFault) {
        let mut r = self.record(0, None, f.status.as_u16(), Outcome::Rejected);
        r.error_class = Some(f.code.to_string());
        r.message = f.message.clone();
        self.core.accounting.record(r);
    }

    /// The whole request's deadline.
    fn total_deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.arrived) + Duration::from_secs(self.table.settings.total_timeout_secs)
    }

    /// An attempt starting now must have its first bytes by then (and within the total).
    fn first_byte_deadline(&self) -> tokio::time::Instant {
        let own = tokio::time::Instant::now() + Duration::from_secs(self.table.settings.first_byte_timeout_secs);
        own.min(self.total_deadline())
    }
}

/// The attempts.
async fn route(ctx: &Ctx<'_>) -> Result<Response, GatewayFault> {
    let table = ctx.table;
    let not_found = || {
        fault(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "model_not_found",
            format!("no enabled account sells `{}` (see `apihub gateway candidates`)", ctx.model),
        )
    };
    let route = table.models.get(ctx.model).ok_or_else(not_found)?;
    if route.order.is_empty() {
        return Err(not_found());
    }
    let order = table.order(route, ctx.endpoint);
    if order.is_empty() {
        return Err(fault(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidRequest,
            "unsupported_endpoint",
            format!(
                "no account offers `{}` on {} (the gateway does not convert between protocols)",
                ctx.model,
                ctx.endpoint.path()
            ),
        ));
    }
    let max = table.settings.max_attempts.max(1);
    let mut attempts = 0u32;
    let mut soft: Option<(u64, u32)> = None;
    let mut reopen: Option<u64> = None;
    let mut tally = Tally::default();
    for idx in order {
        if attempts >= max {
            break;
        }
        let c = &table.candidates[idx as usize];
        if c.client.is_err() {
            continue;
        }
        match admit(c, ctx.core.clock.now_ms()) {
            Ok(trials) => {
                attempts += 1;
                match attempt(ctx, c, attempts, trials).await {
                    Step::Reply(r) => return Ok(r),
                    Step::Failed { class, line } => tally.note(class, line),
                }
            }
            Err(Some((until, is_soft))) => {
                reopen = Some(reopen.map_or(until, |r| r.min(until)));
                if is_soft && soft.is_none_or(|(u, _)| until < u) {
                    soft = Some((until, idx));
                }
            }
            Err(None) => {}
        }
    }
    // Everything was cooling after transient failures or rate limits: try the one that
    // reopens first anyway rather than refuse outright.
    if attempts == 0
        && let Some((_, idx)) = soft
    {
        attempts = 1;
        match attempt(ctx, &table.candidates[idx as usize], 1, Trials(Vec::new())).await {
            Step::Reply(r) => return Ok(r),
            Step::Failed { class, line } => tally.note(class, line),
        }
    }
    let now = ctx.core.clock.now_ms();
    Err(match tally.last {
        None => {
            let mut f = fault(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Overloaded,
                "no_available_account",
                format!("every account for `{}` is cooling down after failures", ctx.model),
            );
            f.retry_after_secs = reopen.map(|r| r.saturating_sub(now).div_ceil(1000).max(1));
            f
        }
        Some(line) if tally.all_rate_limited => {
            let mut f = fault(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::RateLimit,
                "rate_limited",
                format!("every account tried for `{}` is rate-limited ({attempts} attempts); last: {line}", ctx.model),
            );
            f.retry_after_secs = tally.min_retry_ms.map(|ms| ms.div_ceil(1000).max(1));
            f
        }
        Some(line) => fault(
            StatusCode::BAD_GATEWAY,
            ErrorKind::Upstream,
            "upstream_failed",
            format!("{attempts} attempt(s) for `{}` failed; last: {line}", ctx.model),
        ),
    })
}

/// What the failed attempts of one request add up to.
struct Tally {
    last: Option<String>,
    all_rate_limited: bool,
    min_retry_ms: Option<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally { last: None, all_rate_limited: true, min_retry_ms: None }
    }
}

impl Tally {
    fn note(&mut self, class: FailClass, line: String) {
        if let FailClass::RateLimited { retry_after_ms } = class {
            self.min_retry_ms = match (self.min_retry_ms, retry_after_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        } else {
            self.all_rate_limited = false;
        }
        self.last = Some(line);
    }
}

/// Reads at most `cap` bytes of a body (the rest is dropped).
async fn read_capped(body: &mut reqwest::Body, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(d) = frame.into_data() {
            let room = cap.saturating_sub(out.len());
            out.extend_from_slice(&d[..d.len().min(room)]);
            if out.len() >= cap {
                break;
            }
        }
    }
    out
}

/// The first data frame (`None` = the body is empty).
async fn first_data(body: &mut reqwest::Body) -> Result<Option<Bytes>, reqwest::Error> {
    while let Some(frame) = body.frame().await {
        if let Ok(d) = frame?.into_data()
            && !d.is_empty()
        {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// One upstream attempt.
async fn attempt(ctx: &Ctx<'_>, c: &Candidate, n: u32, trials: Trials<'_>) -> Step {
    let started = Instant::now();
    let table = ctx.table;
    let label = &c.info.account_label;
    let fail = |class: FailClass, status: u16, message: String| {
        let mut r = ctx.record(n, Some(c), status, Outcome::Failover);
        r.error_class = Some(class.as_str().to_string());
        r.message = message.clone();
        // Token counting is a probe some sites lack: it fails over but cools nothing down.
        if ctx.endpoint != Endpoint::CountTokens
            && let Some((scope, base, cap)) = cooldown_for(class)
        {
            let floor = match class {
                FailClass::RateLimited { retry_after_ms } => retry_after_ms,
                _ => None,
            };
            let soft = matches!(class, FailClass::Transient | FailClass::RateLimited { .. });
            c.cell(scope).failure(ctx.core.clock.now_ms(), base, cap, floor, soft);
        }
        if ctx.endpoint != Endpoint::CountTokens {
            log::debug!("gateway: {} via {label} failed ({}): {message}", ctx.model, class.as_str());
        }
        ctx.core.accounting.record(r);
        Step::Failed { class, line: format!("{label}: {message}") }
    };
    let Ok(client) = &c.client else { return fail(FailClass::Transient, 0, "no HTTP client".into()) };
    let Some(url) = c.url(ctx.endpoint) else { return fail(FailClass::Unsupported, 0, "no route".into()) };
    let body = if c.info.upstream_model == ctx.model {
        ctx.body.clone()
    } else {
        with_model(ctx.body, &c.info.upstream_model)
    };
    let mut headers = ctx.forward.clone();
    if ctx.endpoint.is_anthropic() {
        headers.insert("x-api-key", c.x_api_key.clone());
    } else {
        headers.insert(header::AUTHORIZATION, c.bearer.clone());
    }
    let deadline = ctx.first_byte_deadline();
    let wait = table.settings.first_byte_timeout_secs;
    let sent = tokio::time::timeout_at(deadline, client.post(url).headers(headers).body(body).send()).await;
    let resp = match sent {
        Err(_) => return fail(FailClass::Transient, 0, format!("no reply within {wait} s")),
        Ok(Err(e)) => {
            return fail(FailClass::Transient, 0, transport_line(&e, "upstream"));
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let resp: axum::http::Response<reqwest::Body> = resp.into();
    let (parts, mut upstream) = resp.into_parts();
    if !status.is_success() {
        let body =
            tokio::time::timeout_at(deadline, read_capped(&mut upstream, ERROR_BODY_CAP)).await.unwrap_or_default();
        let (class, text) = classify(status.as_u16(), &parts.headers, &body);
        if class == FailClass::Client {
            drop(trials);
            let mut r = ctx.record(n, Some(c), status.as_u16(), Outcome::ClientError);
            r.error_class = Some(class.as_str().into());
            r.message = text.message;
            ctx.core.accounting.record(r);
            let mut reply = Response::new(Body::from(body));
            *reply.status_mut() = status;
            if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
                reply.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
            }
            return Step::Reply(reply);
        }
        let message = if text.message.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {}: {}", status.as_u16(), text.message)
        };
        return fail(class, status.as_u16(), message);
    }
    let first = match tokio::time::timeout_at(deadline, first_data(&mut upstream)).await {
        Err(_) => return fail(FailClass::Transient, status.as_u16(), format!("no body within {wait} s")),
        Ok(Err(e)) => {
            return fail(FailClass::Transient, status.as_u16(), transport_line(&e, "upstream"));
        }
        Ok(Ok(first)) => first,
    };
    // Committed: the breaker closes, the speed is measured.
    let ttfb = started.elapsed().as_secs_f64() * 1000.0;
    for cell in c.cells() {
        cell.success();
    }
    drop(trials);
    c.ttfb.record(ttfb);
    let sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    let mut record = ctx.record(n, Some(c), status.as_u16(), Outcome::Ok);
    record.ttfb_ms = Some(ctx.arrived.elapsed().as_secs_f64() * 1000.0);
    let finish = Finish {
        accounting: ctx.core.accounting.clone(),
        record,
        arrived: ctx.arrived,
        price: c.info.price.clone(),
        paid_per_usd: c.info.paid_per_usd,
        account: c.account.clone(),
        clock: ctx.core.clock.clone(),
    };
    let s = &table.settings;
    let total = ctx.total_deadline();
    let body =
        PassBody::new(first, upstream, sse, ctx.endpoint, Duration::from_secs(s.idle_timeout_secs), total, finish);
    let mut reply = Response::new(Body::new(body));
    *reply.status_mut() = status;
    let h = reply.headers_mut();
    for (k, v) in &parts.headers {
        if !(dropped_reply_header(k) || (sse && k == header::CONTENT_LENGTH)) {
            h.append(k.clone(), v.clone());
        }
    }
    Step::Reply(reply)
}
