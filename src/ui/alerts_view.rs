//! Alerts in the UI: the translated line of an alert, the table badge, and the global
//! alert settings in the Settings panel.

use crate::app::alerts::alert_text;
use crate::app::command::AlertsCmd;
use crate::app::i18n::tr;
use crate::app::{AppState, Command, Severity};
use crate::domain::alerts::{Alert, AlertLevel, AlertSettings, parse_threshold};

fn severity(level: AlertLevel) -> Severity {
    match level {
        AlertLevel::Warning => Severity::Warning,
        AlertLevel::Error => Severity::Error,
    }
}

/// The table badge: ⚠ and the count, coloured by the worst alert; the tooltip lists them.
pub fn badge_ui(ui: &mut egui::Ui, alerts: &[Alert]) {
    let Some(worst) = alerts.iter().map(Alert::level).max() else { return };
    let text = if alerts.len() > 1 { format!("⚠{}", alerts.len()) } else { "⚠".to_string() };
    // The tooltip's lines are made only while it shows.
    ui.label(crate::ui::widgets::severity_text(&text, severity(worst), ui)).on_hover_ui(|ui| {
        for a in alerts {
            ui.label(format!("• {}", alert_text(a)));
        }
    });
}

/// The alert settings section's edit buffers.
#[derive(Default)]
pub struct AlertsSection {
    /// The settings the buffers were loaded from.
    loaded: Option<AlertSettings>,
    threshold: String,
}

impl AlertsSection {
    /// Draws the section; a change pushes `Command::Alerts(AlertsCmd::SetSettings)`.
    pub fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>) {
        if self.loaded.as_ref() != Some(&state.settings.alerts) {
            self.threshold = state.settings.alerts.low_balance.map(|v| v.to_string()).unwrap_or_default();
            self.loaded = Some(state.settings.alerts.clone());
        }
        let mut s = state.settings.alerts.clone();
        egui::Grid::new("alert_settings").num_columns(2).spacing([16.0, 8.0]).show(ui, |ui| {
            let l = ui.label(tr("alerts.global_threshold"));
            ui.horizontal(|ui| {
                let r = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.threshold).hint_text(tr("alerts.off")).desired_width(90.0),
                    )
                    .labelled_by(l.id);
                let valid = self.threshold.trim().is_empty() || parse_threshold(&self.threshold).is_some();
                if r.changed() && valid {
                    s.low_balance = parse_threshold(&self.threshold);
                }
                if valid {
                    ui.weak(tr("alerts.threshold_hint"));
                } else {
                    ui.colored_label(ui.visuals().error_fg_color, tr("alerts.bad_number"));
                }
            });
            ui.end_row();
            let l = ui.label(tr("alerts.failures"));
            ui.add(egui::DragValue::new(&mut s.failures).range(0..=100).speed(0.1)).labelled_by(l.id);
            ui.end_row();
            let l = ui.label(tr("alerts.key_days"));
            ui.add(egui::DragValue::new(&mut s.key_days).range(0..=365).speed(0.2)).labelled_by(l.id);
            ui.end_row();
            ui.label(tr("alerts.desktop"));
            ui.checkbox(&mut s.desktop, tr("alerts.desktop_hint"));
            ui.end_row();
        });
        if s != state.settings.alerts {
            // Keep the typed text while it is being edited.
            self.loaded = Some(s.clone());
            cmds.push(Command::Alerts(AlertsCmd::SetSettings(s)));
        }
    }
}
