//! Backup, restore, import, WebDAV and release-check jobs: how the app turns the
//! backup section's [`BackupAction`]s into background work and folds the results back
//! into `AppState::backup`.
//!
//! One backup-type job runs at a time (its promise lives in [`BackupJobs::job`]); the
//! release check and the automatic backup have their own slots. A restore or import is
//! two steps: a job verifies the file and computes a preview (nothing written), the user
//! confirms, a second job applies it and the accounts are reloaded.

use poll_promise::Promise;

use super::{App, Command, Severity, StatusLine};
use crate::app::i18n::{fill, tr};
use crate::backup::RestorePreview;
use crate::backup::import::{ImportPlan, apply_import, parse_import};
use crate::backup::import::{ImportPreview, SkippedRecord};
use crate::backup::local::{self, LocalBackupInfo, LocalBackups};
use crate::backup::webdav::{RemoteBackup, WebDav, WebDavConfig};
use crate::backup::{BackupError, RestoreMode, SecretsMode, preview_restore, read_bundle, restore_bundle};
use crate::store::{SharedStore, Store};
use crate::update::{UpdateCheck, UpdateSettings};

/// A passphrase typed by the user; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(pub String);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

/// How secrets go into a backup the user starts.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsChoice {
    /// Encrypt with this passphrase.
    Passphrase(String),
    /// The user explicitly chose "without secrets".
    Without,
}

impl std::fmt::Debug for SecretsChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretsChoice::Passphrase(_) => "Passphrase(<hidden>)",
            SecretsChoice::Without => "Without",
        })
    }
}

/// What the section asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupAction {
    /// Write a local backup now.
    BackUpNow(SecretsChoice),
    /// Ask to restore a local backup: the app verifies it and shows a preview of what
    /// changes; nothing is written until [`BackupAction::ConfirmPending`].
    RestoreLocal {
        /// File name.
        name: String,
        /// Merge or replace.
        mode: RestoreMode,
        /// Passphrase for encrypted secrets.
        passphrase: Option<Passphrase>,
    },
    /// Delete a local backup (the view has asked for confirmation).
    DeleteLocal(String),
    /// Keep the newest N local backups.
    SetLocalKeep(usize),
    /// Save a bundle anywhere (file dialog).
    ExportFile(SecretsChoice),
    /// Pick a file (ours, All API Hub, Management Tools) and preview importing it.
    ImportFile {
        /// Passphrase (our bundles) or password (encrypted All API Hub backups).
        passphrase: Option<Passphrase>,
        /// Merge or replace (our bundles).
        mode: RestoreMode,
    },
    /// Preview importing a file dropped onto the window (same as [`BackupAction::ImportFile`]).
    ImportPath {
        /// The dropped file.
        path: std::path::PathBuf,
        /// Passphrase (our bundles) or password (encrypted All API Hub backups).
        passphrase: Option<Passphrase>,
        /// Merge or replace (our bundles).
        mode: RestoreMode,
    },
    /// Apply the previewed restore or import.
    ConfirmPending,
    /// Drop the previewed restore or import.
    CancelPending,
    /// Hours between automatic WebDAV uploads (saved by the `SaveWebDav` that follows).
    SetUploadIntervalHours(u64),
    /// Save the WebDAV settings.
    SaveWebDav(WebDavConfig),
    /// Test the connection with these settings.
    TestWebDav(WebDavConfig),
    /// Upload a backup now with the settings in the form (saved or not).
    UploadWebDav(WebDavConfig, SecretsChoice),
    /// List the remote backups again, with the settings in the form.
    RefreshRemote(WebDavConfig),
    /// Ask to restore a remote backup (preview first, like [`BackupAction::RestoreLocal`]).
    RestoreRemote {
        /// The server settings in the form.
        cfg: WebDavConfig,
        /// File name.
        name: String,
        /// Merge or replace.
        mode: RestoreMode,
        /// Passphrase for encrypted secrets.
        passphrase: Option<Passphrase>,
    },
    /// Delete a remote backup (the view has asked for confirmation), with the settings in the form.
    DeleteRemote(WebDavConfig, String),
    /// Check for a new release now.
    CheckUpdates,
    /// Save the update settings.
    SaveUpdateSettings(UpdateSettings),
    /// Open a URL in the system browser.
    OpenUrl(String),
}

/// A finished operation's message: success or the error's one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Worked.
    Ok(String),
    /// Failed.
    Err(String),
}

/// A verified restore or parsed import waiting for the user's confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingPreview {
    /// Restoring one of our bundles.
    Restore {
        /// Which backup (file name).
        label: String,
        /// Merge or replace.
        mode: RestoreMode,
        /// What changes.
        preview: RestorePreview,
    },
    /// Importing another tool's file.
    Import {
        /// File name.
        label: String,
        /// The tool and format, as text.
        source: String,
        /// Counts.
        preview: ImportPreview,
        /// Records left out, with reasons.
        skipped: Vec<SkippedRecord>,
    },
}

/// What the section shows (owned by the app, read-only here).
#[derive(Debug, Clone, Default)]
pub struct BackupView {
    /// Local backups, newest first.
    pub local_backups: Vec<LocalBackupInfo>,
    /// Remote backups, newest first.
    pub remote_backups: Vec<RemoteBackup>,
    /// Saved WebDAV settings (seed the form once).
    pub webdav: WebDavConfig,
    /// A backup / restore / WebDAV job is running.
    pub busy: bool,
    /// What the running job does (shown beside a spinner).
    pub progress: Option<String>,
    /// Local backups kept.
    pub local_keep: usize,
    /// Hours between automatic WebDAV uploads.
    pub upload_interval_hours: u64,
    /// A restore or import waiting for confirmation.
    pub pending: Option<PendingPreview>,
    /// An update check is running.
    pub update_checking: bool,
    /// Result of the last local backup or restore.
    pub last_outcome: Option<Outcome>,
    /// Result of the last WebDAV operation (test, upload, list, restore, delete).
    pub webdav_outcome: Option<Outcome>,
    /// Update settings.
    pub update_settings: UpdateSettings,
    /// When the last release check ran (unix seconds).
    pub last_update_check: Option<i64>,
    /// Result of the last release check.
    pub update: Option<Result<UpdateCheck, String>>,
}

/// Default hours between automatic WebDAV uploads.
pub use crate::domain::settings::DEFAULT_UPLOAD_INTERVAL_HOURS;
use crate::domain::settings::bookkeeping::WEBDAV_LAST_UPLOAD;

/// Which outcome line a result belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    Local,
    WebDav,
}

/// What a restore or import needs once confirmed (kept out of the view: bytes, passphrase).
enum PendingData {
    Restore { bytes: Vec<u8>, passphrase: Option<String>, mode: RestoreMode },
    Import { plan: Box<ImportPlan> },
}

/// A finished backup job.
enum Done {
    /// Show a message.
    Message(String),
    /// New local list and a message.
    LocalList(Vec<LocalBackupInfo>, Option<String>),
    /// New remote list and a message.
    RemoteList(Vec<RemoteBackup>, Option<String>),
    /// Verified; waiting for confirmation.
    Preview(PendingData, Box<PendingPreview>),
    /// Restore / import written: reload accounts.
    Applied(String, Vec<LocalBackupInfo>),
    /// The user closed a file dialog.
    Nothing,
}

type JobResult = (Area, Result<Done, String>);

/// What the start-up load reads.
struct Loaded {
    list: Vec<LocalBackupInfo>,
    last_update_check: Option<i64>,
}

/// The app's backup job slots.
#[derive(Default)]
pub(super) struct BackupJobs {
    job: Option<Promise<JobResult>>,
    load: Option<Promise<Result<Loaded, String>>>,
    update: Option<Promise<Result<UpdateCheck, String>>>,
    auto: Option<Promise<Result<Option<String>, String>>>,
    pending: Option<PendingData>,
    /// The settings change that saves the WebDAV form, until it is on disk.
    pub(super) webdav_save: Option<u64>,
    /// When an automatic upload last failed (unix seconds): retried after the local throttle interval.
    upload_failed_at: Option<i64>,
}

fn locked(store: &SharedStore) -> Result<std::sync::MutexGuard<'_, Store>, String> {
    store.lock().map_err(|_| "the store is unavailable (a job crashed)".to_string())
}

fn secrets_mode(choice: SecretsChoice) -> SecretsMode {
    match choice {
        SecretsChoice::Passphrase(p) => SecretsMode::Passphrase(p),
        SecretsChoice::Without => SecretsMode::Without,
    }
}

fn local_list(store: &Store) -> Result<Vec<LocalBackupInfo>, String> {
    LocalBackups::for_data_dir(&store.data_dir()).list().map_err(|e| e.to_string())
}

/// Verifies `bytes` and previews the restore (our bundle) or the import (other tools).
fn preview_file(store: &Store, label: &str, bytes: Vec<u8>, passphrase: Option<String>, mode: RestoreMode) -> Done {
    match read_bundle(&bytes) {
        Err(BackupError::NotABackup(_)) => match parse_import(&bytes, passphrase.as_deref()) {
            Ok(plan) => {
                let view = PendingPreview::Import {
                    label: label.to_string(),
                    source: plan.source.to_string(),
                    preview: plan.preview(),
                    skipped: plan.skipped.clone(),
                };
                Done::Preview(PendingData::Import { plan: Box::new(plan) }, Box::new(view))
            }
            Err(e) => Done::Message(format!("error: {e}")),
        },
        _ => match preview_restore(store, &bytes, passphrase.as_deref(), mode) {
            Ok(preview) => Done::Preview(
                PendingData::Restore { bytes, passphrase, mode },
                Box::new(PendingPreview::Restore { label: label.to_string(), mode, preview }),
            ),
            Err(e) => Done::Message(format!("error: {e}")),
        },
    }
}

/// `Done::Message("error: …")` from a preview becomes an error result.
fn lift(done: Done) -> Result<Done, String> {
    match done {
        Done::Message(m) if m.starts_with("error: ") => Err(m.trim_start_matches("error: ").to_string()),
        d => Ok(d),
    }
}

impl App {
    /// Applies one backup-section action (called from `App::apply`).
    pub(super) fn backup_action(&mut self, action: BackupAction, ctx: &egui::Context) {
        let store = self.store.clone();
        let keep = self.settings.current().backup.local.keep;
        match action {
            BackupAction::BackUpNow(choice) => {
                self.backup_job(tr("backup.progress.backing_up"), Area::Local, move || {
                    let s = locked(&store)?;
                    let info = local::back_up_now(&s, &secrets_mode(choice), keep).map_err(|e| e.to_string())?;
                    log::info!("local backup written: {}", info.name);
                    Ok(Done::LocalList(local_list(&s)?, Some(fill(tr("backup.msg.written"), &[("name", &info.name)]))))
                })
            }
            BackupAction::RestoreLocal { name, mode, passphrase } => {
                let passphrase = passphrase.map(|p| p.0);
                self.backup_job(tr("backup.progress.checking"), Area::Local, move || {
                    let s = locked(&store)?;
                    let bytes = LocalBackups::for_data_dir(&s.data_dir()).read(&name).map_err(|e| e.to_string())?;
                    lift(preview_file(&s, &name, bytes, passphrase, mode))
                })
            }
            BackupAction::DeleteLocal(name) => {
                self.backup_job(tr("backup.progress.deleting"), Area::Local, move || {
                    let s = locked(&store)?;
                    LocalBackups::for_data_dir(&s.data_dir()).delete(&name).map_err(|e| e.to_string())?;
                    log::info!("local backup deleted: {name}");
                    Ok(Done::LocalList(local_list(&s)?, Some(fill(tr("backup.msg.deleted"), &[("name", &name)]))))
                })
            }
            BackupAction::SetLocalKeep(n) => {
                self.state.backup.local_keep = n;
                self.change_settings(|s| s.backup.local.keep = n);
                self.backup_job(tr("backup.progress.saving"), Area::Local, move || {
                    let s = locked(&store)?;
                    LocalBackups::for_data_dir(&s.data_dir()).prune(n).map_err(|e| e.to_string())?;
                    Ok(Done::LocalList(local_list(&s)?, None))
                })
            }
            BackupAction::ExportFile(choice) => self.export_file(choice),
            BackupAction::ImportFile { passphrase, mode } => self.import_file(passphrase.map(|p| p.0), mode),
            BackupAction::ImportPath { path, passphrase, mode } => {
                let passphrase = passphrase.map(|p| p.0);
                self.backup_job(tr("backup.progress.checking"), Area::Local, move || {
                    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let label = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    lift(preview_file(&*locked(&store)?, &label, bytes, passphrase, mode))
                })
            }
            BackupAction::ConfirmPending => self.confirm_pending(),
            BackupAction::CancelPending => {
                self.backup.pending = None;
                self.state.backup.pending = None;
            }
            BackupAction::SaveWebDav(mut cfg) => {
                cfg.interval_hours = self.state.backup.upload_interval_hours;
                self.state.backup.webdav = cfg.clone();
                // "Saved" shows once the row is on disk (see `poll_backup_jobs`).
                self.backup.webdav_save = Some(self.change_settings(|s| s.backup.webdav = cfg));
            }
            // Saved with the next `SaveWebDav` (the view sends both, this one first).
            BackupAction::SetUploadIntervalHours(h) => self.state.backup.upload_interval_hours = h,
            BackupAction::TestWebDav(cfg) => self.webdav_job(tr("backup.progress.testing"), async move {
                WebDav::new(&cfg)?.test_connection().await?;
                Ok(Done::Message(tr("backup.msg.connected").to_string()))
            }),
            BackupAction::UploadWebDav(cfg, choice) => self.webdav_job(tr("backup.progress.uploading"), async move {
                let bytes = tokio::task::spawn_blocking(move || {
                    let s = store.lock().map_err(|_| BackupError::InvalidConfig("store unavailable".into()))?;
                    crate::backup::create_bundle(&s, &secrets_mode(choice))
                })
                .await
                .map_err(|e| BackupError::Protocol(e.to_string()))??;
                let dav = WebDav::new(&cfg)?;
                let report = crate::backup::webdav::upload_backup(&cfg, &bytes).await?;
                log::info!("WebDAV backup uploaded: {}", report.name);
                Ok(Done::RemoteList(
                    dav.list().await?,
                    Some(fill(tr("backup.msg.uploaded"), &[("name", &report.name)])),
                ))
            }),
            BackupAction::RefreshRemote(cfg) => self.webdav_job(tr("backup.progress.listing"), async move {
                Ok(Done::RemoteList(WebDav::new(&cfg)?.list().await?, None))
            }),
            BackupAction::RestoreRemote { cfg, name, mode, passphrase } => {
                let passphrase = passphrase.map(|p| p.0);
                self.start_job(tr("backup.progress.downloading"), Area::WebDav, async move {
                    let dav = WebDav::new(&cfg).map_err(|e| e.to_string())?;
                    let bytes = dav.download(&name).await.map_err(|e| e.to_string())?;
                    tokio::task::spawn_blocking(move || {
                        lift(preview_file(&*locked(&store)?, &name, bytes, passphrase, mode))
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
                })
            }
            BackupAction::DeleteRemote(cfg, name) => self.webdav_job(tr("backup.progress.deleting"), async move {
                let dav = WebDav::new(&cfg)?;
                dav.delete(&name).await?;
                log::info!("WebDAV backup deleted: {name}");
                Ok(Done::RemoteList(dav.list().await?, Some(fill(tr("backup.msg.deleted"), &[("name", &name)]))))
            }),
            BackupAction::CheckUpdates => self.check_updates(),
            BackupAction::SaveUpdateSettings(settings) => {
                self.state.backup.update_settings = settings.clone();
                self.change_settings(|s| s.update = settings);
            }
            BackupAction::OpenUrl(url) => ctx.open_url(egui::OpenUrl::new_tab(url)),
        }
    }

    /// Starts a blocking backup job unless one runs.
    fn backup_job(&mut self, what: &str, area: Area, job: impl FnOnce() -> Result<Done, String> + Send + 'static) {
        if self.backup.job.is_some() {
            return;
        }
        self.state.backup.busy = true;
        self.state.backup.progress = Some(what.to_string());
        self.backup.job = Some(self.runner.spawn_blocking(move || (area, job())));
    }

    /// Starts an async job with a one-line error unless a backup job runs.
    fn start_job(
        &mut self,
        what: &str,
        area: Area,
        job: impl std::future::Future<Output = Result<Done, String>> + Send + 'static,
    ) {
        if self.backup.job.is_some() {
            return;
        }
        self.state.backup.busy = true;
        self.state.backup.progress = Some(what.to_string());
        self.backup.job = Some(self.runner.spawn(async move { (area, job.await) }));
    }

    /// Starts an async WebDAV job unless a backup job runs.
    fn webdav_job(
        &mut self,
        what: &str,
        job: impl std::future::Future<Output = Result<Done, BackupError>> + Send + 'static,
    ) {
        if self.backup.job.is_some() {
            return;
        }
        self.state.backup.busy = true;
        self.state.backup.progress = Some(what.to_string());
        self.backup.job = Some(self.runner.spawn(async move { (Area::WebDav, job.await.map_err(|e| e.to_string())) }));
    }

    fn export_file(&mut self, choice: SecretsChoice) {
        if self.backup.job.is_some() {
            return;
        }
        let store = self.store.clone();
        self.state.backup.busy = true;
        self.state.backup.progress = Some(tr("backup.progress.save_dialog").to_string());
        self.backup.job = Some(self.runner.spawn(async move {
            let name = local::backup_file_name("apihub-export", crate::domain::time::utc_now());
            let picked =
                rfd::AsyncFileDialog::new().add_filter("JSON", &["json"]).set_file_name(&name).save_file().await;
            let Some(handle) = picked else { return (Area::Local, Ok(Done::Nothing)) };
            let path = handle.path().to_path_buf();
            let result = tokio::task::spawn_blocking(move || {
                let s = locked(&store)?;
                let bytes = crate::backup::create_bundle(&s, &secrets_mode(choice)).map_err(|e| e.to_string())?;
                std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                log::info!("backup exported to {}", path.display());
                Ok(Done::Message(fill(tr("backup.msg.exported"), &[("path", &path.display())])))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            (Area::Local, result)
        }));
    }

    fn import_file(&mut self, passphrase: Option<String>, mode: RestoreMode) {
        if self.backup.job.is_some() {
            return;
        }
        let store = self.store.clone();
        self.state.backup.busy = true;
        self.state.backup.progress = Some(tr("backup.progress.open_dialog").to_string());
        self.backup.job = Some(self.runner.spawn(async move {
            let picked = rfd::AsyncFileDialog::new().add_filter("JSON", &["json"]).pick_file().await;
            let Some(handle) = picked else { return (Area::Local, Ok(Done::Nothing)) };
            let bytes = handle.read().await;
            let label = handle.file_name();
            let result = tokio::task::spawn_blocking(move || {
                let s = locked(&store)?;
                lift(preview_file(&s, &label, bytes, passphrase, mode))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            (Area::Local, result)
        }));
    }

    fn confirm_pending(&mut self) {
        let Some(data) = self.backup.pending.take() else { return };
        self.state.backup.pending = None;
        let store = self.store.clone();
        self.backup_job(tr("backup.progress.restoring"), Area::Local, move || {
            let mut s = locked(&store)?;
            let message = match data {
                PendingData::Restore { bytes, passphrase, mode } => {
                    let r = restore_bundle(&mut s, &bytes, passphrase.as_deref(), mode).map_err(|e| e.to_string())?;
                    fill(
                        tr("backup.msg.restored"),
                        &[
                            ("added", &r.preview.added.len()),
                            ("updated", &r.preview.updated.len()),
                            ("removed", &r.preview.removed.len()),
                            ("safety", &r.safety_backup.name),
                        ],
                    )
                }
                PendingData::Import { plan } => {
                    let r = apply_import(&mut s, &plan).map_err(|e| e.to_string())?;
                    log::info!("import applied: {} added, {} updated", r.added, r.updated);
                    fill(
                        tr("backup.msg.imported"),
                        &[
                            ("added", &r.added),
                            ("updated", &r.updated),
                            ("creds", &r.needs_credentials),
                            ("skipped", &r.skipped.len()),
                        ],
                    )
                }
            };
            Ok(Done::Applied(message, local_list(&s)?))
        });
    }

    fn check_updates(&mut self) {
        if self.backup.update.is_some() {
            return;
        }
        let url = crate::update::configured_releases_url(&self.settings.current().update);
        let channel = self.state.backup.update_settings.channel();
        let store = self.store.clone();
        self.state.backup.update_checking = true;
        self.backup.update = Some(self.runner.spawn(async move {
            let r = crate::update::check_for_updates(&url, channel).await.map_err(|e| e.to_string());
            let now = crate::domain::time::now_unix();
            if let Err(e) = store.run(move |s| crate::update::record_check(s, now)).await {
                log::warn!("the time of the release check was not saved: {e}");
            }
            r
        }));
        self.state.backup.last_update_check = Some(crate::domain::time::now_unix());
    }

    /// Reads backup settings and the local list; runs the start-up release check when due.
    pub(super) fn reload_backups(&mut self) {
        if self.backup.load.is_some() {
            return;
        }
        let store = self.store.clone();
        self.backup.load = Some(self.runner.spawn_blocking(move || {
            let s = locked(&store)?;
            Ok(Loaded {
                list: local_list(&s)?,
                last_update_check: crate::update::last_check(&s).map_err(|e| e.to_string())?,
            })
        }));
    }

    /// After a change: a throttled local backup, and a WebDAV upload when enabled and due.
    pub(super) fn auto_backup(&mut self) {
        if self.backup.auto.is_some() {
            return;
        }
        let store = self.store.clone();
        let now = crate::domain::time::now_unix();
        let may_upload = local::throttle_allows(self.backup.upload_failed_at, now, local::AUTO_MIN_INTERVAL_SECS);
        let keep = self.settings.current().backup.local.keep;
        let cfg = self.settings.current().backup.webdav.clone();
        self.backup.auto = Some(self.runner.spawn(async move {
            let store2 = store.clone();
            let prepared = tokio::task::spawn_blocking(move || -> Result<_, String> {
                let mut s = locked(&store2)?;
                let now = crate::domain::time::now_unix();
                let outcome = local::auto_backup(&mut s, now, keep).map_err(|e| e.to_string())?;
                let hours = i64::try_from(cfg.interval_hours).unwrap_or(i64::MAX / 7200).max(1);
                let last: Option<i64> = s.setting(WEBDAV_LAST_UPLOAD).ok().flatten().and_then(|v| v.parse().ok());
                let due = may_upload
                    && cfg.enabled
                    && !cfg.url.trim().is_empty()
                    && local::throttle_allows(last, now, hours * 3600);
                let upload = if due {
                    // Sealed with this installation's key: no passphrase is stored for unattended uploads.
                    Some((cfg, crate::backup::create_bundle(&s, &SecretsMode::LocalKey).map_err(|e| e.to_string())?))
                } else {
                    None
                };
                Ok((outcome, upload))
            })
            .await
            .map_err(|e| e.to_string())??;
            let mut message = match prepared.0 {
                local::AutoBackupOutcome::Written(info) => Some(format!("Automatic backup written: {}", info.name)),
                _ => None,
            };
            if let Some((cfg, bytes)) = prepared.1 {
                let report = crate::backup::webdav::upload_backup(&cfg, &bytes).await.map_err(|e| e.to_string())?;
                log::info!("automatic WebDAV upload: {}", report.name);
                let now = crate::domain::time::now_unix();
                let _ = tokio::task::spawn_blocking(move || {
                    if let Ok(mut s) = store.lock() {
                        let _ = s.set_setting(WEBDAV_LAST_UPLOAD, &now.to_string());
                    }
                })
                .await;
                message = Some(format!("Automatic WebDAV upload: {}", report.name));
            }
            Ok(message)
        }));
    }

    /// Folds finished backup jobs into the state (called from `App::poll_jobs`).
    pub(super) fn poll_backup_jobs(&mut self) {
        if let Some(seq) = self.backup.webdav_save
            && self.settings.saved_seq() >= seq
        {
            self.backup.webdav_save = None;
            self.state.backup.webdav_outcome = Some(Outcome::Ok(tr("backup.msg.saved").to_string()));
        }
        if let Some(job) = &self.backup.load
            && job.ready().is_some()
            && let Some(job) = self.backup.load.take()
        {
            match job.block_and_take() {
                Ok(l) => {
                    let v = &mut self.state.backup;
                    v.local_backups = l.list;
                    v.last_update_check = l.last_update_check;
                    let due = v.update_settings.due_on_start(l.last_update_check, crate::domain::time::now_unix());
                    if due && self.state.backup.update.is_none() {
                        self.check_updates();
                    }
                }
                Err(e) => log::error!("backup settings unreadable: {e}"),
            }
        }
        if let Some(job) = &self.backup.job
            && job.ready().is_some()
            && let Some(job) = self.backup.job.take()
        {
            self.state.backup.busy = false;
            self.state.backup.progress = None;
            let (area, result) = job.block_and_take();
            self.finish_backup_job(area, result);
        }
        if let Some(job) = &self.backup.update
            && job.ready().is_some()
            && let Some(job) = self.backup.update.take()
        {
            self.state.backup.update_checking = false;
            let r = job.block_and_take();
            match &r {
                Ok(c) => {
                    if let Some(offer) = &c.offer {
                        log::info!("a newer version is available: {}", offer.version);
                        self.state.status = Some(StatusLine {
                            text: fill(tr("update.status_available"), &[("version", &offer.version)]),
                            severity: Severity::Info,
                        });
                    }
                }
                Err(e) => log::warn!("release check failed: {e}"),
            }
            self.state.backup.update = Some(r);
        }
        if let Some(job) = &self.backup.auto
            && job.ready().is_some()
            && let Some(job) = self.backup.auto.take()
        {
            match job.block_and_take() {
                Ok(Some(message)) => {
                    log::info!("{message}");
                    self.backup.upload_failed_at = None;
                    self.reload_backups();
                }
                Ok(None) => {}
                Err(e) => {
                    log::warn!("automatic backup failed: {e}");
                    self.backup.upload_failed_at = Some(crate::domain::time::now_unix());
                    self.state.backup.last_outcome =
                        Some(Outcome::Err(fill(tr("backup.msg.auto_failed"), &[("error", &e)])));
                }
            }
        }
    }

    fn finish_backup_job(&mut self, area: Area, result: Result<Done, String>) {
        let v = &mut self.state.backup;
        let outcome = match result {
            Err(e) => {
                log::warn!("backup operation failed: {e}");
                Some(Outcome::Err(e))
            }
            Ok(Done::Nothing) => None,
            Ok(Done::Message(m)) => Some(Outcome::Ok(m)),
            Ok(Done::LocalList(list, m)) => {
                v.local_backups = list;
                m.map(Outcome::Ok)
            }
            Ok(Done::RemoteList(list, m)) => {
                v.remote_backups = list;
                Some(Outcome::Ok(
                    m.unwrap_or_else(|| fill(tr("backup.msg.remote_count"), &[("n", &v.remote_backups.len())])),
                ))
            }
            Ok(Done::Preview(data, preview)) => {
                self.backup.pending = Some(data);
                v.pending = Some(*preview);
                None
            }
            Ok(Done::Applied(m, list)) => {
                log::info!("{m}");
                v.local_backups = list;
                v.last_outcome = Some(Outcome::Ok(m));
                // Settings (WebDAV, updates, keep-N) may have come with the backup too.
                self.pending.extend([Command::ReloadAccounts, Command::ReloadBackups, Command::ReloadSettings]);
                return;
            }
        };
        let Some(outcome) = outcome else { return };
        match area {
            Area::Local => v.last_outcome = Some(outcome),
            Area::WebDav => v.webdav_outcome = Some(outcome),
        }
    }
}
