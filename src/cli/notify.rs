//! `apihub notify add|list|test|remove|history` (alert channels and the event history)
//! and `apihub summary [--send] [--json]`. Secrets come from an environment variable
//! (`--token-env VAR`, `--url-env VAR`, `--secret-env VAR`, `--password-env VAR`), one
//! line of stdin (`--token -`), or the command line (seen in `ps` and shell history).
//! They are sealed in the store and never printed: `notify list` shows where a channel
//! sends, not its keys.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::domain::notify::{
    ChannelConfig, ChannelKind, ChannelSpec, Condition, EventKind, SmtpSecurity, condition_line, render,
};
use crate::domain::time::local_text;
use crate::notify::{DispatchOptions, deliver_pending, language};
use crate::relay::RelayClient;
use crate::store::{NewEvent, SharedStore, Store};

/// How long a one-shot command waits for retries of what it sends.
pub const CLI_MAX_WAIT: Duration = Duration::from_secs(45);

/// `apihub notify …`
#[derive(Debug, Subcommand)]
pub enum NotifyCmd {
    /// Add a channel: telegram, webhook, ntfy, bark, feishu (lark), dingtalk, wecom, email.
    Add(Box<AddArgs>),
    /// The channels: where each sends (no secrets), its events and whether it works.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a test message on a channel now.
    Test {
        /// The channel's name.
        name: String,
    },
    /// Remove a channel (the event history stays).
    Remove {
        /// The channel's name.
        name: String,
    },
    /// The newest events and where each was delivered.
    History {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

fn parse_kind(s: &str) -> Result<ChannelKind, String> {
    ChannelKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown channel kind {s:?}; one of {}", all.join(", "))
    })
}

fn parse_security(s: &str) -> Result<SmtpSecurity, String> {
    SmtpSecurity::parse(s).ok_or_else(|| "starttls, tls or none".to_string())
}

/// `apihub notify add KIND --name NAME …`
#[derive(Debug, Args)]
pub struct AddArgs {
    /// telegram, webhook, ntfy, bark, feishu (or lark), dingtalk, wecom, email.
    #[arg(value_parser = parse_kind)]
    pub kind: ChannelKind,
    /// A name for it (used by `notify test NAME`, `notify remove NAME`).
    #[arg(long)]
    pub name: String,
    /// Webhook URL (webhook, feishu, dingtalk, wecom); it holds the robot's key (`-`: stdin).
    #[arg(long)]
    pub url: Option<String>,
    /// Read the webhook URL from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub url_env: Option<String>,
    /// Telegram bot token, ntfy access token, or Bark device key (`-`: one line of stdin).
    #[arg(long)]
    pub token: Option<String>,
    /// Read the token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Telegram chat id (a number, or @channelname).
    #[arg(long)]
    pub chat_id: Option<String>,
    /// Telegram Bot API server, for a self-hosted one (default https://api.telegram.org).
    #[arg(long)]
    pub api_base: Option<String>,
    /// ntfy server (default https://ntfy.sh) or Bark server (default https://api.day.app).
    #[arg(long)]
    pub server: Option<String>,
    /// ntfy topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Feishu / DingTalk signing secret, or the webhook's `X-Webhook-Secret` header value
    /// (`-`: stdin).
    #[arg(long)]
    pub secret: Option<String>,
    /// Read the secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// SMTP server host.
    #[arg(long)]
    pub host: Option<String>,
    /// SMTP port (default: 587 for starttls, 465 for tls, 25 for none).
    #[arg(long)]
    pub port: Option<u16>,
    /// starttls (default), tls, or none (a local relay only).
    #[arg(long, value_parser = parse_security)]
    pub security: Option<SmtpSecurity>,
    /// SMTP user (none: no authentication).
    #[arg(long)]
    pub user: Option<String>,
    /// SMTP password (prefer --password-env; `-`: stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the SMTP password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Sender address, e.g. "API Hub Desk <alerts@example.com>".
    #[arg(long)]
    pub from: Option<String>,
    /// Recipients, comma separated.
    #[arg(long)]
    pub to: Option<String>,
    /// The events it gets, comma separated (default all): low_balance, failing,
    /// key_expiring, key_exhausted, checkin_failed, recovered, upstream_cooldown, summary.
    #[arg(long)]
    pub events: Option<String>,
    /// Replace a channel of the same name.
    #[arg(long)]
    pub replace: bool,
    /// Add it switched off.
    #[arg(long)]
    pub disabled: bool,
}

/// `apihub summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Send it now on every channel that gets the summary (quiet hours do not apply).
    #[arg(long)]
    pub send: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn spec_of(a: &AddArgs) -> anyhow::Result<ChannelSpec> {
    let name = a.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        anyhow::bail!("--name: 1 to 64 characters");
    }
    // `--flag VALUE`, `--flag -` (one line of stdin) or `--flag-env VAR`.
    let mut stdin_used = None;
    let mut value = |flag: &'static str, v: &Option<String>, env: &Option<String>| -> anyhow::Result<String> {
        Ok(super::secret_input(flag, v.as_deref(), env.as_deref(), &mut stdin_used)?
            .unwrap_or_default()
            .trim()
            .to_string())
    };
    let plain = |v: &Option<String>| v.clone().unwrap_or_default().trim().to_string();
    let config = ChannelConfig {
        url: value("--url", &a.url, &a.url_env)?,
        token: value("--token", &a.token, &a.token_env)?,
        chat_id: plain(&a.chat_id),
        api_base: plain(&a.api_base),
        server: plain(&a.server),
        topic: plain(&a.topic),
        secret: value("--secret", &a.secret, &a.secret_env)?,
        host: plain(&a.host),
        port: a.port.unwrap_or(0),
        security: a.security.unwrap_or_default(),
        user: plain(&a.user),
        password: value("--password", &a.password, &a.password_env)?,
        from: plain(&a.from),
        to: plain(&a.to),
    };
    config.check(a.kind).map_err(|e| anyhow::anyhow!("{} channel: {e}", a.kind))?;
    let events =
        EventKind::parse_list(a.events.as_deref().unwrap_or("")).map_err(|e| anyhow::anyhow!("--events: {e}"))?;
    Ok(ChannelSpec { name: name.to_string(), kind: a.kind, config, events, enabled: !a.disabled })
}

/// A channel as `notify list --json` prints it (no secrets).
#[derive(Debug, Serialize)]
struct ChannelJson {
    name: String,
    kind: &'static str,
    target: String,
    events: Vec<&'static str>,
    enabled: bool,
    /// `ok`, `failing`, or `unused` (never sent).
    status: &'static str,
    failing_since: Option<i64>,
    last_error: Option<String>,
    last_ok_at: Option<i64>,
}

/// An event as `notify history --json` prints it.
#[derive(Debug, Serialize)]
struct HistoryJson {
    #[serde(flatten)]
    row: crate::store::HistoryRow,
    kind: &'static str,
    message: String,
}

fn when(unix: i64) -> String {
    local_text(unix, "%Y-%m-%d %H:%M")
}

/// Runs `apihub notify …`.
pub fn run(mut store: Store, cmd: &NotifyCmd, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    match cmd {
        NotifyCmd::Add(a) => {
            let spec = spec_of(a)?;
            if !a.replace && store.notify_channel(&spec.name)?.is_some() {
                anyhow::bail!("a channel named \"{}\" exists; pass --replace or remove it first", spec.name);
            }
            store.save_notify_channel(&spec)?;
            log::info!("notification channel \"{}\" ({}) saved", spec.name, spec.kind);
            println!(
                "saved {} channel \"{}\": {}; events: {}{}",
                spec.kind,
                spec.name,
                spec.config.target(spec.kind),
                EventKind::list_text(&spec.events),
                if spec.enabled { "" } else { " (off)" }
            );
            println!("try it: apihub notify test {}", shell_word(&spec.name));
        }
        NotifyCmd::List { json } => {
            let list: Vec<ChannelJson> = store
                .notify_channels()?
                .into_iter()
                .map(|c| ChannelJson {
                    target: c.spec.config.target(c.spec.kind),
                    kind: c.spec.kind.as_str(),
                    events: if c.spec.events.is_empty() {
                        EventKind::CHOOSABLE.iter().map(|k| k.as_str()).collect()
                    } else {
                        c.spec.events.iter().map(|k| k.as_str()).collect()
                    },
                    enabled: c.spec.enabled,
                    status: match (c.failing_since, c.last_ok_at) {
                        (Some(_), _) => "failing",
                        (None, Some(_)) => "ok",
                        (None, None) => "unused",
                    },
                    name: c.spec.name,
                    failing_since: c.failing_since,
                    last_error: c.last_error,
                    last_ok_at: c.last_ok_at,
                })
                .collect();
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!(
                    "no channels (add one: apihub notify add telegram --name phone --token-env TG_TOKEN --chat-id 123)"
                );
            } else {
                for c in &list {
                    let status = match (c.status, &c.last_error, c.failing_since) {
                        ("failing", Some(e), Some(since)) => format!("FAILING since {}: {e}", when(since)),
                        ("ok", _, _) => format!("ok (last sent {})", c.last_ok_at.map(when).unwrap_or_default()),
                        _ => "not used yet".into(),
                    };
                    let off = if c.enabled { "" } else { " [off]" };
                    println!("{:<16} {:<9} {}{off}", c.name, c.kind, c.target);
                    println!("{:<16} events: {}; {status}", "", c.events.join(","));
                }
            }
        }
        NotifyCmd::Test { name } => {
            let client = super::relay_client(&store)?;
            let shared = SharedStore::new(store);
            match rt.block_on(crate::notify::test_channel(&shared, &client, name)) {
                Ok(true) => println!("sent a test message on \"{name}\""),
                Ok(false) => anyhow::bail!("no channel named \"{name}\" (see apihub notify list)"),
                Err(e) => anyhow::bail!("channel \"{name}\": {e}"),
            }
        }
        NotifyCmd::Remove { name } => {
            if !store.remove_notify_channel(name)? {
                anyhow::bail!("no channel named \"{name}\" (see apihub notify list)");
            }
            log::info!("notification channel \"{name}\" removed");
            println!("removed channel \"{name}\"");
        }
        NotifyCmd::History { json, limit } => {
            let lang = language(&store.load_settings()?.settings);
            let rows = store.notify_history(*limit)?;
            if *json {
                let out: Vec<HistoryJson> = rows
                    .into_iter()
                    .map(|row| HistoryJson {
                        kind: row.event.condition.event_kind().as_str(),
                        message: render(std::slice::from_ref(&row.event), lang).body,
                        row,
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if rows.is_empty() {
                println!("no events yet");
            } else {
                for r in rows {
                    let e = &r.event;
                    let line = condition_line(&e.condition, lang);
                    let who = if e.subject.is_empty() { String::new() } else { format!("{}: ", e.subject) };
                    println!("{}  {:<15} {who}{line}", when(e.at), e.condition.event_kind().as_str());
                    let sent: Vec<String> = r
                        .deliveries
                        .iter()
                        .map(|d| match d.state {
                            crate::store::DeliveryState::Sent => format!("{}: sent", d.channel),
                            crate::store::DeliveryState::Failed => {
                                format!("{}: FAILED ({})", d.channel, d.last_error.clone().unwrap_or_default())
                            }
                            crate::store::DeliveryState::Pending => match &d.last_error {
                                Some(err) => format!("{}: retry at {} ({err})", d.channel, when(d.next_at)),
                                None => format!("{}: pending until {}", d.channel, when(d.next_at)),
                            },
                        })
                        .collect();
                    if sent.is_empty() {
                        println!("{:<34}(no channel)", "");
                    } else {
                        println!("{:<34}{}", "", sent.join("; "));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn shell_word(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) { s.to_string() } else { format!("'{s}'") }
}

/// Runs `apihub summary`.
pub fn summary(store: Store, args: &SummaryArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let now = crate::domain::time::now_unix();
    let day = crate::domain::time::local_day(now);
    let settings = store.load_settings()?.settings;
    let s = crate::notify::summary::build(&store, &day, now)?;
    let lang = language(&settings);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("{}\n{}", s.title(lang), s.body(lang));
    }
    if !args.send {
        return Ok(ExitCode::SUCCESS);
    }
    let wanting = store
        .notify_channels()?
        .iter()
        .filter(|c| c.spec.enabled && EventKind::Summary.wanted_by(&c.spec.events))
        .count();
    if wanting == 0 {
        anyhow::bail!("no enabled channel gets the summary (apihub notify add …, or --events …,summary)");
    }
    let client = super::relay_client(&store)?;
    let mut store = store;
    store.notify_add_event(&NewEvent::new(&Condition::Summary(Box::new(s)), now))?;
    let shared = SharedStore::new(store);
    let opts = DispatchOptions { ignore_quiet: true, ..DispatchOptions::from_settings(&settings) };
    let d = rt.block_on(deliver_pending(&shared, &client, &opts, CLI_MAX_WAIT))?;
    eprintln!("summary sent on {} of {wanting} channel(s)", d.sent);
    if d.sent == 0 {
        anyhow::bail!("the summary was not delivered (see apihub notify history)");
    }
    Ok(ExitCode::SUCCESS)
}

/// After a refresh or check-in from the command line: record what changed and send it
/// (waiting a little for retries). Problems are warnings on stderr: the command's own
/// result and exit code stand.
pub(crate) fn after_work(shared: &SharedStore, client: &RelayClient, rt: &tokio::runtime::Handle) {
    match rt.block_on(crate::notify::record_and_deliver(shared, client, CLI_MAX_WAIT)) {
        Ok((_, d)) => {
            if d.sent > 0 {
                eprintln!("{} notification(s) sent", d.sent);
            }
            if d.retrying + d.failed > 0 {
                eprintln!(
                    "warning: {} notification(s) not delivered{} (apihub notify history)",
                    d.retrying + d.failed,
                    if d.retrying > 0 { " yet" } else { "" }
                );
            }
        }
        Err(e) => eprintln!("warning: notifications: {e}"),
    }
}
