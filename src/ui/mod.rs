//! Views. They read `&AppState` and push `Command`s; they never do I/O.

pub mod add_account;
pub mod alerts_view;
pub mod backup;
pub mod checkin_view;
pub mod diff_view;
pub mod fit;
pub mod gateway;
pub mod keys_view;
pub mod logs;
pub mod logs_charts;
pub mod logs_table;
pub mod network_view;
pub mod notify_view;
pub mod pricing;
pub mod recovery;
pub mod settings;
pub mod sites;
pub mod sites_detail;
pub mod sites_rows;
pub mod sync_view;
pub mod use_in;
pub mod widgets;

use crate::app::command::{ShellCmd, SitesCmd};
use crate::app::i18n::{self, tr};
use crate::app::{AppState, Command, Panel};

/// View state of every panel.
#[derive(Default)]
pub struct Panels {
    sites: sites::SitesPanel,
    pricing: pricing::PricingPanel,
    logs: logs::LogsPanel,
    gateway: gateway::GatewayPanel,
    settings: settings::SettingsPanel,
    use_in: use_in::UseInDialog,
}

impl crate::app::View for Panels {
    /// Draws the whole window: top bar, navigation, notices and the current panel.
    fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        // Keyboard: the shortcuts of the command table (Ctrl+1..5 panels, F5 refresh all).
        cmds.extend(crate::app::command::pressed(ui.ctx()));
        egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, state, cmds));
        egui::Panel::left("nav").resizable(false).exact_size(150.0).show(ui, |ui| nav_ui(ui, state, cmds));
        egui::CentralPanel::default().show(ui, |ui| {
            notices_ui(ui, state, cmds);
            use_in::status_ui(ui, state, cmds);
            match state.shell.panel {
                Panel::Sites => self.sites.ui(ui, state, cmds),
                Panel::Pricing => self.pricing.ui(ui, state, cmds),
                Panel::Logs => self.logs.ui(ui, state, cmds),
                Panel::Gateway => self.gateway.ui(ui, state, cmds),
                Panel::Settings => self.settings.ui(ui, state, cmds),
            }
        });
        self.use_in.ui(ui.ctx(), state, cmds);
    }
}

fn top_bar_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("API Hub Desk");
        ui.separator();
        let busy = state.sites.accounts.is_loading() || state.sites.refresh.is_some();
        if ui
            .add_enabled(!busy, egui::Button::new(tr("top.refresh_all")))
            .on_hover_text(tr("top.refresh_all_hint"))
            .clicked()
        {
            cmds.push(Command::Sites(SitesCmd::RefreshAll));
        }
        if let Some(p) = &state.sites.refresh {
            let fraction = if p.total == 0 { 0.0 } else { p.done as f32 / p.total as f32 };
            let text = i18n::fill(tr("top.progress"), &[("done", &p.done), ("total", &p.total), ("failed", &p.failed)]);
            ui.add(egui::ProgressBar::new(fraction).desired_width(220.0).text(text));
            if p.cancelling {
                ui.label(tr("top.cancelling"));
            } else if ui.button(tr("top.cancel")).clicked() {
                cmds.push(Command::Sites(SitesCmd::CancelRefresh));
            }
        } else if state.sites.accounts.is_loading() {
            ui.spinner();
        }
        if let Some(status) = &state.shell.status {
            ui.separator();
            ui.label(widgets::severity_text(&status.text, status.severity, ui));
        }
    });
}

fn nav_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    ui.add_space(8.0);
    for panel in Panel::ALL {
        let selected = state.shell.panel == panel;
        let text = egui::RichText::new(tr(panel.label_key())).size(16.0);
        let resp = ui.add_sized([ui.available_width(), 32.0], egui::Button::selectable(selected, text));
        if resp.clicked() && !selected {
            cmds.push(Command::Shell(ShellCmd::ShowPanel(panel)));
        }
    }
}

fn notices_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    for (i, notice) in state.shell.notices.iter().enumerate() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(widgets::severity_text(&notice.text, notice.severity, ui));
                if ui.small_button(tr("common.dismiss")).clicked() {
                    cmds.push(Command::Shell(ShellCmd::DismissNotice(i)));
                }
            });
        });
    }
}
