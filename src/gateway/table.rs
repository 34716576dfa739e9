//! The live route table: the plan plus what the request path needs ready-made (one
//! reqwest client per site from the relay's cache, upstream URLs, auth header values, the
//! breaker cells). Swapped whole when the store or the settings change; requests hold an
//! `Arc` of the table they started with.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderValue;
use serde::Serialize;

use super::health::{Ewma, Gate, Health, HealthRegistry, Scope};
use super::local_key::LocalKey;
use super::protocol::{Endpoint, upstream_path};
use super::routes::{CandidateInfo, Plan, PlanNote};
use crate::domain::gateway::{GatewaySettings, Policy};
use crate::relay::RelayClient;

/// A candidate ready to send to.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub info: CandidateInfo,
    /// The site's pass-through client, or why there is none (a bad proxy setting).
    pub client: Result<reqwest::Client, String>,
    urls: [Option<String>; 6],
    pub bearer: HeaderValue,
    pub x_api_key: HeaderValue,
    pub account: Arc<Health>,
    pub key: Arc<Health>,
    pub model: Arc<Health>,
    pub ttfb: Arc<Ewma>,
}

impl Candidate {
    pub fn url(&self, e: Endpoint) -> Option<&str> {
        self.urls[e as usize].as_deref()
    }

    pub fn cell(&self, scope: Scope) -> &Health {
        match scope {
            Scope::Account => &self.account,
            Scope::Key => &self.key,
            Scope::Model => &self.model,
        }
    }

    pub fn cells(&self) -> [&Health; 3] {
        [&self.account, &self.key, &self.model]
    }
}

/// A client model's candidates.
#[derive(Debug, Default)]
pub(crate) struct Route {
    pub order: Vec<u32>,
    pub pinned: bool,
    pub alias: bool,
}

#[derive(Debug)]
pub(crate) struct RouteTable {
    pub settings: GatewaySettings,
    pub key: LocalKey,
    pub candidates: Vec<Candidate>,
    pub models: HashMap<String, Route>,
    /// Routable client model names, sorted.
    pub model_names: Vec<String>,
    pub notes: Vec<PlanNote>,
}

fn secret_header(v: String) -> Option<HeaderValue> {
    let mut h = HeaderValue::from_str(&v).ok()?;
    h.set_sensitive(true);
    Some(h)
}

impl RouteTable {
    pub fn build(
        plan: Plan,
        settings: GatewaySettings,
        key: LocalKey,
        relay: &RelayClient,
        reg: &HealthRegistry,
    ) -> RouteTable {
        let mut notes = plan.notes;
        let mut clients: HashMap<String, Result<reqwest::Client, String>> = HashMap::new();
        let mut candidates = Vec::with_capacity(plan.candidates.len());
        let mut keep = vec![None; plan.candidates.len()];
        for (i, info) in plan.candidates.into_iter().enumerate() {
            let (Some(bearer), Some(x_api_key)) =
                (secret_header(format!("Bearer {}", info.key.0)), secret_header(info.key.0.clone()))
            else {
                notes.push(PlanNote {
                    account_id: info.account_id,
                    reason: format!("key \"{}\" holds characters HTTP forbids", info.key_name),
                });
                continue;
            };
            let client = clients
                .entry(info.site_url.clone())
                .or_insert_with(|| relay.passthrough_client(&info.site_url).map_err(|e| e.to_string()))
                .clone();
            if let Err(e) = &client {
                notes.push(PlanNote { account_id: info.account_id, reason: format!("no HTTP client: {e}") });
            }
            let urls = Endpoint::ALL.map(|e| {
                let path = upstream_path(info.kind, e).filter(|_| info.endpoints.contains(e))?;
                Some(format!("{}{path}", info.site_url.trim_end_matches('/')))
            });
            keep[i] = Some(candidates.len() as u32);
            candidates.push(Candidate {
                account: reg.account(info.account_id),
                key: reg.key(info.account_id, info.key_id),
                model: reg.model(info.account_id, info.key_id, &info.upstream_model),
                ttfb: reg.ttfb(info.account_id, &info.upstream_model),
                info,
                client,
                urls,
                bearer,
                x_api_key,
            });
        }
        let mut models = HashMap::with_capacity(plan.models.len());
        let mut model_names = Vec::new();
        for (name, order) in plan.models {
            let order: Vec<u32> = order.into_iter().filter_map(|i| keep[i]).collect();
            if !order.is_empty() {
                model_names.push(name.clone());
            }
            let route = Route { pinned: plan.pinned.contains(&name), alias: plan.aliases.contains(&name), order };
            models.insert(name, route);
        }
        model_names.sort();
        RouteTable { settings, key, candidates, models, model_names, notes }
    }

    /// The candidates to try for `e`, in order: the static order, re-sorted by the time to
    /// first byte for `fastest` (unmeasured first; pins keep their order).
    pub fn order(&self, route: &Route, e: Endpoint) -> Vec<u32> {
        let mut out: Vec<u32> =
            route.order.iter().copied().filter(|i| self.candidates[*i as usize].url(e).is_some()).collect();
        if self.settings.policy == Policy::Fastest && !route.pinned {
            out.sort_by(|a, b| {
                let ta = self.candidates[*a as usize].ttfb.get().unwrap_or(-1.0);
                let tb = self.candidates[*b as usize].ttfb.get().unwrap_or(-1.0);
                ta.total_cmp(&tb)
            });
        }
        out
    }

    /// What the panel and `apihub gateway candidates` show.
    pub fn view(&self, now_ms: u64, model: Option<&str>) -> TableView {
        let mut models = Vec::new();
        for name in &self.model_names {
            if model.is_some_and(|m| m != name) {
                continue;
            }
            let Some(route) = self.models.get(name) else { continue };
            let mut order = route.order.clone();
            if self.settings.policy == Policy::Fastest && !route.pinned {
                let fake = Route { order, pinned: false, alias: false };
                order = Endpoint::ALL
                    .iter()
                    .find_map(|e| Some(self.order(&fake, *e)).filter(|o| !o.is_empty()))
                    .unwrap_or_default();
            }
            let candidates = order
                .iter()
                .enumerate()
                .map(|(rank, i)| {
                    let c = &self.candidates[*i as usize];
                    CandidateView {
                        rank: rank + 1,
                        info: c.info.clone(),
                        endpoints: Endpoint::ALL
                            .into_iter()
                            .filter(|e| c.url(*e).is_some())
                            .map(Endpoint::as_str)
                            .collect(),
                        ttfb_ms: c.ttfb.get(),
                        state: cell_state(c, now_ms),
                    }
                })
                .collect();
            models.push(ModelView { model: name.clone(), alias: route.alias, pinned: route.pinned, candidates });
        }
        TableView { policy: self.settings.policy, models, notes: self.notes.clone() }
    }
}

fn cell_state(c: &Candidate, now_ms: u64) -> CellState {
    let mut state = CellState::Ready;
    for (scope, cell) in [("account", &c.account), ("key", &c.key), ("model", &c.model)] {
        match cell.gate(now_ms) {
            Gate::Open => {}
            Gate::Closed { until_ms, .. } => {
                let secs = until_ms.saturating_sub(now_ms).div_ceil(1000);
                if !matches!(state, CellState::Cooling { secs_left, .. } if secs_left >= secs) {
                    state = CellState::Cooling { scope, secs_left: secs };
                }
            }
            Gate::TrialBusy | Gate::TrialFree => {
                if state == CellState::Ready {
                    state = CellState::Trial { scope };
                }
            }
        }
    }
    state
}

/// A candidate's breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CellState {
    /// Usable.
    Ready,
    /// Cooling down (`scope`: account, key or model).
    Cooling {
        /// What is cooling.
        scope: &'static str,
        /// Seconds left.
        secs_left: u64,
    },
    /// The cool-down ended; the next request tries it once.
    Trial {
        /// What is on trial.
        scope: &'static str,
    },
}

/// One candidate as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateView {
    /// 1 = tried first.
    pub rank: usize,
    /// The candidate.
    #[serde(flatten)]
    pub info: CandidateInfo,
    /// Endpoints it serves.
    pub endpoints: Vec<&'static str>,
    /// Moving average of time to first byte.
    pub ttfb_ms: Option<f64>,
    /// Breaker state.
    pub state: CellState,
}

/// One client model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelView {
    /// The name clients use.
    pub model: String,
    /// An alias from the settings.
    pub alias: bool,
    /// Pinned to a list of accounts.
    pub pinned: bool,
    /// In the order they are tried (for `fastest`, as of now).
    pub candidates: Vec<CandidateView>,
}

/// The whole table as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableView {
    /// The policy in force.
    pub policy: Policy,
    /// Routable models, sorted by name.
    pub models: Vec<ModelView>,
    /// Accounts and keys left out, with why.
    pub notes: Vec<PlanNote>,
}
