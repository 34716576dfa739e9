//! The recovery window: runs instead of the main app when the data file is damaged or
//! the key does not open the stored secrets. A small eframe app of its own (the normal
//! `App` needs an open store): its state, its commands, its jobs; the view that draws it
//! (`ui::recovery::recovery_ui`) is handed in by `main`, as the app's `View` is. Every
//! action is the same code as `apihub recover …` (`backup::recover`). Its jobs run through
//! a job registry of its own ([`Jobs`] over [`RecoveryMsg`]).
//!
//! When the user has restored, salvaged, started empty, located the key or reset the
//! credentials, "Open API Hub Desk" closes this window and `main` opens the normal app
//! (with a notice of what was done).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::jobs::{JobMessage, Jobs, Spec};
use crate::app::fonts::CjkFace;
use crate::app::i18n::{self, fill, tr};
use crate::backup::recover::{self, GoodBackup, Recovered};
use crate::domain::settings::Lang;
use crate::store::{DamagedStore, KeyProblem, Quarantined, StoreError};

/// What stops the store from opening.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The data file is damaged (a copy is kept).
    Damaged(DamagedStore),
    /// The key is missing, damaged or wrong.
    Key(KeyProblem),
}

impl Problem {
    /// The problem of a store error, when the recovery window handles it.
    pub fn of(e: &StoreError) -> Option<Problem> {
        match e {
            StoreError::Damaged(d) => Some(Problem::Damaged((**d).clone())),
            StoreError::Key(k) => Some(Problem::Key((**k).clone())),
            _ => None,
        }
    }
}

/// The actions the window offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// Restore the chosen backup in place of the damaged file.
    Restore,
    /// Copy the readable rows into a new file.
    Salvage,
    /// Start with an empty file on purpose.
    StartEmpty,
    /// Put a located key file in place.
    LocateKey,
    /// Reset the credentials and bring them back from a passphrase backup.
    RestoreCredentials,
    /// Reset the credentials on purpose.
    ResetCredentials,
}

/// Everything a view asks of the recovery window.
#[derive(Debug, Clone, PartialEq)]
pub enum RecoveryCommand {
    /// Choose the backup at this index of `backups`.
    SelectBackup(usize),
    /// Edit the passphrase field.
    SetPassphrase(String),
    /// Edit the key file field.
    SetKeyPath(String),
    /// Tick or untick "I understand" of an action that discards something.
    Confirm(RecoveryAction, bool),
    /// Pick a key file with the system dialog.
    BrowseKey,
    /// Pick a backup file with the system dialog (added to the list and chosen).
    BrowseBackup,
    /// Run an action.
    Run(RecoveryAction),
    /// Close and open the normal app.
    Continue,
    /// Close without opening the app.
    Quit,
}

/// How the window ended, for `main`.
#[derive(Debug, Clone, PartialEq)]
pub enum RecoveryOutcome {
    /// Something was done; open the app (with this notice).
    Continue(Option<Quarantined>),
    /// The user closed the window without fixing anything.
    Quit,
}

/// What the view reads.
#[derive(Debug, Clone)]
pub struct RecoveryState {
    /// The data dir.
    pub data_dir: PathBuf,
    /// What is wrong.
    pub problem: Problem,
    /// Good local backups, newest first (`None` while they are being read); a file
    /// picked with "Other backup file…" is added at the front.
    pub backups: Option<Vec<GoodBackup>>,
    /// The chosen backup (index into `backups`).
    pub selected: usize,
    /// The backup's passphrase.
    pub passphrase: String,
    /// A key file to try.
    pub key_path: String,
    /// "I understand" of starting empty.
    pub confirm_empty: bool,
    /// "I understand" of resetting the credentials.
    pub confirm_reset: bool,
    /// The action running now.
    pub busy: Option<RecoveryAction>,
    /// The last action's failure, translated.
    pub error: Option<String>,
    /// What was done (then only "Open API Hub Desk" remains).
    pub done: Option<(RecoveryAction, Recovered)>,
}

impl RecoveryState {
    /// The backups a key recovery can use (they hold credentials under a passphrase).
    pub fn passphrase_backups(&self) -> Vec<(usize, &GoodBackup)> {
        self.backups.iter().flatten().enumerate().filter(|(_, b)| b.needs_passphrase()).collect()
    }

    /// The chosen backup.
    pub fn chosen(&self) -> Option<&GoodBackup> {
        self.backups.as_ref().and_then(|b| b.get(self.selected))
    }

    /// The translated sentence of what was done.
    pub fn done_text(&self) -> Option<String> {
        let (action, r) = self.done.as_ref()?;
        let n = &r.accounts;
        Some(match action {
            RecoveryAction::Restore if r.needs_credentials > 0 => {
                fill(tr("recovery.done.restore_creds"), &[("accounts", n), ("missing", &r.needs_credentials)])
            }
            RecoveryAction::Restore => fill(tr("recovery.done.restore"), &[("accounts", n)]),
            RecoveryAction::Salvage => {
                let (got, of) = r.salvage.as_ref().map(|s| s.accounts()).unwrap_or((0, None));
                let of = of.map(|o| o.to_string()).unwrap_or_else(|| "?".into());
                fill(tr("recovery.done.salvage"), &[("got", &got), ("of", &of)])
            }
            RecoveryAction::StartEmpty => tr("recovery.done.empty").to_string(),
            RecoveryAction::LocateKey => tr("recovery.done.locate").to_string(),
            RecoveryAction::RestoreCredentials => tr("recovery.done.keyrestore").to_string(),
            RecoveryAction::ResetCredentials => fill(tr("recovery.done.reset"), &[("accounts", n)]),
        })
    }
}

/// Messages of the recovery window's jobs.
pub enum RecoveryMsg {
    /// The good backups found in the data dir.
    Backups(Vec<GoodBackup>),
    /// A key file picked by hand (`None`: the dialog was closed).
    PickedKey(Option<PathBuf>),
    /// A backup file picked by hand.
    PickedBackup(PickedBackup),
    /// An action ended.
    Done(Result<Recovered, String>),
    /// The system's Chinese face.
    Font(Option<(CjkFace, egui::FontData)>),
    /// A job ended without its result.
    Lost(String),
}

impl JobMessage for RecoveryMsg {
    fn lost(key: String) -> Self {
        RecoveryMsg::Lost(key)
    }
}

const ACTION_JOB: &str = "recovery:action";

/// Draws the recovery window from its state, pushing what the user asks for.
pub type RecoveryView = fn(&mut egui::Ui, &RecoveryState, &mut Vec<RecoveryCommand>);
/// A backup file picked by hand: its path and what reading it gave.
pub type PickedBackup = Option<(PathBuf, Result<GoodBackup, String>)>;

/// The recovery window.
pub struct RecoveryApp {
    state: RecoveryState,
    view: RecoveryView,
    jobs: Jobs<RecoveryMsg>,
    pending: Vec<RecoveryCommand>,
    outcome: Arc<Mutex<Option<RecoveryOutcome>>>,
}

/// What the recovery window needs from `main` (or a test).
pub struct RecoveryDeps {
    /// The tokio runtime its jobs run on.
    pub runtime: tokio::runtime::Handle,
    /// The data dir.
    pub data_dir: PathBuf,
    /// What stops the store from opening.
    pub problem: Problem,
    /// The language (the store's setting cannot be read yet: `main` passes the system's).
    pub lang: Lang,
    /// Look up the system's Chinese face off the UI thread (tests install fonts).
    pub background_fonts: bool,
    /// The view that draws it (`ui::recovery::recovery_ui`).
    pub view: RecoveryView,
    /// Receives how the window ended.
    pub outcome: Arc<Mutex<Option<RecoveryOutcome>>>,
}

impl RecoveryApp {
    /// Builds the window.
    pub fn new(ctx: &egui::Context, deps: RecoveryDeps) -> Self {
        let RecoveryDeps { runtime, data_dir, problem, lang, background_fonts, view, outcome } = deps;
        i18n::set_lang(lang);
        let mut jobs = Jobs::new(runtime, ctx.clone());
        if background_fonts {
            ctx.set_fonts(crate::app::fonts::definitions(None));
            let _ = jobs
                .start_blocking(Spec::new("fonts:locate"), |_| RecoveryMsg::Font(crate::app::fonts::locate_and_map()));
        }
        let dir = data_dir.clone();
        let _ = jobs
            .start_blocking(Spec::new("recovery:backups"), move |_| RecoveryMsg::Backups(recover::good_backups(&dir)));
        RecoveryApp {
            view,
            state: RecoveryState {
                data_dir,
                problem,
                backups: None,
                selected: 0,
                passphrase: String::new(),
                key_path: String::new(),
                confirm_empty: false,
                confirm_reset: false,
                busy: None,
                error: None,
                done: None,
            },
            jobs,
            pending: Vec::new(),
            outcome,
        }
    }

    /// What the view reads (tests too).
    pub fn state(&self) -> &RecoveryState {
        &self.state
    }

    /// Queues a command (tests drive the window with these, views push them).
    pub fn push(&mut self, cmd: RecoveryCommand) {
        self.pending.push(cmd);
    }

    fn apply(&mut self, ctx: &egui::Context, cmd: RecoveryCommand) {
        let s = &mut self.state;
        match cmd {
            RecoveryCommand::SelectBackup(i) => s.selected = i,
            RecoveryCommand::SetPassphrase(p) => s.passphrase = p,
            RecoveryCommand::SetKeyPath(p) => s.key_path = p,
            RecoveryCommand::Confirm(RecoveryAction::StartEmpty, v) => s.confirm_empty = v,
            RecoveryCommand::Confirm(RecoveryAction::ResetCredentials, v) => s.confirm_reset = v,
            RecoveryCommand::Confirm(
                RecoveryAction::Restore
                | RecoveryAction::Salvage
                | RecoveryAction::LocateKey
                | RecoveryAction::RestoreCredentials,
                _,
            ) => {}
            RecoveryCommand::BrowseKey => {
                let _ = self.jobs.start(Spec::new("recovery:pick-key"), |_| async {
                    RecoveryMsg::PickedKey(
                        rfd::AsyncFileDialog::new().pick_file().await.map(|h| h.path().to_path_buf()),
                    )
                });
            }
            RecoveryCommand::BrowseBackup => {
                let _ = self.jobs.start(Spec::new("recovery:pick-backup"), |_| async {
                    let picked = rfd::AsyncFileDialog::new().add_filter("JSON", &["json"]).pick_file().await;
                    let Some(picked) = picked else { return RecoveryMsg::PickedBackup(None) };
                    let path = picked.path().to_path_buf();
                    let p = path.clone();
                    let read = tokio::task::spawn_blocking(move || read_backup(&p)).await;
                    RecoveryMsg::PickedBackup(Some((path, read.unwrap_or_else(|e| Err(e.to_string())))))
                });
            }
            RecoveryCommand::Run(action) => self.run(action),
            RecoveryCommand::Continue => {
                // A damaged file's outcome is told once in the app; after a key recovery
                // the accounts themselves show what needs doing.
                let notice = self.state.done.as_ref().and_then(|(_, r)| {
                    Some(Quarantined {
                        moved_to: r.kept_copy.clone()?,
                        reason: self.state.done_text().unwrap_or_default(),
                    })
                });
                self.finish(ctx, RecoveryOutcome::Continue(notice));
            }
            RecoveryCommand::Quit => self.finish(ctx, RecoveryOutcome::Quit),
        }
    }

    fn finish(&mut self, ctx: &egui::Context, outcome: RecoveryOutcome) {
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(outcome);
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    fn run(&mut self, action: RecoveryAction) {
        if self.jobs.is_running(ACTION_JOB) || self.state.done.is_some() {
            return;
        }
        let s = &self.state;
        let dir = s.data_dir.clone();
        let passphrase = Some(s.passphrase.clone()).filter(|p| !p.is_empty());
        let backup = s.chosen().map(|b| b.info.path.clone());
        let key = PathBuf::from(s.key_path.trim());
        let ready = match action {
            RecoveryAction::Restore | RecoveryAction::RestoreCredentials => backup.is_some(),
            RecoveryAction::StartEmpty => s.confirm_empty,
            RecoveryAction::ResetCredentials => s.confirm_reset,
            RecoveryAction::LocateKey => !s.key_path.trim().is_empty(),
            RecoveryAction::Salvage => true,
        };
        if !ready {
            return;
        }
        self.state.busy = Some(action);
        self.state.error = None;
        let work = move || -> Result<Recovered, crate::backup::BackupError> {
            let read = |p: &PathBuf| -> Result<Vec<u8>, crate::backup::BackupError> {
                std::fs::read(p).map_err(|e| crate::store::health::describe_io(p, &e).into())
            };
            match action {
                RecoveryAction::Restore => {
                    let bytes = read(backup.as_ref().unwrap_or(&dir))?;
                    recover::restore_damaged(&dir, &bytes, passphrase.as_deref())
                }
                RecoveryAction::RestoreCredentials => {
                    let bytes = read(backup.as_ref().unwrap_or(&dir))?;
                    recover::restore_after_key_loss(&dir, &bytes, passphrase.as_deref())
                }
                RecoveryAction::Salvage => recover::salvage_damaged(&dir),
                RecoveryAction::StartEmpty => recover::start_empty(&dir),
                RecoveryAction::LocateKey => recover::locate_key(&dir, &key),
                RecoveryAction::ResetCredentials => recover::reset_credentials(&dir),
            }
        };
        let started = self
            .jobs
            .start_blocking(Spec::new(ACTION_JOB), move |_| RecoveryMsg::Done(work().map_err(|e| e.to_string())));
        if started.is_err() {
            self.state.busy = None;
        }
    }

    /// Lands the jobs' messages.
    fn poll(&mut self, ctx: &egui::Context) {
        for msg in self.jobs.poll() {
            match msg {
                RecoveryMsg::Backups(list) => self.state.backups = Some(list),
                RecoveryMsg::PickedKey(Some(path)) => self.state.key_path = path.display().to_string(),
                RecoveryMsg::PickedKey(None) | RecoveryMsg::PickedBackup(None) | RecoveryMsg::Font(None) => {}
                RecoveryMsg::PickedBackup(Some((path, read))) => match read {
                    Ok(b) => {
                        let list = self.state.backups.get_or_insert_with(Vec::new);
                        list.insert(0, b);
                        self.state.selected = 0;
                    }
                    Err(e) => {
                        self.state.error =
                            Some(fill(tr("recovery.error.backup"), &[("path", &path.display()), ("error", &e)]))
                    }
                },
                RecoveryMsg::Done(result) => {
                    let action = self.state.busy.take();
                    match (result, action) {
                        (Ok(r), Some(a)) => self.state.done = Some((a, r)),
                        (Err(e), _) => self.state.error = Some(fill(tr("recovery.error"), &[("error", &e)])),
                        (Ok(_), None) => {}
                    }
                }
                RecoveryMsg::Font(Some((face, data))) => {
                    ctx.set_fonts(crate::app::fonts::definitions(Some((&face, data))));
                }
                RecoveryMsg::Lost(key) => {
                    if key == ACTION_JOB {
                        self.state.busy = None;
                        self.state.error = Some(fill(tr("recovery.error"), &[("error", &"stopped unexpectedly")]));
                    }
                }
            }
        }
    }
}

/// Reads and verifies a backup file picked by hand.
fn read_backup(path: &std::path::Path) -> Result<GoodBackup, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let v = crate::backup::read_bundle(&bytes).map_err(|e| e.to_string())?;
    let info = crate::backup::local::LocalBackupInfo::of(path).map_err(|e| e.to_string())?;
    Ok(GoodBackup { info, bundle: v.info })
}

impl eframe::App for RecoveryApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.poll(ctx);
        for cmd in std::mem::take(&mut self.pending) {
            self.apply(ctx, cmd);
        }
        if ctx.input(|i| i.viewport().close_requested())
            && let Ok(mut o) = self.outcome.lock()
            && o.is_none()
        {
            *o = Some(RecoveryOutcome::Quit);
        }
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw: &mut egui::RawInput) {
        super::fonts::cap_atlas_side(raw);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut cmds = Vec::new();
        (self.view)(ui, &self.state, &mut cmds);
        if !cmds.is_empty() {
            self.pending.extend(cmds);
            ui.ctx().request_repaint();
        }
    }
}
