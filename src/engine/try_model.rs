//! "Try a model" for the window and the CLI: pick one of the account's keys (revealing a
//! masked one through the key reveal when it is the only choice), send the try, and store
//! the result as the model's "last verified" on that account.

use serde::Serialize;

use super::actions::{ActionError, KeyAction, run_key_action};
use crate::domain::pricing::LastVerified;
use crate::domain::snapshot::ApiKey;
use crate::domain::{Account, AccountId};
use crate::relay::try_model::{TryError, TryKind, TryOutcome, TryRequest};
use crate::relay::{RelayClient, RelayError};
use crate::store::SharedStore;

/// Which key to send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyChoice {
    /// The first enabled key that may use the model (full keys first), else the account's own key.
    #[default]
    Auto,
    /// This key (site id); revealed first when stored masked.
    Id(i64),
    /// The key a key-only account was added with.
    AccountKey,
}

/// The outcome of a try.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TryReport {
    /// Which account.
    pub account_id: AccountId,
    /// Which model.
    pub model: String,
    /// Chat or embeddings.
    pub kind: TryKind,
    /// The key's name ("account key" for key-only accounts).
    pub key_name: String,
    /// The key, masked for display.
    pub key_masked: String,
    /// What the site answered.
    pub result: Result<TryOutcome, TryError>,
    /// What was stored.
    pub verified: LastVerified,
}

fn no_key(message: &str) -> ActionError {
    ActionError::Relay(RelayError::Server { message: message.into() })
}

/// Whether a key may be used for `model`: enabled, and its model limit (if any) lists it.
pub fn key_allows(k: &ApiKey, model: &str) -> bool {
    let limited: Vec<&str> = k.models.split([',', '\n']).map(str::trim).filter(|m| !m.is_empty()).collect();
    k.status == 1 && (limited.is_empty() || limited.contains(&model))
}

/// The stored keys a try may pick from (enabled first, in the site's order).
pub fn usable_keys<'a>(keys: &'a [ApiKey], model: &str) -> Vec<&'a ApiKey> {
    keys.iter().filter(|k| key_allows(k, model)).collect()
}

async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ActionError> {
    Ok(store.run(f).await?)
}

/// A key chosen for an account: its name, the full key and, for a site key, what the
/// site says about it (group, model limit, status).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedKey {
    /// The key's name ("account key" for a key-only account's own key).
    pub name: String,
    /// The full key (revealed through the site when it was stored masked).
    pub key: String,
    /// The site's record of the key (None for the account's own key).
    pub meta: Option<ApiKey>,
}

/// Resolves a key for `model` (None: any enabled key), revealing a masked one once.
pub async fn resolve_key(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    choice: KeyChoice,
    model: Option<&str>,
) -> Result<ResolvedKey, ActionError> {
    let id = account.id;
    let (creds, state) = blocking(store, move |s| Ok((s.credentials(id)?, s.account_state(id)?))).await?;
    let keys: Vec<ApiKey> = state.snapshot.and_then(|s| s.keys.value).unwrap_or_default();
    let own = creds.api_key.filter(|k| !k.trim().is_empty());
    let own_key = |k: String| ResolvedKey { name: "account key".into(), key: k, meta: None };
    let chosen = match choice {
        KeyChoice::AccountKey => {
            return own.map(own_key).ok_or_else(|| no_key("this account has no key of its own"));
        }
        KeyChoice::Id(kid) => keys
            .iter()
            .find(|k| k.id == kid)
            .cloned()
            .ok_or_else(|| no_key(&format!("no key #{kid} on this account")))?,
        KeyChoice::Auto => {
            let usable: Vec<&ApiKey> = match model {
                Some(m) => usable_keys(&keys, m),
                None => keys.iter().filter(|k| k.status == 1).collect(),
            };
            if let Some(k) = usable.iter().find(|k| !k.masked) {
                (*k).clone()
            } else if let Some(k) = own {
                return Ok(own_key(k));
            } else if let Some(k) = usable.first() {
                (*k).clone()
            } else {
                return Err(no_key("this account has no enabled API key for this model: create one first"));
            }
        }
    };
    if !chosen.masked {
        return Ok(ResolvedKey { name: chosen.name.clone(), key: chosen.key.clone(), meta: Some(chosen) });
    }
    // Stored masked (new-api ≥ 2026-03): reveal it once (the reveal stores it for next time).
    let done = run_key_action(relay, store, account, KeyAction::Reveal { id: chosen.id }).await?;
    let key = done.full_key.ok_or_else(|| no_key("the site did not reveal the key"))?;
    Ok(ResolvedKey { name: chosen.name.clone(), key, meta: Some(chosen) })
}

/// Tries `req.model` on `account` with the chosen key and stores the result.
/// `Err` only when no request could be sent (no key, reveal refused, store failure);
/// an answer from the site, good or bad, is a report.
pub async fn try_model(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    key: KeyChoice,
    req: TryRequest,
) -> Result<TryReport, ActionError> {
    try_model_live(relay, store, account, key, req, &|_| {}).await
}

/// [`try_model`], calling `on_text` with the streamed reply so far as it arrives.
pub async fn try_model_live(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    key: KeyChoice,
    req: TryRequest,
    on_text: &(dyn Fn(&str) + Send + Sync),
) -> Result<TryReport, ActionError> {
    let ResolvedKey { name: key_name, key: full, .. } =
        resolve_key(relay, store, account, key, Some(&req.model)).await?;
    let result = relay.try_model_live(&account.site.url, &full, &req, on_text).await;
    match &result {
        Ok(o) => log::info!("tried {} on {}: ok in {} ms", req.model, account.site.url, o.total_ms),
        Err(e) => log::warn!("tried {} on {}: {e}", req.model, account.site.url),
    }
    let verified = LastVerified {
        account_id: account.id,
        model: req.model.clone(),
        ok: result.is_ok(),
        error_kind: result.as_ref().err().map(|e| e.kind.as_str().to_string()),
        message: match &result {
            Ok(o) => match o.dimensions {
                Some(d) => format!("{d} dimensions"),
                None => o.reply.chars().take(200).collect(),
            },
            Err(e) => e.message.clone(),
        },
        ttft_ms: result.as_ref().ok().and_then(|o| o.ttft_ms),
        total_ms: result.as_ref().ok().map(|o| o.total_ms),
        at: crate::domain::time::now_unix(),
    };
    let saved = verified.clone();
    blocking(store, move |s| s.save_trial(&saved)).await?;
    Ok(TryReport {
        account_id: account.id,
        model: req.model.clone(),
        kind: req.kind,
        key_name,
        key_masked: crate::logging::mask_secret(&full),
        result,
        verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: i64, status: i64, models: &str) -> ApiKey {
        ApiKey { id, status, models: models.into(), ..ApiKey::default() }
    }

    #[test]
    fn only_enabled_keys_allowed_the_model_are_picked() {
        let keys = [key(1, 2, ""), key(2, 1, "claude-3-opus, gpt-4o"), key(3, 1, ""), key(4, 1, "gpt-4o\nx")];
        let ids = |m: &str| usable_keys(&keys, m).iter().map(|k| k.id).collect::<Vec<_>>();
        assert_eq!(ids("gpt-4o"), [2, 3, 4], "disabled key 1 skipped; limits listing the model kept");
        assert_eq!(ids("deepseek-chat"), [3], "limited keys without the model skipped");
    }
}
