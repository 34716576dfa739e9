//! `apihub sync [--passphrase-env VAR] [--save-passphrase] [--dry-run] [--json]`,
//! `apihub sync conflicts [--json]`, `apihub sync resolve ID --take local|remote`,
//! `apihub sync history [--json]`, `apihub sync restore N [--dry-run] [--json]`.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::{Cli, open_store};
use crate::store::SharedStore;
use crate::sync::model::Side;
use crate::sync::{SyncOptions, SyncReport, redacted};

/// `apihub sync …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    /// `conflicts`, `resolve`, `history` or `restore`; without it this device syncs.
    #[command(subcommand)]
    pub action: Option<SyncAction>,
    /// Options of a sync.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `apihub sync conflicts | resolve | history | restore`.
#[derive(Debug, Subcommand)]
pub enum SyncAction {
    /// List the conflicts of earlier syncs (both values; the applied one marked).
    Conflicts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the sync documents kept on the server (the history, `sync.keep` of them).
    History {
        /// Read the sync passphrase from this environment variable (default: the saved one).
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore the state of sync document N as a new sync: its records and values come
    /// back as new edits on every device (records made since stay; nothing is deleted
    /// from the history). Use --dry-run first to see what it would change.
    Restore {
        /// The document's generation (see `sync history`).
        generation: u64,
        /// Options (passphrase, dry run, JSON).
        #[command(flatten)]
        run: RunArgs,
    },
    /// Settle a conflict by keeping this device's value or the other one.
    Resolve {
        /// Conflict id (see `sync conflicts`).
        id: i64,
        /// Which value to keep.
        #[arg(long, value_enum)]
        take: Take,
    },
}

/// The side of a conflict to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Take {
    /// This device's value.
    Local,
    /// The other device's value.
    Remote,
}

/// Options of `apihub sync`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Read the sync passphrase from this environment variable (default: the one saved
    /// on this device).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Save the passphrase on this device (sealed with its key) for later syncs.
    #[arg(long, requires = "passphrase_env")]
    pub save_passphrase: bool,
    /// Show what would change here and on the server; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `apihub sync …`.
pub fn run(cli: &Cli, args: &SyncArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let store = SharedStore::new(open_store(cli)?);
    match &args.action {
        None => sync(&store, &args.run, None, rt),
        Some(SyncAction::Restore { generation, run }) => sync(&store, run, Some(*generation), rt),
        Some(SyncAction::History { passphrase_env, json }) => {
            let passphrase = passphrase_from(passphrase_env.as_deref())?;
            let list = rt
                .block_on(crate::sync::history(&store, passphrase.as_deref()))
                .map_err(|e| anyhow::anyhow!("sync history: {e}"))?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no sync documents on the server yet");
            } else {
                println!("{:>10}  {:<20}  {:<16}  records", "generation", "written (UTC)", "device");
                for h in &list {
                    println!(
                        "{:>10}  {:<20}  {:<16}  {} sites, {} accounts, {} settings{}",
                        h.generation,
                        h.written_at,
                        h.device,
                        h.sites,
                        h.accounts,
                        h.settings,
                        if h.conflicts > 0 { format!(", {} conflicts", h.conflicts) } else { String::new() }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(SyncAction::Conflicts { json }) => conflicts(&store, *json),
        Some(SyncAction::Resolve { id, take }) => {
            let side = match take {
                Take::Local => Side::Local,
                Take::Remote => Side::Remote,
            };
            rt.block_on(crate::sync::resolve(&store, *id, side)).map_err(|e| anyhow::anyhow!("sync: {e}"))?;
            println!("conflict {id} settled ({}); run `apihub sync` to share it", side.as_str());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn passphrase_from(var: Option<&str>) -> anyhow::Result<Option<String>> {
    match var {
        Some(var) => Ok(Some(
            std::env::var(var)
                .map_err(|_| anyhow::anyhow!("environment variable {var} (for --passphrase-env) is not set"))?,
        )),
        None => Ok(None),
    }
}

fn sync(
    store: &SharedStore,
    args: &RunArgs,
    restore: Option<u64>,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<ExitCode> {
    let passphrase = passphrase_from(args.passphrase_env.as_deref())?;
    let opts = SyncOptions { passphrase: passphrase.clone(), dry_run: args.dry_run, restore, ..SyncOptions::default() };
    let what = if restore.is_some() { "sync restore" } else { "sync" };
    let report = rt.block_on(crate::sync::run(store, &opts)).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    if args.save_passphrase
        && !args.dry_run
        && let Some(p) = passphrase
    {
        store.with(|s| {
            s.update_settings(|st| -> Result<(), crate::store::StoreError> {
                st.sync.passphrase = p;
                Ok(())
            })
            .map(|_| ())
        })?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &SyncReport) {
    let sections = [("here", &r.local), ("on the server", &r.remote)];
    let verb = if r.dry_run { "would change" } else { "changed" };
    for (place, c) in sections {
        if c.is_empty() {
            println!("{place}: nothing {verb}");
            continue;
        }
        println!("{place} ({verb}):");
        for line in &c.added {
            println!("  + {line}");
        }
        for line in &c.changed {
            println!("  ~ {line}");
        }
        for line in &c.deleted {
            println!("  - {line}");
        }
    }
    for c in &r.conflicts {
        let what = if c.field.is_empty() { "deleted on one side, edited on the other".into() } else { c.field.clone() };
        println!("conflict: {} ({what}): {} value applied", c.label, c.applied);
    }
    if r.open_conflicts > r.conflicts.len() {
        println!("{} conflicts open (found here or on another device)", r.open_conflicts);
    }
    if r.open_conflicts > 0 {
        println!("see `apihub sync conflicts`; `apihub sync resolve ID --take local|remote` picks the other value");
    }
    if let Some(g) = r.restored {
        let verb = if r.dry_run { "would restore" } else { "restored" };
        println!("{verb} the state of generation {g} as new edits (records made since stay)");
    }
    if r.dry_run {
        println!("dry run: nothing written (server generation {})", r.generation);
    } else if r.uploaded {
        println!("synced: server generation {}", r.generation);
    } else {
        println!("synced: server generation {} (nothing to upload)", r.generation);
    }
}

fn conflicts(store: &SharedStore, json: bool) -> anyhow::Result<ExitCode> {
    let rows = store.with(|s| s.sync_conflicts())?;
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|c| {
                serde_json::json!({"id": c.id, "record": c.label, "field": c.field,
                    "local": redacted(&c.field, &c.local), "remote": redacted(&c.field, &c.remote),
                    "applied": c.applied,
                    "remote_device": c.remote_device, "found_by": c.found_by,
                    "created_at_unix": c.created_at_unix})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if rows.is_empty() {
        println!("no sync conflicts");
    } else {
        for c in &rows {
            let field = if c.field.is_empty() { "(deleted vs edited)".to_string() } else { c.field.clone() };
            let mark = |side: &str| if c.applied == side { " (applied)" } else { "" };
            let found = if c.found_by.is_empty() { String::new() } else { format!("  (found by {})", c.found_by) };
            println!("{:>4}  {}  {field}{found}", c.id, c.label);
            println!("      local{}: {}", mark("local"), shown(&c.field, &c.local));
            println!("      remote{} ({}): {}", mark("remote"), c.remote_device, shown(&c.field, &c.remote));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A conflict value for the terminal.
fn shown(field: &str, value: &str) -> String {
    match redacted(field, value) {
        serde_json::Value::Null => "(deleted)".into(),
        serde_json::Value::String(s) => s,
        v => v.to_string(),
    }
}
