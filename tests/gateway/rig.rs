//! A gateway on a fresh data dir with accounts pointing at fake upstreams, a hand-moved
//! clock, and a client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use apihub::domain::money::{Amount, CurrencySettings};
use apihub::domain::pricing::{Billing, GroupRatio, ModelOffer, SitePricing};
use apihub::domain::snapshot::{AccountState, ApiKey, Part, Snapshot, UserInfo};
use apihub::domain::{AccountId, AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::gateway::{Gateway, GatewayDeps, GatewaySettings, LiveFigures, ManualClock};
use apihub::relay::{ClientConfig, ProxySetting, RelayClient};
use apihub::store::{AccountMeta, SharedStore, Store};
use serde_json::Value;

/// One account to seed.
#[derive(Clone)]
pub struct Acct {
    pub name: String,
    pub kind: SiteKind,
    pub url: String,
    pub paid: Option<f64>,
    pub balance_usd: f64,
    /// (site key id, key, group)
    pub keys: Vec<(i64, String, String)>,
    /// (model, model ratio) sold in every group.
    pub offers: Vec<(String, f64)>,
    /// Group ratios (default 1.0 when empty).
    pub groups: Vec<(String, f64)>,
    /// Per-model `supported_endpoint_types`.
    pub endpoint_types: Vec<(String, Vec<String>)>,
}

impl Acct {
    /// A new-api account selling `models` at ratio 1 with one key.
    pub fn new(name: &str, url: &str, models: &[&str]) -> Acct {
        Acct {
            name: name.into(),
            kind: SiteKind::NewApi,
            url: url.into(),
            paid: Some(1.0),
            balance_usd: 10.0,
            keys: vec![(1, format!("sk-{name}-key"), String::new())],
            offers: models.iter().map(|m| (m.to_string(), 1.0)).collect(),
            groups: Vec::new(),
            endpoint_types: Vec::new(),
        }
    }
    pub fn ratio(mut self, r: f64) -> Acct {
        for o in &mut self.offers {
            o.1 = r;
        }
        self
    }
    pub fn balance(mut self, usd: f64) -> Acct {
        self.balance_usd = usd;
        self
    }
    pub fn kind(mut self, k: SiteKind) -> Acct {
        self.kind = k;
        self
    }
}

fn state(a: &Acct) -> AccountState {
    let cs = CurrencySettings::default();
    let keys = a
        .keys
        .iter()
        .map(|(id, k, g)| ApiKey {
            id: *id,
            name: format!("{}-k{id}", a.name),
            key: k.clone(),
            status: 1,
            unlimited_quota: true,
            expired_time: -1,
            group: g.clone(),
            ..ApiKey::default()
        })
        .collect();
    let groups = if a.groups.is_empty() { vec![("default".to_string(), 1.0)] } else { a.groups.clone() };
    let pricing = SitePricing {
        models: a
            .offers
            .iter()
            .map(|(m, r)| ModelOffer {
                model: m.clone(),
                vendor: None,
                billing: Billing::Ratio {
                    model_ratio: *r,
                    completion_ratio: Some(1.0),
                    cache_read_ratio: None,
                    cache_write_ratio: None,
                },
                groups: None,
            })
            .collect(),
        group_ratios: groups.iter().map(|(g, r)| (g.clone(), GroupRatio::Ratio(*r))).collect(),
        endpoint_types: a.endpoint_types.iter().cloned().collect(),
        ..SitePricing::default()
    };
    AccountState {
        snapshot: Some(Box::new(Snapshot {
            fetched_at: 1,
            system_name: Some(a.name.clone()),
            currency: cs.clone(),
            user: Part::complete(UserInfo {
                id: "1".into(),
                username: a.name.clone(),
                group: "default".into(),
                balance: Amount::Quota(cs.usd_to_quota(a.balance_usd)),
                ..UserInfo::default()
            }),
            keys: Part::complete(keys),
            models: Part::complete(a.offers.iter().map(|o| o.0.clone()).collect()),
            pricing: Part::complete(pricing),
            ..Snapshot::default()
        })),
        ..AccountState::default()
    }
}

/// Stores an account and its state; returns its id.
pub fn seed(store: &mut Store, a: &Acct) -> AccountId {
    let id = store
        .upsert_account(&NewAccount {
            site_url: a.url.clone(),
            site_name: a.name.clone(),
            kind: a.kind,
            user_id: "1".into(),
            username: a.name.clone(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some("at".into()), ..Credentials::default() },
        })
        .unwrap();
    store.update_account_meta(id, &AccountMeta { paid_per_usd: a.paid, ..AccountMeta::default() }).unwrap();
    store.save_account_state(id, &state(a), "2026-01-01").unwrap();
    id
}

pub fn relay() -> RelayClient {
    RelayClient::new(ClientConfig { proxy: ProxySetting::Direct, ..ClientConfig::default() }).unwrap()
}

/// A running gateway.
pub struct Rig {
    pub gw: Option<Gateway>,
    pub base: String,
    pub key: String,
    pub clock: Arc<ManualClock>,
    pub store: SharedStore,
    pub ids: Vec<AccountId>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl Rig {
    pub async fn start(accts: &[Acct], settings: GatewaySettings) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap().store;
        let ids = accts.iter().map(|a| seed(&mut store, a)).collect();
        assert!(settings.problems().is_empty(), "{:?}", settings.problems());
        store
            .update_settings(|all| {
                all.gateway = settings;
                Ok::<_, apihub::store::StoreError>(())
            })
            .unwrap();
        let key = apihub::gateway::local_key::load_or_create(&mut store).unwrap().expose().to_string();
        let store = SharedStore::new(store);
        let clock = Arc::new(ManualClock::default());
        let deps = GatewayDeps { store: store.clone(), relay: relay(), clock: Some(clock.clone()) };
        let gw = Gateway::start(deps, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", gw.local_addr());
        let http = apihub::tls::client_builder().no_proxy().build().unwrap();
        Rig { gw: Some(gw), base, key, clock, store, ids, dir, http }
    }

    pub fn gw(&self) -> &Gateway {
        self.gw.as_ref().unwrap()
    }

    /// POST with the local key as a bearer token.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.key).json(body).send().await.unwrap()
    }

    /// POST a chat completion for `model`.
    pub async fn chat(&self, model: &str, stream: bool) -> reqwest::Response {
        let body =
            serde_json::json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
        self.post("/v1/chat/completions", &body).await
    }

    /// Waits until the writer has taken `n` records.
    pub async fn records(&self, n: u64) -> LiveFigures {
        for _ in 0..500 {
            let live = self.gw().live();
            if live.records >= n {
                return live;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {} records after 5 s, wanted {n}", self.gw().live().records);
    }

    /// Stops the gateway (the last records are written) and gives the store back.
    pub async fn stop(mut self) -> SharedStore {
        if let Some(gw) = self.gw.take() {
            gw.stop().await;
        }
        self.store.clone()
    }
}

/// The settings with `f` applied.
pub fn settings(f: impl FnOnce(&mut GatewaySettings)) -> GatewaySettings {
    let mut s = GatewaySettings::default();
    f(&mut s);
    s
}

/// Starts `apihub serve` on a free port of 127.0.0.1 over `dir`; returns the child and the
/// base URL (without `/v1`) it printed.
pub fn spawn_serve(dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apihub"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("APIHUB_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("apihub serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("gateway listening on ").expect(&line);
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"), "{base}");
    (child, base.trim_end_matches("/v1").to_string())
}
