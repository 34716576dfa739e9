//! Incremental usage-log sync: for each account, fetch log pages newest first within
//! `[start, now]` (`/api/log/self`, sub2api `/api/v1/usage`; one loop for both) and store
//! the rows deduplicated by content hash.
//!
//! - First sync: `start = now − history depth` (default 30 days).
//! - Later syncs: `start = end of the last complete window − overlap`, so rows written
//!   at the boundary second are seen again (and skipped as known) and nothing falls in
//!   a gap. When the last sync was complete, paging also stops at the first page whose
//!   rows are all stored already.
//! - A partial sync (rate limit, failure, page cap) keeps what it fetched but does not
//!   move the window end, so the next sync covers the gap.
//! - done-hub rejects windows over 180 days: the start is clamped.
//! - sub2api windows are whole days: rows older than `start` are dropped, and paging
//!   stops at the first page that reaches them.
//! - On a 429 the sync stops at once (the client's per-origin limiter paces the rest).

use std::collections::HashMap;

use crate::domain::Account;
use crate::domain::time::now_unix;
use crate::relay::logs::{content_hash, max_window_secs, normalise_row, supports_logs};
use crate::relay::{AccountRef, Profile, RelayClient, RelayError};
use crate::store::{SharedStore, Store, StoreError};

/// Seconds re-read before the end of the last complete window.
pub const OVERLAP_SECS: i64 = 300;
pub use crate::domain::settings::{DEFAULT_HISTORY_DAYS, HISTORY_CHOICES};

/// Parses a history depth; only [`HISTORY_CHOICES`] are accepted.
pub fn parse_history_days(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|d| HISTORY_CHOICES.contains(d))
}

/// How a sync runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    /// History depth of a first sync, in days.
    pub history_days: i64,
    /// Most pages fetched for one account in one sync.
    pub max_pages: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions { history_days: DEFAULT_HISTORY_DAYS, max_pages: 1_000 }
    }
}

/// What one account's sync did.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct SyncReport {
    /// The account.
    pub account_id: i64,
    /// Pages fetched.
    pub pages: u32,
    /// Rows received.
    pub fetched: usize,
    /// Rows new to the store.
    pub inserted: usize,
    /// Why the sync stopped early (rows fetched so far are kept).
    pub partial: Option<String>,
    /// Why it failed outright (nothing fetched).
    pub error: Option<String>,
}

/// Errors that stop a sync before any page.
#[derive(Debug, thiserror::Error)]
pub enum LogSyncError {
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// The first page failed.
    #[error("{0}")]
    Relay(#[from] RelayError),
}

impl From<StoreError> for LogSyncError {
    fn from(e: StoreError) -> Self {
        LogSyncError::Store(e.to_string())
    }
}

/// Progress events for a multi-account sync.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// An account finished (successfully or not).
    AccountDone(SyncReport),
}

async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, LogSyncError> {
    Ok(store.run(f).await?)
}

/// Syncs one account. The report's `partial` says when it stopped early; `Err` only
/// when nothing could be fetched (the error is also saved in the sync state).
pub async fn sync_account(
    relay: &RelayClient,
    store: &SharedStore,
    account: &Account,
    opts: &SyncOptions,
) -> Result<SyncReport, LogSyncError> {
    let id = account.id;
    let kind = account.site.kind;
    let mut report = SyncReport { account_id: id, ..Default::default() };
    if !supports_logs(kind) || account.auth == crate::domain::AuthMethod::ApiKey {
        report.partial = Some("this site kind or sign-in has no usage log endpoint".into());
        return Ok(report);
    }
    let (creds, st) = with_store(store, move |s| Ok((s.credentials(id)?, s.log_sync_state(id)?))).await?;
    let end = now_unix();
    let mut start = match st.synced_until {
        Some(t) => t - OVERLAP_SECS,
        None => end - opts.history_days.max(1) * 86_400,
    };
    if let Some(w) = max_window_secs(kind) {
        start = start.max(end - w);
    }
    let may_stop_at_known = st.synced_until.is_some() && st.last_complete;
    let target =
        AccountRef { site_url: account.site.url.clone(), kind, user_id: account.user_id.clone(), auth: account.auth };
    let spec = Profile::for_kind(kind).logs;
    let mut page = i64::from(spec.first_page);
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut prev_sig: Option<Vec<String>> = None;
    loop {
        if report.pages >= opts.max_pages {
            report.partial = Some(format!("stopped after {} pages", opts.max_pages));
            break;
        }
        let p = match relay.fetch_log_page(&target, &creds, page, start, end).await {
            Ok(p) => p,
            Err(e) if report.pages == 0 => {
                let msg = e.to_string();
                with_store(store, move |s| s.save_log_sync_state(id, None, Some(&msg))).await?;
                return Err(e.into());
            }
            Err(e) => {
                report.partial = Some(format!("page {page}: {e}"));
                break;
            }
        };
        if p.items.is_empty() {
            break;
        }
        let mut rows: Vec<_> = p.items.iter().filter_map(|v| normalise_row(kind, v)).collect();
        // Rows come newest first; one older than the window means the window is done
        // (sub2api's whole-day windows reach past `start`; the rest filter on the site).
        let reached_start = rows.iter().any(|r| r.created_at < start);
        rows.retain(|r| r.created_at >= start);
        let sig: Vec<String> = rows.iter().map(|r| r.content_hash.clone()).collect();
        if prev_sig.as_ref() == Some(&sig) {
            break; // the same page again (new-api maps p=0 and p=1 alike)
        }
        prev_sig = Some(sig);
        for r in &mut rows {
            r.account_id = id;
            let n = seen.entry(r.content_hash.clone()).or_insert(0);
            if *n > 0 {
                r.content_hash = content_hash(r, *n);
            }
            *n += 1;
        }
        let n = p.items.len();
        report.pages += 1;
        report.fetched += rows.len();
        let inserted = with_store(store, move |s| s.insert_usage_logs(&rows)).await?;
        report.inserted += inserted;
        if inserted == 0 && may_stop_at_known {
            break; // reached rows already stored
        }
        if reached_start {
            break;
        }
        if p.total.is_some_and(|t| report.fetched as u64 >= t) || n < spec.page_size as usize {
            break;
        }
        page = p.page.unwrap_or(page) + 1;
    }
    let complete_until = report.partial.is_none().then_some(end);
    let err = report.partial.clone();
    with_store(store, move |s| s.save_log_sync_state(id, complete_until, err.as_deref())).await?;
    log::info!(
        "log sync of account {id}: {} pages, {} rows, {} new{}",
        report.pages,
        report.fetched,
        report.inserted,
        report.partial.as_deref().map(|p| format!(" (partial: {p})")).unwrap_or_default()
    );
    Ok(report)
}

/// Syncs accounts one after another (each site's limiter paces its own requests),
/// reporting each account as it finishes.
pub async fn sync_accounts(
    relay: RelayClient,
    store: SharedStore,
    accounts: Vec<Account>,
    opts: SyncOptions,
    on_event: impl Fn(SyncEvent) + Send + Sync + 'static,
) -> Vec<SyncReport> {
    let mut out = Vec::new();
    for a in accounts {
        let r = match sync_account(&relay, &store, &a, &opts).await {
            Ok(r) => r,
            Err(e) => {
                log::warn!("log sync of account {} failed: {e}", a.id);
                SyncReport { account_id: a.id, error: Some(e.to_string()), ..Default::default() }
            }
        };
        on_event(SyncEvent::AccountDone(r.clone()));
        out.push(r);
    }
    out
}

/// The site's own figure for a window beside the local sum.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteStat {
    /// The account.
    pub account_id: i64,
    /// Billed quota the site reports (`Ok(None)`: the kind has no stat endpoint).
    pub site_quota: Result<Option<i64>, String>,
}

/// Asks each account's site for its billed sum in `[since, until]`.
pub async fn site_stats(
    relay: RelayClient,
    store: SharedStore,
    accounts: Vec<Account>,
    since: i64,
    until: i64,
) -> Vec<SiteStat> {
    let mut out = Vec::new();
    for a in accounts {
        let id = a.id;
        let site_quota = match with_store(&store, move |s| s.credentials(id)).await {
            Err(e) => Err(e.to_string()),
            Ok(creds) => {
                let target = AccountRef {
                    site_url: a.site.url.clone(),
                    kind: a.site.kind,
                    user_id: a.user_id.clone(),
                    auth: a.auth,
                };
                relay.fetch_log_stat(&target, &creds, since, until).await.map_err(|e| e.to_string())
            }
        };
        out.push(SiteStat { account_id: id, site_quota });
    }
    out
}
