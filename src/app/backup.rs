//! Local backups, restore and import, WebDAV: the Settings panel's backup section's
//! commands become jobs here and their results land in [`Backup`]. Every user operation
//! claims `backup` (one at a time: `backup:now`, `backup:upload`, `backup:restore`, …);
//! the list reload (`backup:list`) and the automatic backup (`backup:auto`: a throttled
//! local backup after changes, and a WebDAV upload when enabled and due) run beside it.
//! A restore or import is two steps: a job verifies the file and computes a preview
//! (nothing written), the user confirms, a second job applies it and the accounts and
//! settings are read again.

use super::command::{Command, SitesCmd};
use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use crate::backup::RestorePreview;
use crate::backup::import::{ImportPlan, ImportPreview, SkippedRecord, apply_import, parse_import};
use crate::backup::local::{self, LocalBackupInfo, LocalBackups};
use crate::backup::webdav::{RemoteBackup, WebDav, WebDavConfig};
use crate::backup::{BackupError, RestoreMode, SecretsMode, preview_restore, read_bundle, restore_bundle};
use crate::domain::settings::bookkeeping::WEBDAV_LAST_UPLOAD;
use crate::store::Store;

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

/// Commands of the backup section.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupCmd {
    /// Write a local backup now.
    BackUpNow(SecretsChoice),
    /// Ask to restore a local backup: the app verifies it and shows a preview of what
    /// changes; nothing is written until [`BackupCmd::ConfirmPending`].
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
    /// Keep the newest N local backups (a setting; older ones are deleted).
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
    /// Preview importing a file dropped onto the window (same as [`BackupCmd::ImportFile`]).
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
    /// Save the WebDAV settings (with the hours between automatic uploads).
    SaveWebDav(WebDavConfig),
    /// Test the connection with these settings.
    TestWebDav(WebDavConfig),
    /// Upload a backup now with the settings in the form (saved or not).
    UploadWebDav(WebDavConfig, SecretsChoice),
    /// List the remote backups again, with the settings in the form.
    RefreshRemote(WebDavConfig),
    /// Ask to restore a remote backup (preview first, like [`BackupCmd::RestoreLocal`]).
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
    /// Read the local backup list.
    Reload,
    /// Data changed: throttled automatic local backup, WebDAV upload when enabled and due.
    Auto,
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

/// Which outcome line a result belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Local backups, restore, import.
    Local,
    /// WebDAV.
    WebDav,
}

/// What a restore or import needs once confirmed (kept out of the view: bytes, passphrase).
pub enum PendingData {
    /// One of our bundles.
    Restore {
        /// The file.
        bytes: Vec<u8>,
        /// Its passphrase.
        passphrase: Option<String>,
        /// Merge or replace.
        mode: RestoreMode,
    },
    /// Another tool's file.
    Import {
        /// What to write.
        plan: Box<ImportPlan>,
    },
}

/// A finished backup job.
pub enum Done {
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

/// Messages of the backup jobs.
pub enum BackupMsg {
    /// A user operation ended.
    Done(Area, Result<Done, String>),
    /// The local list.
    Listed(Result<Vec<LocalBackupInfo>, String>),
    /// The automatic backup ended.
    Auto(Result<AutoDone, String>),
}

/// What an automatic backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoDone {
    /// Nothing to do (unchanged, too soon, upload not due).
    Nothing,
    /// Written or uploaded: what.
    Wrote(String),
    /// Neither a backup nor an upload: this many accounts need signing in again
    /// (credentials unreadable or reset), and a backup now would lack their credentials.
    WaitsForSignIn(usize),
}

impl From<BackupMsg> for JobMsg {
    fn from(m: BackupMsg) -> JobMsg {
        JobMsg::Backup(m)
    }
}

/// The backup section's state.
#[derive(Default)]
pub struct Backup {
    /// Local backups, newest first.
    pub local_backups: Vec<LocalBackupInfo>,
    /// Remote backups, newest first.
    pub remote_backups: Vec<RemoteBackup>,
    /// A backup / restore / WebDAV job is running.
    pub busy: bool,
    /// What the running job does (shown beside a spinner).
    pub progress: Option<String>,
    /// A restore or import waiting for confirmation.
    pub pending: Option<PendingPreview>,
    /// Result of the last local backup or restore.
    pub last_outcome: Option<Outcome>,
    /// Result of the last WebDAV operation (test, upload, list, restore, delete, save).
    pub webdav_outcome: Option<Outcome>,
    /// What a confirmed restore or import needs (kept out of the view: bytes, passphrase).
    pending_data: Option<PendingData>,
    /// When an automatic upload last failed (unix seconds): retried after the local throttle interval.
    upload_failed_at: Option<i64>,
    /// The settings change that saves the WebDAV form, until it is on disk.
    webdav_save: Option<u64>,
    /// Automatic backups wait: this many accounts need signing in again.
    pub auto_waits_for_sign_in: Option<usize>,
}

/// Every user operation claims this: one at a time.
const SLOT: &str = "backup";
const LIST_JOB: &str = "backup:list";
const AUTO_JOB: &str = "backup:auto";

fn op(name: &str) -> Spec {
    Spec::new(format!("backup:{name}")).claims([SLOT.to_string()])
}

fn locked(store: &crate::store::SharedStore) -> Result<std::sync::MutexGuard<'_, Store>, String> {
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

impl Backup {
    /// Applies a command.
    pub fn apply(&mut self, cmd: BackupCmd, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        let keep = cx.settings.backup.local.keep;
        match cmd {
            BackupCmd::BackUpNow(choice) => {
                self.blocking(cx, "now", tr("backup.progress.backing_up"), Area::Local, move || {
                    let s = locked(&store)?;
                    let info = local::back_up_now(&s, &secrets_mode(choice), keep).map_err(|e| e.to_string())?;
                    log::info!("local backup written: {}", info.name);
                    Ok(Done::LocalList(local_list(&s)?, Some(fill(tr("backup.msg.written"), &[("name", &info.name)]))))
                })
            }
            BackupCmd::RestoreLocal { name, mode, passphrase } => {
                let passphrase = passphrase.map(|p| p.0);
                self.blocking(cx, "restore", tr("backup.progress.checking"), Area::Local, move || {
                    let s = locked(&store)?;
                    let bytes = LocalBackups::for_data_dir(&s.data_dir()).read(&name).map_err(|e| e.to_string())?;
                    lift(preview_file(&s, &name, bytes, passphrase, mode))
                })
            }
            BackupCmd::DeleteLocal(name) => {
                self.blocking(cx, "delete", tr("backup.progress.deleting"), Area::Local, move || {
                    let s = locked(&store)?;
                    LocalBackups::for_data_dir(&s.data_dir()).delete(&name).map_err(|e| e.to_string())?;
                    log::info!("local backup deleted: {name}");
                    Ok(Done::LocalList(local_list(&s)?, Some(fill(tr("backup.msg.deleted"), &[("name", &name)]))))
                })
            }
            BackupCmd::SetLocalKeep(n) => {
                cx.change_settings(|s| s.backup.local.keep = n);
                self.blocking(cx, "prune", tr("backup.progress.saving"), Area::Local, move || {
                    let s = locked(&store)?;
                    let facts = local::StoreFacts::of(&s).map_err(|e| e.to_string())?;
                    LocalBackups::for_data_dir(&s.data_dir()).prune(n, &facts).map_err(|e| e.to_string())?;
                    Ok(Done::LocalList(local_list(&s)?, None))
                })
            }
            BackupCmd::ExportFile(choice) => self.export_file(choice, cx),
            BackupCmd::ImportFile { passphrase, mode } => self.import_file(passphrase.map(|p| p.0), mode, cx),
            BackupCmd::ImportPath { path, passphrase, mode } => {
                let passphrase = passphrase.map(|p| p.0);
                self.blocking(cx, "import", tr("backup.progress.checking"), Area::Local, move || {
                    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let label = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    lift(preview_file(&*locked(&store)?, &label, bytes, passphrase, mode))
                })
            }
            BackupCmd::ConfirmPending => self.confirm_pending(cx),
            BackupCmd::CancelPending => {
                self.pending_data = None;
                self.pending = None;
            }
            BackupCmd::SaveWebDav(cfg) => {
                // "Saved" shows once the rows are on disk (see `settings_saved`).
                self.webdav_save = Some(cx.change_settings(|s| s.backup.webdav = cfg));
            }
            BackupCmd::TestWebDav(cfg) => self.webdav(cx, "webdav-test", tr("backup.progress.testing"), async move {
                WebDav::new(&cfg)?.test_connection().await?;
                Ok(Done::Message(tr("backup.msg.connected").to_string()))
            }),
            BackupCmd::UploadWebDav(cfg, choice) => {
                self.webdav(cx, "upload", tr("backup.progress.uploading"), async move {
                    let mode = secrets_mode(choice);
                    let bytes = store
                        .run(move |s| {
                            crate::backup::create_bundle(s, &mode)
                                .map_err(|e| crate::store::StoreError::Unavailable(e.to_string()))
                        })
                        .await
                        .map_err(|e| BackupError::Protocol(e.to_string()))?;
                    let dav = WebDav::new(&cfg)?;
                    let report = crate::backup::webdav::upload_backup(&cfg, &bytes).await?;
                    log::info!("WebDAV backup uploaded: {}", report.name);
                    Ok(Done::RemoteList(
                        dav.list().await?,
                        Some(fill(tr("backup.msg.uploaded"), &[("name", &report.name)])),
                    ))
                })
            }
            BackupCmd::RefreshRemote(cfg) => {
                self.webdav(cx, "list-remote", tr("backup.progress.listing"), async move {
                    Ok(Done::RemoteList(WebDav::new(&cfg)?.list().await?, None))
                })
            }
            BackupCmd::RestoreRemote { cfg, name, mode, passphrase } => {
                let passphrase = passphrase.map(|p| p.0);
                self.async_job(cx, "download", tr("backup.progress.downloading"), Area::WebDav, async move {
                    let dav = WebDav::new(&cfg).map_err(|e| e.to_string())?;
                    let bytes = dav.download(&name).await.map_err(|e| e.to_string())?;
                    tokio::task::spawn_blocking(move || {
                        lift(preview_file(&*locked(&store)?, &name, bytes, passphrase, mode))
                    })
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()))
                })
            }
            BackupCmd::DeleteRemote(cfg, name) => {
                self.webdav(cx, "delete-remote", tr("backup.progress.deleting"), async move {
                    let dav = WebDav::new(&cfg)?;
                    dav.delete(&name).await?;
                    log::info!("WebDAV backup deleted: {name}");
                    Ok(Done::RemoteList(dav.list().await?, Some(fill(tr("backup.msg.deleted"), &[("name", &name)]))))
                })
            }
            BackupCmd::Reload => {
                cx.start_blocking_quiet(Spec::new(LIST_JOB).latest_wins(), move |_| {
                    BackupMsg::Listed(locked(&store).and_then(|s| local_list(&s)))
                });
            }
            BackupCmd::Auto => {
                self.auto_backup(cx);
                cx.send(super::sync::SyncCmd::Changed);
            }
        }
    }

    fn begin(&mut self, what: &str) {
        self.busy = true;
        self.progress = Some(what.to_string());
    }

    /// Starts a blocking backup operation (refused while another runs).
    fn blocking(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        what: &str,
        area: Area,
        job: impl FnOnce() -> Result<Done, String> + Send + 'static,
    ) {
        if cx.start_blocking(op(name), move |_| BackupMsg::Done(area, job())) {
            self.begin(what);
        }
    }

    /// Starts an async backup operation with a one-line error.
    fn async_job(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        what: &str,
        area: Area,
        job: impl std::future::Future<Output = Result<Done, String>> + Send + 'static,
    ) {
        if cx.start(op(name), |_| async move { BackupMsg::Done(area, job.await) }) {
            self.begin(what);
        }
    }

    /// Starts a WebDAV operation.
    fn webdav(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        what: &str,
        job: impl std::future::Future<Output = Result<Done, BackupError>> + Send + 'static,
    ) {
        self.async_job(cx, name, what, Area::WebDav, async move { job.await.map_err(|e| e.to_string()) });
    }

    fn export_file(&mut self, choice: SecretsChoice, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        self.async_job(cx, "export", tr("backup.progress.save_dialog"), Area::Local, async move {
            let name = local::backup_file_name("apihub-export", crate::domain::time::utc_now());
            let picked =
                rfd::AsyncFileDialog::new().add_filter("JSON", &["json"]).set_file_name(&name).save_file().await;
            let Some(handle) = picked else { return Ok(Done::Nothing) };
            let path = handle.path().to_path_buf();
            tokio::task::spawn_blocking(move || {
                let s = locked(&store)?;
                let bytes = crate::backup::create_bundle(&s, &secrets_mode(choice)).map_err(|e| e.to_string())?;
                std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                log::info!("backup exported to {}", path.display());
                Ok(Done::Message(fill(tr("backup.msg.exported"), &[("path", &path.display())])))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        });
    }

    fn import_file(&mut self, passphrase: Option<String>, mode: RestoreMode, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        self.async_job(cx, "import", tr("backup.progress.open_dialog"), Area::Local, async move {
            let picked = rfd::AsyncFileDialog::new().add_filter("JSON", &["json"]).pick_file().await;
            let Some(handle) = picked else { return Ok(Done::Nothing) };
            let bytes = handle.read().await;
            let label = handle.file_name();
            tokio::task::spawn_blocking(move || {
                let s = locked(&store)?;
                lift(preview_file(&s, &label, bytes, passphrase, mode))
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        });
    }

    fn confirm_pending(&mut self, cx: &mut Cx<'_>) {
        let Some(data) = self.pending_data.take() else { return };
        self.pending = None;
        let store = cx.store.clone();
        self.blocking(cx, "apply", tr("backup.progress.restoring"), Area::Local, move || {
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

    /// After a change: a throttled local backup, and a WebDAV upload when enabled and due.
    fn auto_backup(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        let now = crate::domain::time::now_unix();
        let may_upload = local::throttle_allows(self.upload_failed_at, now, local::AUTO_MIN_INTERVAL_SECS);
        let keep = cx.settings.backup.local.keep;
        let cfg = cx.settings.backup.webdav.clone();
        cx.start_quiet(Spec::new(AUTO_JOB), |_| async move {
            BackupMsg::Auto(auto_backup_job(store, now, may_upload, keep, cfg).await)
        });
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: BackupMsg, cx: &mut Cx<'_>) {
        match msg {
            BackupMsg::Done(area, result) => {
                self.busy = false;
                self.progress = None;
                self.finish(area, result, cx);
            }
            BackupMsg::Listed(Ok(list)) => self.local_backups = list,
            BackupMsg::Listed(Err(e)) => log::error!("local backups unreadable: {e}"),
            BackupMsg::Auto(Ok(AutoDone::Wrote(message))) => {
                log::info!("{message}");
                self.upload_failed_at = None;
                self.auto_waits_for_sign_in = None;
                cx.send(BackupCmd::Reload);
            }
            BackupMsg::Auto(Ok(AutoDone::Nothing)) => self.auto_waits_for_sign_in = None,
            BackupMsg::Auto(Ok(AutoDone::WaitsForSignIn(accounts))) => {
                if self.auto_waits_for_sign_in.is_none() {
                    log::warn!(
                        "automatic backups and uploads wait: {accounts} accounts need signing in again (their credentials are unreadable or were reset)"
                    );
                }
                self.auto_waits_for_sign_in = Some(accounts);
            }
            BackupMsg::Auto(Err(e)) => {
                log::warn!("automatic backup failed: {e}");
                self.upload_failed_at = Some(crate::domain::time::now_unix());
                self.last_outcome = Some(Outcome::Err(fill(tr("backup.msg.auto_failed"), &[("error", &e)])));
            }
        }
    }

    fn finish(&mut self, area: Area, result: Result<Done, String>, cx: &mut Cx<'_>) {
        let outcome = match result {
            Err(e) => {
                log::warn!("backup operation failed: {e}");
                Some(Outcome::Err(e))
            }
            Ok(Done::Nothing) => None,
            Ok(Done::Message(m)) => Some(Outcome::Ok(m)),
            Ok(Done::LocalList(list, m)) => {
                self.local_backups = list;
                m.map(Outcome::Ok)
            }
            Ok(Done::RemoteList(list, m)) => {
                self.remote_backups = list;
                Some(Outcome::Ok(
                    m.unwrap_or_else(|| fill(tr("backup.msg.remote_count"), &[("n", &self.remote_backups.len())])),
                ))
            }
            Ok(Done::Preview(data, preview)) => {
                self.pending_data = Some(data);
                self.pending = Some(*preview);
                None
            }
            Ok(Done::Applied(m, list)) => {
                log::info!("{m}");
                self.local_backups = list;
                self.last_outcome = Some(Outcome::Ok(m));
                // Settings (WebDAV, updates, keep-N) may have come with the backup too.
                cx.send(SitesCmd::Reload);
                cx.send(Command::ReloadSettings);
                return;
            }
        };
        let Some(outcome) = outcome else { return };
        match area {
            Area::Local => self.last_outcome = Some(outcome),
            Area::WebDav => self.webdav_outcome = Some(outcome),
        }
    }

    /// A settings save finished (or failed): the WebDAV form's "saved" line.
    pub fn settings_saved(&mut self, saved_seq: u64, error: Option<&str>) {
        let Some(seq) = self.webdav_save else { return };
        if let Some(e) = error {
            self.webdav_save = None;
            self.webdav_outcome = Some(Outcome::Err(e.to_string()));
        } else if saved_seq >= seq {
            self.webdav_save = None;
            self.webdav_outcome = Some(Outcome::Ok(tr("backup.msg.saved").to_string()));
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        if key.starts_with("backup:") && key != LIST_JOB && key != AUTO_JOB {
            self.busy = false;
            self.progress = None;
        }
    }
}

/// The automatic backup: a throttled local backup, then a WebDAV upload when enabled
/// and due (sealed with this installation's key: no passphrase is stored for it).
async fn auto_backup_job(
    store: crate::store::SharedStore,
    now: i64,
    may_upload: bool,
    keep: usize,
    cfg: WebDavConfig,
) -> Result<AutoDone, String> {
    let job_store = store.clone();
    let job_cfg = cfg.clone();
    let prepared = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let mut s = locked(&job_store)?;
        let outcome = local::auto_backup(&mut s, now, keep).map_err(|e| e.to_string())?;
        // Accounts that need signing in again: no backup, and no upload either (it would
        // push out good copies with one that lacks their credentials).
        if let local::AutoBackupOutcome::SecretsUnreadable { accounts } = outcome {
            return Ok(Err(accounts));
        }
        let hours = i64::try_from(job_cfg.interval_hours).unwrap_or(i64::MAX / 7200).max(1);
        let last: Option<i64> = s.setting(WEBDAV_LAST_UPLOAD).ok().flatten().and_then(|v| v.parse().ok());
        let due = may_upload
            && job_cfg.enabled
            && !job_cfg.url.trim().is_empty()
            && local::throttle_allows(last, now, hours * 3600);
        let upload = if due {
            Some(crate::backup::create_bundle(&s, &SecretsMode::LocalKey).map_err(|e| e.to_string())?)
        } else {
            None
        };
        Ok(Ok((outcome, upload)))
    })
    .await
    .map_err(|e| e.to_string())??;
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(accounts) => return Ok(AutoDone::WaitsForSignIn(accounts)),
    };
    let mut message = match prepared.0 {
        local::AutoBackupOutcome::Written(info) => Some(format!("Automatic backup written: {}", info.name)),
        _ => None,
    };
    if let Some(bytes) = prepared.1 {
        let report = crate::backup::webdav::upload_backup(&cfg, &bytes).await.map_err(|e| e.to_string())?;
        log::info!("automatic WebDAV upload: {}", report.name);
        let now = crate::domain::time::now_unix();
        if let Err(e) = store.run(move |s| s.set_setting(WEBDAV_LAST_UPLOAD, &now.to_string())).await {
            log::warn!("the time of the automatic upload was not saved: {e}");
        }
        message = Some(format!("Automatic WebDAV upload: {}", report.name));
    }
    Ok(message.map_or(AutoDone::Nothing, AutoDone::Wrote))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn back_up_now_lists_the_new_backup_and_a_second_operation_is_refused_meanwhile() {
        let mut rig = Rig::new();
        let mut b = Backup::default();
        rig.with(|cx| b.apply(BackupCmd::BackUpNow(SecretsChoice::Without), cx));
        assert!(b.busy);
        rig.with(|cx| b.apply(BackupCmd::DeleteLocal("x".into()), cx));
        let said: Vec<_> = rig.sent();
        assert!(
            said.iter().any(
                |c| matches!(c, Command::Shell(crate::app::command::ShellCmd::Status(s)) if s.text.contains("backup"))
            ),
            "the second operation is refused and said so: {said:?}"
        );
        for m in rig.next(1) {
            if let JobMsg::Backup(m) = m {
                rig.with(|cx| b.on_job(m, cx));
            }
        }
        assert!(!b.busy);
        assert_eq!(b.local_backups.len(), 1);
        assert!(matches!(&b.last_outcome, Some(Outcome::Ok(m)) if m.contains(&b.local_backups[0].name)));
    }

    /// While accounts need signing in again (credentials unreadable, or reset after a
    /// lost key), the automatic backup neither writes a file nor uploads; once the
    /// credentials are entered again it runs.
    #[test]
    fn no_automatic_backup_or_upload_while_accounts_need_signing_in_again() {
        use crate::domain::snapshot::{AccountState, ErrorInfo};
        let mut rig = Rig::new();
        // An upload would be due, to a server that refuses connections: trying it fails loudly.
        rig.settings.backup.webdav = WebDavConfig {
            enabled: true,
            url: "http://127.0.0.1:1/dav".into(),
            interval_hours: 1,
            ..Default::default()
        };
        let put = |s: &mut Store, token: Option<&str>| {
            s.upsert_account(&crate::domain::NewAccount {
                site_url: "https://b.example".into(),
                site_name: "B".into(),
                kind: crate::domain::SiteKind::NewApi,
                user_id: "1".into(),
                username: "bob".into(),
                auth: crate::domain::AuthMethod::AccessToken,
                credentials: crate::domain::Credentials { access_token: token.map(Into::into), ..Default::default() },
            })
            .unwrap()
        };
        let unreadable = rig.account("https://a.example", "ann");
        {
            let mut s = rig.store.lock().unwrap();
            s.damage_credentials_for_test(unreadable);
            // What `recover reset-credentials` leaves: empty credentials, flagged.
            let reset = put(&mut s, None);
            let flagged = AccountState {
                last_error: Some(ErrorInfo {
                    kind: "auth".into(),
                    message: crate::store::recover::SIGN_IN_NEEDED.into(),
                }),
                ..Default::default()
            };
            s.save_account_state(reset, &flagged, "2026-01-01").unwrap();
        }
        let mut b = Backup::default();
        let auto = |rig: &mut Rig, b: &mut Backup| {
            rig.with(|cx| b.apply(BackupCmd::Auto, cx));
            for m in rig.next(1) {
                if let JobMsg::Backup(m) = m {
                    rig.with(|cx| b.on_job(m, cx));
                }
            }
        };
        auto(&mut rig, &mut b);
        assert_eq!(b.auto_waits_for_sign_in, Some(2), "both kinds count");
        assert!(b.last_outcome.is_none(), "no upload was tried: {:?}", b.last_outcome);
        let list = || LocalBackups::for_data_dir(rig.dir.path()).list().unwrap();
        assert!(list().is_empty());

        // The credentials are entered again (the unreadable account removed): it runs.
        {
            let mut s = rig.store.lock().unwrap();
            s.remove_account(unreadable).unwrap();
            put(&mut s, Some("fresh"));
        }
        rig.settings.backup.webdav.enabled = false;
        auto(&mut rig, &mut b);
        assert_eq!(b.auto_waits_for_sign_in, None);
        assert_eq!(LocalBackups::for_data_dir(rig.dir.path()).list().unwrap().len(), 1);
    }

    #[test]
    fn the_webdav_form_is_saved_as_settings_and_said_saved_once_on_disk() {
        let mut rig = Rig::new();
        let mut b = Backup::default();
        let cfg = WebDavConfig { url: "https://dav.example/x".into(), interval_hours: 6, ..Default::default() };
        rig.with(|cx| b.apply(BackupCmd::SaveWebDav(cfg.clone()), cx));
        assert_eq!(rig.settings.backup.webdav, cfg);
        assert!(b.webdav_outcome.is_none(), "not yet on disk");
        rig.wait_saved();
        b.settings_saved(rig.saver.saved_seq(), None);
        assert_eq!(b.webdav_outcome, Some(Outcome::Ok(tr("backup.msg.saved").to_string())));
        assert_eq!(rig.stored().backup.webdav, cfg);
    }
}
