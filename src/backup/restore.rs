//! Restoring a bundle: verify everything first, preview what changes, take a safety
//! backup, then write in one transaction (merge by site URL + identity, newer wins; or
//! replace).

use std::collections::HashMap;

use super::BackupError;
use super::bundle::{VerifiedBundle, is_volatile_setting, read_bundle};
use super::local::{LocalBackupInfo, safety_backup};
use crate::store::{AccountRow, RestoreRows, Store};

/// How a restore combines the bundle with the current store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMode {
    /// Keep local accounts; add new ones; update those where the bundle is newer.
    Merge,
    /// Remove every local site and account, then write the bundle's.
    Replace,
}

/// Names an account in a preview.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccountRef {
    /// Site URL.
    pub site_url: String,
    /// Identity on the site.
    pub identity: String,
    /// Username, when known.
    pub username: String,
}

/// What a restore would do, computed without touching anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestorePreview {
    /// Accounts not in the store.
    pub added: Vec<AccountRef>,
    /// Accounts that differ and are at least as new in the bundle.
    pub updated: Vec<AccountRef>,
    /// Accounts identical in both.
    pub unchanged: Vec<AccountRef>,
    /// Accounts that differ but are newer locally (merge keeps them).
    pub kept_newer_local: Vec<AccountRef>,
    /// Local accounts a replace removes.
    pub removed: Vec<AccountRef>,
    /// Accounts that will have no credentials (the bundle has none for them and the
    /// store neither): the user must enter them again.
    pub needs_credentials: Vec<AccountRef>,
    /// Setting keys the restore writes with a different value.
    pub settings_changed: Vec<String>,
    /// Notification channels the restore writes (by name), from the bundle's secrets.
    pub notify_channels: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreReport {
    /// The plan that was applied.
    pub preview: RestorePreview,
    /// The safety backup taken first.
    pub safety_backup: LocalBackupInfo,
}

fn aref(a: &AccountRow) -> AccountRef {
    AccountRef { site_url: a.site_url.clone(), identity: a.identity.clone(), username: a.username.clone() }
}

/// True when restoring `b` over `a` changes nothing the user sees (credentials only when
/// `b` carries them).
pub(crate) fn same_details(a: &AccountRow, b: &AccountRow) -> bool {
    a.user_id == b.user_id
        && a.username == b.username
        && a.auth == b.auth
        && a.group_name == b.group_name
        && a.notes == b.notes
        && a.paid_per_usd == b.paid_per_usd
        && a.disabled == b.disabled
        && a.low_balance_threshold == b.low_balance_threshold
        && a.refresh_interval_mins == b.refresh_interval_mins
        && a.name == b.name
        && (b.credentials.is_none() || a.credentials == b.credentials)
}

fn has_credentials(a: &AccountRow) -> bool {
    a.credentials
        .as_ref()
        .is_some_and(|c| c.access_token.is_some() || c.cookie.is_some() || c.api_key.is_some() || c.password.is_some())
}

/// Plans a restore of a verified, unlocked bundle against the store.
fn plan(
    store: &Store,
    bundle: &VerifiedBundle,
    secrets: Option<&super::bundle::SecretsPlain>,
    mode: RestoreMode,
) -> Result<(RestorePreview, RestoreRows), BackupError> {
    let snap = store.snapshot()?;
    let (sites, incoming) = bundle.rows(secrets);
    let local: HashMap<(String, String), &AccountRow> =
        snap.accounts.iter().map(|a| ((a.site_url.clone(), a.identity.clone()), a)).collect();
    let mut p = RestorePreview::default();
    let mut rows = RestoreRows { replace: mode == RestoreMode::Replace, ..Default::default() };
    for acc in incoming {
        let key = (acc.site_url.clone(), acc.identity.clone());
        let existing = local.get(&key).copied();
        let credentials_after =
            if acc.credentials.is_some() { has_credentials(&acc) } else { existing.is_some_and(has_credentials) };
        match (existing, mode) {
            (None, _) => p.added.push(aref(&acc)),
            (Some(old), _) if same_details(old, &acc) => p.unchanged.push(aref(&acc)),
            (Some(old), RestoreMode::Merge) if old.updated_at_unix > acc.updated_at_unix => {
                // Newer here, but without credentials (e.g. reset after a lost key):
                // keep its details and take the backup's credentials.
                if !has_credentials(old) && has_credentials(&acc) {
                    p.updated.push(aref(&acc));
                    rows.accounts.push(AccountRow { credentials: acc.credentials, ..old.clone() });
                } else {
                    p.kept_newer_local.push(aref(&acc));
                }
                continue;
            }
            (Some(_), _) => p.updated.push(aref(&acc)),
        }
        // A replace deletes local rows first, so their secrets cannot be kept.
        let credentials_after = credentials_after && (mode == RestoreMode::Merge || acc.credentials.is_some());
        if !credentials_after {
            p.needs_credentials.push(aref(&acc));
        }
        rows.accounts.push(acc);
    }
    if mode == RestoreMode::Replace {
        let keys: std::collections::HashSet<_> =
            bundle.accounts.iter().map(|a| (a.site_url.clone(), a.identity.clone())).collect();
        p.removed = snap
            .accounts
            .iter()
            .filter(|a| !keys.contains(&(a.site_url.clone(), a.identity.clone())))
            .map(aref)
            .collect();
    }
    rows.sites = sites;
    let local_settings: HashMap<&str, &str> = snap.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (k, v) in bundle.settings.iter().filter(|(k, _)| !is_volatile_setting(k)) {
        if local_settings.get(k.as_str()) != Some(&v.as_str()) {
            p.settings_changed.push(k.clone());
        }
        rows.settings.push((k.clone(), v.clone()));
    }
    if let Some(s) = secrets {
        let local_secret: HashMap<&str, &str> =
            snap.secret_settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (k, v) in s.settings.iter().filter(|(k, _)| !is_volatile_setting(k)) {
            if local_secret.get(k.as_str()) != Some(&v.as_str()) {
                p.settings_changed.push(k.clone());
            }
            rows.secret_settings.push((k.clone(), v.clone()));
        }
        p.notify_channels = s.notify_channels.iter().map(|c| c.name.clone()).collect();
        rows.notify_channels = Some(s.notify_channels.clone());
    }
    for list in [&mut p.added, &mut p.updated, &mut p.unchanged, &mut p.kept_newer_local, &mut p.removed] {
        list.sort();
    }
    p.needs_credentials.sort();
    p.settings_changed.sort();
    Ok((p, rows))
}

/// Restores a verified bundle into a store being built during a recovery: replaces
/// whatever is there, without a safety copy (the store was just made empty).
pub(crate) fn restore_into_new(
    store: &mut Store,
    bundle: &VerifiedBundle,
    secrets: Option<&super::bundle::SecretsPlain>,
) -> Result<RestorePreview, BackupError> {
    let (preview, rows) = plan(store, bundle, secrets, RestoreMode::Replace)?;
    store.apply_restore(&rows)?;
    Ok(preview)
}

/// Verifies a bundle (format, version, checksums, passphrase) and says what a restore
/// would change. Touches nothing.
pub fn preview_restore(
    store: &Store,
    bytes: &[u8],
    passphrase: Option<&str>,
    mode: RestoreMode,
) -> Result<RestorePreview, BackupError> {
    let bundle = read_bundle(bytes)?;
    let secrets = bundle.unlock(store, passphrase)?;
    Ok(plan(store, &bundle, secrets.as_ref(), mode)?.0)
}

/// Restores a bundle. Everything is checked before anything changes; then a safety
/// backup of the current store is written to the backups folder, then the bundle's
/// rows are written in one transaction.
pub fn restore_bundle(
    store: &mut Store,
    bytes: &[u8],
    passphrase: Option<&str>,
    mode: RestoreMode,
) -> Result<RestoreReport, BackupError> {
    let bundle = read_bundle(bytes)?;
    let secrets = bundle.unlock(store, passphrase)?;
    restore_unlocked(store, &bundle, secrets.as_ref(), mode)
}

/// [`restore_bundle`] of a bundle already verified and unlocked.
pub(crate) fn restore_unlocked(
    store: &mut Store,
    bundle: &VerifiedBundle,
    secrets: Option<&super::bundle::SecretsPlain>,
    mode: RestoreMode,
) -> Result<RestoreReport, BackupError> {
    let (preview, rows) = plan(store, bundle, secrets, mode)?;
    let safety = safety_backup(store)?;
    store.apply_restore(&rows)?;
    log::info!(
        "backup restored: {} added, {} updated, {} unchanged, {} kept (newer locally), {} removed; safety copy {}",
        preview.added.len(),
        preview.updated.len(),
        preview.unchanged.len(),
        preview.kept_newer_local.len(),
        preview.removed.len(),
        safety.name
    );
    Ok(RestoreReport { preview, safety_backup: safety })
}
