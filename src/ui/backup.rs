//! The Settings panel's backup & update sections: local backups, WebDAV, release check.
//!
//! Like every view, it does no I/O: it reads a [`BackupView`] (filled by the app from
//! background jobs) and pushes [`BackupAction`]s, which the app turns into jobs.

use crate::backup::RestoreMode;
use crate::backup::local::LocalBackupInfo;
use crate::backup::webdav::{RemoteBackup, WebDavConfig};
use crate::update::{UpdateCheck, UpdateSettings};

/// How secrets go into a backup the user starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsChoice {
    /// Encrypt with this passphrase.
    Passphrase(String),
    /// The user explicitly chose "without secrets".
    Without,
}

/// What the section asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupAction {
    /// Write a local backup now.
    BackUpNow(SecretsChoice),
    /// Restore a local backup.
    RestoreLocal {
        /// File name.
        name: String,
        /// Merge or replace.
        mode: RestoreMode,
        /// Passphrase for encrypted secrets.
        passphrase: Option<String>,
    },
    /// Delete a local backup.
    DeleteLocal(String),
    /// Save the WebDAV settings.
    SaveWebDav(WebDavConfig),
    /// Test the connection with these settings.
    TestWebDav(WebDavConfig),
    /// Upload a backup now.
    UploadWebDav(SecretsChoice),
    /// List the remote backups again.
    RefreshRemote,
    /// Restore a remote backup.
    RestoreRemote {
        /// File name.
        name: String,
        /// Merge or replace.
        mode: RestoreMode,
        /// Passphrase for encrypted secrets.
        passphrase: Option<String>,
    },
    /// Delete a remote backup.
    DeleteRemote(String),
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
    /// Result of the last local backup or restore.
    pub last_outcome: Option<Outcome>,
    /// Result of the last WebDAV operation (test, upload, list, restore, delete).
    pub webdav_outcome: Option<Outcome>,
    /// Update settings.
    pub update_settings: UpdateSettings,
    /// Result of the last release check.
    pub update: Option<Result<UpdateCheck, String>>,
}

/// View state of the section: form fields, passphrase, choices.
#[derive(Debug, Default)]
pub struct BackupSection {
    form: Option<WebDavConfig>,
    max_backups_text: String,
    passphrase: String,
    without_secrets: bool,
    replace: bool,
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1048576.0)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

fn date_text(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A labelled single-line text field (named for accessibility).
fn field_ui(ui: &mut egui::Ui, label: &str, value: &mut String, password: bool) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).password(password).desired_width(280.0)).labelled_by(l.id);
    ui.end_row();
}

impl BackupSection {
    fn secrets_choice(&self) -> Option<SecretsChoice> {
        if self.without_secrets {
            Some(SecretsChoice::Without)
        } else if self.passphrase.is_empty() {
            None
        } else {
            Some(SecretsChoice::Passphrase(self.passphrase.clone()))
        }
    }

    fn mode(&self) -> RestoreMode {
        if self.replace { RestoreMode::Replace } else { RestoreMode::Merge }
    }

    fn restore_passphrase(&self) -> Option<String> {
        (!self.passphrase.is_empty()).then(|| self.passphrase.clone())
    }

    /// Draws the backup and update sections.
    pub fn ui(&mut self, ui: &mut egui::Ui, view: &BackupView, actions: &mut Vec<BackupAction>) {
        self.secrets_ui(ui);
        ui.separator();
        self.local_ui(ui, view, actions);
        ui.separator();
        self.webdav_ui(ui, view, actions);
        ui.separator();
        update_ui(ui, view, actions);
    }

    fn secrets_ui(&mut self, ui: &mut egui::Ui) {
        ui.strong("Backup secrets");
        egui::Grid::new("backup_secrets").num_columns(2).show(ui, |ui| {
            field_ui(ui, "Backup passphrase", &mut self.passphrase, true);
        });
        ui.checkbox(&mut self.without_secrets, "Back up without secrets (tokens must be entered again after restore)");
        ui.checkbox(&mut self.replace, "Restore replaces all accounts (otherwise merge, newer wins)");
    }

    fn local_ui(&mut self, ui: &mut egui::Ui, view: &BackupView, actions: &mut Vec<BackupAction>) {
        ui.strong("Local backups");
        let choice = self.secrets_choice();
        let button = ui.add_enabled(!view.busy && choice.is_some(), egui::Button::new("Back up now"));
        if choice.is_none() {
            ui.weak("Enter a passphrase, or choose to back up without secrets.");
        }
        if button.clicked()
            && let Some(c) = choice
        {
            actions.push(BackupAction::BackUpNow(c));
        }
        if let Some(o) = &view.last_outcome {
            outcome_ui(ui, o);
        }
        if view.local_backups.is_empty() {
            ui.weak("No local backups yet");
        }
        egui::Grid::new("local_backups").num_columns(4).striped(true).show(ui, |ui| {
            for b in &view.local_backups {
                ui.label(&b.name);
                ui.label(date_text(b.modified_at_unix));
                ui.label(size_text(b.size_bytes));
                ui.horizontal(|ui| {
                    if ui.add_enabled(!view.busy, egui::Button::new("Restore")).on_hover_text(&b.name).clicked() {
                        actions.push(BackupAction::RestoreLocal {
                            name: b.name.clone(),
                            mode: self.mode(),
                            passphrase: self.restore_passphrase(),
                        });
                    }
                    if ui.add_enabled(!view.busy, egui::Button::new("Delete")).on_hover_text(&b.name).clicked() {
                        actions.push(BackupAction::DeleteLocal(b.name.clone()));
                    }
                });
                ui.end_row();
            }
        });
    }

    fn webdav_ui(&mut self, ui: &mut egui::Ui, view: &BackupView, actions: &mut Vec<BackupAction>) {
        ui.strong("WebDAV");
        let form = self.form.get_or_insert_with(|| view.webdav.clone());
        if self.max_backups_text.is_empty() {
            self.max_backups_text = form.max_backups.to_string();
        }
        ui.checkbox(&mut form.enabled, "Upload automatically");
        egui::Grid::new("webdav_form").num_columns(2).show(ui, |ui| {
            field_ui(ui, "Server URL", &mut form.url, false);
            field_ui(ui, "Username", &mut form.username, false);
            field_ui(ui, "Password", &mut form.password, true);
            field_ui(ui, "Remote folder", &mut form.remote_path, false);
            field_ui(ui, "Backups to keep", &mut self.max_backups_text, false);
        });
        form.max_backups = self.max_backups_text.trim().parse().unwrap_or(form.max_backups).max(1);
        let cfg = form.clone();
        let ready = !view.busy && !cfg.url.trim().is_empty();
        ui.horizontal(|ui| {
            if ui.add_enabled(ready, egui::Button::new("Test connection")).clicked() {
                actions.push(BackupAction::TestWebDav(cfg.clone()));
            }
            if ui.add_enabled(!view.busy, egui::Button::new("Save")).clicked() {
                actions.push(BackupAction::SaveWebDav(cfg.clone()));
            }
            let choice = self.secrets_choice();
            if ui.add_enabled(ready && choice.is_some(), egui::Button::new("Upload backup")).clicked()
                && let Some(c) = choice
            {
                actions.push(BackupAction::UploadWebDav(c));
            }
            if ui.add_enabled(ready, egui::Button::new("List remote backups")).clicked() {
                actions.push(BackupAction::RefreshRemote);
            }
        });
        if let Some(o) = &view.webdav_outcome {
            outcome_ui(ui, o);
        }
        egui::Grid::new("remote_backups").num_columns(4).striped(true).show(ui, |ui| {
            for b in &view.remote_backups {
                ui.label(&b.name);
                ui.label(date_text(b.modified_at_unix));
                ui.label(size_text(b.size_bytes));
                ui.horizontal(|ui| {
                    if ui.add_enabled(!view.busy, egui::Button::new("Restore")).on_hover_text(&b.name).clicked() {
                        actions.push(BackupAction::RestoreRemote {
                            name: b.name.clone(),
                            mode: self.mode(),
                            passphrase: self.restore_passphrase(),
                        });
                    }
                    if ui.add_enabled(!view.busy, egui::Button::new("Delete")).on_hover_text(&b.name).clicked() {
                        actions.push(BackupAction::DeleteRemote(b.name.clone()));
                    }
                });
                ui.end_row();
            }
        });
    }
}

fn outcome_ui(ui: &mut egui::Ui, o: &Outcome) {
    match o {
        Outcome::Ok(m) => ui.colored_label(ui.visuals().hyperlink_color, m),
        Outcome::Err(m) => ui.colored_label(ui.visuals().error_fg_color, m),
    };
}

fn update_ui(ui: &mut egui::Ui, view: &BackupView, actions: &mut Vec<BackupAction>) {
    ui.strong("Updates");
    let mut s = view.update_settings;
    let a = ui.checkbox(&mut s.check_on_start, "Check for updates on start (at most once a day)").changed();
    let b = ui.checkbox(&mut s.include_prerelease, "Include pre-releases").changed();
    if a || b {
        actions.push(BackupAction::SaveUpdateSettings(s));
    }
    ui.horizontal(|ui| {
        ui.label(format!("Version {}", crate::VERSION));
        if ui.button("Check now").clicked() {
            actions.push(BackupAction::CheckUpdates);
        }
    });
    match &view.update {
        None => {}
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(Ok(check)) => match &check.offer {
            None => {
                ui.label("You have the latest version.");
            }
            Some(r) => {
                ui.label(format!("Version {} is available ({})", r.version, r.published_at.as_deref().unwrap_or("")));
                for line in r.notes.lines().take(20) {
                    let t = line.trim_start_matches(['#', ' ']);
                    if line.starts_with('#') {
                        ui.strong(t);
                    } else if let Some(item) = line.trim_start().strip_prefix(['-', '*']) {
                        ui.label(format!("• {}", item.trim()));
                    } else if !t.is_empty() {
                        ui.label(t);
                    }
                }
                let os = std::env::consts::OS;
                let url = crate::update::asset_for_platform(r, os, std::env::consts::ARCH)
                    .map(|a| a.url.clone())
                    .unwrap_or_else(|| r.html_url.clone());
                if ui.button("Open download page").clicked() {
                    actions.push(BackupAction::OpenUrl(url));
                }
            }
        },
    }
}
