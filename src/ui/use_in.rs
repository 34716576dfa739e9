//! "Use in…": the menu on a key row and on an account, the dialog (the file targets'
//! side-by-side diff, model, user/project scope, the model check's warnings, Apply /
//! Cancel; the deep link or snippet; the channel's admin account) and, after a write, the
//! strip with Undo. Esc closes the dialog, Enter applies. Everything it does goes
//! through `ExportsCmd`.

use crate::app::command::ExportsCmd;
use crate::app::exports::{Dialog, KeyRef, Outcome, Planned, Request, target_label};
use crate::app::i18n::{fill, tr};
use crate::app::{AppState, Command};
use crate::domain::AccountId;
use crate::exports::links::CcApp;
use crate::exports::{Scope, Target};

/// A CC Switch app's name.
fn app_label(app: CcApp) -> &'static str {
    match app {
        CcApp::Claude => "Claude Code",
        CcApp::Codex => "Codex",
        CcApp::Gemini => "Gemini CLI",
        CcApp::GrokBuild => "Grok Build",
        CcApp::OpenCode => "OpenCode",
        CcApp::OpenClaw => "OpenClaw",
        CcApp::Hermes => "Hermes",
    }
}

/// How the "Use in…" button is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MenuLook {
    /// A normal button (the account's header).
    Normal,
    /// A small button.
    Small,
    /// One on each row of a list (a key's): a small link-coloured button with no frame
    /// until hovered, like the row's other actions (`widgets::row_action`).
    Row,
}

/// The "Use in…" menu button for a key (or an account: `key.key` None).
pub fn menu_ui(ui: &mut egui::Ui, key: KeyRef, look: MenuLook, cmds: &mut Vec<Command>) {
    target_menu_ui(ui, key, false, look, cmds);
}

/// The Gateway panel's "Use in…" menu: the local gateway (address and local key) into a
/// tool. `account` is the key the dialog falls back to if its gateway box is unticked.
pub fn gateway_menu_ui(ui: &mut egui::Ui, account: Option<AccountId>, cmds: &mut Vec<Command>) {
    target_menu_ui(ui, KeyRef { account: account.unwrap_or_default(), key: None }, true, MenuLook::Small, cmds);
}

fn target_menu_ui(ui: &mut egui::Ui, key: KeyRef, gateway: bool, look: MenuLook, cmds: &mut Vec<Command>) {
    // A key row's buttons are small ones: the menu button matches their height.
    let restore = ui.spacing().button_padding;
    if look != MenuLook::Normal {
        ui.spacing_mut().button_padding.y = 0.0;
    }
    let button = match look {
        MenuLook::Row => super::widgets::row_action(ui, tr("use.menu")),
        MenuLook::Normal | MenuLook::Small => egui::Button::new(tr("use.menu")),
    };
    let (response, _) = egui::containers::menu::MenuButton::from_button(button).ui(ui, |ui| {
        let mut open = |ui: &mut egui::Ui, mut req: Request| {
            req.gateway = gateway;
            cmds.push(ExportsCmd::Open(Box::new(req)).into());
            ui.close();
        };
        for t in Target::ALL {
            if matches!(t, Target::CherryStudio | Target::NewApiChannel | Target::Env) {
                ui.separator();
            }
            if t == Target::CcSwitch {
                ui.menu_button("CC Switch", |ui| {
                    for app in CcApp::ALL {
                        if ui.button(app_label(app)).clicked() {
                            let mut req = Request::new(key, t);
                            req.app = app;
                            open(ui, req);
                        }
                    }
                });
            } else if ui.button(target_label(t)).clicked() {
                open(ui, Request::new(key, t));
            }
        }
    });
    ui.spacing_mut().button_padding = restore;
    response.on_hover_text(tr("use.menu_hint"));
}

/// The strip after a write: what was written, Undo, Dismiss.
pub fn status_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    let Some(last) = &state.exports.last_write else { return };
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            let files: Vec<String> = last.applied.files.iter().map(|w| w.path.display().to_string()).collect();
            let backups: Vec<String> = last
                .applied
                .files
                .iter()
                .map(|w| match &w.backup {
                    Some(b) => fill(tr("use.backup_of"), &[("backup", &b.display())]),
                    None => fill(tr("use.created_file"), &[("path", &w.path.display())]),
                })
                .collect();
            ui.label(fill(tr("use.written"), &[("target", &target_label(last.target)), ("files", &files.join(", "))]))
                .on_hover_text(backups.join("\n"));
            if ui.add_enabled(!state.exports.undoing, egui::Button::new(tr("use.undo"))).clicked() {
                cmds.push(ExportsCmd::Undo.into());
            }
            if state.exports.undoing {
                ui.spinner();
            }
            if ui.small_button(tr("common.dismiss")).clicked() {
                cmds.push(ExportsCmd::Dismiss.into());
            }
        });
    });
}

/// The dialog's own edits (text being typed) before they become a request.
#[derive(Debug, Default)]
pub struct UseInDialog {
    /// The dialog these texts belong to.
    synced: Option<(KeyRef, Target)>,
    project_text: String,
    group_text: String,
}

impl UseInDialog {
    /// Draws the dialog when one is open.
    pub fn ui(&mut self, ctx: &egui::Context, state: &AppState, cmds: &mut Vec<Command>) {
        let Some(d) = &state.exports.dialog else {
            self.synced = None;
            return;
        };
        let req = &d.request;
        if self.synced != Some((req.key, req.target)) {
            self.synced = Some((req.key, req.target));
            self.project_text = req.project_dir.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            self.group_text = req.channel_group.clone();
        }
        // Keys first: Enter in a text field only ends the edit.
        let typing = ctx.text_edit_focused();
        let (esc, enter) = ctx.input(|i| (i.key_pressed(egui::Key::Escape), i.key_pressed(egui::Key::Enter)));
        let mut open = true;
        let title = fill(tr("use.title"), &[("target", &target_label(req.target))]);
        egui::Window::new(title)
            .id(egui::Id::unique("use_in_dialog"))
            .collapsible(false)
            .open(&mut open)
            .default_width(960.0)
            .default_height(560.0)
            .show(ctx, |ui| self.form_ui(ui, d, state, cmds));
        if !open || esc {
            cmds.push(ExportsCmd::Close.into());
        } else if enter && !typing && d.can_apply() {
            cmds.push(ExportsCmd::Apply.into());
        }
    }

    fn form_ui(&mut self, ui: &mut egui::Ui, d: &Dialog, state: &AppState, cmds: &mut Vec<Command>) {
        let req = &d.request;
        let change = |cmds: &mut Vec<Command>, f: &dyn Fn(&mut Request)| {
            let mut r = req.clone();
            f(&mut r);
            if r != *req {
                cmds.push(ExportsCmd::Change(Box::new(r)).into());
            }
        };
        let shown: Option<&Planned> = d.preview.value();
        let account_name = state.sites.account(req.key.account).map(|a| a.site.name.clone()).unwrap_or_default();
        ui.weak(shown.map(|p| p.source_label.clone()).unwrap_or(account_name));
        egui::Grid::new("use_in_form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            ui.label("");
            let mut gateway = req.gateway;
            if ui.checkbox(&mut gateway, tr("use.gateway")).on_hover_text(tr("use.gateway_hint")).changed() {
                change(cmds, &move |r| r.gateway = gateway);
            }
            ui.end_row();
            let l = ui.label(tr("use.model"));
            let models = shown.map(|p| p.models.as_slice()).unwrap_or_default();
            let none = tr("use.model_keep");
            egui::ComboBox::from_id_salt("use_in_model")
                .selected_text(req.model.clone().unwrap_or_else(|| none.to_string()))
                .width(320.0)
                .show_ui(ui, |ui| {
                    if ui.selectable_label(req.model.is_none(), none).clicked() {
                        change(cmds, &|r| r.model = None);
                    }
                    for m in models {
                        if ui.selectable_label(req.model.as_deref() == Some(m), m).clicked() {
                            let m = m.clone();
                            change(cmds, &move |r| r.model = Some(m.clone()));
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            if req.target.writes_files() {
                ui.label(tr("use.scope"));
                ui.horizontal(|ui| {
                    if ui.radio(req.scope == Scope::User, tr("use.scope_user")).clicked() {
                        change(cmds, &|r| r.scope = Scope::User);
                    }
                    if ui.radio(req.scope == Scope::Project, tr("use.scope_project")).clicked() {
                        change(cmds, &|r| r.scope = Scope::Project);
                    }
                });
                ui.end_row();
                if req.scope == Scope::Project {
                    let l = ui.label(tr("use.project_dir"));
                    let r = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.project_text)
                                .hint_text(tr("use.project_dir_hint"))
                                .desired_width(420.0),
                        )
                        .labelled_by(l.id);
                    if r.lost_focus() {
                        let p = self.project_text.trim().to_string();
                        change(cmds, &move |r| r.project_dir = (!p.is_empty()).then(|| p.clone().into()));
                    }
                    ui.end_row();
                }
            }
            if req.target == Target::CcSwitch {
                let l = ui.label(tr("use.cc_app"));
                egui::ComboBox::from_id_salt("use_in_app")
                    .selected_text(app_label(req.app))
                    .show_ui(ui, |ui| {
                        for app in CcApp::ALL {
                            if ui.selectable_label(req.app == app, app_label(app)).clicked() {
                                change(cmds, &move |r| r.app = app);
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();
            }
            if req.target == Target::NewApiChannel {
                let l = ui.label(tr("use.channel_admin"));
                let accounts = state.sites.accounts.value().map(Vec::as_slice).unwrap_or_default();
                let name = |id| {
                    accounts
                        .iter()
                        .find(|a| a.id == id)
                        .map(|a| format!("{} · {}", a.site.name, a.username))
                        .unwrap_or_default()
                };
                egui::ComboBox::from_id_salt("use_in_admin")
                    .selected_text(req.admin_account.map(name).unwrap_or_else(|| tr("use.channel_pick").into()))
                    .width(320.0)
                    .show_ui(ui, |ui| {
                        for a in accounts.iter().filter(|a| a.id != req.key.account) {
                            if ui.selectable_label(req.admin_account == Some(a.id), name(a.id)).clicked() {
                                let id = a.id;
                                change(cmds, &move |r| r.admin_account = Some(id));
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.end_row();
                let l = ui.label(tr("use.channel_group"));
                let r = ui.text_edit_singleline(&mut self.group_text).labelled_by(l.id);
                if r.lost_focus() {
                    let g = self.group_text.trim().to_string();
                    change(cmds, &move |r| r.channel_group = g.clone());
                }
                ui.end_row();
            }
        });
        ui.separator();
        if d.preview.is_loading() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(tr("use.previewing"));
            });
        }
        if let Some(e) = d.preview.error() {
            ui.colored_label(ui.visuals().error_fg_color, fill(tr("use.preview_failed"), &[("e", &e)]));
        }
        if let Some(p) = shown {
            for w in &p.warnings {
                ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {w}"));
            }
            outcome_ui(ui, &p.outcome);
        }
        if let Some(e) = &d.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        ui.separator();
        ui.horizontal(|ui| {
            let apply = match shown.map(|p| &p.outcome) {
                Some(Outcome::Link { .. }) => tr("use.open_link"),
                Some(Outcome::Snippet { .. }) => tr("use.copy"),
                Some(Outcome::Channel { .. }) => tr("use.import"),
                _ => tr("use.apply"),
            };
            if ui.add_enabled(d.can_apply(), egui::Button::new(apply)).on_hover_text(tr("use.apply_hint")).clicked() {
                cmds.push(ExportsCmd::Apply.into());
            }
            if let Some(Outcome::Link { url }) = shown.map(|p| &p.outcome)
                && ui.button(tr("use.copy_link")).clicked()
            {
                ui.ctx().copy_text(url.clone());
            }
            if ui.button(tr("detail.cancel")).clicked() {
                cmds.push(ExportsCmd::Close.into());
            }
            if d.applying {
                ui.spinner();
            }
        });
    }
}

/// What applying would do: the diff per file, the link, the snippet, the channel.
fn outcome_ui(ui: &mut egui::Ui, outcome: &Outcome) {
    match outcome {
        Outcome::Files { files, .. } => {
            if files.is_empty() {
                ui.label(tr("use.up_to_date"));
            }
            let height = (420.0 / files.len().max(1) as f32).max(140.0);
            for f in files {
                let mut head = egui::RichText::new(f.path.display().to_string()).strong();
                if f.created {
                    head = egui::RichText::new(format!("{}  ({})", f.path.display(), tr("use.new_file"))).strong();
                }
                ui.label(head);
                ui.horizontal(|ui| {
                    let half = (ui.available_width() - ui.spacing().item_spacing.x) / 2.0;
                    ui.add_sized([half, 16.0], egui::Label::new(egui::RichText::new(tr("use.before")).weak()));
                    ui.add_sized([half, 16.0], egui::Label::new(egui::RichText::new(tr("use.after")).weak()));
                });
                super::diff_view::side_by_side_ui(ui, &f.path.display().to_string(), &f.rows, height);
            }
        }
        Outcome::Link { url } => {
            ui.label(tr("use.link_hint"));
            let short: String = url.chars().take(96).collect();
            let short = if short.len() < url.len() { format!("{short}…") } else { short };
            ui.monospace(short).on_hover_text(tr("use.link_holds_key"));
        }
        Outcome::Snippet { shown, .. } => {
            ui.label(tr("use.snippet_hint"));
            egui::ScrollArea::vertical().max_height(300.0).show(ui, |ui| {
                ui.add(egui::Label::new(egui::RichText::new(shown).monospace()).wrap());
            });
        }
        Outcome::Channel { site, outcome } => {
            let text = match outcome {
                crate::exports::channel::ChannelOutcome::Created { name } => {
                    fill(tr("use.channel_would_create"), &[("name", name), ("site", site)])
                }
                crate::exports::channel::ChannelOutcome::Updated { id, name } => {
                    fill(tr("use.channel_would_update"), &[("name", name), ("site", site), ("id", id)])
                }
            };
            ui.label(text);
        }
    }
}
