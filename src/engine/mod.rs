//! Orchestration: refresh with bounded concurrency, merge rules, scheduling.

pub mod accounts;
pub mod log_sync;
pub mod merge;
pub mod refresh;
mod relay_source;

pub use accounts::{AddError, Added, add_account};
pub use merge::merge;
pub use refresh::{
    CancelFlag, DEFAULT_MAX_CONCURRENCY, RefreshEvent, RefreshSummary, SnapshotSource, refresh_accounts, refresh_one,
};
