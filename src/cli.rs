//! The headless command line. A thin layer over the same modules the GUI uses.

mod accounts;
mod backup;
pub mod checkin;
pub mod gateway;
pub mod keys;
pub mod logs;
pub mod notify;
pub mod pricing;
pub mod recover;
pub mod report;
mod settings;
mod sync;
pub mod use_cmd;
pub mod watch;
mod webdav;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::domain::snapshot::AccountState;
use crate::store::{SharedStore, Store, resolve_data_dir};
pub use accounts::AddArgs;
use report::AccountReport;

/// API Hub Desk: manage accounts on One API-family relay sites.
#[derive(Debug, Parser)]
#[command(name = "apihub", version = crate::LONG_VERSION, about, after_help = recover::EXIT_CODES_HELP)]
pub struct Cli {
    /// Keep all data in DIR instead of the default location.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print debug details to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Open the window, draw the first frame, print `first_frame_ms=<N>` and exit.
    #[arg(long, hide = true)]
    pub bench_startup: bool,
    /// Without a subcommand the window opens.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCmd),
    /// Refresh accounts (all enabled ones, or those given) and store the results.
    Refresh(RefreshArgs),
    /// Detect a site's kind (one-api, new-api, veloera, …) without signing in.
    Detect {
        /// The site's URL.
        url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check in every eligible enabled account (or those given) for today.
    Checkin(checkin::CheckinArgs),
    /// Redeem a code on an account.
    Redeem(keys::RedeemArgs),
    /// Manage an account's API keys.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Local backups: create (default), list, restore.
    Backup(backup::BackupArgs),
    /// Write a backup bundle to a file.
    Export(backup::ExportArgs),
    /// Import a file: our backup, All API Hub, or API Hub Management Tools (preview first).
    Import(backup::ImportArgs),
    /// Check for a newer release (never downloads or installs).
    Update(backup::UpdateArgs),
    /// WebDAV: config, test, list, upload, restore, delete.
    #[command(subcommand)]
    Webdav(webdav::WebDavCmd),
    /// Usage logs: `logs sync` fetches new rows; `logs` prints stored ones.
    Logs(logs::LogsArgs),
    /// Spend, tokens and requests from the stored usage logs.
    Stats(logs::StatsArgs),
    /// Ranked model prices from the stored pricing (no network).
    Pricing(pricing::PricingArgs),
    /// Send one minimal request to a model with one of an account's keys (latency, reply, errors).
    Try(pricing::TryArgs),
    /// Put a key into a tool (Claude Code, Codex, OpenCode, Gemini CLI, Cherry Studio,
    /// CC Switch, a New API channel) or print it as env / curl / python; `use undo` restores.
    Use(Box<use_cmd::UseArgs>),
    /// A damaged data file or a lost key: restore a backup, salvage, start empty, put
    /// the old key back, or reset the credentials.
    #[command(subcommand, after_help = recover::EXIT_CODES_HELP)]
    Recover(recover::RecoverCmd),
    /// Settings: `list [--json]`, `get KEY`, `set KEY VALUE`, `unset KEY` (dotted keys).
    #[command(subcommand)]
    Settings(settings::SettingsCmd),
    /// Sync this device with the others through the WebDAV server (merged per field);
    /// `sync conflicts` lists conflicts, `sync resolve ID --take local|remote` settles one.
    Sync(sync::SyncArgs),
    /// Run the local gateway: one OpenAI/Anthropic-compatible endpoint over every account.
    Serve(gateway::ServeArgs),
    /// The gateway's local key, policy, aliases, pins, candidates and request log.
    #[command(subcommand)]
    Gateway(gateway::GatewayCmd),
    /// Alert channels (Telegram, webhook, ntfy, Bark, Feishu, DingTalk, WeCom, email):
    /// `add`, `list`, `test`, `remove`, `history`.
    #[command(subcommand)]
    Notify(notify::NotifyCmd),
    /// Today's summary: balances, spend, failing accounts, keys, check-ins (`--send` it).
    Summary(notify::SummaryArgs),
    /// Run the schedule headless until SIGINT/SIGTERM: auto refresh, daily check-in,
    /// alerts and the daily summary (one schedule per data dir; logs to stderr).
    Watch(watch::WatchArgs),
}

/// `apihub accounts …`
#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List accounts with their last stored state (no network).
    List(JsonFlag),
    /// Add an account (or update the same site + user), verifying it first.
    Add(Box<AddArgs>),
    /// Remove an account.
    Remove {
        /// Account id (see `accounts list`).
        id: i64,
    },
    /// Change an account's name, notes, or whether refresh-all includes it.
    Edit(EditArgs),
}

/// `apihub accounts edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Account id (see `accounts list`).
    pub id: i64,
    /// The account's own name (empty: none).
    #[arg(long)]
    pub name: Option<String>,
    /// Notes (empty: none).
    #[arg(long)]
    pub notes: Option<String>,
    /// Include it in refresh-all and check-in-all.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Skip it in refresh-all and check-in-all.
    #[arg(long)]
    pub disable: bool,
}

/// `--json`.
#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `apihub refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Only these accounts (repeatable); default: every enabled account.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<i64>,
    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
}

/// Runs a subcommand. Errors print one line and exit with status 1, or
/// [`recover::EXIT_DAMAGED`] / [`recover::EXIT_KEY`] when the store cannot be opened.
pub fn run(cli: &Cli, cmd: &Cmd, rt: &tokio::runtime::Handle) -> ExitCode {
    let result = run_inner(cli, cmd, rt);
    flush_activity(cli);
    match result {
        Ok(code) => code,
        Err(e) => {
            let (code, line) = recover::failure(cli, &e);
            eprintln!("error: {line}");
            ExitCode::from(code)
        }
    }
}

/// A secret given as `--flag VALUE`, `--flag -` (one line of stdin) or `--flag-env VAR`.
/// Only one secret may come from stdin.
pub(crate) fn secret_input(
    flag: &'static str,
    value: Option<&str>,
    env: Option<&str>,
    stdin_used: &mut Option<&'static str>,
) -> anyhow::Result<Option<String>> {
    if let Some(var) = env {
        let v = std::env::var(var)
            .map_err(|_| anyhow::anyhow!("environment variable {var} (for {flag}-env) is not set"))?;
        return Ok(Some(v));
    }
    match value {
        Some("-") => {
            if let Some(other) = stdin_used {
                anyhow::bail!("{other} and {flag} both read stdin: only one secret can come from stdin");
            }
            *stdin_used = Some(flag);
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| anyhow::anyhow!("{flag}: cannot read stdin: {e}"))?;
            Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
        }
        other => Ok(other.map(str::to_string)),
    }
}

/// Opens the store for a command that only reads (or changes what is there): a data dir
/// that does not exist is an error, never created.
fn open_store(cli: &Cli) -> anyhow::Result<Store> {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    if !dir.exists() {
        anyhow::bail!(
            "no data dir at {}: nothing is stored there yet (`apihub accounts add` or `apihub import` create it)",
            dir.display()
        );
    }
    Ok(Store::open(&dir)?.store)
}

/// Opens the store for a command that adds data, creating the data dir (and saying so).
fn open_store_creating(cli: &Cli) -> anyhow::Result<Store> {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    let missing = !dir.exists();
    let store = Store::open(&dir)?.store;
    if missing {
        eprintln!("created data dir {}", dir.display());
    }
    Ok(store)
}

/// The relay client every command uses: the saved network settings (proxy, timeouts,
/// extra CA file) and every site's proxy and User-Agent, as the app's refresh uses them.
pub(crate) fn relay_client(store: &Store) -> anyhow::Result<crate::relay::RelayClient> {
    Ok(crate::engine::network::client_from_store(store, crate::relay::ClientConfig::default())?)
}

fn reports(store: &Store) -> anyhow::Result<Vec<AccountReport>> {
    let mut states = store.account_states()?;
    report::overlay_local_today(store, &mut states)?;
    let alerts = store.load_settings()?.settings.alerts;
    let now = crate::domain::time::now_unix();
    Ok(store
        .list_accounts()?
        .iter()
        .map(|a| {
            let st = states.get(&a.id);
            AccountReport::new(a, st).with_alerts(crate::domain::alerts::evaluate(a, st, &alerts, now))
        })
        .collect())
}

fn print_reports(rows: &[AccountReport], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
    } else if rows.is_empty() {
        println!("no accounts");
    } else {
        println!(
            "{:>4}  {:<10}  {:<24}  {:<16}  {:>16}  {:>10}  status",
            "id", "kind", "site", "account", "balance", "today"
        );
        for r in rows {
            println!("{}", r.line());
        }
    }
    Ok(())
}

fn run_inner(cli: &Cli, cmd: &Cmd, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Accounts(AccountsCmd::List(args)) => {
            print_reports(&reports(&open_store(cli)?)?, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Accounts(AccountsCmd::Add(args)) => accounts::add(open_store_creating(cli)?, args, rt),
        Cmd::Accounts(AccountsCmd::Remove { id }) => {
            let mut store = open_store(cli)?;
            if store.remove_account(*id)? {
                log::info!("account {id} removed");
                println!("removed account {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                anyhow::bail!("no account with id {id}")
            }
        }
        Cmd::Accounts(AccountsCmd::Edit(args)) => {
            let mut store = open_store(cli)?;
            let account = store.account(args.id).map_err(|_| anyhow::anyhow!("no account with id {}", args.id))?;
            let mut meta = crate::store::AccountMeta::of(&account);
            if let Some(name) = &args.name {
                meta.name = name.trim().to_string();
            }
            if let Some(notes) = &args.notes {
                meta.notes = notes.clone();
            }
            if args.enable || args.disable {
                meta.disabled = args.disable;
            }
            if meta == crate::store::AccountMeta::of(&account) {
                println!("account {}: nothing to change", args.id);
            } else {
                store.update_account_meta(args.id, &meta)?;
                log::info!("account {} edited", args.id);
                println!("account {} updated", args.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Refresh(args) => refresh(open_store(cli)?, args, rt),
        Cmd::Detect { url, json } => {
            let client = relay_client(&open_store(cli)?)?;
            let d = rt.block_on(client.detect(url))?;
            let confidence = match d.confidence {
                crate::relay::detect::Confidence::Guessed => "guessed",
                crate::relay::detect::Confidence::Likely => "likely",
                crate::relay::detect::Confidence::Certain => "certain",
            };
            if *json {
                let v = serde_json::json!({"kind": d.kind.as_str(), "confidence": confidence, "reason": d.reason,
                    "system_name": d.system_name});
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{} ({confidence}): {}", d.kind, d.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkin(args) => checkin::run(open_store(cli)?, args, rt),
        Cmd::Redeem(args) => keys::run_redeem(open_store(cli)?, args, rt),
        Cmd::Keys(cmd) => keys::run_keys(open_store(cli)?, cmd, rt),
        Cmd::Backup(args) => backup::backup(cli, args),
        Cmd::Export(args) => backup::export(cli, args),
        Cmd::Import(args) => backup::import(cli, args),
        Cmd::Update(args) => backup::update(cli, args, rt),
        Cmd::Webdav(cmd) => webdav::run(cli, cmd, rt),
        Cmd::Logs(args) => match &args.action {
            Some(logs::LogsAction::Sync(a)) => logs::sync(open_store(cli)?, a, rt),
            None => logs::query(open_store(cli)?, &args.query),
        },
        Cmd::Stats(args) => logs::stats(open_store(cli)?, args),
        Cmd::Pricing(args) => pricing::pricing(open_store(cli)?, args),
        Cmd::Try(args) => pricing::try_cmd(open_store(cli)?, args, rt),
        Cmd::Use(args) => use_cmd::run(cli, args, rt),
        Cmd::Recover(cmd) => recover::run(cli, cmd),
        Cmd::Settings(cmd) => settings::run(open_store(cli)?, cmd),
        Cmd::Sync(args) => sync::run(cli, args, rt),
        Cmd::Serve(args) => gateway::serve(open_store(cli)?, args, rt),
        Cmd::Gateway(cmd) => gateway::run(open_store(cli)?, cmd),
        Cmd::Notify(cmd @ notify::NotifyCmd::Add(_)) => notify::run(open_store_creating(cli)?, cmd, rt),
        Cmd::Notify(cmd) => notify::run(open_store(cli)?, cmd, rt),
        Cmd::Summary(args) => notify::summary(open_store(cli)?, args, rt),
        Cmd::Watch(args) => watch::run(open_store(cli)?, args, rt),
    }
}

fn refresh(store: Store, args: &RefreshArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let all = store.list_accounts()?;
    let chosen: Vec<_> = if args.accounts.is_empty() {
        all.into_iter().filter(|a| !a.disabled).collect()
    } else {
        for id in &args.accounts {
            if !all.iter().any(|a| a.id == *id) {
                eprintln!("warning: no account with id {id}");
            }
        }
        all.into_iter().filter(|a| args.accounts.contains(&a.id)).collect()
    };
    if chosen.is_empty() {
        eprintln!("nothing to refresh");
        return Ok(ExitCode::from(2));
    }
    let ids: Vec<i64> = chosen.iter().map(|a| a.id).collect();
    let client = Arc::new(relay_client(&store)?);
    let shared: SharedStore = SharedStore::new(store);
    let quiet = args.json;
    let summary = rt.block_on(crate::engine::refresh_accounts(
        client.clone(),
        shared.clone(),
        chosen,
        crate::engine::DEFAULT_MAX_CONCURRENCY,
        crate::engine::CancelFlag::default(),
        move |e| {
            if let crate::engine::RefreshEvent::AccountDone { account_id, state } = e
                && !quiet
            {
                eprintln!("{account_id}: {}", outcome_line(&state));
            }
        },
    ));
    {
        let store = shared.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        let rows: Vec<AccountReport> = reports(&store)?.into_iter().filter(|r| ids.contains(&r.account_id)).collect();
        print_reports(&rows, args.json)?;
        if !args.json {
            println!("{} ok, {} failed", summary.ok, summary.failed);
        }
    }
    // Alerts that changed go out (cron: this is how they reach the phone).
    notify::after_work(&shared, &client, rt);
    Ok(ExitCode::SUCCESS)
}

fn outcome_line(state: &AccountState) -> String {
    match &state.last_error {
        Some(e) => format!("{}: {}", e.kind, e.message),
        None => "ok".into(),
    }
}

/// Writes what the logger collected into the store's activity log.
fn flush_activity(cli: &Cli) {
    let entries = crate::logging::drain();
    if entries.is_empty() {
        return;
    }
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    // Never creates a data dir or data file, and never touches one that does not open.
    if !dir.join(crate::store::DB_FILE).is_file() {
        return;
    }
    if let Ok(mut opened) = Store::open(&dir)
        && let Err(e) = opened.store.append_activity(&entries)
    {
        eprintln!("warning: activity log not saved: {e}");
    }
}
