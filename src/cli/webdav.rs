//! `apihub webdav …`: the WebDAV operations of the Settings panel, headless.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::backup::{SecretArgs, apply_bytes, env_secret, secrets_mode};
use super::{Cli, open_store, open_store_creating};
use crate::backup::webdav::{WebDav, WebDavConfig};

/// `apihub webdav …`
#[derive(Debug, Subcommand)]
pub enum WebDavCmd {
    /// Save the WebDAV settings (the password is stored encrypted).
    Config(ConfigArgs),
    /// Test the saved settings: sign in, create the remote folder if missing, write a
    /// small test file, read it back and delete it.
    Test,
    /// List remote backups, newest first.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Upload a new backup now (retention applies after a successful upload).
    Upload(SecretArgs),
    /// Restore a remote backup (merge unless --replace).
    Restore {
        /// Remote file name (see `webdav list`).
        name: String,
        /// Passphrase of the backup.
        #[arg(long, conflicts_with = "passphrase_env")]
        passphrase: Option<String>,
        /// Read the passphrase from this environment variable.
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
        /// Replace every local account with the backup's.
        #[arg(long)]
        replace: bool,
        /// Print what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete a remote backup.
    Delete {
        /// Remote file name.
        name: String,
    },
}

/// `apihub webdav config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Server URL (the WebDAV root).
    #[arg(long)]
    pub url: String,
    /// Username.
    #[arg(long)]
    pub username: String,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: String,
    /// Remote folder (default `/api-hub-desk`).
    #[arg(long)]
    pub remote_path: Option<String>,
    /// Backups kept on the server.
    #[arg(long)]
    pub max_backups: Option<usize>,
    /// Upload automatically (on the app's schedule).
    #[arg(long)]
    pub enable: bool,
}

fn saved(cli: &Cli) -> anyhow::Result<WebDavConfig> {
    let cfg = WebDavConfig::load(&open_store(cli)?)?;
    if cfg.url.trim().is_empty() {
        anyhow::bail!("WebDAV is not configured: run `apihub webdav config --url URL --username U --password-env VAR`");
    }
    Ok(cfg)
}

/// Runs `apihub webdav …`.
pub fn run(cli: &Cli, cmd: &WebDavCmd, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    match cmd {
        WebDavCmd::Config(a) => {
            let mut store = open_store_creating(cli)?;
            let old = WebDavConfig::load(&store)?;
            let cfg = WebDavConfig {
                enabled: a.enable,
                url: crate::domain::validate::webdav_url(&a.url)?,
                username: a.username.clone(),
                password: env_secret(&a.password_env)?,
                remote_path: a.remote_path.clone().unwrap_or(old.remote_path),
                max_backups: a.max_backups.unwrap_or(old.max_backups).max(1),
                interval_hours: old.interval_hours,
            };
            WebDav::new(&cfg)?; // refuses a malformed URL before saving
            cfg.save(&mut store)?;
            println!("WebDAV settings saved");
        }
        WebDavCmd::Test => {
            rt.block_on(WebDav::new(&saved(cli)?)?.test_connection())?;
            println!("connected: a test file was written, read back and deleted");
        }
        WebDavCmd::List { json } => {
            let list = rt.block_on(WebDav::new(&saved(cli)?)?.list())?;
            let rows: Vec<_> =
                list.iter().map(|b| (b.name.as_str(), b.path.clone(), b.modified_at_unix, b.size_bytes)).collect();
            super::backup::print_backups(&rows, *json, "no remote backups")?;
        }
        WebDavCmd::Upload(secrets) => {
            let mode = secrets_mode(secrets)?;
            let cfg = saved(cli)?;
            let bytes = crate::backup::create_bundle(&open_store(cli)?, &mode)?;
            let report = rt.block_on(crate::backup::webdav::upload_backup(&cfg, &bytes))?;
            log::info!("WebDAV backup uploaded: {}", report.name);
            println!("uploaded {}", report.name);
            for p in &report.pruned {
                println!("  retention deleted {p}");
            }
        }
        WebDavCmd::Restore { name, passphrase, passphrase_env, replace, dry_run } => {
            let passphrase = match (passphrase, passphrase_env) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(var)) => Some(env_secret(var)?),
                (None, None) => None,
            };
            let bytes = rt.block_on(WebDav::new(&saved(cli)?)?.download(name))?;
            return apply_bytes(cli, &bytes, passphrase.as_deref(), *replace, *dry_run);
        }
        WebDavCmd::Delete { name } => {
            rt.block_on(WebDav::new(&saved(cli)?)?.delete(name))?;
            log::info!("WebDAV backup deleted: {name}");
            println!("deleted {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
