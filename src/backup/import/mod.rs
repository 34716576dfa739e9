//! Importers for the files our users have today: All API Hub backups (versions
//! missing/1.0, 2.0, 3.0, 4.0, and its encrypted WebDAV envelope) and API Hub
//! Management Tools `config.json` (v2, v3) and its `api-hub-storage-bundle`.
//!
//! Parsing produces an [`ImportPlan`] (touches nothing): the accounts to merge, which
//! need credentials re-entered, and every skipped record with its reason. Then
//! [`apply_import`] merges the plan into the store by site URL + user identity.

mod ahmt;
mod all_api_hub;

use std::collections::HashSet;

use serde_json::Value;

use super::BackupError;
use crate::domain::account::normalize_site_url;
use crate::domain::{Credentials, NewAccount};
use crate::store::{AccountRow, RestoreRows, SiteRow, Store};

pub use all_api_hub::{decrypt_envelope, map_aah_site_type};

/// Which tool and format a file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// All API Hub backup with its `version` (`1.0` for a missing one).
    AllApiHub {
        /// Backup version.
        version: String,
        /// It came inside the encrypted WebDAV envelope.
        encrypted: bool,
    },
    /// API Hub Management Tools config.json with its `version`.
    ManagementTools {
        /// Config version.
        version: String,
        /// It came inside an `api-hub-storage-bundle`.
        bundled: bool,
    },
}

impl std::fmt::Display for ImportSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportSource::AllApiHub { version, encrypted } => {
                write!(f, "All API Hub backup v{version}{}", if *encrypted { " (encrypted)" } else { "" })
            }
            ImportSource::ManagementTools { version, bundled } => write!(
                f,
                "API Hub Management Tools config v{version}{}",
                if *bundled { " (storage bundle)" } else { "" }
            ),
        }
    }
}

/// One account to import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAccount {
    /// The account as the store takes it.
    pub account: NewAccount,
    /// Group (tags / site group).
    pub group: String,
    /// Notes.
    pub notes: String,
    /// Money paid per 1 USD of quota (All API Hub's `exchange_rate`).
    pub paid_per_usd: Option<f64>,
    /// Imported disabled (disabled there, unavailable group, or unsupported kind).
    pub disabled: bool,
    /// The credentials are missing or unreadable: the user must enter them again.
    pub needs_credentials: bool,
    /// The other tool's site type when it is a variant we fold into a kind.
    pub kind_variant: Option<String>,
    /// Things the user should know about this record.
    pub warnings: Vec<String>,
    /// The record's id in the other tool.
    pub source_id: String,
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// The record's id (or index) in the file.
    pub source_id: String,
    /// A human label (site name or URL).
    pub label: String,
    /// Why it was skipped.
    pub reason: String,
}

/// What an import would do. Nothing is written until [`apply_import`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    /// Where the file came from.
    pub source: ImportSource,
    /// Accounts to merge.
    pub accounts: Vec<ImportedAccount>,
    /// Records left out, each with its reason.
    pub skipped: Vec<SkippedRecord>,
}

/// Counts for the preview dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPreview {
    /// Distinct sites.
    pub site_count: usize,
    /// Accounts.
    pub account_count: usize,
    /// Labels (`site · user`) of accounts whose credentials need re-entry.
    pub needs_credentials: Vec<String>,
    /// Number of skipped records.
    pub skipped_count: usize,
}

/// What [`apply_import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// New accounts.
    pub added: usize,
    /// Existing accounts updated.
    pub updated: usize,
    /// Accounts already stored exactly as the file has them (nothing written).
    pub unchanged: usize,
    /// Accounts that need credentials re-entered.
    pub needs_credentials: usize,
    /// Records skipped while parsing.
    pub skipped: Vec<SkippedRecord>,
    /// The copy of the store taken before writing (none when nothing was written).
    pub safety_backup: Option<crate::backup::local::LocalBackupInfo>,
}

impl ImportedAccount {
    /// `site name · username` for lists.
    pub fn label(&self) -> String {
        let who = if self.account.username.is_empty() { &self.account.user_id } else { &self.account.username };
        format!(
            "{} · {who}",
            if self.account.site_name.is_empty() { &self.account.site_url } else { &self.account.site_name }
        )
    }
}

impl ImportPlan {
    /// Counts for the preview.
    pub fn preview(&self) -> ImportPreview {
        let sites: HashSet<String> = self.accounts.iter().map(|a| normalize_site_url(&a.account.site_url)).collect();
        ImportPreview {
            site_count: sites.len(),
            account_count: self.accounts.len(),
            needs_credentials: self.accounts.iter().filter(|a| a.needs_credentials).map(|a| a.label()).collect(),
            skipped_count: self.skipped.len(),
        }
    }

    /// Runs every account through `domain::validate` (the rules `accounts add` and the
    /// add form use): a record that fails is skipped with the reason; the rest are kept
    /// normalised (URL without trailing `/`, values trimmed).
    fn validated(mut self) -> Self {
        let mut kept = Vec::new();
        for mut a in std::mem::take(&mut self.accounts) {
            match crate::domain::validate::new_account(&a.account) {
                Ok(checked) => {
                    a.account = checked;
                    kept.push(a);
                }
                Err(e) => self.skipped.push(SkippedRecord {
                    source_id: a.source_id.clone(),
                    label: a.label(),
                    reason: e.to_string(),
                }),
            }
        }
        self.accounts = kept;
        self
    }

    /// Drops later duplicates (same site origin + user identity), recording them.
    fn dedupe(mut self) -> Self {
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        for a in std::mem::take(&mut self.accounts) {
            let key = (
                normalize_site_url(&a.account.site_url).to_ascii_lowercase(),
                crate::store::account_identity(&a.account),
            );
            if seen.insert(key) {
                kept.push(a);
            } else {
                self.skipped.push(SkippedRecord {
                    source_id: a.source_id.clone(),
                    label: a.label(),
                    reason: "duplicate of an earlier record (same site and user)".into(),
                });
            }
        }
        self.accounts = kept;
        self
    }
}

/// Reads a file from another tool (sniffing its format). `password` opens an
/// encrypted All API Hub WebDAV backup.
pub fn parse_import(bytes: &[u8], password: Option<&str>) -> Result<ImportPlan, BackupError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            BackupError::Import("the file is truncated".into())
        } else {
            BackupError::Import(format!("not a JSON file ({e})"))
        }
    })?;
    let plan = parse_value(&doc, password)?;
    Ok(plan.validated().dedupe())
}

fn parse_value(doc: &Value, password: Option<&str>) -> Result<ImportPlan, BackupError> {
    let format = doc.get("format").and_then(Value::as_str);
    let kind = doc.get("type").and_then(Value::as_str);
    if kind == Some(all_api_hub::ENVELOPE_TYPE) {
        let password = password.filter(|p| !p.is_empty()).ok_or(BackupError::PassphraseRequired)?;
        let plain = decrypt_envelope(doc, password)?;
        let inner: Value = serde_json::from_slice(&plain)
            .map_err(|e| BackupError::Import(format!("the decrypted backup is not JSON ({e})")))?;
        let mut plan = all_api_hub::parse(&inner)?;
        if let ImportSource::AllApiHub { encrypted, .. } = &mut plan.source {
            *encrypted = true;
        }
        return Ok(plan);
    }
    if format == Some(ahmt::BUNDLE_FORMAT) {
        return ahmt::parse_bundle(doc);
    }
    if format == Some(crate::backup::bundle::FORMAT) {
        return Err(BackupError::Import("this is an API Hub Desk backup: use Restore instead".into()));
    }
    if doc.get("sites").is_some_and(Value::is_array) {
        return ahmt::parse_config(doc, false);
    }
    if doc.get("accounts").is_some() || doc.get("data").is_some() || doc.get("timestamp").is_some() {
        return all_api_hub::parse(doc);
    }
    Err(BackupError::Import("not a backup of All API Hub or API Hub Management Tools".into()))
}

/// The file All API Hub syncs to under a configured WebDAV URL: a URL ending in
/// `.json` is the file itself, else `<url>/all-api-hub-backup/all-api-hub-1-0.json`.
pub fn all_api_hub_webdav_file_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    if u.to_ascii_lowercase().ends_with(".json") {
        u.to_string()
    } else {
        format!("{u}/all-api-hub-backup/all-api-hub-1-0.json")
    }
}

/// Downloads All API Hub's WebDAV backup (HTTP Basic) for [`parse_import`].
pub async fn fetch_all_api_hub_webdav(url: &str, username: &str, password: &str) -> Result<Vec<u8>, BackupError> {
    let file = all_api_hub_webdav_file_url(url);
    let client = crate::tls::client_builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(super::webdav::net_error)?;
    let resp = client.get(&file).basic_auth(username, Some(password)).send().await.map_err(super::webdav::net_error)?;
    if !resp.status().is_success() {
        let path = url::Url::parse(&file).map(|u| u.path().to_string()).unwrap_or(file);
        return Err(super::webdav::status_error(resp.status(), "GET", &path));
    }
    Ok(resp.bytes().await.map_err(super::webdav::net_error)?.to_vec())
}

/// Merges a plan into the store in one transaction, after a safety backup: matched by
/// site URL + identity. Credentials the file lacks never erase stored ones, and empty
/// group / notes / paid ratio in the file keep the stored values.
pub fn apply_import(store: &mut Store, plan: &ImportPlan) -> Result<ImportReport, BackupError> {
    let snap = store.snapshot()?;
    let now = crate::domain::time::now_unix();
    let mut next_order = snap.accounts.iter().map(|a| a.sort_order).max().unwrap_or(0) + 1;
    let mut report = ImportReport {
        added: 0,
        updated: 0,
        unchanged: 0,
        needs_credentials: 0,
        skipped: plan.skipped.clone(),
        safety_backup: None,
    };
    let mut rows = RestoreRows::default();
    let mut site_urls = HashSet::new();
    for item in &plan.accounts {
        let acc = &item.account;
        let url = normalize_site_url(&acc.site_url);
        let identity = crate::store::account_identity(acc);
        let existing = snap.accounts.iter().find(|r| r.site_url == url && r.identity == identity);
        let credentials = match existing.and_then(|r| r.credentials.as_ref()) {
            Some(old) => fill_missing(acc.credentials.clone(), old),
            None => acc.credentials.clone(),
        };
        if !crate::domain::validate::usable_for(acc.auth, &credentials) {
            report.needs_credentials += 1;
        }
        let keep = |new: &str, old: Option<&str>| {
            if new.is_empty() { old.unwrap_or_default().to_string() } else { new.to_string() }
        };
        let name = if acc.site_name.trim().is_empty() { url.clone() } else { acc.site_name.clone() };
        let site = SiteRow {
            url: url.clone(),
            name,
            kind: acc.kind.as_str().to_string(),
            proxy: None,
            user_agent: String::new(),
        };
        let row = AccountRow {
            site_url: url.clone(),
            identity,
            user_id: acc.user_id.trim().to_string(),
            username: acc.username.trim().to_string(),
            auth: acc.auth.as_str().to_string(),
            group_name: keep(&item.group, existing.map(|e| e.group_name.as_str())),
            paid_per_usd: item.paid_per_usd.or(existing.and_then(|e| e.paid_per_usd)),
            disabled: item.disabled || existing.is_some_and(|e| e.disabled),
            notes: keep(&item.notes, existing.map(|e| e.notes.as_str())),
            low_balance_threshold: existing.and_then(|e| e.low_balance_threshold),
            refresh_interval_mins: existing.and_then(|e| e.refresh_interval_mins),
            name: existing.map(|e| e.name.clone()).unwrap_or_default(),
            sort_order: existing.map(|e| e.sort_order).unwrap_or(next_order),
            created_at_unix: existing.map(|e| e.created_at_unix).unwrap_or(now),
            updated_at_unix: now,
            credentials: Some(credentials),
        };
        let same_site = snap.sites.iter().any(|s| s.url == site.url && s.name == site.name && s.kind == site.kind);
        if let Some(old) = existing
            && same_site
            && super::restore::same_details(old, &row)
        {
            report.unchanged += 1;
            continue;
        }
        if existing.is_none() {
            next_order += 1;
        }
        if site_urls.insert(url.clone()) {
            rows.sites.push(site);
        }
        rows.accounts.push(row);
        if existing.is_some() {
            report.updated += 1;
        } else {
            report.added += 1;
        }
    }
    if !rows.accounts.is_empty() {
        report.safety_backup = Some(super::local::safety_backup(store)?);
        store.apply_restore(&rows)?;
    }
    log::info!(
        "import: {} added, {} updated, {} unchanged, {} need credentials, {} skipped",
        report.added,
        report.updated,
        report.unchanged,
        report.needs_credentials,
        report.skipped.len()
    );
    Ok(report)
}

fn fill_missing(mut new: Credentials, old: &Credentials) -> Credentials {
    let fill = |n: &mut Option<String>, o: &Option<String>| {
        if n.is_none() {
            *n = o.clone();
        }
    };
    fill(&mut new.access_token, &old.access_token);
    fill(&mut new.password, &old.password);
    fill(&mut new.cookie, &old.cookie);
    fill(&mut new.api_key, &old.api_key);
    fill(&mut new.refresh_token, &old.refresh_token);
    new
}

/// A string field that may be written as a string or a number; empty is `None`.
pub(crate) fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A text field (URL, secret) that must be a JSON string when present: `Ok(None)` when
/// absent, null or blank; `Err(reason)` for a number, boolean, array or object.
pub(crate) fn text_field(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => {
            let what = match other {
                Value::Number(_) => "a number",
                Value::Bool(_) => "true/false",
                Value::Array(_) => "a list",
                _ => "an object",
            };
            Err(format!("{key} is {what}, not text"))
        }
    }
}

/// True when an AnyRouter site hides behind a name or URL.
pub(crate) fn looks_like_anyrouter(name: &str, url: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    norm(name) == "anyrouter"
        || url::Url::parse(&normalize_site_url(url))
            .ok()
            .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
            .is_some_and(|h| h.split('.').any(|p| norm(p) == "anyrouter"))
}
