//! `AppState`: everything the views read. Only `App::apply` and job completion
//! change it.

use std::collections::HashMap;
use std::path::PathBuf;

use super::loadable::Loadable;
use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};
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

/// Where adding an account stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AddStatus {
    /// Nothing asked.
    #[default]
    Idle,
    /// Verifying and saving.
    Working,
    /// Saved: "alice — $7.30".
    Added {
        /// The new account's id.
        id: crate::domain::AccountId,
        /// Who and the balance.
        summary: String,
    },
    /// Not saved, with the reason.
    Failed(String),
}

/// Progress of a running refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshProgress {
    /// Accounts finished.
    pub done: usize,
    /// Accounts in the run.
    pub total: usize,
    /// Of those finished, how many failed.
    pub failed: usize,
    /// Cancel was pressed.
    pub cancelling: bool,
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
    /// Each account's merged remote state (seeded from the store, updated live).
    pub states: HashMap<AccountId, AccountState>,
    /// The add-account dialog's job.
    pub add: AddStatus,
    /// The running refresh, if any.
    pub refresh: Option<RefreshProgress>,
    /// Activity log entries (newest first).
    pub activity: Loadable<Vec<ActivityEntry>>,
    /// Minimum level shown in the activity log.
    pub activity_level: Level,
    /// Top-bar status.
    pub status: Option<StatusLine>,
    /// Start-up notices (e.g. a damaged database was moved aside).
    pub notices: Vec<StatusLine>,
    /// The Chinese font.
    pub font: FontStatus,
    /// Installation facts.
    pub env: EnvInfo,
    /// Usage logs: filter, table window, statistics, charts, sync.
    pub usage: super::usage_logs::UsageLogsState,
}

impl AppState {
    /// A fresh state for an installation.
    pub fn new(env: EnvInfo, lang: Lang, theme: ThemePref) -> Self {
        AppState {
            panel: Panel::Sites,
            lang,
            theme,
            accounts: Loadable::default(),
            states: HashMap::new(),
            refresh: None,
            add: AddStatus::Idle,
            activity: Loadable::default(),
            activity_level: Level::Info,
            status: None,
            notices: Vec::new(),
            font: FontStatus::Loading,
            env,
            usage: Default::default(),
        }
    }
}
