//! `AppState`: everything the views read: the settings and one controller per area,
//! each owning its state. Only the controllers change it (commands and job messages,
//! routed by `App`); views get it read-only.

use std::path::PathBuf;

use crate::domain::settings::{Lang, Settings, ThemePref};
use crate::store::{DataDirSource, KeyLocation};

/// The panels of the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    /// 站点 Sites.
    Sites,
    /// 价格对比 Pricing.
    Pricing,
    /// 日志 Logs.
    Logs,
    /// 网关 Gateway.
    Gateway,
    /// 设置 Settings.
    Settings,
}

impl Panel {
    /// Navigation order.
    pub const ALL: [Panel; 5] = [Panel::Sites, Panel::Pricing, Panel::Logs, Panel::Gateway, Panel::Settings];

    /// Translation key of the navigation label.
    pub fn label_key(self) -> &'static str {
        match self {
            Panel::Sites => "nav.sites",
            Panel::Pricing => "nav.pricing",
            Panel::Logs => "nav.logs",
            Panel::Gateway => "nav.gateway",
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

/// Which account action a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Key management (create, edit, enable/disable, delete, copy).
    Keys,
    /// Redeem code.
    Redeem,
    /// Check-in.
    Checkin,
}

/// The last result line of an action on an account.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMessage {
    /// Which action.
    pub kind: ActionKind,
    /// Translated line.
    pub text: String,
    /// Whether it succeeded.
    pub ok: bool,
}

/// The job name every action on an account runs under (one action per account at a
/// time, whichever controller starts it).
pub fn action_key(id: crate::domain::AccountId) -> String {
    format!("action:{id}")
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

/// Everything the views draw from: the settings and every controller.
pub struct AppState {
    /// The settings in force (change them through `Cx::change_settings`).
    pub settings: Settings,
    /// Panel, language, theme, status line, notices, fonts, installation facts.
    pub shell: super::shell::Shell,
    /// Accounts, their states, refresh, adding.
    pub sites: super::sites::Sites,
    /// Key management.
    pub keys: super::keys::Keys,
    /// Check-in (one, all, daily automatic) and redeem.
    pub checkin: super::checkin::Checkin,
    /// The pricing book and model tries.
    pub pricing: super::pricing::Pricing,
    /// Usage logs and the activity log.
    pub logs: super::logs::Logs,
    /// Local backups, restore and import, WebDAV.
    pub backup: super::backup::Backup,
    /// The release check.
    pub update: super::update::Update,
    /// Network settings of sites, saves.
    pub network: super::network::Network,
    /// Alert bookkeeping.
    pub alerts: super::alerts::Alerts,
    /// "Use in…": the dialog, its preview and the last write (undoable).
    pub exports: super::exports::Exports,
    /// The local gateway.
    pub gateway: super::gateway::Gateway,
    /// Notification channels, the event history, sending.
    pub notify: super::notify::Notify,
    /// Multi-device sync: status, conflicts, automatic sync.
    pub sync: super::sync::DeviceSync,
}

impl AppState {
    /// Whether an action (keys, redeem, check-in) runs on the account.
    pub fn action_busy(&self, id: crate::domain::AccountId) -> bool {
        self.keys.busy.contains(&id) || self.checkin.busy.contains(&id)
    }

    /// A fresh state for an installation (default settings).
    pub fn new(env: EnvInfo, lang: Lang, theme: ThemePref) -> Self {
        AppState {
            settings: Settings::default(),
            shell: super::shell::Shell::new(env, lang, theme),
            sites: Default::default(),
            keys: Default::default(),
            checkin: Default::default(),
            pricing: Default::default(),
            logs: Default::default(),
            backup: Default::default(),
            update: Default::default(),
            network: Default::default(),
            alerts: Default::default(),
            exports: Default::default(),
            gateway: Default::default(),
            notify: Default::default(),
            sync: Default::default(),
        }
    }
}
