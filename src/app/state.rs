//! `AppState`: everything the views read. Only `App::apply` and job completion
//! change it.

use std::collections::HashMap;
use std::path::PathBuf;

use super::fonts::FontStatus;
use super::loadable::Loadable;
use crate::domain::settings::{Lang, ThemePref};
use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};
use crate::store::{ActivityEntry, DataDirSource, KeyLocation, Level};

/// The four panels of the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    /// 站点 Sites.
    Sites,
    /// 价格对比 Pricing.
    Pricing,
    /// 日志 Logs.
    Logs,
    /// 设置 Settings.
    Settings,
}

impl Panel {
    /// Navigation order.
    pub const ALL: [Panel; 4] = [Panel::Sites, Panel::Pricing, Panel::Logs, Panel::Settings];

    /// Translation key of the navigation label.
    pub fn label_key(self) -> &'static str {
        match self {
            Panel::Sites => "nav.sites",
            Panel::Pricing => "nav.pricing",
            Panel::Logs => "nav.logs",
            Panel::Settings => "nav.settings",
        }
    }
}

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
    /// The site asked for a two-step code.
    Needs2fa,
    /// Not saved, with the reason.
    Failed(String),
}

/// The add dialog's site detection.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DetectStatus {
    /// Not asked.
    #[default]
    Idle,
    /// Probing the site.
    Working,
    /// Found: kind, confidence word and the evidence.
    Found {
        /// The kind.
        kind: crate::domain::SiteKind,
        /// `guessed`, `likely` or `certain`.
        confidence: &'static str,
        /// Why.
        reason: String,
    },
    /// The site could not be probed.
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
    /// The auto-refresh schedule.
    pub schedule: crate::engine::schedule::Schedule,
    /// Global alert settings (low balance, failing, key expiry, desktop notifications).
    pub alerts: crate::domain::alerts::AlertSettings,
    /// Auto refresh is paused until then because the machine looked offline.
    pub offline_until: Option<i64>,
    /// When the scheduler will next refresh all accounts (None: auto refresh off).
    pub next_auto_refresh_at: Option<i64>,
    /// Bumped whenever `accounts` or `states` change, so views can cache derived rows.
    pub data_version: u64,
    /// The add-account dialog's job.
    pub add: AddStatus,
    /// The add-account dialog's detection.
    pub detect: DetectStatus,
    /// The running refresh, if any.
    pub refresh: Option<RefreshProgress>,
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
    /// Account actions: keys, redeem, check-in (see `action_jobs.rs`).
    pub actions: super::action_jobs::ActionsState,
    /// The backup & update section (filled by `app/backup_jobs.rs`).
    pub backup: super::backup_jobs::BackupView,
    /// Usage logs: filter, table window, statistics, charts, sync.
    pub usage: super::usage_logs::UsageLogsState,
    /// Network settings (global and per site) and the last save results.
    pub network: super::network_jobs::NetworkView,
    /// "Try a model": stored last verifications and the window's run.
    pub tries: super::try_jobs::TryState,
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
            detect: DetectStatus::Idle,
            data_version: 0,
            next_auto_refresh_at: None,
            schedule: Default::default(),
            alerts: Default::default(),
            offline_until: None,
            activity: Loadable::default(),
            activity_level: Level::Info,
            pricing: Loadable::default(),
            status: None,
            notices: Vec::new(),
            font: FontStatus::Loading,
            env,
            actions: Default::default(),
            backup: super::backup_jobs::BackupView {
                local_keep: crate::backup::local::DEFAULT_KEEP,
                upload_interval_hours: super::backup_jobs::DEFAULT_UPLOAD_INTERVAL_HOURS,
                ..Default::default()
            },
            usage: Default::default(),
            network: Default::default(),
            tries: Default::default(),
        }
    }
}
