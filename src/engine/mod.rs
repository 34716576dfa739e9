//! Orchestration: refresh with bounded concurrency, merge rules, scheduling.

pub mod merge;

pub use merge::merge;
