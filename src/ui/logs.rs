//! 日志 Logs: usage logs and the app's own activity log.

use egui_extras::{Column, TableBuilder};

use crate::app::{AppState, Command};
use crate::store::Level;
use crate::ui::i18n::tr;
use crate::ui::widgets;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Tab {
    #[default]
    Usage,
    Activity,
}

/// View state of the Logs panel.
#[derive(Default)]
pub struct LogsPanel {
    tab: Tab,
}

impl LogsPanel {
    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            ui.heading(tr("nav.logs"));
            ui.separator();
            ui.selectable_value(&mut self.tab, Tab::Usage, tr("logs.tab.usage"));
            ui.selectable_value(&mut self.tab, Tab::Activity, tr("logs.tab.activity"));
        });
        ui.separator();
        match self.tab {
            Tab::Usage => widgets::empty_state_ui(ui, tr("logs.usage.empty.title"), tr("logs.usage.empty.hint")),
            Tab::Activity => activity_ui(ui, state, cmds),
        }
    }
}

fn level_key(level: Level) -> &'static str {
    match level {
        Level::Debug => "logs.level.debug",
        Level::Info => "logs.level.info",
        Level::Warn => "logs.level.warn",
        Level::Error => "logs.level.error",
    }
}

fn activity_ui(ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.label(tr("logs.min_level"));
        for level in [Level::Info, Level::Warn, Level::Error] {
            if ui.selectable_label(state.activity_level == level, tr(level_key(level))).clicked() {
                cmds.push(Command::ReloadActivity(level));
            }
        }
        if ui.button(tr("logs.reload")).clicked() {
            cmds.push(Command::ReloadActivity(state.activity_level));
        }
        if state.activity.is_loading() {
            ui.spinner();
        }
    });
    let entries = state.activity.value().map(Vec::as_slice).unwrap_or_default();
    if entries.is_empty() {
        widgets::empty_state_ui(ui, tr("logs.activity.empty.title"), tr("logs.activity.empty.hint"));
        return;
    }
    TableBuilder::new(ui)
        .striped(true)
        .column(Column::auto().at_least(150.0))
        .column(Column::auto().at_least(60.0))
        .column(Column::auto().at_least(100.0))
        .column(Column::remainder())
        .header(22.0, |mut h| {
            for key in ["logs.col.time", "logs.col.level", "logs.col.source", "logs.col.message"] {
                h.col(|ui| {
                    ui.strong(tr(key));
                });
            }
        })
        .body(|body| {
            body.rows(20.0, entries.len(), |mut row| {
                let e = &entries[row.index()];
                row.col(|ui| {
                    let t = chrono::DateTime::from_timestamp(e.ts, 0)
                        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    ui.label(t);
                });
                row.col(|ui| {
                    ui.label(tr(level_key(e.level)));
                });
                row.col(|ui| {
                    ui.label(&e.target);
                });
                row.col(|ui| {
                    ui.label(&e.message);
                });
            });
        });
}
