//! The Logs panel's data: the applied filter, a window of rows for the virtualised
//! table, statistics, chart series and the running log sync. Every query runs as a
//! job on the blocking pool; the views only read this.

use std::collections::HashMap;
use std::sync::mpsc;

use poll_promise::Promise;

use super::loadable::Loadable;
use super::runner::TaskRunner;
use crate::domain::AccountId;
use crate::domain::snapshot::{AccountState, TodayUsage};
use crate::domain::usage_log::{LogFilter, LogStats, UsageLog};
use crate::engine::log_sync::{SyncEvent, SyncReport};
use crate::store::{DailyRow, SeriesPoint, SharedStore, StackBy};

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
pub struct UsageLogsState {
    /// The filter the loaded data answers (`None` before the first query).
    pub filter: Option<LogFilter>,
    /// Table rows.
    pub window: Loadable<LogWindow>,
    /// Statistics.
    pub stats: Loadable<LogStats>,
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
    pub site_stats: Loadable<Vec<crate::engine::log_sync::SiteStat>>,
    /// Today's usage summed from synced rows: the local midnight it was computed for and
    /// the sums of the accounts whose sync covers today (they replace the snapshot's).
    pub today: Loadable<(i64, HashMap<AccountId, TodayUsage>)>,
    /// First-sync history depth in days (the persisted setting; 0 = not loaded, default).
    pub history_days: i64,
}

/// Jobs behind [`UsageLogsState`] that are not `Loadable`s.
#[derive(Default)]
pub(crate) struct UsageLogJobs {
    pub sync_events: Option<mpsc::Receiver<SyncEvent>>,
    pub sync_done: Option<Promise<Vec<SyncReport>>>,
    pub export: Option<Promise<Option<Result<String, String>>>>,
}

fn locked<T>(
    store: &SharedStore,
    f: impl FnOnce(&crate::store::Store) -> Result<T, crate::store::StoreError>,
) -> Result<T, String> {
    let s = store.lock().map_err(|_| "store lock poisoned".to_string())?;
    f(&s).map_err(|e| e.to_string())
}

impl UsageLogsState {
    /// The first-sync history depth to use.
    pub fn history_days(&self) -> i64 {
        if self.history_days > 0 { self.history_days } else { crate::engine::log_sync::DEFAULT_HISTORY_DAYS }
    }

    /// Applies a new filter: row count + first window, statistics, names.
    pub(crate) fn query(&mut self, filter: LogFilter, runner: &TaskRunner, store: &SharedStore) {
        self.filter = Some(filter.clone());
        let (s, f) = (store.clone(), filter.clone());
        self.window.start(runner.spawn_blocking(move || {
            locked(&s, |st| {
                let total = st.count_usage_logs(&f)?;
                Ok(LogWindow { offset: 0, rows: st.query_usage_logs(&f, WINDOW_ROWS, 0)?, total, seq: next_seq() })
            })
        }));
        let (s, f) = (store.clone(), filter);
        self.stats.start(runner.spawn_blocking(move || locked(&s, |st| st.usage_log_stats(&f))));
        let s = store.clone();
        self.names.start(runner.spawn_blocking(move || locked(&s, |st| st.usage_log_names())));
    }

    /// Sums today's synced rows per account (for the Sites panel and account details).
    pub(crate) fn load_today(&mut self, runner: &TaskRunner, store: &SharedStore) {
        let s = store.clone();
        self.today.start(runner.spawn_blocking(move || {
            let (day_start, _) = crate::domain::time::local_day_window();
            locked(&s, |st| Ok((day_start, st.today_from_logs(day_start)?)))
        }));
    }

    /// Today's local sums, when they were computed for the current day.
    fn today_sums(&self) -> Option<&HashMap<AccountId, TodayUsage>> {
        let (day, sums) = self.today.value()?;
        (*day == crate::domain::time::local_day_window().0).then_some(sums)
    }

    /// Puts today's local sums into the accounts' states (replacing the snapshot's figures).
    pub(crate) fn overlay_today(&self, states: &mut HashMap<AccountId, AccountState>) {
        if let Some(sums) = self.today_sums() {
            crate::domain::usage_log::overlay_today_all(states, sums);
        }
    }

    /// [`Self::overlay_today`] for one account's fresh state.
    pub(crate) fn overlay_today_one(&self, id: AccountId, state: &mut AccountState) {
        if let Some(sums) = self.today_sums() {
            crate::domain::usage_log::overlay_today(state, sums.get(&id));
        }
    }

    /// Loads the window starting at `offset` (keeps the known row count).
    pub(crate) fn load_window(&mut self, offset: usize, runner: &TaskRunner, store: &SharedStore) {
        let Some(f) = self.filter.clone() else { return };
        if self.window.is_loading() || self.window.value().is_some_and(|w| w.offset == offset) {
            return; // already there (a shorter window than expected must not reload forever)
        }
        let total = self.window.value().map(|w| w.total).unwrap_or(0);
        let s = store.clone();
        self.window.start(runner.spawn_blocking(move || {
            locked(&s, |st| {
                Ok(LogWindow { offset, rows: st.query_usage_logs(&f, WINDOW_ROWS, offset)?, total, seq: next_seq() })
            })
        }));
    }

    /// Loads chart series for the applied filter.
    pub(crate) fn load_charts(&mut self, by: StackBy, day_start: i64, runner: &TaskRunner, store: &SharedStore) {
        let f = self.filter.clone().unwrap_or_default();
        let s = store.clone();
        self.charts.start(runner.spawn_blocking(move || {
            locked(&s, |st| {
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
            })
        }));
    }

    /// Polls every job; returns true when a sync finished (the caller re-queries).
    pub(crate) fn poll(&mut self, jobs: &mut UsageLogJobs, now: i64) -> bool {
        self.window.poll(now);
        self.stats.poll(now);
        self.charts.poll(now);
        self.names.poll(now);
        self.site_stats.poll(now);
        if let Some(rx) = &jobs.sync_events {
            while let Ok(SyncEvent::AccountDone(r)) = rx.try_recv() {
                if let Some(p) = &mut self.sync {
                    p.done += 1;
                    p.inserted += r.inserted;
                }
            }
        }
        if let Some(job) = &jobs.export
            && job.ready().is_some()
            && let Some(job) = jobs.export.take()
        {
            self.exporting = false;
            if let Some(outcome) = job.block_and_take() {
                self.export = Some(outcome);
            }
        }
        if let Some(job) = &jobs.sync_done
            && job.ready().is_some()
            && let Some(job) = jobs.sync_done.take()
        {
            self.last_sync = job.block_and_take();
            self.sync = None;
            jobs.sync_events = None;
            return true;
        }
        false
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
}

/// Labels of every known account.
pub fn account_labels(state: &super::AppState) -> std::collections::HashMap<AccountId, AccountLabel> {
    state
        .accounts
        .value()
        .map(|accounts| {
            accounts
                .iter()
                .map(|a| {
                    let currency = state
                        .states
                        .get(&a.id)
                        .and_then(|s| s.snapshot.as_ref())
                        .map(|s| s.currency.clone())
                        .unwrap_or_default();
                    let name = format!("{} / {}", a.site.name, a.username);
                    (a.id, AccountLabel { name, currency, paid_per_usd: a.paid_per_usd })
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
    let rows = locked(store, |st| st.query_usage_logs(filter, usize::MAX / 2, 0))?;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let fallback = AccountLabel::default();
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "{CSV_HEADER}").map_err(io)?;
    for r in &rows {
        let l = labels.get(&r.account_id).unwrap_or(&fallback);
        let time = crate::domain::time::local_text(r.created_at, "%Y-%m-%d %H:%M:%S");
        writeln!(w, "{}", csv_line(r, &time, &l.name, l.currency.quota_to_amount(r.quota), &l.currency.currency()))
            .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(rows.len())
}

impl super::App {
    /// Polls the Logs panel's jobs: a finished sync re-queries the panel and today's sums;
    /// fresh sums go into the account states (the Sites panel's rows are rebuilt).
    pub(super) fn poll_usage(&mut self, now: i64) {
        if self.state.usage.poll(&mut self.log_jobs, now) {
            self.state.usage.load_today(&self.runner, &self.store);
            if let Some(f) = self.state.usage.filter.clone() {
                self.pending.push(super::Command::QueryLogs(f));
            }
        }
        if self.state.usage.today.poll(now) {
            let mut states = std::mem::take(&mut self.state.states);
            self.state.usage.overlay_today(&mut states);
            self.state.states = states;
            self.state.data_version += 1;
        }
    }

    /// Changes the first-sync history depth (one of the choices) and saves it.
    pub(super) fn set_log_history_days(&mut self, days: i64) {
        use crate::domain::settings::HISTORY_CHOICES;
        if !HISTORY_CHOICES.contains(&days) || self.state.usage.history_days == days {
            return;
        }
        self.state.usage.history_days = days;
        self.change_settings(|s| s.logs.history_days = days);
    }
}
