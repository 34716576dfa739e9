//! `apihub logs sync`, `apihub logs` (query, JSON or CSV) and `apihub stats`.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::domain::money::CurrencySettings;
use crate::domain::usage_log::{Breakdown, CSV_HEADER, LogFilter, LogKind, UsageLog, csv_line};
use crate::engine::log_sync::{SyncEvent, SyncOptions, sync_accounts};
use crate::store::{SharedStore, Store};

/// `apihub logs …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogsArgs {
    /// `sync`; without it the stored rows are printed.
    #[command(subcommand)]
    pub action: Option<LogsAction>,
    /// The query (when no subcommand is given).
    #[command(flatten)]
    pub query: QueryArgs,
}

/// `apihub logs sync`.
#[derive(Debug, Subcommand)]
pub enum LogsAction {
    /// Fetch new usage log rows from the sites into the local store.
    Sync(SyncArgs),
}

/// Options of `logs sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only these accounts (repeatable); default: every enabled account.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<i64>,
    /// History depth of an account's first sync: 7, 30, 90 or 180 days. Saved as the
    /// setting later first syncs use (also in the app); default: the saved setting (30).
    #[arg(long, value_name = "N", value_parser = history_days_arg)]
    pub days: Option<i64>,
    /// Print one JSON array of per-account reports.
    #[arg(long)]
    pub json: bool,
}

fn history_days_arg(s: &str) -> Result<i64, String> {
    crate::engine::log_sync::parse_history_days(s).ok_or_else(|| "choose 7, 30, 90 or 180".to_string())
}

/// Filters and output of `logs`.
#[derive(Debug, Args, Default)]
pub struct QueryArgs {
    /// Only these accounts (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<i64>,
    /// From this date (`YYYY-MM-DD`, local midnight), or `7d` for the last 7 days.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only this model.
    #[arg(long, value_name = "M")]
    pub model: Option<String>,
    /// Only this type (consume, topup, refund, error, system, check_in, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// At most this many rows (0 = all).
    #[arg(long, default_value_t = 1_000)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
}

/// How `stats` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    /// Per model.
    Model,
    /// Per account.
    Account,
    /// Per local day.
    Day,
}

/// `apihub stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// From this date (`YYYY-MM-DD`) or `7d`.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only these accounts (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<i64>,
    /// Group by model, account or day.
    #[arg(long, value_enum, default_value = "model")]
    pub by: GroupBy,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `YYYY-MM-DD` (local midnight), `Nd` (N days ago) or unix seconds.
pub fn parse_since(s: &str, now_unix: i64) -> anyhow::Result<i64> {
    let s = s.trim();
    if let Some(days) = s.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
        return Ok(now_unix - days * 86_400);
    }
    if let Some(date) = crate::domain::time::parse_day(s) {
        return Ok(crate::domain::time::midnight_of(date));
    }
    s.parse::<i64>().map_err(|_| anyhow::anyhow!("--since wants YYYY-MM-DD, 7d or unix seconds, not {s:?}"))
}

fn local_time(unix: i64) -> String {
    crate::domain::time::local_text(unix, "%Y-%m-%d %H:%M:%S")
}

/// Account labels and currency settings by id.
/// Per account: its label, currency settings and whether its kind is money-native (its
/// rows' `quota` column then holds USD cost units, not quota).
fn labels(store: &Store) -> anyhow::Result<HashMap<i64, (String, CurrencySettings, bool)>> {
    let states = store.account_states()?;
    Ok(store
        .list_accounts()?
        .into_iter()
        .map(|a| {
            let cs =
                states.get(&a.id).and_then(|s| s.snapshot.as_ref()).map(|s| s.currency.clone()).unwrap_or_default();
            (a.id, (format!("{} / {}", a.site.name, a.username), cs, a.site.kind.is_money_native()))
        })
        .collect())
}

/// `apihub logs sync`.
pub fn sync(mut store: Store, args: &SyncArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let history_days = match args.days {
        Some(d) => {
            store.update_settings(|s| -> anyhow::Result<()> {
                s.logs.history_days = d;
                Ok(())
            })?;
            d
        }
        None => store.load_settings()?.settings.logs.history_days,
    };
    let all = store.list_accounts()?;
    let chosen: Vec<_> = if args.accounts.is_empty() {
        all.into_iter().filter(|a| !a.disabled).collect()
    } else {
        all.into_iter().filter(|a| args.accounts.contains(&a.id)).collect()
    };
    if chosen.is_empty() {
        eprintln!("nothing to sync");
        return Ok(ExitCode::from(2));
    }
    let client = super::relay_client(&store)?;
    let shared: SharedStore = SharedStore::new(store);
    let quiet = args.json;
    let opts = SyncOptions { history_days, ..Default::default() };
    let reports = rt.block_on(sync_accounts(client, shared, chosen, opts, move |SyncEvent::AccountDone(r)| {
        if !quiet {
            let outcome = r.error.clone().or(r.partial.clone().map(|p| format!("partial: {p}")));
            eprintln!(
                "{}: {} new of {} rows{}",
                r.account_id,
                r.inserted,
                r.fetched,
                outcome.map(|o| format!(" ({o})")).unwrap_or_default()
            );
        }
    }));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    Ok(if failed > 0 && failed == reports.len() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn filter_of(
    accounts: &[i64],
    since: Option<&str>,
    model: Option<&str>,
    kind: Option<&str>,
) -> anyhow::Result<LogFilter> {
    let now = crate::domain::time::now_unix();
    let kind = match kind {
        None => None,
        Some(k) => Some(LogKind::parse(k).ok_or_else(|| anyhow::anyhow!("unknown type {k:?}"))?),
    };
    Ok(LogFilter {
        accounts: accounts.to_vec(),
        since: since.map(|s| parse_since(s, now)).transpose()?,
        model: model.map(str::to_string),
        kind,
        ..Default::default()
    })
}

fn row_json(r: &UsageLog, label: &str, cs: &CurrencySettings, money_native: bool) -> Value {
    json!({"account_id": r.account_id, "account": label, "created_at": r.created_at, "time": local_time(r.created_at),
        "type": r.kind.as_str(), "raw_type": r.raw_type, "model": r.model, "token_name": r.token_name,
        "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
        "quota": (!money_native).then_some(r.quota),
        "cost": cs.quota_to_amount(r.quota), "currency": cs.currency(), "duration_ms": r.duration_ms,
        "is_stream": r.is_stream, "channel_id": r.channel_id, "group": r.group, "request_id": r.request_id,
        "content": r.content})
}

/// `apihub logs` (no subcommand): prints stored rows.
pub fn query(store: Store, q: &QueryArgs) -> anyhow::Result<ExitCode> {
    let f = filter_of(&q.accounts, q.since.as_deref(), q.model.as_deref(), q.kind.as_deref())?;
    let limit = if q.limit == 0 { usize::MAX / 2 } else { q.limit };
    let rows = store.query_usage_logs(&f, limit, 0)?;
    let labels = labels(&store)?;
    let default = (String::new(), CurrencySettings::default(), false);
    let label = |id: i64| labels.get(&id).unwrap_or(&default);
    if q.json {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| {
                let (name, cs, money_native) = label(r.account_id);
                row_json(r, name, cs, *money_native)
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if q.csv {
        println!("{CSV_HEADER}");
        for r in &rows {
            let (name, cs, money_native) = label(r.account_id);
            let (time, cost) = (local_time(r.created_at), cs.quota_to_amount(r.quota));
            println!("{}", csv_line(r, &time, name, *money_native, cost, &cs.currency()));
        }
    } else if rows.is_empty() {
        println!("no usage log rows (run `apihub logs sync` first)");
    } else {
        println!(
            "{:<19}  {:<20}  {:<8}  {:<24}  {:>8}  {:>8}  {:>12}",
            "time", "account", "type", "model", "prompt", "compl.", "cost"
        );
        for r in &rows {
            let (name, cs, _) = label(r.account_id);
            println!(
                "{:<19}  {:<20.20}  {:<8}  {:<24.24}  {:>8}  {:>8}  {:>12}",
                local_time(r.created_at),
                name,
                r.kind.as_str(),
                r.model,
                r.prompt_tokens,
                r.completion_tokens,
                cs.format_quota(r.quota)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn breakdown_json(b: &Breakdown) -> Value {
    json!({"key": b.key, "requests": b.totals.requests, "quota": b.totals.quota,
        "prompt_tokens": b.totals.prompt_tokens, "completion_tokens": b.totals.completion_tokens,
        "usd": CurrencySettings::default().quota_to_usd(b.totals.quota)})
}

/// `apihub stats`: billed totals and one breakdown.
pub fn stats(store: Store, a: &StatsArgs) -> anyhow::Result<ExitCode> {
    let f = filter_of(&a.accounts, a.since.as_deref(), None, None)?;
    let st = store.usage_log_stats(&f)?;
    let groups = match a.by {
        GroupBy::Model => &st.by_model,
        GroupBy::Account => &st.by_account,
        GroupBy::Day => &st.by_day,
    };
    if a.json {
        let v = json!({"total": breakdown_json(&Breakdown { key: "total".into(), totals: st.totals }),
            "by": format!("{:?}", a.by).to_lowercase(), "groups": groups.iter().map(breakdown_json).collect::<Vec<_>>()});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let cs = CurrencySettings::default();
    println!("{:<28}  {:>9}  {:>12}  {:>12}  {:>12}", "group", "requests", "prompt", "completion", "cost (USD)");
    for b in groups.iter().chain(std::iter::once(&Breakdown { key: "TOTAL".into(), totals: st.totals })) {
        println!(
            "{:<28.28}  {:>9}  {:>12}  {:>12}  {:>12}",
            b.key,
            b.totals.requests,
            b.totals.prompt_tokens,
            b.totals.completion_tokens,
            cs.format_quota(b.totals.quota)
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_dates_days_and_seconds() {
        assert_eq!(parse_since("7d", 1_000_000).unwrap(), 1_000_000 - 7 * 86_400);
        assert_eq!(parse_since("12345", 0).unwrap(), 12_345);
        assert!(parse_since("2026-11-01", 0).unwrap() > 1_700_000_000);
        assert!(parse_since("yesterday", 0).is_err());
    }
}
