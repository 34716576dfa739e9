//! 价格对比 Pricing comparison.

use crate::app::{AppState, Command};
use crate::ui::i18n::tr;
use crate::ui::widgets;

/// View state of the Pricing panel.
#[derive(Default)]
pub struct PricingPanel {}

impl PricingPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.heading(tr("nav.pricing"));
        let has_accounts = state.accounts.value().is_some_and(|a| !a.is_empty());
        if has_accounts {
            widgets::empty_state_ui(ui, tr("pricing.empty.title"), tr("pricing.empty.hint_refresh"));
            ui.vertical_centered(|ui| {
                if ui.button(tr("top.refresh_all")).clicked() {
                    cmds.push(Command::RefreshAll);
                }
            });
        } else {
            widgets::empty_state_ui(ui, tr("pricing.empty.title"), tr("pricing.empty.hint"));
        }
    }
}
