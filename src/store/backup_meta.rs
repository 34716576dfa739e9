//! Whole-store reads and writes used by backups: a snapshot of every site, account
//! (with its decrypted credentials) and setting, and a restore that writes a set of
//! rows in one transaction. Also the per-account details `upsert_account` leaves alone.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, params};

pub use super::accounts::account_identity;
use super::{Store, StoreError};
use crate::domain::time::now_unix;
use crate::domain::{AccountId, Credentials};

/// A site row as backups see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    /// Normalised base URL (the site's identity).
    pub url: String,
    /// Display name.
    pub name: String,
    /// Site kind identifier (`SiteKind::as_str`).
    pub kind: String,
    /// The site's own proxy override in stored form (`""` inherit, `"none"`, or a URL);
    /// `None` when unknown (a restore then keeps the stored one).
    pub proxy: Option<String>,
    /// The site's own User-Agent (`""` = none).
    pub user_agent: String,
}

/// An account row as backups see it, with its credentials when they could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// URL of the site the account belongs to.
    pub site_url: String,
    /// Identity on the site (`uid:…`, `user:…`, `key:…`).
    pub identity: String,
    /// User id on the site.
    pub user_id: String,
    /// Username.
    pub username: String,
    /// Auth method identifier (`AuthMethod::as_str`).
    pub auth: String,
    /// User-chosen group.
    pub group_name: String,
    /// Money paid per 1 USD of quota.
    pub paid_per_usd: Option<f64>,
    /// Skipped by refresh-all.
    pub disabled: bool,
    /// Notes.
    pub notes: String,
    /// Low-balance alert threshold in the site's currency.
    pub low_balance_threshold: Option<f64>,
    /// Auto-refresh interval override in minutes.
    pub refresh_interval_mins: Option<u32>,
    /// The user's own name for the account (`""` = none).
    pub name: String,
    /// Position in the user's order.
    pub sort_order: i64,
    /// When the row was created (unix seconds).
    pub created_at_unix: i64,
    /// When the row last changed (unix seconds).
    pub updated_at_unix: i64,
    /// Decrypted credentials; `None` when absent (restore keeps the stored ones, or
    /// writes empty ones that need re-entry).
    pub credentials: Option<Credentials>,
}

/// Everything a backup holds, read in one go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreSnapshot {
    /// Sites, by URL.
    pub sites: Vec<SiteRow>,
    /// Accounts, in the user's order.
    pub accounts: Vec<AccountRow>,
    /// Plain settings, sorted by key.
    pub settings: Vec<(String, String)>,
    /// Secret settings (decrypted), sorted by key.
    pub secret_settings: Vec<(String, String)>,
    /// Notification channels (their settings are secrets: encrypted backups only).
    pub notify_channels: Vec<crate::domain::notify::ChannelSpec>,
}

/// What a restore writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct RestoreRows {
    /// Sites to insert or update.
    pub sites: Vec<SiteRow>,
    /// Accounts to insert or update (matched by site URL + identity).
    pub accounts: Vec<AccountRow>,
    /// Plain settings to write.
    pub settings: Vec<(String, String)>,
    /// Secret settings to write (sealed with this store's key).
    pub secret_settings: Vec<(String, String)>,
    /// Notification channels to write by name (`None`: the bundle had no secrets, the
    /// local ones stay).
    pub notify_channels: Option<Vec<crate::domain::notify::ChannelSpec>>,
    /// Remove every site and account first (and every channel, with `notify_channels`).
    pub replace: bool,
}

impl Store {
    /// The data dir this store lives in.
    pub fn data_dir(&self) -> PathBuf {
        self.path.parent().map(|p| p.to_path_buf()).unwrap_or_default()
    }

    /// Reads every site, account (with decrypted credentials) and setting.
    pub fn snapshot(&self) -> Result<StoreSnapshot, StoreError> {
        let mut out = StoreSnapshot::default();
        let mut stmt =
            self.conn.prepare("SELECT url, name, kind, net_proxy, net_user_agent FROM sites ORDER BY url")?;
        let sites = stmt
            .query_map([], |r| {
                Ok((
                    SiteRow { url: r.get(0)?, name: r.get(1)?, kind: r.get(2)?, proxy: None, user_agent: r.get(4)? },
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.sites = sites
            .into_iter()
            .map(|(row, sealed)| SiteRow { proxy: Some(self.open_site_proxy(&sealed).to_stored()), ..row })
            .collect();
        let mut stmt = self.conn.prepare(
            "SELECT s.url, a.identity, a.user_id, a.username, a.auth_method, a.group_name, a.paid_per_usd,
                    a.disabled, a.notes, a.sort_order, a.created_at, a.updated_at, a.secret,
                    a.low_balance_threshold, a.refresh_interval_mins, a.name
             FROM accounts a JOIN sites s ON s.id = a.site_id ORDER BY a.sort_order, a.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    AccountRow {
                        site_url: r.get(0)?,
                        identity: r.get(1)?,
                        user_id: r.get(2)?,
                        username: r.get(3)?,
                        auth: r.get(4)?,
                        group_name: r.get(5)?,
                        paid_per_usd: r.get(6)?,
                        disabled: r.get::<_, i64>(7)? != 0,
                        notes: r.get(8)?,
                        low_balance_threshold: r.get(13)?,
                        refresh_interval_mins: r.get::<_, Option<i64>>(14)?.and_then(|m| u32::try_from(m).ok()),
                        name: r.get(15)?,
                        sort_order: r.get(9)?,
                        created_at_unix: r.get(10)?,
                        updated_at_unix: r.get(11)?,
                        credentials: None,
                    },
                    r.get::<_, String>(12)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (mut row, sealed) in rows {
            row.credentials = self
                .secrets
                .open_sealed(&sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<Credentials>(&plain).ok());
            if row.credentials.is_none() {
                log::warn!("credentials of an account on {} could not be read for the backup", row.site_url);
            }
            out.accounts.push(row);
        }
        let mut stmt = self.conn.prepare("SELECT key, value FROM settings ORDER BY key")?;
        let settings = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        for (key, value) in settings {
            // Values written by `set_secret_setting` are sealed with this store's key.
            match value.starts_with("v1:").then(|| self.secrets.open_sealed(&value)) {
                Some(Ok(plain)) => match String::from_utf8(plain) {
                    Ok(s) => out.secret_settings.push((key, s)),
                    Err(_) => log::warn!("secret setting {key} is not text; left out of the backup"),
                },
                _ => out.settings.push((key, value)),
            }
        }
        out.notify_channels = self.notify_channels()?.into_iter().map(|c| c.spec).collect();
        Ok(out)
    }

    /// Writes restored rows in one transaction: either everything lands or nothing.
    /// An account without credentials keeps the stored ones, or gets empty ones.
    pub fn apply_restore(&mut self, rows: &RestoreRows) -> Result<(), StoreError> {
        let sealed = self.seal_rows(rows)?;
        let tx = self.conn.transaction()?;
        write_rows(&tx, rows, sealed)?;
        tx.commit()?;
        Ok(())
    }

    /// Seals what [`write_rows`] writes (credentials, site proxies, secret settings),
    /// before its transaction opens.
    pub(super) fn seal_rows(&self, rows: &RestoreRows) -> Result<SealedRows, StoreError> {
        let empty = serde_json::to_vec(&Credentials::default()).map_err(|e| StoreError::Secret(e.to_string()))?;
        let empty_credentials = self.secrets.seal(&empty)?;
        let mut credentials = Vec::with_capacity(rows.accounts.len());
        for acc in &rows.accounts {
            credentials.push(match &acc.credentials {
                Some(c) => {
                    let json = serde_json::to_vec(c).map_err(|e| StoreError::Secret(e.to_string()))?;
                    Some(self.secrets.seal(&json)?)
                }
                None => None,
            });
        }
        let mut proxies = Vec::with_capacity(rows.sites.len());
        for site in &rows.sites {
            proxies.push(match &site.proxy {
                Some(p) => Some(self.seal_site_proxy(&crate::domain::network::SiteProxy::from_stored(p))?),
                None => None,
            });
        }
        let mut settings = Vec::with_capacity(rows.secret_settings.len());
        for (k, v) in &rows.secret_settings {
            settings.push((k.clone(), self.secrets.seal(v.as_bytes())?));
        }
        let channels = match &rows.notify_channels {
            Some(list) => Some(self.seal_channels(list)?),
            None => None,
        };
        Ok(SealedRows { empty_credentials, credentials, proxies, settings, channels })
    }

    /// Sets the details `upsert_account` does not touch: group, notes, paid ratio, disabled.
    pub fn set_account_details(
        &mut self,
        id: AccountId,
        group_name: &str,
        notes: &str,
        paid_per_usd: Option<f64>,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE accounts SET group_name = ?2, notes = ?3, paid_per_usd = ?4, disabled = ?5, updated_at = ?6
             WHERE id = ?1",
            params![id, group_name, notes, paid_per_usd, disabled as i64, now_unix()],
        )?;
        tx.commit()?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        Ok(())
    }

    /// Seals bytes with this store's key (machine-bound backups).
    pub(crate) fn seal_local(&self, plain: &[u8]) -> Result<String, StoreError> {
        self.secrets.seal(plain)
    }

    /// Opens bytes sealed by [`Store::seal_local`].
    pub(crate) fn open_local(&self, sealed: &str) -> Result<Vec<u8>, StoreError> {
        self.secrets.open_sealed(sealed)
    }
}

/// The sealed parts of a [`RestoreRows`], in its order.
pub(super) struct SealedRows {
    empty_credentials: String,
    credentials: Vec<Option<String>>,
    proxies: Vec<Option<String>>,
    settings: Vec<(String, String)>,
    channels: Option<Vec<(crate::domain::notify::ChannelSpec, String)>>,
}

/// Writes restored rows inside the caller's transaction (backups' restore, sync).
pub(super) fn write_rows(
    tx: &rusqlite::Transaction<'_>,
    rows: &RestoreRows,
    sealed: SealedRows,
) -> Result<(), StoreError> {
    let now = now_unix();
    if let Some(channels) = &sealed.channels {
        super::notify::write_channels(tx, channels, rows.replace, now)?;
    }
    if rows.replace {
        tx.execute("DELETE FROM accounts", [])?;
        tx.execute("DELETE FROM sites", [])?;
    }
    for (s, proxy) in rows.sites.iter().zip(sealed.proxies) {
        let keep_proxy = proxy.is_none();
        tx.execute(
            "INSERT INTO sites(name, url, kind, created_at, updated_at, net_proxy, net_user_agent)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)
             ON CONFLICT(url) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                updated_at = excluded.updated_at,
                net_proxy = CASE WHEN ?7 THEN sites.net_proxy ELSE excluded.net_proxy END,
                net_user_agent = excluded.net_user_agent",
            params![s.name, s.url, s.kind, now, proxy.unwrap_or_default(), s.user_agent.trim(), keep_proxy],
        )?;
    }
    for (acc, secret) in rows.accounts.iter().zip(sealed.credentials) {
        let site_id: Option<i64> =
            tx.query_row("SELECT id FROM sites WHERE url = ?1", [&acc.site_url], |r| r.get(0)).optional()?;
        let site_id = match site_id {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO sites(name, url, kind, created_at, updated_at) VALUES (?1, ?1, 'unknown', ?2, ?2)",
                    params![acc.site_url, now],
                )?;
                tx.last_insert_rowid()
            }
        };
        let keep_secret = secret.is_none();
        let secret = secret.unwrap_or_else(|| sealed.empty_credentials.clone());
        tx.execute(
            "INSERT INTO accounts(site_id, identity, user_id, username, auth_method, secret, group_name,
                                  paid_per_usd, disabled, notes, sort_order, created_at, updated_at,
                                  low_balance_threshold, refresh_interval_mins, name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15, ?16, ?17)
             ON CONFLICT(site_id, identity) DO UPDATE SET
                user_id = excluded.user_id, username = excluded.username,
                auth_method = excluded.auth_method,
                secret = CASE WHEN ?14 THEN accounts.secret ELSE excluded.secret END,
                group_name = excluded.group_name, paid_per_usd = excluded.paid_per_usd,
                disabled = excluded.disabled, notes = excluded.notes,
                low_balance_threshold = excluded.low_balance_threshold,
                refresh_interval_mins = excluded.refresh_interval_mins,
                name = excluded.name,
                updated_at = excluded.updated_at",
            params![
                site_id,
                acc.identity,
                acc.user_id,
                acc.username,
                acc.auth,
                secret,
                acc.group_name,
                acc.paid_per_usd,
                acc.disabled as i64,
                acc.notes,
                acc.sort_order,
                acc.created_at_unix,
                acc.updated_at_unix,
                keep_secret,
                acc.low_balance_threshold,
                acc.refresh_interval_mins,
                acc.name,
            ],
        )?;
    }
    for (k, v) in rows.settings.iter().chain(sealed.settings.iter()) {
        tx.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [k, v],
        )?;
    }
    Ok(())
}
