//! Usage logs and the activity log: the applied filter, a window of rows for the
//! virtualised table, statistics, chart series, the sites' own billed sums, log sync
//! (`logs:sync`, claiming `logs:sync:{id}` of each account it covers) and CSV export
//! (`logs:export`); the persisted activity log (`logs:activity`) and the logger's queue
//! written into it (`logs:append`). Every query runs on the blocking pool (latest wins).

use super::command::SitesCmd;
use super::cx::Cx;
use super::jobs::{JobMsg, Spec};
use super::loadable::Loadable;
use super::sites::Sites;
use crate::domain::usage_log::{LogFilter, LogStats, UsageLog};
use crate::domain::{Account, AccountId};
use crate::engine::log_sync::{SiteStat, SyncEvent, SyncReport};
use crate::store::{
    ActivityEntry, DailyRow, GatewayAccountSummary, GatewaySummaryQuery, Level, SeriesPoint, SharedStore, StackBy,
};

/// Commands of the Logs panel.
#[derive(Debug, Clone)]
pub enum LogsCmd {
    /// Apply a usage-log filter: row count, first table window, statistics.
    Query(LogFilter),
    /// Load the table window starting at this row index.
    LoadWindow(usize),
    /// Load chart series (stacked by account or model; hours of the day starting at `day_start`).
    LoadCharts {
        /// Series per account or per model.
        by: StackBy,
        /// Local midnight (unix s) of the day for the per-hour chart.
        day_start: i64,
    },
    /// Sync usage logs of these accounts (empty = every enabled account).
    Sync {
        /// The accounts (empty = every enabled one).
        accounts: Vec<AccountId>,
        /// History depth of a first sync, in days.
        history_days: i64,
    },
    /// Set the first-sync history depth in days (7, 30, 90 or 180; a setting).
    SetHistoryDays(i64),
    /// Export the filtered rows to CSV (asks where with a save dialog).
    ExportCsv,
    /// Ask the sites for their own billed sum of the filter's window (`/api/log/self/stat`).
    CompareSiteStats,
    /// Reload the activity log from the store at this minimum level.
    ReloadActivity(Level),
    /// Read again what is shown (the filter's rows, statistics, the activity log):
    /// another process changed the store.
    Refresh,
}

/// Messages of the logs jobs.
pub enum LogsMsg {
    /// A table window.
    Window(Result<LogWindow, String>),
    /// Statistics.
    Stats(Result<LogStats, String>),
    /// The local gateway's per-account figures for the filter.
    Gateway(Result<Vec<GatewayAccountSummary>, String>),
    /// Model and key names.
    Names(Result<(Vec<String>, Vec<String>), String>),
    /// Chart series.
    Charts(Result<LogCharts, String>),
    /// The sites' own sums.
    SiteStats(Vec<SiteStat>),
    /// An account's sync ended (progress).
    Synced(SyncReport),
    /// The sync run ended.
    SyncDone(Vec<SyncReport>),
    /// The export ended (`None`: the dialog was closed).
    Exported(Option<Result<String, String>>),
    /// The activity log.
    Activity(Result<Vec<ActivityEntry>, String>),
    /// Logger lines were written.
    Appended,
}

impl From<LogsMsg> for JobMsg {
    fn from(m: LogsMsg) -> JobMsg {
        JobMsg::Logs(m)
    }
}

/// Rows fetched per table window.
pub const WINDOW_ROWS: usize = 400;

/// A window of the filtered rows (newest first) and the filter's row count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogWindow {
    /// Index of `rows[0]` among all matching rows.
    pub offset: usize,
    /// The rows.
    pub rows: Vec<UsageLog>,
    /// How many rows match the filter.
    pub total: usize,
    /// Identity of this load (views cache what they derive from the rows by it).
    pub seq: u64,
}

/// The gateway records a usage-log filter covers: its time window (seconds → ms), its
/// accounts and its model. Type, key name and text have no counterpart there and are
/// not applied.
pub fn gateway_query(f: &LogFilter) -> GatewaySummaryQuery {
    GatewaySummaryQuery {
        since_ms: f.since.map(|s| s * 1_000),
        until_ms: f.until.map(|u| u * 1_000 + 999),
        accounts: f.accounts.clone(),
        model: f.model.clone(),
    }
}

/// A number no earlier window load had.
fn next_seq() -> u64 {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl LogWindow {
    /// The row at a global index, when loaded.
    pub fn get(&self, index: usize) -> Option<&UsageLog> {
        index.checked_sub(self.offset).and_then(|i| self.rows.get(i))
    }
}

/// Chart series for the current filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogCharts {
    /// Billed totals per local day and series.
    pub per_day: Vec<SeriesPoint>,
    /// Billed totals per hour of `hour_day_start`.
    pub per_hour: Vec<SeriesPoint>,
    /// Local midnight of the day `per_hour` covers.
    pub hour_day_start: i64,
    /// What the series are.
    pub by: StackBy,
    /// Balance history per account (from the daily snapshots), by account id.
    pub balances: Vec<(AccountId, Vec<DailyRow>)>,
}

/// Progress of a running log sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncProgress {
    /// Accounts finished.
    pub done: usize,
    /// Accounts in the run.
    pub total: usize,
    /// New rows so far.
    pub inserted: usize,
}

/// Everything the Logs panel reads.
#[derive(Default)]
pub struct Logs {
    /// The filter the loaded data answers (`None` before the first query).
    pub filter: Option<LogFilter>,
    /// Table rows.
    pub window: Loadable<LogWindow>,
    /// Statistics.
    pub stats: Loadable<LogStats>,
    /// What went through the local gateway under the same filter, per account.
    pub gateway: Loadable<Vec<GatewayAccountSummary>>,
    /// Charts (loaded when the chart view opens).
    pub charts: Loadable<LogCharts>,
    /// Distinct model and key names for the pickers.
    pub names: Loadable<(Vec<String>, Vec<String>)>,
    /// The running sync.
    pub sync: Option<SyncProgress>,
    /// Reports of the last sync run.
    pub last_sync: Vec<SyncReport>,
    /// Outcome of the last CSV export (`Ok(path)` or the error).
    pub export: Option<Result<String, String>>,
    /// An export is running.
    pub exporting: bool,
    /// The sites' own billed sums for the filter's window, beside the local ones.
    pub site_stats: Loadable<Vec<SiteStat>>,
    /// Activity log entries (newest first).
    pub activity: Loadable<Vec<ActivityEntry>>,
    /// Minimum level shown in the activity log.
    pub activity_level: Level,
    /// Logger lines waiting for the store (written one batch at a time).
    unwritten: Vec<ActivityEntry>,
}

const SYNC_JOB: &str = "logs:sync";
const EXPORT_JOB: &str = "logs:export";
const APPEND_JOB: &str = "logs:append";

fn q<T>(
    store: &SharedStore,
    f: impl FnOnce(&crate::store::Store) -> Result<T, crate::store::StoreError>,
) -> Result<T, String> {
    store.with(|s| f(s)).map_err(|e| e.to_string())
}

impl Logs {
    /// Applies a command.
    pub fn apply(&mut self, cmd: LogsCmd, cx: &mut Cx<'_>, sites: &Sites) {
        match cmd {
            LogsCmd::Query(filter) => self.query(filter, cx),
            LogsCmd::Refresh => {
                if let Some(filter) = self.filter.clone() {
                    self.query(filter, cx);
                }
                cx.send(LogsCmd::ReloadActivity(self.activity_level));
            }
            LogsCmd::LoadWindow(offset) => self.load_window(offset, cx),
            LogsCmd::LoadCharts { by, day_start } => self.load_charts(by, day_start, cx),
            LogsCmd::Sync { accounts, history_days } => self.start_sync(accounts, history_days, cx, sites),
            LogsCmd::SetHistoryDays(days) => {
                if crate::domain::settings::HISTORY_CHOICES.contains(&days) {
                    cx.change_settings(|s| s.logs.history_days = days);
                }
            }
            LogsCmd::ExportCsv => self.start_export(cx, sites),
            LogsCmd::CompareSiteStats => {
                let f = self.filter.clone().unwrap_or_default();
                let accounts: Vec<Account> = sites
                    .accounts
                    .value()
                    .map(|a| {
                        a.iter().filter(|a| f.accounts.is_empty() || f.accounts.contains(&a.id)).cloned().collect()
                    })
                    .unwrap_or_default();
                let now = crate::domain::time::now_unix();
                let (since, until) = (f.since.unwrap_or(0), f.until.unwrap_or(now).min(now));
                let job =
                    crate::engine::log_sync::site_stats(cx.relay.clone(), cx.store.clone(), accounts, since, until);
                self.site_stats.start();
                cx.start_quiet(
                    Spec::new("logs:site-stats").latest_wins(),
                    |_| async move { LogsMsg::SiteStats(job.await) },
                );
            }
            LogsCmd::ReloadActivity(level) => {
                self.activity_level = level;
                let store = cx.store.clone();
                self.activity.start();
                cx.start_blocking_quiet(Spec::new("logs:activity").latest_wins(), move |_| {
                    LogsMsg::Activity(q(&store, |s| s.recent_activity(2_000, level)))
                });
            }
        }
    }

    /// Applies a new filter: row count + first window, statistics, the gateway's figures, names.
    fn query(&mut self, filter: LogFilter, cx: &mut Cx<'_>) {
        self.filter = Some(filter.clone());
        let (s, f) = (cx.store.clone(), filter.clone());
        self.window.start();
        cx.start_blocking_quiet(Spec::new("logs:window").latest_wins(), move |_| {
            LogsMsg::Window(q(&s, |st| {
                let total = st.count_usage_logs(&f)?;
                Ok(LogWindow { offset: 0, rows: st.query_usage_logs(&f, WINDOW_ROWS, 0)?, total, seq: next_seq() })
            }))
        });
        let (s, f2) = (cx.store.clone(), filter.clone());
        self.stats.start();
        cx.start_blocking_quiet(Spec::new("logs:stats").latest_wins(), move |_| {
            LogsMsg::Stats(q(&s, |st| st.usage_log_stats(&filter)))
        });
        let (s, gq) = (cx.store.clone(), gateway_query(&f2));
        self.gateway.start();
        cx.start_blocking_quiet(Spec::new("logs:gateway").latest_wins(), move |_| {
            LogsMsg::Gateway(q(&s, |st| st.gateway_summary(&gq)))
        });
        let s = cx.store.clone();
        self.names.start();
        cx.start_blocking_quiet(Spec::new("logs:names").latest_wins(), move |_| {
            LogsMsg::Names(q(&s, |st| st.usage_log_names()))
        });
    }

    /// Loads the window starting at `offset` (keeps the known row count).
    fn load_window(&mut self, offset: usize, cx: &mut Cx<'_>) {
        let Some(f) = self.filter.clone() else { return };
        if self.window.is_loading() || self.window.value().is_some_and(|w| w.offset == offset) {
            return; // already there (a shorter window than expected must not reload forever)
        }
        let total = self.window.value().map(|w| w.total).unwrap_or(0);
        let s = cx.store.clone();
        self.window.start();
        cx.start_blocking_quiet(Spec::new("logs:window").latest_wins(), move |_| {
            LogsMsg::Window(q(&s, |st| {
                Ok(LogWindow { offset, rows: st.query_usage_logs(&f, WINDOW_ROWS, offset)?, total, seq: next_seq() })
            }))
        });
    }

    /// Loads chart series for the applied filter.
    fn load_charts(&mut self, by: StackBy, day_start: i64, cx: &mut Cx<'_>) {
        let f = self.filter.clone().unwrap_or_default();
        let s = cx.store.clone();
        self.charts.start();
        cx.start_blocking_quiet(Spec::new("logs:charts").latest_wins(), move |_| {
            LogsMsg::Charts(q(&s, |st| {
                let per_day = st.usage_per_day(&f, by)?;
                let day = LogFilter { since: Some(day_start), until: Some(day_start + 86_399), ..f.clone() };
                let per_hour = st.usage_per_hour(&day, by)?;
                let ids: Vec<AccountId> = if f.accounts.is_empty() {
                    st.list_accounts()?.into_iter().map(|a| a.id).collect()
                } else {
                    f.accounts.clone()
                };
                let mut balances = Vec::new();
                for id in ids {
                    balances.push((id, st.daily_history(id)?));
                }
                Ok(LogCharts { per_day, per_hour, hour_day_start: day_start, by, balances })
            }))
        });
    }

    /// Syncs the given accounts (empty: every enabled one), one run at a time; each
    /// account is claimed (`logs:sync:{id}`) and released when its sync ends.
    fn start_sync(&mut self, ids: Vec<AccountId>, history_days: i64, cx: &mut Cx<'_>, sites: &Sites) {
        let accounts: Vec<Account> = sites
            .accounts
            .value()
            .map(|a| {
                a.iter().filter(|a| if ids.is_empty() { !a.disabled } else { ids.contains(&a.id) }).cloned().collect()
            })
            .unwrap_or_default();
        if accounts.is_empty() {
            return;
        }
        let total = accounts.len();
        let claims: Vec<String> = accounts.iter().map(|a| format!("logs:sync:{}", a.id)).collect();
        let (relay, store) = (cx.relay.clone(), cx.store.clone());
        if cx.start(Spec::new(SYNC_JOB).claims(claims), |r| {
            let on_event = move |SyncEvent::AccountDone(report): SyncEvent| {
                r.release(&format!("logs:sync:{}", report.account_id));
                r.progress(LogsMsg::Synced(report));
            };
            let opts = crate::engine::log_sync::SyncOptions { history_days, ..Default::default() };
            let run = crate::engine::log_sync::sync_accounts(relay, store, accounts, opts, on_event);
            async move { LogsMsg::SyncDone(run.await) }
        }) {
            self.sync = Some(SyncProgress { total, ..Default::default() });
        }
    }

    fn start_export(&mut self, cx: &mut Cx<'_>, sites: &Sites) {
        let filter = self.filter.clone().unwrap_or_default();
        let labels = account_labels(sites);
        let store = cx.store.clone();
        if cx.start(Spec::new(EXPORT_JOB), |_| async move {
            let Some(file) = rfd::AsyncFileDialog::new()
                .set_file_name("usage-logs.csv")
                .add_filter("CSV", &["csv"])
                .save_file()
                .await
            else {
                return LogsMsg::Exported(None);
            };
            let path = file.path().to_path_buf();
            let write =
                tokio::task::spawn_blocking(move || write_csv(&store, &filter, &labels, &path).map(|n| (n, path)))
                    .await;
            LogsMsg::Exported(Some(match write {
                Ok(Ok((n, path))) => {
                    log::info!("exported {n} usage log rows to {}", path.display());
                    Ok(path.display().to_string())
                }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.to_string()),
            }))
        }) {
            self.exporting = true;
        }
    }

    /// Writes what the logger collected (redacted already) into the activity log, one
    /// batch at a time.
    pub fn tick(&mut self, cx: &mut Cx<'_>) {
        self.unwritten.extend(crate::logging::drain());
        if self.unwritten.is_empty() || cx.jobs.is_running(APPEND_JOB) {
            return;
        }
        let entries = std::mem::take(&mut self.unwritten);
        let store = cx.store.clone();
        cx.start_blocking_quiet(Spec::new(APPEND_JOB), move |_| {
            if let Err(e) = store.with(|s| s.append_activity(&entries)) {
                eprintln!("activity log write failed: {e}");
            }
            LogsMsg::Appended
        });
    }

    /// Writes what the logger still holds, on this thread: the window is closing, and
    /// an idle window drains the logger only every [`super::IDLE_WAKE`].
    pub fn flush(&mut self, store: &crate::store::SharedStore) {
        self.unwritten.extend(crate::logging::drain());
        let entries = std::mem::take(&mut self.unwritten);
        if !entries.is_empty()
            && let Err(e) = store.with(|s| s.append_activity(&entries))
        {
            eprintln!("activity log write failed: {e}");
        }
    }

    /// Lands a job's message.
    pub fn on_job(&mut self, msg: LogsMsg, cx: &mut Cx<'_>) {
        let now = crate::domain::time::now_unix();
        match msg {
            LogsMsg::Window(r) => self.window.finish(r, now),
            LogsMsg::Stats(r) => self.stats.finish(r, now),
            LogsMsg::Gateway(r) => self.gateway.finish(r, now),
            LogsMsg::Names(r) => self.names.finish(r, now),
            LogsMsg::Charts(r) => self.charts.finish(r, now),
            LogsMsg::SiteStats(r) => self.site_stats.finish(Ok(r), now),
            LogsMsg::Synced(r) => {
                if let Some(p) = &mut self.sync {
                    p.done += 1;
                    p.inserted += r.inserted;
                }
            }
            LogsMsg::SyncDone(reports) => {
                self.last_sync = reports;
                self.sync = None;
                // New rows: today's sums and the panel's query.
                cx.send(SitesCmd::ReloadToday);
                if let Some(f) = self.filter.clone() {
                    self.query(f, cx);
                }
            }
            LogsMsg::Exported(outcome) => {
                self.exporting = false;
                if let Some(o) = outcome {
                    self.export = Some(o);
                }
            }
            LogsMsg::Activity(r) => self.activity.finish(r, now),
            LogsMsg::Appended => {}
        }
    }

    /// A job ended without its message.
    pub fn job_lost(&mut self, key: &str) {
        match key {
            SYNC_JOB => self.sync = None,
            EXPORT_JOB => self.exporting = false,
            "logs:window" => self.window.stop(),
            "logs:stats" => self.stats.stop(),
            "logs:gateway" => self.gateway.stop(),
            "logs:names" => self.names.stop(),
            "logs:charts" => self.charts.stop(),
            "logs:site-stats" => self.site_stats.stop(),
            "logs:activity" => self.activity.stop(),
            _ => {}
        }
    }
}

/// How an account is shown beside its log rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountLabel {
    /// `Site / user`.
    pub name: String,
    /// The site's currency settings (from the last snapshot).
    pub currency: crate::domain::money::CurrencySettings,
    /// What the user pays per 1 USD of quota, if set.
    pub paid_per_usd: Option<f64>,
    /// A money-native site (its rows hold cost units, not quota points).
    pub money_native: bool,
}

/// Labels of every known account.
pub fn account_labels(sites: &Sites) -> std::collections::HashMap<AccountId, AccountLabel> {
    sites
        .accounts
        .value()
        .map(|accounts| {
            accounts
                .iter()
                .map(|a| {
                    let currency = sites
                        .states
                        .get(&a.id)
                        .and_then(|s| s.snapshot.as_ref())
                        .map(|s| s.currency.clone())
                        .unwrap_or_default();
                    let name = format!("{} / {}", a.site.name, a.username);
                    (
                        a.id,
                        AccountLabel {
                            name,
                            currency,
                            paid_per_usd: a.paid_per_usd,
                            money_native: a.site.kind.is_money_native(),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes every row matching `filter` to `path` as CSV. Returns the row count.
pub fn write_csv(
    store: &SharedStore,
    filter: &LogFilter,
    labels: &std::collections::HashMap<AccountId, AccountLabel>,
    path: &std::path::Path,
) -> Result<usize, String> {
    use crate::domain::usage_log::{CSV_HEADER, csv_line};
    use std::io::Write;
    let rows = store.with(|st| st.query_usage_logs(filter, usize::MAX / 2, 0)).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let fallback = AccountLabel::default();
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "{CSV_HEADER}").map_err(io)?;
    for r in &rows {
        let l = labels.get(&r.account_id).unwrap_or(&fallback);
        let time = crate::domain::time::local_text(r.created_at, "%Y-%m-%d %H:%M:%S");
        writeln!(
            w,
            "{}",
            csv_line(r, &time, &l.name, l.money_native, l.currency.quota_to_amount(r.quota), &l.currency.currency())
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::Rig;

    #[test]
    fn the_gateway_figures_take_the_filters_window_accounts_and_model() {
        let f = LogFilter {
            accounts: vec![3],
            since: Some(10),
            until: Some(20),
            model: Some("m".into()),
            text: Some("x".into()),
            ..Default::default()
        };
        let want = GatewaySummaryQuery {
            since_ms: Some(10_000),
            until_ms: Some(20_999),
            accounts: vec![3],
            model: Some("m".into()),
        };
        assert_eq!(gateway_query(&f), want, "seconds become ms; the last second counts whole");
        assert_eq!(gateway_query(&LogFilter::default()), GatewaySummaryQuery::default());
    }

    #[test]
    fn a_query_loads_window_stats_and_names_and_a_finished_sync_queries_again() {
        let mut rig = Rig::new();
        let mut logs = Logs::default();
        let sites = Sites::default();
        rig.with(|cx| logs.apply(LogsCmd::Query(LogFilter::default()), cx, &sites));
        assert!(logs.window.is_loading() && logs.stats.is_loading() && logs.names.is_loading());
        assert!(logs.gateway.is_loading(), "the gateway's figures follow the same filter");
        for m in rig.next(4) {
            if let JobMsg::Logs(m) = m {
                rig.with(|cx| logs.on_job(m, cx));
            }
        }
        assert_eq!(logs.window.value().map(|w| w.total), Some(0));
        assert!(logs.stats.value().is_some() && logs.names.value().is_some());
        assert_eq!(logs.gateway.value().map(Vec::len), Some(0));

        logs.sync = Some(SyncProgress { total: 2, ..Default::default() });
        rig.with(|cx| logs.on_job(LogsMsg::SyncDone(Vec::new()), cx));
        assert!(logs.sync.is_none());
        assert!(logs.window.is_loading(), "the panel's filter is queried again");
        assert!(matches!(rig.sent().as_slice(), [crate::app::Command::Sites(SitesCmd::ReloadToday)]));
        // Nothing to sync: nothing starts.
        rig.with(|cx| logs.apply(LogsCmd::Sync { accounts: vec![], history_days: 30 }, cx, &sites));
        assert!(logs.sync.is_none());
    }

    #[test]
    fn the_history_depth_is_a_setting_and_only_the_choices_are_taken() {
        let mut rig = Rig::new();
        let mut logs = Logs::default();
        rig.with(|cx| logs.apply(LogsCmd::SetHistoryDays(12), cx, &Sites::default()));
        assert_eq!(rig.settings.logs.history_days, 30);
        rig.with(|cx| logs.apply(LogsCmd::SetHistoryDays(90), cx, &Sites::default()));
        assert_eq!(rig.settings.logs.history_days, 90);
    }
}
