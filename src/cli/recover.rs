//! `apihub recover …` (a damaged data file, a lost or wrong key) and the one-line
//! messages, with their distinct exit codes, that every command prints when the store
//! cannot be opened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;
use crate::backup::recover::{self, GoodBackup, Recovered};
use crate::store::{DamagedStore, KeyProblem, StoreError, resolve_data_dir};

/// Exit code: the data file is damaged (see `apihub recover`).
pub const EXIT_DAMAGED: u8 = 3;
/// Exit code: the encryption key is missing, damaged or not the data's.
pub const EXIT_KEY: u8 = 4;
/// Environment variable the printed restore command reads a passphrase from.
pub const PASSPHRASE_VAR: &str = "APIHUB_PASSPHRASE";

/// Exit codes, for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done
  1  error (one line on stderr names the path or account and the cause)
  2  nothing to do (refresh or logs sync with no account to try)
  3  the data file is damaged: nothing was changed, a copy is kept; the message names
     the newest good backup and the command that restores it (see `apihub recover`)
  4  the encryption key is missing, damaged or not the data's: no new key was made
     (see `apihub recover`)";

/// `apihub recover …`
#[derive(Debug, Subcommand)]
pub enum RecoverCmd {
    /// Replace a damaged data file with a backup (the newest good one unless FILE); after
    /// a lost key, reset the credentials and bring them back from a passphrase backup.
    Restore {
        /// A backup file (default: the newest good local backup).
        file: Option<PathBuf>,
        /// Read the backup's passphrase from this environment variable.
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
    /// Copy what can still be read from a damaged data file into a new one.
    Salvage,
    /// Start with an empty data file on purpose (the damaged one's copy is kept).
    StartEmpty {
        /// Confirm: the accounts in the damaged file will not be there.
        #[arg(long)]
        yes: bool,
    },
    /// Put a key file you found back in place (checked against the data first).
    LocateKey {
        /// The old `secret.key`.
        file: PathBuf,
    },
    /// After a lost key: keep the accounts, clear their credentials (each then needs
    /// signing in again), make a new key.
    ResetCredentials {
        /// Confirm: stored tokens, cookies and keys are cleared.
        #[arg(long)]
        yes: bool,
    },
}

/// Quotes a path or word for a shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:+@%=,".contains(c));
    if plain {
        s.to_string()
    } else if cfg!(windows) {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn command(data_dir: &Path, rest: &str) -> String {
    format!("apihub --data-dir {} recover {rest}", shell_quote(&data_dir.display().to_string()))
}

fn restore_command(data_dir: &Path, b: &GoodBackup) -> String {
    let mut c = command(data_dir, &format!("restore {}", shell_quote(&b.info.path.display().to_string())));
    if b.needs_passphrase() {
        c.push_str(&format!(" --passphrase-env {PASSPHRASE_VAR} (with {PASSPHRASE_VAR} set to its passphrase)"));
    }
    c
}

/// The one line for a damaged data file: the file, the kept copy, the newest good
/// backup and the exact command that restores it.
pub fn damaged_line(data_dir: &Path, d: &DamagedStore) -> String {
    let mut line = d.to_string();
    match recover::good_backups(data_dir).first() {
        Some(b) => line.push_str(&format!(
            "; newest good backup: {} ({}); restore it with: {}",
            b.info.path.display(),
            b.describe(),
            restore_command(data_dir, b)
        )),
        None => line.push_str(&format!(
            "; there is no good backup: salvage what can be read with: {}, or start empty with: {}",
            command(data_dir, "salvage"),
            command(data_dir, "start-empty --yes")
        )),
    }
    line
}

/// The one line for a key problem: what is wrong and the three ways out.
pub fn key_line(data_dir: &Path, k: &KeyProblem) -> String {
    let passphrase_backup = recover::good_backups(data_dir).into_iter().find(GoodBackup::needs_passphrase);
    let restore = match &passphrase_backup {
        Some(b) => format!(
            "restore the credentials from {} with: {} --passphrase-env {PASSPHRASE_VAR}",
            b.info.path.display(),
            command(data_dir, &format!("restore {}", shell_quote(&b.info.path.display().to_string())))
        ),
        None => format!("restore a passphrase backup with: {}", command(data_dir, "restore FILE --passphrase-env VAR")),
    };
    format!(
        "{k}; put the old key back (or: {}), {restore}, or reset the credentials with: {}",
        command(data_dir, "locate-key FILE"),
        command(data_dir, "reset-credentials --yes")
    )
}

/// The exit code and line for a failed command.
pub fn failure(cli: &Cli, e: &anyhow::Error) -> (u8, String) {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::Damaged(d)) => (EXIT_DAMAGED, damaged_line(&dir, d)),
        Some(StoreError::Key(k)) => (EXIT_KEY, key_line(&dir, k)),
        _ => (1, format!("{e:#}")),
    }
}

fn print(r: &Recovered) {
    println!("{}", r.summary);
    if let Some(s) = &r.salvage {
        for t in &s.tables {
            let of = t.expected.map(|e| format!(" of {e}")).unwrap_or_else(|| " (count unreadable)".into());
            let lost = if t.orphans_dropped > 0 {
                format!(", {} dropped (their account or site was lost)", t.orphans_dropped)
            } else {
                String::new()
            };
            println!("  {}: {}{of}{lost}", t.table, t.recovered - t.orphans_dropped);
        }
    }
    if let Some(k) = &r.kept_copy {
        println!("the damaged file's copy is kept at {}", k.display());
    }
}

/// What the store says before a recovery (only a damaged file or a key problem may be
/// recovered; a healthy store is left alone).
fn problem(dir: &Path) -> anyhow::Result<StoreError> {
    match crate::store::Store::open(dir) {
        Ok(_) => anyhow::bail!(
            "the data in {} opens fine: nothing to recover (to restore a backup into it, use `apihub import FILE`)",
            dir.display()
        ),
        Err(e @ (StoreError::Damaged(_) | StoreError::Key(_))) => Ok(e),
        Err(e) => Err(e.into()),
    }
}

/// Runs `apihub recover …`.
pub fn run(cli: &Cli, cmd: &RecoverCmd) -> anyhow::Result<ExitCode> {
    let (dir, _) = resolve_data_dir(cli.data_dir.as_deref());
    if !dir.is_dir() {
        anyhow::bail!("no data dir at {}", dir.display());
    }
    let state = problem(&dir)?;
    let damaged = matches!(state, StoreError::Damaged(_));
    let need = |ok: bool, what: &str| -> anyhow::Result<()> {
        if ok { Ok(()) } else { Err(anyhow::anyhow!("{what}: {state}")) }
    };
    let done = match cmd {
        RecoverCmd::Restore { file, passphrase_env } => {
            let passphrase = passphrase_env.as_deref().map(super::backup::env_secret).transpose()?;
            let path = match file {
                Some(f) => f.clone(),
                None => recover::good_backups(&dir)
                    .into_iter()
                    .find(|b| damaged || b.needs_passphrase())
                    .map(|b| b.info.path)
                    .ok_or_else(|| {
                        anyhow::anyhow!("no good backup in {}: give a backup FILE", dir.join("backups").display())
                    })?,
            };
            let bytes = std::fs::read(&path).map_err(|e| crate::store::health::describe_io(&path, &e))?;
            if damaged {
                recover::restore_damaged(&dir, &bytes, passphrase.as_deref())?
            } else {
                recover::restore_after_key_loss(&dir, &bytes, passphrase.as_deref())?
            }
        }
        RecoverCmd::Salvage => {
            need(damaged, "salvage is for a damaged data file")?;
            recover::salvage_damaged(&dir)?
        }
        RecoverCmd::StartEmpty { yes } => {
            need(damaged, "start-empty is for a damaged data file")?;
            if !yes {
                anyhow::bail!("starting empty leaves the damaged file's accounts behind: add --yes to confirm");
            }
            recover::start_empty(&dir)?
        }
        RecoverCmd::LocateKey { file } => {
            need(!damaged, "the key is not the problem")?;
            recover::locate_key(&dir, file)?
        }
        RecoverCmd::ResetCredentials { yes } => {
            need(!damaged, "the key is not the problem")?;
            if !yes {
                anyhow::bail!("resetting clears every stored token, cookie and key: add --yes to confirm");
            }
            recover::reset_credentials(&dir)?
        }
    };
    print(&done);
    Ok(ExitCode::SUCCESS)
}
