//! This device's data as sync records, and the store write that makes it match a
//! merged document. Synced: sites (name, kind, User-Agent), accounts (every field the
//! user edits and the credentials), key notes, and the settings `Settings::is_synced` names (`SYNCED_SECTIONS`, `SYNCED_KEYS`). Not
//! synced: cached data (snapshots, usage logs, check-in state), a site's proxy and the
//! `network`, `backup`, `ui`, `update` and `sync` settings (they belong to a device).
//! Gateway aliases, pins and order name accounts by id: they travel with each account
//! as `[site key URL, identity]` and come back as this device's ids.

use serde_json::{Value, json};

use super::model::{ALIVE, RecordKey, Values};
use crate::domain::Credentials;
use crate::domain::account::site_key_url;
use crate::domain::gateway::{ACCOUNT_REF_KEYS, refs_of};
use crate::domain::settings::Settings;
use crate::store::{AccountRow, SiteRow, Store, StoreError, SyncCommit};

fn num_text(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |f| Value::String(f.to_string()))
}

fn text_num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_str).and_then(|s| s.parse().ok())
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The records of the store (credentials that cannot be read are `null`).
pub fn read_local(store: &Store) -> Result<Values, StoreError> {
    let snap = store.snapshot()?;
    let mut out = Values::new();
    for s in &snap.sites {
        out.insert(
            RecordKey::Site(site_key_url(&s.url)).text(),
            [("name", json!(s.name)), ("kind", json!(s.kind)), ("user_agent", json!(s.user_agent))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
    }
    for a in &snap.accounts {
        let credentials = match &a.credentials {
            Some(c) => serde_json::to_value(c).map_err(|e| StoreError::Secret(e.to_string()))?,
            None => Value::Null,
        };
        out.insert(
            RecordKey::Account(site_key_url(&a.site_url), a.identity.clone()).text(),
            [
                (ALIVE, json!(true)),
                ("name", json!(a.name)),
                ("user_id", json!(a.user_id)),
                ("username", json!(a.username)),
                ("auth", json!(a.auth)),
                ("group", json!(a.group_name)),
                ("notes", json!(a.notes)),
                ("paid_per_usd", num_text(a.paid_per_usd)),
                ("disabled", json!(a.disabled)),
                ("low_balance_threshold", num_text(a.low_balance_threshold)),
                ("refresh_interval_mins", json!(a.refresh_interval_mins)),
                ("sort_order", json!(a.sort_order)),
                ("credentials", credentials),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        );
    }
    for (url, identity, key_id, note) in store.all_key_notes()? {
        out.insert(
            RecordKey::Key(site_key_url(&url), identity, key_id).text(),
            [("note".to_string(), json!(note))].into_iter().collect(),
        );
    }
    let refs = store.account_refs()?;
    let name_of = |id: i64| refs.iter().find(|r| r.0 == id).map(|(_, u, i)| (site_key_url(u), i.clone()));
    for (key, value) in store.load_settings()?.settings.list() {
        if Settings::is_synced(&key) {
            let value = match ACCOUNT_REF_KEYS.contains(&key.as_str()) {
                true => refs_of(&key, &value, name_of).unwrap_or(Value::Null),
                false => json!(value),
            };
            out.insert(RecordKey::Setting(key).text(), [("value".to_string(), value)].into_iter().collect());
        }
    }
    Ok(out)
}

/// The default of each field of `local`'s records that has one (what a field nobody set
/// holds): settings their `Settings::default()` value, and for accounts, sites and key
/// notes the empty value of the optional fields.
pub fn defaults(local: &Values) -> Values {
    let settings: std::collections::BTreeMap<String, String> = Settings::default().list().into_iter().collect();
    let mut out = Values::new();
    for key in local.keys() {
        let fields: Vec<(&str, Value)> = match RecordKey::parse(key) {
            Some(RecordKey::Setting(k)) => {
                let text = settings.get(&k).cloned().unwrap_or_default();
                let v = match ACCOUNT_REF_KEYS.contains(&k.as_str()) {
                    true => refs_of(&k, &text, |_| None).unwrap_or(Value::Null),
                    false => json!(text),
                };
                vec![("value", v)]
            }
            Some(RecordKey::Account(..)) => vec![
                ("name", json!("")),
                ("group", json!("")),
                ("notes", json!("")),
                ("paid_per_usd", Value::Null),
                ("disabled", json!(false)),
                ("low_balance_threshold", Value::Null),
                ("refresh_interval_mins", Value::Null),
                ("sort_order", json!(0)),
            ],
            Some(RecordKey::Site(_)) => vec![("user_agent", json!(""))],
            Some(RecordKey::Key(..)) => vec![("note", json!(""))],
            None => Vec::new(),
        };
        out.insert(key.clone(), fields.into_iter().map(|(f, v)| (f.to_string(), v)).collect());
    }
    out
}

/// The store write that turns `local` (what [`read_local`] returned) into `target`.
pub fn commit_for(store: &Store, local: &Values, target: &Values) -> Result<SyncCommit, StoreError> {
    let mut c = SyncCommit::default();
    let now = crate::domain::time::now_unix();
    let mut settings = store.load_settings()?.settings;
    let before = settings.clone();
    let mut sites_needed = std::collections::BTreeSet::new();
    // Records name sites by their key URL; the store by the URL as typed here.
    let stored: std::collections::BTreeMap<String, String> =
        store.snapshot()?.sites.into_iter().map(|s| (site_key_url(&s.url), s.url)).collect();
    let here = |url: String| stored.get(&url).cloned().unwrap_or(url);
    for (key, values) in target {
        if local.get(key) == Some(values) {
            continue;
        }
        match RecordKey::parse(key) {
            Some(RecordKey::Site(url)) if local.contains_key(key) => {
                sites_needed.insert(url);
            }
            Some(RecordKey::Site(_)) | None => {}
            Some(RecordKey::Account(key_url, identity)) => {
                sites_needed.insert(key_url.clone());
                let url = here(key_url);
                let credentials = match values.get("credentials") {
                    Some(Value::Null) | None => None,
                    Some(v) => Some(
                        serde_json::from_value::<Credentials>(v.clone())
                            .map_err(|e| StoreError::Secret(format!("credentials in the sync document: {e}")))?,
                    ),
                };
                let order = values.get("sort_order").and_then(Value::as_i64).unwrap_or_default();
                c.sort_orders.push((url.clone(), identity.clone(), order));
                c.rows.accounts.push(AccountRow {
                    site_url: url,
                    identity,
                    user_id: text(values.get("user_id")),
                    username: text(values.get("username")),
                    auth: text(values.get("auth")),
                    group_name: text(values.get("group")),
                    paid_per_usd: text_num(values.get("paid_per_usd")),
                    disabled: values.get("disabled").and_then(Value::as_bool).unwrap_or_default(),
                    notes: text(values.get("notes")),
                    low_balance_threshold: text_num(values.get("low_balance_threshold")),
                    refresh_interval_mins: values
                        .get("refresh_interval_mins")
                        .and_then(Value::as_u64)
                        .and_then(|m| u32::try_from(m).ok()),
                    name: text(values.get("name")),
                    sort_order: order,
                    created_at_unix: now,
                    updated_at_unix: now,
                    credentials,
                });
            }
            Some(RecordKey::Key(url, identity, key_id)) => {
                c.key_notes.push((here(url), identity, key_id, text(values.get("note"))));
            }
            Some(RecordKey::Setting(k)) if ACCOUNT_REF_KEYS.contains(&k.as_str()) => {
                if let Some(v) = values.get("value").filter(|v| !v.is_null()) {
                    c.account_ref_settings.push((k, v.clone()));
                }
            }
            Some(RecordKey::Setting(k)) => {
                let v = text(values.get("value"));
                if let Err(e) = settings.set(&k, &v) {
                    log::warn!("sync: setting {k} not applied: {e}");
                }
            }
        }
    }
    for key_url in sites_needed {
        let key = RecordKey::Site(key_url.clone()).text();
        let url = here(key_url);
        let values = target.get(&key);
        if values.is_none() && local.contains_key(&key) {
            continue; // the stored site stays as it is
        }
        let site = SiteRow {
            name: values.map(|v| text(v.get("name"))).filter(|n| !n.is_empty()).unwrap_or_else(|| url.clone()),
            kind: values.map(|v| text(v.get("kind"))).filter(|k| !k.is_empty()).unwrap_or_else(|| "unknown".into()),
            user_agent: values.map(|v| text(v.get("user_agent"))).unwrap_or_default(),
            url,
            proxy: None,
        };
        c.rows.sites.push(site);
    }
    for key in local.keys().filter(|k| !target.contains_key(*k)) {
        if let Some(RecordKey::Account(url, identity)) = RecordKey::parse(key) {
            c.delete_accounts.push((here(url), identity));
        }
    }
    c.settings = settings.changed_rows(&before).into_iter().filter(|(k, _)| !Settings::is_secret(k)).collect();
    Ok(c)
}

/// A line naming a record for people: `alice on https://x.example`, `setting refresh.auto`.
pub fn label(key: &str, values: Option<&std::collections::BTreeMap<String, Value>>) -> String {
    match RecordKey::parse(key) {
        Some(RecordKey::Account(url, identity)) => {
            let get = |f: &str| values.and_then(|v| v.get(f)).and_then(Value::as_str).filter(|s| !s.is_empty());
            let who = get("name").or(get("username")).map(str::to_string).unwrap_or(identity);
            format!("{who} on {url}")
        }
        Some(RecordKey::Site(url)) => format!("site {url}"),
        Some(RecordKey::Setting(k)) => format!("setting {k}"),
        Some(RecordKey::Key(url, identity, id)) => format!("key {id} of {identity} on {url}"),
        None => key.replace(super::model::SEP, " "),
    }
}
