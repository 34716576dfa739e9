//! Channel import: a key becomes a channel on a self-hosted New API / one-api / done-hub the
//! user administers (one of our accounts with admin rights, or a URL + admin token).
//!
//! The channel is named `<site> · <key name> (apihub <fp>)`, `<fp>` being the first 8 hex
//! digits of the key's SHA-256: channel lists never return keys on new-api, so the name
//! carries the key's identity and "same name" means "same name and key". A second run
//! finds the channel by that name (and, where the server does return keys, by the key too)
//! and updates it instead of adding another. Defaults follow All API Hub: type 1
//! (OpenAI-compatible), group `default`, priority 0, weight 0, enabled.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ExportError, Source};
use crate::domain::{AccountId, Credentials};
use crate::relay::{AccountRef, RelayClient};
use crate::store::Store;

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOptions {
    /// Groups that may use the channel (comma list), default `default`.
    pub group: String,
    /// Channel type (1 OpenAI-compatible).
    pub channel_type: i64,
    /// Models when the source knows none.
    pub fallback_model: Option<String>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions { group: "default".into(), channel_type: 1, fallback_model: None }
    }
}

/// What the import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelOutcome {
    /// A new channel.
    Created {
        /// Its name.
        name: String,
    },
    /// An existing channel updated.
    Updated {
        /// Its id.
        id: i64,
        /// Its name.
        name: String,
    },
}

/// One of our accounts as the admin of its relay: where to send, its credentials, and a
/// warning when its last refresh says it is no admin (role below 10).
pub fn admin_from_store(
    store: &Store,
    id: AccountId,
) -> Result<(AccountRef, Credentials, Option<String>), ExportError> {
    let acc = store.account(id).map_err(|_| ExportError::Invalid(format!("admin account: no account with id {id}")))?;
    let creds = store.credentials(id).map_err(|e| ExportError::Invalid(format!("admin account {id}: {e}")))?;
    let role = store.account_state(id).ok().and_then(|s| s.snapshot).and_then(|s| s.user.value).map(|u| u.role);
    let warning = role
        .filter(|r| *r < 10)
        .map(|r| format!("account {id} is not an admin on {} (role {r}); the site will likely refuse", acc.site.url));
    let admin = AccountRef {
        site_url: acc.site.url.clone(),
        kind: acc.site.kind,
        user_id: acc.user_id.clone(),
        auth: acc.auth,
    };
    Ok((admin, creds, warning))
}

/// The channel name for a source.
pub fn channel_name(source: &Source) -> String {
    let fp = format!("{:x}", Sha256::digest(source.key.as_bytes()));
    format!("{} (apihub {})", source.label, &fp[..8])
}

/// The channel fields sent on create and update.
pub fn channel_body(source: &Source, opts: &ChannelOptions) -> Result<Value, ExportError> {
    let mut models = source.models.clone();
    if models.is_empty() {
        models.extend(opts.fallback_model.clone());
    }
    if models.is_empty() {
        return Err(ExportError::Invalid(
            "no model list is known for this key: refresh the account, or pass --model".into(),
        ));
    }
    Ok(json!({
        "name": channel_name(source),
        "type": opts.channel_type,
        "key": source.key,
        "base_url": source.base_url,
        "models": models.join(","),
        "group": opts.group,
        "priority": 0,
        "weight": 0,
        "status": 1,
    }))
}

fn strip_sk(k: &str) -> &str {
    k.trim().strip_prefix("sk-").unwrap_or(k.trim())
}

/// Whether a listed channel is this source's: same name, and the same key where the
/// server shows one (masked or omitted keys cannot contradict).
fn is_ours(channel: &Value, name: &str, key: &str) -> bool {
    let same_name = channel.get("name").and_then(Value::as_str) == Some(name);
    let listed = channel.get("key").and_then(Value::as_str).map(str::trim).filter(|k| !k.is_empty());
    let same_key = match listed {
        Some(k) if !crate::relay::parse::is_masked(k) => strip_sk(k) == strip_sk(key),
        _ => true,
    };
    same_name && same_key
}

/// Creates the channel, or updates the one a previous run created. `dry_run`: only looks.
pub async fn import(
    relay: &RelayClient,
    admin: &AccountRef,
    creds: &Credentials,
    source: &Source,
    opts: &ChannelOptions,
    dry_run: bool,
) -> Result<ChannelOutcome, ExportError> {
    if crate::exports::root_url(&admin.site_url) == source.base_url {
        return Err(ExportError::Invalid(format!(
            "{}: a key of this site cannot become a channel of the same site (requests would loop)",
            admin.site_url
        )));
    }
    let body = channel_body(source, opts)?;
    let name = channel_name(source);
    let remote = |e: crate::relay::RelayError| ExportError::Remote(format!("{}: {e}", admin.site_url));
    let found = relay.search_channels(admin, creds, &name).await.map_err(remote)?;
    let existing = found.iter().find(|c| is_ours(c, &name, &source.key));
    match existing {
        Some(c) => {
            let id = c
                .get("id")
                .and_then(Value::as_i64)
                .ok_or_else(|| ExportError::Remote(format!("{}: a listed channel has no id", admin.site_url)))?;
            if !dry_run {
                let mut fields = body;
                if let Some(o) = fields.as_object_mut() {
                    // new-api refuses `status` in an update; a disabled channel stays disabled.
                    o.remove("status");
                    o.insert("id".into(), json!(id));
                }
                relay.update_channel(admin, creds, fields).await.map_err(remote)?;
                log::info!("channel {id} updated on {}", admin.site_url);
            }
            Ok(ChannelOutcome::Updated { id, name })
        }
        None => {
            if !dry_run {
                relay.create_channel(admin, creds, body).await.map_err(remote)?;
                log::info!("channel created on {}", admin.site_url);
            }
            Ok(ChannelOutcome::Created { name })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::Protocol;

    #[test]
    fn listed_channels_match_on_name_and_any_shown_key() {
        let s = Source::new("r", "https://r.example", "sk-abcdef123456", Protocol::OpenAi);
        let n = channel_name(&s);
        assert!(n.starts_with("r (apihub ") && n.len() == "r (apihub 12345678)".len(), "{n}");
        assert!(is_ours(&json!({"id": 1, "name": n}), &n, &s.key), "keys hidden: the name decides");
        assert!(is_ours(&json!({"id": 1, "name": n, "key": "abcdef123456"}), &n, &s.key));
        assert!(!is_ours(&json!({"id": 1, "name": n, "key": "sk-other"}), &n, &s.key));
        assert!(is_ours(&json!({"id": 1, "name": n, "key": "abcd****3456"}), &n, &s.key));
        assert!(!is_ours(&json!({"id": 1, "name": "x"}), &n, &s.key));
    }
}
