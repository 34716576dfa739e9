//! The Backup panel's Sync section: device name, passphrase (remembered on request),
//! automatic sync, sync now, last sync, the conflicts with "keep this device's" /
//! "keep the other", and the history with "Preview restore…" (the preview, then a
//! confirmation). Reads `state.sync`, pushes `SyncCmd`s.

use crate::app::backup::Passphrase;
use crate::app::command::SyncCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::settings::SyncSettings;
use crate::store::ConflictRow;
use crate::sync::model::Side;

/// View state of the section.
#[derive(Debug, Default)]
pub struct SyncSection {
    form: Option<SyncSettings>,
    interval_text: String,
    passphrase: String,
    remember: bool,
}

/// A conflict value as one line: strings as they are, records as `field: value`,
/// credentials hidden, a deleted record named.
fn value_text(field: &str, json: &str) -> String {
    match crate::sync::redacted(field, json) {
        serde_json::Value::Null => tr("sync.deleted_value").to_string(),
        serde_json::Value::String(s) if s == "(hidden)" => tr("sync.hidden").to_string(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(k, v)| k.as_str() != "credentials" && !v.is_null() && v.as_str() != Some(""))
            .map(|(k, v)| format!("{k}: {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

impl SyncSection {
    /// Draws the section.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, actions: &mut Vec<Command>) {
        let view = &state.sync;
        let saved = &state.settings.sync;
        ui.strong(tr("sync.title"));
        ui.weak(tr("sync.hint"));
        let form = self.form.get_or_insert_with(|| saved.clone());
        if self.interval_text.is_empty() {
            self.interval_text = form.interval_minutes.to_string();
        }
        egui::Grid::new("sync_form").num_columns(2).show(ui, |ui| {
            let l = ui.label(tr("sync.device"));
            ui.add(
                egui::TextEdit::singleline(&mut form.device_name)
                    .hint_text(crate::sync::host_name())
                    .desired_width(280.0),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("sync.passphrase"));
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.passphrase).password(true).desired_width(280.0))
                    .labelled_by(l.id);
                if !saved.passphrase.is_empty() {
                    ui.weak(tr("sync.saved"));
                    if ui.small_button(tr("sync.forget")).clicked() {
                        actions.push(Command::Sync(SyncCmd::ForgetPassphrase));
                    }
                }
            });
            ui.end_row();
            let l = ui.label(tr("sync.interval"));
            ui.add(egui::TextEdit::singleline(&mut self.interval_text).desired_width(80.0)).labelled_by(l.id);
            ui.end_row();
        });
        ui.checkbox(&mut self.remember, tr("sync.remember"));
        ui.checkbox(&mut form.auto, tr("sync.auto"));
        if form.auto && saved.passphrase.is_empty() && !self.remember {
            ui.weak(tr("sync.auto_needs"));
        }
        if let Ok(m) = self.interval_text.trim().parse::<u32>()
            && (1..=7 * 24 * 60).contains(&m)
        {
            form.interval_minutes = m;
        }
        let has_server = !state.settings.backup.webdav.url.trim().is_empty();
        let has_passphrase = !self.passphrase.is_empty() || !saved.passphrase.is_empty();
        ui.horizontal(|ui| {
            let ready = has_server && has_passphrase && !view.running;
            if ui.add_enabled(ready, egui::Button::new(tr("sync.now"))).clicked() {
                let passphrase = (!self.passphrase.is_empty()).then(|| Passphrase(self.passphrase.clone()));
                actions.push(Command::Sync(SyncCmd::Now { passphrase, remember: self.remember }));
            }
            if ui.button(tr("sync.save")).clicked() {
                actions.push(Command::Sync(SyncCmd::SaveSettings(form.clone())));
            }
            if view.running {
                ui.spinner();
            }
        });
        if !has_server {
            ui.weak(tr("sync.need_server"));
        }
        match view.status.as_ref().and_then(|s| s.last_sync_unix) {
            Some(t) => ui.label(fill(
                tr("sync.last"),
                &[
                    ("time", &crate::domain::time::local_text(t, "%Y-%m-%d %H:%M")),
                    ("generation", &last_generation(state)),
                ],
            )),
            None => ui.label(tr("sync.never")),
        };
        match &view.last {
            Some(Ok(r)) => {
                let here = (r.local.added.len() + r.local.changed.len() + r.local.deleted.len()).to_string();
                let server = (r.remote.added.len() + r.remote.changed.len() + r.remote.deleted.len()).to_string();
                ui.label(fill(tr("sync.result"), &[("here", &here), ("server", &server)]));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, fill(tr("sync.msg.failed"), &[("error", e)]));
            }
            None => {}
        }
        let conflicts = view.status.as_ref().map(|s| s.conflicts.as_slice()).unwrap_or_default();
        if conflicts.is_empty() {
            ui.weak(tr("sync.no_conflicts"));
        } else {
            ui.label(fill(tr("sync.conflicts"), &[("n", &conflicts.len().to_string())]));
            for c in conflicts {
                conflict_ui(ui, c, view.running, actions);
            }
        }
        let typed = (!self.passphrase.is_empty()).then(|| Passphrase(self.passphrase.clone()));
        history_ui(ui, state, has_server && has_passphrase, &typed, actions);
    }
}

/// The history: the documents on the server, a restore's preview and its confirmation.
fn history_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    ready: bool,
    passphrase: &Option<Passphrase>,
    actions: &mut Vec<Command>,
) {
    let view = &state.sync;
    ui.separator();
    ui.strong(tr("sync.history.title"));
    if ui.add_enabled(ready, egui::Button::new(tr("sync.history.show"))).clicked() {
        actions.push(Command::Sync(SyncCmd::History { passphrase: passphrase.clone() }));
    }
    match &view.history {
        Some(Ok(list)) if list.is_empty() => {
            ui.weak(tr("sync.history.empty"));
        }
        Some(Ok(list)) => {
            egui::Grid::new("sync_history").num_columns(2).show(ui, |ui| {
                for h in list {
                    let time = h.written_at.replace('T', " ").trim_end_matches('Z').to_string();
                    let (generation, accounts) = (h.generation.to_string(), h.accounts.to_string());
                    let row = fill(
                        tr("sync.history.row"),
                        &[("generation", &generation), ("time", &time), ("device", &h.device), ("accounts", &accounts)],
                    );
                    ui.label(&row);
                    let button = egui::Button::new(tr("sync.history.preview"));
                    if ui.add_enabled(!view.running, button).on_hover_text(&row).clicked() {
                        let (generation, passphrase) = (h.generation, passphrase.clone());
                        actions.push(Command::Sync(SyncCmd::PreviewRestore { generation, passphrase }));
                    }
                    ui.end_row();
                }
            });
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, fill(tr("sync.history.failed"), &[("error", e)]));
        }
        None => {}
    }
    let Some((generation, preview)) = &view.preview else { return };
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let g = generation.to_string();
        match preview {
            Ok(r) => {
                ui.strong(fill(tr("sync.history.preview_title"), &[("generation", &g)]));
                for (place, lines) in [("sync.history.here", &r.local), ("sync.history.server", &r.remote)] {
                    if lines.is_empty() {
                        ui.label(format!("{}: {}", tr(place), tr("sync.history.nothing")));
                        continue;
                    }
                    ui.label(format!("{}:", tr(place)));
                    let marked = [("+", &lines.added), ("~", &lines.changed), ("−", &lines.deleted)];
                    for (mark, list) in marked {
                        for line in list.iter() {
                            ui.label(format!("  {mark} {line}"));
                        }
                    }
                }
                for c in &r.conflicts {
                    let field =
                        if c.field.is_empty() { tr("sync.conflict.deleted").to_string() } else { c.field.clone() };
                    ui.label(fill(tr("sync.history.conflict_line"), &[("label", &c.label), ("field", &field)]));
                }
                ui.weak(tr("sync.history.note"));
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, fill(tr("sync.history.failed"), &[("error", e)]));
            }
        }
        ui.horizontal(|ui| {
            let confirm = egui::Button::new(fill(tr("sync.history.confirm"), &[("generation", &g)]));
            if ui.add_enabled(preview.is_ok() && !view.running, confirm).clicked() {
                let (generation, passphrase) = (*generation, passphrase.clone());
                actions.push(Command::Sync(SyncCmd::Restore { generation, passphrase }));
            }
            if ui.button(tr("sync.history.cancel")).clicked() {
                actions.push(Command::Sync(SyncCmd::CancelRestore));
            }
        });
    });
}

fn last_generation(state: &AppState) -> String {
    state.sync.status.as_ref().map(|s| s.generation.to_string()).unwrap_or_default()
}

fn conflict_ui(ui: &mut egui::Ui, c: &ConflictRow, busy: bool, actions: &mut Vec<Command>) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let what = if c.field.is_empty() { tr("sync.conflict.deleted").to_string() } else { c.field.clone() };
        ui.strong(format!("{} — {what}", c.label));
        let applied = |side: &str| if c.applied == side { tr("sync.conflict.applied") } else { "" };
        ui.label(format!("{}{}: {}", tr("sync.conflict.local"), applied("local"), value_text(&c.field, &c.local)));
        ui.label(format!(
            "{}{}: {}",
            fill(tr("sync.conflict.remote"), &[("device", &c.remote_device)]),
            applied("remote"),
            value_text(&c.field, &c.remote)
        ));
        ui.horizontal(|ui| {
            for (side, key) in [(Side::Local, "sync.conflict.take_local"), (Side::Remote, "sync.conflict.take_remote")]
            {
                let button = egui::Button::new(tr(key));
                let hover = format!("{} — {}", tr(key), c.label);
                if ui.add_enabled(!busy, button).on_hover_text(hover).clicked() {
                    actions.push(Command::Sync(SyncCmd::Resolve { id: c.id, take: side }));
                }
            }
        });
    });
}
