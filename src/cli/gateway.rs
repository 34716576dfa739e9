//! `apihub serve` (the local gateway, headless) and `apihub gateway …` (its key, policy,
//! aliases, pins, candidates and request log).

use std::net::SocketAddr;
use std::process::ExitCode;

use std::io::Write;

use anyhow::Context;

use crate::domain::gateway::{AttemptRecord, valid_route_name};
use crate::gateway::{AliasTarget, Gateway, GatewayDeps, GatewaySettings, Policy, TableView, local_key, parse_listen};
use crate::relay::{ClientConfig, RelayClient};
use crate::store::{GatewayAccountSummary, GatewayLogQuery, GatewaySummaryQuery, SharedStore, Store};

/// `apihub serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen here instead of the saved address (127.0.0.1:8765 by default). An address
    /// other than loopback lets other machines spend your balances with the local key.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
}

/// `apihub gateway …`.
#[derive(Debug, clap::Subcommand)]
pub enum GatewayCmd {
    /// Print the local key clients must send (`--rotate` makes a new one first).
    Key {
        /// Replace the key; clients holding the old one are refused from then on.
        #[arg(long)]
        rotate: bool,
    },
    /// Print the routing policy, or set it: cheapest, balance, fastest or order.
    Policy {
        /// The new policy.
        name: Option<String>,
    },
    /// Print the accounting records (newest first).
    Log(LogArgs),
    /// Print per-account figures: attempts, successes, tokens, cost, mean time to first byte.
    Stats {
        /// Over the last this many hours (0 = all records kept).
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Only these accounts.
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<i64>,
        /// Only this model (the client's name or the upstream one).
        #[arg(long)]
        model: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print each model's candidates in the order they are tried.
    Candidates {
        /// Only this client model.
        model: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make NAME an alias of site-side models (`MODEL` or `MODEL#ACCOUNT_ID`); no targets removes it.
    Alias {
        /// The name clients use.
        name: String,
        /// What it stands for, tried in the policy's order.
        targets: Vec<String>,
    },
    /// Pin MODEL to these accounts, in this order; no accounts removes the pin.
    Pin {
        /// The client model name.
        model: String,
        /// Account ids.
        accounts: Vec<i64>,
    },
}

/// `apihub gateway log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only this account.
    #[arg(long = "account", value_name = "ID")]
    pub account: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `apihub serve` until Ctrl-C (or SIGTERM).
pub fn serve(store: Store, args: &ServeArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let saved = gateway_settings(&store)?;
    let listen: SocketAddr = match &args.listen {
        Some(l) => parse_listen(l).map_err(anyhow::Error::msg)?,
        None => saved.listen_addr().map_err(anyhow::Error::msg).context("the saved gateway.listen")?,
    };
    if !listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {listen}, not loopback: anyone who can reach it and has the local key can spend your balances"
        );
    }
    let relay = super::relay_client(&store)?;
    let shared = SharedStore::new(store);
    let deps = GatewayDeps { store: shared, relay, clock: None };
    rt.block_on(async move {
        // Signals are caught from before the address is printed: a supervisor that reads
        // it and stops the gateway at once still gets a clean stop.
        let stop = stop_signal();
        let gw = Gateway::start(deps, listen).await?;
        let view = gw.view(None);
        // A long-running server must not die when whoever started it closed its output.
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        let _ = writeln!(out, "gateway listening on http://{}/v1", gw.local_addr());
        let _ = writeln!(
            out,
            "policy {}, {} models; local key {} (`apihub gateway key` prints it)",
            view.policy,
            view.models.len(),
            gw.local_key().masked()
        );
        let _ = out.flush();
        for n in &view.notes {
            let _ = writeln!(err, "note: account {}: {}", n.account_id, n.reason);
        }
        stop.await;
        let _ = writeln!(err, "stopping…");
        gw.stop().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM; the handlers are installed when this is called.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut i), Ok(mut t)) => {
                tokio::select! {
                    _ = i.recv() => {}
                    _ = t.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn gateway_settings(store: &Store) -> anyhow::Result<GatewaySettings> {
    Ok(store.load_settings()?.settings.gateway)
}

/// Saves the `gateway` section (only the keys that changed), refusing values it cannot use.
fn save(store: &mut Store, s: GatewaySettings) -> anyhow::Result<()> {
    if let Some((key, expected)) = s.problems().into_iter().next() {
        anyhow::bail!("gateway settings not saved: {key} takes {expected}");
    }
    store.update_settings(|all| {
        all.gateway = s;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

/// Runs `apihub gateway …`.
pub fn run(mut store: Store, cmd: &GatewayCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        GatewayCmd::Key { rotate } => {
            let key = if *rotate { local_key::rotate(&mut store)? } else { local_key::load_or_create(&mut store)? };
            if *rotate {
                log::info!("gateway local key rotated");
                eprintln!("new local key (a running gateway picks it up within seconds):");
            }
            println!("{}", key.expose());
        }
        GatewayCmd::Policy { name } => {
            let mut s = gateway_settings(&store)?;
            if let Some(name) = name {
                s.policy = Policy::parse(name)
                    .with_context(|| format!("unknown policy `{name}`: use cheapest, balance, fastest or order"))?;
                log::info!("gateway policy set to {}", s.policy);
                save(&mut store, s.clone())?;
            }
            println!("{}", s.policy);
        }
        GatewayCmd::Log(args) => {
            let rows = store.gateway_attempts(&GatewayLogQuery {
                limit: args.limit,
                account: args.account,
                since_ms: None,
            })?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_log(&rows);
            }
        }
        GatewayCmd::Stats { hours, accounts, model, json } => {
            let since_ms = (*hours > 0).then(|| crate::domain::time::now_unix() * 1_000 - hours * 3_600_000);
            let q = GatewaySummaryQuery { since_ms, until_ms: None, accounts: accounts.clone(), model: model.clone() };
            let rows = store.gateway_summary(&q)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_stats(&rows);
            }
        }
        GatewayCmd::Candidates { model, json } => {
            let view = offline_view(&mut store, model.as_deref())?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_candidates(&view);
            }
        }
        GatewayCmd::Alias { name, targets } => {
            if !valid_route_name(name) {
                anyhow::bail!("`{name}` cannot be an alias name (no ; = or ,)");
            }
            let mut s = gateway_settings(&store)?;
            if targets.is_empty() {
                if s.aliases.remove(name).is_none() {
                    anyhow::bail!("no alias `{name}`");
                }
                println!("alias {name} removed");
            } else {
                let parsed = targets
                    .iter()
                    .map(|t| AliasTarget::parse(t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(anyhow::Error::msg)?;
                let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
                s.aliases.insert(name.clone(), parsed);
                println!("alias {name} → {}", shown.join(", "));
            }
            save(&mut store, s)?;
        }
        GatewayCmd::Pin { model, accounts } => {
            if !valid_route_name(model) {
                anyhow::bail!("`{model}` cannot be pinned (no ; = or ,)");
            }
            let mut s = gateway_settings(&store)?;
            if accounts.is_empty() {
                if s.pins.remove(model).is_none() {
                    anyhow::bail!("no pin for `{model}`");
                }
                println!("pin of {model} removed");
            } else {
                let known = store.list_accounts()?;
                if let Some(id) = accounts.iter().find(|id| !known.iter().any(|a| a.id == **id)) {
                    anyhow::bail!("no account with id {id}");
                }
                s.pins.insert(model.clone(), accounts.clone());
                println!("{model} pinned to accounts {accounts:?}");
            }
            save(&mut store, s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The candidates as a fresh gateway would order them (no network; all breakers closed).
fn offline_view(store: &mut Store, model: Option<&str>) -> anyhow::Result<TableView> {
    let relay = RelayClient::new(ClientConfig::default())?;
    let inputs = crate::gateway::load_inputs(store)?;
    Ok(crate::gateway::offline_view(inputs, &relay, model))
}

fn money(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
}

fn print_candidates(view: &TableView) {
    println!("policy: {}", view.policy);
    if view.models.is_empty() {
        println!("no routable models (refresh accounts first; keys must be enabled and unmasked)");
    }
    for m in &view.models {
        let tags = match (m.alias, m.pinned) {
            (true, true) => " (alias, pinned)",
            (true, false) => " (alias)",
            (false, true) => " (pinned)",
            _ => "",
        };
        println!("{}{tags}", m.model);
        for c in &m.candidates {
            println!(
                "  {:>2}. #{:<4} {:<28} key {:<14} {:<28} group {:<10} real {:>9}  usd {:>9}  balance ${:>9}  {}",
                c.rank,
                c.info.account_id,
                c.info.account_label,
                c.info.key_name,
                c.info.upstream_model,
                c.info.group.as_deref().unwrap_or("-"),
                money(c.info.cost_real),
                money(c.info.cost_usd),
                c.info.balance_usd.map(|b| format!("{b:.2}")).unwrap_or_else(|| "-".into()),
                c.endpoints.join(",")
            );
        }
    }
    for n in &view.notes {
        println!("note: account {}: {}", n.account_id, n.reason);
    }
}

fn print_stats(rows: &[GatewayAccountSummary]) {
    if rows.is_empty() {
        println!("no gateway requests recorded in that window");
        return;
    }
    println!(
        "{:>5}  {:>8}  {:>8}  {:>12}  {:>12}  {:>10}  {:>10}  {:>8}",
        "acct", "attempts", "ok", "tokens in", "tokens out", "cost USD", "paid", "ttfb ms"
    );
    for r in rows {
        println!(
            "{:>5}  {:>8}  {:>8}  {:>12}  {:>12}  {:>10.4}  {:>10.4}  {:>8}",
            r.account_id,
            r.attempts,
            r.ok,
            r.prompt_tokens,
            r.completion_tokens,
            r.cost_usd,
            r.cost_real,
            r.avg_ttfb_ms.map(|t| format!("{t:.0}")).unwrap_or_else(|| "-".into())
        );
    }
}

fn print_log(rows: &[AttemptRecord]) {
    if rows.is_empty() {
        println!("no gateway requests recorded");
        return;
    }
    println!(
        "{:<19}  {:>6}  {:<12}  {:<24}  {:>5}  {:>6}  {:<12}  {:>9}  {:>9}  {:>13}  message",
        "time", "req", "endpoint", "model", "acct", "status", "outcome", "ms", "ttfb ms", "tokens in/out"
    );
    for r in rows {
        let when = chrono::DateTime::from_timestamp_millis(r.at_ms)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let model = if r.upstream_model.is_empty() || r.upstream_model == r.client_model {
            r.client_model.clone()
        } else {
            format!("{}→{}", r.client_model, r.upstream_model)
        };
        let tokens = match (r.usage.prompt_tokens, r.usage.completion_tokens) {
            (None, None) => "-".to_string(),
            (p, c) => format!("{}/{}", p.unwrap_or(0), c.unwrap_or(0)),
        };
        println!(
            "{when:<19}  {:>4}.{:<1}  {:<12}  {:<24}  {:>5}  {:>6}  {:<12}  {:>9.1}  {:>9}  {:>13}  {}",
            r.request_id,
            r.attempt,
            r.endpoint.as_str(),
            model,
            r.account_id.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            r.status,
            r.outcome.as_str(),
            r.latency_ms,
            r.ttfb_ms.map(|t| format!("{t:.1}")).unwrap_or_else(|| "-".into()),
            tokens,
            r.message
        );
    }
}
