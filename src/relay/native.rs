//! Snapshots for key-only accounts (`/v1/dashboard/billing/*`, new-api `/api/usage/token/`,
//! `/v1/models`) and for the USD-native kinds sub2api and VoAPI v2.

use serde_json::Value;

use super::RelayError;
use super::ctx::{Ctx, part_from_error, part_from_listing, read_status};
use super::lists::fetch_all;
use super::parse;
use super::profile::NEW_API_USER_HEADERS;
use crate::domain::money::{Amount, DisplayType};
use crate::domain::snapshot::{ApiKey, CheckinState, Part, Snapshot, TodayUsage, UserInfo};
use crate::domain::time::now_unix;

fn auth_or<T>(r: Result<T, RelayError>) -> Result<Result<T, RelayError>, RelayError> {
    match r {
        Err(e @ RelayError::Auth { .. }) => Err(e),
        other => Ok(other),
    }
}

/// An account known only by its `sk-` key. Its keys part is that one key (full, so it
/// can be copied and used to try models), with the quota and expiry the site reports.
pub(crate) async fn fetch_key_only(ctx: &Ctx<'_>, api_key: Option<&str>) -> Result<Snapshot, RelayError> {
    let mut snap = Snapshot { fetched_at: now_unix(), ..Snapshot::default() };
    read_status(ctx, &mut snap).await?;
    let cs = snap.currency.clone();
    let new_api_family = !ctx.profile.user_id_headers.is_empty();

    // new-api (2026-02+): quota integers for the key itself.
    let mut user: Option<UserInfo> = None;
    // (unlimited, expires at) of the key, when the site says.
    let mut key_terms: (bool, i64) = (false, -1);
    if new_api_family {
        match ctx.get_data("/api/usage/token/").await {
            Ok(d) => {
                let avail = parse::int(d.get("total_available"));
                let used = parse::int(d.get("total_used"));
                let unlimited = d.get("unlimited_quota").and_then(Value::as_bool).unwrap_or(false);
                let expires = parse::int(d.get("expires_at")).filter(|t| *t > 0).unwrap_or(-1);
                key_terms = (unlimited, expires);
                if let (Some(a), Some(u)) = (avail, used) {
                    user = Some(UserInfo {
                        username: parse::string(d.get("name")),
                        balance: Amount::Quota(a),
                        used: Amount::Quota(u),
                        ..Default::default()
                    });
                }
            }
            Err(e) if e.is_site_fatal() => return Err(e),
            Err(e) => log::debug!("{}: /api/usage/token/ unusable: {e}", ctx.base),
        }
    }
    if user.is_none() {
        let sub = ctx.get("/v1/dashboard/billing/subscription").await?;
        let hard = parse::float(sub.get("hard_limit_usd"))
            .ok_or_else(|| RelayError::malformed("billing subscription: `hard_limit_usd` missing"))?;
        let usage = match ctx.get("/v1/dashboard/billing/usage").await {
            Ok(u) => parse::float(u.get("total_usage")).map(|c| c / 100.0),
            Err(e @ RelayError::Auth { .. }) => return Err(e),
            Err(_) => None,
        };
        let used = usage.unwrap_or(0.0);
        // `hard_limit_usd` is remaining + used of the key, in the site's display unit:
        // money in its currency, or raw quota when the site displays tokens.
        let figure = |x: f64| match cs.display {
            DisplayType::Tokens => Amount::Quota(x.round() as i64),
            _ => Amount::money(x, &cs.currency()),
        };
        user = Some(UserInfo { balance: figure(hard - used), used: figure(used), ..Default::default() });
    }
    snap.keys = match (api_key.map(str::trim).filter(|k| !k.is_empty()), &user) {
        (Some(k), Some(u)) => {
            let key = if k.starts_with("sk-") { k.to_string() } else { format!("sk-{k}") };
            let name = if u.username.is_empty() { "API key".to_string() } else { u.username.clone() };
            Part::complete(vec![ApiKey {
                id: 0,
                name,
                key,
                masked: false,
                status: 1,
                remain: u.balance.clone(),
                used: u.used.clone(),
                unlimited_quota: key_terms.0,
                expired_time: key_terms.1,
                group: String::new(),
                models: String::new(),
            }])
        }
        _ => Part::unsupported(),
    };
    snap.user = user.map_or_else(|| Part::failed("no balance endpoint answered"), Part::complete);

    // Models: retry once with the user-id headers (some forks want them, AAH #612).
    let mut r = ctx.get("/v1/models").await;
    if matches!(r, Err(RelayError::Auth { .. })) && new_api_family && !ctx.user_id.is_empty() {
        let mut retry = ctx.clone_shallow();
        for h in NEW_API_USER_HEADERS {
            retry.headers.push(((*h).to_string(), ctx.user_id.clone()));
        }
        r = retry.get("/v1/models").await;
    }
    snap.models = match r {
        Ok(v) => match v.get("data").map(parse::model_names) {
            Some(Ok(m)) => Part::complete(m),
            _ => Part::failed("/v1/models: unexpected reply"),
        },
        Err(e) => part_from_error(&e),
    };
    Ok(snap)
}

impl<'a> Ctx<'a> {
    /// A copy sharing the client, for a retry with other headers.
    pub(crate) fn clone_shallow(&self) -> Ctx<'a> {
        Ctx {
            inner: self.inner,
            base: self.base.clone(),
            profile: self.profile.clone(),
            headers: self.headers.clone(),
            user_id: self.user_id.clone(),
            fatal: std::sync::Mutex::new(None),
        }
    }
}

/// sub2api: `{code, message, data}`, Bearer JWT, USD balances.
pub(crate) async fn fetch_sub2api(ctx: &Ctx<'_>) -> Result<Snapshot, RelayError> {
    let mut snap = Snapshot { fetched_at: now_unix(), system_name: None, ..Snapshot::default() };
    let me = ctx.get_data(ctx.profile.self_path).await?;
    let o = me.as_object().ok_or_else(|| RelayError::malformed("auth/me: expected an object"))?;
    let balance =
        parse::float(o.get("balance")).ok_or_else(|| RelayError::malformed("auth/me: `balance` is not a number"))?;
    let points = parse::float(o.get("points")).unwrap_or(0.0);
    snap.user = Part::complete(UserInfo {
        id: parse::string(o.get("id")),
        username: parse::string(o.get("username")),
        display_name: parse::string(o.get("username")),
        group: String::new(),
        role: if parse::string(o.get("role")) == "admin" { 10 } else { 1 },
        balance: Amount::money(balance + points, "USD"),
        used: Amount::money(0.0, "USD"),
        request_count: 0,
    });

    snap.today = match auth_or(ctx.get_data(ctx.profile.stat_path.unwrap_or("/api/v1/usage/stats?period=today")).await)?
    {
        Ok(d) => {
            let cost = parse::float(d.get("total_actual_cost").or_else(|| d.get("today_actual_cost")));
            match cost {
                Some(c) => Part::complete(TodayUsage {
                    spend: Amount::money(c, "USD"),
                    prompt_tokens: parse::int(d.get("total_input_tokens")),
                    completion_tokens: parse::int(d.get("total_output_tokens")),
                    requests: parse::int(d.get("total_requests")),
                }),
                None => Part::failed("usage stats: `total_actual_cost` missing"),
            }
        }
        Err(e) => part_from_error(&e),
    };

    snap.keys = money_keys(ctx, "USD").await?;
    Ok(snap)
}

/// The key list of a money-native kind: amounts in `currency`.
async fn money_keys(ctx: &Ctx<'_>, currency: &str) -> Result<Part<Vec<ApiKey>>, RelayError> {
    Ok(match auth_or(fetch_all(&ctx.profile.tokens, &[], |u| async move { ctx.get_data(&u).await }).await)? {
        Ok(l) => {
            let v: Vec<_> = l.items.iter().filter_map(|k| parse::api_key(k, Some(currency))).collect();
            part_from_listing(v, &l)
        }
        Err(e) => part_from_error(&e),
    })
}

/// A money field of a VoAPI v2 reply: a decimal string (or number). Absent is `None`
/// (or malformed when `required`); present but not a finite number (`"abc"`, `""`,
/// `null`) is malformed, naming the field, so the refresh fails and the last good
/// figures stay.
fn money_field(
    o: &serde_json::Map<String, Value>,
    what: &str,
    key: &str,
    required: bool,
) -> Result<Option<f64>, RelayError> {
    match o.get(key) {
        None if required => Err(RelayError::malformed(format!("{what}: `{key}` missing"))),
        None => Ok(None),
        Some(v) => match parse::float(Some(v)) {
            Some(x) => Ok(Some(x)),
            None => {
                let shown: String = v.to_string().chars().take(40).collect();
                Err(RelayError::malformed(format!("{what}: `{key}` is not a money amount ({shown})")))
            }
        },
    }
}

/// VoAPI v2: `{code, data, msg}`, raw JWT, money strings in the site's `currency`
/// (basic + bind balances; used basic + used bind). No quota exists.
pub(crate) async fn fetch_voapi_v2(ctx: &Ctx<'_>) -> Result<Snapshot, RelayError> {
    let mut snap = Snapshot { fetched_at: now_unix(), ..Snapshot::default() };
    let info = ctx.get_data(ctx.profile.self_path).await?;
    let o = info.as_object().ok_or_else(|| RelayError::malformed("user/info: expected an object"))?;
    let what = "user/info";
    let basic = money_field(o, what, "basicBalance", true)?.unwrap_or(0.0);
    let bind = money_field(o, what, "bindBalance", false)?.unwrap_or(0.0);
    let used = money_field(o, what, "usedBasicBalance", false)?.unwrap_or(0.0)
        + money_field(o, what, "usedBindBalance", false)?.unwrap_or(0.0);
    let currency = match o.get("currency") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(c)) => c.clone(),
        Some(other) => return Err(RelayError::malformed(format!("{what}: `currency` is not a string ({other})"))),
    };
    let currency = crate::domain::money::currency_code(&currency);
    snap.user = Part::complete(UserInfo {
        id: parse::string(o.get("id")),
        username: parse::string(o.get("username")),
        display_name: parse::string(o.get("nickname")),
        group: String::new(),
        role: 1,
        balance: Amount::money(basic + bind, &currency),
        used: Amount::money(used, &currency),
        request_count: parse::int(o.get("totalRequest")).unwrap_or(0),
    });

    snap.keys = money_keys(ctx, &currency).await?;

    snap.checkin = match auth_or(ctx.get_data("/api/check_in/stats").await)? {
        Ok(d) => match d.get("todaySigned").and_then(Value::as_bool) {
            Some(b) => Part::complete(CheckinState { supported: true, checked_in_today: Some(b) }),
            None => Part::failed("check-in stats: `todaySigned` missing"),
        },
        Err(e) => part_from_error(&e),
    };
    Ok(snap)
}
