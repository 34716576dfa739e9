//! Orchestration: refresh with bounded concurrency, merge rules, scheduling.

pub mod merge;
pub mod refresh;
mod relay_source;

pub use merge::merge;
pub use refresh::{CancelFlag, RefreshEvent, RefreshSummary, SnapshotSource, refresh_accounts, refresh_one};
