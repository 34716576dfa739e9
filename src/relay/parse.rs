//! Turning the sites' JSON into `domain` types. Tolerant of Go's `null`s, numbers as
//! strings and missing fields; strict where a wrong type means the reply is not ours.

use serde_json::Value;

use super::RelayError;
use crate::domain::money::Amount;
use crate::domain::snapshot::{ApiKey, GroupRatio, UserInfo};

/// An integer from a number, a float or a numeric string.
pub fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.round() as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64)),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A float from a number or a numeric string.
pub fn float(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// A string from a string or a number (ids); `""` for null or absent.
pub fn string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn require_object<'a>(v: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, RelayError> {
    v.as_object().ok_or_else(|| RelayError::malformed(format!("{what}: expected an object")))
}

/// `/api/user/self` `data` → [`UserInfo`]. `quota` must be a number.
pub fn user_info(data: &Value) -> Result<UserInfo, RelayError> {
    let o = require_object(data, "user")?;
    let quota = match o.get("quota") {
        Some(Value::Number(_)) => int(o.get("quota")),
        None | Some(Value::Null) => Some(0),
        _ => None,
    }
    .ok_or_else(|| RelayError::malformed("user: `quota` is not a number"))?;
    Ok(UserInfo {
        id: string(o.get("id")),
        username: string(o.get("username")),
        display_name: string(o.get("display_name")),
        group: string(o.get("group")),
        role: int(o.get("role")).unwrap_or(1),
        balance: Amount::Quota(quota),
        used: Amount::Quota(int(o.get("used_quota")).unwrap_or(0)),
        request_count: int(o.get("request_count")).unwrap_or(0),
    })
}

/// Whether a key as listed is masked (`abcd**********wxyz`, `sk-abc...xyz`, `…`).
pub fn is_masked(key: &str) -> bool {
    key.contains('*') || key.contains("...") || key.contains('…')
}

/// A key for display: with the `sk-` prefix.
pub fn with_sk(key: &str) -> String {
    let k = key.trim();
    if k.is_empty() || k.starts_with("sk-") { k.to_string() } else { format!("sk-{k}") }
}

fn status_int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Bool(true)) => 1,
        Some(Value::Bool(false)) => 2,
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "active" | "enabled" | "1" => 1,
            "expired" | "3" => 3,
            "exhausted" | "4" => 4,
            _ => 2,
        },
        other => int(other).unwrap_or(1),
    }
}

/// One token row (any kind) → [`ApiKey`]. `money` is the currency of a money-native
/// kind's amounts (`quota`/`amount`, `quota_used`/`used`); `None` reads quota integers.
pub fn api_key(v: &Value, money: Option<&str>) -> Option<ApiKey> {
    let o = v.as_object()?;
    let raw = ["key", "token", "tokenMasked", "api_key"].iter().map(|k| string(o.get(*k))).find(|s| !s.is_empty())?;
    let models = match o.get("models").or_else(|| o.get("model_limits")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        _ => String::new(),
    };
    let (remain, used, none_left) = match money {
        Some(cur) => {
            let left = float(o.get("quota").or_else(|| o.get("amount"))).unwrap_or(0.0);
            let used = float(o.get("quota_used").or_else(|| o.get("used"))).unwrap_or(0.0);
            (Amount::money(left, cur), Amount::money(used, cur), left == 0.0)
        }
        None => (
            Amount::Quota(int(o.get("remain_quota")).unwrap_or(0)),
            Amount::Quota(int(o.get("used_quota")).unwrap_or(0)),
            false,
        ),
    };
    let unlimited = match o.get("unlimited_quota").or_else(|| o.get("boundlessAmount")) {
        Some(Value::Bool(b)) => *b,
        _ => none_left,
    };
    Some(ApiKey {
        id: int(o.get("id").or_else(|| o.get("token_id"))).unwrap_or(0),
        name: string(o.get("name")),
        masked: is_masked(&raw),
        key: with_sk(&raw),
        status: status_int(o.get("status").or_else(|| o.get("enable"))),
        remain,
        used,
        unlimited_quota: unlimited,
        expired_time: int(o.get("expired_time").or_else(|| o.get("expireTime"))).unwrap_or(-1),
        group: match o.get("group").or_else(|| o.get("groups")) {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            other => string(other),
        },
        models,
    })
}

/// new-api / Veloera `/api/user/self/groups` → groups (string ratios such as "自动" → `None`).
pub fn groups_ratio_desc(data: &Value) -> Result<Vec<GroupRatio>, RelayError> {
    let o = require_object(data, "groups")?;
    let mut out: Vec<GroupRatio> = o
        .iter()
        .map(|(name, g)| GroupRatio {
            name: name.clone(),
            ratio: match g.get("ratio") {
                Some(Value::Number(n)) => n.as_f64(),
                _ => None,
            },
            desc: string(g.get("desc")),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// one-hub / done-hub `/api/user_group_map` → groups (drops `enable:false`).
pub fn groups_map(data: &Value) -> Result<Vec<GroupRatio>, RelayError> {
    let o = require_object(data, "groups")?;
    let mut out: Vec<GroupRatio> = o
        .iter()
        .filter(|(_, g)| g.get("enable").and_then(Value::as_bool) != Some(false))
        .map(|(sym, g)| {
            let desc = string(g.get("description"));
            GroupRatio {
                name: sym.clone(),
                ratio: float(g.get("ratio")),
                desc: if desc.is_empty() { string(g.get("name")) } else { desc },
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `data` = array of model names.
pub fn model_names(data: &Value) -> Result<Vec<String>, RelayError> {
    let a = data.as_array().ok_or_else(|| RelayError::malformed("models: expected an array"))?;
    let mut out: Vec<String> = a
        .iter()
        .filter_map(|m| m.as_str().map(str::to_string).or_else(|| m.get("id")?.as_str().map(str::to_string)))
        .filter(|s| !s.trim().is_empty())
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// `data` = object keyed by model name.
pub fn model_map_keys(data: &Value) -> Result<Vec<String>, RelayError> {
    let o = require_object(data, "models")?;
    let mut out: Vec<String> = o.keys().cloned().collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_get_sk_and_mask_flags() {
        let k = api_key(&json!({"id":3,"key":"abcd**********wxyz","status":1,"remain_quota":5}), None).unwrap();
        assert!(k.masked);
        assert_eq!(k.key, "sk-abcd**********wxyz");
        let k = api_key(&json!({"id":4,"key":"sk-full","models":null,"subnet":null}), None).unwrap();
        assert!(!k.masked);
        assert_eq!(k.key, "sk-full");
    }

    #[test]
    fn auto_group_ratio_is_none() {
        let g =
            groups_ratio_desc(&json!({"default":{"ratio":1,"desc":"d"},"auto":{"ratio":"自动","desc":"a"}})).unwrap();
        assert_eq!(g[0].name, "auto");
        assert_eq!(g[0].ratio, None);
        assert_eq!(g[1].ratio, Some(1.0));
    }

    #[test]
    fn user_quota_must_be_numeric() {
        assert!(user_info(&json!({"id":1,"quota":"lots"})).is_err());
        assert_eq!(user_info(&json!({"id":1,"quota":42})).unwrap().balance, Amount::Quota(42));
        assert!(user_info(&json!([1])).is_err());
    }
}
