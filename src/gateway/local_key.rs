//! The local key clients send to the gateway: `sk-local-` + 43 base64url characters
//! (32 random bytes), kept sealed in the store, compared in constant time.

use base64::Engine as _;
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::store::{Store, StoreError};

/// The row it is sealed under (bookkeeping, not a setting).
pub const KEY: &str = crate::domain::settings::bookkeeping::GATEWAY_LOCAL_KEY;
/// Every local key starts with this.
pub const PREFIX: &str = "sk-local-";

/// The gateway's key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKey(String);

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey(<hidden>)")
    }
}

impl LocalKey {
    /// A fresh random key.
    pub fn generate() -> LocalKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        LocalKey(format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The key text (to show or copy on the user's request only).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this key, in time independent of where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented))
    }

    /// The key masked for display: `sk-local-Ab…xyz`.
    pub fn masked(&self) -> String {
        let tail: String = self.0.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        let head: String = self.0.chars().take(PREFIX.len() + 2).collect();
        format!("{head}…{tail}")
    }
}

/// The saved key, made and saved on first use.
pub fn load_or_create(store: &mut Store) -> Result<LocalKey, StoreError> {
    if let Some(k) = store.secret_setting(KEY)?.filter(|k| k.starts_with(PREFIX) && k.len() > PREFIX.len() + 16) {
        return Ok(LocalKey(k));
    }
    rotate(store)
}

/// Replaces the key with a fresh one (clients holding the old one get 401 from then on).
pub fn rotate(store: &mut Store) -> Result<LocalKey, StoreError> {
    let key = LocalKey::generate();
    store.set_secret_setting(KEY, key.expose())?;
    Ok(key)
}

/// The key a request presents: `Authorization: Bearer …` (any case of "bearer") or `x-api-key`.
pub fn presented(headers: &axum::http::HeaderMap) -> Option<&[u8]> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let b = v.as_bytes();
        if b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ") {
            return Some(b[7..].trim_ascii());
        }
    }
    headers.get("x-api-key").map(|v| v.as_bytes().trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_compared_exactly() {
        let a = LocalKey::generate();
        let b = LocalKey::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(PREFIX));
        assert_eq!(a.expose().len(), PREFIX.len() + 43);
        assert!(a.matches(a.expose().as_bytes()));
        assert!(!a.matches(b.expose().as_bytes()));
        assert!(!a.matches(&a.expose().as_bytes()[..20]), "a prefix is not the key");
        assert!(!a.matches(b""));
        assert!(!format!("{a:?}").contains(&a.expose()[10..]));
        assert!(a.masked().starts_with("sk-local-") && a.masked().contains('…'));
    }

    #[test]
    fn presented_reads_bearer_or_x_api_key() {
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("x-api-key", "sk-local-x ".parse().unwrap());
        assert_eq!(presented(&h), Some(&b"sk-local-x"[..]));
        h.insert("authorization", "bearer  sk-local-y".parse().unwrap());
        assert_eq!(presented(&h), Some(&b"sk-local-y"[..]));
    }

    #[test]
    fn saved_sealed_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap().store;
        let k1 = load_or_create(&mut store).unwrap();
        assert_eq!(load_or_create(&mut store).unwrap(), k1, "kept");
        let raw = store.setting(KEY).unwrap().unwrap();
        assert!(!raw.contains(k1.expose()), "stored sealed");
        let k2 = rotate(&mut store).unwrap();
        assert_ne!(k1, k2);
        assert_eq!(load_or_create(&mut store).unwrap(), k2);
    }
}
