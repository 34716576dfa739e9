//! The Settings panel's backup & update sections: local backups, WebDAV, release check.
//!
//! Like every view, it does no I/O: it reads a [`BackupView`] (filled by the app from
//! background jobs) and pushes commands (`BackupCmd`, `UpdateCmd`), which the app turns into jobs.

use crate::app::backup::{Outcome, Passphrase, PendingPreview, SecretsChoice};
use crate::app::command::{BackupCmd, ShellCmd, UpdateCmd};
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::backup::RestoreMode;
use crate::backup::webdav::WebDavConfig;

/// View state of the section: form fields, passphrase, choices.
#[derive(Debug, Default)]
pub struct BackupSection {
    form: Option<WebDavConfig>,
    max_backups_text: String,
    passphrase: String,
    without_secrets: bool,
    replace: bool,
    keep_text: String,
    interval_text: String,
    confirm_delete: Option<(bool, String)>,
    sync: crate::ui::sync_view::SyncSection,
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1048576.0)
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

fn date_text(unix: i64) -> String {
    crate::domain::time::local_text(unix, "%Y-%m-%d %H:%M")
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

    fn restore_passphrase(&self) -> Option<Passphrase> {
        (!self.passphrase.is_empty()).then(|| Passphrase(self.passphrase.clone()))
    }

    /// Draws the backup and update sections.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<Command>) {
        let view = &state.backup;
        let dropped = ui.ctx().input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(path) = dropped
            && !view.busy
        {
            actions.push(Command::Backup(BackupCmd::ImportPath {
                path,
                passphrase: self.restore_passphrase(),
                mode: self.mode(),
            }));
        }
        if let Some(text) = &view.progress {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(text);
            });
        }
        if let Some(p) = &view.pending {
            pending_ui(ui, p, view.busy, actions);
            ui.separator();
        }
        self.secrets_ui(ui);
        ui.separator();
        self.local_ui(ui, state, actions);
        ui.separator();
        self.webdav_ui(ui, state, actions);
        ui.separator();
        self.sync.ui(ui, state, actions);
        ui.separator();
        update_ui(ui, state, actions);
    }

    fn secrets_ui(&mut self, ui: &mut egui::Ui) {
        ui.strong(tr("backup.secrets_title"));
        egui::Grid::new("backup_secrets").num_columns(2).show(ui, |ui| {
            field_ui(ui, tr("backup.passphrase"), &mut self.passphrase, true);
        });
        ui.checkbox(&mut self.without_secrets, tr("backup.without_secrets"));
        ui.checkbox(&mut self.replace, tr("backup.replace"));
    }

    /// Asks "Delete X?" in place; pushes the action only on confirmation.
    fn confirm_delete_ui(&mut self, ui: &mut egui::Ui, remote: bool, actions: &mut Vec<Command>) {
        let Some((is_remote, name)) = self.confirm_delete.clone() else { return };
        if is_remote != remote {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(ui.visuals().warn_fg_color, fill(tr("backup.confirm_delete"), &[("name", &name)]));
            if ui.button(tr("backup.confirm_delete_button")).clicked() {
                actions.push(match (remote, self.form.clone()) {
                    (true, Some(cfg)) => Command::Backup(BackupCmd::DeleteRemote(cfg, name)),
                    _ => Command::Backup(BackupCmd::DeleteLocal(name)),
                });
                self.confirm_delete = None;
            }
            if ui.button(tr("backup.cancel")).clicked() {
                self.confirm_delete = None;
            }
        });
    }

    fn local_ui(&mut self, ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<Command>) {
        let view = &state.backup;
        ui.strong(tr("backup.local"));
        let choice = self.secrets_choice();
        ui.horizontal(|ui| {
            let button = ui.add_enabled(!view.busy && choice.is_some(), egui::Button::new(tr("backup.now")));
            if button.clicked()
                && let Some(c) = choice.clone()
            {
                actions.push(Command::Backup(BackupCmd::BackUpNow(c)));
            }
            let export = ui.add_enabled(!view.busy && choice.is_some(), egui::Button::new(tr("backup.export")));
            if export.clicked()
                && let Some(c) = choice.clone()
            {
                actions.push(Command::Backup(BackupCmd::ExportFile(c)));
            }
            let import = ui
                .add_enabled(!view.busy, egui::Button::new(tr("backup.import")))
                .on_hover_text(tr("backup.import_hint"));
            if import.clicked() {
                actions.push(Command::Backup(BackupCmd::ImportFile {
                    passphrase: self.restore_passphrase(),
                    mode: self.mode(),
                }));
            }
        });
        if choice.is_none() {
            ui.weak(tr("backup.need_passphrase"));
        }
        ui.horizontal(|ui| {
            if self.keep_text.is_empty() {
                self.keep_text = state.settings.backup.local.keep.to_string();
            }
            let l = ui.label(tr("backup.keep"));
            let r = ui.add(egui::TextEdit::singleline(&mut self.keep_text).desired_width(50.0)).labelled_by(l.id);
            if r.lost_focus()
                && let Ok(n) = self.keep_text.trim().parse::<usize>()
                && n >= 1
                && n != state.settings.backup.local.keep
            {
                actions.push(Command::Backup(BackupCmd::SetLocalKeep(n)));
            }
        });
        if let Some(n) = view.auto_waits_for_sign_in {
            ui.colored_label(ui.visuals().warn_fg_color, fill(tr("backup.auto_waits"), &[("n", &n)]));
        }
        if let Some(o) = &view.last_outcome {
            outcome_ui(ui, o);
        }
        self.confirm_delete_ui(ui, false, actions);
        if view.local_backups.is_empty() {
            ui.weak(tr("backup.none"));
        }
        let rows: Vec<_> =
            view.local_backups.iter().map(|b| (b.name.as_str(), b.modified_at_unix, b.size_bytes)).collect();
        self.backup_rows_ui(ui, false, &rows, view.busy, actions);
    }

    /// One grid of backups (name, date, size, restore / delete) for the local or the
    /// remote list; delete only asks for confirmation.
    fn backup_rows_ui(
        &mut self,
        ui: &mut egui::Ui,
        remote: bool,
        rows: &[(&str, i64, u64)],
        busy: bool,
        actions: &mut Vec<Command>,
    ) {
        let id = if remote { "remote_backups" } else { "local_backups" };
        egui::Grid::new(id).num_columns(4).striped(true).show(ui, |ui| {
            for (name, modified_at_unix, size_bytes) in rows {
                ui.label(*name);
                ui.label(date_text(*modified_at_unix));
                ui.label(size_text(*size_bytes));
                ui.horizontal(|ui| {
                    if ui.add_enabled(!busy, egui::Button::new(tr("backup.restore"))).on_hover_text(*name).clicked() {
                        let (name, mode, passphrase) = (name.to_string(), self.mode(), self.restore_passphrase());
                        actions.push(match (remote, self.form.clone()) {
                            (true, Some(cfg)) => {
                                Command::Backup(BackupCmd::RestoreRemote { cfg, name, mode, passphrase })
                            }
                            _ => Command::Backup(BackupCmd::RestoreLocal { name, mode, passphrase }),
                        });
                    }
                    if ui.add_enabled(!busy, egui::Button::new(tr("backup.delete"))).on_hover_text(*name).clicked() {
                        self.confirm_delete = Some((remote, name.to_string()));
                    }
                });
                ui.end_row();
            }
        });
    }

    fn webdav_ui(&mut self, ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<Command>) {
        let view = &state.backup;
        ui.strong("WebDAV");
        let form = self.form.get_or_insert_with(|| state.settings.backup.webdav.clone());
        if self.max_backups_text.is_empty() {
            self.max_backups_text = form.max_backups.to_string();
        }
        if self.interval_text.is_empty() {
            self.interval_text = state.settings.backup.webdav.interval_hours.to_string();
        }
        ui.checkbox(&mut form.enabled, tr("backup.webdav.auto"));
        if form.enabled {
            ui.weak(tr("backup.webdav.auto_hint"));
        }
        egui::Grid::new("webdav_form").num_columns(2).show(ui, |ui| {
            field_ui(ui, tr("backup.webdav.url"), &mut form.url, false);
            field_ui(ui, tr("backup.webdav.username"), &mut form.username, false);
            field_ui(ui, tr("backup.webdav.password"), &mut form.password, true);
            field_ui(ui, tr("backup.webdav.folder"), &mut form.remote_path, false);
            field_ui(ui, tr("backup.webdav.keep"), &mut self.max_backups_text, false);
            field_ui(ui, tr("backup.webdav.interval"), &mut self.interval_text, false);
        });
        form.max_backups = self.max_backups_text.trim().parse().unwrap_or(form.max_backups).max(1);
        let cfg = form.clone();
        let ready = !view.busy && !cfg.url.trim().is_empty();
        ui.horizontal(|ui| {
            if ui.add_enabled(ready, egui::Button::new(tr("backup.webdav.test"))).clicked() {
                actions.push(Command::Backup(BackupCmd::TestWebDav(cfg.clone())));
            }
            if ui.add_enabled(!view.busy, egui::Button::new(tr("backup.webdav.save"))).clicked() {
                let mut cfg = cfg.clone();
                if let Ok(h) = self.interval_text.trim().parse::<u64>()
                    && h >= 1
                {
                    cfg.interval_hours = h;
                }
                actions.push(Command::Backup(BackupCmd::SaveWebDav(cfg)));
            }
            let choice = self.secrets_choice();
            if ui.add_enabled(ready && choice.is_some(), egui::Button::new(tr("backup.webdav.upload"))).clicked()
                && let Some(c) = choice
            {
                actions.push(Command::Backup(BackupCmd::UploadWebDav(cfg.clone(), c)));
            }
            if ui.add_enabled(ready, egui::Button::new(tr("backup.webdav.list"))).clicked() {
                actions.push(Command::Backup(BackupCmd::RefreshRemote(cfg.clone())));
            }
        });
        ui.weak(tr("backup.webdav.saved_hint"));
        if let Some(o) = &view.webdav_outcome {
            outcome_ui(ui, o);
        }
        self.confirm_delete_ui(ui, true, actions);
        let rows: Vec<_> =
            view.remote_backups.iter().map(|b| (b.name.as_str(), b.modified_at_unix, b.size_bytes)).collect();
        self.backup_rows_ui(ui, true, &rows, view.busy, actions);
    }
}

fn outcome_ui(ui: &mut egui::Ui, o: &Outcome) {
    match o {
        Outcome::Ok(m) => ui.colored_label(ui.visuals().hyperlink_color, m),
        Outcome::Err(m) => ui.colored_label(ui.visuals().error_fg_color, m),
    };
}

/// Up to 15 names of a list, then "and N more".
fn names_ui(ui: &mut egui::Ui, title: &str, names: &[String]) {
    if names.is_empty() {
        return;
    }
    ui.label(format!("{title} ({}):", names.len()));
    for n in names.iter().take(15) {
        ui.label(format!("    {n}"));
    }
    if names.len() > 15 {
        ui.weak(format!("    {}", fill(tr("backup.preview.more"), &[("n", &(names.len() - 15))])));
    }
}

fn pending_ui(ui: &mut egui::Ui, pending: &PendingPreview, busy: bool, actions: &mut Vec<Command>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let confirm = match pending {
            PendingPreview::Restore { label, mode, preview: p } => {
                let how = tr(if *mode == RestoreMode::Replace { "backup.mode.replace" } else { "backup.mode.merge" });
                ui.strong(fill(tr("backup.preview.restore_title"), &[("label", label), ("how", &how)]));
                ui.label(fill(
                    tr("backup.preview.counts"),
                    &[
                        ("added", &p.added.len()),
                        ("updated", &p.updated.len()),
                        ("unchanged", &p.unchanged.len()),
                        ("kept", &p.kept_newer_local.len()),
                        ("removed", &p.removed.len()),
                    ],
                ));
                let refs = |v: &[crate::backup::restore::AccountRef]| -> Vec<String> {
                    v.iter().map(|a| format!("{} · {}", a.site_url, a.username)).collect()
                };
                names_ui(ui, tr("backup.preview.added"), &refs(&p.added));
                names_ui(ui, tr("backup.preview.updated"), &refs(&p.updated));
                names_ui(ui, tr("backup.preview.removed"), &refs(&p.removed));
                names_ui(ui, tr("backup.preview.needs_credentials"), &refs(&p.needs_credentials));
                names_ui(ui, tr("backup.preview.settings"), &p.settings_changed);
                if *mode == RestoreMode::Replace {
                    ui.colored_label(ui.visuals().warn_fg_color, tr("backup.preview.replace_warning"));
                } else {
                    ui.weak(tr("backup.preview.merge_hint"));
                }
                tr("backup.preview.confirm_restore")
            }
            PendingPreview::Import { label, source, preview: p, skipped } => {
                ui.strong(fill(tr("backup.preview.import_title"), &[("label", label), ("source", source)]));
                ui.label(fill(
                    tr("backup.preview.import_counts"),
                    &[
                        ("sites", &p.site_count),
                        ("accounts", &p.account_count),
                        ("creds", &p.needs_credentials.len()),
                        ("skipped", &p.skipped_count),
                    ],
                ));
                names_ui(ui, tr("backup.preview.needs_credentials"), &p.needs_credentials);
                let skipped: Vec<String> = skipped.iter().map(|s| format!("{}: {}", s.label, s.reason)).collect();
                names_ui(ui, tr("backup.preview.skipped"), &skipped);
                tr("backup.preview.confirm_import")
            }
        };
        ui.horizontal(|ui| {
            if ui.add_enabled(!busy, egui::Button::new(confirm)).clicked() {
                actions.push(Command::Backup(BackupCmd::ConfirmPending));
            }
            if ui
                .add_enabled(!busy, egui::Button::new(tr("backup.cancel")))
                .on_hover_text(tr("backup.cancel_hint"))
                .clicked()
            {
                actions.push(Command::Backup(BackupCmd::CancelPending));
            }
        });
    });
}

fn update_ui(ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<Command>) {
    ui.strong(tr("update.title"));
    let mut s = state.settings.update.clone();
    let a = ui.checkbox(&mut s.check_on_start, tr("update.on_start")).changed();
    let b = ui.checkbox(&mut s.include_prerelease, tr("update.prerelease")).changed();
    if a || b {
        actions.push(Command::Update(UpdateCmd::SaveSettings(s)));
    }
    ui.horizontal(|ui| {
        ui.label(fill(tr("update.version"), &[("version", &crate::VERSION)]));
        if ui.add_enabled(!state.update.checking, egui::Button::new(tr("update.check_now"))).clicked() {
            actions.push(Command::Update(UpdateCmd::Check));
        }
        if state.update.checking {
            ui.spinner();
        }
        if let Some(t) = state.update.last_check {
            ui.weak(fill(tr("update.last_check"), &[("date", &date_text(t))]));
        }
    });
    match &state.update.check {
        None => {}
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(Ok(check)) => match &check.offer {
            None => {
                ui.label(tr("update.latest"));
            }
            Some(r) => {
                let date = r.published_at.as_deref().map(|d| d.get(..10).unwrap_or(d)).unwrap_or("");
                ui.label(fill(tr("update.available"), &[("version", &r.version), ("date", &date)]));
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
                if ui.button(tr("update.open")).on_hover_text(&url).clicked() {
                    actions.push(Command::Shell(ShellCmd::OpenUrl(url)));
                }
            }
        },
    }
}
