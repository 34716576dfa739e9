//! Account actions: key management, redeem and check-in. Each runs against one
//! account with its stored credentials; key and redeem actions then refresh that
//! account so the table shows the result. Check-in never happens during a refresh.
//!
//! "Check in all" takes every enabled account whose kind has check-in and whose site
//! has it switched on (per the last refresh's status flag), skips those already done
//! today (the store's record, in the site's day boundary: Veloera UTC, others local),
//! runs one check-in per site at a time and many sites at once (the relay client's
//! per-origin limiter still applies), and returns a summary.

use std::collections::BTreeMap;

use futures_util::StreamExt;

pub use super::checkin_schedule::{checkin_day, checkin_eligible};
use super::refresh::refresh_one;
use crate::domain::money::Amount;
use crate::domain::snapshot::{AccountState, ApiKey};
use crate::domain::{Account, AccountId, Credentials, SiteKind};
use crate::relay::checkin::CheckinOutcome;
use crate::relay::keys::KeySpec;
use crate::relay::{AccountRef, RelayClient, RelayError};
use crate::store::{CheckinRecord, CheckinRecordOutcome, SharedStore, StoreError};

/// Why an action failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The site refused or could not be reached.
    #[error("{0}")]
    Relay(#[from] RelayError),
    /// The local store failed.
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for ActionError {
    fn from(e: StoreError) -> Self {
        ActionError::Store(e.to_string())
    }
}

impl ActionError {
    /// `auth`, `rate_limited`, … for relay errors; `store` otherwise.
    pub fn kind(&self) -> &'static str {
        match self {
            ActionError::Relay(e) => e.kind(),
            ActionError::Store(_) => "store",
        }
    }
}

/// A key action the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyAction {
    /// Create a key.
    Create(KeySpec),
    /// Edit a key.
    Update {
        /// Site id of the key.
        id: i64,
        /// New values.
        spec: KeySpec,
    },
    /// Enable or disable a key.
    SetEnabled {
        /// Site id of the key.
        id: i64,
        /// Enable (true) or disable.
        enabled: bool,
    },
    /// Delete a key.
    Delete {
        /// Site id of the key.
        id: i64,
    },
    /// Reveal a masked key (critical-limited on the site; explicit only).
    Reveal {
        /// Site id of the key.
        id: i64,
    },
}

/// What a finished key action produced.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyActionDone {
    /// The account's state after the action (refreshed; revealed keys stored).
    pub state: AccountState,
    /// The created key (create only).
    pub created: Option<ApiKey>,
    /// The full key (reveal, or create when the site returned it in full).
    pub full_key: Option<String>,
}

/// What a redeemed code gave.
#[derive(Debug, Clone, PartialEq)]
pub struct RedeemDone {
    /// Quota added.
    pub quota: i64,
    /// The amount in the site's currency ("$5.00").
    pub amount_text: String,
    /// The account's state after refreshing.
    pub state: AccountState,
}

/// One account's check-in result.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckinStatus {
    /// Checked in now; the reward and its text, when the site says.
    Done {
        /// Reward: quota, or money on money-native kinds.
        reward: Option<Amount>,
        /// Reward in the site's currency, never a non-zero amount as zero (`$0.0049`).
        reward_text: Option<String>,
    },
    /// Already done today (by the site's word or our record).
    Already,
    /// Done by hand today (the user marked it done).
    Manual,
    /// The site wants a human: open `url`.
    NeedsHuman {
        /// The site's message.
        message: String,
    },
    /// Failed.
    Failed {
        /// Error class.
        kind: String,
        /// One line.
        message: String,
    },
}

/// One line of the check-in summary.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinEntry {
    /// Which account.
    pub account_id: AccountId,
    /// Site name.
    pub site_name: String,
    /// Account label (username or user id).
    pub account: String,
    /// Where to check in by hand (the site's personal page).
    pub site_url: String,
    /// Result.
    pub status: CheckinStatus,
}

/// The result of "check in all".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckinSummary {
    /// Results, in site order.
    pub entries: Vec<CheckinEntry>,
    /// Enabled accounts skipped because their site has no check-in.
    pub unsupported: usize,
}

impl CheckinSummary {
    /// Counts: (done, already, needs human, failed).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for e in &self.entries {
            match e.status {
                CheckinStatus::Done { .. } => c.0 += 1,
                CheckinStatus::Already | CheckinStatus::Manual => c.1 += 1,
                CheckinStatus::NeedsHuman { .. } => c.2 += 1,
                CheckinStatus::Failed { .. } => c.3 += 1,
            }
        }
        c
    }
}

fn target(account: &Account) -> AccountRef {
    AccountRef {
        site_url: account.site.url.clone(),
        kind: account.site.kind,
        user_id: account.user_id.clone(),
        auth: account.auth,
    }
}

async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ActionError> {
    Ok(store.run(f).await?)
}

async fn credentials(store: &SharedStore, id: AccountId) -> Result<Credentials, ActionError> {
    blocking(store, move |s| s.credentials(id)).await
}

async fn refreshed(relay: &RelayClient, store: &SharedStore, account: &Account) -> Result<AccountState, ActionError> {
    refresh_one(relay, store, account).await.map_err(ActionError::Store)
}

/// Stores full keys into the account's saved snapshot (a masked key never replaces a
/// full one, so later refreshes keep them).
async fn store_full_keys(
    store: &SharedStore,
    id: AccountId,
    full: Vec<(i64, String)>,
) -> Result<AccountState, ActionError> {
    blocking(store, move |s| {
        let mut st = s.account_state(id)?;
        if let Some(keys) = st.snapshot.as_mut().and_then(|snap| snap.keys.value.as_mut()) {
            for k in keys.iter_mut() {
                if let Some((_, key)) = full.iter().find(|(kid, _)| *kid == k.id) {
                    k.key = key.clone();
                    k.masked = false;
                }
            }
        }
        let day = crate::domain::time::local_day(crate::domain::time::now_unix());
        s.save_account_state(id, &st, &day)?;
        Ok(st)
    })
    .await
}

/// Runs a key action, then refreshes the account (a reveal only stores the key).
pub async fn run_key_action(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    action: KeyAction,
) -> Result<KeyActionDone, ActionError> {
    let creds = credentials(store, account.id).await?;
    let t = target(account);
    let mut created = None;
    let mut full_key = None;
    match &action {
        KeyAction::Create(spec) => {
            let k = relay.create_key(&t, &creds, spec).await?;
            if !k.masked {
                full_key = Some(k.key.clone());
            }
            log::info!("key {} created on {}", k.name, account.site.url);
            created = Some(k);
        }
        KeyAction::Update { id, spec } => relay.update_key(&t, &creds, *id, spec).await?,
        KeyAction::SetEnabled { id, enabled } => relay.set_key_enabled(&t, &creds, *id, *enabled).await?,
        KeyAction::Delete { id } => {
            relay.delete_key(&t, &creds, *id).await?;
            log::info!("key #{id} deleted on {}", account.site.url);
        }
        KeyAction::Reveal { id } => {
            let full = relay.reveal_keys(&t, &creds, &[*id]).await?;
            let key = full
                .first()
                .map(|(_, k)| k.clone())
                .ok_or_else(|| RelayError::Server { message: format!("the site did not reveal key #{id}") })?;
            let state = store_full_keys(store, account.id, full).await?;
            return Ok(KeyActionDone { state, created: None, full_key: Some(key) });
        }
    }
    let mut state = refreshed(relay, store, account).await?;
    if let (Some(k), Some(full)) = (&created, &full_key) {
        state = store_full_keys(store, account.id, vec![(k.id, full.clone())]).await.unwrap_or(state);
    }
    Ok(KeyActionDone { state, created, full_key })
}

/// Redeems a code, then refreshes the account. Never retried.
pub async fn redeem(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    code: &str,
) -> Result<RedeemDone, ActionError> {
    let creds = credentials(store, account.id).await?;
    let r = relay.redeem(&target(account), &creds, code).await?;
    log::info!("redeemed a code on {}: {} quota", account.site.url, r.quota);
    let state = refreshed(relay, store, account).await?;
    let cs = state.snapshot.as_ref().map(|s| s.currency.clone()).unwrap_or_default();
    Ok(RedeemDone { quota: r.quota, amount_text: cs.format_quota(r.quota), state })
}

/// The page where a human checks in by hand (clients.md §6; the kind's profile:
/// new-api family `/console/personal`, Veloera `/app/me`, AnyRouter `/console/topup`).
pub fn manual_checkin_url(kind: SiteKind, site_url: &str) -> String {
    crate::domain::profile::Profile::page_url(
        site_url,
        crate::domain::profile::Profile::for_kind(kind).manual_checkin_path,
    )
}

fn label(account: &Account) -> String {
    if account.username.is_empty() { account.user_id.clone() } else { account.username.clone() }
}

/// Checks one account in and records the result for its day. With `refresh_after`,
/// a successful check-in refreshes the account (balance, state).
pub async fn checkin_one(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    refresh_after: bool,
) -> Result<(CheckinEntry, Option<AccountState>), ActionError> {
    let creds = credentials(store, account.id).await?;
    let outcome = relay.checkin(&target(account), &creds).await;
    let day = checkin_day(account.site.kind, crate::domain::time::now_unix());
    let previous = blocking(store, {
        let id = account.id;
        move |s| s.account_state(id)
    })
    .await?;
    let cs = previous.snapshot.as_ref().map(|s| s.currency.clone()).unwrap_or_default();
    let (status, rec) = match outcome {
        Ok(CheckinOutcome::Done { mut reward }) => {
            // A money reward is in the currency the site bills the account in.
            if let (Some(Amount::Money(c)), Some(cur)) =
                (reward.as_mut(), previous.snapshot.as_ref().and_then(|s| s.money_currency()))
            {
                c.currency = cur.to_string();
            }
            let reward_text = reward.as_ref().map(|r| r.text(&cs));
            (
                CheckinStatus::Done { reward: reward.clone(), reward_text },
                (CheckinRecordOutcome::Done, reward, String::new()),
            )
        }
        Ok(CheckinOutcome::AlreadyDone) => {
            (CheckinStatus::Already, (CheckinRecordOutcome::Already, None, String::new()))
        }
        Ok(CheckinOutcome::NeedsHuman { message }) => {
            (CheckinStatus::NeedsHuman { message: message.clone() }, (CheckinRecordOutcome::NeedsHuman, None, message))
        }
        Err(e) => (
            CheckinStatus::Failed { kind: e.kind().to_string(), message: e.to_string() },
            (CheckinRecordOutcome::Failed, None, e.to_string()),
        ),
    };
    log::info!("check-in on {} ({}): {}", account.site.url, account.site.kind, rec.0.as_str());
    let record = CheckinRecord { day, outcome: rec.0, reward: rec.1, message: rec.2, updated_at: 0 };
    let id = account.id;
    let done = record.outcome.is_done();
    let mut state = blocking(store, move |s| {
        s.save_checkin(id, &record)?;
        // Mark today's check-in in the stored snapshot so the table shows it at once.
        let mut st = s.account_state(id)?;
        if done && let Some(snap) = st.snapshot.as_mut() {
            let mut c = snap.checkin.value.clone().unwrap_or_default();
            c.supported = true;
            c.checked_in_today = Some(true);
            snap.checkin.value = Some(c);
            s.save_account_state(id, &st, &crate::domain::time::local_day(crate::domain::time::now_unix()))?;
        }
        Ok(st)
    })
    .await?;
    if refresh_after && matches!(status, CheckinStatus::Done { .. }) {
        state = refreshed(relay, store, account).await?;
    }
    let entry = CheckinEntry {
        account_id: account.id,
        site_name: account.site.name.clone(),
        account: label(account),
        site_url: manual_checkin_url(account.site.kind, &account.site.url),
        status,
    };
    Ok((entry, Some(state)))
}

/// Records today's check-in of an account as done by hand (the site wanted a human:
/// Turnstile in the browser), so "check in all" and the daily run skip it today.
pub async fn mark_checkin_done(store: &SharedStore, account: &Account) -> Result<CheckinRecord, ActionError> {
    let record = CheckinRecord {
        day: checkin_day(account.site.kind, crate::domain::time::now_unix()),
        outcome: CheckinRecordOutcome::Manual,
        reward: None,
        message: String::new(),
        updated_at: crate::domain::time::now_unix(),
    };
    let (id, rec) = (account.id, record.clone());
    blocking(store, move |s| s.save_checkin(id, &rec)).await?;
    log::info!("check-in on {} marked done by hand", account.site.url);
    Ok(record)
}

/// Checks in every eligible account of `accounts` (disabled ones skipped), one per
/// site at a time, up to `max_sites` sites at once. Accounts already done today (by
/// the store's record in the site's day) are reported as already, without a request.
pub async fn checkin_all(
    relay: &RelayClient,
    store: &SharedStore,
    accounts: Vec<Account>,
    max_sites: usize,
) -> Result<CheckinSummary, ActionError> {
    checkin_all_opts(relay, store, accounts, max_sites, false).await
}

/// [`checkin_all`]; with `force`, accounts recorded as done today are asked again.
pub async fn checkin_all_opts(
    relay: &RelayClient,
    store: &SharedStore,
    accounts: Vec<Account>,
    max_sites: usize,
    force: bool,
) -> Result<CheckinSummary, ActionError> {
    let (states, records) = blocking(store, |s| Ok((s.account_states()?, s.checkin_records()?))).await?;
    let now = crate::domain::time::now_unix();
    let mut summary = CheckinSummary::default();
    let mut by_site: BTreeMap<String, Vec<Account>> = BTreeMap::new();
    for a in accounts.into_iter().filter(|a| !a.disabled) {
        if !checkin_eligible(&a, states.get(&a.id)) {
            summary.unsupported += 1;
            continue;
        }
        let today = checkin_day(a.site.kind, now);
        if let Some(r) = records.get(&a.id).filter(|r| !force && r.day == today && r.outcome.is_done()) {
            summary.entries.push(CheckinEntry {
                account_id: a.id,
                site_name: a.site.name.clone(),
                account: label(&a),
                site_url: manual_checkin_url(a.site.kind, &a.site.url),
                status: if r.outcome == CheckinRecordOutcome::Manual {
                    CheckinStatus::Manual
                } else {
                    CheckinStatus::Already
                },
            });
            continue;
        }
        by_site.entry(a.site.url.clone()).or_default().push(a);
    }
    let results: Vec<Vec<CheckinEntry>> = futures_util::stream::iter(by_site.into_values())
        .map(|group| async move {
            let mut out = Vec::new();
            for a in group {
                match checkin_one(relay, store, &a, false).await {
                    Ok((e, _)) => out.push(e),
                    Err(e) => out.push(CheckinEntry {
                        account_id: a.id,
                        site_name: a.site.name.clone(),
                        account: label(&a),
                        site_url: manual_checkin_url(a.site.kind, &a.site.url),
                        status: CheckinStatus::Failed { kind: e.kind().to_string(), message: e.to_string() },
                    }),
                }
            }
            out
        })
        .buffer_unordered(max_sites.max(1))
        .collect()
        .await;
    summary.entries.extend(results.into_iter().flatten());
    summary.entries.sort_by(|a, b| a.site_name.cmp(&b.site_name).then(a.account_id.cmp(&b.account_id)));
    let (d, al, h, f) = summary.counts();
    log::info!(
        "check in all: {d} done, {al} already, {h} need a human, {f} failed, {} unsupported",
        summary.unsupported
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_pages_per_kind() {
        assert_eq!(manual_checkin_url(SiteKind::Veloera, "https://v.example/"), "https://v.example/app/me");
        assert_eq!(manual_checkin_url(SiteKind::NewApi, "https://n.example"), "https://n.example/console/personal");
    }

    #[test]
    fn veloera_days_are_utc() {
        // 2026-11-25 23:30 UTC: Veloera is on the 25th whatever the local zone.
        let t = 1_795_649_400;
        assert_eq!(checkin_day(SiteKind::Veloera, t), "2026-11-25");
        let local = chrono::DateTime::from_timestamp(t, 0).unwrap().with_timezone(&chrono::Local);
        assert_eq!(checkin_day(SiteKind::NewApi, t), local.format("%Y-%m-%d").to_string());
    }
}
