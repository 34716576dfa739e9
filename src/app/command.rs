//! Every state change the UI can ask for. Views push these; `App::logic` applies
//! them in one `match` (see `App::apply`).

use crate::app::Panel;
use crate::app::i18n::Lang;
use crate::domain::settings::ThemePref;
use crate::store::Level;

/// A request from a view.
#[derive(Debug, Clone)]
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
    /// Sign in with a password, then verify and save (the password is never stored).
    AddWithPassword {
        /// Where and what to keep.
        how: crate::engine::PasswordSignIn,
        /// Login name.
        username: String,
        /// Password.
        password: String,
    },
    /// The two-step code for the sign-in waiting for it.
    Submit2fa(String),
    /// Detect a site's kind for the add dialog.
    DetectSite(String),
    /// Forget the last add result (the dialog was closed or reopened).
    ResetAddAccount,
    /// Save what the user edited beside credentials (group, paid ratio, notes, disabled).
    UpdateAccountMeta {
        /// Which account.
        id: crate::domain::AccountId,
        /// The new values.
        meta: crate::store::AccountMeta,
    },
    /// Delete an account (the view has asked for confirmation).
    DeleteAccount(crate::domain::AccountId),
    /// Move an account up (-1) or down (+1) in the user's order.
    MoveAccount {
        /// Which account.
        id: crate::domain::AccountId,
        /// -1 up, +1 down.
        delta: i64,
    },
    /// Change the auto-refresh schedule (persisted).
    SetSchedule(crate::engine::schedule::Schedule),
    /// Change the global alert settings (persisted; badges recompute).
    SetAlertSettings(crate::domain::alerts::AlertSettings),
    /// Stop the running refresh (accounts not yet started are skipped).
    CancelRefresh,
    /// Reload the account list from the store.
    ReloadAccounts,
    /// Reload the activity log from the store at this minimum level.
    ReloadActivity(Level),
    /// Read the settings from the store again (a restore or import may have brought some).
    ReloadSettings,
    /// Read which alerts were already notified (start-up).
    ReloadNotified,
    /// Hide a start-up notice.
    DismissNotice(usize),
    // --- Account actions (src/app/action_jobs.rs) ---
    /// Create, edit, enable/disable, delete or reveal (and copy) a key of an account.
    KeyAction {
        /// Which account.
        account: crate::domain::AccountId,
        /// What to do.
        action: crate::engine::actions::KeyAction,
    },
    /// Redeem a code on an account.
    Redeem {
        /// Which account.
        account: crate::domain::AccountId,
        /// The code.
        code: String,
    },
    /// Check one account in for today.
    CheckIn(crate::domain::AccountId),
    /// Check in every eligible enabled account, then show the summary.
    CheckInAll,
    /// Close the check-in summary.
    DismissCheckinSummary,
    /// Record today's check-in of an account as done by hand (it needed a human).
    MarkCheckinDone(crate::domain::AccountId),
    /// Change the daily automatic check-in (persisted).
    SetAutoCheckin(crate::engine::checkin_schedule::AutoCheckin),
    // --- backup & update (jobs in `app/backup_jobs.rs`) ---
    /// An action from the Settings panel's backup & update section.
    Backup(crate::app::backup_jobs::BackupAction),
    /// Reload backup settings and the local backup list (start-up check for updates when due).
    ReloadBackups,
    /// Data changed: throttled automatic local backup, WebDAV upload when enabled and due.
    AutoBackup,
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
    /// Set the first-sync history depth in days (7, 30, 90 or 180; persisted).
    SetLogHistoryDays(i64),
    /// Export the filtered rows to CSV (asks where with a save dialog).
    ExportLogsCsv,
    /// Ask the sites for their own billed sum of the filter's window (`/api/log/self/stat`).
    CompareSiteStats,
    // --- Network settings (src/app/network_jobs.rs) ---
    /// Check, apply and save the global network settings (proxy, timeouts, extra CA).
    SaveNetwork(crate::domain::network::NetworkSettings),
    /// Check, save and apply a site's own proxy override and User-Agent.
    SaveSiteNetwork {
        /// Which site.
        site: crate::domain::SiteId,
        /// Its base URL.
        site_url: String,
        /// The new settings.
        net: crate::domain::network::SiteNetwork,
    },
    // --- Try a model (jobs in `app/try_jobs.rs`) ---
    /// Send one minimal request to a model with one of the account's keys; store the result.
    TryModel {
        /// Which account.
        account: crate::domain::AccountId,
        /// The exact model name.
        model: String,
        /// Which key.
        key: crate::engine::try_model::KeyChoice,
        /// The one-line prompt (input for embeddings).
        prompt: String,
        /// Most tokens of the reply.
        max_tokens: u32,
        /// Chat or embeddings.
        kind: crate::relay::try_model::TryKind,
    },
    /// Reload every stored "last verified" result.
    ReloadVerified,
}
