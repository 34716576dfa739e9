//! One refresh of an account ([`RelayClient::fetch_snapshot`]) for the One API family;
//! USD-native kinds and key-only accounts are in `native.rs`.

use serde_json::Value;

use super::ctx::{Ctx, is_privilege_refusal, part_from_error, part_from_listing, read_status};
use super::lists::fetch_all;
use super::parse;
use super::profile::{CheckinSource, GroupsSource, ModelsSource, Protocol};
use super::{AccountRef, RelayClient, RelayError, native};
use crate::domain::snapshot::{Availability, CheckinState, Part, Snapshot, TodayUsage};
use crate::domain::{AuthMethod, Credentials};

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

fn bool_flag(status: Option<&Value>, key: &str) -> bool {
    status.and_then(|s| s.get(key)).and_then(Value::as_bool).unwrap_or(false)
}

fn auth_guard<T>(r: &Result<T, RelayError>) -> Result<(), RelayError> {
    match r {
        Err(e @ RelayError::Auth { .. }) if !is_privilege_refusal(e) => Err(e.clone()),
        _ => Ok(()),
    }
}

async fn fetch_one_api(ctx: &Ctx<'_>) -> Result<Snapshot, RelayError> {
    let mut snap = Snapshot { fetched_at: crate::domain::time::now_unix(), ..Snapshot::default() };
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
    let (start, end) = crate::domain::time::local_day_window();
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
