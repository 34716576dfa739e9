//! Notification channels in the app: the channels and the event history
//! (`notify:load`, latest wins), adding / editing / enabling / removing a channel
//! (`notify:write:{n}`), a test message (`notify:test:{name}`), the `notify` settings
//! (quiet hours, daily summary, retries) through the one settings save path, and,
//! after every refresh or check-in and once a minute, the same work as the CLI's
//! (`notify:work`): `notify::record` (once per state change across every process on
//! the data dir) then `notify::deliver_due` (claimed deliveries: the app, a cron
//! `apihub refresh` and `apihub watch` never send one twice).

use std::collections::BTreeMap;

use super::command::BackupCmd;
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::state::Severity;
use crate::domain::notify::{Channel, ChannelSpec, NotifySettings};
use crate::domain::time::now_unix;
use crate::notify::{Delivered, DispatchOptions};
use crate::store::{HistoryRow, Lease, SCHEDULE_LEASE};

/// Events shown in the history.
pub const HISTORY_LIMIT: usize = 50;
/// How often the app records and sends without a refresh (summary time, retries,
/// the end of quiet hours), seconds.
pub const WORK_EVERY_SECS: i64 = 60;
/// Longest channel name.
pub const NAME_MAX: usize = 64;
/// How long the app's hold on the schedule lasts without renewal (renewed every
/// [`WORK_EVERY_SECS`]; after the window closes, `watch` takes over within it).
pub const APP_LEASE_TTL_SECS: i64 = 150;

/// Commands of the notification channels.
#[derive(Debug, Clone)]
pub enum NotifyCmd {
    /// Read the channels and the history again.
    Reload,
    /// Add a channel, or replace the one named `replacing` (an edit; it may rename).
    Save {
        /// The channel as set up (secrets included).
        spec: Box<ChannelSpec>,
        /// The name of the channel being edited (`None`: a new one).
        replacing: Option<String>,
    },
    /// Forget the dialog's last result (the dialog was opened or closed).
    ResetDialog,
    /// Remove a channel (the view has asked first); its history stays.
    Remove(String),
    /// Turn a channel on or off.
    SetEnabled(String, bool),
    /// Send a test message on a channel now (quiet hours do not apply).
    Test(String),
    /// Change quiet hours, the daily summary, retries (a setting).
    SetSettings(NotifySettings),
    /// Something was refreshed or checked in: record new events and send what is due.
    Record,
}

/// The channels and the newest events, as read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifyData {
    /// Every channel, by name (secrets included: views show `target()` only).
    pub channels: Vec<Channel>,
    /// The newest events with their deliveries, newest first.
    pub history: Vec<HistoryRow>,
}

/// Messages of the notification jobs.
pub enum NotifyMsg {
    /// The channels and the history.
    Loaded(Result<NotifyData, String>),
    /// A channel was written (saved, removed, switched), or why not.
    Written {
        /// From the add / edit dialog.
        dialog: bool,
        /// The channel's name.
        name: String,
        /// What happened.
        result: Result<(), String>,
    },
    /// A test message went out, or why not.
    Tested {
        /// The channel.
        name: String,
        /// Sent, or the reason (the channel's service's own words).
        result: Result<(), String>,
    },
    /// Recorded and sent: new events and the deliveries; who else runs the schedule.
    Worked(Result<Worked, String>),
}

impl From<NotifyMsg> for JobMsg {
    fn from(m: NotifyMsg) -> JobMsg {
        JobMsg::Notify(m)
    }
}

/// What a round of recording and sending did.
#[derive(Debug, Clone, Default)]
pub struct Worked {
    /// New events recorded.
    pub events: usize,
    /// Deliveries.
    pub delivered: Delivered,
    /// Another process (`apihub watch`) runs the schedule: its holder text.
    pub schedule_elsewhere: Option<String>,
}

/// Where a test of a channel stands.
#[derive(Debug, Clone, PartialEq)]
pub enum TestState {
    /// Sending.
    Running,
    /// Delivered (unix seconds).
    Sent(i64),
    /// Not delivered: why.
    Failed(String),
}

/// Where the add / edit dialog's save stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DialogStatus {
    /// Nothing asked.
    #[default]
    Idle,
    /// Saving.
    Saving,
    /// Saved under this name (the dialog closes).
    Saved(String),
    /// Not saved: why (translated).
    Failed(String),
}

/// The notification channels' state.
#[derive(Default)]
pub struct Notify {
    /// Channels and history (the last good value stays while reloading).
    pub data: Loadable<NotifyData>,
    /// Each channel's last test.
    pub tests: BTreeMap<String, TestState>,
    /// The add / edit dialog's save.
    pub dialog: DialogStatus,
    /// Recording and sending runs.
    pub working: bool,
    /// The last round's failure (the store could not be read).
    pub work_error: Option<String>,
    /// Another process holds the schedule lease (`apihub watch pid …`).
    pub schedule_elsewhere: Option<String>,
    /// A round has told who runs the schedule (the app's automatic work waits for it).
    lease_known: bool,
    /// Another round was asked for while one ran.
    again: bool,
    /// When the timed round runs next (unix seconds).
    next_work_at: i64,
    /// Writes started (names their jobs).
    writes: u64,
}

const LOAD_JOB: &str = "notify:load";
const WORK_JOB: &str = "notify:work";

fn test_job(name: &str) -> String {
    format!("notify:test:{name}")
}

/// Checks a channel before it is saved: a name (unique unless it is the one edited),
/// the fields its kind needs. The error is translated.
pub fn check_spec(spec: &ChannelSpec, existing: &[Channel], replacing: Option<&str>) -> Result<(), String> {
    let name = spec.name.trim();
    if name.is_empty() {
        return Err(tr("notify.err.name").to_string());
    }
    if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(fill(tr("notify.err.name_long"), &[("n", &NAME_MAX)]));
    }
    if replacing != Some(name) && existing.iter().any(|c| c.spec.name == name) {
        return Err(fill(tr("notify.err.name_taken"), &[("name", &name)]));
    }
    spec.config.check(spec.kind).map_err(|e| fill(tr("notify.err.config"), &[("e", &e)]))
}

impl Notify {
    /// Whether the app runs its automatic refresh and check-in: once the first round has
    /// looked at the schedule lease, and while no other process (`apihub watch`) holds it.
    pub fn runs_schedule(&self) -> bool {
        self.lease_known && self.schedule_elsewhere.is_none()
    }

    /// The channels read so far.
    pub fn channels(&self) -> &[Channel] {
        self.data.value().map(|d| d.channels.as_slice()).unwrap_or_default()
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: NotifyCmd, cx: &mut Cx<'_>) {
        match cmd {
            NotifyCmd::Reload => self.reload(cx),
            NotifyCmd::Save { spec, replacing } => self.save(*spec, replacing, cx),
            NotifyCmd::ResetDialog => self.dialog = DialogStatus::Idle,
            NotifyCmd::Remove(name) => {
                self.write(cx, name.clone(), false, move |s| {
                    if s.remove_notify_channel(&name)? {
                        Ok(())
                    } else {
                        Err(crate::store::StoreError::Unavailable(format!("no channel named {name:?}")))
                    }
                });
            }
            NotifyCmd::SetEnabled(name, enabled) => {
                let Some(channel) = self.channels().iter().find(|c| c.spec.name == name) else { return };
                let spec = ChannelSpec { enabled, ..channel.spec.clone() };
                self.write(cx, name, false, move |s| s.save_notify_channel(&spec).map(|_| ()));
            }
            NotifyCmd::Test(name) => {
                let (store, relay) = (cx.store.clone(), cx.relay.clone());
                let key = test_job(&name);
                let n = name.clone();
                if cx.start(Spec::new(key), |_| async move {
                    let result = match crate::notify::test_channel(&store, &relay, &n).await {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(fill(tr("notify.err.no_channel"), &[("name", &n)])),
                        Err(e) => Err(e.to_string()),
                    };
                    NotifyMsg::Tested { name: n, result }
                }) {
                    self.tests.insert(name, TestState::Running);
                }
            }
            NotifyCmd::SetSettings(settings) => {
                cx.change_settings(|s| s.notify = settings);
                self.next_work_at = 0; // quiet hours or the summary time may have changed
            }
            NotifyCmd::Record => self.work(cx),
        }
    }

    fn reload(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        if cx.start_blocking_quiet(Spec::new(LOAD_JOB).latest_wins(), move |_| {
            NotifyMsg::Loaded(
                store
                    .with(|s| {
                        Ok(NotifyData { channels: s.notify_channels()?, history: s.notify_history(HISTORY_LIMIT)? })
                    })
                    .map_err(|e| e.to_string()),
            )
        }) {
            self.data.start();
        }
    }

    fn save(&mut self, mut spec: ChannelSpec, replacing: Option<String>, cx: &mut Cx<'_>) {
        spec.name = spec.name.trim().to_string();
        if let Err(e) = check_spec(&spec, self.channels(), replacing.as_deref()) {
            self.dialog = DialogStatus::Failed(e);
            return;
        }
        let name = spec.name.clone();
        let started = self.write(cx, name, true, move |s| {
            s.save_notify_channel(&spec)?;
            if let Some(old) = replacing.filter(|old| *old != spec.name) {
                s.remove_notify_channel(&old)?;
            }
            Ok(())
        });
        if started {
            self.dialog = DialogStatus::Saving;
        }
    }

    fn write(
        &mut self,
        cx: &mut Cx<'_>,
        name: String,
        dialog: bool,
        change: impl FnOnce(&mut crate::store::Store) -> Result<(), crate::store::StoreError> + Send + 'static,
    ) -> bool {
        self.writes += 1;
        let store = cx.store.clone();
        cx.start_blocking(Spec::new(format!("notify:write:{}", self.writes)), move |_| NotifyMsg::Written {
            dialog,
            name,
            result: store.with(change).map_err(|e| e.to_string()),
        })
    }

    /// Records new events and sends what is due, like `apihub refresh` does after its
    /// refresh. One round at a time; a round asked for meanwhile runs after it.
    fn work(&mut self, cx: &mut Cx<'_>) {
        if self.working {
            self.again = true;
            return;
        }
        let (store, relay) = (cx.store.clone(), cx.relay.clone());
        let holder = format!("API Hub Desk pid {}", std::process::id());
        let started = cx.start_quiet(Spec::new(WORK_JOB), |_| async move {
            let recorded = store
                .run(move |s| {
                    let now = now_unix();
                    let settings = s.load_settings()?.settings;
                    let elsewhere = if settings.refresh.enabled || settings.checkin.enabled {
                        match s.notify_lease(SCHEDULE_LEASE, &holder, APP_LEASE_TTL_SECS, now)? {
                            Lease::Mine => None,
                            Lease::Other { holder, .. } => Some(holder),
                        }
                    } else {
                        s.notify_release(SCHEDULE_LEASE, &holder)?;
                        None
                    };
                    let events = crate::notify::record(s, now)?.len();
                    Ok((events, settings, elsewhere))
                })
                .await;
            let result = match recorded {
                Ok((events, settings, schedule_elsewhere)) => {
                    crate::notify::deliver_due(&store, &relay, &DispatchOptions::from_settings(&settings))
                        .await
                        .map(|delivered| Worked { events, delivered, schedule_elsewhere })
                }
                Err(e) => Err(e),
            };
            NotifyMsg::Worked(result.map_err(|e| e.to_string()))
        });
        if started {
            self.working = true;
            self.again = false;
            self.next_work_at = now_unix() + WORK_EVERY_SECS;
        }
    }

    /// Timed work: a round once a minute (the summary's time, retries that came due,
    /// the end of the quiet hours), also when nothing is refreshed.
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        let now = now_unix();
        if now >= self.next_work_at && !self.working {
            self.work(cx);
            cx.egui.request_repaint_after(std::time::Duration::from_secs(WORK_EVERY_SECS as u64));
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: NotifyMsg, cx: &mut Cx<'_>) {
        match msg {
            NotifyMsg::Loaded(r) => {
                if let Err(e) = &r {
                    log::error!("notification channels unreadable: {e}");
                }
                self.data.finish(r, now_unix());
            }
            NotifyMsg::Written { dialog, name, result } => {
                match result {
                    Ok(()) => {
                        if dialog {
                            self.dialog = DialogStatus::Saved(name.clone());
                            cx.say(fill(tr("notify.saved"), &[("name", &name)]), Severity::Info);
                        }
                        self.tests.remove(&name);
                        cx.send(BackupCmd::Auto);
                    }
                    Err(e) => {
                        log::warn!("notification channel \"{name}\" not saved: {e}");
                        let text = fill(tr("notify.write_failed"), &[("name", &name), ("e", &e)]);
                        if dialog {
                            self.dialog = DialogStatus::Failed(text);
                        } else {
                            cx.say(text, Severity::Error);
                        }
                    }
                }
                self.reload(cx);
            }
            NotifyMsg::Tested { name, result } => {
                let state = match result {
                    Ok(()) => TestState::Sent(now_unix()),
                    Err(e) => {
                        log::warn!("test notification on \"{name}\" failed: {e}");
                        TestState::Failed(e)
                    }
                };
                self.tests.insert(name, state);
                self.reload(cx);
            }
            NotifyMsg::Worked(r) => {
                self.working = false;
                self.lease_known = true;
                match r {
                    Ok(w) => {
                        self.work_error = None;
                        if w.schedule_elsewhere != self.schedule_elsewhere {
                            match &w.schedule_elsewhere {
                                Some(h) => log::info!(
                                    "{h} runs the schedule on this data dir; automatic refresh and check-in stand by"
                                ),
                                None => log::info!("this window runs the schedule on this data dir"),
                            }
                            self.schedule_elsewhere = w.schedule_elsewhere;
                        }
                        let d = w.delivered;
                        if w.events > 0 || d.sent + d.retrying + d.failed > 0 {
                            self.reload(cx);
                        }
                        if d.failed > 0 {
                            cx.say(fill(tr("notify.delivery_failed"), &[("n", &d.failed)]), Severity::Warning);
                        }
                    }
                    Err(e) => {
                        log::error!("notifications: {e}");
                        self.work_error = Some(e);
                    }
                }
                if self.again {
                    self.work(cx);
                }
            }
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        match key {
            LOAD_JOB => self.data.stop(),
            WORK_JOB => {
                self.working = false;
                self.lease_known = true;
            }
            k => {
                if let Some(name) = k.strip_prefix("notify:test:") {
                    self.tests.insert(name.to_string(), TestState::Failed("the job stopped unexpectedly".into()));
                } else if k.starts_with("notify:write:") && self.dialog == DialogStatus::Saving {
                    self.dialog = DialogStatus::Failed("the job stopped unexpectedly".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;
    use crate::domain::notify::{ChannelConfig, ChannelKind, Condition, EventKind};
    use crate::store::DeliveryState;

    fn land(rig: &mut Rig, n: &mut Notify, msgs: Vec<JobMsg>) {
        for m in msgs {
            if let JobMsg::Notify(m) = m {
                rig.with(|cx| n.on_job(m, cx));
            }
        }
    }

    /// Waits for a message of `n` that `done` accepts, landing every one on the way.
    fn until(rig: &mut Rig, n: &mut Notify, mut done: impl FnMut(&Notify) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !done(n) {
            assert!(std::time::Instant::now() < deadline, "timed out");
            let got = rig.wait(|m| !m.is_empty());
            land(rig, n, got);
        }
    }

    fn webhook(name: &str, url: &str) -> ChannelSpec {
        ChannelSpec {
            name: name.into(),
            kind: ChannelKind::Webhook,
            config: ChannelConfig { url: url.into(), ..Default::default() },
            events: vec![],
            enabled: true,
        }
    }

    /// A URL where nothing listens (a port just closed).
    fn closed_url() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/hook")
    }

    #[test]
    fn a_channel_is_checked_saved_renamed_switched_and_removed() {
        crate::app::i18n::set_lang(crate::domain::settings::Lang::En);
        let mut rig = Rig::new();
        let mut n = Notify::default();
        // Bad input: nothing starts, the dialog says why.
        rig.with(|cx| n.apply(NotifyCmd::Save { spec: Box::new(webhook(" ", "http://x")), replacing: None }, cx));
        assert!(matches!(&n.dialog, DialogStatus::Failed(e) if e.contains("name")), "{:?}", n.dialog);
        rig.with(|cx| n.apply(NotifyCmd::Save { spec: Box::new(webhook("ops", "ftp://x")), replacing: None }, cx));
        assert!(matches!(&n.dialog, DialogStatus::Failed(e) if e.contains("URL")), "{:?}", n.dialog);
        assert!(!rig.jobs.is_running("notify:write:1"));

        rig.with(|cx| {
            n.apply(NotifyCmd::Save { spec: Box::new(webhook("ops", "http://a.example/k")), replacing: None }, cx)
        });
        assert_eq!(n.dialog, DialogStatus::Saving);
        until(&mut rig, &mut n, |n| n.channels().len() == 1);
        assert_eq!(n.dialog, DialogStatus::Saved("ops".into()));
        assert!(rig.sent().iter().any(|c| matches!(c, crate::app::Command::Backup(BackupCmd::Auto))));

        // The same name again is refused (not silently replaced).
        rig.with(|cx| {
            n.apply(NotifyCmd::Save { spec: Box::new(webhook("ops", "http://b.example/k")), replacing: None }, cx)
        });
        assert!(matches!(&n.dialog, DialogStatus::Failed(e) if e.contains("ops")), "{:?}", n.dialog);

        // An edit that renames replaces the old row.
        let mut edited = webhook("alerts", "http://b.example/k");
        edited.events = vec![EventKind::LowBalance];
        rig.with(|cx| n.apply(NotifyCmd::Save { spec: Box::new(edited.clone()), replacing: Some("ops".into()) }, cx));
        until(&mut rig, &mut n, |n| n.channels().first().is_some_and(|c| c.spec.name == "alerts"));
        assert_eq!(n.channels().len(), 1);
        assert_eq!(n.channels()[0].spec, edited);

        rig.with(|cx| n.apply(NotifyCmd::SetEnabled("alerts".into(), false), cx));
        until(&mut rig, &mut n, |n| n.channels().first().is_some_and(|c| !c.spec.enabled));
        let stored = rig.store.lock().unwrap().notify_channel("alerts").unwrap().unwrap();
        assert!(!stored.spec.enabled);
        assert_eq!(stored.spec.config.url, "http://b.example/k", "secrets kept");

        rig.with(|cx| n.apply(NotifyCmd::Remove("alerts".into()), cx));
        until(&mut rig, &mut n, |n| n.channels().is_empty() && !n.data.is_loading());
        assert!(rig.store.lock().unwrap().notify_channels().unwrap().is_empty());
    }

    #[test]
    fn a_failing_test_says_why_and_marks_the_channel() {
        let mut rig = Rig::new();
        let mut n = Notify::default();
        rig.store.lock().unwrap().save_notify_channel(&webhook("down", &closed_url())).unwrap();
        rig.with(|cx| n.apply(NotifyCmd::Test("down".into()), cx));
        assert_eq!(n.tests.get("down"), Some(&TestState::Running));
        until(&mut rig, &mut n, |n| {
            matches!(n.tests.get("down"), Some(TestState::Failed(_))) && n.channels().len() == 1
        });
        let c = &n.channels()[0];
        assert!(c.failing_since.is_some() && c.last_error.is_some(), "{c:?}");
        // A test of a channel that does not exist says so.
        rig.with(|cx| n.apply(NotifyCmd::Test("nope".into()), cx));
        until(&mut rig, &mut n, |n| matches!(n.tests.get("nope"), Some(TestState::Failed(_))));
    }

    #[test]
    fn a_refresh_records_an_event_once_and_its_delivery_waits_for_a_retry() {
        let mut rig = Rig::new();
        rig.settings.notify.retries = 2;
        let id = rig.account("https://a.example", "ann");
        {
            let mut s = rig.store.lock().unwrap();
            s.update_settings(|st| {
                st.notify.retries = 2;
                st.alerts.failures = 2;
                Ok::<_, crate::store::StoreError>(())
            })
            .unwrap();
            s.save_notify_channel(&webhook("down", &closed_url())).unwrap();
            let st = crate::domain::snapshot::AccountState {
                consecutive_failures: 3,
                last_error: Some(crate::domain::snapshot::ErrorInfo { kind: "auth".into(), message: "x".into() }),
                last_attempt_at: Some(now_unix()),
                ..Default::default()
            };
            s.save_account_state(id, &st, &crate::domain::time::local_day(now_unix())).unwrap();
        }
        let mut n = Notify::default();
        rig.with(|cx| n.apply(NotifyCmd::Record, cx));
        assert!(n.working);
        // Asked again while it runs: one more round after it, not two at once.
        rig.with(|cx| n.apply(NotifyCmd::Record, cx));
        until(&mut rig, &mut n, |n| !n.working && !n.again && n.data.value().is_some_and(|d| !d.history.is_empty()));
        let history = n.data.value().unwrap().history.clone();
        assert_eq!(history.len(), 1, "once per state change: {history:?}");
        assert!(matches!(history[0].event.condition, Condition::Failing { .. }));
        let d = &history[0].deliveries[0];
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1), "retried later, not lost: {d:?}");
        assert!(d.last_error.is_some());
        assert!(n.work_error.is_none());
        assert!(n.runs_schedule(), "no watch: the app runs the schedule");
        assert!(
            matches!(
                rig.store.lock().unwrap().notify_lease(SCHEDULE_LEASE, "apihub-watch pid 1", 60, now_unix()).unwrap(),
                Lease::Other { .. }
            ),
            "and holds the lease"
        );
    }

    #[test]
    fn the_app_stands_by_while_watch_runs_the_schedule() {
        let mut rig = Rig::new();
        let mut n = Notify::default();
        assert!(!n.runs_schedule(), "not before the lease was looked at");
        let now = now_unix();
        let watch = "apihub-watch pid 42 (abc)";
        assert_eq!(rig.store.lock().unwrap().notify_lease(SCHEDULE_LEASE, watch, 60, now).unwrap(), Lease::Mine);
        rig.with(|cx| n.apply(NotifyCmd::Record, cx));
        until(&mut rig, &mut n, |n| !n.working);
        assert_eq!(n.schedule_elsewhere.as_deref(), Some(watch));
        assert!(!n.runs_schedule());
        // watch stops (gives the lease back): the next round takes it.
        rig.store.lock().unwrap().notify_release(SCHEDULE_LEASE, watch).unwrap();
        rig.with(|cx| n.apply(NotifyCmd::Record, cx));
        until(&mut rig, &mut n, |n| !n.working);
        assert!(n.runs_schedule());
    }
}
