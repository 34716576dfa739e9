//! The headless command line. A thin layer over the same modules the GUI uses.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::domain::Account;
use crate::store::{Store, resolve_data_dir};

/// API Hub Desk: manage accounts on One API-family relay sites.
#[derive(Debug, Parser)]
#[command(name = "apihub", version = crate::LONG_VERSION, about)]
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
}

/// `apihub accounts …`
#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List accounts from the local store (no network).
    List(ListArgs),
    /// Remove an account.
    Remove {
        /// Account id (see `accounts list`).
        id: i64,
    },
}

/// Output options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One account as the CLI prints it.
#[derive(Debug, Serialize)]
pub struct AccountJson {
    /// Store id.
    pub account_id: i64,
    /// Site display name.
    pub site_name: String,
    /// Site base URL.
    pub site_url: String,
    /// Site kind.
    pub kind: String,
    /// Username on the site.
    pub username: String,
    /// User id on the site.
    pub user_id: String,
    /// Sign-in method.
    pub auth: String,
    /// Skipped by refresh-all.
    pub disabled: bool,
}

impl From<&Account> for AccountJson {
    fn from(a: &Account) -> Self {
        AccountJson {
            account_id: a.id,
            site_name: a.site.name.clone(),
            site_url: a.site.url.clone(),
            kind: a.site.kind.as_str().to_string(),
            username: a.username.clone(),
            user_id: a.user_id.clone(),
            auth: a.auth.as_str().to_string(),
            disabled: a.disabled,
        }
    }
}

/// Runs a subcommand. Errors print one line and exit with status 1.
pub fn run(cli: &Cli, cmd: &Cmd) -> ExitCode {
    let result = run_inner(cli, cmd);
    flush_activity(cli);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn open_store(cli: &Cli) -> anyhow::Result<Store> {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    let opened = Store::open(&dir)?;
    if let Some(q) = &opened.quarantined {
        eprintln!("warning: the database was damaged ({}); moved to {}", q.reason, q.moved_to.display());
    }
    Ok(opened.store)
}

fn run_inner(cli: &Cli, cmd: &Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Accounts(AccountsCmd::List(args)) => {
            let store = open_store(cli)?;
            let accounts = store.list_accounts()?;
            let rows: Vec<AccountJson> = accounts.iter().map(AccountJson::from).collect();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no accounts");
            } else {
                println!("{:>4}  {:<10}  {:<24}  {:<36}  account", "id", "kind", "site", "url");
                for r in rows {
                    let who = if r.username.is_empty() { &r.user_id } else { &r.username };
                    println!("{:>4}  {:<10}  {:<24}  {:<36}  {who}", r.account_id, r.kind, r.site_name, r.site_url);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
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
    }
}

/// Writes what the logger collected into the store's activity log.
fn flush_activity(cli: &Cli) {
    let entries = crate::logging::drain();
    if entries.is_empty() {
        return;
    }
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    if let Ok(mut opened) = Store::open(&dir)
        && let Err(e) = opened.store.append_activity(&entries)
    {
        eprintln!("warning: activity log not saved: {e}");
    }
}
