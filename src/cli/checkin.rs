//! `apihub checkin [--account ID]... [--force] [--json]`: checks in every eligible
//! enabled account (or those given) and prints one result per account. Accounts
//! already done today (in the site's day; also those marked done by hand) are listed
//! as `already`/`manual` without asking the site, so it is safe to run from cron
//! several times a day; `--force` asks the sites anyway. Exit 0 whatever the
//! per-account results are; the list says what happened.

use crate::domain::money::Amount;
use std::process::ExitCode;

use serde::Serialize;

use crate::engine::actions::{CheckinStatus, CheckinSummary, checkin_all_opts};
use crate::store::{SharedStore, Store};

/// `apihub checkin`.
#[derive(Debug, clap::Args)]
pub struct CheckinArgs {
    /// Only these accounts (repeatable); default: every eligible enabled account.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<i64>,
    /// Print one JSON array.
    #[arg(long)]
    pub json: bool,
    /// Ask the sites even for accounts recorded as done today.
    #[arg(long)]
    pub force: bool,
}

/// One account's line in `--json`.
#[derive(Debug, Serialize)]
struct Row {
    account_id: i64,
    site: String,
    account: String,
    url: String,
    /// `done`, `already`, `manual`, `needs_human`, `failed`.
    result: &'static str,
    /// Quota; `null` for a money reward (and when the site did not say).
    reward_quota: Option<i64>,
    /// For display, never a non-zero reward as zero (`$0.0049`).
    reward: Option<String>,
    message: Option<String>,
}

fn rows(s: &CheckinSummary) -> Vec<Row> {
    s.entries
        .iter()
        .map(|e| {
            let (result, amount, reward, message) = match &e.status {
                CheckinStatus::Done { reward, reward_text } => ("done", reward.as_ref(), reward_text.clone(), None),
                CheckinStatus::Already => ("already", None, None, None),
                CheckinStatus::Manual => ("manual", None, None, None),
                CheckinStatus::NeedsHuman { message } => ("needs_human", None, None, Some(message.clone())),
                CheckinStatus::Failed { message, .. } => ("failed", None, None, Some(message.clone())),
            };
            Row {
                account_id: e.account_id,
                site: e.site_name.clone(),
                account: e.account.clone(),
                url: e.site_url.clone(),
                result,
                reward_quota: amount.and_then(Amount::quota),
                reward,
                message,
            }
        })
        .collect()
}

/// Runs the batch.
pub fn run(store: Store, args: &CheckinArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let all = store.list_accounts()?;
    let chosen: Vec<_> = if args.accounts.is_empty() {
        all
    } else {
        for id in &args.accounts {
            if !all.iter().any(|a| a.id == *id) {
                eprintln!("warning: no account with id {id}");
            }
        }
        // The user named them: check them in even when disabled.
        all.into_iter()
            .filter(|a| args.accounts.contains(&a.id))
            .map(|mut a| {
                a.disabled = false;
                a
            })
            .collect()
    };
    let client = super::relay_client(&store)?;
    let shared: SharedStore = SharedStore::new(store);
    let summary =
        rt.block_on(checkin_all_opts(&client, &shared, chosen, crate::engine::DEFAULT_MAX_CONCURRENCY, args.force))?;
    let rows = rows(&summary);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &rows {
            let detail = r.reward.clone().or_else(|| r.message.clone()).unwrap_or_default();
            println!("{:>4}  {:<24}  {:<16}  {:<11}  {detail}", r.account_id, r.site, r.account, r.result);
        }
        let (d, a, h, f) = summary.counts();
        println!("{d} done, {a} already, {h} need you, {f} failed, {} without check-in", summary.unsupported);
    }
    super::notify::after_work(&shared, &client, rt);
    Ok(ExitCode::SUCCESS)
}
