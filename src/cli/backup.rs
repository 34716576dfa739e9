//! `apihub backup`, `export`, `import` and `update`: thin wrappers over `crate::backup`
//! and `crate::update`, the same code the Settings panel runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Cli, open_store, open_store_creating};
use crate::backup::import::{ImportPlan, apply_import, parse_import};
use crate::backup::local::{self, LocalBackups};
use crate::backup::{
    BackupError, RestoreMode, RestorePreview, SecretsMode, preview_restore, read_bundle, restore_bundle,
};
use crate::update::{Channel, UpdateCheck};

/// How secrets go into a new bundle.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Encrypt secrets with this passphrase (other users may see it in the process list:
    /// prefer --passphrase-env).
    #[arg(long, conflicts_with_all = ["passphrase_env", "without_secrets"])]
    pub passphrase: Option<String>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "without_secrets")]
    pub passphrase_env: Option<String>,
    /// Leave secrets out; credentials must be entered again after a restore.
    #[arg(long, alias = "no-secrets")]
    pub without_secrets: bool,
}

/// `apihub backup [create]` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Secrets.
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Write the bundle here instead of the local backups folder.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `apihub backup …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    /// What to do (default: create a backup).
    #[command(subcommand)]
    pub cmd: Option<BackupCmd>,
    /// Options of `backup create` (accepted directly after `backup`).
    #[command(flatten)]
    pub create: CreateArgs,
}

/// Subcommands of `apihub backup`.
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write a backup into the local backups folder (or --out FILE).
    Create(CreateArgs),
    /// List the local backups, newest first.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup file (same as `apihub import`).
    Restore(ImportArgs),
}

/// Prints a backup listing, local or remote — `(name, path, modified unix, size)` rows —
/// as a JSON array, or as "date  size  name" lines (`empty` when there are none).
pub(super) fn print_backups(rows: &[(&str, String, i64, u64)], json: bool, empty: &str) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(name, path, modified, size)| {
                serde_json::json!({"name": name, "path": path, "modified_at_unix": modified, "size_bytes": size})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("{empty}");
    } else {
        for (name, _, modified, size) in rows {
            let date = Some(crate::domain::time::local_text(*modified, "%Y-%m-%d %H:%M"))
                .filter(|d| *modified > 0 && !d.is_empty())
                .unwrap_or_else(|| "-".into());
            println!("{date:<16}  {size:>10}  {name}");
        }
    }
    Ok(())
}

/// `apihub export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write the bundle.
    #[arg(value_name = "FILE", required_unless_present = "out")]
    pub file: Option<PathBuf>,
    /// Where to write the bundle (same as FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub out: Option<PathBuf>,
    /// Secrets.
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// `apihub import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A backup of this app, an All API Hub backup or a Management Tools config.json / bundle.
    pub file: PathBuf,
    /// Passphrase of the backup (or the All API Hub WebDAV password).
    #[arg(long, conflicts_with = "passphrase_env")]
    pub passphrase: Option<String>,
    /// Read the passphrase (or password) from this environment variable.
    #[arg(long, value_name = "VAR", alias = "password-env")]
    pub passphrase_env: Option<String>,
    /// Replace every local account with the backup's (our backups only).
    #[arg(long, conflicts_with = "merge")]
    pub replace: bool,
    /// Merge (the default): new accounts added, newer ones win.
    #[arg(long)]
    pub merge: bool,
    /// Print what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of the release check.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Include pre-releases.
    #[arg(long)]
    pub pre_release: bool,
    /// Releases-list URL (default: `APIHUB_RELEASES_URL`, the setting, then GitHub).
    #[arg(long, value_name = "URL")]
    pub releases_url: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `apihub update [check]`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UpdateArgs {
    /// `check` (the default).
    #[command(subcommand)]
    pub cmd: Option<UpdateCmd>,
    /// Options of `update check` (accepted directly after `update`).
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Subcommands of `apihub update`.
#[derive(Debug, Subcommand)]
pub enum UpdateCmd {
    /// Check for a newer release (nothing is downloaded).
    Check(CheckArgs),
}

pub(super) fn env_secret(var: &str) -> anyhow::Result<String> {
    std::env::var(var).map_err(|_| anyhow::anyhow!("environment variable {var} is not set"))
}

pub(super) fn secrets_mode(a: &SecretArgs) -> anyhow::Result<SecretsMode> {
    if a.without_secrets {
        return Ok(SecretsMode::Without);
    }
    let pass = match (&a.passphrase, &a.passphrase_env) {
        (Some(p), _) => p.clone(),
        (None, Some(var)) => env_secret(var)?,
        (None, None) => anyhow::bail!(
            "choose how secrets are saved: --passphrase-env VAR (or --passphrase P), or --without-secrets"
        ),
    };
    if pass.is_empty() {
        return Err(BackupError::EmptyPassphrase.into());
    }
    Ok(SecretsMode::Passphrase(pass))
}

/// `apihub backup …`
pub fn backup(cli: &Cli, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    match &args.cmd {
        None => create(cli, &args.create),
        Some(BackupCmd::Create(c)) => create(cli, c),
        Some(BackupCmd::List { json }) => list(cli, *json),
        Some(BackupCmd::Restore(i)) => import(cli, i),
    }
}

fn create(cli: &Cli, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let mode = secrets_mode(&args.secrets)?;
    let store = open_store(cli)?;
    match &args.out {
        Some(out) => write_bundle(&crate::backup::create_bundle(&store, &mode)?, out)?,
        None => {
            let info = local::back_up_now(&store, &mode, local::keep_of(&store))?;
            log::info!("local backup written: {}", info.name);
            println!("{} ({} bytes)", info.path.display(), info.size_bytes);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_bundle(bytes: &[u8], out: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    // Owner-only, like the backups folder: a bundle holds (encrypted) credentials.
    local::private_file(out)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| crate::store::health::describe_io(out, &e))?;
    log::info!("backup exported to {}", out.display());
    println!("{} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn list(cli: &Cli, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(cli)?;
    let backups = LocalBackups::for_data_dir(&store.data_dir()).list()?;
    let rows: Vec<_> = backups
        .iter()
        .map(|b| (b.name.as_str(), b.path.display().to_string(), b.modified_at_unix, b.size_bytes))
        .collect();
    print_backups(&rows, json, "no local backups")?;
    Ok(ExitCode::SUCCESS)
}

/// `apihub export`.
pub fn export(cli: &Cli, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let mode = secrets_mode(&args.secrets)?;
    let out = args.out.as_ref().or(args.file.as_ref()).ok_or_else(|| anyhow::anyhow!("give the output FILE"))?;
    let store = open_store(cli)?;
    write_bundle(&crate::backup::create_bundle(&store, &mode)?, out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_restore_preview(p: &RestorePreview) {
    println!(
        "{} added, {} updated, {} unchanged, {} kept (newer locally), {} removed",
        p.added.len(),
        p.updated.len(),
        p.unchanged.len(),
        p.kept_newer_local.len(),
        p.removed.len()
    );
    for (title, list) in [("added", &p.added), ("updated", &p.updated), ("removed", &p.removed)] {
        for a in list {
            println!("  {title}: {} · {}", a.site_url, a.username);
        }
    }
    for a in &p.needs_credentials {
        println!("  needs credentials: {} · {}", a.site_url, a.username);
    }
    for k in &p.settings_changed {
        println!("  setting changed: {k}");
    }
}

fn print_import_preview(plan: &ImportPlan) {
    let p = plan.preview();
    println!("source: {}", plan.source);
    println!(
        "{} sites, {} accounts, {} need credentials entered again, {} records skipped",
        p.site_count,
        p.account_count,
        p.needs_credentials.len(),
        p.skipped_count
    );
    for a in &plan.accounts {
        println!("  account: {}", a.label());
    }
    for n in &p.needs_credentials {
        println!("  needs credentials: {n}");
    }
    for s in &plan.skipped {
        println!("  skipped: {} ({}): {}", s.label, s.source_id, s.reason);
    }
}

/// `apihub import` (and `backup restore`): our bundle, All API Hub or Management Tools.
pub fn import(cli: &Cli, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let passphrase = match (&args.passphrase, &args.passphrase_env) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(var)) => Some(env_secret(var)?),
        (None, None) => None,
    };
    apply_bytes(cli, &bytes, passphrase.as_deref(), args.replace, args.dry_run)
}

/// Previews, then (unless `dry_run`) restores or imports a file's bytes.
pub(super) fn apply_bytes(
    cli: &Cli,
    bytes: &[u8],
    passphrase: Option<&str>,
    replace: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let mode = if replace { RestoreMode::Replace } else { RestoreMode::Merge };
    let mut store = if dry_run { open_store(cli)? } else { open_store_creating(cli)? };
    match read_bundle(bytes) {
        Err(BackupError::NotABackup(_)) => {
            if replace {
                anyhow::bail!("--replace applies to API Hub Desk backups only; other tools' files are merged");
            }
            let plan = parse_import(bytes, passphrase)?;
            print_import_preview(&plan);
            if dry_run {
                println!("dry run: nothing changed");
                return Ok(ExitCode::SUCCESS);
            }
            let r = apply_import(&mut store, &plan)?;
            log::info!("import applied: {} added, {} updated, {} unchanged", r.added, r.updated, r.unchanged);
            println!(
                "imported: {} added, {} updated, {} unchanged, {} need credentials, {} skipped",
                r.added,
                r.updated,
                r.unchanged,
                r.needs_credentials,
                r.skipped.len()
            );
            if let Some(s) = &r.safety_backup {
                println!("safety copy: {}", s.path.display());
            }
        }
        _ => {
            let preview = preview_restore(&store, bytes, passphrase, mode)?;
            print_restore_preview(&preview);
            if dry_run {
                println!("dry run: nothing changed");
                return Ok(ExitCode::SUCCESS);
            }
            let r = restore_bundle(&mut store, bytes, passphrase, mode)?;
            println!("restored; safety copy: {}", r.safety_backup.path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check_json(c: &UpdateCheck) -> serde_json::Value {
    let offer = c.offer.as_ref().map(|r| {
        let download = crate::update::asset_for_platform(r, std::env::consts::OS, std::env::consts::ARCH)
            .map(|a| a.url.clone())
            .unwrap_or_else(|| r.html_url.clone());
        serde_json::json!({"version": r.version.to_string(), "tag": r.tag, "name": r.name,
            "published_at": r.published_at, "prerelease": r.prerelease, "notes": r.notes,
            "html_url": r.html_url, "download_url": download})
    });
    serde_json::json!({
        "current": c.current.to_string(),
        "update_available": c.offer.is_some(),
        "offer": offer,
        "latest_stable": c.latest_stable.as_ref().map(|r| r.version.to_string()),
        "latest_prerelease": c.latest_prerelease.as_ref().map(|r| r.version.to_string()),
        "skipped_tags": c.skipped_tags,
    })
}

/// `apihub update [check]`.
pub fn update(cli: &Cli, args: &UpdateArgs, rt: &tokio::runtime::Handle) -> anyhow::Result<ExitCode> {
    let a = match &args.cmd {
        Some(UpdateCmd::Check(a)) => a,
        None => &args.check,
    };
    let store = open_store(cli)?;
    let saved = store.load_settings()?.settings.update;
    let url = a.releases_url.clone().unwrap_or_else(|| crate::update::configured_releases_url(&saved));
    let channel = if a.pre_release { Channel::PreRelease } else { Channel::Stable };
    let check = rt.block_on(crate::update::check_for_updates(&url, channel))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&check_json(&check))?);
    } else {
        match &check.offer {
            None => println!("API Hub Desk {} is the latest version", check.current),
            Some(r) => {
                let date = r.published_at.as_deref().unwrap_or("");
                println!("version {} is available ({date}); you have {}", r.version, check.current);
                println!("{}", r.html_url);
                if !r.notes.trim().is_empty() {
                    println!("\n{}", r.notes.trim());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
