//! Secrets at rest: AES-256-GCM with a key from the OS keychain (Windows, macOS)
//! or a key file readable only by the user (0600) beside the database.

use std::path::Path;

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
const KEY_FILE: &str = "secret.key";

impl SecretBox {
    /// Loads (or creates) the key for a data dir.
    pub fn open(data_dir: &Path) -> Result<SecretBox, StoreError> {
        #[cfg(any(windows, target_os = "macos"))]
        if let Some(sb) = keychain::open(data_dir) {
            return Ok(sb);
        }
        Self::open_key_file(data_dir)
    }

    /// Uses (or creates) `secret.key` in the data dir, mode 0600 on Unix.
    pub fn open_key_file(data_dir: &Path) -> Result<SecretBox, StoreError> {
        let path = data_dir.join(KEY_FILE);
        let key_bytes = match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => b,
            Ok(_) => return Err(StoreError::Secret(format!("key file {} is damaged", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                write_private(&path, key.as_slice())?;
                key.to_vec()
            }
            Err(e) => return Err(StoreError::Io(e)),
        };
        Ok(Self::from_key(&key_bytes, KeyLocation::KeyFile(path)))
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
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(any(windows, target_os = "macos"))]
mod keychain {
    use super::*;

    /// One keychain entry per data dir, so portable copies keep separate keys.
    pub(super) fn open(data_dir: &Path) -> Option<SecretBox> {
        let user = format!("{}", data_dir.display());
        let entry = keyring::Entry::new("api-hub-desk", &user).ok()?;
        let key = match entry.get_password() {
            Ok(b64) => B64.decode(b64).ok().filter(|k| k.len() == 32)?,
            Err(keyring::Error::NoEntry) => {
                // Keep using an existing key file if one was made before.
                if data_dir.join(KEY_FILE).exists() {
                    return None;
                }
                let key = Aes256Gcm::generate_key(OsRng).to_vec();
                entry.set_password(&B64.encode(&key)).ok()?;
                key
            }
            Err(_) => return None,
        };
        Some(SecretBox::from_key(&key, KeyLocation::Keychain))
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
}
