//! Refresh many accounts at once, scheduled per origin (the relay client's per-origin
//! limiter keeps each site's budget), progress events streaming to the caller,
//! cancellation, merge into the stored state, persistence.
//!
//! Scheduling: an origin serves ~1 request/s whatever we do, so "refresh all" can end no
//! sooner than its busiest origin. Accounts are queued per origin; the origins with the
//! most accounts start first, every origin with work keeps one account in flight before
//! any origin gets a second, and an origin never has more than [`PER_ORIGIN_ACCOUNTS`]
//! (more would only wait in its limiter, holding memory). The global cap only bounds
//! the total; it never leaves an origin idle while it has room.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::merge::merge;
use crate::domain::snapshot::{AccountState, ErrorInfo, SIGN_IN_NEEDED, Snapshot};
use crate::domain::{Account, AccountId, Credentials};
use crate::store::SharedStore;

/// Default global limit on accounts refreshed at once. High on purpose: the relay
/// client's per-origin limiter is what keeps each site's budget (an account spends most
/// of its refresh waiting for its site's ~1 request/s), this only bounds sockets and
/// memory. With [`PER_ORIGIN_ACCOUNTS`] per origin it covers 256 origins fully and gives
/// every origin one account up to 512 (`benches/refresh_all.rs`). The process raises its
/// open-files limit at start for the sockets this needs.
pub const DEFAULT_MAX_CONCURRENCY: usize = 512;

/// Accounts of one origin refreshed at once: two keep the origin's pipeline (2 requests
/// in flight, ~1/s) full; a third would only wait in the limiter.
pub const PER_ORIGIN_ACCOUNTS: usize = 2;

/// Accounts queued per origin, handed out busiest origin first.
struct OriginPlan {
    queues: Vec<OriginQueue>,
}

struct OriginQueue {
    active: usize,
    pending: VecDeque<Account>,
}

impl OriginPlan {
    fn new(accounts: Vec<Account>) -> OriginPlan {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut queues: Vec<OriginQueue> = Vec::new();
        for a in accounts {
            let key = crate::relay::limiter::origin_of(&a.site.url).unwrap_or_else(|| a.site.url.clone());
            let i = *index.entry(key).or_insert_with(|| {
                queues.push(OriginQueue { active: 0, pending: VecDeque::new() });
                queues.len() - 1
            });
            queues[i].pending.push_back(a);
        }
        // Busiest first; equal ones keep the caller's order (a stable sort).
        queues.sort_by_key(|q| std::cmp::Reverse(q.pending.len()));
        OriginPlan { queues }
    }

    /// The next account to start: from an origin with room, fewest in flight first,
    /// then most accounts waiting. `None` when no origin has both room and work.
    fn next(&mut self) -> Option<(usize, Account)> {
        let i = (0..self.queues.len())
            .filter(|&i| self.queues[i].active < PER_ORIGIN_ACCOUNTS && !self.queues[i].pending.is_empty())
            .min_by_key(|&i| (self.queues[i].active, std::cmp::Reverse(self.queues[i].pending.len()), i))?;
        let q = &mut self.queues[i];
        let account = q.pending.pop_front()?;
        q.active += 1;
        Some((i, account))
    }

    fn done(&mut self, origin: usize) {
        if let Some(q) = self.queues.get_mut(origin) {
            q.active = q.active.saturating_sub(1);
        }
    }

    fn waiting(&self) -> usize {
        self.queues.iter().map(|q| q.pending.len()).sum()
    }
}

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
    let cap = max_concurrency.max(1);
    let mut plan = OriginPlan::new(accounts);
    let mut running = FuturesUnordered::new();
    let mut summary = RefreshSummary::default();
    loop {
        while running.len() < cap && !cancel.is_cancelled() {
            let Some((origin, account)) = plan.next() else { break };
            let (source, store, on_event) = (source.clone(), store.clone(), on_event.clone());
            running.push(async move {
                let ok = refresh_one(&*source, &store, &account).await.map(|state| {
                    let ok = state.last_error.is_none();
                    on_event(RefreshEvent::AccountDone { account_id: account.id, state: Box::new(state) });
                    ok
                });
                (origin, ok.unwrap_or(false))
            });
        }
        let Some((origin, ok)) = running.next().await else { break };
        plan.done(origin);
        summary.attempted += 1;
        if ok {
            summary.ok += 1;
        } else {
            summary.failed += 1;
        }
    }
    summary.cancelled = plan.waiting();
    crate::memory::release_free_heap();
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
    // An account flagged "sign-in needed" (credentials reset) stays so until credentials
    // are entered again. Only that flag is kept while the site is asked: the previous
    // state (with its price list, hundreds of models on a real site) is read again after
    // the answer, so hundreds of accounts in flight do not each hold theirs.
    let (creds, flagged) = with_store(store, move |s| {
        let flag = s.account_state(id)?.last_error.filter(ErrorInfo::is_sign_in_needed).map(|e| e.message);
        Ok((s.credentials(id), flag))
    })
    .await?;
    let started = crate::domain::time::now_unix();
    // Credentials that cannot be read or are not there are an `auth` failure of this
    // account (never a silent "no status"); the site is not asked.
    let unusable = |message: String| Err(ErrorInfo { kind: "auth".into(), message });
    let outcome = match creds {
        Ok(c) if c == Credentials::default() && flagged.is_some() => unusable(flagged.unwrap_or_default()),
        Ok(c) => source.fetch(account, &c).await,
        Err(crate::store::StoreError::Secret(e)) => {
            unusable(format!("{SIGN_IN_NEEDED}: the stored credentials cannot be decrypted ({e})"))
        }
        Err(e) => return Err(e.to_string()),
    };
    if let Err(e) = &outcome {
        log::warn!("refresh of {} ({}) failed: {} — {}", account.site.name, account.site.url, e.kind, e.message);
    }
    let day = crate::domain::time::local_day(started);
    // Read, merged and saved in one store call: what was written to the state while the
    // site was asked is merged too, never overwritten by a copy read before.
    with_store(store, move |s| {
        let state = merge(s.account_state(id)?, outcome, started);
        s.save_account_state(id, &state, &day)?;
        Ok(state)
    })
    .await
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
        seed_sites((0..n).map(|i| (format!("s{i}"), i.to_string())))
    }

    /// One account per (site, user id); the site's URL is `https://{site}.example`.
    fn seed_sites(accounts: impl Iterator<Item = (String, String)>) -> (tempfile::TempDir, SharedStore, Vec<Account>) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_shared(dir.path()).unwrap();
        {
            let mut s = store.lock().unwrap();
            for (site, user_id) in accounts {
                s.upsert_account(&NewAccount {
                    site_url: format!("https://{site}.example"),
                    site_name: site.to_uppercase(),
                    kind: SiteKind::NewApi,
                    user_id,
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

    /// Records the most accounts in flight per origin and in total.
    #[derive(Default)]
    struct Origins {
        in_flight: Mutex<HashMap<String, usize>>,
        max_per_origin: AtomicUsize,
        max_total: AtomicUsize,
    }

    impl SnapshotSource for Origins {
        async fn fetch(&self, account: &Account, _creds: &Credentials) -> Result<Snapshot, ErrorInfo> {
            let site = account.site.url.clone();
            {
                let mut m = self.in_flight.lock().unwrap();
                *m.entry(site.clone()).or_default() += 1;
                self.max_per_origin.fetch_max(m[&site], Ordering::SeqCst);
                self.max_total.fetch_max(m.values().sum(), Ordering::SeqCst);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            *self.in_flight.lock().unwrap().get_mut(&site).unwrap() -= 1;
            Ok(Snapshot::default())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busiest_origins_start_first_and_every_origin_gets_an_account_before_any_gets_two() {
        // Origins a (1 account), b (5), c (3), d (1), in that order.
        let plan = [("a", 1), ("b", 5), ("c", 3), ("d", 1)];
        let (_dir, store, accounts) =
            seed_sites(plan.iter().flat_map(|(site, n)| (0..*n).map(move |i| (site.to_string(), i.to_string()))));
        // The hand-out order (the plan alone: start order inside the run also depends on
        // the blocking pool): one each, busiest first (b, c, then a and d in the caller's
        // order); then second slots, busiest first; never a third on one origin.
        let mut order = OriginPlan::new(accounts.clone());
        let host = |a: &Account| a.site.url.trim_start_matches("https://").trim_end_matches(".example").to_string();
        let first: Vec<String> = std::iter::from_fn(|| order.next()).map(|(_, a)| host(&a)).collect();
        assert_eq!(first, ["b", "c", "a", "d", "b", "c"], "then no origin has room");
        order.done(0);
        assert_eq!(order.next().map(|(i, a)| (i, host(&a))), Some((0, "b".to_string())), "a slot freed on b");
        assert_eq!(order.waiting(), 3);

        let src = Arc::new(Origins::default());
        let summary = refresh_accounts(src.clone(), store, accounts, 6, CancelFlag::default(), |_| {}).await;
        assert_eq!(summary, RefreshSummary { attempted: 10, ok: 10, failed: 0, cancelled: 0 });
        assert_eq!(src.max_per_origin.load(Ordering::SeqCst), PER_ORIGIN_ACCOUNTS);
        assert!(src.max_total.load(Ordering::SeqCst) <= 6);
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

    /// Writes the account's state itself while the site is being asked (another action on
    /// the same account), then answers without a system name.
    struct WritesMeanwhile {
        store: SharedStore,
    }

    impl SnapshotSource for WritesMeanwhile {
        async fn fetch(&self, account: &Account, _creds: &Credentials) -> Result<Snapshot, ErrorInfo> {
            let id = account.id;
            let meanwhile = AccountState {
                snapshot: Some(Box::new(Snapshot {
                    system_name: Some("written meanwhile".into()),
                    ..Default::default()
                })),
                ..Default::default()
            };
            self.store.run(move |s| s.save_account_state(id, &meanwhile, "2026-12-07")).await.unwrap();
            Ok(Snapshot { user: Part::complete(UserInfo::default()), ..Default::default() })
        }
    }

    #[tokio::test]
    async fn what_is_written_while_the_site_is_asked_is_merged_not_overwritten() {
        let (_dir, store, accounts) = seed(1);
        let source = WritesMeanwhile { store: store.clone() };
        let state = refresh_one(&source, &store, &accounts[0]).await.unwrap();
        let stored = store.lock().unwrap().account_state(accounts[0].id).unwrap();
        assert_eq!(stored, state, "what is returned is what is stored");
        let snapshot = stored.snapshot.unwrap();
        assert_eq!(snapshot.system_name.as_deref(), Some("written meanwhile"), "the state read after the answer");
        assert!(snapshot.user.value.is_some(), "and the answer merged into it");
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

    #[tokio::test]
    async fn credentials_that_cannot_be_decrypted_are_an_auth_error_and_the_site_is_not_asked() {
        let (_dir, store, accounts) = seed(2);
        let id = accounts[1].id;
        store.lock().unwrap().damage_credentials_for_test(id);
        let fake = Arc::new(Fake { in_flight: AtomicUsize::new(0), max_seen: AtomicUsize::new(0) });
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let summary = refresh_accounts(fake.clone(), store.clone(), accounts, 2, CancelFlag::default(), move |e| {
            ev.lock().unwrap().push(e)
        })
        .await;
        assert_eq!((summary.ok, summary.failed), (1, 1));
        let state = store.lock().unwrap().account_state(id).unwrap();
        let err = state.last_error.expect("an error, never a silent null");
        assert_eq!(err.kind, "auth");
        assert!(err.message.contains("cannot be decrypted"), "{}", err.message);
        assert_eq!(fake.max_seen.load(Ordering::SeqCst), 1, "only the readable account asked its site");
        let done = events.lock().unwrap().iter().filter(|e| matches!(e, RefreshEvent::AccountDone { .. })).count();
        assert_eq!(done, 2, "both accounts report an outcome");
    }
}
