//! Small shared widgets and formatting helpers.

use crate::app::Severity;
use crate::app::i18n::{fill, tr};

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
    use crate::domain::time::{Age, age};
    match age(then_unix, now_unix) {
        Age::JustNow => tr("age.just_now").to_string(),
        Age::Minutes(n) => fill(tr("age.minutes"), &[("n", &n)]),
        Age::Hours(n) => fill(tr("age.hours"), &[("n", &n)]),
        Age::Days(n) => fill(tr("age.days"), &[("n", &n)]),
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
    use crate::app::i18n::{Lang, set_lang};

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

/// A count in a short form for narrow columns: `950`, `12.3k`, `4.56M`, `1.2B`.
pub fn compact_count(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    match a {
        a if a < 1_000.0 => n.to_string(),
        a if a < 1_000_000.0 => format!("{sign}{:.1}k", a / 1e3),
        a if a < 1_000_000_000.0 => format!("{sign}{:.2}M", a / 1e6),
        a => format!("{sign}{:.2}B", a / 1e9),
    }
}

#[cfg(test)]
mod compact_tests {
    use super::compact_count;

    #[test]
    fn counts_are_short() {
        assert_eq!(compact_count(0), "0");
        assert_eq!(compact_count(950), "950");
        assert_eq!(compact_count(12_345), "12.3k");
        assert_eq!(compact_count(4_560_000), "4.56M");
        assert_eq!(compact_count(1_200_000_000), "1.20B");
        assert_eq!(compact_count(-2_500), "-2.5k");
    }
}
