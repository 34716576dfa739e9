//! API key ("token") management for the One API family: list, create, edit,
//! enable/disable, delete, and revealing masked new-api keys (≥ 2026-03).
//!
//! One request body serves every kind: the servers decode JSON into their own token
//! struct and ignore fields they lack (one-api reads `models`/`subnet`, new-api and
//! Veloera `model_limits`/`allow_ips`, one-hub `setting`). Create replies differ
//! (servers.md §7.5): one-api returns the token, done-hub `{id, key}`, the rest
//! nothing — then the list is read again to find the new key.
//!
//! Both reveal endpoints are critical-rate-limited on the server (20 per 20 min per IP):
//! reveal once, store the result, never per refresh.

use reqwest::Method;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::error::envelope_data;
use super::lists::fetch_all;
use super::profile::Protocol;
use super::{AccountRef, RelayClient, RelayError, parse};
use crate::domain::snapshot::ApiKey;
use crate::domain::{AuthMethod, Credentials};

/// Most ids per `POST /api/token/batch/keys`.
pub const REVEAL_BATCH_MAX: usize = 100;

/// Longest key name the servers accept (one-api: 30; new-api: 50).
pub const KEY_NAME_MAX_CHARS: usize = 30;

/// What a key should look like (create or edit).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeySpec {
    /// Name (≤ [`KEY_NAME_MAX_CHARS`]).
    pub name: String,
    /// Quota the key may spend (quota units); ignored when `unlimited_quota`.
    pub remain_quota: i64,
    /// No quota limit.
    pub unlimited_quota: bool,
    /// Expiry, unix seconds; -1 never.
    pub expired_time: i64,
    /// Allowed models; empty = no limit.
    pub models: Vec<String>,
    /// Allowed client IPs / subnets; empty = any.
    pub allow_ips: Vec<String>,
    /// Group ("" = the user's group).
    pub group: String,
}

impl KeySpec {
    /// A spec from an existing key (to edit it).
    pub fn of(key: &ApiKey) -> KeySpec {
        KeySpec {
            name: key.name.clone(),
            // Key edits exist on quota sites only (the One API protocol).
            remain_quota: key.remain.quota().unwrap_or(0),
            unlimited_quota: key.unlimited_quota,
            expired_time: key.expired_time,
            models: split_list(&key.models),
            allow_ips: Vec::new(),
            group: key.group.clone(),
        }
    }

    /// Checks what the servers would refuse anyway, with a clear line.
    pub fn validate(&self) -> Result<(), RelayError> {
        let n = self.name.trim().chars().count();
        if n == 0 || n > KEY_NAME_MAX_CHARS {
            return Err(RelayError::Server {
                message: format!("key name must be 1 to {KEY_NAME_MAX_CHARS} characters"),
            });
        }
        if !self.unlimited_quota && self.remain_quota < 0 {
            return Err(RelayError::Server { message: "quota must not be negative".into() });
        }
        Ok(())
    }

    /// The JSON body for `POST`/`PUT /api/token/` (union of every kind's fields).
    pub fn body(&self, id: Option<i64>) -> Value {
        let models = self.models.join(",");
        let ips = self.allow_ips.join("\n");
        let nullable = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        let mut b = json!({
            "name": self.name.trim(),
            "remain_quota": if self.unlimited_quota { 0 } else { self.remain_quota },
            "unlimited_quota": self.unlimited_quota,
            "expired_time": self.expired_time,
            "model_limits_enabled": !self.models.is_empty(),
            "model_limits": models,
            "allow_ips": ips,
            "group": self.group.trim(),
            // one-api
            "models": nullable(&models),
            "subnet": nullable(&self.allow_ips.join(",")),
            // one-hub / done-hub
            "setting": {"limits": {
                "limit_model_setting": {"enabled": !self.models.is_empty(), "models": self.models},
                "limits_ip_setting": {"enabled": !self.allow_ips.is_empty(), "whitelist": self.allow_ips},
            }},
        });
        if let (Some(id), Some(o)) = (id, b.as_object_mut()) {
            o.insert("id".into(), json!(id));
        }
        b
    }
}

/// The key as the server holds it, with the spec's fields laid over it. The `key`
/// itself is dropped (a masked value must never be written back).
fn overlay(mut current: Value, spec: &KeySpec, id: i64) -> Value {
    let ips_given = !spec.allow_ips.is_empty();
    let one_hub = current.get("setting").is_some_and(Value::is_object);
    let body = spec.body(Some(id));
    if let (Some(cur), Some(new)) = (current.as_object_mut(), body.as_object()) {
        cur.remove("key");
        for (k, v) in new {
            let skip = match k.as_str() {
                "allow_ips" | "subnet" => !ips_given,
                // one-hub keeps its own `setting` shape; others have none to keep.
                "setting" => one_hub && !ips_given && spec.models.is_empty(),
                _ => false,
            };
            if !skip {
                cur.insert(k.clone(), v.clone());
            }
        }
    }
    current
}

/// Splits a comma / newline list, trimming and dropping empties.
pub fn split_list(s: &str) -> Vec<String> {
    s.split([',', '\n', ';']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

fn ensure_manageable(ctx: &Ctx<'_>, account: &AccountRef) -> Result<(), RelayError> {
    if account.auth == AuthMethod::ApiKey || ctx.profile.protocol != Protocol::OneApi {
        return Err(RelayError::NotSupported {
            message: format!("managing keys is not supported for {} accounts signed in this way", account.kind),
        });
    }
    Ok(())
}

async fn list(ctx: &Ctx<'_>) -> Result<Vec<ApiKey>, RelayError> {
    let l = fetch_all(&ctx.profile.tokens, &[], |u| async move { ctx.get_data(&u).await }).await?;
    Ok(l.items.iter().filter_map(|k| parse::api_key(k, None)).collect())
}

impl RelayClient {
    /// Every key of the account (all pages).
    pub async fn list_keys(&self, account: &AccountRef, creds: &Credentials) -> Result<Vec<ApiKey>, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_manageable(&ctx, account)?;
        list(&ctx).await
    }

    /// Creates a key and returns it: from the reply when the server sends it, else by
    /// reading the list again (the newest key with this name). On new-api ≥ 2026-03 the
    /// listed key is masked; reveal it explicitly.
    pub async fn create_key(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        spec: &KeySpec,
    ) -> Result<ApiKey, RelayError> {
        spec.validate()?;
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_manageable(&ctx, account)?;
        let v = ctx.call(Method::POST, "/api/token/", Some(spec.body(None))).await?;
        let data = v.get("data").filter(|d| d.is_object());
        if let Some(d) = data {
            // one-api: the whole token; done-hub: {id, key}.
            if d.get("name").is_some()
                && let Some(k) = parse::api_key(d, None)
            {
                return Ok(k);
            }
            if let (Some(id), Some(key)) = (parse::int(d.get("id")), d.get("key").and_then(Value::as_str)) {
                let listed = list(&ctx).await.ok().and_then(|l| l.into_iter().find(|k| k.id == id));
                let mut k = listed.unwrap_or_else(|| ApiKey {
                    id,
                    name: spec.name.trim().to_string(),
                    status: 1,
                    remain: crate::domain::money::Amount::Quota(spec.remain_quota),
                    unlimited_quota: spec.unlimited_quota,
                    expired_time: spec.expired_time,
                    group: spec.group.clone(),
                    models: spec.models.join(","),
                    ..ApiKey::default()
                });
                k.key = parse::with_sk(key);
                k.masked = parse::is_masked(key);
                return Ok(k);
            }
        }
        let name = spec.name.trim();
        list(&ctx)
            .await?
            .into_iter()
            .filter(|k| k.name == name)
            .max_by_key(|k| k.id)
            .ok_or_else(|| RelayError::malformed("the site said the key was created, but it is not in the list"))
    }

    /// Edits a key: `PUT /api/token/` with every field. The servers copy every field
    /// of the body, so the key is read first (`GET /api/token/{id}`) and only what the
    /// spec sets is changed: fields this app does not show (backup group, heartbeat…)
    /// and an IP allow list left empty in the spec keep their values.
    pub async fn update_key(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        id: i64,
        spec: &KeySpec,
    ) -> Result<(), RelayError> {
        spec.validate()?;
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_manageable(&ctx, account)?;
        let current = match ctx.get_data(&format!("/api/token/{id}")).await {
            Ok(v) if v.is_object() => Some(v),
            Ok(_) | Err(RelayError::NotSupported { .. }) | Err(RelayError::Malformed { .. }) => None,
            Err(e) => return Err(e),
        };
        let body = match current {
            Some(cur) => overlay(cur, spec, id),
            None => spec.body(Some(id)),
        };
        ctx.call(Method::PUT, "/api/token/", Some(body)).await.map(|_| ())
    }

    /// Enables (status 1) or disables (status 2) a key: `PUT /api/token/?status_only=true`.
    pub async fn set_key_enabled(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        id: i64,
        enabled: bool,
    ) -> Result<(), RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_manageable(&ctx, account)?;
        let body = json!({"id": id, "status": if enabled { 1 } else { 2 }});
        ctx.call(Method::PUT, "/api/token/?status_only=true", Some(body)).await.map(|_| ())
    }

    /// Deletes a key: `DELETE /api/token/{id}`.
    pub async fn delete_key(&self, account: &AccountRef, creds: &Credentials, id: i64) -> Result<(), RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        ensure_manageable(&ctx, account)?;
        ctx.call(Method::DELETE, &format!("/api/token/{id}"), None).await.map(|_| ())
    }

    /// Full keys (with `sk-`) for these token ids: `POST /api/token/batch/keys` in chunks
    /// of 100, falling back to `POST /api/token/{id}/key` per id where the batch route is
    /// missing. Returns `(id, key)` pairs in the order of `ids`.
    pub async fn reveal_keys(
        &self,
        account: &AccountRef,
        creds: &Credentials,
        ids: &[i64],
    ) -> Result<Vec<(i64, String)>, RelayError> {
        let ctx = Ctx::new(&self.inner, account, creds)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(REVEAL_BATCH_MAX) {
            match ctx.call(Method::POST, "/api/token/batch/keys", Some(json!({"ids": chunk}))).await {
                Ok(v) => {
                    let data = envelope_data(&v, "/api/token/batch/keys")?;
                    let keys = data
                        .get("keys")
                        .and_then(Value::as_object)
                        .ok_or_else(|| RelayError::malformed("/api/token/batch/keys: `data.keys` missing"))?;
                    for id in chunk {
                        if let Some(k) = keys.get(&id.to_string()).and_then(Value::as_str) {
                            out.push((*id, parse::with_sk(k)));
                        }
                    }
                }
                Err(RelayError::NotSupported { .. }) => {
                    for id in chunk {
                        let d = ctx.call(Method::POST, &format!("/api/token/{id}/key"), None).await?;
                        let data = envelope_data(&d, "/api/token/:id/key")?;
                        let k = data
                            .get("key")
                            .and_then(Value::as_str)
                            .ok_or_else(|| RelayError::malformed("/api/token/:id/key: `data.key` missing"))?;
                        out.push((*id, parse::with_sk(k)));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_carries_every_kinds_fields() {
        let spec = KeySpec {
            name: " desk ".into(),
            remain_quota: 5_000_000,
            expired_time: -1,
            models: vec!["gpt-4o".into(), "claude".into()],
            allow_ips: vec!["10.0.0.1".into()],
            group: "vip".into(),
            ..KeySpec::default()
        };
        let b = spec.body(Some(7));
        assert_eq!(b["id"], 7);
        assert_eq!(b["name"], "desk");
        assert_eq!(b["model_limits"], "gpt-4o,claude");
        assert_eq!(b["model_limits_enabled"], true);
        assert_eq!(b["models"], "gpt-4o,claude");
        assert_eq!(b["allow_ips"], "10.0.0.1");
        assert_eq!(b["setting"]["limits"]["limits_ip_setting"]["whitelist"][0], "10.0.0.1");
        let open =
            KeySpec { name: "x".into(), unlimited_quota: true, remain_quota: 9, ..KeySpec::default() }.body(None);
        assert_eq!(open["models"], Value::Null);
        assert_eq!(open["remain_quota"], 0);
        assert!(open.get("id").is_none());
    }

    #[test]
    fn an_edit_keeps_what_the_form_does_not_show() {
        let cur =
            json!({"id": 5, "key": "abcd**********wxyz", "name": "old", "allow_ips": "1.2.3.4", "backup_group": "b"});
        let spec = KeySpec { name: "new".into(), expired_time: -1, ..KeySpec::default() };
        let b = overlay(cur, &spec, 5);
        assert_eq!(b["name"], "new");
        assert_eq!(b["allow_ips"], "1.2.3.4", "empty in the form: kept");
        assert_eq!(b["backup_group"], "b");
        assert!(b.get("key").is_none(), "a masked key is never written back");
        let with_ips = KeySpec { allow_ips: vec!["9.9.9.9".into()], ..spec };
        assert_eq!(overlay(json!({"allow_ips": "1.2.3.4"}), &with_ips, 5)["allow_ips"], "9.9.9.9");
    }

    #[test]
    fn validation_and_lists() {
        assert!(KeySpec { name: "".into(), ..KeySpec::default() }.validate().is_err());
        assert!(KeySpec { name: "x".repeat(31), ..KeySpec::default() }.validate().is_err());
        assert!(KeySpec { name: "ok".into(), remain_quota: -1, ..KeySpec::default() }.validate().is_err());
        assert!(KeySpec { name: "ok".into(), ..KeySpec::default() }.validate().is_ok());
        assert_eq!(split_list(" a, b\nc;; "), vec!["a", "b", "c"]);
    }
}
