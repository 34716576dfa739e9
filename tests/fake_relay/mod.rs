//! Fake relay servers for the tests: real axum HTTP servers on 127.0.0.1:0, one
//! behaviour profile per kind/version with the response shapes of `servers.md`.
//! Include with `mod fake_relay;`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod checkin;
pub mod hostile;
pub mod keyops;
mod lists;
pub mod login;
mod native;
pub mod openai;
pub mod proxy;
mod reveal;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which server (and version) to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// songquanpeng/one-api: bare arrays, p 0-based, 10 per page.
    OneApi,
    /// new-api ≤ 2025-07-13: tokens bare array p 0-based + size; New-Api-User required.
    NewApiOld,
    /// new-api classic 2025-07-14 … 2026-07-19: `{items,total,page,page_size}`, New-Api-User required.
    NewApiClassic,
    /// new-api current: PAT/JWT, 401 + `code` AUTH_*, masked keys, Retry-After.
    NewApiCurrent,
    /// Veloera: `Veloera-User` required, tokens bare array 0-based.
    Veloera,
    /// one-hub: `{data,page,size,total_count}`, `page`/`size`/`log_type`.
    OneHub,
    /// done-hub: as one-hub.
    DoneHub,
    /// VoAPI legacy: new-api classic shapes + `voapi-user`.
    VoapiLegacy,
    /// Super-API: new-api classic shapes + `User-id`.
    SuperApi,
    /// AnyRouter: new-api classic shapes, cookie auth.
    AnyRouter,
    /// sub2api `/api/v1/*`.
    Sub2api,
    /// VoAPI v2.
    VoapiV2,
}

/// One usage log row.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub created_at: i64,
    pub log_type: i64,
    pub model_name: String,
    pub quota: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// What the fake holds.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub variant: Variant,
    pub user_id: i64,
    pub username: String,
    /// Access token / PAT / JWT accepted in `Authorization`.
    pub token: String,
    /// Cookie accepted (AnyRouter): the whole `name=value`.
    pub cookie: String,
    /// The `sk-` key accepted on `/v1/*` and `/api/usage/token/` (without `sk-`).
    pub sk_key: String,
    pub quota: i64,
    pub used_quota: i64,
    pub request_count: i64,
    /// USD balance (sub2api, VoAPI v2).
    pub usd_balance: f64,
    /// VoAPI v2: the `currency` its money strings are in (`USD`, `CNY`).
    pub money_currency: String,
    /// VoAPI v2: fields laid over `/api/user/info` (e.g. a malformed amount).
    pub user_extra: Value,
    /// new-api: quota awarded by a check-in.
    pub checkin_reward_quota: i64,
    /// Extra `/api/status` fields (currency settings, check-in flags).
    pub status_extra: Value,
    pub key_count: usize,
    pub logs: Vec<LogRow>,
    pub models: Vec<String>,
    pub checked_in_today: bool,
    /// Artificial latency per request.
    pub delay_ms: u64,
    /// After this many requests every request answers 429.
    pub rate_limit_after: Option<usize>,
    pub notice: String,
    /// Password accepted by `POST /api/user/login`.
    pub password: String,
    /// When set, login needs this 2FA code.
    pub totp: Option<String>,
    /// Requests whose path+query starts with one of these answer (status, body).
    pub fail_paths: Vec<(String, u16, String)>,
    /// new-api current: whether `POST /api/token/batch/keys` exists (added 2026-04-06).
    pub batch_reveal: bool,
    /// Keys created, edited and deleted through the API.
    pub edits: keyops::TokenEdits,
    /// Redemption codes still valid, with the quota each adds.
    pub redeem_codes: Vec<(String, i64)>,
    /// `/v1/chat/completions`: the streamed reply, one chunk per piece.
    pub chat_reply: Vec<String>,
    /// Delay before each streamed chunk.
    pub chunk_delay_ms: u64,
    /// `/v1/*` answers 429 with new-api's "upstream saturated" body.
    pub chat_rate_limited: bool,
    /// Length of the vectors `/v1/embeddings` returns.
    pub embedding_dims: usize,
    /// Requests whose path starts with the prefix wait for a permit of the semaphore
    /// (a test opens the gate with `add_permits`): holds a refresh in flight.
    pub gate: Option<(String, Arc<tokio::sync::Semaphore>)>,
}

impl FakeConfig {
    /// Defaults for a variant: 25 keys, today's logs, models, check-in off.
    pub fn new(variant: Variant) -> FakeConfig {
        FakeConfig {
            variant,
            user_id: 42,
            username: "alice".into(),
            token: "tok-0123456789abcdef0123456789abcdef".into(),
            cookie: "session=MTcwMDAwMDAwMHxhYmNkZWY".into(),
            sk_key: "K".repeat(48),
            quota: 3_650_000,
            used_quota: 1_000_000,
            request_count: 77,
            usd_balance: 12.5,
            money_currency: "USD".into(),
            user_extra: json!({}),
            checkin_reward_quota: 4321,
            status_extra: json!({}),
            key_count: 25,
            logs: default_logs(),
            models: vec!["gpt-4o-mini".into(), "claude-sonnet".into(), "deepseek-chat".into()],
            checked_in_today: false,
            delay_ms: 0,
            rate_limit_after: None,
            notice: "Welcome".into(),
            password: "hunter2".into(),
            totp: None,
            fail_paths: Vec::new(),
            batch_reveal: true,
            edits: keyops::TokenEdits::default(),
            redeem_codes: Vec::new(),
            chat_reply: vec!["Hi".into(), " there".into(), "!".into()],
            chunk_delay_ms: 15,
            chat_rate_limited: false,
            embedding_dims: 8,
            gate: None,
        }
    }

    /// Consume rows in today's window (the stat endpoint's sum).
    pub fn today_spend(&self, start: i64, end: i64) -> i64 {
        self.today_rows(start, end).map(|r| r.quota).sum()
    }

    fn today_rows(&self, start: i64, end: i64) -> impl Iterator<Item = &LogRow> {
        self.logs.iter().filter(move |r| r.log_type == 2 && r.created_at >= start && r.created_at <= end)
    }

    /// Requests, prompt and completion tokens of today's consume rows with a model.
    pub fn today_model_rows(&self, start: i64, end: i64) -> (i64, i64, i64) {
        let rows: Vec<_> = self.today_rows(start, end).filter(|r| !r.model_name.trim().is_empty()).collect();
        (rows.len() as i64, rows.iter().map(|r| r.prompt_tokens).sum(), rows.iter().map(|r| r.completion_tokens).sum())
    }
}

/// 150 consume rows today (2 pages of 100), 1 consume row without a model, 3 top-ups
/// today and 5 consume rows yesterday.
pub fn default_logs() -> Vec<LogRow> {
    let now = chrono::Utc::now().timestamp();
    let (start, _) = apihub::domain::time::local_day_window();
    let today = now.clamp(start + 100, start + 86_000);
    let mut v = Vec::new();
    for i in 0..150 {
        v.push(LogRow {
            created_at: today - (i % 50),
            log_type: 2,
            model_name: ["gpt-4o-mini", "claude-sonnet", "deepseek-chat"][i as usize % 3].into(),
            quota: 1000 + i,
            prompt_tokens: 100 + i,
            completion_tokens: 10 + i,
        });
    }
    v.push(LogRow {
        created_at: today,
        log_type: 2,
        model_name: " ".into(),
        quota: 5,
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    for _ in 0..3 {
        v.push(LogRow {
            created_at: today,
            log_type: 1,
            model_name: String::new(),
            quota: 500_000,
            prompt_tokens: 0,
            completion_tokens: 0,
        });
    }
    for i in 0..5 {
        v.push(LogRow {
            created_at: start - 3600 - i,
            log_type: 2,
            model_name: "gpt-4o-mini".into(),
            quota: 99_999,
            prompt_tokens: 1,
            completion_tokens: 1,
        });
    }
    v
}

/// Shared state of a running fake.
#[derive(Debug)]
pub struct FakeState {
    pub cfg: Mutex<FakeConfig>,
    pub requests: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub paths: Mutex<Vec<String>>,
    /// `/v1/*` POST bodies seen: (path, JSON).
    pub bodies: Mutex<Vec<(String, Value)>>,
}

/// A running fake relay.
pub struct FakeRelay {
    pub url: String,
    pub state: Arc<FakeState>,
}

impl FakeRelay {
    /// Starts a fake on 127.0.0.1:0.
    pub async fn start(cfg: FakeConfig) -> FakeRelay {
        FakeRelay::start_on("127.0.0.1:0", cfg).await
    }

    /// Starts a fake on a given address (benches use 127.0.0.x for distinct origins).
    pub async fn start_on(addr: &str, cfg: FakeConfig) -> FakeRelay {
        let state = Arc::new(FakeState {
            cfg: Mutex::new(cfg),
            requests: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            paths: Mutex::new(Vec::new()),
            bodies: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeRelay { url: format!("http://{addr}"), state }
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
    /// Paths (with query) seen, in order.
    pub fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }
    /// `/v1/*` request bodies seen, in order.
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.state.bodies.lock().unwrap().clone()
    }
    pub fn cfg(&self) -> FakeConfig {
        self.state.cfg.lock().unwrap().clone()
    }
}

/// The full key of token `i` (no `sk-`): 48 chars, one-hub style 59 chars with `_`/`-`.
pub fn key_of(variant: Variant, i: usize) -> String {
    match variant {
        Variant::OneHub | Variant::DoneHub => format!("{:0>15}_{:0>43}", format!("id{i}"), format!("h-{i}")),
        _ => format!("{:a>48}", format!("k{i}z")),
    }
}

/// How a masked new-api key looks.
pub fn masked(key: &str) -> String {
    format!("{}**********{}", &key[..4], &key[key.len() - 4..])
}

struct InFlight<'a>(&'a FakeState);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn env(data: Value) -> Response {
    axum::Json(json!({"success": true, "message": "", "data": data})).into_response()
}
pub(crate) fn fail(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({"success": false, "message": msg}))).into_response()
}
pub(crate) fn invalid_url(method: &Method, path: &str) -> Response {
    let body = json!({"error": {"message": format!("Invalid URL ({method} {path})"), "type": "invalid_request_error", "param": "", "code": ""}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

pub(crate) fn query_map(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

async fn handle(
    axum::extract::State(st): axum::extract::State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = st.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&st);
    st.paths.lock().unwrap().push(uri.to_string());
    let cfg = st.cfg.lock().unwrap().clone();
    if cfg.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(cfg.delay_ms)).await;
    }
    if let Some((prefix, gate)) = &cfg.gate
        && uri.path().starts_with(prefix.as_str())
    {
        let _permit = gate.acquire().await;
    }
    if cfg.rate_limit_after.is_some_and(|lim| n > lim) {
        let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
        if cfg.variant == Variant::NewApiCurrent {
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
        }
        return r;
    }
    if let Some((_, code, body)) = cfg.fail_paths.iter().find(|(p, _, _)| uri.to_string().starts_with(p.as_str())) {
        return (StatusCode::from_u16(*code).unwrap(), body.clone()).into_response();
    }
    match cfg.variant {
        Variant::Sub2api => native::sub2api(&cfg, &method, &uri, &headers),
        Variant::VoapiV2 => native::voapi_v2(&st, &cfg, &method, &uri, &headers),
        _ => match openai::handle(&st, &cfg, &method, uri.path(), &headers, &body)
            .or_else(|| login::handle(&cfg, &method, uri.path(), &headers, &body))
        {
            Some(r) => r,
            None => match checkin::handle(&st, &cfg, &method, uri.path(), &headers) {
                Some(r) => r,
                None => match reveal::handle(&cfg, &method, uri.path(), &headers, &body) {
                    Some(r) => r,
                    None => match keyops::handle(&st, &cfg, &method, uri.path(), &headers, &body) {
                        Some(r) => r,
                        None => one_api_family(&st, &cfg, &method, &uri, &headers),
                    },
                },
            },
        },
    }
}

fn user_header(v: Variant) -> Option<&'static str> {
    match v {
        Variant::NewApiOld | Variant::NewApiClassic | Variant::AnyRouter => Some("New-Api-User"),
        Variant::Veloera => Some("Veloera-User"),
        Variant::VoapiLegacy => Some("voapi-user"),
        Variant::SuperApi => Some("User-id"),
        _ => None,
    }
}

fn status_data(cfg: &FakeConfig) -> Value {
    let name = match cfg.variant {
        Variant::OneApi => "One API",
        Variant::Veloera => "Veloera",
        Variant::OneHub => "One Hub",
        Variant::DoneHub => "Done Hub",
        Variant::AnyRouter => "AnyRouter",
        _ => "New API",
    };
    let mut d = json!({"version": "v0.0.0-fake", "system_name": name, "quota_per_unit": 500000, "display_in_currency": true,
        "turnstile_check": false});
    if let (Some(o), Some(extra)) = (d.as_object_mut(), cfg.status_extra.as_object()) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    d
}

/// The dashboard auth of the One API family; `None` = authenticated.
pub(crate) fn check_auth(cfg: &FakeConfig, headers: &HeaderMap) -> Option<Response> {
    let current = cfg.variant == Variant::NewApiCurrent;
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let session = login::session_cookie(cfg);
    let cookie_ok = h("cookie").is_some_and(|c| c.split(';').any(|p| p.trim() == cfg.cookie || p.trim() == session));
    let authz = h("authorization");
    if current {
        let tok = authz.as_deref().map(|a| a.strip_prefix("Bearer ").unwrap_or(a).trim().to_string());
        if tok.as_deref() != Some(cfg.token.as_str()) && tok.as_deref() != Some(login::JWT) {
            let body =
                json!({"success": false, "code": "AUTH_UNAUTHORIZED", "message": "无权进行此操作，access token 无效"});
            return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
        }
        return None;
    }
    let authed = if cfg.variant == Variant::AnyRouter {
        if !cookie_ok {
            return Some(fail(StatusCode::UNAUTHORIZED, "无权进行此操作，未登录且未提供 access token"));
        }
        true
    } else {
        match authz {
            _ if cookie_ok => true,
            None => return Some(fail(StatusCode::UNAUTHORIZED, "无权进行此操作，未登录且未提供 access token")),
            Some(a) => a.replacen("Bearer ", "", 1) == cfg.token,
        }
    };
    if !authed {
        return Some(fail(StatusCode::OK, "无权进行此操作，access token 无效"));
    }
    if let Some(name) = user_header(cfg.variant) {
        match h(name) {
            None => return Some(fail(StatusCode::UNAUTHORIZED, &format!("无权进行此操作，未提供 {name}"))),
            Some(v) if v.parse::<i64>().is_err() => {
                return Some(fail(StatusCode::UNAUTHORIZED, &format!("无权进行此操作，{name} 格式错误")));
            }
            Some(v) if v.parse::<i64>().ok() != Some(cfg.user_id) => {
                return Some(fail(StatusCode::UNAUTHORIZED, &format!("无权进行此操作，{name} 与登录用户不匹配")));
            }
            _ => {}
        }
    }
    None
}

fn sk_ok(cfg: &FakeConfig, headers: &HeaderMap) -> bool {
    let a = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let k = a.strip_prefix("Bearer ").unwrap_or(a).trim();
    k.strip_prefix("sk-").unwrap_or(k) == cfg.sk_key
}

fn relay_error(msg: &str) -> Response {
    let body = json!({"error": {"message": format!("{msg} (request id: fake)"), "type": "new_api_error"}});
    (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
}

fn one_api_family(st: &FakeState, cfg: &FakeConfig, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let path = uri.path();
    let q = query_map(uri);
    let v = cfg.variant;
    let hub = matches!(v, Variant::OneHub | Variant::DoneHub);
    let new_family = !matches!(v, Variant::OneApi) && !hub;
    // Unauthenticated routes.
    match (method.as_str(), path) {
        ("GET", "/api/status") => return env(status_data(cfg)),
        ("GET", "/api/notice") => return env(json!(cfg.notice)),
        (_, "/api/token") | (_, "/api/log") => {
            let code =
                if method == Method::GET { StatusCode::MOVED_PERMANENTLY } else { StatusCode::TEMPORARY_REDIRECT };
            let loc = match uri.query() {
                Some(qs) => format!("{path}/?{qs}"),
                None => format!("{path}/"),
            };
            return (code, [("location", loc)]).into_response();
        }
        ("GET", "/v1/dashboard/billing/subscription") => {
            if !sk_ok(cfg, headers) {
                return relay_error("无效的令牌");
            }
            let cs = apihub::domain::money::CurrencySettings::from_status(&status_data(cfg));
            let total = cfg.quota + cfg.used_quota;
            let amount = match cs.display {
                apihub::domain::money::DisplayType::Tokens => total as f64,
                _ => cs.quota_to_amount(total),
            };
            return axum::Json(json!({"object": "billing_subscription", "has_payment_method": true,
                "soft_limit_usd": amount, "hard_limit_usd": amount, "system_hard_limit_usd": amount, "access_until": 0}))
            .into_response();
        }
        ("GET", "/v1/dashboard/billing/usage") => {
            if !sk_ok(cfg, headers) {
                return relay_error("无效的令牌");
            }
            let cs = apihub::domain::money::CurrencySettings::from_status(&status_data(cfg));
            return axum::Json(json!({"object": "list", "total_usage": cs.quota_to_amount(cfg.used_quota) * 100.0}))
                .into_response();
        }
        ("GET", "/api/usage/token/") if matches!(v, Variant::NewApiCurrent) => {
            let bearer =
                headers.get("authorization").and_then(|x| x.to_str().ok()).unwrap_or("").starts_with("Bearer sk-");
            if !bearer || !sk_ok(cfg, headers) {
                return fail(StatusCode::UNAUTHORIZED, "未提供令牌");
            }
            return axum::Json(
                json!({"code": true, "message": "ok", "data": {"object": "token_usage", "name": "mykey",
                "total_granted": cfg.quota + cfg.used_quota, "total_used": cfg.used_quota, "total_available": cfg.quota,
                "unlimited_quota": false, "model_limits": {}, "model_limits_enabled": false, "expires_at": 0}}),
            )
            .into_response();
        }
        ("GET", "/v1/models") => {
            if !sk_ok(cfg, headers) {
                return relay_error("无效的令牌");
            }
            let data: Vec<Value> =
                cfg.models.iter().map(|m| json!({"id": m, "object": "model", "created": 1, "owned_by": "x"})).collect();
            return axum::Json(json!({"success": true, "object": "list", "data": data})).into_response();
        }
        _ => {}
    }
    let known = matches!(
        path,
        "/api/user/self"
            | "/api/user/token"
            | "/api/token/"
            | "/api/log/self"
            | "/api/log/self/stat"
            | "/api/user/models"
            | "/api/user/available_models"
            | "/api/available_model"
            | "/api/user/self/groups"
            | "/api/user_group_map"
            | "/api/pricing"
            | "/api/user/checkin"
            | "/api/user/check_in_status"
    );
    if !known {
        return invalid_url(method, path);
    }
    if let Some(r) = check_auth(cfg, headers) {
        return r;
    }
    match path {
        "/api/user/self" => env(json!({"id": cfg.user_id, "username": cfg.username, "display_name": "Alice",
            "role": 1, "status": 1, "group": "default", "quota": cfg.quota, "used_quota": cfg.used_quota,
            "request_count": cfg.request_count, "access_token": null, "aff_code": "abcd"})),
        "/api/user/token" => {
            let mut c = st.cfg.lock().unwrap();
            c.token = format!("rotated-{}", c.token.len());
            env(json!(c.token))
        }
        "/api/token/" => lists::tokens(cfg, &q),
        "/api/log/self" => lists::logs(cfg, &q),
        "/api/log/self/stat" => {
            let s = q.get("start_timestamp").and_then(|x| x.parse().ok()).unwrap_or(0);
            let e = q.get("end_timestamp").and_then(|x| x.parse().ok()).unwrap_or(i64::MAX);
            let mut d = json!({"quota": cfg.today_spend(s, e)});
            if new_family {
                d["rpm"] = json!(0);
                d["tpm"] = json!(0);
            }
            env(d)
        }
        "/api/user/available_models" if v == Variant::OneApi => env(json!(cfg.models)),
        "/api/user/models" if new_family => env(json!(cfg.models)),
        "/api/available_model" if hub => {
            let m: serde_json::Map<String, Value> = cfg
                .models
                .iter()
                .map(|m| (m.clone(), json!({"groups": ["default"], "owned_by": "x", "price": {"type": "tokens", "input": 1.5, "output": 7.5}})))
                .collect();
            env(Value::Object(m))
        }
        "/api/user/self/groups" if new_family => {
            let mut g = json!({"default": {"ratio": 1, "desc": "默认分组"}, "vip": {"ratio": 0.8, "desc": "VIP"}});
            if v != Variant::Veloera {
                g["auto"] = json!({"ratio": "自动", "desc": "自动选择"});
            }
            env(g)
        }
        "/api/pricing" if new_family => {
            // First model: ratio 15 (×2 USD per 1M), completion ×2; the rest per call $0.04.
            let items: Vec<Value> = cfg
                .models
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    if i == 0 {
                        json!({"model_name": m, "quota_type": 0, "model_ratio": 15, "model_price": 0,
                            "completion_ratio": 2, "enable_groups": ["default", "vip"], "owner_by": "openai"})
                    } else {
                        json!({"model_name": m, "quota_type": 1, "model_ratio": 0, "model_price": 0.04,
                            "completion_ratio": 1, "enable_groups": ["default"], "owner_by": "x"})
                    }
                })
                .collect();
            axum::Json(json!({"success": true, "data": items, "group_ratio": {"default": 1, "vip": 0.8},
                "usable_group": {"default": "默认分组", "vip": "VIP"}}))
            .into_response()
        }
        "/api/user_group_map" if hub => env(json!({
            "default": {"id": 1, "symbol": "default", "name": "默认", "ratio": 1, "api_rate": 600, "public": true, "enable": true},
            "vip": {"id": 2, "symbol": "vip", "name": "VIP", "ratio": 0.5, "api_rate": 600, "public": true, "enable": true},
            "old": {"id": 3, "symbol": "old", "name": "Old", "ratio": 2, "api_rate": 600, "public": true, "enable": false}})),
        "/api/user/checkin" if new_family && v != Variant::Veloera => {
            if !status_data(cfg).get("checkin_enabled").and_then(Value::as_bool).unwrap_or(false) {
                return fail(StatusCode::OK, "签到功能未启用");
            }
            axum::Json(json!({"success": true, "data": {"enabled": true, "min_quota": 1000, "max_quota": 10000,
                "stats": {"total_quota": 5000, "total_checkins": 3, "checkin_count": 1, "checked_in_today": cfg.checked_in_today, "records": []}}}))
            .into_response()
        }
        "/api/user/check_in_status" if v == Variant::Veloera => env(json!({"can_check_in": !cfg.checked_in_today})),
        // Other `/api/user/<name>` GETs fall into the admin `/api/user/:id` route.
        p if p.starts_with("/api/user/") && method == Method::GET => fail(StatusCode::OK, "无权进行此操作，权限不足"),
        _ => invalid_url(method, path),
    }
}
