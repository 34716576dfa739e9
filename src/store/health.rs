//! Opening the data dir safely: a folder where the data folder should be, a file where a
//! folder should be, a read-only folder or a full disk become one line naming the path;
//! a damaged or emptied data file is detected before anything writes to it, a copy is
//! kept beside it, and it is never replaced by an empty store.
//!
//! Data files are created owner-only (0600 on Unix), like the key file.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension};

use super::{DB_FILE, StoreError};

/// Prefix (after `apihub.db`) of the copies kept of a damaged data file.
pub const DAMAGED_SUFFIX: &str = ".damaged-";

/// A damaged data file, found on open. Nothing was written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedStore {
    /// The data file.
    pub path: PathBuf,
    /// What is wrong with it (SQLite's words, or "empty").
    pub reason: String,
    /// A copy of the file (and its WAL) as found, kept whatever the user does next.
    pub kept_copy: Option<PathBuf>,
}

impl std::fmt::Display for DamagedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the data file {} is damaged ({})", self.path.display(), self.reason)?;
        if let Some(k) = &self.kept_copy {
            write!(f, "; a copy is kept at {}", k.display())?;
        }
        Ok(())
    }
}

/// One line for an I/O error on `path`: what is wrong, in words a user can act on.
pub fn describe_io(path: &Path, e: &std::io::Error) -> StoreError {
    use std::io::ErrorKind as K;
    let problem = match e.kind() {
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            "is read-only: no permission to write there (check the folder's owner and permissions)".to_string()
        }
        K::StorageFull | K::QuotaExceeded => "cannot be written: the disk is full".to_string(),
        K::IsADirectory => "is a folder, not a file".to_string(),
        K::NotADirectory => "is inside a file, not a folder".to_string(),
        K::NotFound => "does not exist".to_string(),
        _ => e.to_string(),
    };
    StoreError::Path { path: path.to_path_buf(), problem }
}

/// Maps an SQLite error on `path` to [`StoreError`]: damage to `Corrupt`, a read-only
/// folder, a full disk or a file that cannot be opened to `Path` with the cause.
pub(super) fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let rusqlite::Error::SqliteFailure(f, msg) = &e else { return StoreError::Sqlite(e) };
    let detail = msg.clone().unwrap_or_else(|| f.to_string());
    let dir = path.parent().unwrap_or(path).to_path_buf();
    let path_error = |p: PathBuf, problem: String| StoreError::Path { path: p, problem };
    match f.code {
        ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => StoreError::Corrupt(detail),
        ErrorCode::ReadOnly => path_error(
            dir,
            format!("is read-only: the data file cannot be written (check the folder's permissions) ({detail})"),
        ),
        ErrorCode::DiskFull => path_error(dir, format!("cannot be written: the disk is full ({detail})")),
        ErrorCode::CannotOpen => {
            let problem = if path.is_dir() {
                "is a folder, not the data file".to_string()
            } else if !writable(&dir) {
                "is read-only: the data file cannot be created or opened there".to_string()
            } else {
                format!("cannot be opened ({detail})")
            };
            path_error(if path.is_dir() { path.to_path_buf() } else { dir }, problem)
        }
        ErrorCode::SystemIoFailure => {
            // SQLITE_IOERR_SHMOPEN/SHMSIZE/SHMLOCK/SHMMAP (4618/4874/5130/5386): the `-shm` file beside
            // the data file could not be created or grown: a full disk or a read-only folder.
            let shm = matches!(f.extended_code, 4618 | 4874 | 5386 | 5130);
            let problem = if shm {
                format!(
                    "cannot hold the data file's shared-memory file (apihub.db-shm): the disk is full or the folder is read-only ({detail})"
                )
            } else {
                format!("disk I/O error: the disk may be full, failing or unplugged ({detail})")
            };
            path_error(dir, problem)
        }
        _ => StoreError::Sqlite(e),
    }
}

/// Whether a file can be created in `dir` (tries one).
fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".apihub-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// Checks that `data_dir` is a folder, creating it (owner-only) when missing. Returns
/// whether it was created.
pub fn prepare_dir(data_dir: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(data_dir) {
        Ok(m) if m.is_dir() => Ok(false),
        Ok(_) => Err(StoreError::Path { path: data_dir.to_path_buf(), problem: "is a file, not a folder".into() }),
        Err(e) => {
            // A parent that is a file ("not a directory"): name that file.
            if let Some(file) = data_dir.ancestors().skip(1).find(|p| p.is_file()) {
                return Err(StoreError::Path { path: file.to_path_buf(), problem: "is a file, not a folder".into() });
            }
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(describe_io(data_dir, &e));
            }
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(data_dir).map_err(|e| describe_io(data_dir, &e))?;
            Ok(true)
        }
    }
}

/// Creates `path` empty with owner-only permissions when it does not exist, and makes
/// an existing one owner-only (SQLite gives the `-wal` and `-shm` files the data file's
/// permissions).
pub(super) fn private_file(path: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            Err(StoreError::Path { path: path.to_path_buf(), problem: "is a folder, not the data file".into() })
        }
        Ok(_) => {
            restrict(path);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            match o.open(path) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(describe_io(path.parent().unwrap_or(path), &e)),
            }
        }
        Err(e) => Err(describe_io(path, &e)),
    }
}

/// Makes an existing file owner-only (best effort: a file we do not own stays as it is).
pub fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o077 != 0
            && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        {
            log::debug!("could not make {} owner-only: {e}", path.display());
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Signs that this data dir held data before: the key file, a backup, a kept copy of a
/// damaged file. An empty data file beside them is damage, not a first start.
pub fn holds_prior_data(data_dir: &Path) -> bool {
    if data_dir.join(super::secrets::KEY_FILE).exists() {
        return true;
    }
    let has = |dir: &Path, pred: &dyn Fn(&str) -> bool| {
        std::fs::read_dir(dir)
            .map(|r| r.filter_map(Result::ok).any(|e| pred(&e.file_name().to_string_lossy())))
            .unwrap_or(false)
    };
    has(&data_dir.join("backups"), &|n| n.ends_with(".json") && !n.starts_with('.'))
        || has(data_dir, &|n| {
            n.starts_with(&format!("{DB_FILE}{DAMAGED_SUFFIX}")) || n.starts_with("apihub.db.corrupt-")
        })
}

/// Tables every schema since version 1 has.
const CORE_TABLES: [&str; 3] = ["sites", "accounts", "settings"];

/// Opens the data file and checks it before anything writes to it: the integrity check,
/// and a schema that is there when it should be. On damage the connection is closed
/// without a checkpoint (the file stays as found) and [`StoreError::Corrupt`] or
/// `Damaged` is returned.
pub(super) fn open_checked(path: &Path, data_dir: &Path) -> Result<Connection, StoreError> {
    // A missing file is a first start (or a deliberate reset); an emptied one is not.
    let existed = path.exists();
    private_file(path)?;
    let conn = Connection::open(path).map_err(|e| classify(path, e))?;
    // Closing must not checkpoint a damaged file's WAL into it.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| classify(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| classify(path, e))?;
    let damaged = |reason: String| damaged(path, reason);
    let check: String = match conn.query_row("PRAGMA quick_check", [], |r| r.get(0)) {
        Ok(c) => c,
        Err(e) => {
            return match classify(path, e) {
                StoreError::Corrupt(reason) => Err(damaged(reason)),
                other => Err(other),
            };
        }
    };
    if check != "ok" {
        return Err(damaged(check));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(path, e))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| classify(path, e))?;
    if version == 0 && tables.is_empty() {
        if existed && holds_prior_data(data_dir) {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let why =
                if size == 0 { "the file is empty (0 bytes)".to_string() } else { "it holds no tables".to_string() };
            return Err(damaged(format!("{why}, but this data folder held data before")));
        }
    } else if version > 0 {
        let missing: Vec<&str> = CORE_TABLES.iter().copied().filter(|t| !tables.iter().any(|x| x == t)).collect();
        if !missing.is_empty() {
            return Err(damaged(format!("tables missing: {}", missing.join(", "))));
        }
    }
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// The error for a damaged file, with a copy of it kept (made once).
fn damaged(path: &Path, reason: String) -> StoreError {
    let kept_copy = match keep_copy(path) {
        Ok(p) => Some(p),
        Err(e) => {
            log::warn!("no copy of the damaged data file could be kept: {e}");
            None
        }
    };
    StoreError::Damaged(Box::new(DamagedStore { path: path.to_path_buf(), reason, kept_copy }))
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// Same contents; a missing file counts as empty (an empty `-wal` is not copied).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    len(a) == len(b) && (len(a) == 0 || std::fs::read(a).ok() == std::fs::read(b).ok())
}

/// Copies a damaged data file (and its `-wal`) to `apihub.db.damaged-<time>`, unless an
/// identical copy is already there. Returns the copy's path.
pub fn keep_copy(path: &Path) -> Result<PathBuf, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let prefix = format!("{name}{DAMAGED_SUFFIX}");
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut copies: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                n.starts_with(&prefix) && !n.ends_with("-wal") && !n.ends_with("-shm")
            })
            .collect();
        copies.sort();
        if let Some(same) =
            copies.into_iter().rev().find(|c| same_bytes(path, c) && same_bytes(&side(path, "-wal"), &side(c, "-wal")))
        {
            return Ok(same);
        }
    }
    let stamp = crate::domain::time::local_now().format("%Y%m%d-%H%M%S");
    let mut copy = dir.join(format!("{prefix}{stamp}"));
    let mut n = 2;
    while copy.exists() {
        copy = dir.join(format!("{prefix}{stamp}-{n}"));
        n += 1;
    }
    std::fs::copy(path, &copy).map_err(|e| describe_io(&copy, &e))?;
    restrict(&copy);
    let wal = side(path, "-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        let to = side(&copy, "-wal");
        std::fs::copy(&wal, &to).map_err(|e| describe_io(&to, &e))?;
        restrict(&to);
    }
    Ok(copy)
}

/// Reads one setting straight from a connection (before a `Store` exists).
pub(super) fn raw_setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_err(extended: i32, msg: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(extended), Some(msg.into()))
    }

    #[test]
    fn a_full_disk_and_a_read_only_folder_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DB_FILE);
        // SQLITE_FULL.
        let e = classify(&db, sqlite_err(13, "database or disk is full"));
        let s = e.to_string();
        assert!(s.contains(&dir.path().display().to_string()) && s.contains("disk is full"), "{s}");
        // SQLITE_IOERR_SHMMAP (the message users saw: "disk I/O error … xShmMap").
        let e = classify(&db, sqlite_err(5386, "disk I/O error"));
        assert!(e.to_string().contains("apihub.db-shm") && e.to_string().contains("disk is full"), "{e}");
        // SQLITE_READONLY.
        let e = classify(&db, rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(8), None));
        assert!(e.to_string().contains("read-only"), "{e}");
        let e = describe_io(&db, &std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(e.to_string().contains("disk is full"), "{e}");
        assert!(matches!(
            classify(&db, rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(26), None)),
            StoreError::Corrupt(_)
        ));
    }

    #[test]
    fn a_data_dir_that_is_a_file_or_inside_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(prepare_dir(&file).unwrap_err().to_string().contains("is a file, not a folder"));
        let inside = file.join("data");
        let e = prepare_dir(&inside).unwrap_err().to_string();
        assert!(e.contains(&file.display().to_string()) && e.contains("is a file"), "{e}");
        assert!(prepare_dir(&dir.path().join("new/deeper")).unwrap());
        assert!(!prepare_dir(&dir.path().join("new/deeper")).unwrap());
    }

    #[test]
    fn one_copy_of_a_damaged_file_is_kept_however_often_it_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DB_FILE);
        std::fs::write(&db, b"not a database at all").unwrap();
        let a = keep_copy(&db).unwrap();
        let b = keep_copy(&db).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::read(&a).unwrap(), b"not a database at all");
        std::fs::write(&db, b"changed").unwrap();
        assert_ne!(keep_copy(&db).unwrap(), a, "different bytes: a second copy");
    }
}
