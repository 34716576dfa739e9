//! `apihub redeem` and `apihub keys list|create|delete|note`: key management and redeem
//! from the command line, through the same engine actions as the window.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::engine::actions::{self, KeyAction};
use crate::relay::keys::KeySpec;
use crate::store::{SharedStore, Store};

/// `apihub keys …`
#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// List an account's keys as the site reports them now.
    List {
        /// Account id (see `accounts list`).
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print full keys (masked like `sk-abc…xyz` otherwise, in the table and the JSON).
        #[arg(long)]
        reveal: bool,
    },
    /// Create a key.
    Create {
        /// Account id.
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// Key name (1 to 30 characters).
        #[arg(long)]
        name: String,
        /// Quota in US dollars.
        #[arg(long, value_name = "USD", conflicts_with = "unlimited")]
        quota: Option<f64>,
        /// No quota limit.
        #[arg(long)]
        unlimited: bool,
        /// Last valid day, `YYYY-MM-DD` (default: never expires).
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
    },
    /// Set your own note on a key (kept here and synced between devices; the site has
    /// none). An empty TEXT clears it.
    Note {
        /// Account id.
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// The key's id on the site (see `keys list`).
        key_id: i64,
        /// The note.
        text: String,
    },
    /// Delete a key.
    Delete {
        /// Account id.
        #[arg(long = "account", value_name = "ID")]
        account: i64,
        /// The key's id on the site (see `keys list`).
        key_id: i64,
    },
}

/// `apihub redeem`.
#[derive(Debug, clap::Args)]
pub struct RedeemArgs {
    /// Account id.
    #[arg(long = "account", value_name = "ID")]
    pub account: i64,
    /// The redemption code.
    pub code: String,
}

fn setup(store: Store, id: i64) -> anyhow::Result<(crate::relay::RelayClient, SharedStore, crate::domain::Account)> {
    let account = store.account(id).with_context(|| format!("no account with id {id}"))?;
    let client = super::relay_client(&store)?;
    Ok((client, SharedStore::new(store), account))
}

fn day_end(s: &str) -> anyhow::Result<i64> {
    let d = crate::domain::time::parse_day(s).context("dates look like YYYY-MM-DD")?;
    crate::domain::time::day_end_of(d).context("bad local date")
}

/// Runs `apihub keys …`.
pub fn run_keys(store: Store, cmd: &KeysCmd, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCmd::Note { account, key_id, text } => {
            let mut store = store;
            store.account(*account).with_context(|| format!("no account with id {account}"))?;
            store.set_key_note(*account, *key_id, text)?;
            let what = if text.trim().is_empty() { "cleared" } else { "saved" };
            println!("note on key {key_id} of account {account} {what}");
            Ok(ExitCode::SUCCESS)
        }
        KeysCmd::List { account, json, reveal } => {
            let notes = store.key_notes(*account)?;
            let note = |id: i64| notes.get(&id).cloned().unwrap_or_default();
            let creds = store.credentials(*account)?;
            let (client, _, acc) = setup(store, *account)?;
            let target = crate::relay::AccountRef {
                site_url: acc.site.url.clone(),
                kind: acc.site.kind,
                user_id: acc.user_id.clone(),
                auth: acc.auth,
            };
            let keys = rt.block_on(client.list_keys(&target, &creds))?;
            let shown = |k: &str| if *reveal { k.to_string() } else { crate::logging::mask_secret(k) };
            if *json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({"id": k.id, "name": k.name, "key": shown(&k.key), "masked": k.masked || !*reveal, "status": k.status,
                            "remain_quota": k.remain.quota(), "used_quota": k.used.quota(), "unlimited_quota": k.unlimited_quota,
                            "expired_time": k.expired_time, "group": k.group, "models": k.models, "note": note(k.id)})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for k in &keys {
                    let quota = match (&k.remain, k.unlimited_quota) {
                        (_, true) => "unlimited".to_string(),
                        (crate::domain::money::Amount::Quota(q), _) => q.to_string(),
                        (money, _) => money.text(&Default::default()),
                    };
                    let key = shown(&k.key);
                    let n = note(k.id);
                    let n = if n.is_empty() { n } else { format!("  note: {n}") };
                    println!("{:>6}  {:<30}  {key:<14}  status {}  quota {quota}{n}", k.id, k.name, k.status);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCmd::Create { account, name, quota, unlimited, expires } => {
            let (client, shared, acc) = setup(store, *account)?;
            let cs = shared
                .lock()
                .map_err(|_| anyhow::anyhow!("store lock poisoned"))?
                .account_state(*account)?
                .snapshot
                .map(|s| s.currency)
                .unwrap_or_default();
            let spec = KeySpec {
                name: name.clone(),
                remain_quota: quota.map(|usd| cs.usd_to_quota(usd)).unwrap_or(0),
                unlimited_quota: *unlimited || quota.is_none(),
                expired_time: expires.as_deref().map(day_end).transpose()?.unwrap_or(-1),
                ..KeySpec::default()
            };
            let done = rt.block_on(actions::run_key_action(&client, &shared, &acc, KeyAction::Create(spec)))?;
            if let Some(k) = done.created {
                println!("created key {} (id {})", k.name, k.id);
                if let Some(full) = done.full_key {
                    println!("{full}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCmd::Delete { account, key_id } => {
            let (client, shared, acc) = setup(store, *account)?;
            rt.block_on(actions::run_key_action(&client, &shared, &acc, KeyAction::Delete { id: *key_id }))?;
            println!("deleted key {key_id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `apihub redeem`.
pub fn run_redeem(store: Store, args: &RedeemArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let (client, shared, acc) = setup(store, args.account)?;
    let done = rt.block_on(actions::redeem(&client, &shared, &acc, &args.code))?;
    println!("redeemed: +{} ({} quota)", done.amount_text, done.quota);
    Ok(ExitCode::SUCCESS)
}
