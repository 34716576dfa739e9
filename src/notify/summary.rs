//! The daily summary from what the store holds: total balance per currency, today's
//! spend per account and in total (synced log rows where they cover today, else the
//! last refresh of today), failing accounts, keys expiring, check-ins done and missed.

use std::collections::{BTreeMap, HashMap};

use crate::domain::alerts::{Alert, evaluate};
use crate::domain::notify::{DailySummary, KeyLine, MoneyLine, SiteSpend};
use crate::engine::checkin_schedule::{checkin_day, checkin_eligible};
use crate::store::{Store, StoreError};

use super::detect::subject;

fn add(totals: &mut BTreeMap<String, f64>, currency: String, amount: f64) {
    if amount.is_finite() {
        *totals.entry(currency).or_insert(0.0) += amount;
    }
}

fn lines(totals: BTreeMap<String, f64>) -> Vec<MoneyLine> {
    // USD first, then CNY, then the rest by name: the order people read them in.
    let rank = |c: &str| match c {
        "USD" => 0,
        "CNY" => 1,
        _ => 2,
    };
    let mut v: Vec<MoneyLine> = totals
        .into_iter()
        .map(|(currency, amount)| MoneyLine { amount: (amount * 1e6).round() / 1e6, currency })
        .collect();
    v.sort_by(|a, b| rank(&a.currency).cmp(&rank(&b.currency)).then(a.currency.cmp(&b.currency)));
    v
}

/// The summary of local day `day` at `now`.
pub fn build(store: &Store, day: &str, now: i64) -> Result<DailySummary, StoreError> {
    let settings = store.load_settings()?.settings;
    let accounts = store.list_accounts()?;
    let states = store.account_states()?;
    let records = store.checkin_records()?;
    let day_start = crate::domain::time::local_midnight(0);
    let from_logs: HashMap<_, _> = store.today_from_logs(day_start)?;
    let mut s = DailySummary { day: day.to_string(), ..Default::default() };
    let mut balances = BTreeMap::new();
    let mut spent = BTreeMap::new();
    for a in accounts.iter().filter(|a| !a.disabled) {
        s.accounts += 1;
        let st = states.get(&a.id);
        let snap = st.and_then(|s| s.snapshot.as_ref());
        if let Some(snap) = snap {
            let cs = &snap.currency;
            if let Some(u) = &snap.user.value {
                add(&mut balances, u.balance.currency(cs), u.balance.value(cs));
            }
            let today =
                from_logs.get(&a.id).or_else(|| snap.today.value.as_ref().filter(|_| snap.fetched_at >= day_start));
            if let Some(t) = today {
                let (amount, currency) = (t.spend.value(cs), t.spend.currency(cs));
                if amount > 0.0 {
                    add(&mut spent, currency.clone(), amount);
                    s.spend.push(SiteSpend { subject: subject(a), amount, currency });
                }
            }
        }
        if st.is_some_and(|s| s.last_error.is_some()) {
            s.failing.push(subject(a));
        }
        for alert in evaluate(a, st, &settings.alerts, now) {
            if let Alert::KeyExpiring { key_name, days, .. } = alert {
                s.keys_expiring.push(KeyLine { subject: subject(a), key_name, days });
            }
        }
        if checkin_eligible(a, st) {
            let site_day = checkin_day(a.site.kind, now);
            let by_record = records.get(&a.id).is_some_and(|r| r.day == site_day && r.outcome.is_done());
            let by_site = snap.is_some_and(|snap| {
                snap.fetched_at >= day_start
                    && snap.checkin.value.as_ref().and_then(|c| c.checked_in_today) == Some(true)
            });
            if by_record || by_site {
                s.checkins_done += 1;
            } else {
                s.checkins_missed.push(subject(a));
            }
        }
    }
    s.spend.sort_by(|a, b| b.amount.partial_cmp(&a.amount).unwrap_or(std::cmp::Ordering::Equal));
    s.balances = lines(balances);
    s.spend_total = lines(spent);
    Ok(s)
}
