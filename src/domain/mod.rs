//! Plain data and pure logic. Knows nothing of HTTP, SQLite or egui.

pub mod account;
pub mod alerts;
pub mod gateway;
pub mod kind;
pub mod money;
pub mod network;
pub mod notify;
pub mod pricing;
pub mod profile;
pub mod search;
pub mod settings;
pub mod snapshot;
pub mod time;
pub mod usage_log;
pub mod validate;

pub use account::{Account, AccountId, AuthMethod, Credentials, NewAccount, Site, SiteId};
pub use kind::SiteKind;
