//! Sites and accounts: the account list and every account's merged state (with today's
//! figures from synced logs laid over it), refresh (all, some, one, and the automatic
//! schedule), adding (verify, password sign-in with 2FA, site detection), editing,
//! deleting and ordering accounts.
//!
//! Jobs: `accounts:load` (latest wins), `refresh-all` (claims `refresh:{id}` of every
//! account it covers and releases each as it finishes), `refresh:{id}` (one account),
//! `accounts:add`, `accounts:detect` (latest wins), `accounts:write:{n}`, `sites:today`.

use std::collections::{BTreeMap, HashMap};

use super::command::{AlertsCmd, BackupCmd, CheckinCmd, LogsCmd, NetworkCmd, NotifyCmd};
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::state::Severity;
use crate::domain::snapshot::{AccountState, TodayUsage};
use crate::domain::time::now_unix;
use crate::domain::{Account, AccountId};
use crate::engine::{CancelFlag, RefreshEvent, RefreshSummary};

/// Where adding an account stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AddStatus {
    /// Nothing asked.
    #[default]
    Idle,
    /// Verifying and saving.
    Working,
    /// Saved: "alice — $7.30".
    Added {
        /// The new account's id.
        id: crate::domain::AccountId,
        /// Who and the balance.
        summary: String,
    },
    /// The site asked for a two-step code.
    Needs2fa,
    /// Not saved, with the reason.
    Failed(String),
}

/// The add dialog's site detection.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DetectStatus {
    /// Not asked.
    #[default]
    Idle,
    /// Probing the site.
    Working,
    /// Found: kind, confidence word and the evidence.
    Found {
        /// The kind.
        kind: crate::domain::SiteKind,
        /// `guessed`, `likely` or `certain`.
        confidence: &'static str,
        /// Why.
        reason: String,
    },
    /// The site could not be probed.
    Failed(String),
}

/// Progress of a running refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshProgress {
    /// Accounts finished.
    pub done: usize,
    /// Accounts in the run.
    pub total: usize,
    /// Of those finished, how many failed.
    pub failed: usize,
    /// Cancel was pressed.
    pub cancelling: bool,
}

/// Commands of the sites and accounts.
#[derive(Debug, Clone)]
pub enum SitesCmd {
    /// Refresh every enabled account (those another refresh holds are left to it).
    RefreshAll,
    /// Refresh some accounts (even disabled ones: the user asked).
    RefreshAccounts(Vec<AccountId>),
    /// Stop the running refreshes (accounts not yet started are skipped).
    CancelRefresh,
    /// Verify (unless `verify` is false) and save a new account.
    AddAccount {
        /// The account to add.
        account: Box<crate::domain::NewAccount>,
        /// Check the credentials against the site first.
        verify: bool,
    },
    /// Sign in with a password, then verify and save (the password is never stored).
    AddWithPassword {
        /// Where and what to keep.
        how: crate::engine::PasswordSignIn,
        /// Login name.
        username: String,
        /// Password.
        password: String,
    },
    /// The two-step code for the sign-in waiting for it.
    Submit2fa(String),
    /// Detect a site's kind for the add dialog.
    DetectSite(String),
    /// Forget the last add result (the dialog was closed or reopened).
    ResetAddAccount,
    /// Save what the user edited beside credentials (group, paid ratio, notes, disabled).
    UpdateAccountMeta {
        /// Which account.
        id: AccountId,
        /// The new values.
        meta: crate::store::AccountMeta,
    },
    /// Delete an account (the view has asked for confirmation).
    DeleteAccount(AccountId),
    /// Move an account up (-1) or down (+1) in the user's order.
    MoveAccount {
        /// Which account.
        id: AccountId,
        /// -1 up, +1 down.
        delta: i64,
    },
    /// Change the auto-refresh schedule (a setting).
    SetSchedule(crate::engine::schedule::Schedule),
    /// Reload the account list and states from the store (and what hangs on them).
    Reload,
    /// Sum today's synced log rows again (after a log sync).
    ReloadToday,
    /// An account's state changed (a key action, redeem or check-in refreshed it).
    SetState(AccountId, Box<AccountState>),
}

/// What an add job ends with.
pub enum AddJobResult {
    /// Saved.
    Added(Box<crate::engine::Added>),
    /// The site asked for a two-step code.
    Needs2fa(crate::engine::PasswordSignIn, crate::relay::login::Pending2fa),
}

type Today = (i64, HashMap<AccountId, TodayUsage>);

/// Messages of the sites jobs.
pub enum SitesMsg {
    /// Accounts and their stored states.
    Loaded(Result<(Vec<Account>, HashMap<AccountId, AccountState>), String>),
    /// A refresh run's progress.
    Refresh {
        /// The run's job name.
        key: String,
        /// What happened.
        event: RefreshEvent,
    },
    /// A refresh run ended.
    RefreshDone {
        /// The run's job name.
        key: String,
        /// Counts.
        summary: RefreshSummary,
    },
    /// Adding ended.
    Added(Result<AddJobResult, String>),
    /// Detection ended.
    Detected(Result<crate::relay::detect::Detection, String>),
    /// A store write ended.
    Written(Result<(), String>),
    /// Today's sums from synced rows.
    Today(Result<Today, String>),
    /// Another process wrote to the store: its new `data_version`.
    StoreChanged(i64),
}

impl From<SitesMsg> for JobMsg {
    fn from(m: SitesMsg) -> JobMsg {
        JobMsg::Sites(m)
    }
}

/// One running refresh.
struct Run {
    ids: Vec<AccountId>,
    auto: bool,
    cancel: CancelFlag,
    progress: RefreshProgress,
}

/// Drops a state's price list. Only the Pricing book reads prices, and it reads them from
/// the store when it is built; refresh, "Use in…" and the gateway read states from the
/// store too. A real site lists hundreds of models with their groups, so 1,000 accounts'
/// lists held here for the window's whole life were the largest part of its own memory.
pub fn without_prices(state: &mut AccountState) {
    if let Some(snap) = state.snapshot.as_mut() {
        snap.pricing.value = None;
    }
}

/// Single-state changes remembered for views that patch their rows.
const STATE_CHANGES_KEPT: usize = 64;

/// Accounts and their states.
#[derive(Default)]
pub struct Sites {
    /// Accounts from the store.
    pub accounts: Loadable<Vec<Account>>,
    /// Each account's merged remote state (seeded from the store, updated live), without
    /// its price list (`snapshot.pricing.value` is always `None` here, see [`without_prices`]).
    pub states: HashMap<AccountId, AccountState>,
    /// Bumped whenever `accounts` or `states` change, so views can cache derived rows.
    pub data_version: u64,
    /// The last bumps that each replaced one account's state (`(version, id)`, oldest
    /// first, at most [`STATE_CHANGES_KEPT`]): a view whose rows are at version `v` can
    /// patch those rows instead of rebuilding all (see [`Sites::states_changed_since`]).
    state_changes: std::collections::VecDeque<(u64, AccountId)>,
    /// The running refreshes, summed (None: none runs).
    pub refresh: Option<RefreshProgress>,
    /// The add-account dialog's job.
    pub add: AddStatus,
    /// The add-account dialog's detection.
    pub detect: DetectStatus,
    /// Auto refresh is paused until then because the machine looked offline.
    pub offline_until: Option<i64>,
    /// When the scheduler will next refresh accounts (None: auto refresh off).
    pub next_auto_refresh_at: Option<i64>,
    /// Today's usage summed from synced rows: the local midnight it was computed for and
    /// the sums of the accounts whose sync covers today (they replace the snapshot's).
    pub today: Loadable<Today>,
    runs: BTreeMap<String, Run>,
    pending_2fa: Option<(crate::engine::PasswordSignIn, crate::relay::login::Pending2fa)>,
    next_schedule_check: i64,
    writes: u64,
    /// The store's `data_version` last seen by the watch job (None: not looked yet).
    store_seen: Option<i64>,
    /// How often the watch job looks (None: [`STORE_WATCH_SECS`]; tests look faster).
    store_watch_every: Option<std::time::Duration>,
}

const LOAD_JOB: &str = "accounts:load";
const ADD_JOB: &str = "accounts:add";
const DETECT_JOB: &str = "accounts:detect";
const TODAY_JOB: &str = "sites:today";
const REFRESH_ALL: &str = "refresh-all";
const STORE_WATCH_JOB: &str = "store:watch";
/// Seconds between two looks at the store's `data_version`: what the CLI, cron or another
/// window wrote shows up within about this long.
pub const STORE_WATCH_SECS: u64 = 2;

/// Today's local sums, when they were computed for the current day.
fn today_of(today: &Loadable<Today>) -> Option<&HashMap<AccountId, TodayUsage>> {
    let (day, sums) = today.value()?;
    (*day == crate::domain::time::local_day_window().0).then_some(sums)
}

/// The job name of one account's refresh (also what refresh-all claims for it).
pub fn refresh_key(id: AccountId) -> String {
    format!("refresh:{id}")
}

impl Sites {
    /// An account by id.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.value().and_then(|a| a.iter().find(|a| a.id == id))
    }

    /// Whether the accounts (and their states) are being read.
    pub fn loading(&self) -> bool {
        self.accounts.is_loading()
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: SitesCmd, cx: &mut Cx<'_>) {
        match cmd {
            SitesCmd::RefreshAll => {
                let accounts = self.pick(|a| !a.disabled);
                self.start_refresh(accounts, false, cx);
            }
            SitesCmd::RefreshAccounts(ids) => {
                let accounts = self.pick(|a| ids.contains(&a.id));
                self.start_refresh(accounts, false, cx);
            }
            SitesCmd::CancelRefresh => {
                for run in self.runs.values_mut() {
                    run.cancel.cancel();
                    run.progress.cancelling = true;
                }
                self.sum_progress();
            }
            SitesCmd::AddAccount { account, verify } => {
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                if cx.start(Spec::new(ADD_JOB), |_| async move {
                    SitesMsg::Added(
                        crate::engine::add_account(&relay, &store, *account, verify)
                            .await
                            .map(|a| AddJobResult::Added(Box::new(a)))
                            .map_err(|e| e.to_string()),
                    )
                }) {
                    self.add = AddStatus::Working;
                }
            }
            SitesCmd::AddWithPassword { how, username, password } => {
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                if cx.start(Spec::new(ADD_JOB), |_| async move {
                    SitesMsg::Added(
                        match crate::engine::add_with_password(&relay, &store, &how, &username, &password).await {
                            Ok(crate::engine::PasswordOutcome::Added(a)) => Ok(AddJobResult::Added(a)),
                            Ok(crate::engine::PasswordOutcome::Needs2fa(p)) => Ok(AddJobResult::Needs2fa(how, p)),
                            Err(e) => Err(e.to_string()),
                        },
                    )
                }) {
                    self.add = AddStatus::Working;
                }
            }
            SitesCmd::Submit2fa(code) => {
                let Some((how, pending)) = self.pending_2fa.take() else { return };
                let (relay, store) = (cx.relay.clone(), cx.store.clone());
                let job_how = how.clone();
                let job_pending = pending.clone();
                if cx.start(Spec::new(ADD_JOB), |_| async move {
                    SitesMsg::Added(
                        crate::engine::finish_2fa(&relay, &store, &job_how, &job_pending, &code)
                            .await
                            .map(|a| AddJobResult::Added(Box::new(a)))
                            .map_err(|e| e.to_string()),
                    )
                }) {
                    self.add = AddStatus::Working;
                } else {
                    self.pending_2fa = Some((how, pending));
                }
            }
            SitesCmd::DetectSite(url) => {
                let relay = cx.relay.clone();
                self.detect = DetectStatus::Working;
                cx.start_quiet(Spec::new(DETECT_JOB).latest_wins(), |_| async move {
                    SitesMsg::Detected(relay.detect(&url).await.map_err(|e| e.to_string()))
                });
            }
            SitesCmd::ResetAddAccount => {
                if !cx.jobs.is_running(ADD_JOB) {
                    self.add = AddStatus::Idle;
                    self.detect = DetectStatus::Idle;
                    self.pending_2fa = None;
                }
            }
            SitesCmd::UpdateAccountMeta { id, meta } => {
                self.write(cx, format!("account {id} updated"), move |s| s.update_account_meta(id, &meta));
            }
            SitesCmd::DeleteAccount(id) => {
                self.states.remove(&id);
                self.write(cx, format!("account {id} deleted"), move |s| s.remove_account(id).map(|_| ()));
            }
            SitesCmd::MoveAccount { id, delta } => {
                self.write(cx, String::new(), move |s| s.move_account(id, delta));
            }
            SitesCmd::SetSchedule(schedule) => {
                self.next_schedule_check = 0;
                cx.change_settings(|s| s.refresh = schedule);
            }
            SitesCmd::Reload => {
                let store = cx.store.clone();
                self.accounts.start();
                cx.start_blocking_quiet(Spec::new(LOAD_JOB).latest_wins(), move |_| {
                    SitesMsg::Loaded(
                        store
                            .with(|s| Ok((s.list_accounts()?, s.account_states_trimmed(without_prices)?)))
                            .map_err(|e| e.to_string()),
                    )
                });
                cx.send(CheckinCmd::ReloadRecords);
                cx.send(NetworkCmd::Reload);
                self.reload_today(cx);
            }
            SitesCmd::ReloadToday => self.reload_today(cx),
            SitesCmd::SetState(id, state) => self.set_state(id, *state),
        }
    }

    /// Accounts matching `keep`, in order.
    fn pick(&self, keep: impl Fn(&Account) -> bool) -> Vec<Account> {
        self.accounts.value().map(|a| a.iter().filter(|a| keep(a)).cloned().collect()).unwrap_or_default()
    }

    fn reload_today(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        self.today.start();
        cx.start_blocking_quiet(Spec::new(TODAY_JOB).latest_wins(), move |_| {
            let (day_start, _) = crate::domain::time::local_day_window();
            SitesMsg::Today(store.with(|s| Ok((day_start, s.today_from_logs(day_start)?))).map_err(|e| e.to_string()))
        });
    }

    /// Today's local sums, when they were computed for the current day.
    fn today_sums(&self) -> Option<&HashMap<AccountId, TodayUsage>> {
        today_of(&self.today)
    }

    /// Sets an account's fresh state (today's synced sums laid over it).
    pub fn set_state(&mut self, id: AccountId, mut state: AccountState) {
        without_prices(&mut state);
        if let Some(sums) = self.today_sums() {
            crate::domain::usage_log::overlay_today(&mut state, sums.get(&id));
        }
        self.states.insert(id, state);
        self.data_version += 1;
        if self.state_changes.len() == STATE_CHANGES_KEPT {
            self.state_changes.pop_front();
        }
        self.state_changes.push_back((self.data_version, id));
    }

    /// The accounts whose state alone changed between `version` and now, when that is
    /// all that changed (`None`: something else did, or too long ago: rebuild).
    pub fn states_changed_since(&self, version: u64) -> Option<Vec<AccountId>> {
        let newer: Vec<AccountId> =
            self.state_changes.iter().filter(|(v, _)| *v > version).map(|(_, id)| *id).collect();
        (version <= self.data_version && newer.len() as u64 == self.data_version - version).then_some(newer)
    }

    /// Runs a store write in the background, then reloads the accounts.
    fn write(
        &mut self,
        cx: &mut Cx<'_>,
        done_log: String,
        write: impl FnOnce(&mut crate::store::Store) -> Result<(), crate::store::StoreError> + Send + 'static,
    ) {
        self.writes += 1;
        let store = cx.store.clone();
        cx.start_blocking(Spec::new(format!("accounts:write:{}", self.writes)), move |_| {
            let r = store.with(write).map_err(|e| e.to_string());
            if r.is_ok() && !done_log.is_empty() {
                log::info!("{done_log}");
            }
            SitesMsg::Written(r)
        });
    }

    /// Starts a refresh: one account alone under `refresh:{id}`; several under
    /// `refresh-all`, claiming each account (those another job holds are left to it).
    fn start_refresh(&mut self, mut accounts: Vec<Account>, auto: bool, cx: &mut Cx<'_>) {
        if accounts.is_empty() {
            if !auto {
                cx.say(tr("status.nothing_to_refresh"), Severity::Info);
            }
            return;
        }
        let spec = if accounts.len() == 1 && !auto {
            Spec::new(refresh_key(accounts[0].id))
        } else {
            let free = cx.jobs.free(accounts.iter().map(|a| refresh_key(a.id)));
            accounts.retain(|a| free.contains(&refresh_key(a.id)));
            if accounts.is_empty() {
                if !auto {
                    cx.say(fill(tr("jobs.already_running"), &[("job", &REFRESH_ALL)]), Severity::Info);
                }
                return;
            }
            Spec::new(REFRESH_ALL).claims(free)
        };
        let key = spec.key().to_string();
        let cancel = CancelFlag::default();
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
        let total = accounts.len();
        let (refresher, job_cancel, job_key) = (cx.refresher.clone(), cancel.clone(), key.clone());
        let job = move |r: super::jobs::Reporter| {
            let events = r.clone();
            let on_event: Box<dyn Fn(RefreshEvent) + Send + Sync> = Box::new(move |e| {
                match &e {
                    RefreshEvent::Finished(_) => return, // the job's result says it
                    RefreshEvent::AccountDone { account_id, .. } => events.release(&refresh_key(*account_id)),
                    RefreshEvent::Started { .. } => {}
                }
                events.progress(SitesMsg::Refresh { key: job_key.clone(), event: e });
            });
            let run = refresher(accounts, job_cancel, on_event);
            let key = r.key_name().to_string();
            async move { SitesMsg::RefreshDone { key, summary: run.await } }
        };
        let started = if auto { cx.start_quiet(spec, job) } else { cx.start(spec, job) };
        if !started {
            return;
        }
        log::info!("refreshing {total} accounts");
        let progress = RefreshProgress { total, ..Default::default() };
        self.runs.insert(key, Run { ids, auto, cancel, progress });
        self.sum_progress();
        if !auto {
            cx.send(super::command::ShellCmd::ClearStatus);
        }
    }

    fn sum_progress(&mut self) {
        self.refresh = (!self.runs.is_empty()).then(|| {
            self.runs.values().fold(RefreshProgress::default(), |mut p, r| {
                p.done += r.progress.done;
                p.total += r.progress.total;
                p.failed += r.progress.failed;
                p.cancelling |= r.progress.cancelling;
                p
            })
        });
    }

    /// Follows the store: a job looks at its `data_version` every [`STORE_WATCH_SECS`] (one
    /// pragma, no table read, off the UI thread) and ends only when another process wrote.
    /// So an idle window is not woken to look (it used to be repainted twice every 2 s for
    /// it: the look's request, then its answer). Started again once its answer has landed.
    fn watch_store(&mut self, cx: &mut Cx<'_>) {
        if cx.jobs.is_running(STORE_WATCH_JOB) {
            return;
        }
        let (store, mut seen) = (cx.store.clone(), self.store_seen);
        let every = self.store_watch_every.unwrap_or(std::time::Duration::from_secs(STORE_WATCH_SECS));
        cx.start_quiet(Spec::new(STORE_WATCH_JOB), move |_| async move {
            loop {
                // The first look is at once (it only remembers where the store is: a write
                // after it is what the next looks see).
                if seen.is_some() {
                    tokio::time::sleep(every).await;
                }
                match store.run(|s| s.data_version()).await {
                    Ok(v) if seen.is_none() => seen = Some(v),
                    Ok(v) if seen == Some(v) => {}
                    Ok(v) => return SitesMsg::StoreChanged(v),
                    // Looked at again after the period: the window is not woken for it.
                    Err(e) => {
                        log::debug!("store version unreadable: {e}");
                        tokio::time::sleep(every).await;
                    }
                }
            }
        });
    }

    /// Follows the store: another process's writes are reloaded (every frame, whoever
    /// runs the schedule).
    pub fn watch(&mut self, cx: &mut Cx<'_>) {
        self.watch_store(cx);
    }

    /// Starts a refresh of the accounts that are due, at most every 15 s (only where
    /// this window runs the schedule; [`Self::watch`] follows the store regardless).
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        let now = now_unix();
        if now < self.next_schedule_check || self.loading() {
            return;
        }
        // Accounts not loaded yet: look again next frame, not 15 s later (a start-up
        // refresh of due accounts must not wait for the second check).
        let Some(accounts) = self.accounts.value() else { return };
        self.next_schedule_check = now + 15;
        cx.egui.request_repaint_after(std::time::Duration::from_secs(15));
        let schedule = cx.settings.refresh;
        let (due, next) = crate::engine::schedule::due_accounts(accounts, &self.states, &schedule, now);
        let paused = self.offline_until.is_some_and(|t| t > now);
        self.next_auto_refresh_at = match (schedule.enabled, paused) {
            (false, _) => None,
            (true, true) => self.offline_until,
            (true, false) if !due.is_empty() => Some(now),
            (true, false) => next,
        };
        if paused || due.is_empty() || self.refresh.is_some() {
            return;
        }
        let chosen: Vec<Account> = accounts.iter().filter(|a| due.contains(&a.id)).cloned().collect();
        log::info!("auto refresh: {} accounts due", chosen.len());
        self.start_refresh(chosen, true, cx);
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: SitesMsg, cx: &mut Cx<'_>) {
        let now = now_unix();
        match msg {
            SitesMsg::Loaded(Ok((accounts, mut states))) => {
                if let Some(sums) = self.today_sums() {
                    crate::domain::usage_log::overlay_today_all(&mut states, sums);
                }
                self.accounts.finish(Ok(accounts), now);
                self.states = states;
                self.data_version += 1;
            }
            SitesMsg::Loaded(Err(e)) => {
                log::error!("stored accounts unreadable: {e}");
                self.accounts.finish(Err(e), now);
                self.data_version += 1;
            }
            SitesMsg::Refresh { key, event } => {
                let Some(run) = self.runs.get_mut(&key) else { return };
                match event {
                    RefreshEvent::Started { total } => run.progress.total = total,
                    RefreshEvent::AccountDone { account_id, state } => {
                        run.progress.done += 1;
                        run.progress.failed += usize::from(state.last_error.is_some());
                        self.set_state(account_id, *state);
                    }
                    RefreshEvent::Finished(_) => {}
                }
                self.sum_progress();
            }
            SitesMsg::RefreshDone { key, summary } => self.refresh_done(&key, &summary, cx),
            SitesMsg::Added(result) => {
                self.add = match result {
                    Ok(AddJobResult::Needs2fa(how, pending)) => {
                        self.pending_2fa = Some((how, pending));
                        AddStatus::Needs2fa
                    }
                    Ok(AddJobResult::Added(added)) => {
                        if let Some(st) = &added.state {
                            self.set_state(added.id, st.clone());
                        }
                        cx.send(SitesCmd::Reload);
                        cx.send(BackupCmd::Auto);
                        AddStatus::Added { id: added.id, summary: added.summary() }
                    }
                    Err(e) => {
                        log::warn!("adding an account failed: {e}");
                        AddStatus::Failed(e)
                    }
                };
            }
            SitesMsg::Detected(result) => {
                use crate::relay::detect::Confidence;
                self.detect = match result {
                    Ok(d) => DetectStatus::Found {
                        kind: d.kind,
                        confidence: match d.confidence {
                            Confidence::Guessed => "guessed",
                            Confidence::Likely => "likely",
                            Confidence::Certain => "certain",
                        },
                        reason: d.reason,
                    },
                    Err(e) => DetectStatus::Failed(e),
                };
            }
            SitesMsg::Written(Ok(())) => {
                cx.send(SitesCmd::Reload);
                cx.send(BackupCmd::Auto);
            }
            SitesMsg::Written(Err(e)) => {
                log::error!("saving failed: {e}");
                cx.say(e, Severity::Error);
            }
            SitesMsg::StoreChanged(version) => {
                log::info!("the data changed outside the window (the CLI, cron, another window): reloading");
                cx.send(SitesCmd::Reload);
                cx.send(BackupCmd::Reload);
                cx.send(LogsCmd::Refresh);
                cx.send(super::Command::ReloadSettings);
                self.store_seen = Some(version);
            }
            SitesMsg::Today(result) => {
                if let Err(e) = &result {
                    log::error!("today's sums unreadable: {e}");
                }
                self.today.finish(result, now);
                if let Some(sums) = today_of(&self.today) {
                    crate::domain::usage_log::overlay_today_all(&mut self.states, sums);
                }
                self.data_version += 1;
            }
        }
    }

    fn refresh_done(&mut self, key: &str, s: &RefreshSummary, cx: &mut Cx<'_>) {
        let Some(run) = self.runs.remove(key) else { return };
        self.sum_progress();
        let now = now_unix();
        if run.auto && crate::engine::schedule::looks_offline(run.ids.iter().filter_map(|id| self.states.get(id))) {
            log::warn!("every site was unreachable: auto refresh paused for 5 minutes");
            self.offline_until = Some(now + crate::engine::schedule::OFFLINE_RETRY_SECS);
        } else if s.ok > 0 {
            self.offline_until = None;
        }
        self.next_schedule_check = 0;
        cx.send(AlertsCmd::Check(run.ids));
        cx.send(NotifyCmd::Record);
        let text =
            fill(tr("status.refresh_done"), &[("ok", &s.ok), ("failed", &s.failed), ("cancelled", &s.cancelled)]);
        cx.say(text, if s.failed > 0 { Severity::Warning } else { Severity::Info });
        cx.send(BackupCmd::Auto);
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        match key {
            LOAD_JOB => self.accounts.stop(),
            ADD_JOB => self.add = AddStatus::Failed("the job stopped unexpectedly".into()),
            DETECT_JOB => self.detect = DetectStatus::Idle,
            TODAY_JOB => self.today.stop(),
            k if self.runs.remove(k).is_some() => self.sum_progress(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Command;
    use crate::app::command::ShellCmd;
    use crate::app::testing::Rig;

    fn land(rig: &mut Rig, sites: &mut Sites, msgs: Vec<JobMsg>) {
        for m in msgs {
            if let JobMsg::Sites(m) = m {
                rig.with(|cx| sites.on_job(m, cx));
            }
        }
    }

    #[test]
    fn reload_then_refresh_all_of_an_unreachable_site_ends_with_a_summary_and_follow_ups() {
        let mut rig = Rig::new();
        // A site that takes the connection and never answers (the rig's 2 s request
        // timeout ends it): refresh-all still holds the account when the single refresh
        // asks (a refused port could finish and release it first on a busy machine).
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", silent.local_addr().unwrap());
        let id = rig.account(&url, "ann");
        let mut sites = Sites::default();
        rig.with(|cx| sites.apply(SitesCmd::Reload, cx));
        assert!(sites.loading());
        let sent = rig.sent();
        assert!(sent.iter().any(|c| matches!(c, Command::Checkin(CheckinCmd::ReloadRecords))));
        assert!(sent.iter().any(|c| matches!(c, Command::Network(NetworkCmd::Reload))));
        let msgs = rig.wait(|m| m.iter().any(|m| matches!(m, JobMsg::Sites(SitesMsg::Loaded(_)))));
        land(&mut rig, &mut sites, msgs);
        assert_eq!(sites.account(id).map(|a| a.username.as_str()), Some("ann"));

        rig.with(|cx| sites.apply(SitesCmd::RefreshAll, cx));
        assert!(sites.refresh.is_some_and(|p| p.total == 1));
        assert!(rig.jobs.is_running(&refresh_key(id)), "refresh-all holds the account");
        rig.with(|cx| sites.apply(SitesCmd::RefreshAccounts(vec![id]), cx));
        let said = rig.sent();
        assert!(
            said.iter().any(|c| matches!(c, Command::Shell(ShellCmd::Status(s)) if s.text.contains(&refresh_key(id)))),
            "the single refresh is refused: {said:?}"
        );
        let msgs = rig.wait(|m| m.iter().any(|m| matches!(m, JobMsg::Sites(SitesMsg::RefreshDone { .. }))));
        land(&mut rig, &mut sites, msgs);
        assert!(sites.refresh.is_none());
        assert!(sites.states.get(&id).is_some_and(|s| s.last_error.is_some()), "the failure is kept as state");
        let sent = rig.sent();
        assert!(sent.iter().any(|c| matches!(c, Command::Alerts(AlertsCmd::Check(ids)) if ids == &[id])));
        assert!(sent.iter().any(|c| matches!(c, Command::Backup(BackupCmd::Auto))));
        assert!(!rig.jobs.is_running(&refresh_key(id)), "released");
    }

    #[test]
    fn single_state_changes_are_listed_until_something_else_changes() {
        let mut sites = Sites::default();
        let v0 = sites.data_version;
        sites.set_state(3, AccountState::default());
        sites.set_state(5, AccountState::default());
        sites.set_state(3, AccountState::default());
        assert_eq!(sites.states_changed_since(v0), Some(vec![3, 5, 3]));
        assert_eq!(sites.states_changed_since(v0 + 2), Some(vec![3]));
        assert_eq!(sites.states_changed_since(sites.data_version), Some(vec![]));
        // Another kind of change (a reload) in between: the view must rebuild.
        sites.data_version += 1;
        let v1 = sites.data_version;
        sites.set_state(7, AccountState::default());
        assert_eq!(sites.states_changed_since(v0), None);
        assert_eq!(sites.states_changed_since(v1), Some(vec![7]));
        // Too long ago: forgotten.
        for _ in 0..STATE_CHANGES_KEPT {
            sites.set_state(9, AccountState::default());
        }
        assert_eq!(sites.states_changed_since(v1), None);
    }

    #[test]
    fn nothing_to_refresh_is_said_and_a_new_state_bumps_the_version() {
        let mut rig = Rig::new();
        let mut sites = Sites::default();
        rig.with(|cx| sites.apply(SitesCmd::RefreshAll, cx));
        assert!(matches!(rig.sent().as_slice(), [Command::Shell(ShellCmd::Status(_))]));
        let v = sites.data_version;
        rig.with(|cx| sites.apply(SitesCmd::SetState(3, Box::default()), cx));
        assert!(sites.states.contains_key(&3) && sites.data_version > v);
    }

    #[test]
    fn a_write_by_another_process_reloads_what_is_shown_and_our_own_writes_do_not() {
        let mut rig = Rig::new();
        let mut sites = Sites { store_watch_every: Some(std::time::Duration::from_millis(20)), ..Sites::default() };
        let quiet = std::time::Duration::from_millis(300);
        rig.with(|cx| sites.watch(cx));
        rig.with(|cx| cx.store.with(|s| s.set_setting("ui.lang", "en"))).unwrap();
        assert!(
            rig.for_a_while(quiet).is_empty(),
            "an unchanged store, and the window's own writes, send nothing (nothing wakes the window)"
        );
        rig.with(|cx| sites.watch(cx));
        assert!(rig.for_a_while(quiet).is_empty(), "one watch job, not one per frame");
        // Another process (another connection) writes.
        let mut other = crate::store::Store::open(&rig.env().data_dir).unwrap().store;
        other.set_setting("ui.lang", "zh-CN").unwrap();
        let msgs = rig.next(1);
        land(&mut rig, &mut sites, msgs);
        let sent = rig.sent();
        assert!(sent.iter().any(|c| matches!(c, Command::Sites(SitesCmd::Reload))), "{sent:?}");
        assert!(sent.iter().any(|c| matches!(c, Command::Backup(BackupCmd::Reload))), "{sent:?}");
        assert!(sent.iter().any(|c| matches!(c, Command::Logs(LogsCmd::Refresh))), "{sent:?}");
        assert!(sent.iter().any(|c| matches!(c, Command::ReloadSettings)), "{sent:?}");
        rig.with(|cx| sites.watch(cx));
        assert!(rig.for_a_while(quiet).is_empty(), "once per change");
        other.set_setting("ui.lang", "en").unwrap();
        assert_eq!(rig.next(1).len(), 1, "the watch goes on after a change");
    }
}
