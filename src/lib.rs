//! API Hub Desk: a native desktop manager for accounts on One API-family relay sites.
//!
//! See `ARCHITECTURE.md` for the module table and the threading contract.

pub mod app;
pub mod backup;
pub mod cli;
pub mod domain;
pub mod engine;
pub mod exports;
pub mod gateway;
pub mod logging;
pub mod memory;
pub mod notify;
pub mod relay;
pub mod store;
pub mod sync;
pub mod tls;
pub mod ui;
pub mod update;

/// The app version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (`unknown` outside a checkout).
pub const GIT_COMMIT: &str = env!("APIHUB_GIT_COMMIT");
/// Version and commit, as `--version` prints them.
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("APIHUB_GIT_COMMIT"), ")");
