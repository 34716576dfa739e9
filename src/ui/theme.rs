//! Light / dark / follow-system theme.

use serde::{Deserialize, Serialize};

/// The user's theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemePref {
    /// Follow the OS.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl ThemePref {
    /// All choices, for the switcher.
    pub const ALL: [ThemePref; 3] = [ThemePref::System, ThemePref::Light, ThemePref::Dark];

    /// Stable code stored in settings.
    pub fn code(self) -> &'static str {
        match self {
            ThemePref::System => "system",
            ThemePref::Light => "light",
            ThemePref::Dark => "dark",
        }
    }

    /// Inverse of [`ThemePref::code`].
    pub fn parse(s: &str) -> ThemePref {
        ThemePref::ALL.into_iter().find(|t| t.code() == s).unwrap_or_default()
    }

    /// Translation key of the label.
    pub fn label_key(self) -> &'static str {
        match self {
            ThemePref::System => "settings.theme.system",
            ThemePref::Light => "settings.theme.light",
            ThemePref::Dark => "settings.theme.dark",
        }
    }

    /// Applies the choice to a context.
    pub fn apply(self, ctx: &egui::Context) {
        ctx.set_theme(match self {
            ThemePref::System => egui::ThemePreference::System,
            ThemePref::Light => egui::ThemePreference::Light,
            ThemePref::Dark => egui::ThemePreference::Dark,
        });
    }
}
