//! One refresh of an account ([`RelayClient::fetch_snapshot`]) for the One API family;
//! USD-native kinds and key-only accounts are in `native.rs`.

use serde_json::Value;

use super::error::envelope_data;
use super::http::{Inner, Request};
use super::lists::{Listing, fetch_all};
use super::parse;
use super::profile::{AuthStyle, CheckinSource, GroupsSource, ModelsSource, Profile, Protocol};
use super::{AccountRef, RelayClient, RelayError, classify, native};
use crate::domain::money::CurrencySettings;
use crate::domain::snapshot::{Availability, CheckinState, Part, Snapshot, TodayUsage};
use crate::domain::{AuthMethod, Credentials};

/// A request context for one account: base URL, profile and the headers to send.
pub(crate) struct Ctx<'a> {
    pub inner: &'a Inner,
    pub base: String,
    pub profile: Profile,
    pub headers: Vec<(String, String)>,
    /// The account's user id (may be empty).
    pub user_id: String,
    /// Set after a site-wide failure: later parts are skipped, not requested.
    pub fatal: std::sync::Mutex<Option<RelayError>>,
}

impl<'a> Ctx<'a> {
    pub fn new(inner: &'a Inner, account: &AccountRef, creds: &Credentials) -> Result<Ctx<'a>, RelayError> {
        let profile = Profile::for_kind(account.kind);
        let headers = auth_headers(account, creds, &profile)?;
        Ok(Ctx {
            inner,
            base: account.site_url.trim().trim_end_matches('/').to_string(),
            profile,
            headers,
            user_id: account.user_id.trim().to_string(),
            fatal: std::sync::Mutex::new(None),
        })
    }

    fn fatal_error(&self) -> Option<RelayError> {
        match self.fatal.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// GET `path` (with query), classified; the whole JSON body.
    pub async fn get(&self, path: &str) -> Result<Value, RelayError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Any method, with an optional JSON body; classified.
    pub async fn call(&self, method: reqwest::Method, path: &str, json: Option<Value>) -> Result<Value, RelayError> {
        if let Some(e) = self.fatal_error() {
            return Err(e);
        }
        let req = Request { method, url: format!("{}{path}", self.base), headers: self.headers.clone(), json };
        let what = path.split('?').next().unwrap_or(path).to_string();
        // Transport failures, challenges and 429s stop the site's other endpoints for
        // this refresh; an HTTP 5xx on one endpoint does not.
        let r = match self.inner.send(&req, &what).await {
            Ok(raw) => classify(raw.status, &raw.headers, &raw.body, &what),
            Err(e) => {
                self.set_fatal(&e);
                return Err(e);
            }
        };
        if let Err(e @ (RelayError::Challenge { .. } | RelayError::RateLimited { .. })) = &r {
            self.set_fatal(e);
        }
        r
    }

    fn set_fatal(&self, e: &RelayError) {
        match self.fatal.lock() {
            Ok(mut g) => *g = Some(e.clone()),
            Err(p) => *p.into_inner() = Some(e.clone()),
        }
    }

    /// GET `path` and return the envelope's `data`.
    pub async fn get_data(&self, path: &str) -> Result<Value, RelayError> {
        let v = self.get(path).await?;
        envelope_data(&v, path.split('?').next().unwrap_or(path)).cloned()
    }
}

/// The credential and user-id headers for an account.
pub(crate) fn auth_headers(
    account: &AccountRef,
    creds: &Credentials,
    profile: &Profile,
) -> Result<Vec<(String, String)>, RelayError> {
    let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut h = Vec::new();
    let authz = |t: String| match profile.auth_style {
        AuthStyle::Bearer => format!("Bearer {t}"),
        AuthStyle::Raw => t,
    };
    match account.auth {
        AuthMethod::ApiKey => {
            let k = nonempty(&creds.api_key)
                .ok_or_else(|| RelayError::Auth { message: "no API key stored".into(), hint: None })?;
            h.push(("Authorization".into(), format!("Bearer {}", parse::with_sk(&k))));
            return Ok(h);
        }
        AuthMethod::Cookie => {
            let c = nonempty(&creds.cookie)
                .ok_or_else(|| RelayError::Auth { message: "no cookie stored".into(), hint: None })?;
            h.push(("Cookie".into(), c));
        }
        AuthMethod::AccessToken | AuthMethod::Password => {
            if let Some(t) = nonempty(&creds.access_token) {
                h.push(("Authorization".into(), authz(t)));
            } else if let Some(c) = nonempty(&creds.cookie) {
                h.push(("Cookie".into(), c));
            } else {
                return Err(RelayError::Auth {
                    message: "no access token stored".into(),
                    hint: Some("sign in again or paste the system access token".into()),
                });
            }
        }
    }
    // A cf_clearance cookie only works with the browser User-Agent it was issued to; it
    // wins over the site's and the global User-Agent.
    if h.iter().any(|(k, _)| k == "Cookie")
        && let Some(ua) = nonempty(&creds.user_agent)
    {
        h.push(("User-Agent".into(), ua));
    }
    let uid = account.user_id.trim();
    if !uid.is_empty() {
        for name in profile.user_id_headers {
            h.push(((*name).to_string(), uid.to_string()));
        }
    }
    Ok(h)
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Local midnight and 23:59:59 today, unix seconds.
pub fn local_day_window() -> (i64, i64) {
    use chrono::{Local, TimeZone};
    let today = Local::now().date_naive();
    let start = today
        .and_hms_opt(0, 0, 0)
        .and_then(|d| Local.from_local_datetime(&d).earliest())
        .map_or_else(|| now_secs() - now_secs().rem_euclid(86_400), |d| d.timestamp());
    (start, start + 86_399)
}

/// A failed call as a part: NotSupported → unsupported, otherwise failed.
pub(crate) fn part_from_error<T>(e: &RelayError) -> Part<T> {
    match e {
        RelayError::NotSupported { .. } => Part::unsupported(),
        e if is_privilege_refusal(e) => Part::unsupported(),
        other => Part::failed(other.to_string()),
    }
}

/// A listing as a part.
pub(crate) fn part_from_listing<T>(value: T, l: &Listing) -> Part<T> {
    match &l.partial {
        None => Part::complete(value),
        Some(why) => Part { value: Some(value), availability: Availability::Partial(why.clone()) },
    }
}

impl RelayClient {
    /// One refresh of an account: never calls GET /api/user/token, never logs in with a password.
    pub async fn fetch_snapshot(&self, account: &AccountRef, creds: &Credentials) -> Result<Snapshot, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        let snap = if account.auth == AuthMethod::ApiKey {
            native::fetch_key_only(&ctx, creds.api_key.as_deref()).await?
        } else {
            match ctx.profile.protocol {
                Protocol::OneApi => fetch_one_api(&ctx).await?,
                Protocol::Sub2api => native::fetch_sub2api(&ctx).await?,
                Protocol::VoapiV2 => native::fetch_voapi_v2(&ctx).await?,
            }
        };
        Ok(snap)
    }

    /// GET an API path for an account (auth and user-id headers per its profile) and
    /// return the classified JSON body. For callers beyond the snapshot (engine, CLI).
    pub async fn api_get(&self, account: &AccountRef, creds: &Credentials, path: &str) -> Result<Value, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ctx.get(path).await
    }
}

/// `/api/status` → (currency, system name, check-in enabled). Site-fatal errors abort.
pub(crate) async fn read_status(ctx: &Ctx<'_>, snap: &mut Snapshot) -> Result<Option<Value>, RelayError> {
    let Some(path) = ctx.profile.status_path else { return Ok(None) };
    match ctx.get(path).await {
        Ok(v) => {
            let data = v.get("data").cloned().unwrap_or(Value::Null);
            if data.is_object() {
                snap.currency = CurrencySettings::from_status(&data);
                snap.system_name =
                    data.get("system_name").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                Ok(Some(data))
            } else {
                Ok(None)
            }
        }
        Err(e) if e.is_site_fatal() => Err(e),
        Err(e) => {
            log::info!("{}: /api/status unusable ({e}); using default currency settings", ctx.base);
            Ok(None)
        }
    }
}

fn bool_flag(status: Option<&Value>, key: &str) -> bool {
    status.and_then(|s| s.get(key)).and_then(Value::as_bool).unwrap_or(false)
}

/// Fails the account on an auth error in any part (never save empties under a dead login).
/// A "low role" refusal on a secondary endpoint is the admin `/api/user/:id` route
/// swallowing a path this fork lacks, not a dead login: the part is unsupported.
fn is_privilege_refusal(e: &RelayError) -> bool {
    match e {
        RelayError::Auth { message, .. } => {
            let l = message.to_lowercase();
            message.contains("权限不足") || l.contains("insufficient privilege") || l.contains("permission denied")
        }
        _ => false,
    }
}

fn auth_guard<T>(r: &Result<T, RelayError>) -> Result<(), RelayError> {
    match r {
        Err(e @ RelayError::Auth { .. }) if !is_privilege_refusal(e) => Err(e.clone()),
        _ => Ok(()),
    }
}

async fn fetch_one_api(ctx: &Ctx<'_>) -> Result<Snapshot, RelayError> {
    let mut snap = Snapshot { fetched_at: now_secs(), ..Snapshot::default() };
    let status = read_status(ctx, &mut snap).await?;
    let user = parse::user_info(&ctx.get_data(ctx.profile.self_path).await?)?;
    snap.user = Part::complete(user);

    if let Some(p) = ctx.profile.notice_path
        && let Ok(v) = ctx.get(p).await
    {
        snap.notice =
            v.get("data").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    }

    snap.today = today_usage(ctx).await?;

    let keys = fetch_all(&ctx.profile.tokens, &[], |u| async move { ctx.get_data(&u).await }).await;
    auth_guard(&keys)?;
    snap.keys = match keys {
        Ok(l) => {
            let v: Vec<_> = l.items.iter().filter_map(|k| parse::api_key(k, None)).collect();
            part_from_listing(v, &l)
        }
        Err(e) => part_from_error(&e),
    };

    snap.models = match ctx.profile.models {
        ModelsSource::None => Part::unsupported(),
        ModelsSource::Names(p) => {
            let r = ctx.get_data(p).await.and_then(|d| parse::model_names(&d));
            auth_guard(&r)?;
            r.map_or_else(|e| part_from_error(&e), Part::complete)
        }
        ModelsSource::MapKeys(p) => {
            let r = ctx.get_data(p).await.and_then(|d| parse::model_map_keys(&d));
            auth_guard(&r)?;
            r.map_or_else(|e| part_from_error(&e), Part::complete)
        }
    };

    snap.groups = match ctx.profile.groups {
        GroupsSource::None => Part::unsupported(),
        GroupsSource::RatioDesc(p) => {
            let r = ctx.get_data(p).await.and_then(|d| parse::groups_ratio_desc(&d));
            auth_guard(&r)?;
            r.map_or_else(|e| part_from_error(&e), Part::complete)
        }
        GroupsSource::GroupMap(p) => {
            let r = ctx.get_data(p).await.and_then(|d| parse::groups_map(&d));
            auth_guard(&r)?;
            r.map_or_else(|e| part_from_error(&e), Part::complete)
        }
    };

    snap.checkin = checkin_state(ctx, status.as_ref()).await?;
    // Prices are optional: a failure marks the part and never fails the account.
    let models = snap.models.value.clone().unwrap_or_default();
    snap.pricing = match super::pricing::fetch_pricing(ctx, &models).await {
        Ok(p) => Part::complete(p),
        Err(e) => part_from_error(&e),
    };
    Ok(snap)
}

async fn checkin_state(ctx: &Ctx<'_>, status: Option<&Value>) -> Result<Part<CheckinState>, RelayError> {
    let (flag, path) = match ctx.profile.checkin {
        CheckinSource::NewApi => ("checkin_enabled", "/api/user/checkin"),
        CheckinSource::Veloera => ("check_in_enabled", "/api/user/check_in_status"),
        CheckinSource::PerformOnly => {
            return Ok(Part::complete(CheckinState { supported: true, checked_in_today: None }));
        }
        CheckinSource::VoapiV2 | CheckinSource::None => return Ok(Part::unsupported()),
    };
    if !bool_flag(status, flag) {
        return Ok(Part::unsupported());
    }
    let r = ctx.get_data(path).await;
    auth_guard(&r)?;
    Ok(match r {
        Ok(d) => {
            let checked = match ctx.profile.checkin {
                CheckinSource::Veloera => d.get("can_check_in").and_then(Value::as_bool).map(|can| !can),
                _ => d.pointer("/stats/checked_in_today").or_else(|| d.get("checked_in")).and_then(Value::as_bool),
            };
            match checked {
                Some(c) => Part::complete(CheckinState { supported: true, checked_in_today: Some(c) }),
                None => Part::failed("check-in status: unexpected reply"),
            }
        }
        Err(e) => part_from_error(&e),
    })
}

/// Today's spend (stat endpoint) plus tokens and requests (log paging, model rows only).
async fn today_usage(ctx: &Ctx<'_>) -> Result<Part<TodayUsage>, RelayError> {
    let (start, end) = local_day_window();
    let tp = ctx.profile.log_type_param;
    let stat = match ctx.profile.stat_path {
        Some(p) => {
            let q = format!("{p}?{tp}=2&start_timestamp={start}&end_timestamp={end}&token_name=&model_name=");
            let r = ctx
                .get_data(&q)
                .await
                .and_then(|d| parse::int(d.get("quota")).ok_or_else(|| RelayError::malformed("stat: `quota` missing")));
            auth_guard(&r)?;
            Some(r)
        }
        None => None,
    };
    let extra = vec![
        (tp.to_string(), "2".to_string()),
        ("start_timestamp".to_string(), start.to_string()),
        ("end_timestamp".to_string(), end.to_string()),
    ];
    let logs = fetch_all(&ctx.profile.logs, &extra, |u| async move { ctx.get_data(&u).await }).await;
    auth_guard(&logs)?;
    let from_logs = logs.as_ref().ok().map(|l| {
        let mut u =
            TodayUsage { prompt_tokens: Some(0), completion_tokens: Some(0), requests: Some(0), ..Default::default() };
        let mut spend = 0i64;
        for row in l.items.iter().filter(|r| !parse::string(r.get("model_name")).trim().is_empty()) {
            spend += parse::int(row.get("quota")).unwrap_or(0);
            u.prompt_tokens = u.prompt_tokens.map(|t| t + parse::int(row.get("prompt_tokens")).unwrap_or(0));
            u.completion_tokens =
                u.completion_tokens.map(|t| t + parse::int(row.get("completion_tokens")).unwrap_or(0));
            u.requests = u.requests.map(|n| n + 1);
        }
        u.spend = crate::domain::money::Amount::Quota(spend);
        u
    });
    Ok(match (stat, logs, from_logs) {
        (Some(Ok(spend)), Ok(l), Some(u)) => {
            part_from_listing(TodayUsage { spend: crate::domain::money::Amount::Quota(spend), ..u }, &l)
        }
        (Some(Ok(spend)), Err(e), _) => Part {
            value: Some(TodayUsage { spend: crate::domain::money::Amount::Quota(spend), ..Default::default() }),
            availability: Availability::Partial(format!("tokens and requests unknown: {e}")),
        },
        (_, Ok(l), Some(u)) => part_from_listing(u, &l),
        (Some(Err(e)), Err(_), _) | (None, Err(e), _) => part_from_error(&e),
        _ => Part::failed("today's usage unavailable"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SiteKind;

    fn headers(kind: SiteKind, auth: AuthMethod) -> Vec<(String, String)> {
        let acc = AccountRef { site_url: "https://x.example".into(), kind, user_id: "42".into(), auth };
        let creds = Credentials {
            access_token: Some("tok".into()),
            cookie: Some("session=c".into()),
            api_key: Some("abc".into()),
            ..Default::default()
        };
        auth_headers(&acc, &creds, &Profile::for_kind(kind)).unwrap()
    }

    #[test]
    fn user_id_headers_go_to_every_new_api_family_kind_only() {
        for kind in [SiteKind::NewApi, SiteKind::Veloera, SiteKind::Voapi, SiteKind::SuperApi, SiteKind::Unknown] {
            let h = headers(kind, AuthMethod::AccessToken);
            for name in crate::relay::profile::NEW_API_USER_HEADERS {
                assert!(h.iter().any(|(k, v)| k == name && v == "42"), "{kind}: {name}");
            }
            assert!(h.iter().any(|(k, v)| k == "Authorization" && v == "Bearer tok"));
        }
        for kind in [SiteKind::OneApi, SiteKind::OneHub, SiteKind::DoneHub, SiteKind::Sub2api] {
            let h = headers(kind, AuthMethod::AccessToken);
            assert_eq!(h, vec![("Authorization".to_string(), "Bearer tok".to_string())], "{kind}");
        }
        assert_eq!(headers(SiteKind::VoapiV2, AuthMethod::AccessToken)[0].1, "tok", "raw JWT, no Bearer");
        let cookie = headers(SiteKind::Anyrouter, AuthMethod::Cookie);
        assert_eq!(cookie[0], ("Cookie".to_string(), "session=c".to_string()));
        assert!(!cookie.iter().any(|(k, _)| k == "Authorization"));
        assert_eq!(
            headers(SiteKind::NewApi, AuthMethod::ApiKey),
            vec![("Authorization".into(), "Bearer sk-abc".into())]
        );
    }

    #[test]
    fn a_cookie_carries_its_own_user_agent() {
        let acc = AccountRef {
            site_url: "https://x".into(),
            kind: SiteKind::NewApi,
            user_id: "1".into(),
            auth: AuthMethod::Cookie,
        };
        let creds = Credentials {
            cookie: Some("cf_clearance=x".into()),
            user_agent: Some("Browser/1".into()),
            ..Default::default()
        };
        let h = auth_headers(&acc, &creds, &Profile::for_kind(SiteKind::NewApi)).unwrap();
        assert!(h.contains(&("User-Agent".to_string(), "Browser/1".to_string())));
        let token = AccountRef { auth: AuthMethod::AccessToken, ..acc };
        let creds = Credentials { access_token: Some("t".into()), ..creds };
        let h = auth_headers(&token, &creds, &Profile::for_kind(SiteKind::NewApi)).unwrap();
        assert!(!h.iter().any(|(k, _)| k == "User-Agent"), "no cookie sent, no cookie UA");
    }

    #[test]
    fn local_day_window_spans_one_day() {
        let (s, e) = local_day_window();
        assert_eq!(e - s, 86_399);
        assert!(s <= now_secs() && now_secs() <= e + 1);
    }
}
