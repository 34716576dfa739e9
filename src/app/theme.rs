//! Applies the theme choice ([`ThemePref`], a setting) to egui.

use crate::domain::settings::ThemePref;

/// Applies the choice to a context.
pub fn apply(pref: ThemePref, ctx: &egui::Context) {
    ctx.set_theme(match pref {
        ThemePref::System => egui::ThemePreference::System,
        ThemePref::Light => egui::ThemePreference::Light,
        ThemePref::Dark => egui::ThemePreference::Dark,
    });
}
