//! The local database: SQLite (bundled, WAL) in the data dir, versioned schema with
//! migrations, integrity check with quarantine, and encrypted secrets.
//!
//! Every write runs in a transaction. A database written by a newer app version is
//! refused with [`StoreError::TooNew`] and left untouched.

mod accounts;
mod activity;
mod backup_meta;
mod checkin;
mod gateway_log;
mod migrations;
mod model_trials;
mod network;
pub mod paths;
pub mod secrets;
mod settings;
mod state;
mod usage_daily;
mod usage_logs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode, OptionalExtension};

pub use accounts::AccountMeta;
pub use activity::{ActivityEntry, Level};
pub use backup_meta::{AccountRow, RestoreRows, SiteRow, StoreSnapshot, account_identity};
pub use checkin::{CheckinRecord, CheckinRecordOutcome};
pub use gateway_log::{GatewayAccountSummary, GatewayLogQuery};
pub use paths::{DataDirSource, resolve_data_dir};
pub use secrets::{KeyLocation, SecretBox};
pub use settings::LoadedSettings;
pub use state::DailyRow;
pub use usage_logs::{LogSyncState, SeriesPoint, StackBy};

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "apihub.db";

/// Errors at the store's edge.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file was written by a newer version of the app.
    #[error(
        "the data file was written by a newer version of API Hub Desk (schema {found}, this build knows {supported}); update the app"
    )]
    TooNew {
        /// Schema version in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// The file is damaged or not a database.
    #[error("the database is damaged: {0}")]
    Corrupt(String),
    /// Any other SQLite error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Filesystem error.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// Encryption key or ciphertext problem.
    #[error("secret storage: {0}")]
    Secret(String),
    /// A row that should exist does not.
    #[error("not found: {0}")]
    NotFound(String),
    /// The shared store cannot be used (a job crashed holding its lock).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// A damaged database that was moved aside at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    /// Where the damaged file now is.
    pub moved_to: PathBuf,
    /// Why it was judged damaged.
    pub reason: String,
}

/// The result of opening a data dir.
#[derive(Debug)]
pub struct Opened {
    /// The open store.
    pub store: Store,
    /// Set when a damaged file was moved aside and a fresh store created.
    pub quarantined: Option<Quarantined>,
}

/// The store shared between background jobs (never used on the UI thread). Async code
/// reaches it through [`SharedStore::run`], which runs a closure on tokio's blocking pool.
#[derive(Clone, Debug)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    /// Wraps an open store.
    pub fn new(store: Store) -> SharedStore {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Locks the store on this thread (blocking jobs, the CLI, tests).
    pub fn lock(&self) -> std::sync::LockResult<std::sync::MutexGuard<'_, Store>> {
        self.0.lock()
    }

    /// Runs `f` with the store locked, on this thread; a poisoned lock is an error.
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut guard = self.0.lock().map_err(|_| StoreError::Unavailable("a job crashed holding it".into()))?;
        f(&mut guard)
    }

    /// Runs `f` with the store locked on tokio's blocking pool (SQLite never blocks an
    /// async worker). The one way async code (engine, app jobs) touches the store.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.with(f))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the store job stopped: {e}")))?
    }
}

/// An open database plus the secret box for its data dir.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    secrets: SecretBox,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`. A damaged database is moved
    /// aside to `apihub.db.corrupt-<timestamp>` and a fresh one is created.
    pub fn open(data_dir: &Path) -> Result<Opened, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let secrets = SecretBox::open(data_dir)?;
        let path = data_dir.join(DB_FILE);
        match Self::open_file(&path, secrets.clone()) {
            Ok(store) => Ok(Opened { store, quarantined: None }),
            Err(StoreError::Corrupt(reason)) => {
                let moved_to = quarantine(&path)?;
                log::warn!("database damaged ({reason}); moved aside to {}", moved_to.display());
                let store = Self::open_file(&path, secrets)?;
                Ok(Opened { store, quarantined: Some(Quarantined { moved_to, reason }) })
            }
            Err(e) => Err(e),
        }
    }

    fn open_file(path: &Path, secrets: SecretBox) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(classify)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(classify)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(classify)?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!("journal mode is {mode}, not WAL");
        }
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;").map_err(classify)?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(classify)?;
        if check != "ok" {
            return Err(StoreError::Corrupt(check));
        }
        let mut store = Store { conn, path: path.to_path_buf(), secrets };
        migrations::migrate(&mut store.conn).map_err(|e| match e {
            StoreError::Sqlite(s) => classify(s),
            other => other,
        })?;
        Ok(store)
    }

    /// Opens a store and wraps it for sharing with background jobs.
    pub fn open_shared(data_dir: &Path) -> Result<(SharedStore, Option<Quarantined>), StoreError> {
        let opened = Self::open(data_dir)?;
        Ok((SharedStore::new(opened.store), opened.quarantined))
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the secret key is kept.
    pub fn key_location(&self) -> &KeyLocation {
        self.secrets.location()
    }

    /// Current schema version.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Reads a setting.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    /// Writes a setting.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores a secret setting (e.g. the WebDAV password) encrypted.
    pub fn set_secret_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let sealed = self.secrets.seal(value.as_bytes())?;
        self.set_setting(key, &sealed)
    }

    /// Reads a secret setting written by [`Store::set_secret_setting`].
    pub fn secret_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.setting(key)? {
            None => Ok(None),
            Some(sealed) => {
                let bytes = self.secrets.open_sealed(&sealed)?;
                String::from_utf8(bytes).map(Some).map_err(|_| StoreError::Secret("not UTF-8".into()))
            }
        }
    }
}

/// Maps SQLite's "not a database" and "malformed" errors to [`StoreError::Corrupt`].
fn classify(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    {
        return StoreError::Corrupt(msg.clone().unwrap_or_else(|| f.to_string()));
    }
    StoreError::Sqlite(e)
}

/// Moves a damaged database (and its WAL/SHM files) aside. Returns the new path.
fn quarantine(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = crate::domain::time::local_now().format("%Y%m%d-%H%M%S");
    let moved = PathBuf::from(format!("{}.corrupt-{stamp}", path.display()));
    std::fs::rename(path, &moved)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, format!("{}{suffix}", moved.display()));
        }
    }
    Ok(moved)
}
