//! Orchestration: refresh with bounded concurrency, merge rules, account actions
//! (keys, redeem, check-in), scheduling.

pub mod accounts;
pub mod actions;
pub mod checkin_schedule;
pub mod log_sync;
pub mod merge;
pub mod network;
pub mod refresh;
mod relay_source;
pub mod schedule;
pub mod try_model;

pub use accounts::{AddError, Added, PasswordOutcome, PasswordSignIn, add_account, add_with_password, finish_2fa};
pub use merge::merge;
pub use refresh::{
    CancelFlag, DEFAULT_MAX_CONCURRENCY, RefreshEvent, RefreshSummary, SnapshotSource, refresh_accounts, refresh_one,
};
