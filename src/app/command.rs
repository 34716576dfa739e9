//! Every state change the UI can ask for. Views push these; `App::logic` applies
//! them in one `match` (see `App::apply`).

use crate::store::Level;
use crate::ui::Panel;
use crate::ui::i18n::Lang;
use crate::ui::theme::ThemePref;

/// A request from a view.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show another panel.
    ShowPanel(Panel),
    /// Switch the UI language (persisted).
    SetLanguage(Lang),
    /// Switch the theme (persisted).
    SetTheme(ThemePref),
    /// Refresh every enabled account.
    RefreshAll,
    /// Refresh some accounts (even disabled ones: the user asked).
    RefreshAccounts(Vec<crate::domain::AccountId>),
    /// Verify (unless `verify` is false) and save a new account.
    AddAccount {
        /// The account to add.
        account: Box<crate::domain::NewAccount>,
        /// Check the credentials against the site first.
        verify: bool,
    },
    /// Forget the last add result (the dialog was closed or reopened).
    ResetAddAccount,
    /// Stop the running refresh (accounts not yet started are skipped).
    CancelRefresh,
    /// Reload the account list from the store.
    ReloadAccounts,
    /// Reload the activity log from the store at this minimum level.
    ReloadActivity(Level),
    /// Hide a start-up notice.
    DismissNotice(usize),
    // --- Usage logs (Logs panel) ---
    /// Apply a usage-log filter: row count, first table window, statistics.
    QueryLogs(crate::domain::usage_log::LogFilter),
    /// Load the table window starting at this row index.
    LoadLogWindow(usize),
    /// Load chart series (stacked by account or model; hours of the day starting at `day_start`).
    LoadLogCharts {
        /// Series per account or per model.
        by: crate::store::StackBy,
        /// Local midnight (unix s) of the day for the per-hour chart.
        day_start: i64,
    },
    /// Sync usage logs of these accounts (empty = every enabled account).
    SyncLogs {
        /// The accounts (empty = every enabled one).
        accounts: Vec<crate::domain::AccountId>,
        /// History depth of a first sync, in days.
        history_days: i64,
    },
    /// Export the filtered rows to CSV (asks where with a save dialog).
    ExportLogsCsv,
    /// Ask the sites for their own billed sum of the filter's window (`/api/log/self/stat`).
    CompareSiteStats,
}
