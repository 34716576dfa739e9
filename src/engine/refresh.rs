//! Refresh many accounts at once: bounded global concurrency (the relay client adds
//! the per-origin limiter), progress events streaming to the caller, cancellation,
//! merge into the stored state, persistence.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use super::merge::merge;
use crate::domain::snapshot::{AccountState, ErrorInfo, Snapshot};
use crate::domain::{Account, AccountId, Credentials};
use crate::store::SharedStore;

/// Default global limit on accounts refreshed at once. High on purpose: the relay
/// client's per-origin limiter is what keeps each site's budget (an account spends most
/// of its refresh waiting for its site's ~1 request/s), this only bounds sockets and
/// memory. Above the 300 accounts our heaviest users hold, so "refresh all" takes about
/// as long as the slowest site, not twice that (`benches/refresh_all.rs`). The process
/// raises its open-files limit at start for the sockets this needs.
pub const DEFAULT_MAX_CONCURRENCY: usize = 512;

/// Where snapshots come from (the relay client in the app; fakes in unit tests).
pub trait SnapshotSource: Send + Sync + 'static {
    /// Fetches one account's snapshot.
    fn fetch(&self, account: &Account, creds: &Credentials)
    -> impl Future<Output = Result<Snapshot, ErrorInfo>> + Send;
}

/// A progress event.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshEvent {
    /// The run started with this many accounts.
    Started {
        /// Accounts to refresh.
        total: usize,
    },
    /// One account finished (successfully or not); `state` is the merged, saved state.
    AccountDone {
        /// Which account.
        account_id: AccountId,
        /// Its new state.
        state: Box<AccountState>,
    },
    /// The run ended.
    Finished(RefreshSummary),
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshSummary {
    /// Accounts attempted.
    pub attempted: usize,
    /// Succeeded.
    pub ok: usize,
    /// Failed.
    pub failed: usize,
    /// Skipped because the run was cancelled.
    pub cancelled: usize,
}

/// Cancels a running refresh: accounts not yet started are skipped.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether cancellation was asked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Refreshes `accounts` (already chosen by the caller: disabled ones filtered out).
/// Credentials and previous states are read from the store; every result is merged
/// and saved before its event is sent.
pub async fn refresh_accounts<S: SnapshotSource>(
    source: Arc<S>,
    store: SharedStore,
    accounts: Vec<Account>,
    max_concurrency: usize,
    cancel: CancelFlag,
    on_event: impl Fn(RefreshEvent) + Send + Sync + 'static,
) -> RefreshSummary {
    let on_event = Arc::new(on_event);
    let total = accounts.len();
    on_event(RefreshEvent::Started { total });
    let results = futures_util::stream::iter(accounts)
        .map(|account| {
            let source = source.clone();
            let store = store.clone();
            let cancel = cancel.clone();
            let on_event = on_event.clone();
            async move {
                if cancel.is_cancelled() {
                    return None;
                }
                let ok = refresh_one(&*source, &store, &account).await.map(|state| {
                    let ok = state.last_error.is_none();
                    on_event(RefreshEvent::AccountDone { account_id: account.id, state: Box::new(state) });
                    ok
                });
                Some(ok.unwrap_or(false))
            }
        })
        .buffer_unordered(max_concurrency.max(1))
        .collect::<Vec<Option<bool>>>()
        .await;
    let mut summary = RefreshSummary::default();
    for r in results {
        match r {
            None => summary.cancelled += 1,
            Some(true) => {
                summary.attempted += 1;
                summary.ok += 1;
            }
            Some(false) => {
                summary.attempted += 1;
                summary.failed += 1;
            }
        }
    }
    log::info!(
        "refresh finished: {} ok, {} failed, {} cancelled of {total}",
        summary.ok,
        summary.failed,
        summary.cancelled
    );
    on_event(RefreshEvent::Finished(summary));
    summary
}

/// [`SharedStore::run`] with the error as text.
async fn with_store<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, String> {
    store.run(f).await.map_err(|e| e.to_string())
}

/// Refreshes one account and saves the merged state. `Err` only when the store fails.
pub async fn refresh_one<S: SnapshotSource>(
    source: &S,
    store: &SharedStore,
    account: &Account,
) -> Result<AccountState, String> {
    let id = account.id;
    let (creds, previous) = with_store(store, move |s| Ok((s.credentials(id)?, s.account_state(id)?))).await?;
    let started = crate::domain::time::now_unix();
    let outcome = source.fetch(account, &creds).await;
    if let Err(e) = &outcome {
        log::warn!("refresh of {} ({}) failed: {} — {}", account.site.name, account.site.url, e.kind, e.message);
    }
    let state = merge(previous, outcome, started);
    let day = crate::domain::time::local_day(started);
    let saved = state.clone();
    with_store(store, move |s| s.save_account_state(id, &saved, &day)).await?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::domain::snapshot::{Part, UserInfo};
    use crate::domain::{AuthMethod, NewAccount, SiteKind};
    use crate::store::Store;

    struct Fake {
        in_flight: AtomicUsize,
        max_seen: AtomicUsize,
    }

    impl SnapshotSource for Fake {
        async fn fetch(&self, account: &Account, _creds: &Credentials) -> Result<Snapshot, ErrorInfo> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_seen.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if account.user_id.ends_with('3') {
                return Err(ErrorInfo { kind: "unavailable".into(), message: "HTTP 502".into() });
            }
            Ok(Snapshot {
                user: Part::complete(UserInfo {
                    balance: crate::domain::money::Amount::Quota(account.user_id.parse().unwrap_or(0)),
                    ..Default::default()
                }),
                ..Default::default()
            })
        }
    }

    fn seed(n: usize) -> (tempfile::TempDir, SharedStore, Vec<Account>) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        {
            let mut s = store.lock().unwrap();
            for i in 0..n {
                s.upsert_account(&NewAccount {
                    site_url: format!("https://s{i}.example"),
                    site_name: format!("S{i}"),
                    kind: SiteKind::NewApi,
                    user_id: i.to_string(),
                    username: String::new(),
                    auth: AuthMethod::AccessToken,
                    credentials: Credentials::default(),
                })
                .unwrap();
            }
        }
        let accounts = store.lock().unwrap().list_accounts().unwrap();
        (dir, store, accounts)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refreshes_all_with_bounded_concurrency_and_streams_events() {
        let (_dir, store, accounts) = seed(12);
        let fake = Arc::new(Fake { in_flight: AtomicUsize::new(0), max_seen: AtomicUsize::new(0) });
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let summary =
            refresh_accounts(fake.clone(), store.clone(), accounts.clone(), 4, CancelFlag::default(), move |e| {
                ev.lock().unwrap().push(e)
            })
            .await;
        assert_eq!(summary, RefreshSummary { attempted: 12, ok: 11, failed: 1, cancelled: 0 });
        assert!(fake.max_seen.load(Ordering::SeqCst) <= 4);
        assert!(fake.max_seen.load(Ordering::SeqCst) >= 2, "ran concurrently");
        let events = events.lock().unwrap();
        assert_eq!(events.first(), Some(&RefreshEvent::Started { total: 12 }));
        assert_eq!(events.iter().filter(|e| matches!(e, RefreshEvent::AccountDone { .. })).count(), 12);
        assert!(matches!(events.last(), Some(RefreshEvent::Finished(_))));
        // Results landed in the store.
        let states = store.lock().unwrap().account_states().unwrap();
        assert_eq!(states.len(), 12);
        let failed = accounts.iter().find(|a| a.user_id == "3").unwrap();
        assert_eq!(states[&failed.id].last_error.as_ref().unwrap().kind, "unavailable");
    }

    #[tokio::test]
    async fn a_cancelled_run_skips_what_has_not_started() {
        let (_dir, store, accounts) = seed(5);
        let fake = Arc::new(Fake { in_flight: AtomicUsize::new(0), max_seen: AtomicUsize::new(0) });
        let cancel = CancelFlag::default();
        cancel.cancel();
        let summary = refresh_accounts(fake, store, accounts, 2, cancel, |_| {}).await;
        assert_eq!(summary.cancelled, 5);
        assert_eq!(summary.attempted, 0);
    }

    #[tokio::test]
    async fn a_failure_after_success_keeps_the_balance() {
        let (_dir, store, accounts) = seed(4);
        let fake = Fake { in_flight: AtomicUsize::new(0), max_seen: AtomicUsize::new(0) };
        let acc2 = accounts.iter().find(|a| a.user_id == "2").unwrap().clone();
        let ok = refresh_one(&fake, &store, &acc2).await.unwrap();
        assert_eq!(
            ok.snapshot.as_ref().unwrap().user.value.as_ref().unwrap().balance,
            crate::domain::money::Amount::Quota(2)
        );
        // Same account id, but make the fake fail by pretending the user id changed.
        let mut broken = acc2.clone();
        broken.user_id = "23".into();
        let failed = refresh_one(&fake, &store, &broken).await.unwrap();
        assert_eq!(failed.snapshot, ok.snapshot, "last good data stays");
        assert_eq!(failed.consecutive_failures, 1);
    }
}
