//! Usage log pages per kind (`/api/log/self` with the profile's page base, size and
//! type parameter names, any list shape) and the normalisation of a row: `use_time` s
//! vs `request_time`/`elapsed_time` ms, `channel` vs `channel_id`, `other` string vs
//! `metadata` object, and type numbers that differ per kind.
//!
//! sub2api has its own list, `GET /api/v1/usage` (see [`sub2api_page_path`] and
//! [`normalise_sub2api_row`]): RFC 3339 times, USD costs, billed requests only.
//! VoAPI v2 is closed source and its log endpoint is not established: unsupported.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::lists::{PageItems, page_url, parse_page};
use super::parse;
use super::profile::Protocol;
use super::{AccountRef, Profile, RelayClient, RelayError};
use crate::domain::usage_log::{LogKind, UsageLog};
use crate::domain::{Credentials, SiteKind};

/// The widest window a kind accepts, in seconds (`None` = no limit; done-hub rejects
/// windows longer than its profile's 180 days, servers.md §4.3).
pub fn max_window_secs(kind: SiteKind) -> Option<i64> {
    Profile::for_kind(kind).log_window_max_days.map(|d| d * 86_400 - 60)
}

/// Whether the kind has a usage log list the sync understands: the One API family's
/// `/api/log/self` or sub2api's `/api/v1/usage` (VoAPI v2's is unknown).
pub fn supports_logs(kind: SiteKind) -> bool {
    matches!(Profile::for_kind(kind).protocol, Protocol::OneApi | Protocol::Sub2api)
}

/// The path and query of one page of rows in `[start, end]` (all types). sub2api's
/// window may be wider (whole days); the sync drops rows older than `start`.
pub fn log_page_path(profile: &Profile, page: i64, start_unix: i64, end_unix: i64) -> String {
    if profile.protocol == Protocol::Sub2api {
        return sub2api_page_path(profile, page, start_unix, end_unix);
    }
    let extra = vec![
        (profile.log_type_param.to_string(), "0".to_string()),
        ("start_timestamp".to_string(), start_unix.to_string()),
        ("end_timestamp".to_string(), end_unix.to_string()),
    ];
    page_url(&profile.logs, page, &extra)
}

fn utc_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

/// sub2api `GET /api/v1/usage?page=&page_size=&start_date=&end_date=&timezone=&sort_by=&sort_order=`,
/// as read in Wei-Shaw/sub2api `backend/internal/handler/usage_handler.go` (`List`,
/// `parseUserUsageFilters`), `backend/internal/pkg/response/response.go` (`Paginated`:
/// `{code: 0, message, data: {items, total, page, page_size, pages}}`, page_size ≤ 1000) and
/// `backend/internal/pkg/timezone/range.go` (date-only start = that midnight, date-only end =
/// the next midnight, half-open). Newer builds also take RFC 3339 times; every build takes
/// `YYYY-MM-DD`, so the window is whole UTC days widened by one day on each side (older builds
/// ignore `timezone` and use the server's own zone).
pub fn sub2api_page_path(profile: &Profile, page: i64, start_unix: i64, end_unix: i64) -> String {
    let extra = vec![
        ("start_date".to_string(), utc_date(start_unix.saturating_sub(86_400))),
        ("end_date".to_string(), utc_date(end_unix.saturating_add(86_400))),
        ("timezone".to_string(), "UTC".to_string()),
        ("sort_by".to_string(), "created_at".to_string()),
        ("sort_order".to_string(), "desc".to_string()),
    ];
    page_url(&profile.logs, page, &extra)
}

/// The One API "consume" type number, given to sub2api rows (its list holds billed
/// requests only).
pub const SUB2API_RAW_TYPE: i64 = 2;

/// Normalises one sub2api usage row (`dto.UsageLog` in Wei-Shaw/sub2api
/// `backend/internal/handler/dto/types.go`): `created_at` RFC 3339, `model`,
/// `input_tokens`/`output_tokens`, `actual_cost` USD (what the balance paid) kept in the
/// log table's cost units ([`crate::domain::money::LOG_COST_UNITS_PER_USD`]), `api_key.name`,
/// `group.name`, `stream`, `duration_ms`, `request_id`. Cache tokens, `total_cost`, the rate
/// multiplier and `first_token_ms` are kept in `other` as JSON.
pub fn normalise_sub2api_row(v: &Value) -> Option<UsageLog> {
    let o = v.as_object()?;
    let created_at = match o.get("created_at") {
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s.trim()).ok()?.timestamp(),
        other => parse::int(other)?,
    };
    let cost = parse::float(o.get("actual_cost")).or_else(|| parse::float(o.get("total_cost"))).unwrap_or(0.0);
    let quota = crate::domain::money::usd_to_log_units(cost);
    let name = |k: &str| o.get(k).map(|x| text(x.get("name")).trim().to_string()).unwrap_or_default();
    let token_name = Some(name("api_key"))
        .filter(|n| !n.is_empty())
        .or_else(|| parse::int(o.get("api_key_id")).filter(|i| *i > 0).map(|i| format!("#{i}")))
        .unwrap_or_default();
    let mut other = serde_json::Map::new();
    for k in [
        "cache_creation_tokens",
        "cache_read_tokens",
        "total_cost",
        "actual_cost",
        "rate_multiplier",
        "first_token_ms",
        "request_type",
        "billing_type",
    ] {
        if let Some(x) = o.get(k).filter(|x| !x.is_null()) {
            other.insert(k.to_string(), x.clone());
        }
    }
    let is_stream = match o.get("stream") {
        Some(Value::Bool(b)) => *b,
        _ => text(o.get("request_type")) == "stream",
    };
    let mut row = UsageLog {
        account_id: 0,
        created_at,
        kind: LogKind::Consume,
        raw_type: SUB2API_RAW_TYPE,
        model: text(o.get("model")).trim().to_string(),
        token_name,
        quota,
        prompt_tokens: parse::int(o.get("input_tokens")).unwrap_or(0),
        completion_tokens: parse::int(o.get("output_tokens")).unwrap_or(0),
        duration_ms: parse::int(o.get("duration_ms")),
        is_stream,
        channel_id: None,
        group: name("group"),
        request_id: text(o.get("request_id")),
        content: String::new(),
        other: if other.is_empty() { String::new() } else { Value::Object(other).to_string() },
        content_hash: String::new(),
    };
    row.content_hash = content_hash(&row, 0);
    Some(row)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn opt_int(v: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| parse::int(v.get(*k)))
}

/// Normalises one row of any kind. `None` when it is not a log object.
pub fn normalise_row(kind: SiteKind, v: &Value) -> Option<UsageLog> {
    let profile = Profile::for_kind(kind);
    if profile.protocol == Protocol::Sub2api {
        return normalise_sub2api_row(v);
    }
    if !v.is_object() {
        return None;
    }
    let created_at = parse::int(v.get("created_at"))?;
    let raw_type = parse::int(v.get("type")).or_else(|| parse::int(v.get("log_type"))).unwrap_or(0);
    // Durations: new-api/Veloera `use_time` seconds; one-hub/done-hub `request_time` ms;
    // one-api `elapsed_time` ms.
    let duration_ms = parse::int(v.get("request_time"))
        .or_else(|| parse::int(v.get("elapsed_time")))
        .or_else(|| parse::float(v.get("use_time")).map(|s| (s * 1000.0).round() as i64));
    let other = match v.get("other").or_else(|| v.get("metadata")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(obj) => obj.to_string(),
    };
    let is_stream = match v.get("is_stream") {
        Some(Value::Bool(b)) => *b,
        Some(x) => parse::int(Some(x)).is_some_and(|n| n != 0),
        None => false,
    };
    let mut row = UsageLog {
        account_id: 0,
        created_at,
        kind: profile.log_kind(raw_type),
        raw_type,
        model: text(v.get("model_name")).trim().to_string(),
        token_name: text(v.get("token_name")),
        quota: parse::int(v.get("quota")).unwrap_or(0),
        prompt_tokens: parse::int(v.get("prompt_tokens")).unwrap_or(0),
        completion_tokens: parse::int(v.get("completion_tokens")).unwrap_or(0),
        duration_ms,
        is_stream,
        channel_id: opt_int(v, &["channel", "channel_id"]).filter(|c| *c > 0),
        group: text(v.get("group")),
        request_id: text(v.get("request_id")),
        content: text(v.get("content")),
        other,
        content_hash: String::new(),
    };
    row.content_hash = content_hash(&row, 0);
    Some(row)
}

/// The row's identity by content (never the site's `id`: new-api sends a display
/// index). `occurrence` tells apart identical rows seen in the same sync.
pub fn content_hash(r: &UsageLog, occurrence: u32) -> String {
    let mut h = Sha256::new();
    for part in [
        r.created_at.to_string(),
        r.raw_type.to_string(),
        r.request_id.clone(),
        r.token_name.clone(),
        r.model.clone(),
        r.quota.to_string(),
        r.prompt_tokens.to_string(),
        r.completion_tokens.to_string(),
        r.content.clone(),
        occurrence.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl RelayClient {
    /// One page of an account's usage logs in `[start, end]`, parsed but not normalised.
    pub async fn fetch_log_page(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        page: i64,
        start_unix: i64,
        end_unix: i64,
    ) -> Result<PageItems, RelayError> {
        let profile = Profile::for_kind(account.kind);
        let path = log_page_path(&profile, page, start_unix, end_unix);
        let v = self.api_get(account, creds, &path).await?;
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        parse_page(&data).ok_or_else(|| RelayError::malformed(format!("{}: unknown list shape", profile.logs.path)))
    }
}

impl RelayClient {
    /// The site's own sum of billed quota in `[start, end]` (`/api/log/self/stat`).
    /// `None` when the kind has no stat endpoint.
    pub async fn fetch_log_stat(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        start_unix: i64,
        end_unix: i64,
    ) -> Result<Option<i64>, RelayError> {
        let profile = Profile::for_kind(account.kind);
        let Some(path) = profile.stat_path.filter(|_| profile.protocol == Protocol::OneApi) else {
            return Ok(None);
        };
        let path = format!("{path}?{}=2&start_timestamp={start_unix}&end_timestamp={end_unix}", profile.log_type_param);
        let v = self.api_get(account, creds, &path).await?;
        parse::int(v.get("data").and_then(|d| d.get("quota")))
            .map(Some)
            .ok_or_else(|| RelayError::malformed("log stat: `quota` missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn row_shapes_per_kind_normalise_alike() {
        let new_api = json!({"id": 3, "created_at": 100, "type": 2, "model_name": "gpt", "token_name": "k",
            "quota": 7, "prompt_tokens": 1, "completion_tokens": 2, "use_time": 3, "is_stream": true,
            "channel": 4, "group": "vip", "request_id": "r1", "other": "{\"model_ratio\":1}"});
        let r = normalise_row(SiteKind::NewApi, &new_api).unwrap();
        assert_eq!((r.duration_ms, r.channel_id, r.group.as_str(), r.is_stream), (Some(3000), Some(4), "vip", true));
        assert_eq!(r.other, "{\"model_ratio\":1}");
        let hub = json!({"id": 9, "created_at": 100, "type": 2, "model_name": "gpt", "token_name": "k", "quota": 7,
            "prompt_tokens": 1, "completion_tokens": 2, "request_time": 1500, "channel_id": 5,
            "metadata": {"cache": 1}, "is_stream": false});
        let h = normalise_row(SiteKind::OneHub, &hub).unwrap();
        assert_eq!((h.duration_ms, h.channel_id, h.other.as_str()), (Some(1500), Some(5), "{\"cache\":1}"));
        let one = json!({"id": 0, "created_at": 100, "type": 5, "elapsed_time": 250, "channel": 2});
        let o = normalise_row(SiteKind::OneApi, &one).unwrap();
        assert_eq!((o.duration_ms, o.kind), (Some(250), LogKind::Test));
        let vel = json!({"created_at": 100, "type": 5, "quota": 0, "content": "签到"});
        assert_eq!(normalise_row(SiteKind::Veloera, &vel).unwrap().kind, LogKind::CheckIn);
        // The site's id plays no part in identity.
        let mut moved = new_api.clone();
        moved["id"] = json!(77);
        assert_eq!(normalise_row(SiteKind::NewApi, &moved).unwrap().content_hash, r.content_hash);
        assert_ne!(content_hash(&r, 1), r.content_hash);
        assert!(normalise_row(SiteKind::NewApi, &json!(5)).is_none());
    }

    #[test]
    fn sub2api_rows_normalise_from_rfc3339_and_usd() {
        let v = json!({"id": 9, "request_id": "r-9", "model": " claude-sonnet ", "input_tokens": 120,
            "output_tokens": 30, "cache_read_tokens": 5, "total_cost": 0.0025, "actual_cost": 0.002,
            "rate_multiplier": 0.8, "stream": false, "request_type": "sync", "duration_ms": 2100,
            "created_at": "2026-01-02T03:04:05.123+08:00", "api_key_id": 3, "api_key": {"id": 3, "name": "cc"},
            "group": {"id": 1, "name": "vip"}, "first_token_ms": null});
        let r = normalise_row(SiteKind::Sub2api, &v).unwrap();
        assert_eq!(r.created_at, 1_767_294_245, "2026-01-01T19:04:05Z");
        assert_eq!((r.kind, r.quota, r.model.as_str()), (LogKind::Consume, 1000, "claude-sonnet"));
        assert_eq!((r.prompt_tokens, r.completion_tokens, r.duration_ms), (120, 30, Some(2100)));
        assert_eq!((r.token_name.as_str(), r.group.as_str(), r.is_stream), ("cc", "vip", false));
        assert!(r.other.contains("\"cache_read_tokens\":5") && !r.other.contains("first_token_ms"), "{}", r.other);
        let mut other_req = v.clone();
        other_req["request_id"] = json!("r-10");
        assert_ne!(normalise_row(SiteKind::Sub2api, &other_req).unwrap().content_hash, r.content_hash);
        let bare = json!({"created_at": "2026-01-02T00:00:00Z", "api_key_id": 4, "request_type": "stream"});
        let b = normalise_row(SiteKind::Sub2api, &bare).unwrap();
        assert_eq!((b.token_name.as_str(), b.quota, b.is_stream), ("#4", 0, true));
        assert!(normalise_row(SiteKind::Sub2api, &json!({"created_at": "yesterday"})).is_none());
        assert!(normalise_row(SiteKind::Sub2api, &json!([1])).is_none());
    }

    #[test]
    fn sub2api_pages_ask_whole_days_around_the_window() {
        assert!(supports_logs(SiteKind::Sub2api) && !supports_logs(SiteKind::VoapiV2));
        // 2026-01-02T00:00:10Z .. 2026-01-05T12:00:00Z
        let p = log_page_path(&Profile::for_kind(SiteKind::Sub2api), 2, 1_767_312_010, 1_767_614_400);
        assert_eq!(
            p,
            "/api/v1/usage?page=2&page_size=100&start_date=2026-01-01&end_date=2026-01-06&timezone=UTC\
             &sort_by=created_at&sort_order=desc"
        );
    }

    #[test]
    fn page_paths_follow_the_profile() {
        let p = log_page_path(&Profile::for_kind(SiteKind::DoneHub), 1, 10, 20);
        assert_eq!(p, "/api/log/self?page=1&size=100&log_type=0&start_timestamp=10&end_timestamp=20");
        let p = log_page_path(&Profile::for_kind(SiteKind::OneApi), 0, 10, 20);
        assert_eq!(p, "/api/log/self?p=0&type=0&start_timestamp=10&end_timestamp=20");
        assert!(max_window_secs(SiteKind::DoneHub).is_some_and(|s| s < 180 * 86_400));
    }
}
