//! Per-account refresh state (the merged snapshot and last error) and daily history.
//! The state is sealed with the [`SecretBox`](super::SecretBox): snapshots hold API keys.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::AccountId;
use crate::domain::snapshot::AccountState;
use crate::domain::time::now_unix;

/// One day of an account's history.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    /// Local date `YYYY-MM-DD`.
    pub day: String,
    /// Balance at the last refresh of that day (quota).
    pub balance_quota: Option<i64>,
    /// Spend that day (quota).
    pub spend_quota: Option<i64>,
}

impl Store {
    /// Saves an account's state, and updates today's history row when the state has data.
    pub fn save_account_state(&mut self, id: AccountId, state: &AccountState, day: &str) -> Result<(), StoreError> {
        let json = serde_json::to_vec(state).map_err(|e| StoreError::Secret(e.to_string()))?;
        let sealed = self.secrets.seal(&json)?;
        let now = now_unix();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO account_state(account_id, state_sealed, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(account_id) DO UPDATE SET state_sealed = excluded.state_sealed, updated_at = excluded.updated_at",
            params![id, sealed, now],
        )?;
        if state.last_error.is_none()
            && let Some(snap) = &state.snapshot
        {
            let balance = snap.user.value.as_ref().map(|u| u.quota);
            let spend = snap.today.value.as_ref().map(|t| t.spend_quota);
            tx.execute(
                "INSERT INTO daily_history(account_id, day, balance_quota, spend_quota, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(account_id, day) DO UPDATE SET
                    balance_quota = COALESCE(excluded.balance_quota, balance_quota),
                    spend_quota = COALESCE(excluded.spend_quota, spend_quota),
                    updated_at = excluded.updated_at",
                params![id, day, balance, spend, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One account's state (default when never refreshed).
    pub fn account_state(&self, id: AccountId) -> Result<AccountState, StoreError> {
        let sealed: Option<String> = self
            .conn
            .query_row("SELECT state_sealed FROM account_state WHERE account_id = ?1", [id], |r| r.get(0))
            .optional()?;
        match sealed {
            None => Ok(AccountState::default()),
            Some(s) => self.unseal_state(&s),
        }
    }

    /// Every account's state. An unreadable row is logged and skipped, never fatal.
    pub fn account_states(&self) -> Result<HashMap<AccountId, AccountState>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT account_id, state_sealed FROM account_state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, sealed) = row?;
            match self.unseal_state(&sealed) {
                Ok(state) => {
                    out.insert(id, state);
                }
                Err(e) => log::warn!("stored state of account {id} unreadable: {e}"),
            }
        }
        Ok(out)
    }

    fn unseal_state(&self, sealed: &str) -> Result<AccountState, StoreError> {
        let plain = self.secrets.open_sealed(sealed)?;
        serde_json::from_slice(&plain).map_err(|e| StoreError::Secret(format!("account state unreadable: {e}")))
    }

    /// History rows of an account, oldest first.
    pub fn daily_history(&self, id: AccountId) -> Result<Vec<DailyRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT day, balance_quota, spend_quota FROM daily_history WHERE account_id = ?1 ORDER BY day")?;
        let rows = stmt
            .query_map([id], |r| Ok(DailyRow { day: r.get(0)?, balance_quota: r.get(1)?, spend_quota: r.get(2)? }))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::ErrorInfo;
    use crate::domain::snapshot::{Part, Snapshot, TodayUsage, UserInfo};
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

    #[test]
    fn state_round_trips_sealed_and_history_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let id = s
            .upsert_account(&NewAccount {
                site_url: "https://a.example".into(),
                site_name: "A".into(),
                kind: SiteKind::NewApi,
                user_id: "1".into(),
                username: "u".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials::default(),
            })
            .unwrap();
        assert_eq!(s.account_state(id).unwrap(), AccountState::default());
        let snap = Snapshot {
            user: Part::complete(UserInfo { quota: 1234, ..Default::default() }),
            today: Part::complete(TodayUsage { spend_quota: 50, ..Default::default() }),
            ..Default::default()
        };
        let ok = AccountState { snapshot: Some(snap), last_attempt_at: Some(5), ..Default::default() };
        s.save_account_state(id, &ok, "2026-11-25").unwrap();
        assert_eq!(s.account_state(id).unwrap(), ok);
        // A failed refresh on the same day does not wipe the history row.
        let failed = AccountState {
            last_error: Some(ErrorInfo { kind: "unavailable".into(), message: "down".into() }),
            ..ok.clone()
        };
        s.save_account_state(id, &failed, "2026-11-25").unwrap();
        let h = s.daily_history(id).unwrap();
        assert_eq!(h, vec![DailyRow { day: "2026-11-25".into(), balance_quota: Some(1234), spend_quota: Some(50) }]);
        assert_eq!(s.account_states().unwrap().get(&id), Some(&failed));
    }
}
