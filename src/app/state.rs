//! `AppState`: everything the views read. Only `App::apply` and job completion
//! change it.

use std::path::PathBuf;

use super::loadable::Loadable;
use crate::domain::Account;
use crate::store::{ActivityEntry, DataDirSource, KeyLocation, Level};
use crate::ui::Panel;
use crate::ui::fonts::FontStatus;
use crate::ui::i18n::Lang;
use crate::ui::theme::ThemePref;

/// How bad a status line or notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Normal.
    Info,
    /// Something to look at.
    Warning,
    /// Something failed.
    Error,
}

/// The line in the top bar.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    /// Already translated text.
    pub text: String,
    /// Severity.
    pub severity: Severity,
}

/// Facts about this installation, shown in Settings.
#[derive(Debug, Clone)]
pub struct EnvInfo {
    /// Data directory in use.
    pub data_dir: PathBuf,
    /// Why that directory.
    pub data_dir_source: DataDirSource,
    /// Where the secret key lives.
    pub key_location: KeyLocation,
    /// App version.
    pub version: &'static str,
    /// Git commit of the build.
    pub commit: &'static str,
}

/// Everything the views draw from.
pub struct AppState {
    /// Current panel.
    pub panel: Panel,
    /// UI language.
    pub lang: Lang,
    /// Theme choice.
    pub theme: ThemePref,
    /// Accounts from the store.
    pub accounts: Loadable<Vec<Account>>,
    /// Activity log entries (newest first).
    pub activity: Loadable<Vec<ActivityEntry>>,
    /// Minimum level shown in the activity log.
    pub activity_level: Level,
    /// Every account's normalised pricing (filled by the engine; read by the Pricing panel).
    pub pricing: Loadable<crate::domain::pricing::PricingBook>,
    /// Top-bar status.
    pub status: Option<StatusLine>,
    /// Start-up notices (e.g. a damaged database was moved aside).
    pub notices: Vec<StatusLine>,
    /// The Chinese font.
    pub font: FontStatus,
    /// Installation facts.
    pub env: EnvInfo,
}

impl AppState {
    /// A fresh state for an installation.
    pub fn new(env: EnvInfo, lang: Lang, theme: ThemePref) -> Self {
        AppState {
            panel: Panel::Sites,
            lang,
            theme,
            accounts: Loadable::default(),
            activity: Loadable::default(),
            activity_level: Level::Info,
            pricing: Loadable::default(),
            status: None,
            notices: Vec::new(),
            font: FontStatus::Loading,
            env,
        }
    }
}
