//! Per-account refresh state (the merged snapshot and last error) and daily history.
//! The state is sealed with the [`SecretBox`](super::SecretBox): snapshots hold API keys.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::money::Amount;
use crate::domain::snapshot::AccountState;
use crate::domain::time::now_unix;
use crate::domain::{AccountId, SiteKind};

/// One day of an account's history.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    /// Local date `YYYY-MM-DD`.
    pub day: String,
    /// Balance at the last refresh of that day.
    pub balance: Option<Amount>,
    /// Spend that day.
    pub spend: Option<Amount>,
}

/// A figure as the history row's (quota, amount, currency) columns.
fn columns(a: Option<&Amount>) -> (Option<i64>, Option<f64>, Option<String>) {
    match a {
        None => (None, None, None),
        Some(Amount::Quota(q)) => (Some(*q), None, None),
        Some(Amount::Money(c)) => (None, Some(c.amount), Some(c.currency.clone())),
    }
}

fn from_columns(quota: Option<i64>, amount: Option<f64>, currency: Option<&str>) -> Option<Amount> {
    match (quota, amount) {
        (Some(q), _) => Some(Amount::Quota(q)),
        (None, Some(a)) => Some(Amount::money(a, currency.unwrap_or_default())),
        (None, None) => None,
    }
}

/// A state with its account's site kind.
const STATE_SELECT_ONE: &str = "SELECT st.state_sealed, si.kind FROM account_state st
     LEFT JOIN accounts a ON a.id = st.account_id LEFT JOIN sites si ON si.id = a.site_id
     WHERE st.account_id = ?1";
const STATE_SELECT_ALL: &str = "SELECT st.account_id, st.state_sealed, si.kind FROM account_state st
     LEFT JOIN accounts a ON a.id = st.account_id LEFT JOIN sites si ON si.id = a.site_id";

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
            let (bq, ba, bc) = columns(snap.user.value.as_ref().map(|u| &u.balance));
            let (sq, sa, sc) = columns(snap.today.value.as_ref().map(|t| &t.spend));
            // A known figure replaces the day's (quota or money, never half of each); an
            // unknown one keeps it.
            tx.execute(
                "INSERT INTO daily_history(account_id, day, balance_quota, balance_amount, spend_quota, spend_amount,
                    currency, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(account_id, day) DO UPDATE SET
                    balance_quota = CASE WHEN excluded.balance_quota IS NULL AND excluded.balance_amount IS NULL
                        THEN balance_quota ELSE excluded.balance_quota END,
                    balance_amount = CASE WHEN excluded.balance_quota IS NULL AND excluded.balance_amount IS NULL
                        THEN balance_amount ELSE excluded.balance_amount END,
                    spend_quota = CASE WHEN excluded.spend_quota IS NULL AND excluded.spend_amount IS NULL
                        THEN spend_quota ELSE excluded.spend_quota END,
                    spend_amount = CASE WHEN excluded.spend_quota IS NULL AND excluded.spend_amount IS NULL
                        THEN spend_amount ELSE excluded.spend_amount END,
                    currency = COALESCE(excluded.currency, currency),
                    updated_at = excluded.updated_at",
                params![id, day, bq, ba, sq, sa, bc.or(sc), now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One account's state (default when never refreshed).
    pub fn account_state(&self, id: AccountId) -> Result<AccountState, StoreError> {
        let sealed: Option<(String, String)> = self
            .conn
            .query_row(STATE_SELECT_ONE, [id], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))
            .optional()?;
        match sealed {
            None => Ok(AccountState::default()),
            Some((s, kind)) => self.unseal_state(&s, &kind),
        }
    }

    /// Every account's state. An unreadable row is logged and skipped, never fatal.
    pub fn account_states(&self) -> Result<HashMap<AccountId, AccountState>, StoreError> {
        self.account_states_trimmed(|_| {})
    }

    /// Every account's state with `trim` applied to each as soon as it is read, so that
    /// what a caller drops (the Sites view drops price lists) is freed one state at a time
    /// and never held for all accounts at once.
    pub fn account_states_trimmed(
        &self,
        trim: impl Fn(&mut AccountState),
    ) -> Result<HashMap<AccountId, AccountState>, StoreError> {
        let mut stmt = self.conn.prepare(STATE_SELECT_ALL)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default()))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (id, sealed, kind) = row?;
            match self.unseal_state(&sealed, &kind) {
                Ok(mut state) => {
                    trim(&mut state);
                    out.insert(id, state);
                }
                Err(e) => log::warn!("stored state of account {id} unreadable: {e}"),
            }
        }
        Ok(out)
    }

    /// `kind` is the account's site kind: the state of a money-native kind written by an
    /// older build holds invented quota, read back as the USD it came from.
    fn unseal_state(&self, sealed: &str, kind: &str) -> Result<AccountState, StoreError> {
        let plain = self.secrets.open_sealed(sealed)?;
        let mut state: AccountState =
            serde_json::from_slice(&plain).map_err(|e| StoreError::Secret(format!("account state unreadable: {e}")))?;
        if let Some(snap) = state.snapshot.as_mut() {
            if SiteKind::parse(kind).is_some_and(SiteKind::is_money_native) {
                snap.upgrade_money_native();
            }
            snap.shrink_to_fit();
        }
        Ok(state)
    }

    /// History rows of an account, oldest first.
    pub fn daily_history(&self, id: AccountId) -> Result<Vec<DailyRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT day, balance_quota, balance_amount, spend_quota, spend_amount, currency FROM daily_history
             WHERE account_id = ?1 ORDER BY day",
        )?;
        let rows = stmt.query_map([id], |r| {
            let currency: Option<String> = r.get(5)?;
            Ok(DailyRow {
                day: r.get(0)?,
                balance: from_columns(r.get(1)?, r.get(2)?, currency.as_deref()),
                spend: from_columns(r.get(3)?, r.get(4)?, currency.as_deref()),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::ErrorInfo;
    use crate::domain::snapshot::{ApiKey, Part, Snapshot, TodayUsage, UserInfo};
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

    /// An access-token account on `url` (named `name`).
    fn add_account(s: &mut Store, url: &str, name: &str, kind: SiteKind) -> AccountId {
        s.upsert_account(&NewAccount {
            site_url: url.into(),
            site_name: name.into(),
            kind,
            user_id: "1".into(),
            username: "u".into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials::default(),
        })
        .unwrap()
    }

    fn cache_used(s: &Store) -> i32 {
        let (mut cur, mut high) = (0, 0);
        // SAFETY: the handle is the store's open connection, used on this thread; the
        // call only reads one of its counters.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                s.conn.handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
                &mut cur,
                &mut high,
                0,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        cur
    }

    #[test]
    fn states_are_read_without_spare_capacity_and_the_idle_trim_empties_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let models: Vec<String> = (0..150).map(|i| format!("vendor/model-{i:03}-preview")).collect();
        let keys: Vec<ApiKey> = (0..5).map(|i| ApiKey { id: i, name: format!("k{i}"), ..Default::default() }).collect();
        for n in 0..200 {
            let id = add_account(&mut s, &format!("https://s{n}.example"), &format!("S{n}"), SiteKind::NewApi);
            let snap = Snapshot {
                keys: Part::complete(keys.clone()),
                models: Part::complete(models.clone()),
                ..Default::default()
            };
            let st = AccountState { snapshot: Some(Box::new(snap)), ..Default::default() };
            s.save_account_state(id, &st, "2026-12-07").unwrap();
        }
        let shared = crate::store::SharedStore::new(s);
        let states = shared.with(|s| s.account_states()).unwrap();
        assert_eq!(states.len(), 200);
        for st in states.values() {
            let snap = st.snapshot.as_ref().unwrap();
            let (k, m) = (snap.keys.value.as_ref().unwrap(), snap.models.value.as_ref().unwrap());
            assert_eq!((k.len(), k.capacity()), (5, 5), "keys keep no spare capacity");
            assert_eq!((m.len(), m.capacity()), (150, 150), "models keep no spare capacity");
        }
        // The bundled SQLite's page caches share one pool between connections
        // (SQLITE_ENABLE_MEMORY_MANAGEMENT), so a test running beside this one can take
        // pages from this cache (seen in CI: 162,160 bytes left): read again until it is full.
        let mut full = cache_used(&shared.lock().unwrap());
        for _ in 0..20 {
            if full > 256 * 1024 {
                break;
            }
            assert_eq!(shared.with(|s| s.account_states()).unwrap().len(), 200);
            full = cache_used(&shared.lock().unwrap());
        }
        assert!(full > 256 * 1024, "reading every state fills SQLite's cache ({full} bytes)");
        // A job holding the store is not waited for.
        {
            let _held = shared.lock().unwrap();
            assert!(!shared.release_cache());
        }
        assert!(shared.release_cache());
        let after = cache_used(&shared.lock().unwrap());
        assert!(after < full / 8, "cache after the trim: {after} of {full} bytes");
    }

    #[test]
    fn state_round_trips_sealed_and_history_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let id = add_account(&mut s, "https://a.example", "A", SiteKind::NewApi);
        assert_eq!(s.account_state(id).unwrap(), AccountState::default());
        let snap = Snapshot {
            user: Part::complete(UserInfo { balance: Amount::Quota(1234), ..Default::default() }),
            today: Part::complete(TodayUsage { spend: Amount::Quota(50), ..Default::default() }),
            ..Default::default()
        };
        let ok = AccountState { snapshot: Some(Box::new(snap)), last_attempt_at: Some(5), ..Default::default() };
        s.save_account_state(id, &ok, "2026-11-25").unwrap();
        assert_eq!(s.account_state(id).unwrap(), ok);
        // A failed refresh on the same day does not wipe the history row.
        let failed = AccountState {
            last_error: Some(ErrorInfo { kind: "unavailable".into(), message: "down".into() }),
            ..ok.clone()
        };
        s.save_account_state(id, &failed, "2026-11-25").unwrap();
        let h = s.daily_history(id).unwrap();
        let row = |b, s| DailyRow { day: "2026-11-25".into(), balance: Some(b), spend: Some(s) };
        assert_eq!(h, vec![row(Amount::Quota(1234), Amount::Quota(50))]);
        assert_eq!(s.account_states().unwrap().get(&id), Some(&failed));
        // Money replaces quota whole (no half-quota, half-money day).
        let mut money = ok.clone();
        let snap = money.snapshot.as_mut().unwrap();
        snap.user.value.as_mut().unwrap().balance = Amount::money(21.14, "CNY");
        snap.today.value.as_mut().unwrap().spend = Amount::money(0.0049, "CNY");
        s.save_account_state(id, &money, "2026-11-25").unwrap();
        let h = s.daily_history(id).unwrap();
        assert_eq!(h, vec![row(Amount::money(21.14, "CNY"), Amount::money(0.0049, "CNY"))]);
    }

    #[test]
    fn a_money_native_state_from_an_older_build_reads_back_as_usd() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let voapi = add_account(&mut s, "https://v.example", "V", SiteKind::VoapiV2);
        let newapi = add_account(&mut s, "https://n.example", "V", SiteKind::NewApi);
        // What builds before money-native amounts wrote: quota = USD × 500 000.
        let old = serde_json::json!({"snapshot": {"fetched_at": 1, "system_name": null, "notice": null,
            "currency": {"quota_per_unit": 500000.0, "display": "USD", "usd_exchange_rate": 7.3,
                "custom_symbol": "¤", "custom_rate": 1.0},
            "user": {"value": {"id": "1", "username": "u", "display_name": "", "group": "", "role": 1,
                "quota": 10_570_000, "used_quota": 16_055_000, "request_count": 3}, "availability": {"state": "complete"}},
            "today": {"value": null, "availability": {"state": "unsupported"}},
            "keys": {"value": [{"id": 1, "name": "k", "key": "sk-a***b", "masked": true, "status": 1,
                "remain_quota": 1_500_000, "used_quota": 250_000, "unlimited_quota": false, "expired_time": -1,
                "group": "", "models": ""}], "availability": {"state": "complete"}},
            "models": {"value": null, "availability": {"state": "unsupported"}},
            "groups": {"value": null, "availability": {"state": "unsupported"}},
            "checkin": {"value": null, "availability": {"state": "unsupported"}}},
            "last_error": null, "last_attempt_at": 1, "consecutive_failures": 0});
        for id in [voapi, newapi] {
            let sealed = s.secrets.seal(old.to_string().as_bytes()).unwrap();
            s.conn
                .execute(
                    "INSERT INTO account_state(account_id, state_sealed, updated_at) VALUES (?1, ?2, 0)",
                    params![id, sealed],
                )
                .unwrap();
        }
        let all = s.account_states().unwrap();
        for st in [s.account_state(voapi).unwrap(), all[&voapi].clone()] {
            let snap = st.snapshot.unwrap();
            let u = snap.user.value.unwrap();
            assert_eq!((u.balance, u.used), (Amount::money(21.14, "USD"), Amount::money(32.11, "USD")));
            let k = &snap.keys.value.unwrap()[0];
            assert_eq!((&k.remain, &k.used), (&Amount::money(3.0, "USD"), &Amount::money(0.5, "USD")));
        }
        // A quota site's quota stays quota.
        let u = all[&newapi].snapshot.as_ref().unwrap().user.value.clone().unwrap();
        assert_eq!(u.balance, Amount::Quota(10_570_000));
    }
}
