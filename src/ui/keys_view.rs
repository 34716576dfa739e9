//! The account's API keys in the detail panel: list with status, quota, expiry and
//! per-key actions (copy — revealing masked keys through the site —, enable/disable,
//! edit, delete with confirmation), and the create / edit dialog.

use crate::app::command::KeysCmd;
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::Account;
use crate::domain::money::CurrencySettings;
use crate::domain::snapshot::{ApiKey, Snapshot};
use crate::engine::actions::KeyAction;
use crate::logging::mask_secret;
use crate::relay::keys::{KeySpec, split_list};

/// The create / edit form.
#[derive(Debug, Clone, Default)]
struct KeyForm {
    /// `Some(id)` when editing.
    editing: Option<i64>,
    name: String,
    unlimited: bool,
    amount: String,
    expires: String,
    models: String,
    ips: String,
    group: String,
    error: Option<String>,
}

impl KeyForm {
    fn edit(k: &ApiKey, cs: &CurrencySettings) -> KeyForm {
        KeyForm {
            editing: Some(k.id),
            name: k.name.clone(),
            unlimited: k.unlimited_quota,
            amount: crate::domain::money::amount_text(k.remain.value(cs)),
            expires: if k.expired_time < 0 { String::new() } else { day_text(k.expired_time) },
            models: k.models.clone(),
            ips: String::new(),
            group: k.group.clone(),
            error: None,
        }
    }

    /// The spec, or a translated reason.
    fn spec(&self, cs: &CurrencySettings) -> Result<KeySpec, String> {
        let remain_quota = if self.unlimited {
            0
        } else {
            let a = self.amount.trim().replace(',', ".");
            match a.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => cs.amount_to_quota(v),
                _ => return Err(tr("keys.bad_amount").to_string()),
            }
        };
        let expired_time = if self.expires.trim().is_empty() {
            -1
        } else {
            parse_day_end(self.expires.trim()).ok_or_else(|| tr("keys.bad_date").to_string())?
        };
        let spec = KeySpec {
            name: self.name.trim().to_string(),
            remain_quota,
            unlimited_quota: self.unlimited,
            expired_time,
            models: split_list(&self.models),
            allow_ips: split_list(&self.ips),
            group: self.group.trim().to_string(),
        };
        spec.validate().map_err(|_| tr("keys.bad_name").to_string())?;
        Ok(spec)
    }
}

fn day_text(unix: i64) -> String {
    crate::domain::time::local_text(unix, "%Y-%m-%d")
}

/// `YYYY-MM-DD` → 23:59:59 local that day, unix seconds.
fn parse_day_end(s: &str) -> Option<i64> {
    crate::domain::time::parse_day(s).and_then(crate::domain::time::day_end_of)
}

fn status_text(status: i64) -> &'static str {
    match status {
        1 => tr("keys.status.enabled"),
        2 => tr("keys.status.disabled"),
        3 => tr("keys.status.expired"),
        _ => tr("keys.status.exhausted"),
    }
}

/// View state of the keys section.
#[derive(Debug, Default)]
pub struct KeysView {
    form: Option<KeyForm>,
    confirm_delete: Option<i64>,
    /// The note being edited: account, key id, text.
    note_edit: Option<(i64, i64, String)>,
}

impl KeysView {
    /// Draws the keys section and, when open, the key dialog.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        account: &Account,
        snap: &Snapshot,
        app: &AppState,
        cmds: &mut Vec<Command>,
    ) {
        let keys = snap.keys.value.as_deref().unwrap_or_default();
        let cs = &snap.currency;
        let busy = app.action_busy(account.id);
        // A key-only account has no access token: the site's key management is out of reach.
        let manage = account.auth != crate::domain::AuthMethod::ApiKey;
        crate::ui::fit::note_rect(ui, "keys", ui.available_rect_before_wrap());
        if !app.keys.notes.contains_key(&account.id) {
            cmds.push(Command::Keys(KeysCmd::LoadNotes(account.id)));
        }
        let notes = app.keys.notes.get(&account.id);
        egui::CollapsingHeader::new(format!("{} ({})", tr("detail.keys"), keys.len())).default_open(true).show(
            ui,
            |ui| {
                if !manage {
                    ui.weak(tr("keys.key_only_hint"));
                }
                ui.horizontal(|ui| {
                    if manage && ui.add_enabled(!busy, egui::Button::new(tr("keys.create"))).clicked() {
                        self.form = Some(KeyForm { expires: String::new(), ..KeyForm::default() });
                    }
                    if busy {
                        ui.spinner();
                    }
                });
                if let Some(m) = app.keys.message(account.id) {
                    let color = if m.ok { ui.visuals().text_color() } else { ui.visuals().warn_fg_color };
                    ui.colored_label(color, &m.text);
                }
                super::sites_detail::part_note(ui, &snap.keys);
                if keys.is_empty() {
                    ui.weak(tr("detail.keys_empty"));
                }
                for k in keys {
                    let note = notes.and_then(|n| n.get(&k.id)).map(String::as_str).unwrap_or_default();
                    self.key_row_ui(ui, account, k, cs, busy, cmds);
                    self.note_ui(ui, account.id, k, note, cmds);
                }
            },
        );
        self.dialog_ui(ui.ctx(), account, cs, cmds);
    }

    /// The user's note on a key: shown, and edited in place ("Note…", then save).
    fn note_ui(&mut self, ui: &mut egui::Ui, account: i64, k: &ApiKey, note: &str, cmds: &mut Vec<Command>) {
        match &mut self.note_edit {
            Some((a, key, text)) if *a == account && *key == k.id => {
                let mut done = None;
                ui.horizontal(|ui| {
                    let l = ui.label(tr("keys.note"));
                    let edit = ui
                        .add(egui::TextEdit::singleline(text).hint_text(tr("keys.note_hint")).desired_width(320.0))
                        .labelled_by(l.id);
                    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if ui.small_button(tr("keys.note_save")).clicked() || enter {
                        done = Some(Some(text.clone()));
                    }
                    if ui.small_button(tr("detail.cancel")).clicked() {
                        done = Some(None);
                    }
                });
                if let Some(saved) = done {
                    if let Some(note) = saved {
                        cmds.push(Command::Keys(KeysCmd::SetNote { account, key: k.id, note }));
                    }
                    self.note_edit = None;
                }
            }
            _ => {
                ui.horizontal(|ui| {
                    if !note.is_empty() {
                        ui.label(format!("{}: {note}", tr("keys.note")));
                    }
                    let button = super::widgets::row_action(ui, tr("keys.note_edit"));
                    if ui.add(button).on_hover_text(format!("{} — {}", tr("keys.note_hint"), k.name)).clicked() {
                        self.note_edit = Some((account, k.id, note.to_string()));
                    }
                });
            }
        }
    }

    fn key_row_ui(
        &mut self,
        ui: &mut egui::Ui,
        account: &Account,
        k: &ApiKey,
        cs: &CurrencySettings,
        busy: bool,
        cmds: &mut Vec<Command>,
    ) {
        let id = account.id;
        let manage = account.auth != crate::domain::AuthMethod::ApiKey;
        ui.horizontal_wrapped(|ui| {
            ui.strong(&k.name);
            ui.monospace(mask_secret(&k.key));
            let status = status_text(k.status);
            if k.status == 1 {
                ui.label(status);
            } else {
                ui.colored_label(ui.visuals().warn_fg_color, status);
            }
            let quota = if k.unlimited_quota { tr("detail.unlimited").to_string() } else { k.remain.text(cs) };
            ui.label(quota).on_hover_text(fill(tr("keys.used"), &[("amount", &k.used.text(cs))]));
            let expires = if k.expired_time < 0 { tr("detail.never").to_string() } else { day_text(k.expired_time) };
            ui.weak(format!("{} {expires}", tr("detail.expires")));
            if !k.group.is_empty() {
                ui.weak(&k.group);
            }
        });
        ui.horizontal(|ui| {
            let copy_hint = if k.masked { tr("keys.copy_reveal_hint") } else { tr("keys.copy_hint") };
            if ui
                .add_enabled(!busy, super::widgets::row_action(ui, tr("detail.copy")))
                .on_hover_text(copy_hint)
                .clicked()
            {
                if k.masked {
                    cmds.push(Command::Keys(KeysCmd::Action { account: id, action: KeyAction::Reveal { id: k.id } }));
                } else {
                    ui.ctx().copy_text(k.key.clone());
                }
            }
            let key = crate::app::exports::KeyRef { account: id, key: Some(k.id) };
            super::use_in::menu_ui(ui, key, super::use_in::MenuLook::Row, cmds);
            if !manage {
                return;
            }
            let (toggle, enable) = if k.status == 1 { (tr("keys.disable"), false) } else { (tr("keys.enable"), true) };
            if ui.add_enabled(!busy, super::widgets::row_action(ui, toggle)).on_hover_text(&k.name).clicked() {
                cmds.push(Command::Keys(KeysCmd::Action {
                    account: id,
                    action: KeyAction::SetEnabled { id: k.id, enabled: enable },
                }));
            }
            if ui.add_enabled(!busy, super::widgets::row_action(ui, tr("keys.edit"))).on_hover_text(&k.name).clicked() {
                self.form = Some(KeyForm::edit(k, cs));
            }
            if ui.add_enabled(!busy, super::widgets::row_action(ui, tr("keys.delete"))).on_hover_text(&k.name).clicked()
            {
                self.confirm_delete = Some(k.id);
            }
        });
        if self.confirm_delete == Some(k.id) {
            ui.colored_label(ui.visuals().warn_fg_color, fill(tr("keys.delete_confirm"), &[("name", &k.name)]));
            ui.horizontal(|ui| {
                if ui.add_enabled(!busy, egui::Button::new(tr("keys.delete_yes")).small()).clicked() {
                    cmds.push(Command::Keys(KeysCmd::Action { account: id, action: KeyAction::Delete { id: k.id } }));
                    self.confirm_delete = None;
                }
                if ui.small_button(tr("detail.cancel")).clicked() {
                    self.confirm_delete = None;
                }
            });
        }
        ui.add_space(2.0);
    }

    fn dialog_ui(&mut self, ctx: &egui::Context, account: &Account, cs: &CurrencySettings, cmds: &mut Vec<Command>) {
        let Some(form) = self.form.as_mut() else { return };
        let title = if form.editing.is_some() { tr("keys.edit_title") } else { tr("keys.create_title") };
        let mut open = true;
        let mut close = false;
        egui::Window::new(title).collapsible(false).open(&mut open).show(ctx, |ui| {
            egui::Grid::new("key_form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
                let l = ui.label(tr("keys.name"));
                ui.text_edit_singleline(&mut form.name).labelled_by(l.id);
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut form.unlimited, tr("keys.unlimited"));
                ui.end_row();
                let l = ui.label(fill(tr("keys.amount"), &[("currency", &cs.currency())]));
                ui.add_enabled(!form.unlimited, egui::TextEdit::singleline(&mut form.amount)).labelled_by(l.id);
                ui.end_row();
                let l = ui.label(tr("keys.expires"));
                ui.add(egui::TextEdit::singleline(&mut form.expires).hint_text("YYYY-MM-DD")).labelled_by(l.id);
                ui.end_row();
                let l = ui.label(tr("keys.models"));
                ui.add(egui::TextEdit::singleline(&mut form.models).hint_text("gpt-4o, claude-sonnet"))
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label(tr("keys.ips"));
                ui.add(egui::TextEdit::singleline(&mut form.ips).hint_text("1.2.3.4, 10.0.0.0/8")).labelled_by(l.id);
                ui.end_row();
                let l = ui.label(tr("keys.group"));
                ui.text_edit_singleline(&mut form.group).labelled_by(l.id);
                ui.end_row();
            });
            if let Some(e) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            ui.horizontal(|ui| {
                let label = if form.editing.is_some() { tr("keys.save") } else { tr("keys.create_submit") };
                if ui.button(label).clicked() {
                    match form.spec(cs) {
                        Ok(spec) => {
                            let action = match form.editing {
                                Some(id) => KeyAction::Update { id, spec },
                                None => KeyAction::Create(spec),
                            };
                            cmds.push(Command::Keys(KeysCmd::Action { account: account.id, action }));
                            close = true;
                        }
                        Err(e) => form.error = Some(e),
                    }
                }
                if ui.button(tr("detail.cancel")).clicked() {
                    close = true;
                }
            });
        });
        if close || !open {
            self.form = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_converts_money_and_dates() {
        let cs = CurrencySettings::default();
        let f = KeyForm { name: "desk".into(), amount: "10".into(), models: "a, b".into(), ..KeyForm::default() };
        let s = f.spec(&cs).unwrap();
        assert_eq!(s.remain_quota, 5_000_000);
        assert_eq!(s.expired_time, -1);
        assert_eq!(s.models, vec!["a", "b"]);
        let bad = KeyForm { name: "desk".into(), amount: "ten".into(), ..KeyForm::default() };
        assert!(bad.spec(&cs).is_err());
        let dated = KeyForm { name: "d".into(), unlimited: true, expires: "2030-01-02".into(), ..KeyForm::default() };
        assert!(dated.spec(&cs).unwrap().expired_time > 1_893_000_000);
        let no_name = KeyForm { amount: "1".into(), ..KeyForm::default() };
        assert!(no_name.spec(&cs).is_err());
    }
}
