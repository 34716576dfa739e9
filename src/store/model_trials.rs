//! "Try a model" results: the last verification of each model on each account.

use rusqlite::params;

use super::{Store, StoreError};
use crate::domain::pricing::LastVerified;

impl Store {
    /// Records a try (replacing the previous one of the same account and model).
    pub fn save_trial(&mut self, v: &LastVerified) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO model_trials(account_id, model, ok, error_kind, message, ttft_ms, total_ms, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(account_id, model) DO UPDATE SET ok = excluded.ok, error_kind = excluded.error_kind,
               message = excluded.message, ttft_ms = excluded.ttft_ms, total_ms = excluded.total_ms, at = excluded.at",
            params![
                v.account_id,
                v.model,
                v.ok,
                v.error_kind,
                v.message,
                v.ttft_ms.map(|x| x as i64),
                v.total_ms.map(|x| x as i64),
                v.at
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored try, by account then model.
    pub fn trials(&self) -> Result<Vec<LastVerified>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT account_id, model, ok, error_kind, message, ttft_ms, total_ms, at FROM model_trials
             ORDER BY account_id, model",
        )?;
        let rows = st.query_map([], |r| {
            Ok(LastVerified {
                account_id: r.get(0)?,
                model: r.get(1)?,
                ok: r.get(2)?,
                error_kind: r.get(3)?,
                message: r.get(4)?,
                ttft_ms: r.get::<_, Option<i64>>(5)?.map(|x| x.max(0) as u64),
                total_ms: r.get::<_, Option<i64>>(6)?.map(|x| x.max(0) as u64),
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
