//! Check-in and redeem: one account (`action:{id}`, shared with key management), "check
//! in all" (`checkin-all`, also the daily automatic run), marking a check-in done by
//! hand, redeeming a code, and each account's last check-in record. A check-in or redeem
//! that refreshes the account waits for a running refresh of it (`refresh:{id}`).
//!
//! The daily automatic check-in is [`Checkin::tick`]: the decision is
//! `engine::checkin_schedule::due_checkins`; the automatic tries of the day are kept
//! here in memory.

use std::collections::{HashMap, HashSet};

use super::command::{NotifyCmd, SitesCmd};
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::sites::{Sites, refresh_key};
use super::state::{ActionKind, ActionMessage, Severity, action_key};
use crate::domain::AccountId;
use crate::domain::snapshot::AccountState;
use crate::engine::actions::{self, CheckinEntry, CheckinStatus, CheckinSummary, RedeemDone};
use crate::engine::checkin_schedule::{self, Attempt, AutoCheckin};
use crate::store::CheckinRecord;

/// Commands of check-in and redeem.
#[derive(Debug, Clone)]
pub enum CheckinCmd {
    /// Check one account in for today.
    CheckIn(AccountId),
    /// Check in every eligible enabled account, then show the summary.
    CheckInAll,
    /// Close the check-in summary.
    DismissSummary,
    /// Record today's check-in of an account as done by hand (it needed a human).
    MarkDone(AccountId),
    /// Change the daily automatic check-in (a setting).
    SetAuto(AutoCheckin),
    /// Redeem a code on an account.
    Redeem {
        /// Which account.
        account: AccountId,
        /// The code.
        code: String,
    },
    /// Read every account's last check-in from the store.
    ReloadRecords,
}

/// Messages of the check-in jobs.
pub enum CheckinMsg {
    /// One account's check-in ended.
    One { id: AccountId, result: Result<(CheckinEntry, Option<AccountState>), actions::ActionError> },
    /// "Check in all" (or the automatic run) ended.
    All { auto: bool, result: Result<CheckinSummary, actions::ActionError> },
    /// Marking done by hand ended.
    Marked { id: AccountId, result: Result<CheckinRecord, actions::ActionError> },
    /// A redeem ended.
    Redeemed { id: AccountId, result: Result<RedeemDone, actions::ActionError> },
    /// The stored records.
    Records(Result<HashMap<AccountId, CheckinRecord>, String>),
}

impl From<CheckinMsg> for JobMsg {
    fn from(m: CheckinMsg) -> JobMsg {
        JobMsg::Checkin(Box::new(m))
    }
}

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

/// Check-in's state.
#[derive(Debug, Default)]
pub struct Checkin {
    /// Accounts with a check-in or redeem running.
    pub busy: HashSet<AccountId>,
    /// The last check-in and redeem result per account.
    pub messages: HashMap<(AccountId, ActionKind), ActionMessage>,
    /// "Check in all" is running.
    pub all_running: bool,
    /// The summary of the last "check in all" (shown until dismissed).
    pub summary: Option<CheckinSummary>,
    /// Each account's last check-in (from the store).
    pub records: HashMap<AccountId, CheckinRecord>,
    /// The records above have been read from the store at least once.
    pub records_loaded: bool,
    /// When the automatic check-in may next run something (None: off).
    pub auto_next: Option<i64>,
    /// An automatic check-in run is going on.
    pub auto_running: bool,
    /// Automatic tries per account (site day, count, last time).
    attempts: HashMap<AccountId, Attempt>,
    /// Unix time of the next automatic check-in decision.
    next_auto_check: i64,
}

/// Seconds between automatic check-in decisions (sooner when something is due).
const AUTO_CHECK_EVERY_SECS: i64 = 30;
const ALL_JOB: &str = "checkin-all";
const RECORDS_JOB: &str = "checkin:records";

impl Checkin {
    /// The last message of `kind` (check-in or redeem) for an account.
    pub fn message(&self, id: AccountId, kind: ActionKind) -> Option<&ActionMessage> {
        self.messages.get(&(id, kind))
    }

    fn set_message(&mut self, id: AccountId, kind: ActionKind, text: String, ok: bool) {
        self.messages.insert((id, kind), ActionMessage { kind, text, ok });
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: CheckinCmd, cx: &mut Cx<'_>, sites: &Sites) {
        let (relay, store) = (cx.relay.clone(), cx.store.clone());
        match cmd {
            CheckinCmd::CheckIn(account) => {
                let Some(acc) = sites.account(account).cloned() else { return };
                if cx.start(Spec::new(action_key(account)), |r| {
                    let holds = r.holds().clone();
                    async move {
                        let _refreshing = holds.acquire(refresh_key(acc.id)).await;
                        CheckinMsg::One { id: acc.id, result: actions::checkin_one(&relay, &store, &acc, true).await }
                    }
                }) {
                    self.busy.insert(account);
                }
            }
            CheckinCmd::CheckInAll => {
                let accounts = sites.accounts.value().cloned().unwrap_or_default();
                let max = crate::engine::DEFAULT_MAX_CONCURRENCY;
                if cx.start(Spec::new(ALL_JOB), |_| async move {
                    CheckinMsg::All { auto: false, result: actions::checkin_all(&relay, &store, accounts, max).await }
                }) {
                    self.all_running = true;
                }
            }
            CheckinCmd::DismissSummary => self.summary = None,
            CheckinCmd::MarkDone(account) => {
                let Some(acc) = sites.account(account).cloned() else { return };
                if cx.start(Spec::new(action_key(account)), |_| async move {
                    CheckinMsg::Marked { id: acc.id, result: actions::mark_checkin_done(&store, &acc).await }
                }) {
                    self.busy.insert(account);
                }
            }
            CheckinCmd::SetAuto(auto) => {
                self.next_auto_check = 0;
                cx.change_settings(|s| s.checkin = auto);
            }
            CheckinCmd::Redeem { account, code } => {
                let Some(acc) = sites.account(account).cloned() else { return };
                if cx.start(Spec::new(action_key(account)), |r| {
                    let holds = r.holds().clone();
                    async move {
                        let _refreshing = holds.acquire(refresh_key(acc.id)).await;
                        CheckinMsg::Redeemed { id: acc.id, result: actions::redeem(&relay, &store, &acc, &code).await }
                    }
                }) {
                    self.busy.insert(account);
                }
            }
            CheckinCmd::ReloadRecords => {
                cx.start_blocking_quiet(Spec::new(RECORDS_JOB).latest_wins(), move |_| {
                    CheckinMsg::Records(store.with(|s| s.checkin_records()).map_err(|e| e.to_string()))
                });
            }
        }
    }

    /// The daily automatic check-in: at most every [`AUTO_CHECK_EVERY_SECS`] (sooner
    /// when a retry or the window's start comes first), once accounts, their states and
    /// the check-in records are loaded, runs "check in all" over the accounts
    /// [`checkin_schedule::due_checkins`] picks.
    pub fn tick(&mut self, cx: &mut Cx<'_>, sites: &Sites) {
        let now = crate::domain::time::local_now();
        let ts = now.timestamp();
        if ts < self.next_auto_check {
            return;
        }
        let auto = cx.settings.checkin;
        if !auto.enabled {
            self.auto_next = None;
            self.next_auto_check = ts + AUTO_CHECK_EVERY_SECS;
            return;
        }
        let Some(accounts) = sites.accounts.value() else { return };
        if !self.records_loaded || sites.loading() || self.auto_running || self.all_running {
            return;
        }
        let d = checkin_schedule::due_checkins(accounts, &sites.states, &self.records, &self.attempts, &auto, now);
        self.auto_next = d.next_at;
        let wait = d.next_at.map_or(AUTO_CHECK_EVERY_SECS, |at| (at - ts).clamp(1, AUTO_CHECK_EVERY_SECS));
        self.next_auto_check = ts + wait;
        cx.egui.request_repaint_after(std::time::Duration::from_secs(wait.unsigned_abs()));
        if d.run.is_empty() {
            return;
        }
        let chosen: Vec<_> = accounts.iter().filter(|a| d.run.contains(&a.id)).cloned().collect();
        let kinds: Vec<_> = chosen.iter().map(|a| (a.id, a.site.kind)).collect();
        let (relay, store) = (cx.relay.clone(), cx.store.clone());
        let max = crate::engine::DEFAULT_MAX_CONCURRENCY;
        if !cx.start_quiet(Spec::new(ALL_JOB), |_| async move {
            CheckinMsg::All { auto: true, result: actions::checkin_all(&relay, &store, chosen, max).await }
        }) {
            return;
        }
        log::info!("auto check-in: {} accounts", d.run.len());
        self.auto_running = true;
        for (id, kind) in kinds {
            let day = checkin_schedule::site_day(kind, now);
            let t = self.attempts.entry(id).or_default();
            if t.day != day {
                *t = Attempt { day, tries: 0, last_at: 0 };
            }
            t.tries += 1;
            t.last_at = ts;
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: CheckinMsg, cx: &mut Cx<'_>) {
        match msg {
            CheckinMsg::One { id, result } => {
                self.busy.remove(&id);
                match result {
                    Ok((entry, state)) => {
                        let (text, ok) = checkin_text(&entry.status);
                        if let Some(st) = state {
                            cx.send(SitesCmd::SetState(id, Box::new(st)));
                        }
                        self.set_message(id, ActionKind::Checkin, text, ok);
                    }
                    Err(e) => {
                        self.set_message(id, ActionKind::Checkin, fill(tr("checkin.failed_msg"), &[("e", &e)]), false)
                    }
                }
                cx.send(CheckinCmd::ReloadRecords);
                cx.send(NotifyCmd::Record);
            }
            CheckinMsg::All { auto, result } => {
                if auto {
                    self.auto_running = false;
                    self.next_auto_check = 0;
                } else {
                    self.all_running = false;
                }
                match result {
                    Ok(summary) if auto => {
                        let (done, _, human, failed) = summary.counts();
                        let text =
                            fill(tr("checkin.auto_done"), &[("done", &done), ("human", &human), ("failed", &failed)]);
                        cx.say(text, if failed + human > 0 { Severity::Warning } else { Severity::Info });
                    }
                    Ok(summary) => self.summary = Some(summary),
                    Err(e) => cx.say(fill(tr("checkin.failed_msg"), &[("e", &e)]), Severity::Error),
                }
                cx.send(CheckinCmd::ReloadRecords);
                cx.send(SitesCmd::Reload);
                cx.send(NotifyCmd::Record);
            }
            CheckinMsg::Marked { id, result } => {
                self.busy.remove(&id);
                match result {
                    Ok(rec) => {
                        self.records.insert(id, rec);
                        if let Some(summary) = &mut self.summary {
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
            CheckinMsg::Redeemed { id, result } => {
                self.busy.remove(&id);
                match result {
                    Ok(done) => {
                        let text = fill(tr("redeem.done"), &[("amount", &done.amount_text)]);
                        cx.send(SitesCmd::SetState(id, Box::new(done.state)));
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
            CheckinMsg::Records(Ok(records)) => {
                self.records = records;
                self.records_loaded = true;
            }
            CheckinMsg::Records(Err(e)) => log::error!("check-in records unreadable: {e}"),
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        self.busy.retain(|id| action_key(*id) != key);
        if key == ALL_JOB {
            self.all_running = false;
            self.auto_running = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;
    use crate::store::CheckinRecordOutcome;

    #[test]
    fn results_land_as_messages_summaries_and_records() {
        let mut rig = Rig::new();
        let mut c = Checkin::default();
        c.busy.insert(3);
        let entry = CheckinEntry {
            account_id: 3,
            site_name: "s".into(),
            account: "a".into(),
            site_url: "u".into(),
            status: CheckinStatus::Done {
                reward: Some(crate::domain::money::Amount::Quota(5)),
                reward_text: Some("$0.01".into()),
            },
        };
        rig.with(|cx| c.on_job(CheckinMsg::One { id: 3, result: Ok((entry.clone(), None)) }, cx));
        assert!(c.busy.is_empty());
        assert!(c.message(3, ActionKind::Checkin).is_some_and(|m| m.ok && m.text.contains("$0.01")));
        assert!(matches!(
            rig.sent().as_slice(),
            [
                crate::app::Command::Checkin(CheckinCmd::ReloadRecords),
                crate::app::Command::Notify(NotifyCmd::Record) // a failed check-in is an alert
            ]
        ));

        c.all_running = true;
        let summary = CheckinSummary { entries: vec![entry], unsupported: 0 };
        rig.with(|cx| c.on_job(CheckinMsg::All { auto: false, result: Ok(summary) }, cx));
        assert!(!c.all_running && c.summary.is_some());
        let rec = CheckinRecord {
            day: "2026-01-01".into(),
            outcome: CheckinRecordOutcome::Manual,
            reward: None,
            message: String::new(),
            updated_at: 0,
        };
        rig.with(|cx| c.on_job(CheckinMsg::Marked { id: 3, result: Ok(rec) }, cx));
        assert_eq!(c.summary.as_ref().unwrap().entries[0].status, CheckinStatus::Manual, "the summary says so too");
        rig.with(|cx| c.apply(CheckinCmd::DismissSummary, cx, &Sites::default()));
        assert!(c.summary.is_none());
    }

    #[test]
    fn the_automatic_switch_is_a_setting_and_the_tick_waits_for_the_records() {
        let mut rig = Rig::new();
        let mut c = Checkin::default();
        let on = AutoCheckin { enabled: true, ..AutoCheckin::default() };
        rig.with(|cx| c.apply(CheckinCmd::SetAuto(on), cx, &Sites::default()));
        assert!(rig.settings.checkin.enabled);
        rig.with(|cx| c.tick(cx, &Sites::default()));
        assert!(!c.auto_running, "nothing runs before the accounts and records are read");
        rig.wait_saved();
        assert!(rig.stored().checkin.enabled);
    }
}
