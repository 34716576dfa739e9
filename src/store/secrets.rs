//! Secrets at rest: AES-256-GCM with a key from the OS keychain (Windows, macOS)
//! or a key file readable only by the user (0600) beside the database.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::StoreError;

/// Where the encryption key is kept; shown in Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    /// The OS keychain (Windows Credential Manager, macOS Keychain).
    Keychain,
    /// A key file with owner-only permissions.
    KeyFile(std::path::PathBuf),
}

/// Encrypts and decrypts small secrets. Ciphertexts are `v1:` + base64(nonce ‖ ct).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    location: KeyLocation,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox").field("location", &self.location).finish()
    }
}

const PREFIX: &str = "v1:";
/// The key file's name in the data dir.
pub const KEY_FILE: &str = "secret.key";
/// Setting holding the key check value: a constant sealed with the key, so a wrong key
/// is found before anything is written. Never exported (see
/// `backup::bundle::VOLATILE_SETTING_PREFIXES`).
pub const KEY_CHECK_SETTING: &str = crate::domain::settings::bookkeeping::STORE_KEY_CHECK;
const KEY_CHECK_PLAIN: &[u8] = b"api-hub-desk key check v1";

/// What is wrong with the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblemKind {
    /// No key where the store's secrets say there was one.
    Missing,
    /// The key file (or keychain entry) is not a key.
    Damaged,
    /// A key is there, but not the one the secrets were sealed with.
    Wrong,
}

/// The key cannot open this store's secrets. Nothing was written; no new key was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// Missing, damaged or wrong.
    pub kind: KeyProblemKind,
    /// Where the key was looked for.
    pub location: KeyLocation,
    /// The data file whose secrets it seals.
    pub db_path: PathBuf,
    /// Accounts in the data file (their credentials are what is at stake).
    pub account_count: i64,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match &self.location {
            KeyLocation::Keychain => "the key in the system keychain".to_string(),
            KeyLocation::KeyFile(p) => format!("the key file {}", p.display()),
        };
        let what = match self.kind {
            KeyProblemKind::Missing => "is missing",
            KeyProblemKind::Damaged => "is damaged",
            KeyProblemKind::Wrong => "does not match the data",
        };
        write!(
            f,
            "{place} {what}: the credentials of the {} accounts in {} were encrypted with another key; no new key was made",
            self.account_count,
            self.db_path.display()
        )
    }
}

/// What a key store holds.
#[derive(Debug)]
pub(crate) enum VaultRead {
    /// A 32-byte key.
    Found(Vec<u8>),
    /// Nothing.
    Missing,
    /// Something that is not a key (why).
    Damaged(String),
}

/// Where keys are kept: the key file, or the OS keychain. Generation, replacement and
/// checks are the same code for both ([`load_key`]).
pub(crate) trait KeyVault {
    /// Where it is, for messages and Settings.
    fn location(&self) -> KeyLocation;
    /// Reads the key.
    fn read(&self) -> Result<VaultRead, StoreError>;
    /// Stores a new key where there is none.
    fn create(&self, key: &[u8]) -> Result<(), StoreError>;
    /// Replaces the key (the old one is kept aside where that is possible).
    fn replace(&self, key: &[u8]) -> Result<(), StoreError>;
}

/// The key file, 0600 on Unix.
pub(crate) struct KeyFileVault {
    path: PathBuf,
}

impl KeyFileVault {
    pub(crate) fn new(data_dir: &Path) -> Self {
        KeyFileVault { path: data_dir.join(KEY_FILE) }
    }
}

impl KeyVault for KeyFileVault {
    fn location(&self) -> KeyLocation {
        KeyLocation::KeyFile(self.path.clone())
    }

    fn read(&self) -> Result<VaultRead, StoreError> {
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_dir() => {
                return Err(StoreError::Path {
                    path: self.path.clone(),
                    problem: "is a folder; the key file should be there (move the folder away)".into(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(VaultRead::Missing),
            Err(e) => return Err(super::health::describe_io(&self.path, &e)),
        }
        let bytes = std::fs::read(&self.path).map_err(|e| super::health::describe_io(&self.path, &e))?;
        Ok(if bytes.len() == 32 {
            VaultRead::Found(bytes)
        } else {
            VaultRead::Damaged(format!("{} bytes; a key has 32", bytes.len()))
        })
    }

    fn create(&self, key: &[u8]) -> Result<(), StoreError> {
        write_private(&self.path, key)
    }

    fn replace(&self, key: &[u8]) -> Result<(), StoreError> {
        if self.path.exists() {
            let stamp = crate::domain::time::local_now().format("%Y%m%d-%H%M%S");
            let aside = PathBuf::from(format!("{}.replaced-{stamp}", self.path.display()));
            std::fs::rename(&self.path, &aside).map_err(|e| super::health::describe_io(&self.path, &e))?;
            log::info!("the previous key file was kept as {}", aside.display());
        }
        write_private(&self.path, key)
    }
}

/// The key store a data dir uses: the OS keychain on Windows and macOS (unless a key
/// file from before is there, or the keychain cannot be used), else the key file.
pub(crate) fn vault_for(data_dir: &Path) -> Box<dyn KeyVault> {
    #[cfg(any(windows, target_os = "macos"))]
    if let Some(kc) = keychain::Keychain::new(data_dir) {
        let file = KeyFileVault::new(data_dir);
        match kc.read() {
            Ok(VaultRead::Missing) if file.path.exists() => return Box::new(file),
            Ok(_) => return Box::new(kc),
            Err(e) => log::warn!("system keychain unavailable ({e}); using the key file"),
        }
    }
    Box::new(KeyFileVault::new(data_dir))
}

/// The store's key check value (`true`), or for a store from before key checks one
/// sealed value to check the key against (`false`); `None` when it holds no secrets.
fn stored_check(conn: &rusqlite::Connection) -> Result<Option<(String, bool)>, rusqlite::Error> {
    use rusqlite::OptionalExtension;
    if let Some(c) = super::health::raw_setting(conn, KEY_CHECK_SETTING)? {
        return Ok(Some((c, true)));
    }
    for sql in [
        "SELECT secret FROM accounts LIMIT 1",
        "SELECT state_sealed FROM account_state LIMIT 1",
        "SELECT value FROM settings WHERE value LIKE 'v1:%' LIMIT 1",
        "SELECT net_proxy FROM sites WHERE net_proxy LIKE 'v1:%' LIMIT 1",
    ] {
        if let Some(v) = conn.query_row(sql, [], |r| r.get::<_, String>(0)).optional()? {
            return Ok(Some((v, false)));
        }
    }
    Ok(None)
}

/// Loads the key for a store and checks it against the store's key check value before
/// anything is written. A store with encrypted secrets never gets a new key: a missing,
/// damaged or wrong key is a [`KeyProblem`]. A store without secrets gets a key (made
/// when missing; a damaged one is replaced and kept aside). Then the check value is
/// written when the store has none yet.
pub(crate) fn load_key(
    vault: &dyn KeyVault,
    conn: &rusqlite::Connection,
    db_path: &Path,
) -> Result<SecretBox, StoreError> {
    let check = stored_check(conn)?;
    let problem = |kind| -> StoreError {
        let account_count = conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get(0)).unwrap_or(0);
        StoreError::Key(Box::new(KeyProblem {
            kind,
            location: vault.location(),
            db_path: db_path.to_path_buf(),
            account_count,
        }))
    };
    let key = match (vault.read()?, &check) {
        (VaultRead::Found(k), _) => k,
        (VaultRead::Missing, Some(_)) => return Err(problem(KeyProblemKind::Missing)),
        (VaultRead::Damaged(why), Some(_)) => {
            log::warn!("key unreadable ({why})");
            return Err(problem(KeyProblemKind::Damaged));
        }
        (VaultRead::Missing, None) => {
            let key = Aes256Gcm::generate_key(OsRng).to_vec();
            vault.create(&key)?;
            key
        }
        (VaultRead::Damaged(why), None) => {
            log::warn!("key unreadable ({why}); the store holds no secrets: a new key is made");
            let key = Aes256Gcm::generate_key(OsRng).to_vec();
            vault.replace(&key)?;
            key
        }
    };
    let sb = SecretBox::from_key(&key, vault.location());
    if !fits(&sb, check.as_ref()) {
        return Err(problem(KeyProblemKind::Wrong));
    }
    if !matches!(check, Some((_, true))) {
        write_check(conn, &sb)?;
    }
    Ok(sb)
}

fn fits(sb: &SecretBox, check: Option<&(String, bool)>) -> bool {
    match check {
        None => true,
        Some((sealed, true)) => sb.open_sealed(sealed).ok().as_deref() == Some(KEY_CHECK_PLAIN),
        Some((sealed, false)) => sb.open_sealed(sealed).is_ok(),
    }
}

/// Writes (or replaces) the key check value sealed with `sb`.
pub(crate) fn write_check(conn: &rusqlite::Connection, sb: &SecretBox) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [KEY_CHECK_SETTING, &sb.seal(KEY_CHECK_PLAIN)?],
    )?;
    Ok(())
}

/// True when `key` opens the store's secrets (its check value, or a sealed value of a
/// store from before key checks); also true for a store without secrets.
pub(crate) fn key_fits(conn: &rusqlite::Connection, key: &[u8]) -> Result<bool, StoreError> {
    if key.len() != 32 {
        return Ok(false);
    }
    Ok(fits(&SecretBox::from_key(key, KeyLocation::Keychain), stored_check(conn)?.as_ref()))
}

impl SecretBox {
    /// A box over a fresh random key (not stored anywhere yet) and the key.
    pub(crate) fn generate(location: KeyLocation) -> (SecretBox, Vec<u8>) {
        let key = Aes256Gcm::generate_key(OsRng).to_vec();
        (Self::from_key(&key, location), key)
    }

    /// Uses (or creates) `secret.key` in the data dir, mode 0600 on Unix, with no store
    /// to check it against (tests, tools).
    pub fn open_key_file(data_dir: &Path) -> Result<SecretBox, StoreError> {
        let vault = KeyFileVault::new(data_dir);
        let key = match vault.read()? {
            VaultRead::Found(k) => k,
            VaultRead::Missing => {
                let key = Aes256Gcm::generate_key(OsRng).to_vec();
                vault.create(&key)?;
                key
            }
            VaultRead::Damaged(why) => {
                return Err(StoreError::Secret(format!("key file {} is damaged: {why}", vault.path.display())));
            }
        };
        Ok(Self::from_key(&key, vault.location()))
    }

    fn from_key(key: &[u8], location: KeyLocation) -> SecretBox {
        let key = Key::<Aes256Gcm>::from_slice(key);
        SecretBox { cipher: Aes256Gcm::new(key), location }
    }

    /// Where the key lives.
    pub fn location(&self) -> &KeyLocation {
        &self.location
    }

    /// Encrypts a plaintext.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, StoreError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self.cipher.encrypt(&nonce, plaintext).map_err(|_| StoreError::Secret("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Decrypts what [`SecretBox::seal`] produced.
    pub fn open_sealed(&self, sealed: &str) -> Result<Vec<u8>, StoreError> {
        let body = sealed.strip_prefix(PREFIX).ok_or_else(|| StoreError::Secret("unknown secret format".into()))?;
        let raw = B64.decode(body).map_err(|_| StoreError::Secret("secret is not base64".into()))?;
        if raw.len() < 12 {
            return Err(StoreError::Secret("secret too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| StoreError::Secret("secret cannot be decrypted with this key".into()))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |e: std::io::Error| super::health::describe_io(path, &e);
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

#[cfg(any(windows, target_os = "macos"))]
mod keychain {
    use super::*;

    /// One keychain entry per data dir, so portable copies keep separate keys.
    pub(super) struct Keychain {
        entry: keyring::Entry,
    }

    impl Keychain {
        pub(super) fn new(data_dir: &Path) -> Option<Keychain> {
            let user = format!("{}", data_dir.display());
            keyring::Entry::new("api-hub-desk", &user).ok().map(|entry| Keychain { entry })
        }
    }

    impl KeyVault for Keychain {
        fn location(&self) -> KeyLocation {
            KeyLocation::Keychain
        }

        fn read(&self) -> Result<VaultRead, StoreError> {
            match self.entry.get_password() {
                Ok(b64) => Ok(match B64.decode(b64.trim()) {
                    Ok(k) if k.len() == 32 => VaultRead::Found(k),
                    _ => VaultRead::Damaged("the keychain entry is not a key".into()),
                }),
                Err(keyring::Error::NoEntry) => Ok(VaultRead::Missing),
                Err(e) => Err(StoreError::Secret(format!("system keychain: {e}"))),
            }
        }

        fn create(&self, key: &[u8]) -> Result<(), StoreError> {
            self.replace(key)
        }

        fn replace(&self, key: &[u8]) -> Result<(), StoreError> {
            self.entry.set_password(&B64.encode(key)).map_err(|e| StoreError::Secret(format!("system keychain: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_is_not_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let sb = SecretBox::open_key_file(dir.path()).unwrap();
        let sealed = sb.seal(b"sk-verysecret").unwrap();
        assert!(!sealed.contains("verysecret"));
        assert_eq!(sb.open_sealed(&sealed).unwrap(), b"sk-verysecret");
        // The same key is read back by a second open.
        let sb2 = SecretBox::open_key_file(dir.path()).unwrap();
        assert_eq!(sb2.open_sealed(&sealed).unwrap(), b"sk-verysecret");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        SecretBox::open_key_file(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn tampered_or_foreign_secret_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let sb = SecretBox::open_key_file(dir.path()).unwrap();
        assert!(sb.open_sealed("v1:AAAA").is_err());
        assert!(sb.open_sealed("plain").is_err());
        let other = tempfile::tempdir().unwrap();
        let sealed = SecretBox::open_key_file(other.path()).unwrap().seal(b"x").unwrap();
        assert!(sb.open_sealed(&sealed).is_err());
    }

    /// A keychain-like vault in memory: the decisions are the same code for the OS
    /// keychain and the key file.
    struct MemVault(std::cell::RefCell<Option<Vec<u8>>>, std::cell::Cell<usize>);

    impl KeyVault for MemVault {
        fn location(&self) -> KeyLocation {
            KeyLocation::Keychain
        }
        fn read(&self) -> Result<VaultRead, StoreError> {
            Ok(match &*self.0.borrow() {
                Some(k) if k.len() == 32 => VaultRead::Found(k.clone()),
                Some(_) => VaultRead::Damaged("short".into()),
                None => VaultRead::Missing,
            })
        }
        fn create(&self, key: &[u8]) -> Result<(), StoreError> {
            self.1.set(self.1.get() + 1);
            *self.0.borrow_mut() = Some(key.to_vec());
            Ok(())
        }
        fn replace(&self, key: &[u8]) -> Result<(), StoreError> {
            self.create(key)
        }
    }

    fn conn_with_settings() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE accounts(id INTEGER PRIMARY KEY, secret TEXT NOT NULL);
             CREATE TABLE account_state(account_id INTEGER PRIMARY KEY, state_sealed TEXT NOT NULL);
             CREATE TABLE sites(id INTEGER PRIMARY KEY, net_proxy TEXT NOT NULL DEFAULT '');",
        )
        .unwrap();
        c
    }

    #[test]
    fn keychain_case_a_missing_or_wrong_key_is_never_replaced_over_secrets() {
        let conn = conn_with_settings();
        let vault = MemVault(Default::default(), Default::default());
        let db = Path::new("/d/apihub.db");
        // First start: a key is made and the check value written.
        let sb = load_key(&vault, &conn, db).unwrap();
        assert_eq!(vault.1.get(), 1);
        conn.execute("INSERT INTO accounts(id, secret) VALUES (1, ?1)", [sb.seal(b"tok").unwrap()]).unwrap();
        assert!(load_key(&vault, &conn, db).is_ok(), "the same key opens it again");
        // The keychain entry disappears: an error, and no key is made.
        let kept = vault.0.borrow_mut().take();
        match load_key(&vault, &conn, db) {
            Err(StoreError::Key(p)) => {
                assert_eq!(p.kind, KeyProblemKind::Missing);
                assert_eq!(p.account_count, 1);
                assert!(p.to_string().contains("system keychain"), "{p}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(vault.1.get(), 1, "no new key over a store with secrets");
        // Another key: wrong, detected by the check value, nothing written.
        *vault.0.borrow_mut() = Some(vec![3u8; 32]);
        assert!(matches!(load_key(&vault, &conn, db), Err(StoreError::Key(p)) if p.kind == KeyProblemKind::Wrong));
        // Damaged entry.
        *vault.0.borrow_mut() = Some(vec![1u8; 5]);
        assert!(matches!(load_key(&vault, &conn, db), Err(StoreError::Key(p)) if p.kind == KeyProblemKind::Damaged));
        assert_eq!(vault.1.get(), 1);
        *vault.0.borrow_mut() = kept;
        assert!(load_key(&vault, &conn, db).is_ok());
    }

    #[test]
    fn a_store_from_before_key_checks_is_checked_against_a_sealed_value() {
        let conn = conn_with_settings();
        let vault = MemVault(std::cell::RefCell::new(Some(vec![5u8; 32])), Default::default());
        let right = SecretBox::from_key(&[5u8; 32], KeyLocation::Keychain);
        conn.execute("INSERT INTO accounts(id, secret) VALUES (1, ?1)", [right.seal(b"x").unwrap()]).unwrap();
        let db = Path::new("/d/apihub.db");
        load_key(&vault, &conn, db).unwrap();
        assert!(super::super::health::raw_setting(&conn, KEY_CHECK_SETTING).unwrap().is_some(), "check written");
        let conn2 = conn_with_settings();
        conn2.execute("INSERT INTO accounts(id, secret) VALUES (1, ?1)", [right.seal(b"x").unwrap()]).unwrap();
        *vault.0.borrow_mut() = Some(vec![6u8; 32]);
        assert!(matches!(load_key(&vault, &conn2, db), Err(StoreError::Key(p)) if p.kind == KeyProblemKind::Wrong));
        assert!(super::super::health::raw_setting(&conn2, KEY_CHECK_SETTING).unwrap().is_none(), "nothing written");
    }
}
