//! Site-kind detection (clients.md §3, "Desk (merged)"): known hosts, unauthenticated
//! probes (`/api/v1/auth/me`, `/api/user/info`, `/api/status`), status fields, the page
//! title and URL words; else a generic new-api guess. A challenge is an error, never a guess.

use serde_json::Value;

use super::http::Request;
use super::{RelayClient, RelayError, classify};
use crate::domain::SiteKind;

/// How sure a detection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// A fallback: generic new-api family; do not store it as the site's kind.
    Guessed,
    /// Words in a name, title or URL.
    Likely,
    /// A protocol fingerprint or a kind-specific field.
    Certain,
}

/// The result of [`RelayClient::detect`].
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The kind.
    pub kind: SiteKind,
    /// How sure.
    pub confidence: Confidence,
    /// The evidence, for the user.
    pub reason: String,
    /// `system_name` from `/api/status`, when it answered.
    pub system_name: Option<String>,
}

const KNOWN_HOSTS: &[(&str, SiteKind)] =
    &[("anyrouter.top", SiteKind::Anyrouter), ("anyrouter.ai", SiteKind::Anyrouter)];

/// Kind words, most specific first.
fn kind_from_words(text: &str) -> Option<SiteKind> {
    let norm: String = text.to_lowercase().chars().filter(|c| !matches!(c, '-' | '_' | ' ' | '.')).collect();
    [
        ("sub2api", SiteKind::Sub2api),
        ("anyrouter", SiteKind::Anyrouter),
        ("veloera", SiteKind::Veloera),
        ("donehub", SiteKind::DoneHub),
        ("onehub", SiteKind::OneHub),
        ("voapi", SiteKind::Voapi),
        ("superapi", SiteKind::SuperApi),
        ("newapi", SiteKind::NewApi),
        ("oneapi", SiteKind::OneApi),
    ]
    .into_iter()
    .find(|(w, _)| norm.contains(w))
    .map(|(_, k)| k)
}

fn from_status(data: &Value) -> Option<(SiteKind, Confidence, String)> {
    let has = |k: &str| data.get(k).is_some();
    if has("check_in_enabled") {
        return Some((SiteKind::Veloera, Confidence::Certain, "/api/status has check_in_enabled".into()));
    }
    if has("PaymentUSDRate") || has("UptimeEnabled") {
        if has("max_log_query_days") || has("linuxDo_oauth") {
            return Some((SiteKind::DoneHub, Confidence::Certain, "/api/status has max_log_query_days".into()));
        }
        return Some((SiteKind::OneHub, Confidence::Certain, "/api/status has PaymentUSDRate".into()));
    }
    let words = ["system_name", "site_name", "name", "version"]
        .iter()
        .filter_map(|k| data.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(k) = kind_from_words(&words)
        && k != SiteKind::OneApi
        && k != SiteKind::NewApi
    {
        return Some((k, Confidence::Likely, format!("site name/version \"{}\"", words.trim())));
    }
    if has("checkin_enabled") || has("quota_display_type") || has("usd_exchange_rate") {
        return Some((SiteKind::NewApi, Confidence::Certain, "/api/status has new-api fields".into()));
    }
    if let Some(k) = kind_from_words(&words) {
        return Some((k, Confidence::Likely, format!("site name/version \"{}\"", words.trim())));
    }
    None
}

fn title_of(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower[start..].find('>')? + start + 1;
    let end = lower[open_end..].find("</title>")? + open_end;
    html.get(open_end..end).map(|s| s.trim().to_string())
}

impl RelayClient {
    async fn probe(&self, base: &str, path: &str) -> Result<(u16, Vec<u8>, reqwest::header::HeaderMap), RelayError> {
        let r = self.inner.send(&Request::get(format!("{base}{path}")), path).await?;
        Ok((r.status, r.body, r.headers))
    }

    /// Detects the kind of the site at `url` without credentials.
    pub async fn detect(&self, url: &str) -> Result<Detection, RelayError> {
        let base = crate::domain::account::normalize_site_url(url);
        let host =
            url::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_default();
        if let Some((_, k)) = KNOWN_HOSTS.iter().find(|(h, _)| host == *h || host.ends_with(&format!(".{h}"))) {
            return Ok(Detection {
                kind: *k,
                confidence: Confidence::Certain,
                reason: format!("known host {host}"),
                system_name: None,
            });
        }
        let (me, info, status) = tokio::join!(
            self.probe(&base, "/api/v1/auth/me"),
            self.probe(&base, "/api/user/info"),
            self.probe(&base, "/api/status")
        );

        // sub2api: `{code, message}` (string code, or numeric with message) even as 401.
        if let Ok((_, body, _)) = &me
            && let Ok(v) = serde_json::from_slice::<Value>(body)
            && v.get("success").is_none()
            && (v.get("code").is_some_and(Value::is_string)
                || (v.get("code").is_some_and(Value::is_number)
                    && v.get("message").is_some()
                    && v.get("data").is_some()))
        {
            return Ok(Detection {
                kind: SiteKind::Sub2api,
                confidence: Confidence::Certain,
                reason: "/api/v1/auth/me answers a sub2api envelope".into(),
                system_name: None,
            });
        }
        // VoAPI v2: numeric code, `data:null` + auth message, or `basicBalance`.
        if let Ok((_, body, _)) = &info
            && let Ok(v) = serde_json::from_slice::<Value>(body)
            && v.get("success").is_none()
            && v.get("code").is_some_and(Value::is_number)
            && (v.get("data").is_some_and(Value::is_null) || v.pointer("/data/basicBalance").is_some())
        {
            return Ok(Detection {
                kind: SiteKind::VoapiV2,
                confidence: Confidence::Certain,
                reason: "/api/user/info answers a VoAPI v2 envelope".into(),
                system_name: None,
            });
        }
        let mut system_name = None;
        match &status {
            Ok((code, body, headers)) => match classify(*code, headers, body, "/api/status") {
                Ok(v) => {
                    let data = v.get("data").cloned().unwrap_or(Value::Null);
                    system_name = data.get("system_name").and_then(Value::as_str).map(str::to_string);
                    if let Some((kind, confidence, reason)) = from_status(&data) {
                        return Ok(Detection { kind, confidence, reason, system_name });
                    }
                }
                Err(e @ RelayError::Challenge { .. }) => return Err(e),
                Err(_) => {}
            },
            Err(e) if e.is_site_fatal() => return Err(e.clone()),
            Err(_) => {}
        }
        if let Ok(r) = self.inner.send(&Request::get(format!("{base}/")), "/").await {
            let html = String::from_utf8_lossy(&r.body);
            if let Err(e @ RelayError::Challenge { .. }) = classify(r.status, &r.headers, &r.body, "/") {
                return Err(e);
            }
            if let Some(t) = title_of(&html)
                && let Some(kind) = kind_from_words(&t)
            {
                return Ok(Detection {
                    kind,
                    confidence: Confidence::Likely,
                    reason: format!("page title \"{t}\""),
                    system_name,
                });
            }
        }
        if let Some(kind) = kind_from_words(&host) {
            return Ok(Detection {
                kind,
                confidence: Confidence::Likely,
                reason: format!("host name {host}"),
                system_name,
            });
        }
        Ok(Detection {
            kind: SiteKind::Unknown,
            confidence: Confidence::Guessed,
            reason: "no fingerprint matched: treated as generic new-api family".into(),
            system_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_fields_decide() {
        assert_eq!(from_status(&json!({"check_in_enabled": false})).unwrap().0, SiteKind::Veloera);
        assert_eq!(from_status(&json!({"PaymentUSDRate": 7})).unwrap().0, SiteKind::OneHub);
        assert_eq!(from_status(&json!({"PaymentUSDRate": 7, "max_log_query_days": 180})).unwrap().0, SiteKind::DoneHub);
        assert_eq!(from_status(&json!({"quota_display_type": "USD"})).unwrap().0, SiteKind::NewApi);
        assert_eq!(
            from_status(&json!({"system_name": "Super API 站", "checkin_enabled": true})).unwrap().0,
            SiteKind::SuperApi
        );
        assert_eq!(from_status(&json!({"system_name": "One API"})).unwrap().0, SiteKind::OneApi);
        assert!(from_status(&json!({"system_name": "My relay"})).is_none());
        assert_eq!(title_of("<html><TITLE> Done-Hub </title>").as_deref(), Some("Done-Hub"));
    }
}
