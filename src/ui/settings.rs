//! 设置 Settings: language, theme, storage, fonts, network, backup, about.

use crate::app::command::ShellCmd;
use crate::app::fonts::FontStatus;
use crate::app::i18n::{Lang, fill, tr};
use crate::app::{AppState, Command};
use crate::domain::settings::ThemePref;
use crate::store::{DataDirSource, KeyLocation};

/// View state of the Settings panel.
#[derive(Default)]
pub struct SettingsPanel {
    backup: crate::ui::backup::BackupSection,
    alerts: crate::ui::alerts_view::AlertsSection,
    network: crate::ui::network_view::NetworkSection,
}

impl SettingsPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.heading(tr("nav.settings"));
        egui::ScrollArea::vertical().show(ui, |ui| {
            section(ui, tr("settings.appearance"), |ui| {
                egui::Grid::new("appearance").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
                    ui.label(tr("settings.language"));
                    ui.horizontal(|ui| {
                        for lang in Lang::ALL {
                            if ui.selectable_label(state.shell.lang == lang, lang.native_name()).clicked() {
                                cmds.push(Command::Shell(ShellCmd::SetLanguage(lang)));
                            }
                        }
                    });
                    ui.end_row();
                    ui.label(tr("settings.theme"));
                    ui.horizontal(|ui| {
                        for theme in ThemePref::ALL {
                            if ui.selectable_label(state.shell.theme == theme, tr(theme.label_key())).clicked() {
                                cmds.push(Command::Shell(ShellCmd::SetTheme(theme)));
                            }
                        }
                    });
                    ui.end_row();
                    ui.label(tr("settings.font"));
                    ui.label(match &state.shell.font {
                        FontStatus::Loading => tr("settings.font.loading").to_string(),
                        FontStatus::Loaded(face) => fill(
                            tr("settings.font.loaded"),
                            &[("family", &face.family), ("path", &face.path.display())],
                        ),
                        FontStatus::EmbeddedOnly => tr("settings.font.missing").to_string(),
                    });
                    ui.end_row();
                });
            });
            section(ui, tr("settings.storage"), |ui| {
                egui::Grid::new("storage").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
                    ui.label(tr("settings.data_dir"));
                    ui.horizontal(|ui| {
                        ui.monospace(state.shell.env.data_dir.display().to_string());
                        ui.label(egui::RichText::new(tr(source_key(state.shell.env.data_dir_source))).weak());
                    });
                    ui.end_row();
                    ui.label(tr("settings.secrets"));
                    ui.label(match &state.shell.env.key_location {
                        KeyLocation::Keychain => tr("settings.secrets.keychain").to_string(),
                        KeyLocation::KeyFile(p) => fill(tr("settings.secrets.keyfile"), &[("path", &p.display())]),
                    });
                    ui.end_row();
                });
            });
            section(ui, tr("checkin.auto_title"), |ui| crate::ui::checkin_view::auto_settings_ui(ui, state, cmds));
            section(ui, tr("settings.logs"), |ui| {
                ui.horizontal(|ui| crate::ui::logs::history_days_ui(ui, "settings_history_days", state, cmds));
            });
            section(ui, tr("settings.alerts"), |ui| self.alerts.ui(ui, state, cmds));
            section(ui, tr("settings.network"), |ui| self.network.ui(ui, state, cmds));
            section(ui, tr("settings.backup"), |ui| {
                self.backup.ui(ui, state, cmds);
            });
            section(ui, tr("settings.about"), |ui| {
                ui.label(fill(
                    tr("settings.version"),
                    &[("version", &state.shell.env.version), ("commit", &state.shell.env.commit)],
                ));
            });
        });
    }
}

fn source_key(source: DataDirSource) -> &'static str {
    match source {
        DataDirSource::CommandLine => "settings.data_dir.cli",
        DataDirSource::Portable => "settings.data_dir.portable",
        DataDirSource::Platform => "settings.data_dir.platform",
    }
}

fn section(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(8.0);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.strong(title);
        ui.add_space(4.0);
        body(ui);
    });
}
