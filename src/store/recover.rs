//! What the user can do about a damaged data file or a lost key, shared by
//! `apihub recover …` and the recovery screen: build a new data file beside the damaged
//! one and swap it in only when it is complete (the damaged file's copy is kept), put a
//! located key in place after checking it, or reset the credentials on purpose.

use std::path::{Path, PathBuf};

use rusqlite::params;

use super::secrets;
use super::{DB_FILE, Store, StoreError, health};
use crate::domain::Credentials;
use crate::domain::snapshot::{AccountState, ErrorInfo};
use crate::domain::time::now_unix;

/// Name of the data file being built during a recovery (beside the real one).
const BUILDING: &str = "apihub.db.recovering";

/// The message each account carries after a credential reset (an `auth` error).
pub const SIGN_IN_NEEDED: &str = "sign-in needed: the credentials were reset because the key was lost";

fn side(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

fn remove_with_sides(path: &Path) -> Result<(), StoreError> {
    for p in [path.to_path_buf(), side(path, "-wal"), side(path, "-shm")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(health::describe_io(&p, &e)),
        }
    }
    Ok(())
}

/// A new, empty data file at `<data dir>/apihub.db.recovering`, sealed with the data
/// dir's key (made when the dir has none). Fill it, then [`swap_in`].
pub fn open_building(data_dir: &Path) -> Result<Store, StoreError> {
    health::prepare_dir(data_dir)?;
    let path = data_dir.join(BUILDING);
    remove_with_sides(&path)?;
    let conn = health::open_checked(&path, data_dir)?;
    let mut store = Store::finish_open(conn, &path)?;
    store.secrets = secrets::load_key(&*secrets::vault_for(data_dir), &store.conn, &path)?;
    Ok(store)
}

/// Closes a store built by [`open_building`] and puts it in place of the data file. The
/// data file there (damaged) must have a kept copy: one is made if needed. Returns the
/// kept copy's path (if there was a file to keep).
pub fn swap_in(data_dir: &Path, built: Store) -> Result<Option<PathBuf>, StoreError> {
    let from = built.path().to_path_buf();
    drop(built);
    let db = data_dir.join(DB_FILE);
    let kept = set_aside(data_dir)?;
    std::fs::rename(&from, &db).map_err(|e| health::describe_io(&db, &e))?;
    if side(&from, "-wal").exists() {
        let _ = std::fs::rename(side(&from, "-wal"), side(&db, "-wal"));
    }
    let _ = std::fs::remove_file(side(&from, "-shm"));
    Ok(kept)
}

/// Removes the data file (and its `-wal`, `-shm`) after making sure a copy of it is
/// kept. Returns the copy's path; `None` when there was no file.
pub fn set_aside(data_dir: &Path) -> Result<Option<PathBuf>, StoreError> {
    let db = data_dir.join(DB_FILE);
    if !db.exists() {
        return Ok(None);
    }
    let kept = health::keep_copy(&db)?;
    remove_with_sides(&db)?;
    log::warn!("the damaged data file was set aside; its copy is {}", kept.display());
    Ok(Some(kept))
}

/// Starts an empty data file on purpose (the damaged one's copy is kept).
pub fn start_empty(data_dir: &Path) -> Result<Option<PathBuf>, StoreError> {
    let kept = set_aside(data_dir)?;
    Store::open(data_dir)?;
    Ok(kept)
}

/// Opens the data file without its key (for a key problem): checked, never written.
fn open_without_key(data_dir: &Path) -> Result<rusqlite::Connection, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Err(StoreError::Path { path, problem: "does not exist".into() });
    }
    health::open_checked(&path, data_dir)
}

/// Checks a located key file against the data file's key check value and, when it fits,
/// puts it where the key belongs (the key file, or the system keychain); a key file
/// there already is kept aside as `secret.key.replaced-<time>`.
pub fn locate_key(data_dir: &Path, key_file: &Path) -> Result<(), StoreError> {
    let key = std::fs::read(key_file).map_err(|e| health::describe_io(key_file, &e))?;
    if key.len() != 32 {
        return Err(StoreError::Path {
            path: key_file.to_path_buf(),
            problem: format!("is not a key file ({} bytes; a key has 32)", key.len()),
        });
    }
    let conn = open_without_key(data_dir)?;
    if !secrets::key_fits(&conn, &key)? {
        return Err(StoreError::Path {
            path: key_file.to_path_buf(),
            problem: "is a key, but not the one this data was encrypted with".into(),
        });
    }
    drop(conn);
    let vault = secrets::vault_for(data_dir);
    match vault.read()? {
        secrets::VaultRead::Missing => vault.create(&key)?,
        _ => vault.replace(&key)?,
    }
    log::info!("key restored from {}", key_file.display());
    Ok(())
}

/// What a credential reset cleared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResetReport {
    /// Accounts kept, now flagged "sign-in needed".
    pub accounts: usize,
    /// Secret settings removed (e.g. the WebDAV password, the global proxy).
    pub settings_cleared: Vec<String>,
    /// Sites whose own proxy override was removed (it was sealed).
    pub site_proxies_cleared: usize,
    /// Notification channels removed (their settings were sealed: tokens, webhook keys).
    pub channels_removed: Vec<String>,
}

/// Resets the credentials on purpose after a key is lost: a new key is made (a key file
/// there is kept aside), every account is kept with empty credentials and an `auth`
/// error "sign-in needed", the refresh states (sealed) are dropped, secret settings and
/// sites' proxy overrides and notification channels (sealed) are removed. Accounts, groups, notes, usage logs and
/// history stay. Refused when the key in place opens the data (nothing to reset).
pub fn reset_credentials(data_dir: &Path) -> Result<ResetReport, StoreError> {
    let mut conn = open_without_key(data_dir)?;
    let vault = secrets::vault_for(data_dir);
    if let secrets::VaultRead::Found(k) = vault.read()?
        && secrets::key_fits(&conn, &k)?
    {
        return Err(StoreError::Secret("the key in place opens this data: there is nothing to reset".into()));
    }
    // The schema may be older than this build's: bring it up to date first.
    super::migrations::migrate(&mut conn)?;
    let (sb, key) = secrets::SecretBox::generate(vault.location());
    vault.replace(&key)?;
    let empty =
        sb.seal(&serde_json::to_vec(&Credentials::default()).map_err(|e| StoreError::Secret(e.to_string()))?)?;
    let now = now_unix();
    let flagged = AccountState {
        last_error: Some(ErrorInfo { kind: "auth".into(), message: SIGN_IN_NEEDED.into() }),
        last_attempt_at: Some(now),
        ..Default::default()
    };
    let flagged = sb.seal(&serde_json::to_vec(&flagged).map_err(|e| StoreError::Secret(e.to_string()))?)?;
    let tx = conn.transaction()?;
    let ids: Vec<i64> =
        tx.prepare("SELECT id FROM accounts")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for id in &ids {
        tx.execute("UPDATE accounts SET secret = ?2 WHERE id = ?1", params![id, empty])?;
    }
    tx.execute("DELETE FROM account_state", [])?;
    for id in &ids {
        tx.execute(
            "INSERT INTO account_state(account_id, state_sealed, updated_at) VALUES (?1, ?2, ?3)",
            params![id, flagged, now],
        )?;
    }
    let cleared: Vec<String> = tx
        .prepare("SELECT key FROM settings WHERE value LIKE 'v1:%' AND key != ?1 ORDER BY key")?
        .query_map([secrets::KEY_CHECK_SETTING], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM settings WHERE value LIKE 'v1:%'", [])?;
    let proxies = tx.execute("UPDATE sites SET net_proxy = '' WHERE net_proxy != ''", [])?;
    let channels: Vec<String> = tx
        .prepare("SELECT name FROM notify_channels ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM notify_channels", [])?;
    secrets::write_check(&tx, &sb)?;
    tx.commit()?;
    log::warn!(
        "credentials reset: {} accounts need signing in again; cleared {} secret settings, {proxies} site proxies",
        ids.len(),
        cleared.len()
    );
    Ok(ResetReport {
        accounts: ids.len(),
        settings_cleared: cleared,
        site_proxies_cleared: proxies,
        channels_removed: channels,
    })
}
