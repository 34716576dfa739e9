//! The eframe application: a small shell over one controller per area.
//!
//! - [`AppState`] holds the settings and the controllers (shell, sites, keys, check-in,
//!   pricing, logs, backup, update, network, alerts, exports, gateway, notify); each owns its state, its command
//!   enum and its jobs. Views read it and push [`Command`]s.
//! - [`App::logic`] (every frame, also while the window is hidden) lands the job
//!   registry's messages (one exhaustive `match` over [`jobs::JobMsg`]), applies the
//!   queued commands (one exhaustive `match` over [`Command`]), then lets the
//!   controllers with timed work run it (automatic refresh, daily check-in, the
//!   pricing book, the activity log, the gateway's live figures). [`App::ui`] asks the [`View`] to draw.
//! - Background work starts only through the job registry ([`jobs::Jobs`]), by name.
//! - `app` never imports `ui`: it is handed its [`View`] (`ui::Panels`) in [`AppDeps`].

pub mod alerts;
pub mod backup;
pub mod checkin;
pub mod command;
pub mod cx;
pub mod exports;
pub mod fonts;
pub mod gateway;
pub mod i18n;
pub mod jobs;
pub mod keys;
pub mod loadable;
pub mod logs;
pub mod network;
pub mod notify;
pub mod pricing;
pub mod recovery;
pub mod settings;
pub mod shell;
pub mod sites;
pub mod state;
pub mod sync;
#[cfg(test)]
pub(crate) mod testing;
pub mod theme;
pub mod update;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;

pub use command::Command;
pub use loadable::{Loadable, Stamped};
pub use sites::{AddStatus, DetectStatus, RefreshProgress};
pub use state::{AppState, EnvInfo, Panel, Severity, StatusLine};

use self::command::{AlertsCmd, BackupCmd, NotifyCmd, PricingCmd, ShellCmd, SitesCmd, UpdateCmd};
use self::cx::Cx;
use self::fonts::FontStatus;
use self::jobs::{JobMsg, Jobs};
use self::settings::{SettingsMsg, SettingsSaver};
use crate::domain::Account;
use crate::domain::settings::Settings;
use crate::engine::{CancelFlag, RefreshEvent, RefreshSummary};
use crate::store::{DataDirSource, Level, Quarantined, SharedStore};

/// Starts a refresh of the given accounts, reporting each event through the callback.
/// `main` builds it from the relay client and the store; tests may pass their own.
pub type Refresher = Arc<
    dyn Fn(Vec<Account>, CancelFlag, Box<dyn Fn(RefreshEvent) + Send + Sync>) -> BoxFuture<'static, RefreshSummary>
        + Send
        + Sync,
>;

/// A [`Refresher`] over any snapshot source (the relay client in `main`).
pub fn make_refresher<S: crate::engine::SnapshotSource>(
    store: SharedStore,
    source: Arc<S>,
    max_concurrency: usize,
) -> Refresher {
    Arc::new(move |accounts, cancel, on_event| {
        let store = store.clone();
        let source = source.clone();
        Box::pin(async move {
            crate::engine::refresh_accounts(source, store, accounts, max_concurrency, cancel, on_event).await
        })
    })
}

/// How the app gets its Chinese font.
pub enum FontSetup {
    /// Look it up on a background thread and install it when found.
    Background,
    /// Already installed by the caller (UI tests use `with_context_setup`).
    Preinstalled(FontStatus),
}

/// The window's drawing: `ui::Panels` implements it. Views read the state and push
/// commands; the app never imports the `ui` layer, it is handed the view in [`AppDeps`].
pub trait View {
    /// Draws the whole window for one frame.
    fn ui(&mut self, ui: &mut egui::Ui, state: &AppState, cmds: &mut Vec<Command>);
}

/// What the app needs from `main` (or a test).
pub struct AppDeps {
    /// The open store.
    pub store: SharedStore,
    /// Data dir in use.
    pub data_dir: PathBuf,
    /// Why that dir.
    pub data_dir_source: DataDirSource,
    /// A damaged database moved aside at start-up, to tell the user.
    pub quarantined: Option<Quarantined>,
    /// The tokio runtime all jobs run on.
    pub runtime: tokio::runtime::Handle,
    /// Font lookup mode.
    pub fonts: FontSetup,
    /// `--bench-startup`: print the first-frame time and close.
    pub bench_startup: Option<Instant>,
    /// The relay client every job shares.
    pub relay: crate::relay::RelayClient,
    /// The settings, loaded before the window opens ([`load_settings`]).
    pub settings: Settings,
    /// What draws the window (`ui::Panels`).
    pub view: Box<dyn View>,
    /// The folders the tools "Use in…" writes to read (None: from the environment, when
    /// first needed; tests pass temporary ones).
    pub homes: Option<crate::exports::Homes>,
}

/// Reads the settings for [`AppDeps`] (before the window opens; defaults if the store
/// cannot be read, which is logged).
pub fn load_settings(store: &SharedStore) -> Settings {
    match store.with(|s| s.load_settings()) {
        Ok(l) => l.settings,
        Err(e) => {
            log::error!("settings unreadable, using defaults: {e}");
            Settings::default()
        }
    }
}

/// What every controller shares.
struct Services {
    store: SharedStore,
    relay: crate::relay::RelayClient,
    refresher: Refresher,
    jobs: Jobs,
    saver: SettingsSaver,
}

/// The state split for one controller call: every controller, and a [`Cx`] over the rest.
struct Split<'a> {
    cx: Cx<'a>,
    shell: &'a mut shell::Shell,
    sites: &'a mut sites::Sites,
    keys: &'a mut keys::Keys,
    checkin: &'a mut checkin::Checkin,
    pricing: &'a mut pricing::Pricing,
    logs: &'a mut logs::Logs,
    backup: &'a mut backup::Backup,
    update: &'a mut update::Update,
    network: &'a mut network::Network,
    alerts: &'a mut alerts::Alerts,
    exports: &'a mut exports::Exports,
    gateway: &'a mut gateway::Gateway,
    notify: &'a mut notify::Notify,
    sync: &'a mut sync::DeviceSync,
}

fn split<'a>(
    state: &'a mut AppState,
    s: &'a mut Services,
    out: &'a mut Vec<Command>,
    egui: &'a egui::Context,
) -> Split<'a> {
    let AppState {
        settings,
        shell,
        sites,
        keys,
        checkin,
        pricing,
        logs,
        backup,
        update,
        network,
        alerts,
        exports,
        gateway,
        notify,
        sync,
    } = state;
    let cx = Cx {
        store: &s.store,
        relay: &s.relay,
        refresher: &s.refresher,
        jobs: &mut s.jobs,
        settings,
        saver: &mut s.saver,
        out,
        egui,
    };
    Split {
        cx,
        shell,
        sites,
        keys,
        checkin,
        pricing,
        logs,
        backup,
        update,
        network,
        alerts,
        exports,
        gateway,
        notify,
        sync,
    }
}

/// The application.
pub struct App {
    /// The settings and every controller (what views read).
    state: AppState,
    /// Store, relay client, refresher, job registry, settings save path.
    services: Services,
    /// Commands waiting to be applied (views', shortcuts', controllers' follow-ups).
    pending: Vec<Command>,
    /// What draws the window.
    view: Box<dyn View>,
    /// `--bench-startup`: when the process started.
    bench_startup: Option<Instant>,
    /// Frames drawn.
    frames: u64,
}

impl App {
    /// Builds the app from eframe's creation context.
    pub fn new(cc: &eframe::CreationContext<'_>, deps: AppDeps) -> Self {
        let ctx = cc.egui_ctx.clone();
        let settings = deps.settings;
        let lang = settings.ui.lang.unwrap_or_else(i18n::system_lang);
        i18n::set_lang(lang);
        theme::apply(settings.ui.theme, &ctx);
        let key_location = deps
            .store
            .lock()
            .map(|s| s.key_location().clone())
            .unwrap_or(crate::store::KeyLocation::KeyFile(deps.data_dir.join("secret.key")));
        let env = EnvInfo {
            data_dir: deps.data_dir.clone(),
            data_dir_source: deps.data_dir_source,
            key_location,
            version: crate::VERSION,
            commit: crate::GIT_COMMIT,
        };
        let mut state = AppState::new(env, lang, settings.ui.theme);
        state.settings = settings;
        state.exports = exports::Exports::new(&deps.data_dir, deps.homes.clone());
        if let Some(q) = &deps.quarantined {
            state.shell.notices.push(StatusLine {
                text: i18n::fill(
                    i18n::tr("notice.quarantined"),
                    &[("path", &q.moved_to.display()), ("reason", &q.reason)],
                ),
                severity: Severity::Warning,
            });
        }
        let mut pending: Vec<Command> = vec![
            SitesCmd::Reload.into(),
            command::LogsCmd::ReloadActivity(Level::Info).into(),
            BackupCmd::Reload.into(),
            UpdateCmd::Load.into(),
            sync::SyncCmd::Load.into(),
            PricingCmd::ReloadVerified.into(),
            AlertsCmd::ReloadNotified.into(),
            NotifyCmd::Reload.into(),
        ];
        match deps.fonts {
            FontSetup::Background => pending.push(ShellCmd::LoadFont.into()),
            FontSetup::Preinstalled(status) => state.shell.font = status,
        }
        let refresher =
            make_refresher(deps.store.clone(), Arc::new(deps.relay.clone()), crate::engine::DEFAULT_MAX_CONCURRENCY);
        let services = Services {
            jobs: Jobs::new(deps.runtime, ctx.clone()),
            store: deps.store,
            relay: deps.relay,
            refresher,
            saver: SettingsSaver::default(),
        };
        let mut app = App { state, services, pending, view: deps.view, bench_startup: deps.bench_startup, frames: 0 };
        app.apply_pending(&ctx);
        app
    }

    /// Read access for tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Applies the queued commands; their follow-ups run in the same frame (a few rounds,
    /// then the next frame).
    fn apply_pending(&mut self, ctx: &egui::Context) {
        for _ in 0..8 {
            if self.pending.is_empty() {
                return;
            }
            for cmd in std::mem::take(&mut self.pending) {
                self.apply(cmd, ctx);
            }
        }
        if !self.pending.is_empty() {
            ctx.request_repaint();
        }
    }

    /// Routes one command to its controller. Every state change passes here.
    fn apply(&mut self, cmd: Command, ctx: &egui::Context) {
        let Split {
            mut cx,
            shell,
            sites,
            keys,
            checkin,
            pricing,
            logs,
            backup,
            update,
            network,
            alerts,
            exports,
            gateway,
            notify,
            sync,
        } = split(&mut self.state, &mut self.services, &mut self.pending, ctx);
        let cx = &mut cx;
        match cmd {
            Command::Shell(c) => shell.apply(c, cx),
            Command::Sites(c) => sites.apply(c, cx),
            Command::Keys(c) => keys.apply(c, cx, sites),
            Command::Checkin(c) => checkin.apply(c, cx, sites),
            Command::Pricing(c) => pricing.apply(c, cx, sites),
            Command::Logs(c) => logs.apply(c, cx, sites),
            Command::Backup(c) => backup.apply(c, cx),
            Command::Update(c) => update.apply(c, cx),
            Command::Network(c) => network.apply(c, cx),
            Command::Alerts(c) => alerts.apply(c, cx, sites),
            Command::Exports(c) => exports.apply(c, cx),
            Command::Gateway(c) => gateway.apply(c, cx),
            Command::Notify(c) => notify.apply(c, cx),
            Command::Sync(c) => sync.apply(c, cx),
            Command::ReloadSettings => cx.saver.reload(cx.jobs, cx.store),
        }
    }

    /// Lands every job message that arrived, each with its controller.
    fn dispatch_jobs(&mut self, ctx: &egui::Context) {
        let msgs = self.services.jobs.poll();
        if msgs.iter().any(|m| !matches!(m, JobMsg::Shell(shell::ShellMsg::Trimmed(_)))) {
            self.state.shell.work_landed();
        }
        for msg in msgs {
            let Split {
                mut cx,
                shell,
                sites,
                keys,
                checkin,
                pricing,
                logs,
                backup,
                update,
                network,
                alerts,
                exports,
                gateway,
                notify,
                sync,
            } = split(&mut self.state, &mut self.services, &mut self.pending, ctx);
            match msg {
                JobMsg::Shell(m) => shell.on_job(m, &mut cx),
                JobMsg::Settings(SettingsMsg::Saved(r)) => {
                    match &r {
                        Ok(seq) => cx.saver.saved(*seq),
                        Err(e) => cx.say(i18n::fill(i18n::tr("status.settings_failed"), &[("e", e)]), Severity::Error),
                    }
                    if cx.saver.reload_due() {
                        cx.saver.reload(cx.jobs, cx.store);
                    }
                    backup.settings_saved(cx.saver.saved_seq(), r.as_ref().err().map(String::as_str));
                }
                JobMsg::Settings(SettingsMsg::Reloaded(Ok(_))) if !cx.saver.reloaded_usable() => {}
                JobMsg::Settings(SettingsMsg::Reloaded(Ok(fresh))) => {
                    shell.settings_changed(&fresh, ctx);
                    *cx.settings = *fresh;
                    sites.data_version += 1;
                }
                JobMsg::Settings(SettingsMsg::Reloaded(Err(e))) => log::error!("settings unreadable: {e}"),
                JobMsg::Sites(m) => sites.on_job(m, &mut cx),
                JobMsg::Keys(m) => keys.on_job(m, &mut cx),
                JobMsg::Checkin(m) => checkin.on_job(*m, &mut cx),
                JobMsg::Pricing(m) => pricing.on_job(m),
                JobMsg::Logs(m) => logs.on_job(m, &mut cx),
                JobMsg::Backup(m) => backup.on_job(m, &mut cx),
                JobMsg::Update(m) => update.on_job(m, &mut cx),
                JobMsg::Network(m) => network.on_job(m, &mut cx),
                JobMsg::Alerts(m) => alerts.on_job(m, &mut cx),
                JobMsg::Exports(m) => exports.on_job(m, &mut cx),
                JobMsg::Gateway(m) => gateway.on_job(m, &mut cx),
                JobMsg::Notify(m) => notify.on_job(m, &mut cx),
                JobMsg::Sync(m) => sync.on_job(m, &mut cx),
                JobMsg::Lost(key) => {
                    shell.job_lost(&key);
                    sites.job_lost(&key);
                    keys.job_lost(&key);
                    checkin.job_lost(&key);
                    pricing.job_lost(&key);
                    logs.job_lost(&key);
                    backup.job_lost(&key);
                    update.job_lost(&key);
                    network.job_lost(&key);
                    alerts.job_lost(&key);
                    exports.job_lost(&key);
                    gateway.job_lost(&key);
                    notify.job_lost(&key);
                    sync.job_lost(&key);
                }
            }
        }
    }

    /// The controllers' timed work: automatic refresh, daily check-in, the pricing
    /// book, the activity log, notifications.
    fn tick(&mut self, ctx: &egui::Context) {
        let Split { mut cx, shell, sites, checkin, pricing, logs, gateway, notify, sync, .. } =
            split(&mut self.state, &mut self.services, &mut self.pending, ctx);
        shell.tick(&mut cx);
        sites.watch(&mut cx);
        // While `apihub watch` runs the schedule on this data dir, it refreshes and checks in.
        if notify.runs_schedule() {
            sites.tick(&mut cx);
            checkin.tick(&mut cx, sites);
        }
        // The book (every account's prices) is built only while the Pricing panel shows.
        pricing.tick(&mut cx, sites, shell.panel == Panel::Pricing);
        logs.tick(&mut cx);
        gateway.tick(&mut cx);
        notify.tick(&mut cx);
        sync.tick(&mut cx);
    }
}

/// The longest an idle window sleeps: the timed work of the controllers (is an automatic
/// refresh due, a notification round, an automatic sync, the relative times shown) runs in
/// a frame, so a window nothing happens in draws one frame this often. Jobs, input and the
/// store watch (another process's writes) wake it sooner.
pub const IDLE_WAKE: std::time::Duration = std::time::Duration::from_secs(15);

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(start) = self.bench_startup
            && self.frames >= 1
        {
            println!("first_frame_ms={}", start.elapsed().as_millis());
            self.bench_startup = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.dispatch_jobs(ctx);
        self.apply_pending(ctx);
        self.tick(ctx);
        self.apply_pending(ctx);
        // The controllers' timers are looked at in a frame; eframe forgets a delayed repaint
        // asked for in an earlier pass once another pass ran, so this is asked every pass.
        ctx.request_repaint_after(IDLE_WAKE);
    }

    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw: &mut egui::RawInput) {
        fonts::cap_atlas_side(raw);
    }

    /// The activity the logger still holds is written before the window goes.
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.state.logs.flush(&self.services.store);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut cmds = Vec::new();
        self.view.ui(ui, &self.state, &mut cmds);
        if !cmds.is_empty() {
            self.pending.extend(cmds);
            ui.ctx().request_repaint();
        }
        self.frames += 1;
        if self.bench_startup.is_some() {
            ui.ctx().request_repaint();
        }
    }
}
