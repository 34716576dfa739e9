//! `apihub pricing`: the comparison from the stored prices (no network), ranked by the
//! effective price of a workload preset; `apihub try`: one minimal request to a model
//! with one of an account's keys, stored as the model's "last verified".

use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::domain::pricing::compare::format_amount;
use crate::domain::pricing::{
    BillingType, CompareOptions, LastVerified, Preset, RowFilter, SortColumn, VerifiedMap, book_from, build_comparison,
    currency_symbol,
};
use crate::engine::try_model::{KeyChoice, try_model};
use crate::relay::try_model::{DEFAULT_MAX_TOKENS, DEFAULT_PROMPT, TryKind, TryRequest};
use crate::store::Store;

/// `apihub pricing`.
#[derive(Debug, clap::Args)]
pub struct PricingArgs {
    /// Model name: a substring, or a `*` wildcard over the whole name (`gpt-4*`).
    #[arg(long, value_name = "PATTERN")]
    pub model: Option<String>,
    /// Workload preset for the effective price: `chat` (85/15) or `coding-agent` (98.7/1.3).
    #[arg(long, value_name = "NAME", default_value = "chat")]
    pub preset: String,
    /// Every eligible group, not only each account's cheapest.
    #[arg(long)]
    pub all_groups: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `apihub try`.
#[derive(Debug, clap::Args)]
pub struct TryArgs {
    /// Account id (see `accounts list`).
    #[arg(long = "account", value_name = "ID")]
    pub account: i64,
    /// The exact model name.
    #[arg(long)]
    pub model: String,
    /// The one-line prompt (embedding models: the input).
    #[arg(long, default_value = DEFAULT_PROMPT)]
    pub prompt: String,
    /// Most tokens of the reply.
    #[arg(long, default_value_t = DEFAULT_MAX_TOKENS)]
    pub max_tokens: u32,
    /// Use this key (its id on the site, see `keys list`); default: the first enabled one.
    #[arg(long, value_name = "KEY_ID")]
    pub key: Option<i64>,
    /// Send as an embeddings request even if the name does not say so.
    #[arg(long)]
    pub embedding: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// One ranked row.
#[derive(Debug, Serialize, PartialEq)]
pub struct PricingRowJson {
    /// Rank (1 = cheapest).
    pub rank: usize,
    /// Model.
    pub model: String,
    /// Vendor, when known.
    pub vendor: Option<String>,
    /// Site name.
    pub site: String,
    /// Account store id.
    pub account_id: i64,
    /// Account label.
    pub account: String,
    /// Group (null: no usable group).
    pub group: Option<String>,
    /// `per_token`, `per_call` or null (unknown).
    pub billing: Option<BillingType>,
    /// USD per 1M input tokens.
    pub input_usd_per_1m: Option<f64>,
    /// USD per 1M output tokens.
    pub output_usd_per_1m: Option<f64>,
    /// USD per 1M cache-read tokens.
    pub cache_read_usd_per_1m: Option<f64>,
    /// USD per call.
    pub usd_per_call: Option<f64>,
    /// The preset's effective price in USD (per 1M tokens, or per call).
    pub effective_usd: Option<f64>,
    /// The effective price in real money (`paid_currency`), from the account's paid ratio.
    pub real_cost: Option<f64>,
    /// Currency of `real_cost`.
    pub paid_currency: String,
    /// The cheapest row for its model.
    pub cheapest: bool,
    /// The last try of this model on this account.
    pub verified: Option<LastVerified>,
}

fn money(v: Option<f64>, sym: &str) -> String {
    v.map(|v| format!("{sym}{}", format_amount(v))).unwrap_or_else(|| "unknown".into())
}

/// Runs `apihub pricing`.
pub fn pricing(store: Store, args: &PricingArgs) -> anyhow::Result<ExitCode> {
    let preset = Preset::parse(&args.preset)
        .filter(|p| *p != Preset::Custom)
        .with_context(|| format!("unknown preset {:?}: use chat or coding-agent", args.preset))?;
    let accounts = store.list_accounts()?;
    let states = store.account_states()?;
    let verified: VerifiedMap = store.trials()?.into_iter().collect();
    let book = book_from(&accounts, &states);
    let opts = CompareOptions {
        filter: RowFilter {
            model_pattern: args.model.clone().unwrap_or_default(),
            all_groups: args.all_groups,
            ..RowFilter::default()
        },
        weights: preset.weights(None),
        sort: SortColumn::Effective,
        ..CompareOptions::default()
    };
    let c = build_comparison(&book, &opts);
    let rows: Vec<PricingRowJson> = c
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = &book.accounts[r.account];
            let p = &a.rows[r.row];
            PricingRowJson {
                rank: i + 1,
                model: p.model.clone(),
                vendor: p.vendor.clone(),
                site: a.site_name.clone(),
                account_id: a.account_id,
                account: a.account_label.clone(),
                group: p.group.clone(),
                billing: p.billing_type(),
                input_usd_per_1m: p.input_usd_per_1m,
                output_usd_per_1m: p.output_usd_per_1m,
                cache_read_usd_per_1m: p.cache_read_usd_per_1m,
                usd_per_call: p.usd_per_call,
                effective_usd: r.effective_usd,
                real_cost: r.effective_real,
                paid_currency: book.paid_currency.clone(),
                cheapest: r.cheapest,
                verified: verified.get(a.account_id, &p.model).cloned(),
            }
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        if book.row_count() == 0 {
            println!("no prices stored: run `apihub refresh` first");
        } else {
            println!("no prices match {:?}", opts.filter.model_pattern);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let paid = currency_symbol(&book.paid_currency).to_string();
    println!(
        "{:>4}  {:<28}  {:<28}  {:<10}  {:>11}  {:>11}  {:>11}  {:>11}  {:>11}  verified",
        "#",
        "model",
        "site · account",
        "group",
        "in /1M",
        "out /1M",
        "per call",
        preset.as_str(),
        "real cost"
    );
    for r in &rows {
        let who = if r.account.is_empty() { r.site.clone() } else { format!("{} · {}", r.site, r.account) };
        let mark = if r.cheapest { "*" } else { " " };
        let verified = match &r.verified {
            Some(v) if v.ok => format!("ok {}", v.latency()),
            Some(v) => format!("{}: {}", v.error_kind.as_deref().unwrap_or("error"), v.message),
            None => String::new(),
        };
        println!(
            "{:>4}{mark} {:<28}  {:<28}  {:<10}  {:>11}  {:>11}  {:>11}  {:>11}  {:>11}  {verified}",
            r.rank,
            r.model,
            who,
            r.group.as_deref().unwrap_or("-"),
            money(r.input_usd_per_1m, "$"),
            money(r.output_usd_per_1m, "$"),
            money(r.usd_per_call, "$"),
            money(r.effective_usd, "$"),
            money(r.real_cost, &paid),
        );
    }
    println!(
        "{} rows · {} models · * cheapest per model · prices per 1M tokens unless per call",
        rows.len(),
        c.model_count
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `apihub try`. Exit status 0 when the model answered, 1 when it did not.
pub fn try_cmd(store: Store, args: &TryArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let account = store.account(args.account).with_context(|| format!("no account with id {}", args.account))?;
    let client = super::relay_client(&store)?;
    let shared = crate::store::SharedStore::new(store);
    let mut req = TryRequest::new(&args.model);
    req.prompt = args.prompt.clone();
    req.max_tokens = args.max_tokens.max(1);
    if args.embedding {
        req.kind = TryKind::Embedding;
    }
    let key = args.key.map(KeyChoice::Id).unwrap_or_default();
    let report = rt.block_on(try_model(&client, &shared, &account, key, req))?;
    if args.json {
        let v = serde_json::json!({
            "account_id": report.account_id, "model": report.model, "kind": report.kind,
            "key_name": report.key_name, "key": report.key_masked, "ok": report.result.is_ok(),
            "reply": report.result.as_ref().ok().map(|o| o.reply.clone()),
            "dimensions": report.result.as_ref().ok().and_then(|o| o.dimensions),
            "ttft_ms": report.verified.ttft_ms, "total_ms": report.verified.total_ms,
            "finish_reason": report.result.as_ref().ok().and_then(|o| o.finish_reason.clone()),
            "error": report.result.as_ref().err(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} on {} with key {} ({})", report.model, account.site.url, report.key_name, report.key_masked);
        match &report.result {
            Ok(o) => {
                match o.dimensions {
                    Some(d) => println!("ok: {d} dimensions"),
                    None => println!("ok: {}", o.reply),
                }
                println!("latency: {}", report.verified.latency());
            }
            Err(e) => println!("failed: {e}"),
        }
    }
    Ok(if report.result.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
