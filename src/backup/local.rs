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

impl LocalBackupInfo {
    /// The facts of a backup file anywhere (name, size, modification time).
    pub fn of(path: &Path) -> Result<LocalBackupInfo, BackupError> {
        let meta = std::fs::metadata(path)?;
        let modified_at_unix = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        Ok(LocalBackupInfo { name, path: path.to_path_buf(), modified_at_unix, size_bytes: meta.len() })
    }
}

/// What an automatic backup did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoBackupOutcome {
    /// A backup was written.
    Written(LocalBackupInfo),
    /// Skipped: some accounts need signing in again (credentials that cannot be
    /// decrypted, or reset after a lost key): a backup now would lack them.
    SecretsUnreadable {
        /// Accounts whose credentials cannot be read or were reset.
        accounts: usize,
    },
    /// Nothing changed since the last automatic backup.
    Unchanged,
    /// Too soon after the last one.
    Throttled {
        /// When the next one is allowed (unix seconds).
        next_allowed_at_unix: i64,
    },
}

/// The kinds of local backups; retention keeps the newest N of each separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackupKind {
    /// "Back up now" and `apihub backup` (`apihub-backup-…`).
    Manual,
    /// Written by the app after changes (`apihub-auto-…`).
    Automatic,
    /// Taken before a restore, an import or a recovery (`safety-…`).
    Safety,
    /// Any other `.json` the user put there: never deleted by retention.
    Other,
}

impl BackupKind {
    /// The kind of a backup file, from its name.
    pub fn of(name: &str) -> BackupKind {
        if name.starts_with(MANUAL_PREFIX) {
            BackupKind::Manual
        } else if name.starts_with(AUTO_PREFIX) {
            BackupKind::Automatic
        } else if name.starts_with(SAFETY_PREFIX) {
            BackupKind::Safety
        } else {
            BackupKind::Other
        }
    }
}

/// File name prefix of manual backups.
pub const MANUAL_PREFIX: &str = "apihub-backup";
/// File name prefix of automatic backups.
pub const AUTO_PREFIX: &str = "apihub-auto";
/// File name prefix of safety copies.
pub const SAFETY_PREFIX: &str = "safety-";

/// What retention must know about the store being backed up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFacts {
    /// Accounts the store holds now.
    pub accounts: usize,
    /// Whether every account's credentials can be decrypted.
    pub credentials_readable: bool,
}

impl StoreFacts {
    /// Reads the facts of a store.
    pub fn of(store: &Store) -> Result<StoreFacts, BackupError> {
        Ok(StoreFacts {
            accounts: store.account_count()?.max(0) as usize,
            credentials_readable: store.accounts_needing_sign_in()? == 0,
        })
    }
}

/// What a backup file holds, for retention and the recovery screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFacts {
    /// Accounts in it; `None` when the file does not verify (damaged, not a backup).
    pub accounts: Option<usize>,
    /// Whether it carries credentials (passphrase or this installation's key).
    pub has_secrets: bool,
}

impl BackupFacts {
    /// Reads and verifies a backup file.
    pub fn read(path: &Path) -> BackupFacts {
        match std::fs::read(path).ok().and_then(|b| bundle::read_bundle(&b).ok()) {
            Some(v) => BackupFacts { accounts: Some(v.info.account_count), has_secrets: v.info.secrets != "none" },
            None => BackupFacts { accounts: None, has_secrets: false },
        }
    }
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
        let named = |p: &Path, e: std::io::Error| BackupError::Store(crate::store::health::describe_io(p, &e));
        create_private_dir(&self.dir).map_err(|e| named(&self.dir, e))?;
        let stem = name.trim_end_matches(".json");
        let mut final_name = name.to_string();
        let mut n = 2;
        while self.dir.join(&final_name).exists() {
            final_name = format!("{stem}-{n}.json");
            n += 1;
        }
        let tmp = self.dir.join(format!(".{final_name}.tmp-{}", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = private_file(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.dir.join(&final_name))
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            // "…/backups is read-only", "…/backups cannot be written: the disk is full".
            return Err(named(&self.dir, e));
        }
        self.info(&final_name)
    }

    fn info(&self, name: &str) -> Result<LocalBackupInfo, BackupError> {
        LocalBackupInfo::of(&self.dir.join(name))
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

    /// Retention: keeps the newest `keep` of each kind (manual, automatic, safety) and
    /// never deletes
    /// - the newest backup holding more accounts than the store does now,
    /// - the newest backup with credentials while the store's cannot be read,
    /// - any non-empty backup while the store is empty or its credentials unreadable
    ///   (a backup of an empty or unreadable store never evicts a good one),
    /// - files of other names. Returns the names deleted.
    pub fn prune(&self, keep: usize, store: &StoreFacts) -> Result<Vec<String>, BackupError> {
        let all = self.list()?;
        let facts: Vec<BackupFacts> = all.iter().map(|b| BackupFacts::read(&b.path)).collect();
        let newest = |pred: &dyn Fn(&BackupFacts) -> bool| facts.iter().position(pred);
        let protected = [
            newest(&|f| f.accounts.is_some_and(|n| n > store.accounts)),
            if store.credentials_readable {
                None
            } else {
                newest(&|f| f.has_secrets && f.accounts.is_some_and(|n| n > 0))
            },
        ];
        let cautious = store.accounts == 0 || !store.credentials_readable;
        let mut seen = std::collections::HashMap::new();
        let mut deleted = Vec::new();
        for (i, (b, f)) in all.iter().zip(&facts).enumerate() {
            let kind = BackupKind::of(&b.name);
            if kind == BackupKind::Other {
                continue;
            }
            let n = seen.entry(kind).or_insert(0usize);
            *n += 1;
            if *n <= keep.max(1) || protected.contains(&Some(i)) {
                continue;
            }
            if cautious && f.accounts != Some(0) {
                continue;
            }
            std::fs::remove_file(&b.path)?;
            deleted.push(b.name.clone());
        }
        if !deleted.is_empty() {
            log::info!("backup retention deleted {}", deleted.join(", "));
        }
        Ok(deleted)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Creates a file readable only by its owner (0600 on Unix), like the key file.
pub(crate) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// The number of backups of each kind to keep (`backup.local.keep`).
pub fn keep_of(store: &Store) -> usize {
    store.load_settings().map(|l| l.settings.backup.local.keep).unwrap_or(DEFAULT_KEEP).max(1)
}

/// "Back up now": writes a bundle into the store's backups folder and keeps the newest `keep`.
pub fn back_up_now(store: &Store, mode: &SecretsMode, keep: usize) -> Result<LocalBackupInfo, BackupError> {
    let bytes = bundle::create_bundle(store, mode)?;
    let backups = LocalBackups::for_data_dir(&store.data_dir());
    let info = backups.write(&backup_file_name(MANUAL_PREFIX, crate::domain::time::utc_now()), &bytes)?;
    backups.prune(keep, &StoreFacts::of(store)?)?;
    Ok(info)
}

/// The copy taken before a restore (secrets sealed with this installation's key).
pub fn safety_backup(store: &Store) -> Result<LocalBackupInfo, BackupError> {
    let bytes = bundle::create_bundle(store, &SecretsMode::LocalKey)?;
    let backups = LocalBackups::for_data_dir(&store.data_dir());
    let info = backups.write(&backup_file_name("safety-before-restore", crate::domain::time::utc_now()), &bytes)?;
    backups.prune(keep_of(store), &StoreFacts::of(store)?)?;
    Ok(info)
}

/// An automatic backup after changes: none while accounts need signing in again
/// ([`Store::accounts_needing_sign_in`]), at most one per [`AUTO_MIN_INTERVAL_SECS`],
/// skipped when the content hash equals the last one. Secrets are sealed with this
/// installation's key. Keeps the newest `keep`.
pub fn auto_backup(store: &mut Store, now_unix: i64, keep: usize) -> Result<AutoBackupOutcome, BackupError> {
    // First: the caller uploads after a throttled run too, and must not then either.
    let unreadable = store.accounts_needing_sign_in()?;
    if unreadable > 0 {
        log::debug!("automatic backup skipped: {unreadable} accounts need signing in again");
        return Ok(AutoBackupOutcome::SecretsUnreadable { accounts: unreadable });
    }
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
    let info = backups.write(&backup_file_name(AUTO_PREFIX, crate::domain::time::utc_now()), &bytes)?;
    backups.prune(keep, &StoreFacts::of(store)?)?;
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

    #[test]
    fn no_automatic_backup_while_credentials_cannot_be_read() {
        use crate::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap().store;
        let id = store
            .upsert_account(&NewAccount {
                site_url: "https://a.example".into(),
                site_name: "A".into(),
                kind: SiteKind::NewApi,
                user_id: "1".into(),
                username: "u".into(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some("t".into()), ..Default::default() },
            })
            .unwrap();
        store.damage_credentials_for_test(id);
        assert_eq!(
            auto_backup(&mut store, 1_800_000_000, 10).unwrap(),
            AutoBackupOutcome::SecretsUnreadable { accounts: 1 }
        );
        assert!(LocalBackups::for_data_dir(dir.path()).list().unwrap().is_empty());
    }
}
