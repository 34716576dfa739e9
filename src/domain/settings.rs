//! Every user setting in one serde struct, [`Settings`], with one section per area.
//!
//! - **Shape.** Each section is a plain struct with `#[serde(default)]` and a `Default`;
//!   its fields' serde names are the last part of the dotted keys (`network.proxy`,
//!   `backup.webdav.url`). Nothing here does I/O: the store loads and saves the struct
//!   (`Store::load_settings`, `Store::save_settings`), the app keeps one copy, the CLI
//!   reads the same struct (`apihub settings list | get | set | unset`).
//! - **Dotted keys.** [`Settings::list`], [`Settings::get`], [`Settings::set`] and
//!   [`Settings::unset`] work on any key by way of the serde form, so a new field is a
//!   new key without more code. Values are text: `true`/`on`, numbers, plain strings;
//!   an empty text clears an optional value.
//! - **Checks.** A bad key or value is a [`SettingsError`] naming the valid keys or
//!   values; [`Settings::problems`] holds the range checks serde cannot express.
//! - **Stored rows.** One row per key in the store's `settings` table (the same keys, so
//!   older data dirs and backups read as they are; [`LEGACY_KEYS`] maps renamed ones).
//!   [`Settings::from_rows`] never fails: an unknown or bad stored value falls back to
//!   the default with a warning. [`SECRET_KEYS`] are sealed at rest.
//! - **Adding a section** (`gateway`, `notify`, `sync`, `exports`, …): a struct here with
//!   `#[derive(Serialize, Deserialize, Default)]` and `#[serde(default)]`, a field on
//!   [`Settings`], its range checks in [`Settings::problems`], its secret keys in
//!   [`SECRET_KEYS`]. Nothing else: the CLI, the store and the app pick it up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::alerts::AlertSettings;
pub use super::network::NetworkSettings;

/// All user settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Language and theme.
    pub ui: UiSettings,
    /// Global proxy, timeouts, extra CA file (the proxy is sealed at rest).
    pub network: NetworkSettings,
    /// Automatic refresh.
    pub refresh: RefreshSettings,
    /// Alert thresholds and desktop notifications.
    pub alerts: AlertSettings,
    /// The daily automatic check-in.
    pub checkin: CheckinSettings,
    /// Usage logs.
    pub logs: LogsSettings,
    /// Local backups and WebDAV.
    pub backup: BackupSettings,
    /// The release check.
    pub update: UpdateSettings,
    /// Multi-device sync (through the `backup.webdav` server).
    pub sync: SyncSettings,
    /// The local gateway (`apihub serve`, the Gateway panel).
    pub gateway: super::gateway::GatewaySettings,
    /// Alert notifications: quiet hours, the daily summary, retries (channels are rows of
    /// their own, see `domain::notify`).
    pub notify: NotifySettings,
}

/// Keys whose values are secrets: sealed in the store, never printed in full.
pub const SECRET_KEYS: &[&str] = &["network.proxy", "backup.webdav.password", "sync.passphrase"];

/// Settings sections every device shares (multi-device sync); the other sections
/// (`network`, `backup`, `ui`, `update`, `sync`, …) belong to one device.
pub const SYNCED_SECTIONS: &[&str] = &["refresh", "alerts", "checkin", "logs"];

/// Single keys every device shares, outside [`SYNCED_SECTIONS`]: the gateway's routing
/// choices (its address, key, limits and timeouts belong to one device). Aliases, pins
/// and the order name accounts: see `gateway::settings::ACCOUNT_REF_KEYS`.
pub const SYNCED_KEYS: &[&str] = &["gateway.policy", "gateway.aliases", "gateway.pins", "gateway.order"];

/// Keys older versions wrote, and the key that replaced each (read when the new one is
/// absent; removed when the new one is saved).
pub const LEGACY_KEYS: &[(&str, &str)] = &[
    ("net.proxy", "network.proxy"),
    ("net.connect_timeout_secs", "network.connect_timeout_secs"),
    ("net.request_timeout_secs", "network.request_timeout_secs"),
    ("net.extra_ca_file", "network.ca_file"),
    ("refresh.interval_mins", "refresh.interval_minutes"),
];

/// Rows in the settings table that are not settings (bookkeeping of the app and the
/// backups: not listed, not settable, machine-local where the backup says so).
pub mod bookkeeping {
    /// Alerts already notified (JSON list of `[account, alert id]`).
    pub const ALERTS_NOTIFIED: &str = "alerts.notified";
    /// When the last release check ran (unix seconds).
    pub const UPDATE_LAST_CHECK: &str = "update.last_check_unix";
    /// When the last automatic WebDAV upload ran (unix seconds).
    pub const WEBDAV_LAST_UPLOAD: &str = "backup.webdav.last_upload_unix";
    /// The gateway's local key (`sk-local-…`, sealed; `apihub gateway key` shows it).
    pub const GATEWAY_LOCAL_KEY: &str = "gateway.local_key";
    /// The key check value: a constant sealed with the store's key (`store::secrets`);
    /// machine-local, never exported.
    pub const STORE_KEY_CHECK: &str = "store.key_check";
}

/// A user interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    /// 简体中文.
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Both languages, for the switcher.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// Stable code stored in settings.
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language's own name.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::ZhCn => "简体中文",
            Lang::En => "English",
        }
    }

    /// Parses a stored code or a system locale (`zh-Hans-CN`, `zh_CN.UTF-8`, `en-US`).
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("zh") { Lang::ZhCn } else { Lang::En }
    }
}

/// The theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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

    /// Inverse of [`ThemePref::code`] (unknown text: the default).
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
}

/// `ui.*`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UiSettings {
    /// The language (`None`: the system's).
    pub lang: Option<Lang>,
    /// The theme.
    pub theme: ThemePref,
}

/// Shortest automatic refresh interval, minutes.
pub const MIN_REFRESH_MINUTES: u32 = 5;
/// Default automatic refresh interval, minutes.
pub const DEFAULT_REFRESH_MINUTES: u32 = 30;

/// `refresh.*`: the automatic refresh (also the engine's `Schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshSettings {
    /// Automatic refresh on (`refresh.auto`).
    #[serde(rename = "auto")]
    pub enabled: bool,
    /// Minutes between refreshes of an account (`refresh.interval_minutes`).
    #[serde(rename = "interval_minutes")]
    pub interval_mins: u32,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        RefreshSettings { enabled: true, interval_mins: DEFAULT_REFRESH_MINUTES }
    }
}

/// `checkin.*`: the daily automatic check-in (also the engine's `AutoCheckin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckinSettings {
    /// On (off by default) (`checkin.auto`).
    #[serde(rename = "auto")]
    pub enabled: bool,
    /// Window start, minutes after local midnight (`checkin.window_start`, `HH:MM`).
    #[serde(rename = "window_start", with = "hhmm")]
    pub start_min: u32,
    /// Window end (exclusive), minutes after local midnight; before the start: the
    /// window crosses midnight; equal to it: all day (`checkin.window_end`, `HH:MM`).
    #[serde(rename = "window_end", with = "hhmm")]
    pub end_min: u32,
}

impl Default for CheckinSettings {
    fn default() -> Self {
        CheckinSettings { enabled: false, start_min: 8 * 60, end_min: 10 * 60 }
    }
}

/// Parses `HH:MM` (0..=23, 0..=59) into minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Formats minutes after midnight as `HH:MM`.
pub fn format_hhmm(min: u32) -> String {
    format!("{:02}:{:02}", (min / 60) % 24, min % 60)
}

pub(crate) mod hhmm {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(min: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_hhmm(*min))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_hhmm(&text).ok_or_else(|| serde::de::Error::custom("a time of day like 08:30 (00:00 to 23:59)"))
    }
}

/// First-sync history depths a user can choose, days (done-hub never serves more than 180).
pub const HISTORY_CHOICES: [i64; 4] = [7, 30, 90, 180];

/// Default first-sync history depth, days.
pub const DEFAULT_HISTORY_DAYS: i64 = 30;

/// `logs.*`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogsSettings {
    /// How far back a first log sync reaches, days (one of [`HISTORY_CHOICES`]).
    pub history_days: i64,
}

impl Default for LogsSettings {
    fn default() -> Self {
        LogsSettings { history_days: DEFAULT_HISTORY_DAYS }
    }
}

/// `backup.*`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSettings {
    /// Local backups.
    pub local: LocalBackupSettings,
    /// WebDAV.
    pub webdav: WebDavSettings,
}

/// Default number of local backups kept.
pub const DEFAULT_LOCAL_KEEP: usize = 10;

/// `backup.local.*`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalBackupSettings {
    /// Local backups kept (the newest N).
    pub keep: usize,
}

impl Default for LocalBackupSettings {
    fn default() -> Self {
        LocalBackupSettings { keep: DEFAULT_LOCAL_KEEP }
    }
}

/// Default remote folder.
pub const DEFAULT_REMOTE_PATH: &str = "/api-hub-desk";
/// Default number of remote backups kept.
pub const DEFAULT_MAX_BACKUPS: usize = 10;
/// Default hours between automatic WebDAV uploads.
pub const DEFAULT_UPLOAD_INTERVAL_HOURS: u64 = 24;

/// `backup.webdav.*`: the WebDAV server (the password is sealed at rest).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebDavSettings {
    /// Automatic upload on.
    pub enabled: bool,
    /// Server URL (the WebDAV root), e.g. `https://dav.example.com/remote.php/dav/files/bob`.
    pub url: String,
    /// Username for HTTP Basic auth.
    pub username: String,
    /// Password.
    pub password: String,
    /// Folder on the server, default `/api-hub-desk`.
    pub remote_path: String,
    /// Backups kept on the server after a successful upload.
    pub max_backups: usize,
    /// Hours between automatic uploads.
    pub interval_hours: u64,
}

impl std::fmt::Debug for WebDavSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDavSettings")
            .field("enabled", &self.enabled)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "<none>" } else { "<set>" })
            .field("remote_path", &self.remote_path)
            .field("max_backups", &self.max_backups)
            .field("interval_hours", &self.interval_hours)
            .finish()
    }
}

impl Default for WebDavSettings {
    fn default() -> Self {
        WebDavSettings {
            enabled: false,
            url: String::new(),
            username: String::new(),
            password: String::new(),
            remote_path: DEFAULT_REMOTE_PATH.into(),
            max_backups: DEFAULT_MAX_BACKUPS,
            interval_hours: DEFAULT_UPLOAD_INTERVAL_HOURS,
        }
    }
}

/// Default start of the quiet hours (`notify.quiet_start`), minutes after midnight.
pub const DEFAULT_QUIET_START: u32 = 23 * 60;
/// Default end of the quiet hours.
pub const DEFAULT_QUIET_END: u32 = 8 * 60;
/// Default time of the daily summary.
pub const DEFAULT_SUMMARY_TIME: u32 = 9 * 60;
/// Default tries after a failed send before a channel is marked failing.
pub const DEFAULT_NOTIFY_RETRIES: u32 = 3;

/// `notify.*`: when alerts go out (the channels themselves are store rows with sealed
/// secrets, managed with `apihub notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    /// Quiet hours on: alerts are held and sent when they end (`notify.quiet`).
    pub quiet: bool,
    /// Quiet hours start, local `HH:MM` (`notify.quiet_start`).
    #[serde(with = "hhmm")]
    pub quiet_start: u32,
    /// Quiet hours end (exclusive), local `HH:MM`; before the start: across midnight.
    #[serde(with = "hhmm")]
    pub quiet_end: u32,
    /// Send a daily summary (`notify.summary`).
    pub summary: bool,
    /// When the daily summary goes out, local `HH:MM` (`notify.summary_time`).
    #[serde(with = "hhmm")]
    pub summary_time: u32,
    /// Tries again after a failed send (with backoff) before the channel is marked
    /// failing (`notify.retries`, 0 to 10).
    pub retries: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            quiet: false,
            quiet_start: DEFAULT_QUIET_START,
            quiet_end: DEFAULT_QUIET_END,
            summary: false,
            summary_time: DEFAULT_SUMMARY_TIME,
            retries: DEFAULT_NOTIFY_RETRIES,
        }
    }
}

/// `update.*`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateSettings {
    /// Check automatically on start (at most once a day).
    pub check_on_start: bool,
    /// Offer pre-releases.
    pub include_prerelease: bool,
    /// Another releases-list URL (`None`: this project's GitHub releases).
    pub releases_url: Option<String>,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        UpdateSettings { check_on_start: true, include_prerelease: false, releases_url: None }
    }
}

/// Default number of sync documents kept on the server.
pub const DEFAULT_SYNC_KEEP: usize = 10;
/// Default minutes between automatic syncs.
pub const DEFAULT_SYNC_MINUTES: u32 = 15;
/// Default days a deletion (tombstone) is kept in the sync document.
pub const DEFAULT_TOMBSTONE_DAYS: u32 = 90;

/// `sync.*`: multi-device sync through the WebDAV server of `backup.webdav` (the
/// passphrase, when saved, is sealed at rest).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// Sync automatically after a change and every `interval_minutes` (the app).
    pub auto: bool,
    /// Minutes between automatic syncs.
    pub interval_minutes: u32,
    /// This device's name in the sync document (empty: the host name).
    pub device_name: String,
    /// Sync documents kept on the server (the newest N; older ones are history).
    pub keep: usize,
    /// Days a deletion is remembered in the document.
    pub tombstone_days: u32,
    /// The sync passphrase saved on this device (empty: asked each time).
    pub passphrase: String,
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSettings")
            .field("auto", &self.auto)
            .field("interval_minutes", &self.interval_minutes)
            .field("device_name", &self.device_name)
            .field("keep", &self.keep)
            .field("tombstone_days", &self.tombstone_days)
            .field("passphrase", &if self.passphrase.is_empty() { "<none>" } else { "<set>" })
            .finish()
    }
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            auto: false,
            interval_minutes: DEFAULT_SYNC_MINUTES,
            device_name: String::new(),
            keep: DEFAULT_SYNC_KEEP,
            tombstone_days: DEFAULT_TOMBSTONE_DAYS,
            passphrase: String::new(),
        }
    }
}

/// A bad key or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// No such setting.
    #[error("unknown setting {key:?}; valid keys: {}", .valid.join(", "))]
    UnknownKey {
        /// What was asked.
        key: String,
        /// Every valid key.
        valid: Vec<String>,
    },
    /// The value does not fit the setting.
    #[error("invalid value {value:?} for {key}: {expected}")]
    BadValue {
        /// The setting.
        key: String,
        /// What was given (secrets hidden).
        value: String,
        /// What it takes.
        expected: String,
    },
}

/// What kind of text a key takes (from its default's serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Number,
    Text,
    Optional,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Number(_) => Kind::Number,
        Value::Null => Kind::Optional,
        _ => Kind::Text,
    }
}

/// The JSON values a typed text may stand for, most likely first.
fn candidates(text: &str, kind: Kind) -> Result<Vec<Value>, &'static str> {
    let t = text.trim();
    let number = || -> Option<Value> {
        t.parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| t.parse::<u64>().map(Value::from).ok())
            .or_else(|| t.replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from))
    };
    let boolean = || match t.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(Value::Bool(true)),
        "false" | "off" | "no" | "0" => Some(Value::Bool(false)),
        _ => None,
    };
    Ok(match kind {
        Kind::Bool => vec![boolean().ok_or("true or false (on / off)")?],
        Kind::Number => vec![number().ok_or("a number")?],
        Kind::Text => vec![Value::String(text.to_string())],
        Kind::Optional if t.is_empty() => vec![Value::Null],
        Kind::Optional => {
            let mut v: Vec<Value> = number().into_iter().chain(boolean()).collect();
            v.push(Value::String(text.to_string()));
            v
        }
    })
}

/// Leaves of a serde tree as dotted keys.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, child, out);
            }
        }
        leaf => {
            out.insert(prefix.to_string(), leaf.clone());
        }
    }
}

fn set_leaf(tree: &mut Value, key: &str, value: Value) {
    let mut node = tree;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()));
    }
}

/// A leaf as the text the CLI prints and the store keeps (`None`: no value).
fn leaf_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A secret shown without its secret part.
fn shown(key: &str, text: &str) -> String {
    match key {
        _ if !Settings::is_secret(key) || text.is_empty() => text.to_string(),
        "network.proxy" => super::network::redact_proxy_url(text),
        _ => "***".into(),
    }
}

impl Settings {
    fn tree(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn leaves(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        flatten("", &self.tree(), &mut out);
        out
    }

    /// Every setting's dotted key, sorted.
    pub fn keys() -> Vec<String> {
        Settings::default().leaves().into_keys().collect()
    }

    /// Whether a dotted key is shared by every device (multi-device sync).
    pub fn is_synced(key: &str) -> bool {
        SYNCED_KEYS.contains(&key)
            || SYNCED_SECTIONS.iter().any(|s| key.strip_prefix(s).is_some_and(|rest| rest.starts_with('.')))
    }

    /// Whether a key holds a secret (sealed at rest, hidden when printed).
    pub fn is_secret(key: &str) -> bool {
        SECRET_KEYS.contains(&key)
    }

    fn default_leaf(key: &str) -> Result<Value, SettingsError> {
        Settings::default()
            .leaves()
            .remove(key)
            .ok_or_else(|| SettingsError::UnknownKey { key: key.to_string(), valid: Settings::keys() })
    }

    /// Every key with its value as text (`""` for no value); secrets are shown redacted.
    pub fn list(&self) -> Vec<(String, String)> {
        self.leaves()
            .into_iter()
            .map(|(k, v)| {
                let text = leaf_text(&v).unwrap_or_default();
                let text = shown(&k, &text);
                (k, text)
            })
            .collect()
    }

    /// One value as text (secrets redacted).
    pub fn get(&self, key: &str) -> Result<String, SettingsError> {
        Settings::default_leaf(key)?;
        let v = self.leaves().remove(key).unwrap_or(Value::Null);
        Ok(shown(key, &leaf_text(&v).unwrap_or_default()))
    }

    /// Sets one value from its text; nothing changes when the key or value is bad.
    pub fn set(&mut self, key: &str, text: &str) -> Result<(), SettingsError> {
        let kind = kind_of(&Settings::default_leaf(key)?);
        let bad = |expected: String| SettingsError::BadValue {
            key: key.to_string(),
            value: if Settings::is_secret(key) { "***".into() } else { text.to_string() },
            expected,
        };
        let mut last = String::new();
        for candidate in candidates(text, kind).map_err(|e| bad(e.to_string()))? {
            let mut tree = self.tree();
            set_leaf(&mut tree, key, candidate);
            match serde_json::from_value::<Settings>(tree) {
                Ok(next) => {
                    if let Some((_, expected)) = next.problems().into_iter().find(|(k, _)| *k == key) {
                        return Err(bad(expected));
                    }
                    *self = next;
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(bad(last))
    }

    /// Puts one setting back to its default.
    pub fn unset(&mut self, key: &str) -> Result<(), SettingsError> {
        let default = Settings::default_leaf(key)?;
        let mut tree = self.tree();
        set_leaf(&mut tree, key, default);
        if let Ok(next) = serde_json::from_value::<Settings>(tree) {
            *self = next;
        }
        Ok(())
    }

    /// Values serde accepts but the app does not: `(key, what it takes)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        let mut check = |ok: bool, key: &'static str, expected: &str| {
            if !ok {
                p.push((key, expected.to_string()));
            }
        };
        let n = &self.network;
        if let super::network::ProxySetting::Url(u) = &n.proxy
            && let Err(e) = super::network::validate_proxy_url(u)
        {
            check(false, "network.proxy", &format!("system, none, or a proxy URL ({e})"));
        }
        check((1..=600).contains(&n.connect_timeout_secs), "network.connect_timeout_secs", "1 to 600 seconds");
        check((1..=600).contains(&n.request_timeout_secs), "network.request_timeout_secs", "1 to 600 seconds");
        check(
            (MIN_REFRESH_MINUTES..=7 * 24 * 60).contains(&self.refresh.interval_mins),
            "refresh.interval_minutes",
            "5 to 10080 minutes",
        );
        let a = &self.alerts;
        check(
            a.low_balance.is_none_or(|v| v.is_finite() && v >= 0.0),
            "alerts.low_balance",
            "a number ≥ 0, or empty for off",
        );
        check(
            a.low_balance_usd.is_none_or(|v| v.is_finite() && v >= 0.0),
            "alerts.low_balance_usd",
            "a number of US dollars ≥ 0, or empty for off",
        );
        check(a.failures <= 100, "alerts.failures", "0 to 100 (0 = off)");
        check(a.key_days <= 3650, "alerts.key_days", "0 to 3650 days");
        check(HISTORY_CHOICES.contains(&self.logs.history_days), "logs.history_days", "7, 30, 90 or 180");
        check(self.backup.local.keep >= 1, "backup.local.keep", "1 or more");
        let w = &self.backup.webdav;
        check(w.max_backups >= 1, "backup.webdav.max_backups", "1 or more");
        check(w.interval_hours >= 1, "backup.webdav.interval_hours", "1 or more hours");
        check(!w.remote_path.trim().is_empty(), "backup.webdav.remote_path", "a folder, e.g. /api-hub-desk");
        let s = &self.sync;
        check((1..=7 * 24 * 60).contains(&s.interval_minutes), "sync.interval_minutes", "1 to 10080 minutes");
        check((1..=1000).contains(&s.keep), "sync.keep", "1 to 1000");
        check((1..=3650).contains(&s.tombstone_days), "sync.tombstone_days", "1 to 3650 days");
        check(self.notify.retries <= 10, "notify.retries", "0 to 10");
        p.extend(self.gateway.problems());
        p
    }

    /// Builds the settings from stored rows (key → text; secrets already opened). An
    /// unknown or bad value falls back to the default; each such fallback is a warning.
    pub fn from_rows(rows: &BTreeMap<String, String>) -> (Settings, Vec<String>) {
        let mut s = Settings::default();
        let mut warnings = Vec::new();
        for key in Settings::keys() {
            let stored = rows
                .get(&key)
                .or_else(|| LEGACY_KEYS.iter().find(|(_, new)| *new == key).and_then(|(old, _)| rows.get(*old)));
            if let Some(text) = stored
                && let Err(e) = s.set(&key, text)
            {
                warnings.push(format!("{e}; using the default"));
            }
        }
        (s, warnings)
    }

    /// Every key as the row text to store (`None`: no value, the row is removed).
    pub fn to_rows(&self) -> BTreeMap<String, Option<String>> {
        self.leaves().into_iter().map(|(k, v)| (k, leaf_text(&v))).collect()
    }

    /// The rows that differ from `before`: what a save writes.
    pub fn changed_rows(&self, before: &Settings) -> Vec<(String, Option<String>)> {
        let old = before.to_rows();
        self.to_rows().into_iter().filter(|(k, v)| old.get(k) != Some(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn older_rows_read_as_they_are() {
        let (s, warnings) = Settings::from_rows(&rows(&[
            ("ui.lang", "en"),
            ("ui.theme", "dark"),
            ("refresh.auto", "off"),
            ("refresh.interval_mins", "45"),
            ("checkin.auto", "on"),
            ("checkin.window_start", "07:30"),
            ("alerts.low_balance", ""),
            ("alerts.desktop", "on"),
            ("net.proxy", "socks5://u:p@127.0.0.1:1080"),
            ("net.extra_ca_file", "/etc/ca.pem"),
            ("backup.webdav.enabled", "true"),
            ("backup.webdav.interval_hours", "6"),
            ("update.check_on_start", "false"),
            ("alerts.notified", "[[1,\"failing\"]]"),
        ]));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s.ui.lang, Some(Lang::En));
        assert_eq!(s.ui.theme, ThemePref::Dark);
        assert_eq!(s.refresh, RefreshSettings { enabled: false, interval_mins: 45 });
        assert!(s.checkin.enabled);
        assert_eq!(s.checkin.start_min, 7 * 60 + 30);
        assert_eq!(s.alerts.low_balance, None);
        assert!(s.alerts.desktop);
        assert_eq!(s.network.proxy, crate::domain::network::ProxySetting::Url("socks5://u:p@127.0.0.1:1080".into()));
        assert_eq!(s.network.extra_ca_file, "/etc/ca.pem");
        assert!(s.backup.webdav.enabled);
        assert_eq!(s.backup.webdav.interval_hours, 6);
        assert!(!s.update.check_on_start);
    }

    #[test]
    fn bad_stored_values_fall_back_to_defaults_with_a_warning() {
        let (s, warnings) = Settings::from_rows(&rows(&[
            ("ui.theme", "purple"),
            ("refresh.interval_minutes", "1"),
            ("logs.history_days", "12"),
            ("checkin.window_end", "25:00"),
            ("alerts.failures", "many"),
            ("network.proxy", "ftp://nope"),
            ("alerts.key_days", "14"),
        ]));
        let d = Settings::default();
        assert_eq!(s.ui.theme, d.ui.theme);
        assert_eq!(s.refresh.interval_mins, d.refresh.interval_mins);
        assert_eq!(s.logs.history_days, d.logs.history_days);
        assert_eq!(s.checkin.end_min, d.checkin.end_min);
        assert_eq!(s.alerts.failures, d.alerts.failures);
        assert_eq!(s.network.proxy, d.network.proxy);
        assert_eq!(s.alerts.key_days, 14, "good values next to bad ones are kept");
        assert_eq!(warnings.len(), 6, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("ui.theme") && w.contains("light")), "{warnings:#?}");
    }

    #[test]
    fn dotted_keys_get_set_unset_and_round_trip_through_rows() {
        let mut s = Settings::default();
        s.set("refresh.interval_minutes", "15").unwrap();
        s.set("alerts.low_balance", "2,5").unwrap();
        s.set("network.proxy", "http://bob:s3cret@proxy:3128").unwrap();
        s.set("backup.webdav.password", "pw").unwrap();
        s.set("ui.lang", "zh-CN").unwrap();
        assert_eq!(s.get("refresh.interval_minutes").unwrap(), "15");
        assert_eq!(s.get("alerts.low_balance").unwrap(), "2.5");
        assert!(!s.get("network.proxy").unwrap().contains("s3cret"));
        assert_eq!(s.get("backup.webdav.password").unwrap(), "***");
        let listed = s.list();
        assert!(listed.iter().all(|(_, v)| !v.contains("s3cret") && v != "pw"));
        let stored: BTreeMap<String, String> = s.to_rows().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        let (back, warnings) = Settings::from_rows(&stored);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(back, s);
        let changed = s.changed_rows(&Settings::default());
        assert_eq!(changed.len(), 5, "{changed:?}");
        s.unset("alerts.low_balance").unwrap();
        assert_eq!(s.alerts.low_balance, None);
        s.set("alerts.low_balance", "3").unwrap();
        s.set("alerts.low_balance", "").unwrap();
        assert_eq!(s.alerts.low_balance, None, "empty clears an optional value");
    }

    #[test]
    fn bad_keys_and_values_say_what_is_valid() {
        let mut s = Settings::default();
        let e = s.set("network.nope", "1").unwrap_err().to_string();
        assert!(e.contains("network.proxy") && e.contains("refresh.interval_minutes"), "{e}");
        let e = s.set("ui.theme", "purple").unwrap_err().to_string();
        assert!(e.contains("system") && e.contains("dark"), "{e}");
        let e = s.set("logs.history_days", "12").unwrap_err().to_string();
        assert!(e.contains("7, 30, 90 or 180"), "{e}");
        let e = s.set("refresh.auto", "maybe").unwrap_err().to_string();
        assert!(e.contains("true or false"), "{e}");
        let e = s.set("backup.webdav.password", "").map(|_| ()).and_then(|_| s.set("network.proxy", "ftp://x:y@h"));
        assert!(!e.unwrap_err().to_string().contains("x:y"), "a secret is not echoed");
        assert_eq!(s, Settings::default(), "failed sets change nothing");
    }

    #[test]
    fn the_gateway_section_is_plain_dotted_keys() {
        let mut s = Settings::default();
        s.set("gateway.policy", "fastest").unwrap();
        s.set("gateway.aliases", "sonnet=claude-sonnet-4-5,claude-4.5-sonnet#3").unwrap();
        s.set("gateway.pins", "gpt-4o=3,1").unwrap();
        s.set("gateway.max_attempts", "5").unwrap();
        assert_eq!(s.gateway.policy, super::super::gateway::Policy::Fastest);
        assert_eq!(s.gateway.aliases["sonnet"][1].account, Some(3));
        assert_eq!(s.gateway.pins["gpt-4o"], [3, 1]);
        assert_eq!(s.get("gateway.aliases").unwrap(), "sonnet=claude-sonnet-4-5,claude-4.5-sonnet#3");
        let e = s.set("gateway.max_attempts", "0").unwrap_err().to_string();
        assert!(e.contains("1 to 10"), "{e}");
        let e = s.set("gateway.listen", "0.0.0.0:1").unwrap_err().to_string();
        assert!(e.contains("loopback"), "{e}");
        assert!(s.set("gateway.pins", "gpt-4o=x").is_err());
        assert!(s.set("gateway.policy", "random").is_err());
        let stored: BTreeMap<String, String> = s.to_rows().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        assert_eq!(Settings::from_rows(&stored).0, s);
    }
}
