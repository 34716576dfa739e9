//! 站点 Sites: the accounts table (the full workbench comes with the relay core).

use egui_extras::{Column, TableBuilder};

use crate::app::{AppState, Command};
use crate::ui::add_account::AddAccountDialog;
use crate::ui::i18n::{fill, tr};
use crate::ui::widgets;

/// View state of the Sites panel.
#[derive(Default)]
pub struct SitesPanel {
    search: String,
    add: AddAccountDialog,
}

impl SitesPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        self.add.ui(ui.ctx(), state, cmds);
        if ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::N)) {
            self.add.open(cmds);
        }
        ui.horizontal(|ui| {
            ui.heading(tr("nav.sites"));
            if ui.button(tr("add.open")).on_hover_text("Ctrl+N").clicked() {
                self.add.open(cmds);
            }
            if state.accounts.is_loading() {
                ui.spinner();
            }
            if let Some(err) = state.accounts.error() {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
        });
        let Some(accounts) = state.accounts.value() else {
            if !state.accounts.is_loading() {
                widgets::empty_state_ui(ui, tr("sites.empty.title"), tr("sites.empty.hint"));
            }
            return;
        };
        if accounts.is_empty() {
            widgets::empty_state_ui(ui, tr("sites.empty.title"), tr("sites.empty.hint"));
            return;
        }
        ui.horizontal(|ui| {
            let label = ui.label(tr("common.search"));
            ui.text_edit_singleline(&mut self.search).labelled_by(label.id);
            if ui.button(tr("sites.reload")).clicked() {
                cmds.push(Command::ReloadAccounts);
            }
        });
        let needle = self.search.to_lowercase();
        let rows: Vec<_> = accounts
            .iter()
            .filter(|a| {
                needle.is_empty()
                    || a.site.name.to_lowercase().contains(&needle)
                    || a.site.url.to_lowercase().contains(&needle)
                    || a.username.to_lowercase().contains(&needle)
            })
            .collect();
        let now = crate::store::now_unix();
        let busy = state.refresh.is_some();
        TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .column(Column::auto().at_least(150.0))
            .column(Column::auto().at_least(90.0))
            .column(Column::auto().at_least(70.0))
            .column(Column::auto().at_least(90.0))
            .column(Column::auto().at_least(90.0))
            .column(Column::auto().at_least(40.0))
            .column(Column::auto().at_least(50.0))
            .column(Column::auto().at_least(80.0))
            .column(Column::remainder().at_least(160.0))
            .header(22.0, |mut h| {
                for key in [
                    "sites.col.site",
                    "sites.col.account",
                    "sites.col.kind",
                    "sites.col.balance",
                    "sites.col.today",
                    "sites.col.keys",
                    "sites.col.models",
                    "sites.col.updated",
                    "sites.col.status",
                ] {
                    h.col(|ui| {
                        ui.strong(tr(key));
                    });
                }
            })
            .body(|body| {
                body.rows(24.0, rows.len(), |mut row| {
                    let a = rows[row.index()];
                    let st = state.states.get(&a.id);
                    let snap = st.and_then(|s| s.snapshot.as_ref());
                    row.col(|ui| {
                        let color = match st {
                            Some(s) if s.last_error.is_some() => ui.visuals().error_fg_color,
                            Some(s) if s.snapshot.is_some() => egui::Color32::from_rgb(60, 180, 90),
                            _ => ui.visuals().weak_text_color(),
                        };
                        ui.label(egui::RichText::new("●").color(color));
                        ui.label(&a.site.name).on_hover_text(&a.site.url);
                    });
                    row.col(|ui| {
                        let who = if a.username.is_empty() { a.user_id.clone() } else { a.username.clone() };
                        ui.label(who);
                    });
                    row.col(|ui| {
                        ui.label(a.site.kind.as_str());
                    });
                    row.col(|ui| {
                        if let Some((snap, user)) = snap.and_then(|s| s.user.value.as_ref().map(|u| (s, u))) {
                            ui.label(snap.currency.format_quota(user.quota));
                        }
                    });
                    row.col(|ui| {
                        if let Some((snap, t)) = snap.and_then(|s| s.today.value.as_ref().map(|t| (s, t))) {
                            let r = ui.label(snap.currency.format_quota(t.spend_quota));
                            if let Some(n) = t.requests {
                                r.on_hover_text(fill(tr("sites.requests"), &[("n", &n)]));
                            }
                        }
                    });
                    row.col(|ui| {
                        if let Some(k) = snap.and_then(|s| s.keys.value.as_ref()) {
                            ui.label(k.len().to_string());
                        }
                    });
                    row.col(|ui| {
                        if let Some(m) = snap.and_then(|s| s.models.value.as_ref()) {
                            ui.label(m.len().to_string());
                        }
                    });
                    row.col(|ui| {
                        match st.and_then(|s| s.last_attempt_at) {
                            Some(t) => ui.label(widgets::age_text(t, now)),
                            None => ui.weak(tr("sites.never")),
                        };
                    });
                    row.col(|ui| {
                        if ui
                            .add_enabled(!busy, egui::Button::new(tr("sites.refresh_one")).small())
                            .on_hover_text(tr("sites.refresh_one_hint"))
                            .clicked()
                        {
                            cmds.push(Command::RefreshAccounts(vec![a.id]));
                        }
                        match st.and_then(|s| s.last_error.as_ref()) {
                            Some(e) => {
                                let title = tr(&format!("error.{}", e.kind)).to_string();
                                ui.colored_label(ui.visuals().error_fg_color, format!("{title}: {}", e.message))
                                    .on_hover_text(&e.message);
                            }
                            None if snap.is_some() => {
                                ui.label(tr("sites.ok"));
                            }
                            None => {}
                        }
                    });
                });
            });
    }
}
