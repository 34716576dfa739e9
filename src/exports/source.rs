//! An account's key as a [`Source`]: the key chosen (or the first enabled one that may
//! use the model; masked keys revealed once through the site), the site root, the `sk-`
//! rule of the site's kind, and the model check run before anything is written.

use super::{ExportError, Protocol, Source, root_url};
use crate::domain::snapshot::{AccountState, ApiKey};
use crate::domain::{Account, AccountId, SiteKind};
use crate::engine::try_model::{KeyChoice, ResolvedKey, key_allows, resolve_key};
use crate::relay::RelayClient;
use crate::relay::keys::split_list;
use crate::store::SharedStore;

/// A resolved account source and the warnings of the model check.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The source.
    pub source: Source,
    /// The account.
    pub account: Account,
    /// Why the key may not work with the chosen model (empty: no doubt known).
    pub warnings: Vec<String>,
}

/// The key as a client must send it: the One API family stores keys without `sk-` and
/// strips an optional one, so `sk-` is added; sub2api and VoAPI v2 keys are used as issued.
pub fn export_key(kind: SiteKind, key: &str) -> String {
    match kind {
        SiteKind::Sub2api | SiteKind::VoapiV2 => key.trim().to_string(),
        _ => crate::relay::parse::with_sk(key),
    }
}

/// The protocol a key is used with when none is asked for: Anthropic Messages for Claude
/// models on kinds that serve `/v1/messages`, otherwise OpenAI-compatible.
pub fn default_protocol(kind: SiteKind, model: Option<&str>) -> Protocol {
    let claude = model.is_some_and(|m| m.to_ascii_lowercase().starts_with("claude"));
    let messages = matches!(
        kind,
        SiteKind::NewApi
            | SiteKind::Veloera
            | SiteKind::SuperApi
            | SiteKind::Anyrouter
            | SiteKind::Sub2api
            | SiteKind::Unknown
    );
    if claude && messages { Protocol::Anthropic } else { Protocol::OpenAi }
}

fn status_word(status: i64) -> &'static str {
    match status {
        2 => "disabled",
        3 => "expired",
        4 => "exhausted",
        _ => "not enabled",
    }
}

/// Why `key` (None: the account's own key) may not be able to use `model` on this
/// account (its site named `site_name`): disabled, the key's model limit, the site's model list, the model's groups.
pub fn model_warnings(site_name: &str, state: &AccountState, key: Option<&ApiKey>, model: &str) -> Vec<String> {
    let mut out = Vec::new();
    let snap = state.snapshot.as_ref();
    if let Some(k) = key {
        if k.status != 1 {
            out.push(format!("key {} is {}", k.name, status_word(k.status)));
        } else if !key_allows(k, model) {
            out.push(format!(
                "key {} is limited to {}; {model} is not one of them",
                k.name,
                split_list(&k.models).join(", ")
            ));
        }
    }
    let listed = snap.and_then(|s| s.models.value.as_ref()).filter(|m| !m.is_empty());
    if let Some(models) = listed
        && !models.iter().any(|m| m == model)
    {
        out.push(format!("{site_name} does not list {model} among its {} models", models.len()));
    }
    let pricing = snap.and_then(|s| s.pricing.value.as_ref());
    let offer = pricing.and_then(|p| p.models.iter().find(|o| o.model == model));
    if let Some(groups) = offer.and_then(|o| o.groups.as_ref()) {
        let user_group = snap.and_then(|s| s.user.value.as_ref()).map(|u| u.group.clone()).unwrap_or_default();
        let group = key.map(|k| k.group.clone()).filter(|g| !g.is_empty()).unwrap_or(user_group);
        if !group.is_empty() && group != "auto" && !groups.contains(&group) {
            out.push(format!("{model} is not enabled in group {group} (only in {})", groups.join(", ")));
        }
    }
    out
}

/// The local gateway as a source: `http://<addr>`, its local key, the models it routes;
/// `protocol` None: Anthropic Messages for Claude models (the gateway serves
/// `/v1/messages`), else OpenAI-compatible.
pub fn gateway_source(
    addr: std::net::SocketAddr,
    key: &str,
    models: Vec<String>,
    model: Option<&str>,
    protocol: Option<Protocol>,
) -> Source {
    let protocol = protocol.unwrap_or_else(|| default_protocol(SiteKind::NewApi, model));
    let mut s = Source::new("API Hub gateway", &format!("http://{addr}"), key, protocol);
    s.label = format!("API Hub gateway · {addr}");
    s.models = models;
    s.provider_id = "apihub-gateway".into();
    s
}

/// Builds the source for an account's key. `key_id`: a key's site id (None: the first
/// enabled key that may use the model, else the account's own key). `protocol`: None =
/// [`default_protocol`].
pub async fn account_source(
    relay: &RelayClient,
    store: &SharedStore,
    account_id: AccountId,
    key_id: Option<i64>,
    model: Option<&str>,
    protocol: Option<Protocol>,
) -> Result<Resolved, ExportError> {
    let (account, state) = store
        .run(move |s| Ok((s.account(account_id), s.account_state(account_id))))
        .await
        .map_err(|e| ExportError::Invalid(format!("account {account_id}: {e}")))?;
    let account = account.map_err(|e| match e {
        crate::store::StoreError::NotFound(_) => ExportError::Invalid(format!("no account with id {account_id}")),
        other => ExportError::Invalid(format!("account {account_id}: {other}")),
    })?;
    let state = state.map_err(|e| ExportError::Invalid(format!("account {account_id}: {e}")))?;
    let choice = key_id.map_or(KeyChoice::Auto, KeyChoice::Id);
    let ResolvedKey { name: key_name, key, meta } = resolve_key(relay, store, &account, choice, model)
        .await
        .map_err(|e| ExportError::Invalid(format!("account {account_id}: {e}")))?;
    let snap = state.snapshot.as_ref();
    let limited = meta.as_ref().map(|k| split_list(&k.models)).unwrap_or_default();
    let models =
        if limited.is_empty() { snap.and_then(|s| s.models.value.clone()).unwrap_or_default() } else { limited };
    let user_group = snap.and_then(|s| s.user.value.as_ref()).map(|u| u.group.clone()).unwrap_or_default();
    let group = meta.as_ref().map(|k| k.group.clone()).filter(|g| !g.is_empty()).unwrap_or(user_group);
    let name = if account.site.name.trim().is_empty() { account.site.url.clone() } else { account.site.name.clone() };
    let source = Source {
        label: format!("{name} · {key_name}"),
        name,
        base_url: root_url(&account.site.url),
        key: export_key(account.site.kind, &key),
        protocol: protocol.unwrap_or_else(|| default_protocol(account.site.kind, model)),
        models,
        group,
        provider_id: "apihub".into(),
    };
    let warnings = model.map(|m| model_warnings(&account.site.name, &state, meta.as_ref(), m)).unwrap_or_default();
    Ok(Resolved { source, account, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sk_prefix_follows_the_site_kind() {
        assert_eq!(export_key(SiteKind::OneApi, "abc"), "sk-abc");
        assert_eq!(export_key(SiteKind::NewApi, "sk-abc"), "sk-abc");
        assert_eq!(export_key(SiteKind::Sub2api, "abc"), "abc");
    }

    #[test]
    fn claude_models_use_messages_where_the_kind_serves_them() {
        assert_eq!(default_protocol(SiteKind::NewApi, Some("claude-sonnet-4-5")), Protocol::Anthropic);
        assert_eq!(default_protocol(SiteKind::OneApi, Some("claude-sonnet-4-5")), Protocol::OpenAi);
        assert_eq!(default_protocol(SiteKind::NewApi, Some("gpt-4o")), Protocol::OpenAi);
        assert_eq!(default_protocol(SiteKind::NewApi, None), Protocol::OpenAi);
    }
}
