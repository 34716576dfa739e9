//! All API Hub backups (`version` missing/1.0, 2.0, 3.0, 4.0) and its encrypted
//! WebDAV envelope (PBKDF2-HMAC-SHA256 → AES-256-GCM, WebCrypto layout).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

use super::{ImportPlan, ImportSource, ImportedAccount, SkippedRecord, looks_like_anyrouter, str_field, text_field};
use crate::backup::{BackupError, crypto};
use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

/// `type` of the encrypted WebDAV file.
pub(super) const ENVELOPE_TYPE: &str = "all-api-hub-webdav-backup-encrypted";

/// Decrypts the encrypted WebDAV envelope with the user's password; returns the backup JSON.
pub fn decrypt_envelope(doc: &Value, password: &str) -> Result<Vec<u8>, BackupError> {
    let field = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default();
    if !field("kdf").eq_ignore_ascii_case("PBKDF2") || !field("cipher").eq_ignore_ascii_case("AES-GCM") {
        return Err(BackupError::Import(format!("unsupported encryption {} / {}", field("kdf"), field("cipher"))));
    }
    let iterations = doc.get("iter").and_then(Value::as_u64).unwrap_or(0);
    if iterations == 0 || iterations > u64::from(crypto::MAX_ITERATIONS) {
        return Err(BackupError::Import(format!("implausible iteration count {iterations}")));
    }
    let b64 = |k: &str| B64.decode(field(k)).map_err(|_| BackupError::Import(format!("\"{k}\" is not base64")));
    let (salt, iv, ct) = (b64("salt")?, b64("iv")?, b64("ct")?);
    let key = crypto::derive_key(password, &salt, iterations as u32);
    crypto::open(&key, &iv, &ct, &[]).ok_or(BackupError::WrongPassphrase)
}

/// Maps All API Hub's `site_type` (exact casing first, then case-insensitive) to a kind.
/// Returns the kind, the variant string to keep (new-api forks), and whether Desk
/// cannot manage it (imported disabled and flagged).
pub fn map_aah_site_type(site_type: &str) -> (SiteKind, Option<String>, bool) {
    const EXACT: &[(&str, SiteKind)] = &[
        ("one-api", SiteKind::OneApi),
        ("new-api", SiteKind::NewApi),
        ("Veloera", SiteKind::Veloera),
        ("one-hub", SiteKind::OneHub),
        ("done-hub", SiteKind::DoneHub),
        ("Super-API", SiteKind::SuperApi),
        ("sub2api", SiteKind::Sub2api),
        ("VoAPI", SiteKind::Voapi),
        ("anyrouter", SiteKind::Anyrouter),
    ];
    const VARIANTS: &[&str] = &["ModelFlare", "v-api", "Rix-Api", "neo-Api", "wong-gongyi"];
    const UNSUPPORTED: &[(&str, SiteKind)] = &[
        ("voapi-v2", SiteKind::VoapiV2),
        ("AIHubMix", SiteKind::Unknown),
        ("openrouter", SiteKind::Unknown),
        ("sharedchat", SiteKind::Unknown),
    ];
    let t = site_type.trim();
    for eq in [|a: &str, b: &str| a == b, |a: &str, b: &str| a.eq_ignore_ascii_case(b)] {
        if let Some((_, k)) = EXACT.iter().find(|(n, _)| eq(n, t)) {
            return (*k, None, false);
        }
        if let Some(v) = VARIANTS.iter().find(|n| eq(n, t)) {
            return (SiteKind::NewApi, Some((*v).to_string()), false);
        }
        if let Some((n, k)) = UNSUPPORTED.iter().find(|(n, _)| eq(n, t)) {
            return (*k, Some((*n).to_string()), true);
        }
    }
    (SiteKind::Unknown, None, false)
}

/// Where a backup keeps its accounts array, by version.
fn accounts_array<'a>(doc: &'a Value, version: &str) -> Option<&'a Vec<Value>> {
    let nested = doc.get("accounts").and_then(|a| a.get("accounts")).and_then(Value::as_array);
    if version == "1.0" {
        nested
            .or_else(|| doc.get("data").and_then(|d| d.get("accounts")).and_then(Value::as_array))
            .or_else(|| doc.get("accounts").and_then(Value::as_array))
    } else {
        nested
    }
}

fn tag_names(doc: &Value) -> HashMap<String, String> {
    let store = doc.get("tagStore").or_else(|| doc.get("data").and_then(|d| d.get("tagStore")));
    let mut out = HashMap::new();
    if let Some(map) = store.and_then(|s| s.get("tagsById")).and_then(Value::as_object) {
        for (id, t) in map {
            if let Some(name) = str_field(t, "name") {
                out.insert(id.clone(), name);
            }
        }
    }
    out
}

/// Parses a decrypted All API Hub backup.
pub(super) fn parse(doc: &Value) -> Result<ImportPlan, BackupError> {
    let version = match doc.get("version") {
        None | Some(Value::Null) => "1.0".to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => format!("{n}"),
        Some(other) => return Err(BackupError::Import(format!("unreadable version {other}"))),
    };
    let version = if version == "1" { "1.0".to_string() } else { version };
    if !["1.0", "2.0", "3.0", "4.0"].contains(&version.as_str()) {
        return Err(BackupError::Import(format!("All API Hub backup version {version} is not supported")));
    }
    if doc.get("type").and_then(Value::as_str) == Some("preferences") {
        return Err(BackupError::Import("this All API Hub file holds only preferences, no accounts".into()));
    }
    let accounts = accounts_array(doc, &version)
        .ok_or_else(|| BackupError::Import(format!("no accounts found in this All API Hub {version} backup")))?;
    let tags = tag_names(doc);
    let tombstones = doc.get("accounts").and_then(|a| a.get("deletedEntryRecords")).and_then(Value::as_object);
    let mut plan =
        ImportPlan { source: ImportSource::AllApiHub { version, encrypted: false }, accounts: vec![], skipped: vec![] };
    for (i, rec) in accounts.iter().enumerate() {
        let id = str_field(rec, "id").unwrap_or_else(|| format!("#{}", i + 1));
        let label = str_field(rec, "site_name").or_else(|| str_field(rec, "site_url")).unwrap_or_else(|| id.clone());
        let skip = |reason: String| SkippedRecord { source_id: id.clone(), label: label.clone(), reason };
        if let Some(t) = tombstones.and_then(|m| m.get(&id)) {
            let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
            let deleted = num(t, "deletedAt").into_iter().chain(num(t, "entryUpdatedAt")).fold(f64::MIN, f64::max);
            let edited = num(rec, "user_updated_at").or_else(|| num(rec, "updated_at")).unwrap_or(0.0);
            if edited <= deleted {
                plan.skipped.push(skip("deleted in All API Hub (tombstone)".into()));
                continue;
            }
        }
        match account(rec, &id, &tags) {
            Ok(a) => plan.accounts.push(a),
            Err(reason) => plan.skipped.push(skip(reason)),
        }
    }
    not_imported(doc, &mut plan.skipped);
    Ok(plan)
}

fn account(rec: &Value, id: &str, tags: &HashMap<String, String>) -> Result<ImportedAccount, String> {
    let url = text_field(rec, "site_url")?.ok_or("no site_url")?;
    let name = str_field(rec, "site_name").unwrap_or_default();
    let site_type = str_field(rec, "site_type").unwrap_or_else(|| "unknown".into());
    let (mut kind, kind_variant, unsupported) = map_aah_site_type(&site_type);
    if kind == SiteKind::Unknown && !unsupported && looks_like_anyrouter(&name, &url) {
        kind = SiteKind::Anyrouter;
    }
    let info = rec.get("account_info").cloned().unwrap_or(Value::Null);
    let user_id = str_field(&info, "id").unwrap_or_default();
    let username = str_field(&info, "username").unwrap_or_default();
    let mut creds = Credentials::default();
    let mut warnings = Vec::new();
    let auth_type = str_field(rec, "authType").unwrap_or_else(|| "access_token".into());
    let auth = match auth_type.as_str() {
        "cookie" => {
            creds.cookie = match rec.get("cookieAuth") {
                Some(c) => text_field(c, "sessionCookie").map_err(|e| format!("cookieAuth.{e}"))?,
                None => None,
            };
            AuthMethod::Cookie
        }
        _ => {
            creds.access_token = text_field(&info, "access_token").map_err(|e| format!("account_info.{e}"))?;
            AuthMethod::AccessToken
        }
    };
    let refresh = match rec.get("sub2apiAuth") {
        Some(s) => text_field(s, "refreshToken").map_err(|e| format!("sub2apiAuth.{e}"))?,
        None => None,
    };
    if let Some(rt) = refresh {
        creds.refresh_token = Some(rt);
        warnings.push("sub2api refresh token rotates on use: only one app can keep using it".into());
    }
    let needs_credentials = creds.access_token.is_none() && creds.cookie.is_none() && creds.refresh_token.is_none();
    if unsupported {
        warnings.push(format!("site type \"{site_type}\" is not supported yet: imported disabled"));
    }
    let tag_list: Vec<String> = rec
        .get("tagIds")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).filter_map(|t| tags.get(t).cloned()).collect())
        .filter(|v: &Vec<String>| !v.is_empty())
        .or_else(|| {
            rec.get("tags")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).map(String::from).collect())
        })
        .unwrap_or_default();
    let disabled = rec.get("disabled").and_then(Value::as_bool).unwrap_or(false) || unsupported;
    Ok(ImportedAccount {
        account: NewAccount { site_url: url, site_name: name, kind, user_id, username, auth, credentials: creds },
        group: tag_list.join(", "),
        notes: str_field(rec, "notes").unwrap_or_default(),
        paid_per_usd: rec.get("exchange_rate").and_then(Value::as_f64).filter(|r| r.is_finite() && *r > 0.0),
        disabled,
        needs_credentials,
        kind_variant,
        warnings,
        source_id: id.to_string(),
    })
}

/// Lists what the file holds besides accounts, which Desk does not import (yet).
fn not_imported(doc: &Value, skipped: &mut Vec<SkippedRecord>) {
    let acc = doc.get("accounts");
    for b in acc.and_then(|a| a.get("bookmarks")).and_then(Value::as_array).into_iter().flatten() {
        skipped.push(SkippedRecord {
            source_id: format!("bookmark {}", str_field(b, "id").unwrap_or_default()),
            label: str_field(b, "name").or_else(|| str_field(b, "url")).unwrap_or_default(),
            reason: "bookmarks are not imported".into(),
        });
    }
    let profiles = doc.get("apiCredentialProfiles").and_then(|p| p.get("profiles")).and_then(Value::as_array);
    for p in profiles.into_iter().flatten() {
        skipped.push(SkippedRecord {
            source_id: format!("profile {}", str_field(p, "id").unwrap_or_default()),
            label: str_field(p, "name").or_else(|| str_field(p, "baseUrl")).unwrap_or_default(),
            reason: "API key profiles are not imported yet".into(),
        });
    }
    let prefs = doc.get("preferences").or_else(|| doc.get("data").and_then(|d| d.get("preferences")));
    if prefs.and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
        skipped.push(SkippedRecord {
            source_id: "preferences".into(),
            label: "All API Hub preferences".into(),
            reason: "preferences are not imported (they hold passwords and bot tokens)".into(),
        });
    }
}
