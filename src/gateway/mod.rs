//! The local gateway: one OpenAI- and Anthropic-compatible endpoint in front of every
//! account, routed by price, balance, speed or the user's order, with failover.
//!
//! | file | what |
//! | --- | --- |
//! | `local_key.rs` | the `sk-local-…` key: generated, sealed in the store, compared in constant time |
//! | `routes.rs` | pure: candidates from accounts, keys, groups and prices; each policy's static order; aliases, pins |
//! | `table.rs` | the live table: candidates with their client, URLs, auth headers and breaker cells; the panel/CLI view |
//! | `health.rs` | cool-downs with exponential back-off and one-trial recovery; time-to-first-byte average; the clock |
//! | `classify.rs` | the upstream error taxonomy (failover, cool-down scope, client errors returned as is) |
//! | `protocol.rs` | endpoints per site kind, protocol-shaped errors and stream error events |
//! | `body.rs` | reading `model`/`stream` from a body and swapping the model without re-serialising |
//! | `proxy.rs` | one request: key, body, candidates, attempts, commit |
//! | `stream.rs` | the pass-through body: chunk by chunk, usage, idle/total timeouts, error event, accounting at the end |
//! | `accounting.rs` | records through a bounded channel to one writer: batches to SQLite, live figures, alerts |
//! | `server.rs` | the axum router |
//!
//! Settings are the `gateway` section of the one settings struct
//! (`domain::gateway::GatewaySettings`, keys `gateway.*`).
//!
//! The request path takes no store lock and builds no client: the table (with each
//! site's reqwest client from the relay's cache) is built when the store or the settings
//! change, and swapped whole.

pub mod accounting;
mod body;
pub mod classify;
pub mod health;
pub mod local_key;
pub mod protocol;
mod proxy;
pub mod routes;
mod server;
mod stream;
mod table;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::domain::gateway::{AliasTarget, GatewaySettings, Policy, parse_listen};
pub use accounting::{AccountFigures, GatewayAlert, LiveFigures};
pub use health::{Clock, ManualClock, SystemClock};
pub use local_key::LocalKey;
pub use routes::{CandidateInfo, Plan, PlanInput, PlanNote};
pub use table::{CandidateView, CellState, ModelView, TableView};

use crate::relay::RelayClient;
use crate::store::{SharedStore, Store, StoreError};
use health::HealthRegistry;
use proxy::Core;
use table::RouteTable;

/// How often a running gateway looks for changed accounts, states or settings.
const WATCH_EVERY: Duration = Duration::from_secs(5);
/// How long `stop` lets open replies finish before cutting them.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why the gateway could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {why}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS's reason.
        why: String,
    },
    /// A background task failed.
    #[error("{0}")]
    Task(String),
}

/// What the gateway runs on.
#[derive(Debug, Clone)]
pub struct GatewayDeps {
    /// The store (accounts, states, settings; accounting is written here).
    pub store: SharedStore,
    /// The relay client (its cached pass-through clients carry the network settings).
    pub relay: RelayClient,
    /// The clock for cool-downs (`None` = the real one).
    pub clock: Option<Arc<dyn Clock>>,
}

/// Everything a route table is built from, read from the store in one go.
#[derive(Debug)]
pub struct Inputs {
    /// The plan.
    pub plan: Plan,
    /// The settings.
    pub settings: GatewaySettings,
    /// The local key (made on first use).
    pub key: LocalKey,
}

/// Reads the inputs and plans (blocking: SQLite and unsealing; keep it off async threads).
pub fn load_inputs(store: &mut Store) -> Result<Inputs, StoreError> {
    let settings = store.load_settings()?.settings.gateway;
    let key = local_key::load_or_create(store)?;
    let accounts = store.list_accounts()?;
    let states = store.account_states()?;
    let mut own_keys = HashMap::new();
    for a in accounts.iter().filter(|a| a.auth == crate::domain::AuthMethod::ApiKey && !a.disabled) {
        match store.credentials(a.id) {
            Ok(c) => {
                if let Some(k) = c.api_key {
                    own_keys.insert(a.id, k);
                }
            }
            Err(e) => log::warn!("gateway: account {} credentials unreadable: {e}", a.id),
        }
    }
    let plan = routes::plan(&PlanInput {
        accounts: &accounts,
        states: &states,
        own_keys: &own_keys,
        settings: &settings,
        now_unix: crate::domain::time::now_unix(),
    });
    Ok(Inputs { plan, settings, key })
}

/// The candidates as a fresh gateway would order them (every breaker closed, nothing
/// measured yet): `apihub gateway candidates` without a running gateway.
pub fn offline_view(inputs: Inputs, relay: &RelayClient, model: Option<&str>) -> TableView {
    let table = RouteTable::build(inputs.plan, inputs.settings, inputs.key, relay, &HealthRegistry::default());
    table.view(0, model)
}

/// A running gateway. Dropping it without [`Gateway::stop`] leaves the server running
/// until the runtime ends.
#[derive(Debug)]
pub struct Gateway {
    core: Arc<Core>,
    deps: GatewayDeps,
    health: Arc<HealthRegistry>,
    addr: SocketAddr,
    stamp: Arc<Mutex<(String, String)>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    writer: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

impl Gateway {
    /// Loads the table, binds `listen` and serves on the current tokio runtime.
    pub async fn start(deps: GatewayDeps, listen: SocketAddr) -> Result<Gateway, GatewayError> {
        let health = Arc::new(HealthRegistry::default());
        let (inputs, stamp) = deps.store.run(|s| Ok((load_inputs(s)?, s.gateway_inputs_stamp()?))).await?;
        let table = RouteTable::build(inputs.plan, inputs.settings, inputs.key, &deps.relay, &health);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| GatewayError::Listen { addr: listen, why: e.to_string() })?;
        let addr = listener.local_addr().map_err(|e| GatewayError::Listen { addr: listen, why: e.to_string() })?;
        let (accounting, writer) = accounting::Accounting::start(deps.store.clone());
        let clock = deps.clock.clone().unwrap_or_else(|| Arc::new(SystemClock::default()));
        let core = Arc::new(Core::new(table, clock, accounting));
        let (tx, rx) = oneshot::channel::<()>();
        let app = server::router(core.clone());
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                log::error!("gateway server stopped: {e}");
            }
        });
        let stamp = Arc::new(Mutex::new(stamp));
        let watcher = tokio::spawn(watch(core.clone(), deps.clone(), health.clone(), stamp.clone()));
        log::info!("gateway listening on http://{addr}");
        Ok(Gateway { core, deps, health, addr, stamp, shutdown: Some(tx), server, writer, watcher })
    }

    /// The address it listens on (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Rebuilds the table from the store now (after a refresh, a settings change, a key rotation).
    pub async fn reload(&self) -> Result<(), GatewayError> {
        reload(&self.core, &self.deps, &self.health, &self.stamp, true).await
    }

    /// Candidates per model (all models, or one), with their breaker state now.
    pub fn view(&self, model: Option<&str>) -> TableView {
        self.core.table().view(self.core.clock.now_ms(), model)
    }

    /// Live figures: recent records, per-account totals, alerts.
    pub fn live(&self) -> LiveFigures {
        self.core.accounting.live()
    }

    /// Requests refused for a missing or wrong local key.
    pub fn refused(&self) -> u64 {
        self.core.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records dropped because the accounting writer fell behind.
    pub fn dropped_records(&self) -> u64 {
        self.core.accounting.dropped()
    }

    /// The local key in force.
    pub fn local_key(&self) -> LocalKey {
        self.core.table().key.clone()
    }

    /// Stops listening, lets open replies finish for a moment, then writes the last records.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.watcher.abort();
        if tokio::time::timeout(STOP_GRACE, &mut self.server).await.is_err() {
            self.server.abort();
            let _ = (&mut self.server).await;
        }
        let writer = self.writer;
        // The writer ends once the last accounting handle (held by the core) is gone.
        drop(self.core);
        let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
        log::info!("gateway on {} stopped", self.addr);
    }
}

async fn reload(
    core: &Core,
    deps: &GatewayDeps,
    health: &HealthRegistry,
    stamp: &Mutex<(String, String)>,
    network: bool,
) -> Result<(), GatewayError> {
    let relay = deps.relay.clone();
    let (inputs, now) = deps
        .store
        .run(move |s| {
            if network && let Err(e) = crate::engine::network::apply_saved(&relay, s) {
                log::warn!("gateway: network settings not applied: {e}");
            }
            Ok((load_inputs(s)?, s.gateway_inputs_stamp()?))
        })
        .await?;
    let table = RouteTable::build(inputs.plan, inputs.settings, inputs.key, &deps.relay, health);
    log::info!("gateway: {} candidates over {} models", table.candidates.len(), table.model_names.len());
    core.swap(table);
    if let Ok(mut g) = stamp.lock() {
        *g = now;
    }
    Ok(())
}

/// Rebuilds the table when what it is built from changed (another process refreshed, the
/// user rotated the key or changed a setting).
async fn watch(core: Arc<Core>, deps: GatewayDeps, health: Arc<HealthRegistry>, stamp: Arc<Mutex<(String, String)>>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = match deps.store.run(|s| s.gateway_inputs_stamp()).await {
            Ok(n) => n,
            Err(e) => {
                log::warn!("gateway: cannot check for changes: {e}");
                continue;
            }
        };
        let old = stamp.lock().map(|g| g.clone()).unwrap_or_default();
        if old != now
            && let Err(e) = reload(&core, &deps, &health, &stamp, old.1 != now.1).await
        {
            log::warn!("gateway: reload failed: {e}");
        }
    }
}
