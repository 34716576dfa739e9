//! Passphrase encryption shared by the bundle and the importers:
//! PBKDF2-HMAC-SHA256 → AES-256-GCM (WebCrypto layout: tag appended to the ciphertext).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;

/// Iterations used when writing (OWASP 2023 floor for PBKDF2-SHA256).
pub(crate) const WRITE_ITERATIONS: u32 = 600_000;
/// Highest iteration count accepted when reading (guards against a hostile file).
pub(crate) const MAX_ITERATIONS: u32 = 10_000_000;

/// Derives a 32-byte key.
pub(crate) fn derive_key(passphrase: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(passphrase.as_bytes(), salt, iterations, &mut key);
    key
}

/// Random bytes from the OS generator.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// Encrypts with AES-256-GCM; `aad` is authenticated but not encrypted.
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 12], plain: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher.encrypt(Nonce::from_slice(nonce), Payload { msg: plain, aad }).ok()
}

/// Decrypts; `None` when the key (passphrase) is wrong or the data was changed.
pub(crate) fn open(key: &[u8; 32], nonce: &[u8], ct: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if nonce.len() != 12 {
        return None;
    }
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad }).ok()
}

/// Lower-case hex of SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}
