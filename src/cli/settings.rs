//! `apihub settings list [--json] | get KEY | set KEY VALUE | unset KEY`: the same
//! settings struct the app uses, by dotted key (`network.proxy`, `refresh.interval_minutes`).
//! A bad key or value exits 1 with one line that lists what is valid; secrets are
//! never printed (the proxy's password and the WebDAV password show as `***`).

use std::process::ExitCode;

use clap::Subcommand;

use crate::domain::settings::{Settings, SettingsError};
use crate::store::Store;

/// `apihub settings …`
#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    /// Every setting and its value.
    List {
        /// Print one JSON object instead of `key = value` lines.
        #[arg(long)]
        json: bool,
    },
    /// One setting's value.
    Get {
        /// Dotted key, e.g. `refresh.interval_minutes`.
        key: String,
    },
    /// Change a setting (checked first; nothing is saved when it is bad).
    Set {
        /// Dotted key, e.g. `network.proxy`.
        key: String,
        /// The value: `true`/`false`, a number or text; empty clears an optional value.
        value: String,
    },
    /// Put a setting back to its default.
    Unset {
        /// Dotted key.
        key: String,
    },
}

/// Runs `apihub settings …`.
pub fn run(mut store: Store, cmd: &SettingsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SettingsCmd::List { json } => {
            let listed = store.load_settings()?.settings.list();
            if *json {
                let map: serde_json::Map<String, serde_json::Value> =
                    listed.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
                println!("{}", serde_json::to_string_pretty(&map)?);
            } else {
                for (k, v) in listed {
                    println!("{k} = {v}");
                }
            }
        }
        SettingsCmd::Get { key } => println!("{}", store.load_settings()?.settings.get(key)?),
        SettingsCmd::Set { key, value } => {
            let after = store.update_settings(|s| -> anyhow::Result<()> { Ok(s.set(key, value)?) })?;
            log::info!("setting {key} changed");
            println!("{key} = {}", after.get(key)?);
        }
        SettingsCmd::Unset { key } => {
            if !Settings::keys().iter().any(|k| k == key) {
                return Err(SettingsError::UnknownKey { key: key.clone(), valid: Settings::keys() }.into());
            }
            store.unset_setting(key)?;
            log::info!("setting {key} reset to its default");
            println!("{key} = {}", store.load_settings()?.settings.get(key)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
