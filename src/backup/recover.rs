//! Recovery with the local backups, shared by `apihub recover …` and the recovery
//! screen: find the good backups, restore one in place of a damaged data file, salvage
//! the damaged file's readable rows, start empty on purpose, or (after a lost key)
//! reset the credentials and bring them back from a passphrase backup.
//!
//! Every way out of a damaged file builds the new data file beside it and swaps it in
//! only when complete; the damaged file's copy (`apihub.db.damaged-<time>`) stays.

use std::path::{Path, PathBuf};

use super::BackupError;
use super::bundle::{BundleInfo, read_bundle};
use super::local::{LocalBackupInfo, LocalBackups};
use super::restore::{RestoreMode, restore_into_new, restore_unlocked};
use crate::store::recover::{self as store_recover, ResetReport};
use crate::store::salvage::{SalvageReport, salvage_into};
use crate::store::{DB_FILE, Store, health};

/// A local backup that verifies and holds at least one account.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodBackup {
    /// The file.
    pub info: LocalBackupInfo,
    /// What it says about itself (date, accounts, how secrets are kept).
    pub bundle: BundleInfo,
}

impl GoodBackup {
    /// Its secrets are protected by a passphrase (needed to restore them).
    pub fn needs_passphrase(&self) -> bool {
        self.bundle.secrets == "passphrase"
    }

    /// "2026-12-06 15:53, 30 accounts" (local time of the file).
    pub fn describe(&self) -> String {
        let date = Some(crate::domain::time::local_text(self.info.modified_at_unix, "%Y-%m-%d %H:%M"))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| self.bundle.created_at.clone());
        format!("{date}, {} accounts", self.bundle.account_count)
    }
}

/// The good local backups of a data dir, newest first.
pub fn good_backups(data_dir: &Path) -> Vec<GoodBackup> {
    let Ok(list) = LocalBackups::for_data_dir(data_dir).list() else { return Vec::new() };
    list.into_iter()
        .filter_map(|info| {
            let bytes = std::fs::read(&info.path).ok()?;
            let v = read_bundle(&bytes).ok()?;
            (v.info.account_count > 0).then_some(GoodBackup { info, bundle: v.info })
        })
        .collect()
}

/// What a recovery did, for the one line the CLI prints and the screen's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// Where the damaged file's copy is kept (damaged-store recoveries).
    pub kept_copy: Option<PathBuf>,
    /// Accounts in the data file now.
    pub accounts: usize,
    /// What was done, in one sentence.
    pub summary: String,
    /// The table-by-table figures of a salvage.
    pub salvage: Option<SalvageReport>,
    /// What a credential reset cleared.
    pub reset: Option<ResetReport>,
    /// Accounts whose credentials must be entered again (the backup had none for them).
    pub needs_credentials: usize,
}

fn remove_building(store: Store) {
    let path = store.path().to_path_buf();
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Replaces a damaged data file with a backup's contents (`bytes`; `passphrase` for its
/// secrets). The backup is verified and opened before anything changes.
pub fn restore_damaged(data_dir: &Path, bytes: &[u8], passphrase: Option<&str>) -> Result<Recovered, BackupError> {
    let bundle = read_bundle(bytes)?;
    let mut building = store_recover::open_building(data_dir)?;
    let filled =
        bundle.unlock(&building, passphrase).and_then(|s| restore_into_new(&mut building, &bundle, s.as_ref()));
    let preview = match filled {
        Ok(p) => p,
        Err(e) => {
            remove_building(building);
            return Err(e);
        }
    };
    let accounts = building.account_count()?.max(0) as usize;
    let kept_copy = store_recover::swap_in(data_dir, building)?;
    let creds = if preview.needs_credentials.is_empty() {
        String::new()
    } else {
        format!(" ({} need their credentials entered again)", preview.needs_credentials.len())
    };
    let summary = format!("restored {accounts} accounts from the backup of {}{creds}", bundle.info.created_at);
    log::warn!("{summary}");
    let needs_credentials = preview.needs_credentials.len();
    Ok(Recovered { kept_copy, accounts, summary, salvage: None, reset: None, needs_credentials })
}

/// Copies the readable rows of a damaged data file into a new one and puts that in
/// place. The damaged file is only read (from a copy); its kept copy stays.
pub fn salvage_damaged(data_dir: &Path) -> Result<Recovered, BackupError> {
    let db = data_dir.join(DB_FILE);
    let kept = health::keep_copy(&db)?;
    let work = data_dir.join("apihub.db.salvage-source");
    let copy = |from: &Path, to: &Path| -> Result<(), BackupError> {
        if from.exists() {
            std::fs::copy(from, to).map_err(|e| health::describe_io(to, &e))?;
            health::restrict(to);
        }
        Ok(())
    };
    copy(&kept, &work)?;
    copy(&PathBuf::from(format!("{}-wal", kept.display())), &PathBuf::from(format!("{}-wal", work.display())))?;
    let mut building = store_recover::open_building(data_dir)?;
    let result = salvage_into(&work, &mut building);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", work.display()));
    }
    let report = match result {
        Ok(r) if r.accounts().0 > 0 => r,
        Ok(r) => {
            remove_building(building);
            return Err(BackupError::NothingSalvaged(r.summary()));
        }
        Err(e) => {
            remove_building(building);
            return Err(e.into());
        }
    };
    let accounts = building.account_count()?.max(0) as usize;
    store_recover::swap_in(data_dir, building)?;
    let (got, of) = report.accounts();
    let of = of.map(|n| format!(" of {n}")).unwrap_or_default();
    let summary = format!("salvaged {got}{of} accounts from the damaged file: {}", report.summary());
    log::warn!("{summary}");
    Ok(Recovered { kept_copy: Some(kept), accounts, summary, salvage: Some(report), reset: None, needs_credentials: 0 })
}

/// Starts an empty data file on purpose; the damaged one's copy is kept.
pub fn start_empty(data_dir: &Path) -> Result<Recovered, BackupError> {
    let kept_copy = store_recover::start_empty(data_dir)?;
    let summary = "started with an empty data file".to_string();
    log::warn!("{summary}");
    Ok(Recovered { kept_copy, accounts: 0, summary, salvage: None, reset: None, needs_credentials: 0 })
}

/// After a lost key: checks the passphrase backup first, then resets the credentials
/// (new key, accounts kept) and merges the backup in, which brings back the credentials
/// it holds. A backup sealed with the lost key cannot help ([`BackupError::ForeignKey`]).
pub fn restore_after_key_loss(
    data_dir: &Path,
    bytes: &[u8],
    passphrase: Option<&str>,
) -> Result<Recovered, BackupError> {
    let bundle = read_bundle(bytes)?;
    let Some(secrets) = bundle.unlock_passphrase(passphrase)? else {
        return Err(BackupError::InvalidConfig(
            "this backup holds no credentials: choose one made with a passphrase, or reset the credentials".into(),
        ));
    };
    let reset = store_recover::reset_credentials(data_dir)?;
    let mut store = Store::open(data_dir)?.store;
    let report = restore_unlocked(&mut store, &bundle, Some(&secrets), RestoreMode::Merge)?;
    let accounts = store.account_count()?.max(0) as usize;
    let missing = report.preview.needs_credentials.len();
    let summary = format!(
        "credentials restored from the backup of {} ({} added, {} updated; {missing} accounts still need signing in)",
        bundle.info.created_at,
        report.preview.added.len(),
        report.preview.updated.len()
    );
    log::warn!("{summary}");
    Ok(Recovered { kept_copy: None, accounts, summary, salvage: None, reset: Some(reset), needs_credentials: missing })
}

/// Resets the credentials on purpose after a lost key (see
/// [`crate::store::recover::reset_credentials`]).
pub fn reset_credentials(data_dir: &Path) -> Result<Recovered, BackupError> {
    let reset = store_recover::reset_credentials(data_dir)?;
    let summary = format!(
        "credentials reset: {} accounts kept, each needs signing in again{}",
        reset.accounts,
        if reset.settings_cleared.is_empty() {
            String::new()
        } else {
            format!("; cleared {}", reset.settings_cleared.join(", "))
        }
    ) + &if reset.channels_removed.is_empty() {
        String::new()
    } else {
        format!("; removed alert channels {} (add them again)", reset.channels_removed.join(", "))
    };
    let needs_credentials = reset.accounts;
    Ok(Recovered {
        kept_copy: None,
        accounts: reset.accounts,
        summary,
        salvage: None,
        reset: Some(reset),
        needs_credentials,
    })
}

/// Puts a located key in place after checking it fits the data.
pub fn locate_key(data_dir: &Path, key_file: &Path) -> Result<Recovered, BackupError> {
    store_recover::locate_key(data_dir, key_file)?;
    let store = Store::open(data_dir)?.store;
    let accounts = store.account_count()?.max(0) as usize;
    Ok(Recovered {
        kept_copy: None,
        accounts,
        summary: format!("the key from {} opens the data again", key_file.display()),
        salvage: None,
        reset: None,
        needs_credentials: 0,
    })
}
