//! The sync document on the server.
//!
//! **Layout.** `<backup.webdav.remote_path>/sync/apihub-sync-<generation>.json`, one
//! file per generation (10 digits), the newest is current; the newest `sync.keep` are
//! kept, older ones deleted after a successful upload (the history).
//!
//! **No lost updates.** A new generation is written to a temporary name, read back,
//! then MOVEd to the next generation's name with `Overwrite: F`: the server creates it
//! only if no other device took that generation first, atomically, and answers 412
//! otherwise; the caller then downloads the newer generation, merges again and retries.
//! A half-written upload is only ever a temporary file, never a generation. (A fixed
//! name with `If-Match` cannot be combined with a temporary name and MOVE: `If-Match`
//! on MOVE guards the source, not the destination.)
//!
//! **Envelope.** Plain JSON outside: format, version, generation, writer, and the
//! PBKDF2-SHA256 → AES-256-GCM parameters of the backups' passphrase scheme; the
//! document inside, bound to its generation (the AAD) so an old file cannot pose as a
//! newer one. A small key check tells a wrong passphrase from a damaged document.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::SyncError;
use super::model::Doc;
use crate::backup::crypto;
use crate::backup::webdav::{RemoteBackup, WebDav, WebDavConfig};

/// `format` of every sync document.
pub const FORMAT: &str = "api-hub-desk-sync";
/// The version this build writes and the highest it reads.
pub const VERSION: u64 = 1;
/// Prefix of generation files.
const PREFIX: &str = "apihub-sync-";
/// Prefix of temporary uploads.
const TMP_PREFIX: &str = "apihub-sync-tmp-";
const CHECK_PLAIN: &[u8] = b"api-hub-desk-sync key check";

/// Name of a generation's file.
pub fn generation_name(generation: u64) -> String {
    format!("{PREFIX}{generation:010}.json")
}

/// The generation a file name holds (`None`: not a generation file).
pub fn parse_generation(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(".json")?;
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u64,
    generation: u64,
    written_by: String,
    written_at: String,
    kdf: String,
    iterations: u32,
    salt: String,
    check_nonce: String,
    check: String,
    nonce: String,
    ciphertext: String,
}

/// A derived key and what derived it (kept to seal the next generation without
/// deriving again).
#[derive(Clone)]
pub struct Key {
    salt: Vec<u8>,
    iterations: u32,
    key: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

impl Key {
    /// A new key from `passphrase` with a fresh salt.
    pub fn new(passphrase: &str, iterations: u32) -> Key {
        let salt = crypto::random_bytes::<16>().to_vec();
        Key { key: crypto::derive_key(passphrase, &salt, iterations), salt, iterations }
    }
}

fn aad(generation: u64) -> Vec<u8> {
    format!("{FORMAT}:{VERSION}:{generation}").into_bytes()
}

/// Encrypts a document as `generation`.
pub fn seal(doc: &Doc, generation: u64, device: &str, key: &Key) -> Result<Vec<u8>, SyncError> {
    let plain = serde_json::to_vec(doc).map_err(|e| SyncError::Damaged(e.to_string()))?;
    let nonce = crypto::random_bytes::<12>();
    let check_nonce = crypto::random_bytes::<12>();
    let failed = || SyncError::Damaged("encryption failed".into());
    let ct = crypto::seal(&key.key, &nonce, &plain, &aad(generation)).ok_or_else(failed)?;
    let check = crypto::seal(&key.key, &check_nonce, CHECK_PLAIN, FORMAT.as_bytes()).ok_or_else(failed)?;
    let env = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        generation,
        written_by: device.into(),
        written_at: crate::domain::time::utc_now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        kdf: "pbkdf2-sha256".into(),
        iterations: key.iterations,
        salt: B64.encode(&key.salt),
        check_nonce: B64.encode(check_nonce),
        check: B64.encode(check),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ct),
    };
    serde_json::to_vec(&env).map_err(|e| SyncError::Damaged(e.to_string()))
}

/// Who wrote a document and when (from its plain envelope; empty when unreadable).
pub fn written(bytes: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    (text("written_by"), text("written_at"))
}

/// Decrypts the document of `generation`. `known`: a key derived earlier (used when
/// the salt and iterations match, else the passphrase is derived again).
pub fn open(bytes: &[u8], generation: u64, passphrase: &str, known: Option<&Key>) -> Result<(Doc, Key), SyncError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        SyncError::Damaged(if e.is_eof() {
            "the file ends too early (truncated)".into()
        } else {
            format!("not JSON ({e})")
        })
    })?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or_default();
    if format != FORMAT {
        return Err(SyncError::Foreign(if format.is_empty() {
            "it has no \"format\" field".into()
        } else {
            format!("its format is \"{format}\"")
        }));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or_default();
    if version == 0 || version > VERSION {
        return Err(SyncError::TooNew(version));
    }
    let env: Envelope = serde_json::from_value(value).map_err(|e| SyncError::Damaged(e.to_string()))?;
    if env.generation != generation {
        return Err(SyncError::Damaged(format!("it says generation {} but is stored as {generation}", env.generation)));
    }
    if env.kdf != "pbkdf2-sha256" || env.iterations == 0 || env.iterations > crypto::MAX_ITERATIONS {
        return Err(SyncError::Damaged(format!("unknown key derivation {} × {}", env.kdf, env.iterations)));
    }
    let b64 = |s: &str| B64.decode(s).map_err(|_| SyncError::Damaged("not base64".into()));
    let salt = b64(&env.salt)?;
    let key = match known {
        Some(k) if k.salt == salt && k.iterations == env.iterations => k.clone(),
        _ => Key { key: crypto::derive_key(passphrase, &salt, env.iterations), salt, iterations: env.iterations },
    };
    crypto::open(&key.key, &b64(&env.check_nonce)?, &b64(&env.check)?, FORMAT.as_bytes())
        .filter(|p| p == CHECK_PLAIN)
        .ok_or(SyncError::WrongPassphrase)?;
    let plain = crypto::open(&key.key, &b64(&env.nonce)?, &b64(&env.ciphertext)?, &aad(generation))
        .ok_or_else(|| SyncError::Damaged("the document does not decrypt (changed or cut)".into()))?;
    let doc: Doc = serde_json::from_slice(&plain).map_err(|e| SyncError::Damaged(format!("document: {e}")))?;
    Ok((doc, key))
}

/// The sync folder on the server.
#[derive(Debug, Clone)]
pub struct Remote {
    dav: WebDav,
}

impl Remote {
    /// The `sync` folder under the WebDAV settings' remote folder.
    pub fn new(cfg: &WebDavConfig) -> Result<Remote, SyncError> {
        if cfg.url.trim().is_empty() {
            return Err(SyncError::NotConfigured);
        }
        Ok(Remote { dav: WebDav::new(cfg)?.subfolder("sync") })
    }

    /// Generation files, newest first.
    pub async fn generations(&self) -> Result<Vec<(u64, RemoteBackup)>, SyncError> {
        let mut out: Vec<(u64, RemoteBackup)> =
            self.dav.list().await?.into_iter().filter_map(|b| parse_generation(&b.name).map(|g| (g, b))).collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.0));
        Ok(out)
    }

    /// Downloads one generation.
    pub async fn fetch(&self, generation: u64) -> Result<Vec<u8>, SyncError> {
        Ok(self.dav.download(&generation_name(generation)).await?)
    }

    /// Writes `bytes` as `generation` unless another device wrote it first
    /// (`Ok(false)`).
    pub async fn publish(&self, generation: u64, bytes: &[u8]) -> Result<bool, SyncError> {
        self.dav.ensure_folder().await?;
        let tmp = format!("{TMP_PREFIX}{}.json", hex(&crypto::random_bytes::<8>()));
        if !self.dav.put_verified(&tmp, bytes).await? {
            return Err(SyncError::Remote(crate::backup::BackupError::VerifyFailed(
                "the sync document did not read back identical".into(),
            )));
        }
        let moved = self.dav.move_if_absent(&tmp, &generation_name(generation), bytes).await;
        if !matches!(moved, Ok(true)) {
            let _ = self.dav.delete(&tmp).await;
        }
        Ok(moved?)
    }

    /// Keeps the newest `keep` generations; deletes older ones and temporary files left
    /// by uploads that stopped more than an hour ago. Returns the names deleted.
    pub async fn prune(&self, keep: usize) -> Result<Vec<String>, SyncError> {
        let listed = self.dav.list().await?;
        let now = crate::domain::time::now_unix();
        let mut gens: Vec<(u64, &RemoteBackup)> =
            listed.iter().filter_map(|b| parse_generation(&b.name).map(|g| (g, b))).collect();
        gens.sort_by_key(|g| std::cmp::Reverse(g.0));
        let stale_tmp = listed
            .iter()
            .filter(|b| b.name.starts_with(TMP_PREFIX) && b.modified_at_unix > 0 && now - b.modified_at_unix > 3600);
        let old = gens.iter().skip(keep.max(1)).map(|(_, b)| *b);
        let mut deleted = Vec::new();
        for b in old.chain(stale_tmp) {
            self.dav.delete(&b.name).await?;
            deleted.push(b.name.clone());
        }
        Ok(deleted)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips_and_tells_wrong_passphrase_from_damage() {
        let key = Key::new("pass", 1000);
        let doc = Doc { gc_ms: 42, ..Default::default() };
        let bytes = seal(&doc, 7, "dev", &key).unwrap();
        let (back, k2) = open(&bytes, 7, "pass", None).unwrap();
        assert_eq!(back, doc);
        assert!(open(&bytes, 7, "", Some(&k2)).is_ok(), "a known key is reused");
        assert!(matches!(open(&bytes, 7, "nope", None), Err(SyncError::WrongPassphrase)));
        assert!(matches!(open(&bytes, 8, "pass", None), Err(SyncError::Damaged(_))), "bound to its generation");
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["ciphertext"] = serde_json::json!(B64.encode(b"0123456789abcdef0123"));
        assert!(matches!(open(&serde_json::to_vec(&v).unwrap(), 7, "pass", None), Err(SyncError::Damaged(_))));
        assert!(matches!(open(br#"{"format":"x"}"#, 7, "pass", None), Err(SyncError::Foreign(_))));
        assert!(matches!(open(b"{\"form", 7, "pass", None), Err(SyncError::Damaged(_))));
        assert_eq!(parse_generation(&generation_name(12)), Some(12));
        assert_eq!(parse_generation("apihub-sync-tmp-ab.json"), None);
    }
}
