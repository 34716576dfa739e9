//! Performing today's check-in (clients.md §6). Never part of a refresh: it mutates.

use reqwest::Method;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::profile::CheckinSource;
use super::{AccountRef, RelayClient, RelayError, parse};
use crate::domain::Credentials;
use crate::domain::money::Amount;

/// What a check-in attempt achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckinOutcome {
    /// Checked in now; the reward when the site says.
    Done {
        /// Reward: quota, or money on VoAPI v2 (its reply names no currency: USD here,
        /// the engine gives it the account's balance currency).
        reward: Option<Amount>,
    },
    /// Already checked in today (not a failure; never retried).
    AlreadyDone,
    /// The site wants a human (Turnstile, captcha): open the site.
    NeedsHuman {
        /// The site's message.
        message: String,
    },
}

fn is_already(m: &str) -> bool {
    m.contains("已签到") || m.contains("已经签到") || m.to_lowercase().contains("already")
}

fn needs_human(m: &str) -> bool {
    let l = m.to_lowercase();
    l.contains("turnstile")
        || l.contains("captcha")
        || l.contains("challenge")
        || m.contains("验证")
        || m.contains("人机")
}

/// Maps a refusal to an outcome: "already" and "needs human" are not errors.
fn refusal(e: RelayError) -> Result<CheckinOutcome, RelayError> {
    match &e {
        RelayError::Server { message } | RelayError::Auth { message, .. } if is_already(message) => {
            Ok(CheckinOutcome::AlreadyDone)
        }
        RelayError::Server { message } if needs_human(message) => {
            Ok(CheckinOutcome::NeedsHuman { message: message.clone() })
        }
        _ => Err(e),
    }
}

impl RelayClient {
    /// Checks the account in for today. `NotSupported` for kinds without check-in.
    /// A timed-out POST may have worked: read the status before retrying.
    pub async fn checkin(&self, account: &AccountRef, creds: &Credentials) -> Result<CheckinOutcome, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        let (path, body) = match ctx.profile.checkin {
            CheckinSource::NewApi => ("/api/user/checkin", json!({})),
            CheckinSource::Veloera => ("/api/user/check_in", json!({})),
            CheckinSource::PerformOnly => ("/api/user/sign_in", json!({})),
            CheckinSource::VoapiV2 => ("/api/check_in", json!({})),
            CheckinSource::None => {
                return Err(RelayError::NotSupported { message: format!("{} sites have no check-in", account.kind) });
            }
        };
        let mut ctx = ctx;
        if ctx.profile.checkin == CheckinSource::PerformOnly {
            ctx.headers.push(("X-Requested-With".into(), "XMLHttpRequest".into()));
        }
        let v = match ctx.call(Method::POST, path, Some(body)).await {
            Ok(v) => v,
            Err(e) => return refusal(e),
        };
        let message = v.get("message").or_else(|| v.get("msg")).and_then(Value::as_str).unwrap_or("").trim();
        // AnyRouter: an empty message means "already checked in".
        if ctx.profile.checkin == CheckinSource::PerformOnly && message.is_empty() {
            return Ok(CheckinOutcome::AlreadyDone);
        }
        let data = v.get("data").cloned().unwrap_or(Value::Null);
        let quota = parse::int(data.get("quota_awarded"))
            .or_else(|| parse::int(data.get("quota")))
            .or_else(|| parse::int(data.get("reward")));
        let reward = match (quota, ctx.profile.checkin) {
            (Some(q), _) => Some(Amount::Quota(q)),
            // VoAPI v2: money strings, `amount` plus `bonusAmount`.
            (None, CheckinSource::VoapiV2) => parse::float(data.get("amount"))
                .map(|a| Amount::money(a + parse::float(data.get("bonusAmount")).unwrap_or(0.0), "USD")),
            (None, _) => None,
        };
        Ok(CheckinOutcome::Done { reward })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals() {
        let r = refusal(RelayError::Server { message: "今日已签到".into() });
        assert_eq!(r, Ok(CheckinOutcome::AlreadyDone));
        assert_eq!(
            refusal(RelayError::Server { message: "你今天已经签到过了".into() }),
            Ok(CheckinOutcome::AlreadyDone)
        );
        assert!(matches!(
            refusal(RelayError::Server { message: "Turnstile token 为空".into() }),
            Ok(CheckinOutcome::NeedsHuman { .. })
        ));
        assert_eq!(refusal(RelayError::Server { message: "签到功能未启用".into() }).unwrap_err().kind(), "server");
    }
}
