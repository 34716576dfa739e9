//! What each account shows now, from what the store holds: the alerts the table shows
//! (`domain::alerts::evaluate`: low balance in the site's currency or USD, failing
//! refreshes, expiring keys), keys whose quota is used up, and today's failed check-in.

use std::collections::HashMap;

use crate::domain::alerts::{Alert, AlertSettings, evaluate};
use crate::domain::notify::Condition;
use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};
use crate::engine::checkin_schedule::checkin_day;
use crate::store::{CheckinRecord, CheckinRecordOutcome, Found};

/// Key status the sites use for "quota used up".
const KEY_EXHAUSTED: i64 = 4;

/// `Site / user` (or the site alone for a key-only account without a name).
pub fn subject(a: &Account) -> String {
    let who = if a.username.is_empty() { &a.user_id } else { &a.username };
    if who.is_empty() { a.site.name.clone() } else { format!("{} / {who}", a.site.name) }
}

/// The conditions of every account at `now`.
pub fn found(
    accounts: &[Account],
    states: &HashMap<AccountId, AccountState>,
    records: &HashMap<AccountId, CheckinRecord>,
    alerts: &AlertSettings,
    now: i64,
) -> Vec<Found> {
    accounts
        .iter()
        .map(|a| {
            let st = states.get(&a.id);
            let mut conditions: Vec<Condition> = evaluate(a, st, alerts, now)
                .into_iter()
                .map(|alert| match alert {
                    Alert::Failing { count } => Condition::Failing {
                        count,
                        error: st.and_then(|s| s.last_error.as_ref()).map(|e| e.message.clone()).unwrap_or_default(),
                    },
                    other => other.into(),
                })
                .collect();
            if !a.disabled {
                if let Some(keys) = st.and_then(|s| s.snapshot.as_ref()).and_then(|s| s.keys.value.as_ref()) {
                    for k in keys.iter().filter(|k| k.status == KEY_EXHAUSTED) {
                        conditions.push(Condition::KeyExhausted { key_name: k.name.clone() });
                    }
                }
                let today = checkin_day(a.site.kind, now);
                if let Some(r) = records.get(&a.id).filter(|r| r.day == today) {
                    let message = match r.outcome {
                        CheckinRecordOutcome::Failed => Some(r.message.clone()),
                        CheckinRecordOutcome::NeedsHuman if r.message.is_empty() => {
                            Some("the site wants a human (captcha): check in by hand".into())
                        }
                        CheckinRecordOutcome::NeedsHuman => Some(r.message.clone()),
                        _ => None,
                    };
                    if let Some(message) = message {
                        conditions.push(Condition::CheckinFailed { day: today, message });
                    }
                }
            }
            let healthy = !a.disabled && st.is_some_and(|s| s.last_attempt_at.is_some() && s.last_error.is_none());
            Found { account_id: a.id, subject: subject(a), conditions, healthy }
        })
        .collect()
}
