//! Redeeming a code: `POST /api/user/topup {"key": code}` (servers.md §7.4).
//!
//! The reply's `data` is the quota added: an integer everywhere except Veloera
//! (`{quota, is_gift}`). new-api counts redeem as a *critical* call (20 per 20 min per
//! IP) and answers every failure with one generic line; nothing here retries.

use reqwest::Method;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::{AccountRef, RelayClient, RelayError, parse};
use crate::domain::Credentials;

/// What a redeemed code gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// Quota added.
    pub quota: i64,
    /// Veloera: whether the code was a gift code.
    pub is_gift: Option<bool>,
}

/// new-api's generic failure line, which hides the reason.
pub const NEW_API_GENERIC_FAILURE: &str = "兑换失败，请稍后重试";

/// Parses the `data` of a successful redeem reply.
pub fn parse_redeemed(data: Option<&Value>) -> Result<Redeemed, RelayError> {
    match data {
        Some(Value::Object(o)) => parse::int(o.get("quota"))
            .map(|quota| Redeemed { quota, is_gift: o.get("is_gift").and_then(Value::as_bool) })
            .ok_or_else(|| RelayError::malformed("/api/user/topup: `data.quota` missing")),
        other => parse::int(other)
            .map(|quota| Redeemed { quota, is_gift: None })
            .ok_or_else(|| RelayError::malformed("/api/user/topup: `data` is not a quota")),
    }
}

impl RelayClient {
    /// Redeems `code` for the account. Never retried: on new-api it is critical-limited.
    /// new-api's generic failure gets a hint that the code may be invalid, used or
    /// that the site is limiting requests.
    pub async fn redeem(&self, account: &AccountRef, creds: &Credentials, code: &str) -> Result<Redeemed, RelayError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(RelayError::Server { message: "no redemption code given".into() });
        }
        let ctx = Ctx::new(&self.inner, account, creds)?;
        if ctx.profile.protocol != super::profile::Protocol::OneApi {
            return Err(RelayError::NotSupported {
                message: format!("{} sites have no redeem endpoint", account.kind),
            });
        }
        match ctx.call(Method::POST, "/api/user/topup", Some(json!({"key": code}))).await {
            Ok(v) => parse_redeemed(v.get("data")),
            Err(RelayError::Server { message }) if message.contains(NEW_API_GENERIC_FAILURE) => {
                Err(RelayError::Server {
                    message: format!(
                        "{message} (the site does not say why: the code may be invalid or used, or it limits redeem attempts — wait before trying again)"
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_and_veloera_object() {
        assert_eq!(parse_redeemed(Some(&json!(500000))).unwrap(), Redeemed { quota: 500000, is_gift: None });
        assert_eq!(
            parse_redeemed(Some(&json!({"quota": 7, "is_gift": true}))).unwrap(),
            Redeemed { quota: 7, is_gift: Some(true) }
        );
        assert!(parse_redeemed(None).is_err());
        assert!(parse_redeemed(Some(&json!({"x": 1}))).is_err());
    }
}
