//! Adding an account: verify an access token or a pasted cookie, or sign in with a
//! password (new-api 2FA: the classic cookie-bound step and the current `flow_token`
//! step). `mint_access_token` calls `GET /api/user/token` (which replaces the user's
//! previous token) only when the caller explicitly asks.

use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::error::envelope_data;
use super::http::Request;
use super::{AccountRef, RelayClient, RelayError, classify, parse};
use crate::domain::snapshot::UserInfo;
use crate::domain::{AuthMethod, Credentials, SiteKind};

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginResult {
    /// Numeric user id.
    pub user_id: String,
    /// Login name.
    pub username: String,
    /// How the account should sign in from now on.
    pub auth: AuthMethod,
    /// The credential obtained (a session cookie, or a JWT + refresh cookie).
    pub credentials: Credentials,
}

/// A sign-in waiting for a 2FA code.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending2fa {
    site_url: String,
    /// Classic new-api: the pending login lives in this cookie jar.
    cookie: Option<String>,
    /// Current new-api: the opaque flow token.
    flow_token: Option<String>,
}

/// The outcome of [`RelayClient::login_password`].
#[derive(Debug, Clone, PartialEq)]
pub enum LoginStep {
    /// Signed in.
    Done(LoginResult),
    /// Ask the user for a TOTP or backup code, then call [`RelayClient::login_2fa`].
    Needs2fa(Pending2fa),
}

fn turnstile_error() -> RelayError {
    RelayError::Auth {
        message: "this site requires a Turnstile (captcha) check to sign in with a password".into(),
        hint: Some(
            "use the access-token method (personal settings → system access token) or paste the browser cookie".into(),
        ),
    }
}

fn is_turnstile_message(m: &str) -> bool {
    let l = m.to_lowercase();
    l.contains("turnstile") || l.contains("captcha") || m.contains("人机")
}

/// `name=value` pairs of every `Set-Cookie`, joined as a `Cookie` header value.
fn cookies_of(headers: &HeaderMap) -> Option<String> {
    let pairs: Vec<String> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(|p| p.trim().to_string())
        .filter(|p| p.contains('=') && !p.ends_with('='))
        .collect();
    if pairs.is_empty() { None } else { Some(pairs.join("; ")) }
}

fn base_of(url: &str) -> String {
    crate::domain::account::normalize_site_url(url)
}

impl RelayClient {
    /// Checks an access token + user id with `GET /api/user/self` (per the kind's profile).
    pub async fn verify_access_token(
        &self,
        site_url: &str,
        kind: SiteKind,
        user_id: &str,
        token: &str,
    ) -> Result<UserInfo, RelayError> {
        let acc =
            AccountRef { site_url: base_of(site_url), kind, user_id: user_id.into(), auth: AuthMethod::AccessToken };
        let creds = Credentials { access_token: Some(token.into()), ..Default::default() };
        self.verify(&acc, &creds).await
    }

    /// Checks a pasted browser cookie (+ user id) with `GET /api/user/self`.
    pub async fn verify_cookie(
        &self,
        site_url: &str,
        kind: SiteKind,
        user_id: &str,
        cookie: &str,
    ) -> Result<UserInfo, RelayError> {
        let acc = AccountRef { site_url: base_of(site_url), kind, user_id: user_id.into(), auth: AuthMethod::Cookie };
        let creds = Credentials { cookie: Some(cookie.into()), ..Default::default() };
        self.verify(&acc, &creds).await
    }

    async fn verify(&self, acc: &AccountRef, creds: &Credentials) -> Result<UserInfo, RelayError> {
        let ctx = Ctx::new(&self.inner, acc, creds)?;
        let user = parse::user_info(&ctx.get_data(ctx.profile.self_path).await?)?;
        if !acc.user_id.trim().is_empty() && !user.id.is_empty() && user.id != acc.user_id.trim() {
            return Err(RelayError::Auth {
                message: format!("the token belongs to user {}, not {}", user.id, acc.user_id.trim()),
                hint: Some("check the account's user id".into()),
            });
        }
        Ok(user)
    }

    async fn post(
        &self,
        url: String,
        body: Value,
        headers: Vec<(String, String)>,
    ) -> Result<(Value, HeaderMap), RelayError> {
        let req = Request { method: Method::POST, url, headers, json: Some(body) };
        let what = "/api/user/login";
        let r = self.inner.send(&req, what).await?;
        let v = classify(r.status, &r.headers, &r.body, what).map_err(|e| match e {
            RelayError::Auth { ref message, .. } | RelayError::Server { ref message }
                if is_turnstile_message(message) =>
            {
                turnstile_error()
            }
            other => other,
        })?;
        Ok((v, r.headers))
    }

    /// Signs in with a password (`POST /api/user/login`). Never stores the password.
    /// Sites with Turnstile on get an `Auth` error pointing to the token/cookie methods.
    pub async fn login_password(
        &self,
        site_url: &str,
        _kind: SiteKind,
        username: &str,
        password: &str,
    ) -> Result<LoginStep, RelayError> {
        let base = base_of(site_url);
        if let Ok(r) = self.inner.send(&Request::get(format!("{base}/api/status")), "/api/status").await
            && let Ok(v) = classify(r.status, &r.headers, &r.body, "/api/status")
            && v.pointer("/data/turnstile_check").and_then(Value::as_bool) == Some(true)
        {
            return Err(turnstile_error());
        }
        let (v, headers) = self
            .post(format!("{base}/api/user/login"), json!({"username": username, "password": password}), Vec::new())
            .await?;
        let data = envelope_data(&v, "/api/user/login")?;
        if data.get("require_2fa").and_then(Value::as_bool) == Some(true) {
            return Ok(LoginStep::Needs2fa(Pending2fa {
                site_url: base,
                cookie: cookies_of(&headers),
                flow_token: data.get("flow_token").and_then(Value::as_str).map(str::to_string),
            }));
        }
        finish_login(data, &headers).map(LoginStep::Done)
    }

    /// Completes a 2FA sign-in with a TOTP or backup code (`POST /api/user/login/2fa`).
    pub async fn login_2fa(&self, pending: &Pending2fa, code: &str) -> Result<LoginResult, RelayError> {
        let mut body = json!({"code": code.trim()});
        if let Some(ft) = &pending.flow_token {
            body["flow_token"] = json!(ft);
        }
        let headers = pending.cookie.iter().map(|c| ("Cookie".to_string(), c.clone())).collect();
        let (v, resp_headers) = self.post(format!("{}/api/user/login/2fa", pending.site_url), body, headers).await?;
        let data = envelope_data(&v, "/api/user/login/2fa")?;
        let mut r = finish_login(data, &resp_headers)?;
        // Classic: the session cookie may be the one set by the first step.
        if r.credentials.cookie.is_none() && r.credentials.access_token.is_none() {
            r.credentials.cookie = pending.cookie.clone();
        }
        Ok(r)
    }

    /// Creates a new system access token with `GET /api/user/token`. This REPLACES the
    /// user's previous token and is rate-limited: call it only when the user asks.
    pub async fn mint_access_token(&self, account: &AccountRef, creds: &Credentials) -> Result<String, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        let d = ctx.get_data("/api/user/token").await?;
        d.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| RelayError::malformed("/api/user/token: `data` is not a token string"))
    }
}

fn finish_login(data: &Value, headers: &HeaderMap) -> Result<LoginResult, RelayError> {
    let cookie = cookies_of(headers);
    // Current new-api: an AuthBundle with a short-lived JWT and the user inside.
    if let Some(jwt) = data.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        let user = data.get("user").cloned().unwrap_or(Value::Null);
        let refresh = cookie
            .as_deref()
            .and_then(|c| c.split("; ").find_map(|p| p.strip_prefix("new_api_refresh=")).map(str::to_string));
        return Ok(LoginResult {
            user_id: parse::string(user.get("id")),
            username: parse::string(user.get("username")),
            auth: AuthMethod::AccessToken,
            credentials: Credentials {
                access_token: Some(jwt.to_string()),
                refresh_token: refresh,
                ..Default::default()
            },
        });
    }
    let user_id = parse::string(data.get("id"));
    if user_id.is_empty() {
        return Err(RelayError::malformed("/api/user/login: no user id in the reply"));
    }
    Ok(LoginResult {
        user_id,
        username: parse::string(data.get("username")),
        auth: AuthMethod::Cookie,
        credentials: Credentials { cookie, ..Default::default() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_headers_become_one_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, "session=abc; Path=/; HttpOnly".parse().unwrap());
        h.append(SET_COOKIE, "new_api_refresh=r1; Path=/api/user/auth".parse().unwrap());
        h.append(SET_COOKIE, "gone=; Max-Age=0".parse().unwrap());
        assert_eq!(cookies_of(&h).as_deref(), Some("session=abc; new_api_refresh=r1"));
        assert!(is_turnstile_message("Turnstile token 为空"));
    }
}
