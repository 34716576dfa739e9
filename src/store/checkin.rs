//! Check-in state per account: the last result and the day it belongs to, in the
//! site's own day boundary (the caller computes `day`). "Check in all" reads it to skip
//! accounts already done today.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::domain::AccountId;
use crate::domain::money::Amount;
use crate::domain::time::now_unix;

/// How a recorded check-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckinRecordOutcome {
    /// Checked in by us.
    Done,
    /// The site said it was already done.
    Already,
    /// The site wants a human (captcha, Turnstile).
    NeedsHuman,
    /// Failed.
    Failed,
    /// Done by hand in the browser; the user marked it done.
    Manual,
}

impl CheckinRecordOutcome {
    /// Stable name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckinRecordOutcome::Done => "done",
            CheckinRecordOutcome::Already => "already",
            CheckinRecordOutcome::NeedsHuman => "needs_human",
            CheckinRecordOutcome::Failed => "failed",
            CheckinRecordOutcome::Manual => "manual",
        }
    }

    fn parse(s: &str) -> CheckinRecordOutcome {
        match s {
            "done" => CheckinRecordOutcome::Done,
            "already" => CheckinRecordOutcome::Already,
            "needs_human" => CheckinRecordOutcome::NeedsHuman,
            "manual" => CheckinRecordOutcome::Manual,
            _ => CheckinRecordOutcome::Failed,
        }
    }

    /// Whether the day's check-in is settled (done by us, already done, or marked
    /// done by hand).
    pub fn is_done(self) -> bool {
        matches!(self, CheckinRecordOutcome::Done | CheckinRecordOutcome::Already | CheckinRecordOutcome::Manual)
    }
}

/// The last check-in of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinRecord {
    /// `YYYY-MM-DD` in the site's day boundary.
    pub day: String,
    /// Result.
    pub outcome: CheckinRecordOutcome,
    /// Reward (quota, or money on money-native kinds), when known.
    pub reward: Option<Amount>,
    /// The site's message or the error line.
    pub message: String,
    /// When it was recorded (unix seconds).
    pub updated_at: i64,
}

impl Store {
    /// Records an account's check-in result (replacing the previous one). A "done"
    /// of the same day is never downgraded to a later failure.
    pub fn save_checkin(&mut self, id: AccountId, rec: &CheckinRecord) -> Result<(), StoreError> {
        if !rec.outcome.is_done()
            && let Some(prev) = self.checkin_record(id)?
            && prev.day == rec.day
            && prev.outcome.is_done()
        {
            return Ok(());
        }
        self.conn.execute(
            "INSERT INTO checkin_state(account_id, day, outcome, reward_quota, reward_amount, reward_currency,
                message, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(account_id) DO UPDATE SET day = excluded.day, outcome = excluded.outcome,
                reward_quota = excluded.reward_quota, reward_amount = excluded.reward_amount,
                reward_currency = excluded.reward_currency, message = excluded.message,
                updated_at = excluded.updated_at",
            params![
                id,
                rec.day,
                rec.outcome.as_str(),
                rec.reward.as_ref().and_then(Amount::quota),
                rec.reward.as_ref().and_then(Amount::cash).map(|c| c.amount),
                rec.reward.as_ref().and_then(Amount::cash).map(|c| c.currency.clone()),
                rec.message,
                now_unix()
            ],
        )?;
        Ok(())
    }

    /// An account's last check-in, if any.
    pub fn checkin_record(&self, id: AccountId) -> Result<Option<CheckinRecord>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT day, outcome, reward_quota, message, updated_at, reward_amount, reward_currency
                 FROM checkin_state WHERE account_id = ?1",
                [id],
                row,
            )
            .optional()?)
    }

    /// Every account's last check-in.
    pub fn checkin_records(&self) -> Result<HashMap<AccountId, CheckinRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT day, outcome, reward_quota, message, updated_at, reward_amount, reward_currency, account_id
                 FROM checkin_state",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(7)?, row(r)?)))?;
        Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckinRecord> {
    Ok(CheckinRecord {
        day: r.get(0)?,
        outcome: CheckinRecordOutcome::parse(&r.get::<_, String>(1)?),
        reward: match (r.get::<_, Option<i64>>(2)?, r.get::<_, Option<f64>>(5)?) {
            (Some(q), _) => Some(Amount::Quota(q)),
            (None, Some(a)) => Some(Amount::money(a, &r.get::<_, Option<String>>(6)?.unwrap_or_default())),
            (None, None) => None,
        },
        message: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};

    #[test]
    fn a_done_day_is_not_downgraded_and_a_new_day_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap().store;
        let id = s
            .upsert_account(&NewAccount {
                site_url: "https://a.example".into(),
                site_name: "A".into(),
                kind: SiteKind::Veloera,
                user_id: "1".into(),
                username: "u".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials::default(),
            })
            .unwrap();
        let rec = |day: &str, outcome| CheckinRecord {
            day: day.into(),
            outcome,
            reward: Some(Amount::Quota(5)),
            message: String::new(),
            updated_at: 0,
        };
        s.save_checkin(id, &rec("2026-11-25", CheckinRecordOutcome::Done)).unwrap();
        s.save_checkin(id, &rec("2026-11-25", CheckinRecordOutcome::Failed)).unwrap();
        assert_eq!(s.checkin_record(id).unwrap().unwrap().outcome, CheckinRecordOutcome::Done);
        s.save_checkin(id, &rec("2026-11-26", CheckinRecordOutcome::Failed)).unwrap();
        let all = s.checkin_records().unwrap();
        assert_eq!(all[&id].outcome, CheckinRecordOutcome::Failed);
        assert_eq!(all[&id].day, "2026-11-26");
        // Marked done by hand: kept, and a later failure the same day does not undo it.
        s.save_checkin(id, &rec("2026-11-26", CheckinRecordOutcome::Manual)).unwrap();
        s.save_checkin(id, &rec("2026-11-26", CheckinRecordOutcome::Failed)).unwrap();
        let r = s.checkin_record(id).unwrap().unwrap();
        assert_eq!(r.outcome, CheckinRecordOutcome::Manual);
        assert!(r.outcome.is_done());
    }
}
