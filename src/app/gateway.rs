//! The local gateway inside the app: start and stop it on the app's tokio runtime (the
//! same engine as `apihub serve`), its address and local key (copy, rotate), the policy,
//! aliases and pins (through the one settings save path, then the running table is
//! rebuilt), the candidates per model, and the request log (live while it runs, from the
//! store otherwise).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::cx::Cx;
use super::i18n::{fill, tr};
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::state::Severity;
use crate::domain::AccountId;
use crate::domain::gateway::{AliasTarget, AttemptRecord, Policy, valid_route_name};
use crate::gateway::{GatewayDeps, LiveFigures, LocalKey, TableView};
use crate::store::{GatewayAccountSummary, GatewayLogQuery, GatewaySummaryQuery};

/// Commands of the Gateway panel.
#[derive(Debug, Clone)]
pub enum GatewayCmd {
    /// Read the local key, the candidates and the stored log (the panel's first draw).
    Load,
    /// Start listening on the saved address.
    Start,
    /// Stop (open replies get a moment to finish; the last records are written).
    Stop,
    /// Put the local key on the clipboard.
    CopyKey,
    /// Put the base URL on the clipboard.
    CopyAddress,
    /// Replace the local key (clients holding the old one are refused from then on).
    RotateKey,
    /// The routing policy.
    SetPolicy(Policy),
    /// The listen address (loopback only; takes effect at the next start).
    SetListen(String),
    /// Make a client model name stand for these site-side models.
    SetAlias(String, Vec<AliasTarget>),
    /// Remove an alias.
    RemoveAlias(String),
    /// Pin a model to these accounts, in this order.
    SetPin(String, Vec<AccountId>),
    /// Remove a pin.
    RemovePin(String),
    /// The account order the `order` policy follows (accounts not listed come after,
    /// in the Sites table's order).
    SetOrder(Vec<AccountId>),
    /// Read the stored request log again.
    ReloadLog,
}

/// Messages of the gateway jobs.
pub enum GatewayMsg {
    /// The server started (or why not).
    Started(Result<Box<crate::gateway::Gateway>, String>),
    /// The server stopped.
    Stopped,
    /// The local key was read (made on first use).
    Key(Result<LocalKey, String>),
    /// The local key was replaced.
    Rotated(Result<LocalKey, String>),
    /// The candidates as a fresh gateway would order them (not running).
    Candidates(Result<TableView, String>),
    /// The stored request log, newest first.
    Log(Result<Vec<AttemptRecord>, String>),
    /// Per-account figures of the last 24 hours.
    Summary(Result<Vec<GatewayAccountSummary>, String>),
    /// The running table was rebuilt.
    Reloaded(Result<(), String>),
}

impl From<GatewayMsg> for JobMsg {
    fn from(m: GatewayMsg) -> JobMsg {
        JobMsg::Gateway(m)
    }
}

/// Whether the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunState {
    /// Not listening.
    #[default]
    Stopped,
    /// Binding and loading the table.
    Starting,
    /// Serving.
    Running,
    /// Letting open replies finish.
    Stopping,
}

/// The gateway's state.
#[derive(Default)]
pub struct Gateway {
    server: Option<crate::gateway::Gateway>,
    /// Whether the server runs.
    pub run: RunState,
    /// Where it listens while it runs.
    pub addr: Option<SocketAddr>,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The local key (shown masked; copied on request).
    pub key: Option<LocalKey>,
    /// Candidates per model: live while running, as a fresh gateway would order them otherwise.
    pub candidates: Loadable<TableView>,
    /// Live figures while running (kept after a stop until the next start).
    pub live: Option<LiveFigures>,
    /// Requests refused for a missing or wrong local key (this run).
    pub refused: u64,
    /// Records dropped because accounting fell behind (this run).
    pub dropped: u64,
    /// The stored request log, newest first (shown while stopped).
    pub log: Loadable<Vec<AttemptRecord>>,
    /// Per-account figures of the last 24 hours (from the store; every few seconds while running).
    pub summary: Loadable<Vec<GatewayAccountSummary>>,
    /// The panel asked for its data.
    pub loaded: bool,
    /// Rebuild the table once the settings change with this number is on disk.
    reload_after: Option<u64>,
    last_poll: Option<Instant>,
    last_summary: Option<Instant>,
}

const SERVER_JOB: &str = "gateway:server";
const KEY_JOB: &str = "gateway:key";
const CANDIDATES_JOB: &str = "gateway:candidates";
const LOG_JOB: &str = "gateway:log";
const RELOAD_JOB: &str = "gateway:reload";
const SUMMARY_JOB: &str = "gateway:summary";
/// How often the per-account figures are read again while the gateway runs.
const SUMMARY_EVERY: Duration = Duration::from_secs(5);
/// The window of the per-account figures.
const SUMMARY_WINDOW_MS: i64 = 24 * 3_600 * 1_000;
/// How often a running gateway's figures are read for the panel.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Stored records shown while stopped.
const LOG_ROWS: usize = 200;

impl Gateway {
    /// The base URL clients use (`http://127.0.0.1:8765/v1`): where it runs, else the saved address.
    pub fn base_url(&self, saved_listen: &str) -> String {
        match self.addr {
            Some(a) => format!("http://{a}/v1"),
            None => format!("http://{}/v1", saved_listen.trim()),
        }
    }

    /// The request log, newest first: live while running (or just stopped), else stored.
    pub fn recent(&self) -> Vec<&AttemptRecord> {
        match (&self.live, self.run) {
            (Some(l), RunState::Running | RunState::Stopping) => l.recent.iter().rev().collect(),
            _ => self.log.value().map(|v| v.iter().collect()).unwrap_or_default(),
        }
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: GatewayCmd, cx: &mut Cx<'_>) {
        match cmd {
            GatewayCmd::Load => {
                self.loaded = true;
                self.load_key(cx);
                self.load_candidates(cx);
                self.load_log(cx);
            }
            GatewayCmd::Start => self.start(cx),
            GatewayCmd::Stop => self.stop(cx),
            GatewayCmd::CopyKey => {
                if let Some(k) = &self.key {
                    cx.egui.copy_text(k.expose().to_string());
                    cx.say(tr("gateway.key_copied"), Severity::Info);
                }
            }
            GatewayCmd::CopyAddress => {
                let url = self.base_url(&cx.settings.gateway.listen);
                cx.egui.copy_text(url);
                cx.say(tr("gateway.address_copied"), Severity::Info);
            }
            GatewayCmd::RotateKey => {
                let store = cx.store.clone();
                cx.start_blocking(Spec::new(KEY_JOB), move |_| {
                    GatewayMsg::Rotated(store.with(crate::gateway::local_key::rotate).map_err(|e| e.to_string()))
                });
            }
            GatewayCmd::SetPolicy(p) => self.change(cx, |g| g.policy = p),
            GatewayCmd::SetListen(l) => {
                let mut g = cx.settings.gateway.clone();
                g.listen = l.trim().to_string();
                match g.problems().into_iter().find(|(k, _)| *k == "gateway.listen") {
                    Some((_, why)) => cx.say(fill(tr("gateway.listen_bad"), &[("why", &why)]), Severity::Error),
                    None => self.change(cx, |s| s.listen = g.listen),
                }
            }
            GatewayCmd::SetAlias(name, targets) => {
                let name = name.trim().to_string();
                if !valid_route_name(&name) || targets.is_empty() {
                    cx.say(fill(tr("gateway.name_bad"), &[("name", &name)]), Severity::Error);
                } else {
                    self.change(cx, |g| {
                        g.aliases.insert(name, targets);
                    });
                }
            }
            GatewayCmd::RemoveAlias(name) => self.change(cx, |g| {
                g.aliases.remove(&name);
            }),
            GatewayCmd::SetPin(model, accounts) => {
                let model = model.trim().to_string();
                if !valid_route_name(&model) || accounts.is_empty() {
                    cx.say(fill(tr("gateway.name_bad"), &[("name", &model)]), Severity::Error);
                } else {
                    self.change(cx, |g| {
                        g.pins.insert(model, accounts);
                    });
                }
            }
            GatewayCmd::RemovePin(model) => self.change(cx, |g| {
                g.pins.remove(&model);
            }),
            GatewayCmd::SetOrder(mut ids) => {
                // Each account once, first place kept.
                let mut seen = std::collections::HashSet::new();
                ids.retain(|id| seen.insert(*id));
                self.change(cx, |g| g.order = ids);
            }
            GatewayCmd::ReloadLog => self.load_log(cx),
        }
    }

    /// A change of the `gateway` settings; the table follows once it is saved.
    fn change(&mut self, cx: &mut Cx<'_>, f: impl FnOnce(&mut crate::domain::gateway::GatewaySettings)) {
        let seq = cx.change_settings(|s| f(&mut s.gateway));
        self.reload_after = Some(seq);
    }

    fn start(&mut self, cx: &mut Cx<'_>) {
        if self.server.is_some() || self.run != RunState::Stopped {
            // Starting, running or stopping: the same refusal as the registry's.
            cx.say(fill(tr("jobs.already_running"), &[("job", &SERVER_JOB)]), Severity::Info);
            return;
        }
        let listen = match cx.settings.gateway.listen_addr() {
            Ok(a) => a,
            Err(e) => {
                self.error = Some(e.clone());
                cx.say(fill(tr("gateway.start_failed"), &[("e", &e)]), Severity::Error);
                return;
            }
        };
        let deps = GatewayDeps { store: cx.store.clone(), relay: cx.relay.clone(), clock: None };
        let started = cx.start(Spec::new(SERVER_JOB), move |_| async move {
            GatewayMsg::Started(
                crate::gateway::Gateway::start(deps, listen).await.map(Box::new).map_err(|e| e.to_string()),
            )
        });
        if started {
            self.run = RunState::Starting;
            self.error = None;
        }
    }

    fn stop(&mut self, cx: &mut Cx<'_>) {
        let Some(server) = self.server.take() else { return };
        self.poll(cx);
        let started = cx.start(Spec::new(SERVER_JOB), move |_| async move {
            server.stop().await;
            GatewayMsg::Stopped
        });
        self.run = if started { RunState::Stopping } else { RunState::Stopped };
    }

    fn load_key(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        cx.start_blocking_quiet(Spec::new(KEY_JOB), move |_| {
            GatewayMsg::Key(store.with(crate::gateway::local_key::load_or_create).map_err(|e| e.to_string()))
        });
    }

    /// The candidates as a fresh gateway would order them (when not running).
    fn load_candidates(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        let relay = cx.relay.clone();
        self.candidates.start();
        cx.start_blocking_quiet(Spec::new(CANDIDATES_JOB).latest_wins(), move |_| {
            let r = store
                .with(crate::gateway::load_inputs)
                .map(|inputs| crate::gateway::offline_view(inputs, &relay, None))
                .map_err(|e| e.to_string());
            GatewayMsg::Candidates(r)
        });
    }

    fn load_log(&mut self, cx: &mut Cx<'_>) {
        self.load_summary(cx);
        let store = cx.store.clone();
        self.log.start();
        cx.start_blocking_quiet(Spec::new(LOG_JOB).latest_wins(), move |_| {
            let q = GatewayLogQuery { limit: LOG_ROWS, account: None, since_ms: None };
            GatewayMsg::Log(store.with(|s| s.gateway_attempts(&q)).map_err(|e| e.to_string()))
        });
    }

    /// Reads the per-account figures of the last 24 hours.
    fn load_summary(&mut self, cx: &mut Cx<'_>) {
        let store = cx.store.clone();
        let since = crate::domain::time::now_unix() * 1_000 - SUMMARY_WINDOW_MS;
        self.summary.start();
        self.last_summary = Some(Instant::now());
        cx.start_blocking_quiet(Spec::new(SUMMARY_JOB).latest_wins(), move |_| {
            let q = GatewaySummaryQuery { since_ms: Some(since), ..Default::default() };
            GatewayMsg::Summary(store.with(|s| s.gateway_summary(&q)).map_err(|e| e.to_string()))
        });
    }

    /// Rebuilds what shows the table: the running gateway's, or the offline view.
    fn reload(&mut self, cx: &mut Cx<'_>) {
        match &self.server {
            Some(server) => {
                let reloader = server.reloader();
                cx.start_quiet(Spec::new(RELOAD_JOB).latest_wins(), move |_| async move {
                    GatewayMsg::Reloaded(reloader.reload().await.map_err(|e| e.to_string()))
                });
            }
            None if self.loaded => self.load_candidates(cx),
            None => {}
        }
    }

    /// Reads the running gateway's figures and table (in memory, no I/O).
    fn poll(&mut self, cx: &mut Cx<'_>) {
        let Some(server) = &self.server else { return };
        self.live = Some(server.live());
        self.refused = server.refused();
        self.dropped = server.dropped_records();
        self.candidates = Loadable::ready(server.view(None), crate::domain::time::now_unix());
        self.last_poll = Some(Instant::now());
        cx.egui.request_repaint_after(POLL_EVERY);
    }

    /// Timed work: the table after a saved settings change; the live figures every second.
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        if let Some(seq) = self.reload_after
            && cx.saver.saved_seq() >= seq
        {
            self.reload_after = None;
            self.reload(cx);
        }
        if self.server.is_some() {
            // A repaint may come a little early: ask again for the rest, or the chain ends.
            let due = self.last_poll.map_or(Duration::ZERO, |t| POLL_EVERY.saturating_sub(t.elapsed()));
            if due.is_zero() {
                self.poll(cx);
            } else {
                cx.egui.request_repaint_after(due);
            }
            // The writer stores records in batches: the figures follow a few seconds behind.
            if self.loaded
                && !self.summary.is_loading()
                && self.last_summary.is_none_or(|t| t.elapsed() >= SUMMARY_EVERY)
            {
                self.load_summary(cx);
            }
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: GatewayMsg, cx: &mut Cx<'_>) {
        match msg {
            GatewayMsg::Started(Ok(server)) => {
                let addr = server.local_addr();
                log::info!("gateway started in the app on {addr}");
                self.addr = Some(addr);
                self.key = Some(server.local_key());
                self.server = Some(*server);
                self.run = RunState::Running;
                self.last_poll = None;
                self.poll(cx);
                cx.say(fill(tr("gateway.started"), &[("url", &self.base_url(""))]), Severity::Info);
            }
            GatewayMsg::Started(Err(e)) => {
                log::warn!("gateway did not start: {e}");
                self.run = RunState::Stopped;
                cx.say(fill(tr("gateway.start_failed"), &[("e", &e)]), Severity::Error);
                self.error = Some(e);
            }
            GatewayMsg::Stopped => {
                self.run = RunState::Stopped;
                self.addr = None;
                cx.say(tr("gateway.stopped"), Severity::Info);
                self.load_log(cx);
                self.load_candidates(cx);
            }
            GatewayMsg::Key(r) => match r {
                Ok(k) => self.key = Some(k),
                Err(e) => log::error!("gateway local key unreadable: {e}"),
            },
            GatewayMsg::Rotated(r) => match r {
                Ok(k) => {
                    log::info!("gateway local key rotated");
                    self.key = Some(k);
                    cx.say(tr("gateway.key_rotated"), Severity::Info);
                    self.reload(cx);
                }
                Err(e) => cx.say(fill(tr("gateway.key_failed"), &[("e", &e)]), Severity::Error),
            },
            GatewayMsg::Candidates(r) => {
                // A running gateway's own view wins over an offline one that finished late.
                if self.server.is_none() {
                    self.candidates.finish(r, crate::domain::time::now_unix());
                } else {
                    self.candidates.stop();
                }
            }
            GatewayMsg::Log(r) => self.log.finish(r, crate::domain::time::now_unix()),
            GatewayMsg::Summary(r) => self.summary.finish(r, crate::domain::time::now_unix()),
            GatewayMsg::Reloaded(r) => match r {
                Ok(()) => {
                    self.last_poll = None;
                    self.poll(cx);
                }
                Err(e) => cx.say(fill(tr("gateway.reload_failed"), &[("e", &e)]), Severity::Error),
            },
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        match key {
            SERVER_JOB if self.server.is_none() => {
                self.run = RunState::Stopped;
                self.addr = None;
            }
            CANDIDATES_JOB => self.candidates.stop(),
            LOG_JOB => self.log.stop(),
            SUMMARY_JOB => self.summary.stop(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    fn gw_msg(m: JobMsg) -> GatewayMsg {
        match m {
            JobMsg::Gateway(g) => g,
            _ => panic!("not a gateway message"),
        }
    }

    /// Waits for the next `n` gateway messages (landing the settings saves meanwhile) and lands them.
    fn land_n(rig: &mut Rig, g: &mut Gateway, n: usize) {
        let got = rig.wait(|m| m.iter().filter(|m| matches!(m, JobMsg::Gateway(_))).count() >= n);
        let mut landed = 0;
        for m in got {
            match m {
                JobMsg::Gateway(_) => {
                    landed += 1;
                    rig.with(|cx| g.on_job(gw_msg(m), cx));
                }
                JobMsg::Settings(super::super::settings::SettingsMsg::Saved(Ok(seq))) => rig.saver.saved(seq),
                _ => {}
            }
        }
        assert_eq!(landed, n, "gateway messages");
    }

    fn land(rig: &mut Rig, g: &mut Gateway) {
        land_n(rig, g, 1);
    }

    #[test]
    fn load_makes_the_key_once_and_reads_an_empty_table_and_log() {
        let mut rig = Rig::new();
        let mut g = Gateway::default();
        rig.with(|cx| g.apply(GatewayCmd::Load, cx));
        assert!(g.loaded && g.candidates.is_loading() && g.log.is_loading() && g.summary.is_loading());
        land_n(&mut rig, &mut g, 4);
        let key = g.key.clone().expect("a key was made");
        assert!(key.expose().starts_with("sk-local-"));
        assert_eq!(g.candidates.value().map(|v| v.models.len()), Some(0));
        assert_eq!(g.log.value().map(Vec::len), Some(0));
        assert_eq!(g.summary.value().map(Vec::len), Some(0));
        // Loaded again: the same key, not a new one.
        rig.with(|cx| g.apply(GatewayCmd::Load, cx));
        land_n(&mut rig, &mut g, 4);
        assert_eq!(g.key.as_ref(), Some(&key));
        // Rotated: a different key, and the store holds it.
        rig.with(|cx| g.apply(GatewayCmd::RotateKey, cx));
        land(&mut rig, &mut g);
        let new = g.key.clone().unwrap();
        assert_ne!(new, key);
        let stored = rig.store.with(crate::gateway::local_key::load_or_create).unwrap();
        assert_eq!(stored, new);
    }

    #[test]
    fn policy_aliases_pins_and_order_go_through_the_settings_save_path_and_bad_names_are_refused() {
        let mut rig = Rig::new();
        let mut g = Gateway::default();
        rig.with(|cx| g.apply(GatewayCmd::SetPolicy(Policy::Fastest), cx));
        let targets = vec![AliasTarget::parse("m1").unwrap(), AliasTarget::parse("m2#3").unwrap()];
        rig.with(|cx| g.apply(GatewayCmd::SetAlias("fast".into(), targets.clone()), cx));
        rig.with(|cx| g.apply(GatewayCmd::SetPin("gpt-4o".into(), vec![2, 1]), cx));
        rig.with(|cx| g.apply(GatewayCmd::SetOrder(vec![3, 1, 3]), cx));
        rig.with(|cx| g.apply(GatewayCmd::SetAlias("a,b".into(), targets.clone()), cx));
        rig.with(|cx| g.apply(GatewayCmd::SetListen("10.0.0.1:80".into()), cx));
        let said: Vec<_> = rig
            .sent()
            .into_iter()
            .filter_map(|c| match c {
                crate::app::Command::Shell(crate::app::command::ShellCmd::Status(l)) => Some(l.severity),
                _ => None,
            })
            .collect();
        assert_eq!(said, vec![Severity::Error, Severity::Error], "the bad alias name and the non-loopback address");
        rig.wait_saved();
        let stored = rig.stored().gateway;
        assert_eq!(stored.policy, Policy::Fastest);
        assert_eq!(stored.aliases.get("fast"), Some(&targets));
        assert_eq!(stored.pins.get("gpt-4o"), Some(&vec![2, 1]));
        assert_eq!(stored.order, vec![3, 1], "each account once, in the order given");
        assert!(!stored.aliases.contains_key("a,b"));
        assert_eq!(stored.listen, crate::domain::gateway::DEFAULT_LISTEN);
        rig.with(|cx| g.apply(GatewayCmd::RemoveAlias("fast".into()), cx));
        rig.with(|cx| g.apply(GatewayCmd::RemovePin("gpt-4o".into()), cx));
        rig.wait_saved();
        let stored = rig.stored().gateway;
        assert!(stored.aliases.is_empty() && stored.pins.is_empty());
    }

    #[test]
    fn starts_on_the_saved_address_refuses_a_second_start_and_stops() {
        let mut rig = Rig::new();
        rig.settings.gateway.listen = "127.0.0.1:0".into();
        let mut g = Gateway::default();
        rig.with(|cx| g.apply(GatewayCmd::Start, cx));
        assert_eq!(g.run, RunState::Starting);
        // A second start while starting is refused, said in the status line.
        rig.with(|cx| g.apply(GatewayCmd::Start, cx));
        assert!(rig.sent().iter().any(|c| matches!(c, crate::app::Command::Shell(_))));
        land(&mut rig, &mut g);
        assert_eq!(g.run, RunState::Running);
        let addr = g.addr.expect("listening");
        assert_ne!(addr.port(), 0);
        assert_eq!(g.base_url("ignored"), format!("http://{addr}/v1"));
        assert!(g.key.is_some() && g.live.is_some());
        assert_eq!(g.candidates.value().map(|v| v.models.len()), Some(0));
        // A settings change rebuilds the running table once it is saved.
        rig.with(|cx| g.apply(GatewayCmd::SetPolicy(Policy::Balance), cx));
        rig.wait_saved();
        rig.with(|cx| g.tick(cx));
        assert!(g.reload_after.is_none());
        land(&mut rig, &mut g);
        assert_eq!(g.candidates.value().map(|v| v.policy), Some(Policy::Balance));
        rig.with(|cx| g.apply(GatewayCmd::Stop, cx));
        assert_eq!(g.run, RunState::Stopping);
        land(&mut rig, &mut g);
        assert_eq!(g.run, RunState::Stopped);
        assert!(g.addr.is_none());
        assert!(std::net::TcpStream::connect(addr).is_err(), "nothing listens any more");
    }

    #[test]
    fn a_start_that_cannot_bind_says_why_and_stays_stopped() {
        let mut rig = Rig::new();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        rig.settings.gateway.listen = taken.local_addr().unwrap().to_string();
        let mut g = Gateway::default();
        rig.with(|cx| g.apply(GatewayCmd::Start, cx));
        land(&mut rig, &mut g);
        assert_eq!(g.run, RunState::Stopped);
        assert!(g.error.as_deref().is_some_and(|e| e.contains("cannot listen")), "{:?}", g.error);
        assert!(g.server.is_none());
    }
}
