//! Local backups in `<data dir>/backups/`: atomic writes (temp file + rename), a list
//! (newest first), delete, keep-newest-N, and automatic backups that are throttled and
//! skipped when nothing changed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::BackupError;
use super::bundle::{self, SecretsMode};
use crate::store::Store;

/// Folder name inside the data dir.
pub const BACKUP_DIR: &str = "backups";
/// Backups kept by default (the `backup.local.keep` setting's default).
pub use crate::domain::settings::DEFAULT_LOCAL_KEEP as DEFAULT_KEEP;
/// At most one automatic backup per this many seconds.
pub const AUTO_MIN_INTERVAL_SECS: i64 = 600;
/// Setting: content hash of the last automatic backup.
pub const LAST_HASH_SETTING: &str = "backup.local.last_hash";
/// Setting: time of the last automatic backup (unix seconds).
pub const LAST_AT_SETTING: &str = "backup.local.last_at_unix";

/// One backup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBackupInfo {
    /// File name (no folder).
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// Last modification, unix seconds.
    pub modified_at_unix: i64,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// What an automatic backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoBackupOutcome {
    /// A backup was written.
    Written(LocalBackupInfo),
    /// Nothing changed since the last automatic backup.
    Unchanged,
    /// Too soon after the last one.
    Throttled {
        /// When the next one is allowed (unix seconds).
        next_allowed_at_unix: i64,
    },
}

/// The backups folder.
#[derive(Debug, Clone)]
pub struct LocalBackups {
    dir: PathBuf,
}

/// Refuses names that could leave the folder or are not `.json` files.
pub(crate) fn check_name(name: &str) -> Result<(), BackupError> {
    let bad = name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name.contains("..")
        || !name.ends_with(".json");
    if bad { Err(BackupError::InvalidName(name.to_string())) } else { Ok(()) }
}

/// A file name for a new backup: `<prefix>-YYYYMMDD-HHMMSS-mmm.json` (UTC).
pub fn backup_file_name(prefix: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{prefix}-{}.json", now.format("%Y%m%d-%H%M%S-%3f"))
}

/// True when an automatic backup may run now.
pub fn throttle_allows(last_at_unix: Option<i64>, now_unix: i64, min_interval_secs: i64) -> bool {
    match last_at_unix {
        None => true,
        Some(last) => now_unix - last >= min_interval_secs || now_unix < last,
    }
}

impl LocalBackups {
    /// Backups in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalBackups { dir: dir.into() }
    }

    /// Backups of the store in `data_dir` (`<data_dir>/backups`).
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join(BACKUP_DIR))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as `name` atomically (temp file, fsync, rename). An existing
    /// name gets a numeric suffix instead of being overwritten.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<LocalBackupInfo, BackupError> {
        check_name(name)?;
        std::fs::create_dir_all(&self.dir)?;
        let stem = name.trim_end_matches(".json");
        let mut final_name = name.to_string();
        let mut n = 2;
        while self.dir.join(&final_name).exists() {
            final_name = format!("{stem}-{n}.json");
            n += 1;
        }
        let tmp = self.dir.join(format!(".{final_name}.tmp-{}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join(&final_name))
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        self.info(&final_name)
    }

    fn info(&self, name: &str) -> Result<LocalBackupInfo, BackupError> {
        let path = self.dir.join(name);
        let meta = std::fs::metadata(&path)?;
        let modified_at_unix = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        Ok(LocalBackupInfo { name: name.to_string(), path, modified_at_unix, size_bytes: meta.len() })
    }

    /// Every backup, newest first. A missing folder is an empty list.
    pub fn list(&self) -> Result<Vec<LocalBackupInfo>, BackupError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if check_name(&name).is_err() || !entry.file_type()?.is_file() {
                continue;
            }
            let precise = entry.metadata()?.modified().unwrap_or(std::time::UNIX_EPOCH);
            out.push((precise, self.info(&name)?));
        }
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.name.cmp(&a.1.name)));
        Ok(out.into_iter().map(|(_, i)| i).collect())
    }

    /// Reads a backup's bytes.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, BackupError> {
        check_name(name)?;
        std::fs::read(self.dir.join(name)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BackupError::NotFound(name.to_string()),
            _ => e.into(),
        })
    }

    /// Deletes a backup.
    pub fn delete(&self, name: &str) -> Result<(), BackupError> {
        check_name(name)?;
        std::fs::remove_file(self.dir.join(name)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BackupError::NotFound(name.to_string()),
            _ => e.into(),
        })
    }

    /// Keeps the newest `keep` backups; returns the names deleted.
    pub fn prune(&self, keep: usize) -> Result<Vec<String>, BackupError> {
        let mut deleted = Vec::new();
        for old in self.list()?.into_iter().skip(keep.max(1)) {
            std::fs::remove_file(&old.path)?;
            deleted.push(old.name);
        }
        Ok(deleted)
    }
}

/// "Back up now": writes a bundle into the store's backups folder and keeps the newest `keep`.
pub fn back_up_now(store: &Store, mode: &SecretsMode, keep: usize) -> Result<LocalBackupInfo, BackupError> {
    let bytes = bundle::create_bundle(store, mode)?;
    let backups = LocalBackups::for_data_dir(&store.data_dir());
    let info = backups.write(&backup_file_name("apihub-backup", crate::domain::time::utc_now()), &bytes)?;
    backups.prune(keep)?;
    Ok(info)
}

/// The copy taken before a restore (secrets sealed with this installation's key).
pub fn safety_backup(store: &Store) -> Result<LocalBackupInfo, BackupError> {
    let bytes = bundle::create_bundle(store, &SecretsMode::LocalKey)?;
    LocalBackups::for_data_dir(&store.data_dir())
        .write(&backup_file_name("safety-before-restore", crate::domain::time::utc_now()), &bytes)
}

/// An automatic backup after changes: at most one per [`AUTO_MIN_INTERVAL_SECS`],
/// skipped when the content hash equals the last one. Secrets are sealed with this
/// installation's key. Keeps the newest `keep`.
pub fn auto_backup(store: &mut Store, now_unix: i64, keep: usize) -> Result<AutoBackupOutcome, BackupError> {
    let last_at = store.setting(LAST_AT_SETTING)?.and_then(|s| s.parse::<i64>().ok());
    if !throttle_allows(last_at, now_unix, AUTO_MIN_INTERVAL_SECS) {
        let next = last_at.unwrap_or(now_unix) + AUTO_MIN_INTERVAL_SECS;
        return Ok(AutoBackupOutcome::Throttled { next_allowed_at_unix: next });
    }
    let snap = store.snapshot()?;
    let hash = bundle::content_hash(&snap);
    if store.setting(LAST_HASH_SETTING)?.as_deref() == Some(hash.as_str()) {
        return Ok(AutoBackupOutcome::Unchanged);
    }
    let bytes = bundle::bundle_from_snapshot(store, &snap, &SecretsMode::LocalKey)?;
    let backups = LocalBackups::for_data_dir(&store.data_dir());
    let info = backups.write(&backup_file_name("apihub-auto", crate::domain::time::utc_now()), &bytes)?;
    backups.prune(keep)?;
    store.set_setting(LAST_HASH_SETTING, &hash)?;
    store.set_setting(LAST_AT_SETTING, &now_unix.to_string())?;
    Ok(AutoBackupOutcome::Written(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_folder_are_refused() {
        for bad in ["", ".hidden.json", "../x.json", "a/b.json", "a\\b.json", "x.txt", "x.json.tmp-1"] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_name("备份 2026.json").is_ok());
    }

    #[test]
    fn throttle_allows_one_per_interval_and_survives_clock_going_back() {
        assert!(throttle_allows(None, 100, 600));
        assert!(!throttle_allows(Some(100), 699, 600));
        assert!(throttle_allows(Some(100), 700, 600));
        assert!(throttle_allows(Some(100), 50, 600), "a clock set back does not block backups forever");
    }

    #[test]
    fn file_names_sort_in_time_order() {
        let a = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let b = a + chrono::Duration::milliseconds(5);
        let (na, nb) = (backup_file_name("apihub-backup", a), backup_file_name("apihub-backup", b));
        assert_eq!(na, "apihub-backup-20270115-080000-000.json");
        assert!(nb > na);
    }
}
