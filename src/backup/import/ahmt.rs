//! API Hub Management Tools: `config.json` v2 (one account inline per site) and v3
//! (sites + accounts), and its `api-hub-storage-bundle` (files with sha256).
//! Values starting `encrypted:v1:` are sealed with that app's built-in key: the record
//! is imported and its credential reported as needing re-entry.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use serde_json::Value;

use super::{ImportPlan, ImportSource, ImportedAccount, SkippedRecord, looks_like_anyrouter, str_field, text_field};
use crate::backup::{BackupError, crypto};
use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

/// `format` of the portable bundle.
pub(super) const BUNDLE_FORMAT: &str = "api-hub-storage-bundle";
const ENCRYPTED_PREFIX: &str = "encrypted:v1:";

/// Maps the tool's `site_type` to a kind (lenient about case and separators).
fn map_site_type(t: &str) -> SiteKind {
    let norm: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    match norm.as_str() {
        "oneapi" => SiteKind::OneApi,
        "newapi" => SiteKind::NewApi,
        "veloera" => SiteKind::Veloera,
        "onehub" => SiteKind::OneHub,
        "donehub" => SiteKind::DoneHub,
        "voapi" => SiteKind::Voapi,
        "superapi" => SiteKind::SuperApi,
        "sub2api" => SiteKind::Sub2api,
        "anyrouter" => SiteKind::Anyrouter,
        _ => SiteKind::Unknown,
    }
}

/// A secret value: plaintext is used, `encrypted:v1:` is reported as unreadable.
enum Secret {
    Missing,
    Sealed,
    Plain(String),
}

fn secret(v: &Value, key: &str) -> Result<Secret, String> {
    Ok(match text_field(v, key)? {
        None => Secret::Missing,
        Some(s) if s.starts_with(ENCRYPTED_PREFIX) => Secret::Sealed,
        Some(s) => Secret::Plain(s),
    })
}

/// Verifies and opens a portable bundle, then parses its `config.json`.
pub(super) fn parse_bundle(doc: &Value) -> Result<ImportPlan, BackupError> {
    let version = doc.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version != 1 {
        return Err(BackupError::Import(format!("storage bundle version {version} is not supported")));
    }
    let files =
        doc.get("files").and_then(Value::as_array).ok_or_else(|| BackupError::Import("bundle has no files".into()))?;
    let mut seen = HashSet::new();
    let mut config = None;
    for f in files {
        let entry =
            str_field(f, "entryId").ok_or_else(|| BackupError::Import("a bundle file has no entryId".into()))?;
        if !seen.insert(entry.clone()) {
            return Err(BackupError::Import(format!("duplicate bundle entry \"{entry}\"")));
        }
        let content = f.get("content").and_then(Value::as_str).unwrap_or_default();
        let bytes = match f.get("encoding").and_then(Value::as_str).unwrap_or("utf8") {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|_| BackupError::Import(format!("bundle entry \"{entry}\" is not base64")))?,
            _ => content.as_bytes().to_vec(),
        };
        let want = str_field(f, "sha256").unwrap_or_default();
        if !crypto::sha256_hex(&bytes).eq_ignore_ascii_case(&want) {
            return Err(BackupError::Import(format!(
                "bundle entry \"{entry}\" does not match its sha256: file damaged"
            )));
        }
        if entry == "stable-config" {
            config = Some(bytes);
        }
    }
    let config = config.ok_or_else(|| BackupError::Import("bundle has no stable-config entry".into()))?;
    let cfg: Value = serde_json::from_slice(&config)
        .map_err(|e| BackupError::Import(format!("the bundle's config.json is not JSON ({e})")))?;
    if !cfg.get("sites").is_some_and(Value::is_array) {
        return Err(BackupError::Import("the bundle's config.json has no sites".into()));
    }
    parse_config(&cfg, true)
}

/// Parses a `config.json` (v2 or v3).
pub(super) fn parse_config(doc: &Value, bundled: bool) -> Result<ImportPlan, BackupError> {
    let version = str_field(doc, "version").unwrap_or_default();
    let sites = doc.get("sites").and_then(Value::as_array).ok_or_else(|| BackupError::Import("no sites".into()))?;
    let accounts = doc.get("accounts").and_then(Value::as_array);
    if !(version.is_empty() || version.starts_with('2') || version.starts_with('3')) {
        return Err(BackupError::Import(format!("Management Tools config version {version} is not supported")));
    }
    let groups: HashMap<String, String> = doc
        .get("siteGroups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter().filter_map(|x| Some((str_field(x, "id")?, str_field(x, "name").unwrap_or_default()))).collect()
        })
        .unwrap_or_default();
    let mut plan = ImportPlan {
        source: ImportSource::ManagementTools { version: version.clone(), bundled },
        accounts: vec![],
        skipped: vec![],
    };
    let mut by_site: HashMap<String, Vec<&Value>> = HashMap::new();
    for (i, a) in accounts.into_iter().flatten().enumerate() {
        match str_field(a, "site_id") {
            Some(s) => by_site.entry(s).or_default().push(a),
            None => plan.skipped.push(SkippedRecord {
                source_id: str_field(a, "id").unwrap_or_else(|| format!("account #{}", i + 1)),
                label: str_field(a, "account_name").unwrap_or_default(),
                reason: "account has no site_id".into(),
            }),
        }
    }
    let known_sites: HashSet<String> = sites.iter().filter_map(|s| str_field(s, "id")).collect();
    for (site_id, accs) in &by_site {
        if !known_sites.contains(site_id) {
            for a in accs {
                plan.skipped.push(SkippedRecord {
                    source_id: str_field(a, "id").unwrap_or_default(),
                    label: str_field(a, "account_name").unwrap_or_default(),
                    reason: format!("its site \"{site_id}\" is not in the file"),
                });
            }
        }
    }
    for (i, site) in sites.iter().enumerate() {
        let sid = str_field(site, "id").unwrap_or_else(|| format!("site #{}", i + 1));
        let name = str_field(site, "name").unwrap_or_default();
        let url = match text_field(site, "url") {
            Ok(Some(u)) => u,
            Ok(None) => {
                plan.skipped.push(SkippedRecord { source_id: sid, label: name, reason: "site has no url".into() });
                continue;
            }
            Err(reason) => {
                plan.skipped.push(SkippedRecord { source_id: sid, label: name, reason });
                continue;
            }
        };
        let mut kind = str_field(site, "site_type").map(|t| map_site_type(&t)).unwrap_or(SiteKind::Unknown);
        if looks_like_anyrouter(&name, &url) {
            kind = SiteKind::Anyrouter;
        }
        let group_id = str_field(site, "group").unwrap_or_default();
        let unavailable = group_id == "unavailable";
        let group = match group_id.as_str() {
            "" | "default" => String::new(),
            g => groups.get(g).cloned().filter(|n| !n.is_empty()).unwrap_or_else(|| g.to_string()),
        };
        let disabled = unavailable || site.get("enabled").and_then(Value::as_bool) == Some(false);
        // v2 (and old v3 sites without accounts): the site itself is the account.
        let records: Vec<&Value> = match by_site.get(&sid) {
            Some(a) if !a.is_empty() => a.clone(),
            _ if accounts.is_none()
                || str_field(site, "access_token").is_some()
                || str_field(site, "user_id").is_some() =>
            {
                vec![site]
            }
            _ => {
                plan.skipped.push(SkippedRecord { source_id: sid, label: name, reason: "site has no accounts".into() });
                continue;
            }
        };
        for (n, rec) in records.iter().enumerate() {
            let mut creds = Credentials::default();
            let mut sealed = Vec::new();
            let read = || -> Result<(Secret, Secret), String> {
                let token = match secret(rec, "access_token")? {
                    Secret::Missing => match rec.get("account_info") {
                        Some(i) => secret(i, "access_token").map_err(|e| format!("account_info.{e}"))?,
                        None => Secret::Missing,
                    },
                    s => s,
                };
                // Up to 3.0.5 the key may sit on the site: the first account takes it.
                let key = match secret(rec, "api_key")? {
                    Secret::Missing if n == 0 && !std::ptr::eq(*rec, site) => secret(site, "api_key")?,
                    s => s,
                };
                Ok((token, key))
            };
            let (token, key) = match read() {
                Ok(v) => v,
                Err(reason) => {
                    plan.skipped.push(SkippedRecord {
                        source_id: str_field(rec, "id").unwrap_or_else(|| sid.clone()),
                        label: name.clone(),
                        reason,
                    });
                    continue;
                }
            };
            match token {
                Secret::Plain(t) => creds.access_token = Some(t),
                Secret::Sealed => sealed.push("access token"),
                Secret::Missing => {}
            }
            match key {
                Secret::Plain(k) => creds.api_key = Some(k),
                Secret::Sealed => sealed.push("API key"),
                Secret::Missing => {}
            }
            let auth = if creds.access_token.is_none() && creds.api_key.is_some() && sealed.is_empty() {
                AuthMethod::ApiKey
            } else {
                AuthMethod::AccessToken
            };
            let needs_credentials = creds.access_token.is_none() && auth == AuthMethod::AccessToken;
            let mut warnings = Vec::new();
            if !sealed.is_empty() {
                warnings.push(format!("{} encrypted by Management Tools: enter it again", sealed.join(" and ")));
            }
            if unavailable {
                warnings.push("site was in the \"unavailable\" group: imported disabled".into());
            }
            let account_name = if std::ptr::eq(*rec, site) { None } else { str_field(rec, "account_name") };
            plan.accounts.push(ImportedAccount {
                account: NewAccount {
                    site_url: url.clone(),
                    site_name: name.clone(),
                    kind,
                    user_id: str_field(rec, "user_id").unwrap_or_default(),
                    username: str_field(rec, "username").unwrap_or_default(),
                    auth,
                    credentials: creds,
                },
                group: group.clone(),
                notes: account_name.unwrap_or_default(),
                paid_per_usd: None,
                disabled,
                needs_credentials,
                kind_variant: None,
                warnings,
                source_id: str_field(rec, "id").unwrap_or_else(|| sid.clone()),
            });
        }
    }
    if doc.get("settings").and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
        plan.skipped.push(SkippedRecord {
            source_id: "settings".into(),
            label: "Management Tools settings".into(),
            reason: "app settings (including its WebDAV login) are not imported".into(),
        });
    }
    Ok(plan)
}
