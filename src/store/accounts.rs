//! Sites and accounts in the store. Credentials are sealed with the [`SecretBox`].
//!
//! [`SecretBox`]: super::SecretBox

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};
use crate::domain::account::normalize_site_url;
use crate::domain::time::now_unix;
use crate::domain::{Account, AccountId, AuthMethod, Credentials, NewAccount, Site, SiteKind};

/// What identifies an account on a site: the user id, else the username, else a hash
/// of the API key. Adding the same site + identity twice updates instead of duplicating.
pub fn account_identity(acc: &NewAccount) -> String {
    if !acc.user_id.trim().is_empty() {
        return format!("uid:{}", acc.user_id.trim());
    }
    if !acc.username.trim().is_empty() {
        return format!("user:{}", acc.username.trim());
    }
    let key = acc.credentials.api_key.as_deref().unwrap_or_default();
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("key:{hex}")
}

/// The parts of an account the user edits beside its credentials.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountMeta {
    /// User-defined group.
    pub group_name: String,
    /// Real money per 1 USD of quota.
    pub paid_per_usd: Option<f64>,
    /// Notes.
    pub notes: String,
    /// Skipped by refresh-all and check-in-all.
    pub disabled: bool,
    /// Low-balance alert threshold in the site's currency (None = the global default).
    pub low_balance_threshold: Option<f64>,
    /// Auto-refresh interval override in minutes (None = the global one).
    pub refresh_interval_mins: Option<u32>,
    /// The user's own name for the account.
    pub name: String,
}

impl AccountMeta {
    /// The meta of a stored account.
    pub fn of(a: &Account) -> AccountMeta {
        AccountMeta {
            group_name: a.group_name.clone(),
            paid_per_usd: a.paid_per_usd,
            notes: a.notes.clone(),
            disabled: a.disabled,
            low_balance_threshold: a.low_balance_threshold,
            refresh_interval_mins: a.refresh_interval_mins,
            name: a.name.clone(),
        }
    }
}

const ACCOUNT_COLUMNS: &str = "a.id, a.user_id, a.username, a.auth_method, a.group_name, a.paid_per_usd,
     a.disabled, a.notes, s.id, s.name, s.url, s.kind, a.low_balance_threshold, a.refresh_interval_mins, a.name";

fn row_to_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let auth: String = r.get(3)?;
    let kind: String = r.get(11)?;
    Ok(Account {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        auth: AuthMethod::parse(&auth).unwrap_or(AuthMethod::AccessToken),
        group_name: r.get(4)?,
        paid_per_usd: r.get(5)?,
        disabled: r.get::<_, i64>(6)? != 0,
        notes: r.get(7)?,
        low_balance_threshold: r.get(12)?,
        refresh_interval_mins: r.get::<_, Option<i64>>(13)?.and_then(|m| u32::try_from(m).ok()),
        name: r.get(14)?,
        site: Site {
            id: r.get(8)?,
            name: r.get(9)?,
            url: r.get(10)?,
            kind: SiteKind::parse(&kind).unwrap_or(SiteKind::Unknown),
        },
    })
}

impl Store {
    /// Adds an account (and its site if new), or updates the existing one with the
    /// same site URL and identity. Returns the account id.
    pub fn upsert_account(&mut self, acc: &NewAccount) -> Result<AccountId, StoreError> {
        let url = normalize_site_url(&acc.site_url);
        let identity = account_identity(acc);
        let secret_json = serde_json::to_vec(&acc.credentials).map_err(|e| StoreError::Secret(e.to_string()))?;
        let sealed = self.secrets.seal(&secret_json)?;
        let now = now_unix();
        let tx = self.conn.transaction()?;
        let site_name = if acc.site_name.trim().is_empty() { url.clone() } else { acc.site_name.clone() };
        tx.execute(
            "INSERT INTO sites(name, url, kind, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(url) DO UPDATE SET name = excluded.name, kind = excluded.kind, updated_at = excluded.updated_at",
            params![site_name, url, acc.kind.as_str(), now],
        )?;
        let site_id: i64 = tx.query_row("SELECT id FROM sites WHERE url = ?1", [&url], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO accounts(site_id, identity, user_id, username, auth_method, secret, created_at, updated_at,
                                  sort_order)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, (SELECT COALESCE(MAX(sort_order), 0) + 1 FROM accounts))
             ON CONFLICT(site_id, identity) DO UPDATE SET
                user_id = excluded.user_id, username = excluded.username,
                auth_method = excluded.auth_method, secret = excluded.secret, updated_at = excluded.updated_at",
            params![site_id, identity, acc.user_id.trim(), acc.username.trim(), acc.auth.as_str(), sealed, now],
        )?;
        let id: i64 = tx.query_row(
            "SELECT id FROM accounts WHERE site_id = ?1 AND identity = ?2",
            params![site_id, identity],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// All accounts in the user's order.
    pub fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a JOIN sites s ON s.id = a.site_id ORDER BY a.sort_order, a.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], row_to_account)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One account.
    pub fn account(&self, id: AccountId) -> Result<Account, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a JOIN sites s ON s.id = a.site_id WHERE a.id = ?1");
        self.conn
            .query_row(&sql, [id], row_to_account)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
    }

    /// Decrypts an account's credentials.
    pub fn credentials(&self, id: AccountId) -> Result<Credentials, StoreError> {
        let sealed: String = self
            .conn
            .query_row("SELECT secret FROM accounts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
        let plain = self.secrets.open_sealed(&sealed)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Secret(format!("credentials unreadable: {e}")))
    }

    /// Removes an account; a site with no accounts left is removed too. Returns
    /// whether the account existed.
    pub fn remove_account(&mut self, id: AccountId) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        tx.execute("DELETE FROM sites WHERE id NOT IN (SELECT site_id FROM accounts)", [])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Updates what the user edits beside credentials.
    pub fn update_account_meta(&mut self, id: AccountId, meta: &AccountMeta) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE accounts SET group_name = ?2, paid_per_usd = ?3, notes = ?4, disabled = ?5, updated_at = ?6,
                low_balance_threshold = ?7, refresh_interval_mins = ?8, name = ?9
             WHERE id = ?1",
            params![
                id,
                meta.group_name.trim(),
                meta.paid_per_usd,
                meta.notes,
                meta.disabled as i64,
                now_unix(),
                meta.low_balance_threshold,
                meta.refresh_interval_mins,
                meta.name.trim()
            ],
        )?;
        tx.commit()?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        Ok(())
    }

    /// Moves an account one place up (`-1`) or down (`+1`) in the user's order.
    pub fn move_account(&mut self, id: AccountId, delta: i64) -> Result<(), StoreError> {
        let ids: Vec<AccountId> = self.list_accounts()?.into_iter().map(|a| a.id).collect();
        let Some(pos) = ids.iter().position(|x| *x == id) else {
            return Err(StoreError::NotFound(format!("account {id}")));
        };
        let target = (pos as i64 + delta).clamp(0, ids.len() as i64 - 1) as usize;
        let mut order = ids;
        let moved = order.remove(pos);
        order.insert(target, moved);
        let tx = self.conn.transaction()?;
        for (i, acc) in order.iter().enumerate() {
            tx.execute("UPDATE accounts SET sort_order = ?2 WHERE id = ?1", params![acc, i as i64])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Accounts whose credentials are not usable until the user signs in again: those
    /// that cannot be decrypted with the key in use, and those left empty and flagged
    /// "sign-in needed" (a credential reset after a lost key). Backups made meanwhile
    /// would lack them: automatic backups wait and retention keeps older ones.
    pub fn accounts_needing_sign_in(&self) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, secret FROM accounts")?;
        let sealed = stmt
            .query_map([], |r| Ok((r.get::<_, AccountId>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut unusable = 0;
        let mut empty = Vec::new();
        for (id, s) in &sealed {
            match self.secrets.open_sealed(s) {
                Err(_) => unusable += 1,
                Ok(plain)
                    if serde_json::from_slice::<Credentials>(&plain).is_ok_and(|c| c == Credentials::default()) =>
                {
                    empty.push(*id);
                }
                Ok(_) => {}
            }
        }
        for id in empty {
            if self
                .account_state(id)?
                .last_error
                .as_ref()
                .is_some_and(crate::domain::snapshot::ErrorInfo::is_sign_in_needed)
            {
                unusable += 1;
            }
        }
        Ok(unusable)
    }

    /// Test helper: replaces an account's sealed credentials with bytes no key opens.
    #[cfg(test)]
    pub(crate) fn damage_credentials_for_test(&mut self, id: AccountId) {
        let n = self.conn.execute("UPDATE accounts SET secret = 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE id = ?1", [id]);
        assert_eq!(n.ok(), Some(1));
    }

    /// Number of accounts.
    pub fn account_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_acc(url: &str, uid: &str, token: &str) -> NewAccount {
        NewAccount {
            site_url: url.into(),
            site_name: "Test".into(),
            kind: SiteKind::NewApi,
            user_id: uid.into(),
            username: "alice".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(token.into()), ..Default::default() },
        }
    }

    #[test]
    fn same_site_and_user_updates_instead_of_duplicating() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let a = s.upsert_account(&new_acc("https://x.com/", "7", "tok1")).unwrap();
        let b = s.upsert_account(&new_acc("https://x.com", "7", "tok2")).unwrap();
        assert_eq!(a, b);
        assert_eq!(s.list_accounts().unwrap().len(), 1);
        assert_eq!(s.credentials(a).unwrap().access_token.as_deref(), Some("tok2"));
        let c = s.upsert_account(&new_acc("https://x.com", "8", "tok3")).unwrap();
        assert_ne!(a, c);
        assert_eq!(s.list_accounts().unwrap().len(), 2);
        let mut meta = AccountMeta::of(&s.account(a).unwrap());
        meta.disabled = true;
        meta.group_name = "work".into();
        meta.paid_per_usd = Some(0.5);
        meta.low_balance_threshold = Some(1.25);
        meta.refresh_interval_mins = Some(90);
        meta.name = "main".into();
        s.update_account_meta(a, &meta).unwrap();
        assert_eq!(AccountMeta::of(&s.account(a).unwrap()), meta);
        // Re-adding keeps the user's meta (only credentials and names change).
        s.upsert_account(&new_acc("https://x.com", "7", "tok9")).unwrap();
        assert_eq!(AccountMeta::of(&s.account(a).unwrap()), meta);
        s.move_account(c, -1).unwrap();
        assert_eq!(s.list_accounts().unwrap()[0].id, c);
        assert!(s.remove_account(a).unwrap());
        assert!(!s.remove_account(a).unwrap());
        assert_eq!(s.list_accounts().unwrap().len(), 1);
    }
}
