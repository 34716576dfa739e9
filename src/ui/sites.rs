//! 站点 Sites: the accounts table (the full workbench comes with the relay core).

use egui_extras::{Column, TableBuilder};

use crate::app::{AppState, Command};
use crate::ui::i18n::tr;
use crate::ui::widgets;

/// View state of the Sites panel.
#[derive(Default)]
pub struct SitesPanel {
    search: String,
}

impl SitesPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading(tr("nav.sites"));
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
        TableBuilder::new(ui)
            .striped(true)
            .column(Column::auto().at_least(160.0))
            .column(Column::auto().at_least(200.0))
            .column(Column::auto().at_least(80.0))
            .column(Column::remainder())
            .header(22.0, |mut h| {
                for key in ["sites.col.site", "sites.col.url", "sites.col.kind", "sites.col.account"] {
                    h.col(|ui| {
                        ui.strong(tr(key));
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, rows.len(), |mut row| {
                    let a = rows[row.index()];
                    row.col(|ui| {
                        ui.label(&a.site.name);
                    });
                    row.col(|ui| {
                        ui.label(&a.site.url);
                    });
                    row.col(|ui| {
                        ui.label(a.site.kind.as_str());
                    });
                    row.col(|ui| {
                        let who = if a.username.is_empty() { a.user_id.clone() } else { a.username.clone() };
                        ui.label(who);
                    });
                });
            });
    }
}
