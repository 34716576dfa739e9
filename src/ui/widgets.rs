//! Small shared widgets and formatting helpers.

use crate::app::Severity;
use crate::ui::i18n::{fill, tr};

/// Coloured text for a severity.
pub fn severity_text(text: &str, severity: Severity, ui: &egui::Ui) -> egui::RichText {
    let visuals = ui.visuals();
    let color = match severity {
        Severity::Info => visuals.text_color(),
        Severity::Warning => visuals.warn_fg_color,
        Severity::Error => visuals.error_fg_color,
    };
    egui::RichText::new(text).color(color)
}

/// "just now", "3 min ago", "2 h ago", "5 d ago" in the current language.
pub fn age_text(then_unix: i64, now_unix: i64) -> String {
    let secs = (now_unix - then_unix).max(0);
    match secs {
        0..60 => tr("age.just_now").to_string(),
        60..3600 => fill(tr("age.minutes"), &[("n", &(secs / 60))]),
        3600..86400 => fill(tr("age.hours"), &[("n", &(secs / 3600))]),
        _ => fill(tr("age.days"), &[("n", &(secs / 86400))]),
    }
}

/// A centred empty-state message with a title and a hint.
pub fn empty_state_ui(ui: &mut egui::Ui, title: &str, hint: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(ui.available_height() * 0.25);
        ui.heading(title);
        ui.add_space(8.0);
        ui.label(egui::RichText::new(hint).weak());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::{Lang, set_lang};

    #[test]
    fn ages_read_naturally() {
        set_lang(Lang::En);
        assert_eq!(age_text(100, 110), "just now");
        assert_eq!(age_text(0, 180), "3 min ago");
        assert_eq!(age_text(0, 7200), "2 h ago");
        assert_eq!(age_text(0, 86400 * 5), "5 d ago");
        assert_eq!(age_text(10, 0), "just now", "clock skew is not negative");
    }
}
