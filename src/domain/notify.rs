//! Alert notifications, the pure part: what a channel is ([`ChannelKind`],
//! [`ChannelConfig`], checks and a printable target that never shows a secret), what an
//! event says ([`Condition`], [`Event`]), how events become one message in zh or en
//! ([`render`]), a channel's length limit ([`split_message`]), quiet hours and the daily
//! summary's time ([`NotifySettings`]), and the summary itself ([`DailySummary`]).
//!
//! Sending lives in `crate::notify` (HTTP and SMTP), the event history and the
//! once-per-state-change bookkeeping in the store (`store::notify`).

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

pub use super::settings::NotifySettings;
use super::settings::{Lang, format_hhmm};

/// The product name every message starts with (DingTalk and Feishu "keyword" security
/// settings can use it).
pub const APP_NAME: &str = "API Hub Desk";

/// A kind of notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Telegram Bot API `sendMessage`.
    Telegram,
    /// A generic webhook: POST JSON, optional secret header.
    Webhook,
    /// ntfy (ntfy.sh or self-hosted): JSON publish.
    Ntfy,
    /// Bark (iOS): `POST /push`.
    Bark,
    /// Feishu / Lark custom bot (optionally signed).
    Feishu,
    /// DingTalk custom robot (optionally signed).
    Dingtalk,
    /// WeCom (企业微信) group robot.
    Wecom,
    /// Email over SMTP.
    Email,
}

impl ChannelKind {
    /// Every kind.
    pub const ALL: [ChannelKind; 8] = [
        ChannelKind::Telegram,
        ChannelKind::Webhook,
        ChannelKind::Ntfy,
        ChannelKind::Bark,
        ChannelKind::Feishu,
        ChannelKind::Dingtalk,
        ChannelKind::Wecom,
        ChannelKind::Email,
    ];

    /// Stable name (CLI, store).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Bark => "bark",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Email => "email",
        }
    }

    /// Inverse of [`ChannelKind::as_str`] (`lark` is Feishu's international name).
    pub fn parse(s: &str) -> Option<ChannelKind> {
        let s = s.trim().to_ascii_lowercase();
        if s == "lark" {
            return Some(ChannelKind::Feishu);
        }
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (a local relay only).
    None,
}

impl SmtpSecurity {
    /// `starttls`, `tls` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    /// Parses `starttls`, `tls` (or `ssl`), `none`.
    pub fn parse(s: &str) -> Option<SmtpSecurity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(SmtpSecurity::Starttls),
            "tls" | "ssl" => Some(SmtpSecurity::Tls),
            "none" | "plain" => Some(SmtpSecurity::None),
            _ => None,
        }
    }

    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// Where a channel sends, per kind. Sealed as a whole in the store: webhook URLs carry
/// keys, bot tokens and passwords are secrets. `Debug` shows none of them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelConfig {
    /// Webhook URL (webhook, Feishu, DingTalk, WeCom: it holds the bot's key).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Telegram bot token, ntfy access token, Bark device key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Telegram chat id (`-100…`, a user id, or `@channel`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chat_id: String,
    /// Telegram Bot API server (empty: `https://api.telegram.org`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_base: String,
    /// ntfy server (empty: `https://ntfy.sh`) or Bark server (empty: `https://api.day.app`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    /// ntfy topic.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// Webhook secret header value; Feishu / DingTalk signing secret.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// SMTP host.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// SMTP port (0: the security's usual port).
    #[serde(skip_serializing_if = "is_zero")]
    pub port: u16,
    /// SMTP security.
    pub security: SmtpSecurity,
    /// SMTP user (empty: no authentication).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// SMTP password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Sender address (`Name <a@b>` or `a@b`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// Recipients, comma separated.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
}

fn is_zero(p: &u16) -> bool {
    *p == 0
}

fn set(s: &str) -> &'static str {
    if s.is_empty() { "" } else { "<set>" }
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelConfig")
            .field("url", &url_host(&self.url))
            .field("token", &set(&self.token))
            .field("chat_id", &self.chat_id)
            .field("api_base", &self.api_base)
            .field("server", &self.server)
            .field("topic", &self.topic)
            .field("secret", &set(&self.secret))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &set(&self.password))
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// `scheme://host[:port]` of a URL, without path or query (where a key may be).
pub fn url_host(url: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}", u.scheme(), u.host_str().unwrap_or_default())
        }
        Err(_) if url.trim().is_empty() => String::new(),
        Err(_) => "<not a URL>".into(),
    }
}

fn check_url(what: &str, url: &str, required: bool) -> Result<(), String> {
    let url = url.trim();
    if url.is_empty() {
        return if required { Err(format!("{what} is required")) } else { Ok(()) };
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(format!("{what} must be an http:// or https:// URL")),
    }
}

impl ChannelConfig {
    /// Whether the configuration can be sent with: the fields `kind` needs, URLs that
    /// are URLs. The error names the missing or bad field (never its value).
    pub fn check(&self, kind: ChannelKind) -> Result<(), String> {
        let need = |v: &str, what: &str| if v.trim().is_empty() { Err(format!("{what} is required")) } else { Ok(()) };
        match kind {
            ChannelKind::Telegram => {
                need(&self.token, "the bot token (--token)")?;
                need(&self.chat_id, "the chat id (--chat-id)")?;
                if self.token.contains(['/', '?', '#', ' ']) {
                    return Err("the bot token looks wrong (it is like 123456:ABC-DEF…)".into());
                }
                check_url("--api-base", &self.api_base, false)
            }
            ChannelKind::Webhook | ChannelKind::Feishu | ChannelKind::Dingtalk | ChannelKind::Wecom => {
                check_url("the webhook URL (--url)", &self.url, true)
            }
            ChannelKind::Ntfy => {
                need(&self.topic, "the topic (--topic)")?;
                if self.topic.contains(['/', '?', '#', ' ']) {
                    return Err("the topic is one word (letters, digits, - and _)".into());
                }
                check_url("--server", &self.server, false)
            }
            ChannelKind::Bark => {
                need(&self.token, "the device key (--token)")?;
                check_url("--server", &self.server, false)
            }
            ChannelKind::Email => {
                need(&self.host, "the SMTP host (--host)")?;
                need(&self.from, "the sender (--from)")?;
                need(&self.to, "the recipients (--to)")?;
                if !self.user.is_empty() && self.password.is_empty() {
                    return Err("--user needs a password (--password-env VAR)".into());
                }
                Ok(())
            }
        }
    }

    /// Where it sends, without any secret: `chat 42 via https://api.telegram.org`.
    pub fn target(&self, kind: ChannelKind) -> String {
        let or = |v: &str, d: &str| if v.trim().is_empty() { d.to_string() } else { url_host(v) };
        let signed = if self.secret.is_empty() { "" } else { " (signed)" };
        match kind {
            ChannelKind::Telegram => {
                format!("chat {} via {}", self.chat_id, or(&self.api_base, "https://api.telegram.org"))
            }
            ChannelKind::Webhook => {
                format!("{}{}", url_host(&self.url), if self.secret.is_empty() { "" } else { " (secret header)" })
            }
            ChannelKind::Feishu | ChannelKind::Dingtalk | ChannelKind::Wecom => {
                format!("{}{signed}", url_host(&self.url))
            }
            ChannelKind::Ntfy => format!("{}/{}", or(&self.server, "https://ntfy.sh"), self.topic),
            ChannelKind::Bark => or(&self.server, "https://api.day.app"),
            ChannelKind::Email => format!(
                "{}:{} {} → {}",
                self.host,
                self.smtp_port(),
                self.security.as_str(),
                self.to.split(',').map(str::trim).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// The SMTP port in force.
    pub fn smtp_port(&self) -> u16 {
        if self.port == 0 { self.security.default_port() } else { self.port }
    }
}

/// What an event is about; a channel picks the kinds it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A balance went below its threshold.
    LowBalance,
    /// An account failed N refreshes in a row.
    Failing,
    /// A key expires within the configured days (or expired).
    KeyExpiring,
    /// A key's quota is used up.
    KeyExhausted,
    /// Today's check-in failed.
    CheckinFailed,
    /// A failing account refreshes again.
    Recovered,
    /// The local gateway cooled an upstream down.
    UpstreamCooldown,
    /// The daily summary.
    Summary,
    /// A test message (`apihub notify test`).
    Test,
}

impl EventKind {
    /// The kinds a channel can choose (every one but `test`, which always goes out).
    pub const CHOOSABLE: [EventKind; 8] = [
        EventKind::LowBalance,
        EventKind::Failing,
        EventKind::KeyExpiring,
        EventKind::KeyExhausted,
        EventKind::CheckinFailed,
        EventKind::Recovered,
        EventKind::UpstreamCooldown,
        EventKind::Summary,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LowBalance => "low_balance",
            EventKind::Failing => "failing",
            EventKind::KeyExpiring => "key_expiring",
            EventKind::KeyExhausted => "key_exhausted",
            EventKind::CheckinFailed => "checkin_failed",
            EventKind::Recovered => "recovered",
            EventKind::UpstreamCooldown => "upstream_cooldown",
            EventKind::Summary => "summary",
            EventKind::Test => "test",
        }
    }

    /// Inverse of [`EventKind::as_str`] (`-` read as `_`).
    pub fn parse(s: &str) -> Option<EventKind> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        EventKind::CHOOSABLE.into_iter().chain([EventKind::Test]).find(|k| k.as_str() == s)
    }

    /// Parses a comma list (`low_balance,failing`); empty or `all` = every kind.
    pub fn parse_list(list: &str) -> Result<Vec<EventKind>, String> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                return Ok(Vec::new());
            }
            let k = EventKind::parse(part).ok_or_else(|| {
                let valid: Vec<&str> = EventKind::CHOOSABLE.iter().map(|k| k.as_str()).collect();
                format!("unknown event {part:?}; valid: all, {}", valid.join(", "))
            })?;
            if !out.contains(&k) {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// A channel's list as text (`all` for every kind).
    pub fn list_text(list: &[EventKind]) -> String {
        if list.is_empty() { "all".into() } else { list.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",") }
    }

    /// Whether a channel with `list` (empty = all) gets this kind; tests always go out.
    pub fn wanted_by(self, list: &[EventKind]) -> bool {
        self == EventKind::Test || list.is_empty() || list.contains(&self)
    }
}

/// A channel as the user sets it up (what `apihub notify add` writes and encrypted
/// backups carry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSpec {
    /// The user's name for it (unique).
    pub name: String,
    /// Kind.
    pub kind: ChannelKind,
    /// Where (secrets included).
    pub config: ChannelConfig,
    /// Event kinds it gets (empty: all).
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Sends at all.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A stored channel: its spec and how its last sends went.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Store id.
    pub id: i64,
    /// What the user set up.
    pub spec: ChannelSpec,
    /// Since when its sends fail (after the retries), unix seconds.
    pub failing_since: Option<i64>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// The last successful send, unix seconds.
    pub last_ok_at: Option<i64>,
}

/// How serious an event is (message priority, tags, colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Good news, summaries, tests.
    Info,
    /// Look soon.
    Warning,
    /// Broken now.
    Error,
}

impl Level {
    /// `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// What happened: the payload of an event, stored as JSON in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The balance is below the threshold (both in `currency`).
    LowBalance {
        /// The balance.
        balance: f64,
        /// The threshold.
        threshold: f64,
        /// `USD`, `CNY`, `TOKENS`, a custom symbol or a money-native site's code.
        currency: String,
    },
    /// The last `count` refreshes failed.
    Failing {
        /// Failed refreshes in a row.
        count: u32,
        /// The last error line.
        #[serde(default)]
        error: String,
    },
    /// An enabled key expires within the configured days, or expired.
    KeyExpiring {
        /// Its name.
        key_name: String,
        /// Unix seconds.
        expires_at: i64,
        /// Whole days left (negative: expired).
        days: i64,
    },
    /// A key's quota is used up.
    KeyExhausted {
        /// Its name.
        key_name: String,
    },
    /// Today's check-in failed.
    CheckinFailed {
        /// The site day it failed on.
        day: String,
        /// The site's or the network's message.
        #[serde(default)]
        message: String,
    },
    /// Refreshes work again after failing.
    Recovered {
        /// Since when it had been failing, unix seconds.
        since: i64,
    },
    /// The gateway cooled an upstream down after errors.
    UpstreamCooldown {
        /// The upstream's name.
        upstream: String,
        /// Until when, unix seconds.
        until: i64,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// The daily summary.
    Summary(Box<DailySummary>),
    /// A test message.
    Test,
}

impl Condition {
    /// Its event kind.
    pub fn event_kind(&self) -> EventKind {
        match self {
            Condition::LowBalance { .. } => EventKind::LowBalance,
            Condition::Failing { .. } => EventKind::Failing,
            Condition::KeyExpiring { .. } => EventKind::KeyExpiring,
            Condition::KeyExhausted { .. } => EventKind::KeyExhausted,
            Condition::CheckinFailed { .. } => EventKind::CheckinFailed,
            Condition::Recovered { .. } => EventKind::Recovered,
            Condition::UpstreamCooldown { .. } => EventKind::UpstreamCooldown,
            Condition::Summary(_) => EventKind::Summary,
            Condition::Test => EventKind::Test,
        }
    }

    /// What identifies "the same state" of an account across refreshes and processes:
    /// an event fires when its state appears and again only after it cleared. Balances
    /// and counts are not part of it. `None` for one-off events (recovered, summary,
    /// test, cool-downs).
    pub fn state_id(&self) -> Option<String> {
        match self {
            Condition::LowBalance { .. } => Some("low_balance".into()),
            Condition::Failing { .. } => Some("failing".into()),
            Condition::KeyExpiring { key_name, expires_at, days } => {
                let expired = if *days < 0 { ":expired" } else { "" };
                Some(format!("key_expiring:{key_name}:{expires_at}{expired}"))
            }
            Condition::KeyExhausted { key_name } => Some(format!("key_exhausted:{key_name}")),
            Condition::CheckinFailed { day, .. } => Some(format!("checkin_failed:{day}")),
            _ => None,
        }
    }

    /// How serious.
    pub fn level(&self) -> Level {
        match self {
            Condition::Failing { .. } | Condition::KeyExhausted { .. } => Level::Error,
            Condition::KeyExpiring { days, .. } if *days < 0 => Level::Error,
            Condition::LowBalance { .. }
            | Condition::KeyExpiring { .. }
            | Condition::CheckinFailed { .. }
            | Condition::UpstreamCooldown { .. } => Level::Warning,
            Condition::Recovered { .. } | Condition::Summary(_) | Condition::Test => Level::Info,
        }
    }
}

impl From<super::alerts::Alert> for Condition {
    fn from(a: super::alerts::Alert) -> Condition {
        use super::alerts::Alert;
        match a {
            Alert::LowBalance { balance, threshold, currency } => {
                Condition::LowBalance { balance, threshold, currency }
            }
            Alert::Failing { count } => Condition::Failing { count, error: String::new() },
            Alert::KeyExpiring { key_name, expires_at, days } => Condition::KeyExpiring { key_name, expires_at, days },
        }
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Store id.
    pub id: i64,
    /// When it was recorded, unix seconds.
    pub at: i64,
    /// The account it is about (none for summaries, tests, gateway events).
    pub account_id: Option<i64>,
    /// Who it is about, as shown: `Site / user` (kept even if the account is removed).
    pub subject: String,
    /// What happened.
    pub condition: Condition,
}

/// Everything a channel sends at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// One line.
    pub title: String,
    /// The lines (no title).
    pub body: String,
    /// The most serious event's level.
    pub level: Level,
}

impl Message {
    /// Title and body as one text (channels without a title field).
    pub fn text(&self) -> String {
        if self.body.is_empty() { self.title.clone() } else { format!("{}\n{}", self.title, self.body) }
    }
}

fn zh(lang: Lang) -> bool {
    lang == Lang::ZhCn
}

/// A bare amount with its currency: `$7.30`, `¥14.60`, `12 TOKENS`, `3.50 EUR`.
pub fn money_text(amount: f64, currency: &str) -> String {
    match currency {
        "USD" => format!("${}", super::money::amount_text(amount)),
        "CNY" => format!("¥{}", super::money::amount_text(amount)),
        "TOKENS" => format!("{} tokens", amount.round() as i64),
        c if c.chars().all(|ch| ch.is_ascii_alphabetic()) => format!("{} {c}", super::money::amount_text(amount)),
        c => format!("{c}{}", super::money::amount_text(amount)),
    }
}

/// One line for a condition, in `lang`.
pub fn condition_line(c: &Condition, lang: Lang) -> String {
    let zh = zh(lang);
    match c {
        Condition::LowBalance { balance, threshold, currency } => {
            let (b, t) = (money_text(*balance, currency), money_text(*threshold, currency));
            if zh { format!("余额 {b} 低于 {t}") } else { format!("balance {b} is below {t}") }
        }
        Condition::Failing { count, error } => {
            let tail = if error.is_empty() { String::new() } else { format!(": {error}") };
            if zh {
                format!("连续 {count} 次刷新失败{tail}")
            } else {
                format!("the last {count} refreshes failed{tail}")
            }
        }
        Condition::KeyExpiring { key_name, days, .. } if *days < 0 => {
            if zh {
                format!("密钥「{key_name}」已过期")
            } else {
                format!("key \"{key_name}\" has expired")
            }
        }
        Condition::KeyExpiring { key_name, days: 0, .. } => {
            if zh {
                format!("密钥「{key_name}」将在一天内过期")
            } else {
                format!("key \"{key_name}\" expires within a day")
            }
        }
        Condition::KeyExpiring { key_name, days, .. } => {
            if zh {
                format!("密钥「{key_name}」将在 {days} 天后过期")
            } else {
                format!("key \"{key_name}\" expires in {days} days")
            }
        }
        Condition::KeyExhausted { key_name } => {
            if zh {
                format!("密钥「{key_name}」额度已用尽")
            } else {
                format!("key \"{key_name}\" has no quota left")
            }
        }
        Condition::CheckinFailed { message, .. } => {
            let tail = if message.is_empty() { String::new() } else { format!(": {message}") };
            if zh { format!("今日签到失败{tail}") } else { format!("today's check-in failed{tail}") }
        }
        Condition::Recovered { .. } => {
            if zh {
                "已恢复，刷新正常".into()
            } else {
                "recovered: refreshes work again".into()
            }
        }
        Condition::UpstreamCooldown { upstream, until, reason } => {
            let at = super::time::local_text(*until, "%H:%M");
            let tail = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
            if zh {
                format!("网关上游「{upstream}」暂停使用至 {at}{tail}")
            } else {
                format!("gateway upstream \"{upstream}\" cooled down until {at}{tail}")
            }
        }
        Condition::Summary(s) => {
            if zh {
                format!("{} 每日汇总", s.day)
            } else {
                format!("daily summary for {}", s.day)
            }
        }
        Condition::Test => {
            if zh {
                "测试消息：此渠道工作正常".into()
            } else {
                "test message: this channel works".into()
            }
        }
    }
}

fn event_title(kind: EventKind, lang: Lang) -> &'static str {
    let zh = zh(lang);
    match kind {
        EventKind::LowBalance => {
            if zh {
                "余额不足"
            } else {
                "low balance"
            }
        }
        EventKind::Failing => {
            if zh {
                "刷新失败"
            } else {
                "refreshes failing"
            }
        }
        EventKind::KeyExpiring => {
            if zh {
                "密钥即将过期"
            } else {
                "key expiring"
            }
        }
        EventKind::KeyExhausted => {
            if zh {
                "密钥额度用尽"
            } else {
                "key exhausted"
            }
        }
        EventKind::CheckinFailed => {
            if zh {
                "签到失败"
            } else {
                "check-in failed"
            }
        }
        EventKind::Recovered => {
            if zh {
                "已恢复"
            } else {
                "recovered"
            }
        }
        EventKind::UpstreamCooldown => {
            if zh {
                "网关上游暂停"
            } else {
                "upstream cooled down"
            }
        }
        EventKind::Summary => {
            if zh {
                "每日汇总"
            } else {
                "daily summary"
            }
        }
        EventKind::Test => {
            if zh {
                "测试"
            } else {
                "test"
            }
        }
    }
}

fn sep(lang: Lang) -> &'static str {
    if zh(lang) { "：" } else { ": " }
}

/// The message for events a channel gets at once: one event reads as itself; several
/// read as a list under "N alerts"; a summary is its own message (call with it alone).
pub fn render(events: &[Event], lang: Lang) -> Message {
    let level = events.iter().map(|e| e.condition.level()).max().unwrap_or(Level::Info);
    if let [e] = events {
        if let Condition::Summary(s) = &e.condition {
            return Message { title: s.title(lang), body: s.body(lang), level };
        }
        let title = format!("{APP_NAME}{}{}", sep(lang), event_title(e.condition.event_kind(), lang));
        let line = condition_line(&e.condition, lang);
        let body = if e.subject.is_empty() { line } else { format!("{}{}{line}", e.subject, sep(lang)) };
        return Message { title, body, level };
    }
    let n = events.len();
    let title = if zh(lang) { format!("{APP_NAME}：{n} 条提醒") } else { format!("{APP_NAME}: {n} alerts") };
    let body = events
        .iter()
        .map(|e| {
            let line = condition_line(&e.condition, lang);
            if e.subject.is_empty() { format!("• {line}") } else { format!("• {}{}{line}", e.subject, sep(lang)) }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Message { title, body, level }
}

/// A channel's message size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Unicode characters (Telegram counts these).
    Chars(usize),
    /// UTF-8 bytes.
    Bytes(usize),
}

impl Limit {
    fn size(self, s: &str) -> usize {
        match self {
            Limit::Chars(_) => s.chars().count(),
            Limit::Bytes(_) => s.len(),
        }
    }

    fn max(self) -> usize {
        match self {
            Limit::Chars(n) | Limit::Bytes(n) => n,
        }
    }
}

/// The marker that ends a message cut short.
pub fn truncated_marker(lang: Lang) -> &'static str {
    if zh(lang) { "…（内容过长，已截断）" } else { "… (truncated)" }
}

/// The longest prefix of `s` within `budget` (on a char boundary).
fn take_prefix(s: &str, budget: usize, limit: Limit) -> &str {
    let mut end = 0;
    let mut used = 0;
    for (i, ch) in s.char_indices() {
        let w = match limit {
            Limit::Chars(_) => 1,
            Limit::Bytes(_) => ch.len_utf8(),
        };
        if used + w > budget {
            break;
        }
        used += w;
        end = i + ch.len_utf8();
    }
    &s[..end]
}

/// Splits `text` into at most `max_parts` pieces within `limit`, at line breaks where it
/// can (a line longer than the limit is cut). What does not fit in `max_parts` is cut
/// off and the last piece ends with `marker`. Never returns an empty list.
pub fn split_message(text: &str, limit: Limit, max_parts: usize, marker: &str) -> Vec<String> {
    let max = limit.max().max(limit.size(marker) + 1);
    let max_parts = max_parts.max(1);
    if limit.size(text) <= max {
        return vec![text.to_string()];
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    let mut cut = false;
    while !rest.is_empty() {
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if limit.size(&current) + limit.size(line) <= max {
            current.push_str(line);
            rest = tail;
            continue;
        }
        if !current.is_empty() {
            if parts.len() + 1 == max_parts {
                cut = true;
                break;
            }
            parts.push(std::mem::take(&mut current));
            continue;
        }
        // One line longer than a whole part: cut it.
        let head = take_prefix(line, max, limit);
        current.push_str(head);
        rest = &rest[head.len()..];
    }
    if cut || !rest.is_empty() {
        let budget = max - limit.size(marker);
        let keep = take_prefix(&current, budget, limit).trim_end().to_string();
        current = format!("{keep}{marker}");
    }
    parts.push(current);
    parts.iter_mut().for_each(|p| {
        if p.ends_with('\n') {
            p.pop();
        }
    });
    parts
}

/// The next time of day `minute` strictly after `now` (unix seconds).
fn next_at_minute(minute: u32, now: DateTime<FixedOffset>) -> i64 {
    let t = NaiveTime::from_hms_opt(minute / 60 % 24, minute % 60, 0).unwrap_or(NaiveTime::MIN);
    let today = now.offset().from_local_datetime(&now.date_naive().and_time(t)).single();
    match today {
        Some(at) if at > now => at.timestamp(),
        Some(at) => (at + Duration::days(1)).timestamp(),
        None => now.timestamp() + 86_400,
    }
}

impl NotifySettings {
    /// When alerts may go out again if `now` is inside the quiet hours (unix seconds),
    /// `None` outside them (or with quiet hours off, or start = end).
    pub fn quiet_until(&self, now: DateTime<FixedOffset>) -> Option<i64> {
        if !self.quiet || self.quiet_start == self.quiet_end {
            return None;
        }
        let m = now.hour() * 60 + now.minute();
        let inside = if self.quiet_start < self.quiet_end {
            (self.quiet_start..self.quiet_end).contains(&m)
        } else {
            m >= self.quiet_start || m < self.quiet_end
        };
        inside.then(|| next_at_minute(self.quiet_end, now))
    }

    /// The local day whose summary is due at `now` (`YYYY-MM-DD`), when the summary is on,
    /// its time has come today, and `last_day` (the last day sent) is not today.
    pub fn summary_due(&self, now: DateTime<FixedOffset>, last_day: Option<&str>) -> Option<String> {
        if !self.summary || now.hour() * 60 + now.minute() < self.summary_time {
            return None;
        }
        let today = now.format("%Y-%m-%d").to_string();
        (last_day != Some(today.as_str())).then_some(today)
    }

    /// When the summary is next due after `now` (unix seconds; `None` when off).
    pub fn next_summary_at(&self, now: DateTime<FixedOffset>) -> Option<i64> {
        self.summary.then(|| next_at_minute(self.summary_time, now))
    }

    /// `23:00–08:00` (or `off`).
    pub fn quiet_text(&self) -> String {
        if self.quiet {
            format!("{}–{}", format_hhmm(self.quiet_start), format_hhmm(self.quiet_end))
        } else {
            "off".into()
        }
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyLine {
    /// `USD`, `CNY`, `TOKENS`, a custom symbol or a money-native site's code.
    pub currency: String,
    /// The amount.
    pub amount: f64,
}

/// One site's spend today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSpend {
    /// `Site / user`.
    pub subject: String,
    /// Spent today.
    pub amount: f64,
    /// In this currency.
    pub currency: String,
}

/// A key expiring soon, in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyLine {
    /// `Site / user`.
    pub subject: String,
    /// The key's name.
    pub key_name: String,
    /// Days left (negative: expired).
    pub days: i64,
}

/// The daily summary: balances per currency, today's spend, what is wrong, check-ins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailySummary {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    /// Enabled accounts.
    pub accounts: usize,
    /// Total balance per currency (accounts with a known balance).
    pub balances: Vec<MoneyLine>,
    /// Spend today per account with spend, most first.
    pub spend: Vec<SiteSpend>,
    /// Spend today per currency.
    pub spend_total: Vec<MoneyLine>,
    /// Accounts whose last refresh failed.
    pub failing: Vec<String>,
    /// Keys expiring within the alert window (or expired).
    pub keys_expiring: Vec<KeyLine>,
    /// Check-ins done today (by us, the site or by hand).
    pub checkins_done: usize,
    /// Accounts with check-in not done today.
    pub checkins_missed: Vec<String>,
}

fn money_list(lines: &[MoneyLine]) -> String {
    lines.iter().map(|m| money_text(m.amount, &m.currency)).collect::<Vec<_>>().join(" + ")
}

impl DailySummary {
    /// The summary's title.
    pub fn title(&self, lang: Lang) -> String {
        if zh(lang) {
            format!("{APP_NAME} 每日汇总 {}", self.day)
        } else {
            format!("{APP_NAME} daily summary {}", self.day)
        }
    }

    /// The summary's lines.
    pub fn body(&self, lang: Lang) -> String {
        let zh = zh(lang);
        let none = if zh { "无" } else { "none" };
        let mut out = Vec::new();
        let balances = if self.balances.is_empty() { none.to_string() } else { money_list(&self.balances) };
        out.push(if zh {
            format!("账户 {} 个，总余额：{balances}", self.accounts)
        } else {
            format!("{} accounts, total balance: {balances}", self.accounts)
        });
        let total = if self.spend_total.is_empty() { none.to_string() } else { money_list(&self.spend_total) };
        out.push(if zh { format!("今日消费：{total}") } else { format!("Spent today: {total}") });
        for s in &self.spend {
            out.push(format!("  • {}: {}", s.subject, money_text(s.amount, &s.currency)));
        }
        out.push(if zh {
            format!(
                "刷新失败：{}",
                if self.failing.is_empty() { none.to_string() } else { self.failing.len().to_string() }
            )
        } else {
            format!(
                "Failing: {}",
                if self.failing.is_empty() { none.to_string() } else { self.failing.len().to_string() }
            )
        });
        for f in &self.failing {
            out.push(format!("  • {f}"));
        }
        let keys_head = if zh { "即将过期的密钥：" } else { "Keys expiring: " };
        out.push(format!(
            "{keys_head}{}",
            if self.keys_expiring.is_empty() { none.to_string() } else { self.keys_expiring.len().to_string() }
        ));
        for k in &self.keys_expiring {
            let c = Condition::KeyExpiring { key_name: k.key_name.clone(), expires_at: 0, days: k.days };
            out.push(format!("  • {}: {}", k.subject, condition_line(&c, lang)));
        }
        out.push(if zh {
            format!("签到：已完成 {}，未完成 {}", self.checkins_done, self.checkins_missed.len())
        } else {
            format!("Check-ins: {} done, {} missed", self.checkins_done, self.checkins_missed.len())
        });
        for m in &self.checkins_missed {
            out.push(format!("  • {m}"));
        }
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hh: u32, mm: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 12, 6, hh, mm, 0).unwrap()
    }

    #[test]
    fn kinds_and_event_lists_parse() {
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ChannelKind::parse("Lark"), Some(ChannelKind::Feishu));
        assert_eq!(ChannelKind::parse("slack"), None);
        assert_eq!(EventKind::parse_list("").unwrap(), vec![]);
        assert_eq!(EventKind::parse_list("all").unwrap(), vec![]);
        assert_eq!(
            EventKind::parse_list("low_balance, key-expiring,low_balance").unwrap(),
            vec![EventKind::LowBalance, EventKind::KeyExpiring]
        );
        let e = EventKind::parse_list("low,failing").unwrap_err();
        assert!(e.contains("\"low\"") && e.contains("checkin_failed"), "{e}");
        assert!(EventKind::Summary.wanted_by(&[]));
        assert!(!EventKind::Summary.wanted_by(&[EventKind::Failing]));
        assert!(EventKind::Test.wanted_by(&[EventKind::Failing]), "tests always go out");
    }

    #[test]
    fn config_checks_name_the_missing_field_and_debug_hides_secrets() {
        let tg = ChannelConfig { token: "123:abc".into(), ..Default::default() };
        assert!(tg.check(ChannelKind::Telegram).unwrap_err().contains("--chat-id"));
        let tg = ChannelConfig { chat_id: "42".into(), ..tg };
        assert!(tg.check(ChannelKind::Telegram).is_ok());
        assert_eq!(tg.target(ChannelKind::Telegram), "chat 42 via https://api.telegram.org");
        let hook = ChannelConfig { url: "ftp://x".into(), ..Default::default() };
        assert!(hook.check(ChannelKind::Wecom).unwrap_err().contains("http"));
        let hook = ChannelConfig {
            url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY".into(),
            secret: "s3cret".into(),
            password: "pw".into(),
            ..Default::default()
        };
        assert!(hook.check(ChannelKind::Wecom).is_ok());
        assert_eq!(hook.target(ChannelKind::Wecom), "https://qyapi.weixin.qq.com (signed)");
        let dbg = format!("{hook:?}");
        assert!(!dbg.contains("SECRETKEY") && !dbg.contains("s3cret") && !dbg.contains("pw\""), "{dbg}");
        let mail =
            ChannelConfig { host: "smtp.x".into(), from: "a@x".into(), to: "b@x, c@x".into(), ..Default::default() };
        assert!(mail.check(ChannelKind::Email).is_ok());
        assert_eq!(mail.target(ChannelKind::Email), "smtp.x:587 starttls → b@x, c@x");
        let ntfy = ChannelConfig { topic: "a b".into(), ..Default::default() };
        assert!(ntfy.check(ChannelKind::Ntfy).is_err());
    }

    #[test]
    fn state_ids_ignore_amounts_but_not_expiry() {
        let a = Condition::LowBalance { balance: 1.0, threshold: 2.0, currency: "USD".into() };
        let b = Condition::LowBalance { balance: 0.5, threshold: 3.0, currency: "USD".into() };
        assert_eq!(a.state_id(), b.state_id());
        let soon = Condition::KeyExpiring { key_name: "k".into(), expires_at: 9, days: 1 };
        let gone = Condition::KeyExpiring { key_name: "k".into(), expires_at: 9, days: -1 };
        assert_ne!(soon.state_id(), gone.state_id(), "expiring, then expired: two states");
        assert_eq!(Condition::Recovered { since: 1 }.state_id(), None);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["kind"], "low_balance");
        assert_eq!(serde_json::from_value::<Condition>(json).unwrap(), a);
    }

    fn ev(subject: &str, c: Condition) -> Event {
        Event { id: 1, at: 0, account_id: Some(1), subject: subject.into(), condition: c }
    }

    #[test]
    fn messages_in_both_languages() {
        let low = ev("Fake / alice", Condition::LowBalance { balance: 7.3, threshold: 10.0, currency: "USD".into() });
        let m = render(std::slice::from_ref(&low), Lang::En);
        assert_eq!(m.title, "API Hub Desk: low balance");
        assert_eq!(m.body, "Fake / alice: balance $7.30 is below $10.00");
        assert_eq!(m.level, Level::Warning);
        let m = render(std::slice::from_ref(&low), Lang::ZhCn);
        assert_eq!(m.title, "API Hub Desk：余额不足");
        assert_eq!(m.body, "Fake / alice：余额 $7.30 低于 $10.00");
        let fail = ev("B / bob", Condition::Failing { count: 3, error: "auth: token expired".into() });
        let m = render(&[low, fail], Lang::En);
        assert_eq!(m.title, "API Hub Desk: 2 alerts");
        assert_eq!(m.level, Level::Error);
        assert!(m.body.contains("• B / bob: the last 3 refreshes failed: auth: token expired"), "{}", m.body);
        assert_eq!(money_text(12.0, "TOKENS"), "12 tokens");
        assert_eq!(money_text(1.5, "EUR"), "1.50 EUR");
        assert_eq!(money_text(1.5, "¤"), "¤1.50");
    }

    #[test]
    fn long_texts_split_at_lines_and_cut_with_a_marker() {
        let text = (0..10).map(|i| format!("line {i} {}", "x".repeat(20))).collect::<Vec<_>>().join("\n");
        let parts = split_message(&text, Limit::Bytes(64), 20, "…");
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.len() <= 64), "{parts:?}");
        assert_eq!(parts.join("\n"), text, "nothing lost when parts suffice");
        let parts = split_message(&text, Limit::Bytes(64), 2, "… (truncated)");
        assert_eq!(parts.len(), 2);
        assert!(parts[1].ends_with("… (truncated)") && parts[1].len() <= 64, "{parts:?}");
        // Characters vs bytes: 10 Chinese characters are 30 bytes.
        let zh = "余额不足余额不足余额";
        assert_eq!(split_message(zh, Limit::Chars(10), 1, "…"), vec![zh.to_string()]);
        let cut = split_message(zh, Limit::Bytes(16), 1, "…");
        assert!(cut[0].len() <= 16 && cut[0].ends_with('…'), "{cut:?}");
        // A single line longer than a part is cut, not lost or overflowing.
        let long = "y".repeat(150);
        let parts = split_message(&long, Limit::Chars(64), 5, "…");
        assert_eq!(parts.concat(), long);
        assert!(parts.iter().all(|p| p.chars().count() <= 64));
    }

    #[test]
    fn quiet_hours_across_midnight_and_within_a_day() {
        let night = NotifySettings { quiet: true, quiet_start: 23 * 60, quiet_end: 8 * 60, ..Default::default() };
        assert_eq!(night.quiet_until(at(12, 0)), None);
        let until = night.quiet_until(at(23, 30)).unwrap();
        assert_eq!(until, at(8, 0).timestamp() + 86_400, "next morning");
        assert_eq!(night.quiet_until(at(7, 59)), Some(at(8, 0).timestamp()));
        assert_eq!(night.quiet_until(at(8, 0)), None, "the end is not quiet");
        let lunch = NotifySettings { quiet: true, quiet_start: 12 * 60, quiet_end: 13 * 60, ..Default::default() };
        assert_eq!(lunch.quiet_until(at(12, 30)), Some(at(13, 0).timestamp()));
        assert_eq!(lunch.quiet_until(at(23, 0)), None);
        assert_eq!(NotifySettings { quiet: false, ..night }.quiet_until(at(23, 30)), None);
        assert_eq!(night.quiet_text(), "23:00–08:00");
    }

    #[test]
    fn the_summary_is_due_once_a_day_after_its_time() {
        let s = NotifySettings { summary: true, summary_time: 9 * 60, ..Default::default() };
        assert_eq!(s.summary_due(at(8, 59), None), None);
        assert_eq!(s.summary_due(at(9, 0), None).as_deref(), Some("2026-12-06"));
        assert_eq!(s.summary_due(at(21, 0), Some("2026-12-05")).as_deref(), Some("2026-12-06"));
        assert_eq!(s.summary_due(at(21, 0), Some("2026-12-06")), None);
        assert_eq!(NotifySettings::default().summary_due(at(21, 0), None), None, "off by default");
        assert_eq!(s.next_summary_at(at(8, 0)), Some(at(9, 0).timestamp()));
    }

    #[test]
    fn summary_text_in_both_languages() {
        let s = DailySummary {
            day: "2026-12-06".into(),
            accounts: 3,
            balances: vec![
                MoneyLine { currency: "USD".into(), amount: 12.5 },
                MoneyLine { currency: "CNY".into(), amount: 30.0 },
            ],
            spend: vec![SiteSpend { subject: "A / a".into(), amount: 1.25, currency: "USD".into() }],
            spend_total: vec![MoneyLine { currency: "USD".into(), amount: 1.25 }],
            failing: vec!["B / b".into()],
            keys_expiring: vec![KeyLine { subject: "A / a".into(), key_name: "main".into(), days: 2 }],
            checkins_done: 1,
            checkins_missed: vec!["C / c".into()],
        };
        let en = s.body(Lang::En);
        assert!(en.contains("3 accounts, total balance: $12.50 + ¥30.00"), "{en}");
        assert!(en.contains("Spent today: $1.25") && en.contains("• A / a: $1.25"), "{en}");
        assert!(en.contains("Failing: 1") && en.contains("• B / b"), "{en}");
        assert!(en.contains("key \"main\" expires in 2 days"), "{en}");
        assert!(en.contains("Check-ins: 1 done, 1 missed") && en.contains("• C / c"), "{en}");
        let zh = s.body(Lang::ZhCn);
        assert!(zh.contains("总余额：$12.50 + ¥30.00") && zh.contains("签到：已完成 1，未完成 1"), "{zh}");
        assert_eq!(s.title(Lang::ZhCn), "API Hub Desk 每日汇总 2026-12-06");
        let m = render(&[ev("", Condition::Summary(Box::new(s)))], Lang::En);
        assert_eq!(m.title, "API Hub Desk daily summary 2026-12-06");
        assert_eq!(m.level, Level::Info);
    }
}
