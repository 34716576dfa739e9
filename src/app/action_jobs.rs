//! Account actions in the app: key management, redeem and check-in. The commands
//! (`Command::KeyAction`, `Redeem`, `CheckIn`, `CheckInAll`, `DismissCheckinSummary`,
//! `MarkCheckinDone`, `SetAutoCheckin`) are applied here from `App::apply`; jobs run
//! through the `TaskRunner` (one action per account at a time, one "check in all" at
//! a time) and land in [`ActionsState`] when `App::poll_jobs` sees them finish.
//!
//! The daily automatic check-in is driven from `App::logic()` by
//! [`App::run_auto_checkin`]: the decision is `engine::checkin_schedule::due_checkins`;
//! the automatic tries of the day are kept here in memory.

use std::collections::{HashMap, HashSet};

use poll_promise::Promise;

use super::{App, Command};
use crate::app::i18n::{fill, tr};
use crate::domain::AccountId;
use crate::domain::snapshot::AccountState;
use crate::engine::actions::{self, CheckinEntry, CheckinStatus, CheckinSummary, KeyAction, KeyActionDone, RedeemDone};
use crate::engine::checkin_schedule::{self, Attempt, AutoCheckin};
use crate::store::CheckinRecord;

/// Which action a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Key management (create, edit, enable/disable, delete, copy).
    Keys,
    /// Redeem code.
    Redeem,
    /// Check-in.
    Checkin,
}

/// The last result line of an action on an account.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMessage {
    /// Which action.
    pub kind: ActionKind,
    /// Translated line.
    pub text: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// What the views read about account actions.
#[derive(Debug, Default)]
pub struct ActionsState {
    /// Accounts with an action running.
    pub busy: HashSet<AccountId>,
    /// The last result per account and action.
    pub messages: HashMap<(AccountId, ActionKind), ActionMessage>,
    /// "Check in all" is running.
    pub checkin_all_running: bool,
    /// The summary of the last "check in all" (shown until dismissed).
    pub checkin_summary: Option<CheckinSummary>,
    /// Each account's last check-in (from the store).
    pub checkin_records: HashMap<AccountId, CheckinRecord>,
    /// The records above have been read from the store at least once.
    pub records_loaded: bool,
    /// The daily automatic check-in settings.
    pub auto_checkin: AutoCheckin,
    /// When the automatic check-in may next run something (None: off).
    pub auto_checkin_next: Option<i64>,
    /// An automatic check-in run is going on.
    pub auto_checkin_running: bool,
}

impl ActionsState {
    /// The last message of `kind` for an account.
    pub fn message(&self, id: AccountId, kind: ActionKind) -> Option<&ActionMessage> {
        self.messages.get(&(id, kind))
    }
}

/// A finished action job.
pub(crate) enum ActionOutcome {
    Key { id: AccountId, reveal: bool, result: Result<KeyActionDone, actions::ActionError> },
    Redeem { id: AccountId, result: Result<RedeemDone, actions::ActionError> },
    Checkin { id: AccountId, result: Result<(CheckinEntry, Option<AccountState>), actions::ActionError> },
    CheckinAll { auto: bool, result: Result<CheckinSummary, actions::ActionError> },
    Marked { id: AccountId, result: Result<CheckinRecord, actions::ActionError> },
    Records(Result<HashMap<AccountId, CheckinRecord>, String>),
}

/// Running action jobs, and the automatic check-in's memory of the day.
#[derive(Default)]
pub(crate) struct ActionJobs {
    jobs: Vec<Promise<ActionOutcome>>,
    /// Automatic tries per account (site day, count, last time).
    attempts: HashMap<AccountId, Attempt>,
    /// Unix time of the next automatic check-in decision.
    next_auto_check: i64,
}

/// Seconds between automatic check-in decisions (sooner when something is due).
const AUTO_CHECK_EVERY_SECS: i64 = 30;

/// One line for a check-in result.
pub fn checkin_text(status: &CheckinStatus) -> (String, bool) {
    match status {
        CheckinStatus::Done { reward_text: Some(r), .. } => (fill(tr("checkin.done_reward"), &[("reward", r)]), true),
        CheckinStatus::Done { .. } => (tr("checkin.done").to_string(), true),
        CheckinStatus::Already => (tr("checkin.already").to_string(), true),
        CheckinStatus::Manual => (tr("checkin.manual").to_string(), true),
        CheckinStatus::NeedsHuman { message } => (fill(tr("checkin.needs_human_msg"), &[("msg", message)]), false),
        CheckinStatus::Failed { message, .. } => (fill(tr("checkin.failed_msg"), &[("e", message)]), false),
    }
}

impl App {
    fn account_by_id(&self, id: AccountId) -> Option<crate::domain::Account> {
        self.state.accounts.value().and_then(|a| a.iter().find(|a| a.id == id).cloned())
    }

    fn push_action(
        &mut self,
        key: String,
        job: impl std::future::Future<Output = ActionOutcome> + Send + 'static,
    ) -> bool {
        match self.runner.spawn_keyed(key, job) {
            Some(p) => {
                self.action_jobs.jobs.push(p);
                true
            }
            None => false,
        }
    }

    /// Reloads every account's last check-in from the store.
    pub(crate) fn reload_checkin_records(&mut self) {
        let store = self.store.clone();
        let p = self.runner.spawn_blocking(move || {
            ActionOutcome::Records(
                store.lock().map_err(|e| e.to_string()).and_then(|s| s.checkin_records().map_err(|e| e.to_string())),
            )
        });
        self.action_jobs.jobs.push(p);
    }

    /// Applies the account-action commands.
    pub(crate) fn apply_action(&mut self, cmd: Command) {
        let relay = self.relay.clone();
        let store = self.store.clone();
        match cmd {
            Command::KeyAction { account, action } => {
                let Some(acc) = self.account_by_id(account) else { return };
                let reveal = matches!(action, KeyAction::Reveal { .. });
                if self.push_action(format!("action:{account}"), async move {
                    let result = actions::run_key_action(&relay, &store, &acc, action).await;
                    ActionOutcome::Key { id: acc.id, reveal, result }
                }) {
                    self.state.actions.busy.insert(account);
                }
            }
            Command::Redeem { account, code } => {
                let Some(acc) = self.account_by_id(account) else { return };
                if self.push_action(format!("action:{account}"), async move {
                    let result = actions::redeem(&relay, &store, &acc, &code).await;
                    ActionOutcome::Redeem { id: acc.id, result }
                }) {
                    self.state.actions.busy.insert(account);
                }
            }
            Command::CheckIn(account) => {
                let Some(acc) = self.account_by_id(account) else { return };
                if self.push_action(format!("action:{account}"), async move {
                    let result = actions::checkin_one(&relay, &store, &acc, true).await;
                    ActionOutcome::Checkin { id: acc.id, result }
                }) {
                    self.state.actions.busy.insert(account);
                }
            }
            Command::CheckInAll => {
                let accounts: Vec<_> = self.state.accounts.value().cloned().unwrap_or_default();
                if self.push_action("checkin_all".into(), async move {
                    let result =
                        actions::checkin_all(&relay, &store, accounts, crate::engine::DEFAULT_MAX_CONCURRENCY).await;
                    ActionOutcome::CheckinAll { auto: false, result }
                }) {
                    self.state.actions.checkin_all_running = true;
                }
            }
            Command::DismissCheckinSummary => self.state.actions.checkin_summary = None,
            Command::MarkCheckinDone(account) => {
                let Some(acc) = self.account_by_id(account) else { return };
                if self.push_action(format!("action:{account}"), async move {
                    ActionOutcome::Marked { id: acc.id, result: actions::mark_checkin_done(&store, &acc).await }
                }) {
                    self.state.actions.busy.insert(account);
                }
            }
            Command::SetAutoCheckin(auto) => {
                self.state.actions.auto_checkin = auto;
                self.action_jobs.next_auto_check = 0;
                self.change_settings(|s| s.checkin = auto);
            }
            _ => {}
        }
    }

    fn set_message(&mut self, id: AccountId, kind: ActionKind, text: String, ok: bool) {
        self.state.actions.messages.insert((id, kind), ActionMessage { kind, text, ok });
    }

    fn set_state(&mut self, id: AccountId, mut state: AccountState) {
        self.state.usage.overlay_today_one(id, &mut state);
        self.state.states.insert(id, state);
        self.state.data_version += 1;
    }

    /// The daily automatic check-in: at most every [`AUTO_CHECK_EVERY_SECS`] (sooner
    /// when a retry or the window's start comes first), once accounts, their states
    /// and check-in records are loaded, runs "check in all" over the accounts
    /// [`checkin_schedule::due_checkins`] picks.
    pub(crate) fn run_auto_checkin(&mut self, ctx: &egui::Context) {
        let now = crate::domain::time::local_now();
        let ts = now.timestamp();
        if ts < self.action_jobs.next_auto_check {
            return;
        }
        let auto = self.state.actions.auto_checkin;
        if !auto.enabled {
            self.state.actions.auto_checkin_next = None;
            self.action_jobs.next_auto_check = ts + AUTO_CHECK_EVERY_SECS;
            return;
        }
        let Some(accounts) = self.state.accounts.value() else { return };
        if !self.state.actions.records_loaded
            || self.states_job.is_some()
            || self.state.actions.auto_checkin_running
            || self.state.actions.checkin_all_running
        {
            return;
        }
        let d = checkin_schedule::due_checkins(
            accounts,
            &self.state.states,
            &self.state.actions.checkin_records,
            &self.action_jobs.attempts,
            &auto,
            now,
        );
        self.state.actions.auto_checkin_next = d.next_at;
        let wait = d.next_at.map_or(AUTO_CHECK_EVERY_SECS, |at| (at - ts).clamp(1, AUTO_CHECK_EVERY_SECS));
        self.action_jobs.next_auto_check = ts + wait;
        ctx.request_repaint_after(std::time::Duration::from_secs(wait.unsigned_abs()));
        if d.run.is_empty() {
            return;
        }
        let chosen: Vec<_> = accounts.iter().filter(|a| d.run.contains(&a.id)).cloned().collect();
        let kinds: Vec<_> = chosen.iter().map(|a| (a.id, a.site.kind)).collect();
        let (relay, store) = (self.relay.clone(), self.store.clone());
        let max = crate::engine::DEFAULT_MAX_CONCURRENCY;
        let job = async move {
            ActionOutcome::CheckinAll { auto: true, result: actions::checkin_all(&relay, &store, chosen, max).await }
        };
        if !self.push_action("checkin_all".into(), job) {
            return;
        }
        log::info!("auto check-in: {} accounts", d.run.len());
        self.state.actions.auto_checkin_running = true;
        for (id, kind) in kinds {
            let day = checkin_schedule::site_day(kind, now);
            let t = self.action_jobs.attempts.entry(id).or_default();
            if t.day != day {
                *t = Attempt { day, tries: 0, last_at: 0 };
            }
            t.tries += 1;
            t.last_at = ts;
        }
    }

    /// Collects finished action jobs.
    pub(crate) fn poll_actions(&mut self, ctx: &egui::Context) {
        let mut i = 0;
        while i < self.action_jobs.jobs.len() {
            if self.action_jobs.jobs[i].ready().is_none() {
                i += 1;
                continue;
            }
            let outcome = self.action_jobs.jobs.swap_remove(i).block_and_take();
            self.finish_action(outcome, ctx);
        }
    }

    fn finish_action(&mut self, outcome: ActionOutcome, ctx: &egui::Context) {
        match outcome {
            ActionOutcome::Key { id, reveal, result } => {
                self.state.actions.busy.remove(&id);
                match result {
                    Ok(done) => {
                        let text = if reveal {
                            if let Some(k) = &done.full_key {
                                ctx.copy_text(k.clone());
                            }
                            tr("keys.copied").to_string()
                        } else if let Some(k) = &done.created {
                            fill(tr("keys.created"), &[("name", &k.name)])
                        } else {
                            tr("keys.saved").to_string()
                        };
                        self.set_state(id, done.state);
                        self.set_message(id, ActionKind::Keys, text, true);
                    }
                    Err(e) => {
                        let text = if reveal && e.kind() == "rate_limited" {
                            tr("keys.reveal_rate_limited").to_string()
                        } else {
                            fill(tr("keys.failed"), &[("e", &e)])
                        };
                        log::warn!("key action failed: {e}");
                        self.set_message(id, ActionKind::Keys, text, false);
                    }
                }
            }
            ActionOutcome::Redeem { id, result } => {
                self.state.actions.busy.remove(&id);
                match result {
                    Ok(done) => {
                        let text = fill(tr("redeem.done"), &[("amount", &done.amount_text)]);
                        self.set_state(id, done.state);
                        self.set_message(id, ActionKind::Redeem, text, true);
                    }
                    Err(e) => {
                        let text = if e.kind() == "rate_limited" {
                            tr("redeem.rate_limited").to_string()
                        } else {
                            fill(tr("redeem.failed"), &[("e", &e)])
                        };
                        self.set_message(id, ActionKind::Redeem, text, false);
                    }
                }
            }
            ActionOutcome::Checkin { id, result } => {
                self.state.actions.busy.remove(&id);
                match result {
                    Ok((entry, state)) => {
                        let (text, ok) = checkin_text(&entry.status);
                        if let Some(st) = state {
                            self.set_state(id, st);
                        }
                        self.set_message(id, ActionKind::Checkin, text, ok);
                    }
                    Err(e) => {
                        self.set_message(id, ActionKind::Checkin, fill(tr("checkin.failed_msg"), &[("e", &e)]), false)
                    }
                }
                self.reload_checkin_records();
            }
            ActionOutcome::CheckinAll { auto, result } => {
                if auto {
                    self.state.actions.auto_checkin_running = false;
                    self.action_jobs.next_auto_check = 0;
                } else {
                    self.state.actions.checkin_all_running = false;
                }
                match result {
                    Ok(summary) if auto => {
                        let (done, _, human, failed) = summary.counts();
                        self.state.status = Some(super::StatusLine {
                            text: fill(
                                tr("checkin.auto_done"),
                                &[("done", &done), ("human", &human), ("failed", &failed)],
                            ),
                            severity: if failed + human > 0 { super::Severity::Warning } else { super::Severity::Info },
                        });
                    }
                    Ok(summary) => self.state.actions.checkin_summary = Some(summary),
                    Err(e) => {
                        self.state.status = Some(super::StatusLine {
                            text: fill(tr("checkin.failed_msg"), &[("e", &e)]),
                            severity: super::Severity::Error,
                        })
                    }
                }
                self.reload_checkin_records();
                self.pending.push(Command::ReloadAccounts);
            }
            ActionOutcome::Marked { id, result } => {
                self.state.actions.busy.remove(&id);
                match result {
                    Ok(rec) => {
                        self.state.actions.checkin_records.insert(id, rec);
                        self.state.data_version += 1;
                        if let Some(summary) = &mut self.state.actions.checkin_summary {
                            for e in summary.entries.iter_mut().filter(|e| e.account_id == id) {
                                e.status = CheckinStatus::Manual;
                            }
                        }
                        self.set_message(id, ActionKind::Checkin, tr("checkin.manual").to_string(), true);
                    }
                    Err(e) => {
                        self.set_message(id, ActionKind::Checkin, fill(tr("checkin.failed_msg"), &[("e", &e)]), false)
                    }
                }
            }
            ActionOutcome::Records(Ok(records)) => {
                self.state.actions.checkin_records = records;
                self.state.actions.records_loaded = true;
                self.state.data_version += 1;
            }
            ActionOutcome::Records(Err(e)) => log::error!("check-in records unreadable: {e}"),
        }
    }
}
