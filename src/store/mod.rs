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
pub mod health;
mod key_notes;
mod migrations;
mod model_trials;
mod network;
mod notify;
pub mod paths;
pub mod recover;
pub mod salvage;
pub mod secrets;
mod settings;
mod state;
mod sync;
mod usage_daily;
mod usage_logs;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

pub use accounts::AccountMeta;
pub use activity::{ActivityEntry, Level};
pub use backup_meta::{AccountRow, RestoreRows, SiteRow, StoreSnapshot, account_identity};
pub use checkin::{CheckinRecord, CheckinRecordOutcome};
pub use gateway_log::{GatewayAccountSummary, GatewayLogQuery, GatewaySummaryQuery};
pub use health::DamagedStore;
pub use key_notes::KeyNoteRow;
pub use notify::{Claimed, DeliveryRow, DeliveryState, Finish, Found, HistoryRow, Lease, NewEvent, SCHEDULE_LEASE};
pub use paths::{DataDirSource, resolve_data_dir};
pub use secrets::{KeyLocation, KeyProblem, KeyProblemKind, SecretBox};
pub use settings::LoadedSettings;
pub use state::DailyRow;
pub use sync::{ConflictRow, Journal, NewConflict, SyncCommit, SyncState};
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
    /// SQLite says the file is damaged or not a database (classified; `Store::open`
    /// turns it into [`StoreError::Damaged`]).
    #[error("the database is damaged: {0}")]
    Corrupt(String),
    /// The data file is damaged or emptied; it was left as found and a copy kept.
    #[error("{0}")]
    Damaged(Box<DamagedStore>),
    /// The key is missing, damaged or wrong for the store's secrets; nothing written.
    #[error("{0}")]
    Key(Box<KeyProblem>),
    /// A path is not what it must be: a file where a folder should be, a read-only
    /// folder, a full disk.
    #[error("{} {problem}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
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

/// A damaged data file the user dealt with before the store opened (restored, salvaged
/// or started empty in the recovery screen): shown once as a notice.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    /// Where the damaged file's copy is kept.
    pub moved_to: PathBuf,
    /// What was wrong with it and what was done.
    pub reason: String,
}

/// The result of opening a data dir.
#[derive(Debug)]
pub struct Opened {
    /// The open store.
    pub store: Store,
    /// Always `None` from [`Store::open`]: a damaged file is never replaced there (it is
    /// [`StoreError::Damaged`]); the recovery screen passes what it did to the app.
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

    /// Gives back the pages SQLite's cache holds (`PRAGMA shrink_memory`), when no job
    /// holds the store: after loading every account's state the cache is full (1 MiB),
    /// and an idle window needs none of it. The next query reads its pages again from
    /// the file. `true` when the cache was emptied.
    pub fn release_cache(&self) -> bool {
        match self.0.try_lock() {
            Ok(store) => store.conn.execute_batch("PRAGMA shrink_memory;").is_ok(),
            Err(_) => false,
        }
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
        // The call and its answer boxed, so every store call is the same blocking task to
        // tokio: its task code is compiled once, not once per call site (about 2 KB each).
        type Answer = Box<dyn std::any::Any + Send>;
        let call: Box<dyn FnOnce() -> Answer + Send> = Box::new(move || Box::new(me.with(f)));
        let answer = tokio::task::spawn_blocking(call)
            .await
            .map_err(|e| StoreError::Unavailable(format!("the store job stopped: {e}")))?;
        match answer.downcast::<Result<T, StoreError>>() {
            Ok(result) => *result,
            Err(_) => Err(StoreError::Unavailable("the store job answered with another type".into())),
        }
    }
}

/// An open database plus the secret box for its data dir.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    secrets: SecretBox,
    /// Stamps writes in the sync journal (`sync::install_journal`).
    clock: crate::domain::time::EditClock,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`. Nothing is ever replaced: a
    /// damaged or emptied data file is [`StoreError::Damaged`] (left as found, a copy
    /// kept beside it), a missing or wrong key for stored secrets is
    /// [`StoreError::Key`] (no new key made), and a data dir that is a file, read-only
    /// or on a full disk is [`StoreError::Path`].
    pub fn open(data_dir: &Path) -> Result<Opened, StoreError> {
        health::prepare_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let conn = health::open_checked(&path, data_dir)?;
        let mut store = Self::finish_open(conn, &path)?;
        store.secrets = secrets::load_key(&*secrets::vault_for(data_dir), &store.conn, &path)?;
        Ok(Opened { store, quarantined: None })
    }

    /// WAL, pragmas and migrations on a checked connection; the key comes after.
    fn finish_open(conn: Connection, path: &Path) -> Result<Store, StoreError> {
        let c = |e| health::classify(path, e);
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(c)?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!("journal mode is {mode}, not WAL");
        }
        // A 1 MiB page cache (SQLite's default is 2 MiB per connection): the rows the
        // app reads are loaded once into its own state, so a larger cache only holds
        // pages the start-up integrity check read.
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-1024;").map_err(c)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            secrets: SecretBox::generate(KeyLocation::Keychain).0,
            clock: Default::default(),
        };
        migrations::migrate(&mut store.conn).map_err(|e| match e {
            StoreError::Sqlite(s) => health::classify(path, s),
            other => other,
        })?;
        sync::install_journal(&store.conn, &store.clock).map_err(c)?;
        for side in ["-wal", "-shm"] {
            health::restrict(&PathBuf::from(format!("{}{side}", path.display())));
        }
        // Gives back the pages the integrity check and the migrations cached.
        store.conn.execute_batch("PRAGMA shrink_memory;").map_err(c)?;
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

    /// SQLite's `PRAGMA data_version`: changes when another connection (another
    /// process: the CLI, cron) commits to the file; this connection's own writes leave
    /// it as it is. Cheap (no disk read): the app polls it to follow the store.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
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
