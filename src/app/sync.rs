//! Multi-device sync in the app (the Backup panel's Sync section): sync now
//! (`sync:run`), automatic sync after a change (a short delay gathers a burst of
//! edits) and every `sync.interval_minutes` when `sync.auto` is on and a passphrase is
//! saved, the status (device, last sync, conflicts; `sync:load`), and settling a
//! conflict (`sync:resolve`), the history (`sync:history`) and restoring a state of
//! it: a preview first (`sync:preview`, a dry run), then the restore (a `sync:run`).
//! A sync that changed this device's data reloads the accounts and the settings.

use super::backup::Passphrase;
use super::command::{BackupCmd, Command, SitesCmd};
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::state::Severity;
use crate::domain::settings::SyncSettings;
use crate::sync::model::Side;
use crate::sync::{HistoryEntry, SyncOptions, SyncReport, SyncStatus};

/// Seconds after a change before an automatic sync (a burst of edits syncs once).
pub const CHANGE_DELAY_SECS: i64 = 10;

/// Commands of the sync section.
#[derive(Debug, Clone)]
pub enum SyncCmd {
    /// Read this device's sync status (device, last sync, conflicts).
    Load,
    /// Sync now; with a typed passphrase (else the saved one), saved when `remember`.
    Now {
        /// The passphrase typed in the section (`None`: the saved one).
        passphrase: Option<Passphrase>,
        /// Save it on this device (sealed) once it worked.
        remember: bool,
    },
    /// Data changed here: an automatic sync soon, when on.
    Changed,
    /// Keep one side of a conflict.
    Resolve {
        /// Conflict id.
        id: i64,
        /// The side to keep.
        take: Side,
    },
    /// Read the history (the sync documents on the server).
    History {
        /// The passphrase typed in the section (`None`: the saved one).
        passphrase: Option<Passphrase>,
    },
    /// Preview restoring the state of a document of the history (a dry run).
    PreviewRestore {
        /// The document's generation.
        generation: u64,
        /// The passphrase typed in the section (`None`: the saved one).
        passphrase: Option<Passphrase>,
    },
    /// Restore the previewed state (a sync whose restored values are new edits).
    Restore {
        /// The document's generation.
        generation: u64,
        /// The passphrase typed in the section (`None`: the saved one).
        passphrase: Option<Passphrase>,
    },
    /// Close the preview without restoring.
    CancelRestore,
    /// Save the sync settings (automatic sync, interval, device name).
    SaveSettings(SyncSettings),
    /// Forget the saved passphrase.
    ForgetPassphrase,
}

/// Messages of the sync jobs.
pub enum SyncMsg {
    /// The status was read.
    Loaded(Result<SyncStatus, String>),
    /// A sync ended (with the status after it).
    Synced {
        /// What it did, or its error line.
        result: Result<Box<(SyncReport, SyncStatus)>, String>,
        /// Started by the schedule or a change.
        automatic: bool,
        /// The passphrase to save when it worked.
        remember: Option<Passphrase>,
    },
    /// A conflict was settled (with the status after it).
    Resolved(Result<SyncStatus, String>),
    /// The history was read.
    History(Result<Vec<HistoryEntry>, String>),
    /// A restore's preview (generation, what it would do).
    Preview(u64, Result<SyncReport, String>),
}

impl From<SyncMsg> for JobMsg {
    fn from(m: SyncMsg) -> JobMsg {
        JobMsg::Sync(m)
    }
}

/// The sync section's state.
#[derive(Debug, Default)]
pub struct DeviceSync {
    /// The status (last read).
    pub status: Option<SyncStatus>,
    /// A sync or a resolve is running.
    pub running: bool,
    /// The last sync's report or error line.
    pub last: Option<Result<SyncReport, String>>,
    /// When an automatic sync is due after a change (unix seconds).
    pub due_after_change: Option<i64>,
    /// When the last automatic sync started (unix seconds): the timer counts from it.
    pub last_auto: Option<i64>,
    /// The history, when read (newest first), or why it could not be.
    pub history: Option<Result<Vec<HistoryEntry>, String>>,
    /// The restore being previewed: generation, what it would change (or the error).
    pub preview: Option<(u64, Result<SyncReport, String>)>,
}

const RUN_JOB: &str = "sync:run";

impl DeviceSync {
    /// Applies a command.
    pub fn apply(&mut self, cmd: SyncCmd, cx: &mut Cx<'_>) {
        match cmd {
            SyncCmd::Load => {
                let store = cx.store.clone();
                cx.start_blocking_quiet(Spec::new("sync:load").latest_wins(), move |_| {
                    SyncMsg::Loaded(store.with(|s| crate::sync::status(s)).map_err(|e| e.to_string()))
                });
            }
            SyncCmd::Now { passphrase, remember } => self.start_sync(cx, passphrase, remember, false, None),
            SyncCmd::Changed => {
                if auto_ready(&cx.settings.sync, &cx.settings.backup.webdav.url) && self.due_after_change.is_none() {
                    self.due_after_change = Some(crate::domain::time::now_unix() + CHANGE_DELAY_SECS);
                }
            }
            SyncCmd::Resolve { id, take } => {
                let store = cx.store.clone();
                let started = cx.start(Spec::new("sync:resolve").claims([RUN_JOB.to_string()]), move |_| async move {
                    let r = async {
                        crate::sync::resolve(&store, id, take).await.map_err(|e| e.to_string())?;
                        store.run(|s| crate::sync::status(s)).await.map_err(|e| e.to_string())
                    };
                    SyncMsg::Resolved(r.await)
                });
                self.running |= started;
            }
            SyncCmd::History { passphrase } => {
                let store = cx.store.clone();
                cx.start(Spec::new("sync:history").latest_wins(), move |_| async move {
                    let pass = passphrase.map(|p| p.0);
                    SyncMsg::History(crate::sync::history(&store, pass.as_deref()).await.map_err(|e| e.to_string()))
                });
            }
            SyncCmd::PreviewRestore { generation, passphrase } => {
                let store = cx.store.clone();
                let opts = SyncOptions {
                    passphrase: passphrase.map(|p| p.0),
                    dry_run: true,
                    restore: Some(generation),
                    ..SyncOptions::default()
                };
                self.preview = None;
                cx.start(Spec::new("sync:preview").latest_wins(), move |_| async move {
                    SyncMsg::Preview(generation, crate::sync::run(&store, &opts).await.map_err(|e| e.to_string()))
                });
            }
            SyncCmd::Restore { generation, passphrase } => {
                self.preview = None;
                self.history = None;
                self.start_sync(cx, passphrase, false, false, Some(generation));
            }
            SyncCmd::CancelRestore => self.preview = None,
            SyncCmd::SaveSettings(s) => {
                let passphrase = cx.settings.sync.passphrase.clone();
                cx.change_settings(|all| all.sync = SyncSettings { passphrase, ..s });
            }
            SyncCmd::ForgetPassphrase => {
                cx.change_settings(|s| s.sync.passphrase.clear());
            }
        }
    }

    fn start_sync(
        &mut self,
        cx: &mut Cx<'_>,
        passphrase: Option<Passphrase>,
        remember: bool,
        automatic: bool,
        restore: Option<u64>,
    ) {
        let store = cx.store.clone();
        let opts =
            SyncOptions { passphrase: passphrase.as_ref().map(|p| p.0.clone()), restore, ..SyncOptions::default() };
        let remember = passphrase.filter(|_| remember);
        let job = move |_| async move {
            let r = async {
                let report = crate::sync::run(&store, &opts).await.map_err(|e| e.to_string())?;
                let status = store.run(|s| crate::sync::status(s)).await.map_err(|e| e.to_string())?;
                Ok(Box::new((report, status)))
            };
            SyncMsg::Synced { result: r.await, automatic, remember }
        };
        let started =
            if automatic { cx.start_quiet(Spec::new(RUN_JOB), job) } else { cx.start(Spec::new(RUN_JOB), job) };
        if started {
            self.running = true;
            if automatic {
                self.last_auto = Some(crate::domain::time::now_unix());
            }
        }
    }

    /// Timed work: the automatic sync after a change and on the timer.
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        if self.running || !auto_ready(&cx.settings.sync, &cx.settings.backup.webdav.url) {
            return;
        }
        let now = crate::domain::time::now_unix();
        let every = i64::from(cx.settings.sync.interval_minutes.max(1)) * 60;
        let last = self.last_auto.or(self.status.as_ref().and_then(|s| s.last_sync_unix));
        let timer_due = self.status.is_some() && last.is_none_or(|t| now - t >= every || now < t);
        let change_due = self.due_after_change.is_some_and(|t| now >= t);
        if timer_due || change_due {
            self.due_after_change = None;
            self.start_sync(cx, None, false, true, None);
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: SyncMsg, cx: &mut Cx<'_>) {
        match msg {
            SyncMsg::Loaded(Ok(status)) => self.status = Some(status),
            SyncMsg::Loaded(Err(e)) => log::error!("sync status unreadable: {e}"),
            SyncMsg::Synced { result, automatic, remember } => {
                self.running = false;
                match result {
                    Ok(done) => {
                        let (report, status) = *done;
                        if let Some(p) = remember {
                            cx.change_settings(|s| s.sync.passphrase = p.0);
                        }
                        if !report.local.is_empty() {
                            cx.send(super::keys::KeysCmd::ForgetNotes);
                            cx.send(SitesCmd::Reload);
                            cx.send(Command::ReloadSettings);
                            cx.send(BackupCmd::Reload);
                        }
                        if !report.conflicts.is_empty() {
                            let n = report.conflicts.len().to_string();
                            cx.say(fill(tr("sync.msg.conflicts"), &[("n", &n)]), Severity::Warning);
                        } else if !automatic {
                            cx.say(tr("sync.msg.done"), Severity::Info);
                        }
                        self.status = Some(status);
                        self.last = Some(Ok(report));
                    }
                    Err(e) => {
                        log::warn!("sync failed: {e}");
                        if !automatic {
                            cx.say(fill(tr("sync.msg.failed"), &[("error", &e)]), Severity::Error);
                        }
                        self.last = Some(Err(e));
                    }
                }
            }
            SyncMsg::History(r) => self.history = Some(r),
            SyncMsg::Preview(generation, r) => self.preview = Some((generation, r)),
            SyncMsg::Resolved(r) => {
                self.running = false;
                match r {
                    Ok(status) => {
                        self.status = Some(status);
                        cx.send(super::keys::KeysCmd::ForgetNotes);
                        cx.send(SitesCmd::Reload);
                        cx.send(Command::ReloadSettings);
                        cx.send(SyncCmd::Changed);
                    }
                    Err(e) => cx.say(fill(tr("sync.msg.failed"), &[("error", &e)]), Severity::Error),
                }
            }
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key == RUN_JOB || key == "sync:resolve" {
            self.running = false;
        }
    }
}

/// Automatic sync needs it on, a server and a saved passphrase.
fn auto_ready(s: &SyncSettings, url: &str) -> bool {
    s.auto && !s.passphrase.is_empty() && !url.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn a_change_schedules_one_automatic_sync_only_when_it_can_run() {
        let mut rig = Rig::new();
        let mut s = DeviceSync::default();
        rig.with(|cx| s.apply(SyncCmd::Changed, cx));
        assert_eq!(s.due_after_change, None, "off: nothing scheduled");
        rig.settings.sync.auto = true;
        rig.settings.sync.passphrase = "p".into();
        rig.settings.backup.webdav.url = "http://127.0.0.1:9/dav".into();
        rig.with(|cx| s.apply(SyncCmd::Changed, cx));
        let due = s.due_after_change.expect("scheduled");
        rig.with(|cx| s.apply(SyncCmd::Changed, cx));
        assert_eq!(s.due_after_change, Some(due), "a burst of changes syncs once");
        let err = SyncMsg::Synced { result: Err("offline".into()), automatic: true, remember: None };
        s.running = true;
        rig.with(|cx| s.on_job(err, cx));
        assert!(!s.running);
        assert!(matches!(&s.last, Some(Err(e)) if e == "offline"));
        let keep = SyncSettings { auto: false, device_name: "desk".into(), ..SyncSettings::default() };
        rig.with(|cx| s.apply(SyncCmd::SaveSettings(keep), cx));
        assert_eq!((rig.settings.sync.device_name.as_str(), rig.settings.sync.passphrase.as_str()), ("desk", "p"));
        rig.with(|cx| s.apply(SyncCmd::ForgetPassphrase, cx));
        assert!(rig.settings.sync.passphrase.is_empty());
    }
}
