//! The eframe application: state, commands, the task runner and job polling.

pub mod action_jobs;
pub mod alert_jobs;
pub mod backup_jobs;
pub mod command;
pub mod fonts;
pub mod i18n;
pub mod loadable;
pub mod network_jobs;
pub mod runner;
pub mod settings;
pub mod state;
pub mod theme;
pub mod try_jobs;
pub mod usage_logs;

use std::path::PathBuf;
use std::time::Instant;

use poll_promise::Promise;

pub use command::Command;
pub use loadable::{Loadable, Stamped};
pub use runner::TaskRunner;
pub use settings::AppSettings;
pub use state::{AddStatus, AppState, DetectStatus, EnvInfo, Panel, RefreshProgress, Severity, StatusLine};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

use futures_util::future::BoxFuture;

use crate::domain::snapshot::AccountState;
use crate::domain::{Account, AccountId};
use crate::engine::{CancelFlag, RefreshEvent, RefreshSummary};

/// Starts a refresh of the given accounts, reporting each event through the callback.
/// `main` builds it from the relay client and the store; tests may pass their own.
pub type Refresher = Arc<
    dyn Fn(Vec<Account>, CancelFlag, Box<dyn Fn(RefreshEvent) + Send + Sync>) -> BoxFuture<'static, RefreshSummary>
        + Send
        + Sync,
>;

use crate::domain::settings::Settings;
use crate::store::{DataDirSource, Level, Quarantined, SharedStore};
use fonts::{CjkFace, FontStatus};
use i18n::tr;

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

/// What an add job ends with.
enum AddJobResult {
    Added(Box<crate::engine::Added>),
    Needs2fa(crate::engine::PasswordSignIn, crate::relay::login::Pending2fa),
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

/// The application.
pub struct App {
    state: AppState,
    view: Box<dyn View>,
    pending: Vec<Command>,
    runner: TaskRunner,
    store: SharedStore,
    font_job: Option<Promise<Option<(CjkFace, egui::FontData)>>>,
    settings: AppSettings,
    bench_startup: Option<Instant>,
    frames: u64,
    refresher: Refresher,
    relay: crate::relay::RelayClient,
    add_job: Option<Promise<Result<AddJobResult, String>>>,
    pending_2fa: Option<(crate::engine::PasswordSignIn, crate::relay::login::Pending2fa)>,
    detect_job: Option<Promise<Result<crate::relay::detect::Detection, String>>>,
    writes: Vec<Promise<Result<(), String>>>,
    refresh_events: Option<mpsc::Receiver<RefreshEvent>>,
    refresh_cancel: CancelFlag,
    states_job: Option<Promise<Result<HashMap<AccountId, AccountState>, String>>>,
    /// Accounts in the running refresh, and whether the scheduler started it.
    refresh_run: (Vec<AccountId>, bool),
    /// Unix time of the next scheduler check.
    next_schedule_check: i64,
    /// `data_version` the pricing book was built from.
    pricing_version: u64,
    action_jobs: action_jobs::ActionJobs,
    backup: backup_jobs::BackupJobs,
    log_jobs: usage_logs::UsageLogJobs,
    alert_jobs: alert_jobs::AlertJobs,
    net_jobs: network_jobs::NetworkJobs,
    try_jobs: try_jobs::TryJobs,
}

impl App {
    /// Builds the app from eframe's creation context.
    pub fn new(cc: &eframe::CreationContext<'_>, deps: AppDeps) -> Self {
        let ctx = cc.egui_ctx.clone();
        let settings = deps.settings;
        let lang = settings.ui.lang.unwrap_or_else(i18n::system_lang);
        let theme = settings.ui.theme;
        i18n::set_lang(lang);
        theme::apply(theme, &ctx);
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
        let mut state = AppState::new(env, lang, theme);
        state.schedule = settings.refresh;
        state.actions.auto_checkin = settings.checkin;
        state.usage.history_days = settings.logs.history_days;
        state.alerts = settings.alerts.clone();
        state.network.settings = settings.network.clone();
        state.network.version += 1;
        state.backup.local_keep = settings.backup.local.keep;
        state.backup.webdav = settings.backup.webdav.clone();
        state.backup.upload_interval_hours = settings.backup.webdav.interval_hours;
        state.backup.update_settings = settings.update.clone();
        let alert_jobs = alert_jobs::AlertJobs::default();
        if let Some(q) = &deps.quarantined {
            state.notices.push(StatusLine {
                text: i18n::fill(tr("notice.quarantined"), &[("path", &q.moved_to.display()), ("reason", &q.reason)]),
                severity: Severity::Warning,
            });
        }
        let runner = TaskRunner::new(deps.runtime.clone(), ctx.clone());
        let font_job = match deps.fonts {
            FontSetup::Background => {
                // The embedded UI subset makes the first frame's Chinese labels render;
                // the system face (for Chinese text from sites) follows when found.
                ctx.set_fonts(crate::app::fonts::definitions(None));
                Some(runner.spawn_blocking(crate::app::fonts::locate_and_map))
            }
            FontSetup::Preinstalled(status) => {
                state.font = status;
                None
            }
        };
        let refresher =
            make_refresher(deps.store.clone(), Arc::new(deps.relay.clone()), crate::engine::DEFAULT_MAX_CONCURRENCY);
        let mut app = App {
            state,
            view: deps.view,
            pending: vec![
                Command::ReloadAccounts,
                Command::ReloadActivity(Level::Info),
                Command::ReloadBackups,
                Command::ReloadVerified,
                Command::ReloadNotified,
            ],
            runner,
            store: deps.store,
            font_job,
            settings: AppSettings::new(settings),
            bench_startup: deps.bench_startup,
            frames: 0,
            refresher,
            relay: deps.relay,
            add_job: None,
            pending_2fa: None,
            detect_job: None,
            writes: Vec::new(),
            refresh_events: None,
            refresh_cancel: CancelFlag::default(),
            states_job: None,
            refresh_run: (Vec::new(), false),
            next_schedule_check: 0,
            pricing_version: u64::MAX,
            action_jobs: action_jobs::ActionJobs::default(),
            backup: backup_jobs::BackupJobs::default(),
            log_jobs: Default::default(),
            alert_jobs,
            net_jobs: Default::default(),
            try_jobs: Default::default(),
        };
        app.apply_pending(&ctx);
        app
    }

    /// Read access for tests and the CLI.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    fn apply_pending(&mut self, ctx: &egui::Context) {
        for cmd in std::mem::take(&mut self.pending) {
            self.apply(cmd, ctx);
        }
    }

    /// Applies one command. Every state change the UI asks for passes here.
    fn apply(&mut self, cmd: Command, ctx: &egui::Context) {
        match cmd {
            Command::ShowPanel(p) => self.state.panel = p,
            Command::SetLanguage(lang) => {
                self.state.lang = lang;
                i18n::set_lang(lang);
                self.change_settings(|s| s.ui.lang = Some(lang));
            }
            Command::SetTheme(pref) => {
                self.state.theme = pref;
                theme::apply(pref, ctx);
                self.change_settings(|s| s.ui.theme = pref);
            }
            Command::ReloadSettings => self.reload_settings(),
            Command::ReloadNotified => self.reload_notified(),
            Command::RefreshAll => {
                let accounts: Vec<Account> = self
                    .state
                    .accounts
                    .value()
                    .map(|a| a.iter().filter(|a| !a.disabled).cloned().collect())
                    .unwrap_or_default();
                self.start_refresh(accounts, ctx);
            }
            Command::RefreshAccounts(ids) => {
                let accounts: Vec<Account> = self
                    .state
                    .accounts
                    .value()
                    .map(|a| a.iter().filter(|a| ids.contains(&a.id)).cloned().collect())
                    .unwrap_or_default();
                self.start_refresh(accounts, ctx);
            }
            Command::AddAccount { account, verify } => {
                if self.add_job.is_some() {
                    return;
                }
                let relay = self.relay.clone();
                let store = self.store.clone();
                self.state.add = AddStatus::Working;
                self.add_job = Some(self.runner.spawn(async move {
                    crate::engine::add_account(&relay, &store, *account, verify)
                        .await
                        .map(|a| AddJobResult::Added(Box::new(a)))
                        .map_err(|e| e.to_string())
                }));
            }
            Command::AddWithPassword { how, username, password } => {
                if self.add_job.is_some() {
                    return;
                }
                let relay = self.relay.clone();
                let store = self.store.clone();
                self.state.add = AddStatus::Working;
                self.add_job = Some(self.runner.spawn(async move {
                    match crate::engine::add_with_password(&relay, &store, &how, &username, &password).await {
                        Ok(crate::engine::PasswordOutcome::Added(a)) => Ok(AddJobResult::Added(a)),
                        Ok(crate::engine::PasswordOutcome::Needs2fa(p)) => Ok(AddJobResult::Needs2fa(how, p)),
                        Err(e) => Err(e.to_string()),
                    }
                }));
            }
            Command::Submit2fa(code) => {
                let Some((how, pending)) = self.pending_2fa.take() else { return };
                if self.add_job.is_some() {
                    return;
                }
                let relay = self.relay.clone();
                let store = self.store.clone();
                self.state.add = AddStatus::Working;
                self.add_job = Some(self.runner.spawn(async move {
                    crate::engine::finish_2fa(&relay, &store, &how, &pending, &code)
                        .await
                        .map(|a| AddJobResult::Added(Box::new(a)))
                        .map_err(|e| e.to_string())
                }));
            }
            Command::DetectSite(url) => {
                let relay = self.relay.clone();
                self.state.detect = DetectStatus::Working;
                self.detect_job =
                    Some(self.runner.spawn(async move { relay.detect(&url).await.map_err(|e| e.to_string()) }));
            }
            Command::ResetAddAccount => {
                if self.add_job.is_none() {
                    self.state.add = AddStatus::Idle;
                    self.state.detect = DetectStatus::Idle;
                    self.pending_2fa = None;
                }
            }
            Command::UpdateAccountMeta { id, meta } => {
                self.store_write(format!("account {id} updated"), move |s| s.update_account_meta(id, &meta));
            }
            Command::DeleteAccount(id) => {
                self.state.states.remove(&id);
                self.store_write(format!("account {id} deleted"), move |s| s.remove_account(id).map(|_| ()));
            }
            Command::MoveAccount { id, delta } => {
                self.store_write(String::new(), move |s| s.move_account(id, delta));
            }
            Command::SetSchedule(schedule) => {
                self.state.schedule = schedule;
                self.next_schedule_check = 0;
                self.change_settings(|s| s.refresh = schedule);
            }
            Command::SetAlertSettings(settings) => self.set_alert_settings(settings),
            Command::CancelRefresh => {
                self.refresh_cancel.cancel();
                if let Some(p) = &mut self.state.refresh {
                    p.cancelling = true;
                }
            }
            Command::ReloadAccounts => {
                let store = self.store.clone();
                let p = self.runner.spawn_blocking(move || {
                    store.lock().map_err(|e| e.to_string())?.list_accounts().map_err(|e| e.to_string())
                });
                self.state.accounts.start(p);
                let store = self.store.clone();
                self.states_job = Some(self.runner.spawn_blocking(move || {
                    store.lock().map_err(|e| e.to_string())?.account_states().map_err(|e| e.to_string())
                }));
                self.reload_checkin_records();
                self.state.usage.load_today(&self.runner, &self.store);
                self.reload_network();
            }
            Command::SaveNetwork(n) => self.save_network(n),
            Command::SaveSiteNetwork { site, site_url, net } => self.save_site_network(site, site_url, net),
            Command::ReloadActivity(level) => {
                self.state.activity_level = level;
                let store = self.store.clone();
                let p = self.runner.spawn_blocking(move || {
                    store.lock().map_err(|e| e.to_string())?.recent_activity(2_000, level).map_err(|e| e.to_string())
                });
                self.state.activity.start(p);
            }
            cmd @ (Command::KeyAction { .. }
            | Command::Redeem { .. }
            | Command::CheckIn(_)
            | Command::CheckInAll
            | Command::DismissCheckinSummary
            | Command::MarkCheckinDone(_)
            | Command::SetAutoCheckin(_)) => self.apply_action(cmd),
            Command::DismissNotice(i) => {
                if i < self.state.notices.len() {
                    self.state.notices.remove(i);
                }
            }
            Command::Backup(action) => self.backup_action(action, ctx),
            Command::ReloadBackups => self.reload_backups(),
            cmd @ (Command::TryModel { .. } | Command::ReloadVerified) => self.apply_try(cmd, ctx),
            Command::AutoBackup => self.auto_backup(),
            Command::QueryLogs(filter) => self.state.usage.query(filter, &self.runner, &self.store),
            Command::LoadLogWindow(offset) => self.state.usage.load_window(offset, &self.runner, &self.store),
            Command::LoadLogCharts { by, day_start } => {
                self.state.usage.load_charts(by, day_start, &self.runner, &self.store)
            }
            Command::SyncLogs { accounts, history_days } => self.start_log_sync(accounts, history_days, ctx),
            Command::ExportLogsCsv => self.start_log_export(),
            Command::SetLogHistoryDays(days) => self.set_log_history_days(days),
            Command::CompareSiteStats => {
                let f = self.state.usage.filter.clone().unwrap_or_default();
                let accounts: Vec<Account> = self
                    .state
                    .accounts
                    .value()
                    .map(|a| {
                        a.iter().filter(|a| f.accounts.is_empty() || f.accounts.contains(&a.id)).cloned().collect()
                    })
                    .unwrap_or_default();
                let now = crate::domain::time::now_unix();
                let (since, until) = (f.since.unwrap_or(0), f.until.unwrap_or(now).min(now));
                let job =
                    crate::engine::log_sync::site_stats(self.relay.clone(), self.store.clone(), accounts, since, until);
                let p = self.runner.spawn(async move { Ok(job.await) });
                self.state.usage.site_stats.start(p);
            }
        }
    }

    fn start_log_sync(&mut self, ids: Vec<AccountId>, history_days: i64, ctx: &egui::Context) {
        if self.state.usage.sync.is_some() {
            return; // one log sync at a time
        }
        let accounts: Vec<Account> = self
            .state
            .accounts
            .value()
            .map(|a| {
                a.iter().filter(|a| if ids.is_empty() { !a.disabled } else { ids.contains(&a.id) }).cloned().collect()
            })
            .unwrap_or_default();
        if accounts.is_empty() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        self.state.usage.sync = Some(usage_logs::SyncProgress { total: accounts.len(), ..Default::default() });
        self.log_jobs.sync_events = Some(rx);
        let repaint = ctx.clone();
        let on_event = move |e| {
            let _ = tx.send(e);
            repaint.request_repaint();
        };
        self.log_jobs.sync_done = Some(self.runner.spawn(crate::engine::log_sync::sync_accounts(
            self.relay.clone(),
            self.store.clone(),
            accounts,
            crate::engine::log_sync::SyncOptions { history_days, ..Default::default() },
            on_event,
        )));
    }

    fn start_log_export(&mut self) {
        if self.log_jobs.export.is_some() {
            return;
        }
        let filter = self.state.usage.filter.clone().unwrap_or_default();
        let labels = usage_logs::account_labels(&self.state);
        let store = self.store.clone();
        self.state.usage.exporting = true;
        self.log_jobs.export = Some(self.runner.spawn(async move {
            let file = rfd::AsyncFileDialog::new()
                .set_file_name("usage-logs.csv")
                .add_filter("CSV", &["csv"])
                .save_file()
                .await?;
            let path = file.path().to_path_buf();
            let write = tokio::task::spawn_blocking(move || {
                usage_logs::write_csv(&store, &filter, &labels, &path).map(|n| (n, path))
            })
            .await;
            Some(match write {
                Ok(Ok((n, path))) => {
                    log::info!("exported {n} usage log rows to {}", path.display());
                    Ok(path.display().to_string())
                }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.to_string()),
            })
        }));
    }

    fn start_refresh(&mut self, accounts: Vec<Account>, ctx: &egui::Context) {
        if self.state.refresh.is_some() {
            return; // one refresh run at a time
        }
        if accounts.is_empty() {
            self.state.status =
                Some(StatusLine { text: tr("status.nothing_to_refresh").to_string(), severity: Severity::Info });
            return;
        }
        log::info!("refreshing {} accounts", accounts.len());
        self.refresh_run = (accounts.iter().map(|a| a.id).collect(), false);
        let (tx, rx) = mpsc::channel();
        let repaint = ctx.clone();
        let on_event: Box<dyn Fn(RefreshEvent) + Send + Sync> = Box::new(move |e| {
            let _ = tx.send(e);
            repaint.request_repaint();
        });
        self.refresh_cancel = CancelFlag::default();
        self.state.refresh = Some(RefreshProgress { total: accounts.len(), ..Default::default() });
        self.state.status = None;
        // The summary also arrives as the final event; the promise only keeps the job owned.
        let _ = self.runner.spawn((self.refresher)(accounts, self.refresh_cancel.clone(), on_event));
        self.refresh_events = Some(rx);
    }

    /// Rebuilds the pricing book off the UI thread when accounts or states changed.
    fn update_pricing(&mut self) {
        if self.pricing_version == self.state.data_version || self.state.pricing.is_loading() {
            return;
        }
        let Some(accounts) = self.state.accounts.value() else { return };
        if self.states_job.is_some() {
            return;
        }
        self.pricing_version = self.state.data_version;
        let accounts = accounts.clone();
        let states = self.state.states.clone();
        let p = self.runner.spawn_blocking(move || Ok(crate::domain::pricing::book_from(&accounts, &states)));
        self.state.pricing.start(p);
    }

    /// Starts a refresh of the accounts that are due, at most every 15 s.
    fn run_schedule(&mut self, ctx: &egui::Context) {
        let now = crate::domain::time::now_unix();
        if now < self.next_schedule_check || self.states_job.is_some() {
            return;
        }
        // Accounts not loaded yet: look again next frame, not 15 s later (a start-up
        // refresh of due accounts must not wait for the second check).
        let Some(accounts) = self.state.accounts.value() else { return };
        self.next_schedule_check = now + 15;
        ctx.request_repaint_after(std::time::Duration::from_secs(15));
        let (due, next) =
            crate::engine::schedule::due_accounts(accounts, &self.state.states, &self.state.schedule, now);
        let paused = self.state.offline_until.is_some_and(|t| t > now);
        self.state.next_auto_refresh_at = match (self.state.schedule.enabled, paused) {
            (false, _) => None,
            (true, true) => self.state.offline_until,
            (true, false) if !due.is_empty() => Some(now),
            (true, false) => next,
        };
        if paused || due.is_empty() || self.state.refresh.is_some() {
            return;
        }
        let chosen: Vec<Account> = accounts.iter().filter(|a| due.contains(&a.id)).cloned().collect();
        log::info!("auto refresh: {} accounts due", chosen.len());
        self.start_refresh(chosen, ctx);
        self.refresh_run.1 = true;
    }

    fn poll_refresh(&mut self) {
        let Some(rx) = &self.refresh_events else { return };
        let mut finished = None;
        while let Ok(event) = rx.try_recv() {
            match event {
                RefreshEvent::Started { total } => {
                    if let Some(p) = &mut self.state.refresh {
                        p.total = total;
                    }
                }
                RefreshEvent::AccountDone { account_id, state } => {
                    if let Some(p) = &mut self.state.refresh {
                        p.done += 1;
                        p.failed += usize::from(state.last_error.is_some());
                    }
                    let mut state = *state;
                    self.state.usage.overlay_today_one(account_id, &mut state);
                    self.state.states.insert(account_id, state);
                    self.state.data_version += 1;
                }
                RefreshEvent::Finished(summary) => finished = Some(summary),
            }
        }
        if let Some(s) = finished {
            self.refresh_events = None;
            self.state.refresh = None;
            let (ids, auto) = std::mem::take(&mut self.refresh_run);
            let now = crate::domain::time::now_unix();
            if auto && crate::engine::schedule::looks_offline(ids.iter().filter_map(|id| self.state.states.get(id))) {
                log::warn!("every site was unreachable: auto refresh paused for 5 minutes");
                self.state.offline_until = Some(now + crate::engine::schedule::OFFLINE_RETRY_SECS);
            } else if s.ok > 0 {
                self.state.offline_until = None;
            }
            self.next_schedule_check = 0;
            self.check_alerts(&ids);
            let text = i18n::fill(
                tr("status.refresh_done"),
                &[("ok", &s.ok), ("failed", &s.failed), ("cancelled", &s.cancelled)],
            );
            let severity = if s.failed > 0 { Severity::Warning } else { Severity::Info };
            self.state.status = Some(StatusLine { text, severity });
            self.pending.push(Command::AutoBackup);
        }
    }

    /// Runs a store write in the background, then reloads the accounts.
    fn store_write(
        &mut self,
        done_log: String,
        write: impl FnOnce(&mut crate::store::Store) -> Result<(), crate::store::StoreError> + Send + 'static,
    ) {
        let store = self.store.clone();
        self.writes.push(self.runner.spawn_blocking(move || {
            let mut s = store.lock().map_err(|e| e.to_string())?;
            write(&mut s).map_err(|e| e.to_string())?;
            if !done_log.is_empty() {
                log::info!("{done_log}");
            }
            Ok(())
        }));
    }

    /// Changes the settings; what changed is saved in the background (the one path).
    pub(crate) fn change_settings(&mut self, change: impl FnOnce(&mut Settings)) -> u64 {
        self.settings.change(&self.runner, &self.store, change)
    }

    /// Reads the settings again (after a restore brought others) and applies them.
    fn reload_settings(&mut self) {
        self.settings.reload(&self.runner, &self.store);
    }

    /// Applies settings read again from the store to the views' state.
    fn apply_settings(&mut self, ctx: &egui::Context) {
        let s = self.settings.current().clone();
        let lang = s.ui.lang.unwrap_or_else(i18n::system_lang);
        if lang != self.state.lang {
            self.state.lang = lang;
            i18n::set_lang(lang);
        }
        if s.ui.theme != self.state.theme {
            self.state.theme = s.ui.theme;
            theme::apply(s.ui.theme, ctx);
        }
        self.state.schedule = s.refresh;
        self.state.actions.auto_checkin = s.checkin;
        self.state.usage.history_days = s.logs.history_days;
        self.state.alerts = s.alerts.clone();
        let b = &mut self.state.backup;
        b.local_keep = s.backup.local.keep;
        b.webdav = s.backup.webdav.clone();
        b.upload_interval_hours = s.backup.webdav.interval_hours;
        b.update_settings = s.update.clone();
        self.state.data_version += 1;
        self.next_schedule_check = 0;
    }

    fn poll_jobs(&mut self, ctx: &egui::Context) {
        let now = crate::domain::time::now_unix();
        if self.state.accounts.poll(now) {
            self.state.data_version += 1;
        }
        self.state.activity.poll(now);
        self.state.pricing.poll(now);
        self.poll_refresh();
        if let Some(job) = &self.detect_job
            && job.ready().is_some()
            && let Some(job) = self.detect_job.take()
        {
            use crate::relay::detect::Confidence;
            self.state.detect = match job.block_and_take() {
                Ok(d) => DetectStatus::Found {
                    kind: d.kind,
                    confidence: match d.confidence {
                        Confidence::Guessed => "guessed",
                        Confidence::Likely => "likely",
                        Confidence::Certain => "certain",
                    },
                    reason: d.reason,
                },
                Err(e) => DetectStatus::Failed(e),
            };
        }
        self.poll_actions(ctx);
        self.poll_usage(now);
        self.poll_network();
        self.poll_tries();
        if let Some(job) = &self.add_job
            && job.ready().is_some()
            && let Some(job) = self.add_job.take()
        {
            self.state.add = match job.block_and_take() {
                Ok(AddJobResult::Needs2fa(how, pending)) => {
                    self.pending_2fa = Some((how, pending));
                    AddStatus::Needs2fa
                }
                Ok(AddJobResult::Added(added)) => {
                    if let Some(st) = &added.state {
                        self.state.states.insert(added.id, st.clone());
                        self.state.data_version += 1;
                    }
                    self.pending.extend([Command::ReloadAccounts, Command::AutoBackup]);
                    AddStatus::Added { id: added.id, summary: added.summary() }
                }
                Err(e) => {
                    log::warn!("adding an account failed: {e}");
                    AddStatus::Failed(e)
                }
            };
        }
        if let Some(job) = &self.states_job
            && job.ready().is_some()
            && let Some(job) = self.states_job.take()
        {
            match job.block_and_take() {
                Ok(mut states) => {
                    self.state.usage.overlay_today(&mut states);
                    self.state.states = states;
                    self.state.data_version += 1;
                }
                Err(e) => log::error!("stored account states unreadable: {e}"),
            }
        }
        if let Some(job) = &self.font_job
            && job.ready().is_some()
            && let Some(job) = self.font_job.take()
        {
            self.state.font = match job.block_and_take() {
                Some((face, data)) => {
                    ctx.set_fonts(crate::app::fonts::definitions(Some((&face, data))));
                    FontStatus::Loaded(face)
                }
                None => {
                    log::warn!("no Simplified Chinese system font found; using the built-in UI subset");
                    FontStatus::EmbeddedOnly
                }
            };
        }
        let mut wrote = false;
        let mut write_error = None;
        self.writes.retain(|p| match p.ready() {
            None => true,
            Some(Ok(())) => {
                wrote = true;
                false
            }
            Some(Err(e)) => {
                write_error = Some(e.clone());
                false
            }
        });
        if let Some(e) = write_error {
            log::error!("saving failed: {e}");
            self.state.status = Some(StatusLine { text: e, severity: Severity::Error });
        }
        if wrote {
            self.pending.extend([Command::ReloadAccounts, Command::AutoBackup]);
        }
        match self.settings.poll() {
            settings::Polled::Nothing => {}
            settings::Polled::Reloaded => self.apply_settings(ctx),
            settings::Polled::SaveFailed(e) => {
                if self.backup.webdav_save.take().is_some() {
                    self.state.backup.webdav_outcome = Some(backup_jobs::Outcome::Err(e.clone()));
                }
                self.state.status = Some(StatusLine {
                    text: i18n::fill(tr("status.settings_failed"), &[("e", &e)]),
                    severity: Severity::Error,
                });
            }
        }
        self.poll_backup_jobs();
        self.poll_alert_jobs();
        // Persist what the logger collected (redacted already).
        let entries = crate::logging::drain();
        if !entries.is_empty() {
            let store = self.store.clone();
            let _ = self.runner.spawn_blocking(move || {
                if let Ok(mut s) = store.lock()
                    && let Err(e) = s.append_activity(&entries)
                {
                    eprintln!("activity log write failed: {e}");
                }
            });
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(start) = self.bench_startup
            && self.frames >= 1
        {
            println!("first_frame_ms={}", start.elapsed().as_millis());
            self.bench_startup = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.poll_jobs(ctx);
        self.apply_pending(ctx);
        self.run_schedule(ctx);
        self.run_auto_checkin(ctx);
        self.update_pricing();
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
