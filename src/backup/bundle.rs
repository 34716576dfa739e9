//! The backup bundle: one versioned JSON file.
//!
//! ```json
//! {"format":"api-hub-desk-backup","version":1,"created_at":"2026-…Z","app_version":"0.1.0",
//!  "secrets":"passphrase",
//!  "sections":{"sites":[…],"accounts":[…],"settings":{…},"secrets":{…}},
//!  "checksums":{"sites":"<sha256 hex>","accounts":"…","settings":"…","secrets":"…"}}
//! ```
//!
//! Each checksum is the SHA-256 of the section serialised compactly by serde_json.
//! Numbers that are not integers are written as strings, so a section re-serialises to
//! the same bytes after parsing. Secrets (account credentials, secret settings) are a
//! separate section: encrypted with a passphrase (PBKDF2-HMAC-SHA256, 600 000 iterations
//! → AES-256-GCM), sealed with this installation's key (automatic and safety backups),
//! or absent (the user chose "without secrets"; credentials then need re-entry).
//! Notification channels travel with the secrets only (their URLs and tokens are keys).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BackupError;
use super::crypto;
use crate::domain::Credentials;
use crate::store::{AccountRow, SiteRow, Store, StoreSnapshot};

/// The `format` value of every bundle.
pub const FORMAT: &str = "api-hub-desk-backup";
/// The bundle version this build writes and the highest it reads.
pub const VERSION: u64 = 1;
/// Settings that describe backups and checks themselves; never exported, never restored.
pub const VOLATILE_SETTING_PREFIXES: &[&str] =
    &["backup.local.last_", "backup.webdav.last_", "update.last_", "alerts.notified", "store.key_check"];

const AAD: &[u8] = b"api-hub-desk-backup:1";
const SECTIONS: [&str; 3] = ["sites", "accounts", "settings"];

/// How secrets go into a new bundle.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretsMode {
    /// Encrypted with a user passphrase; restorable anywhere with it.
    Passphrase(String),
    /// Sealed with this installation's key (automatic and safety backups).
    LocalKey,
    /// Left out by explicit choice; credentials need re-entry after restore.
    Without,
}

impl std::fmt::Debug for SecretsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretsMode::Passphrase(_) => "Passphrase(<hidden>)",
            SecretsMode::LocalKey => "LocalKey",
            SecretsMode::Without => "Without",
        })
    }
}

/// A site in the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleSite {
    /// Normalised base URL.
    pub url: String,
    /// Display name.
    pub name: String,
    /// Site kind identifier.
    pub kind: String,
    /// The site's own User-Agent (its proxy override is with the secrets: the URL may
    /// hold a password).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
}

/// An account in the bundle (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleAccount {
    /// URL of its site.
    pub site_url: String,
    /// Identity on the site.
    pub identity: String,
    /// User id.
    #[serde(default)]
    pub user_id: String,
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Auth method identifier.
    pub auth: String,
    /// User-chosen group.
    #[serde(default)]
    pub group: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Money paid per 1 USD, as a decimal string (exact round trip).
    #[serde(default)]
    pub paid_per_usd: Option<String>,
    /// Skipped by refresh-all.
    #[serde(default)]
    pub disabled: bool,
    /// Low-balance alert threshold in the site's currency, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_balance_threshold: Option<String>,
    /// Auto-refresh interval override in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval_mins: Option<u32>,
    /// The user's own name for the account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Position in the user's order.
    #[serde(default)]
    pub sort_order: i64,
    /// Creation time, unix seconds.
    #[serde(default)]
    pub created_at_unix: i64,
    /// Last change, unix seconds.
    #[serde(default)]
    pub updated_at_unix: i64,
}

/// The encrypted (or sealed) secrets section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case")]
pub enum SecretsEnvelope {
    /// PBKDF2-HMAC-SHA256 → AES-256-GCM with a user passphrase.
    Passphrase {
        /// Always `pbkdf2-sha256`.
        kdf: String,
        /// PBKDF2 iterations.
        iterations: u32,
        /// Base64 salt (16 bytes).
        salt: String,
        /// Base64 nonce (12 bytes).
        nonce: String,
        /// Base64 ciphertext with the GCM tag appended.
        ciphertext: String,
    },
    /// Sealed with the installation's own key.
    LocalKey {
        /// `v1:` + base64(nonce ‖ ciphertext).
        sealed: String,
    },
}

/// The decrypted secrets.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretsPlain {
    /// Credentials per account.
    pub accounts: Vec<AccountSecret>,
    /// Secret settings (e.g. the WebDAV password).
    pub settings: BTreeMap<String, String>,
    /// Sites' own proxy overrides (site URL → `"none"` or a proxy URL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub site_proxies: BTreeMap<String, String>,
    /// Notification channels (bot tokens, webhook URLs with keys, SMTP passwords).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify_channels: Vec<crate::domain::notify::ChannelSpec>,
}

impl std::fmt::Debug for SecretsPlain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsPlain").field("accounts", &self.accounts.len()).finish_non_exhaustive()
    }
}

/// One account's credentials, keyed like the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSecret {
    /// URL of its site.
    pub site_url: String,
    /// Identity on the site.
    pub identity: String,
    /// The credentials.
    pub credentials: Credentials,
}

/// What the file says about itself, for lists and previews.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleInfo {
    /// Creation time as written (RFC 3339).
    pub created_at: String,
    /// App version that wrote it.
    pub app_version: String,
    /// `passphrase`, `local-key` or `none`.
    pub secrets: String,
    /// Number of sites.
    pub site_count: usize,
    /// Number of accounts.
    pub account_count: usize,
}

/// A bundle whose format, version and checksums were verified.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// Header facts.
    pub info: BundleInfo,
    /// Sites.
    pub sites: Vec<BundleSite>,
    /// Accounts.
    pub accounts: Vec<BundleAccount>,
    /// Plain settings.
    pub settings: BTreeMap<String, String>,
    /// Secrets, still locked.
    pub secrets: Option<SecretsEnvelope>,
}

/// True for settings that are never exported or restored.
pub fn is_volatile_setting(key: &str) -> bool {
    VOLATILE_SETTING_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, BackupError> {
    serde_json::to_value(v).map_err(|e| BackupError::Damaged(e.to_string()))
}

fn section_hash(v: &Value) -> Result<String, BackupError> {
    let bytes = serde_json::to_vec(v).map_err(|e| BackupError::Damaged(e.to_string()))?;
    Ok(crypto::sha256_hex(&bytes))
}

/// Builds the plain sections of a snapshot.
pub(crate) fn sections_of(snap: &StoreSnapshot) -> (Vec<BundleSite>, Vec<BundleAccount>, BTreeMap<String, String>) {
    let sites = snap.sites.iter().map(|s| BundleSite {
        url: s.url.clone(),
        name: s.name.clone(),
        kind: s.kind.clone(),
        user_agent: s.user_agent.clone(),
    });
    let accounts = snap.accounts.iter().map(|a| BundleAccount {
        site_url: a.site_url.clone(),
        identity: a.identity.clone(),
        user_id: a.user_id.clone(),
        username: a.username.clone(),
        auth: a.auth.clone(),
        group: a.group_name.clone(),
        notes: a.notes.clone(),
        paid_per_usd: a.paid_per_usd.map(|p| p.to_string()),
        disabled: a.disabled,
        low_balance_threshold: a.low_balance_threshold.map(|p| p.to_string()),
        refresh_interval_mins: a.refresh_interval_mins,
        name: a.name.clone(),
        sort_order: a.sort_order,
        created_at_unix: a.created_at_unix,
        updated_at_unix: a.updated_at_unix,
    });
    let settings =
        snap.settings.iter().filter(|(k, _)| !is_volatile_setting(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    (sites.collect(), accounts.collect(), settings)
}

/// The secrets of a snapshot, in bundle form.
pub(crate) fn secrets_of(snap: &StoreSnapshot) -> SecretsPlain {
    SecretsPlain {
        accounts: snap
            .accounts
            .iter()
            .filter_map(|a| {
                a.credentials.as_ref().map(|c| AccountSecret {
                    site_url: a.site_url.clone(),
                    identity: a.identity.clone(),
                    credentials: c.clone(),
                })
            })
            .collect(),
        settings: snap.secret_settings.iter().filter(|(k, _)| !is_volatile_setting(k)).cloned().collect(),
        site_proxies: snap
            .sites
            .iter()
            .filter_map(|s| s.proxy.as_ref().filter(|p| !p.is_empty()).map(|p| (s.url.clone(), p.clone())))
            .collect(),
        notify_channels: snap.notify_channels.clone(),
    }
}

/// A hash of everything a backup of this snapshot would hold (secrets included), used to
/// skip automatic backups when nothing changed. Independent of time, nonce and salt.
pub fn content_hash(snap: &StoreSnapshot) -> String {
    let (sites, accounts, settings) = sections_of(snap);
    let secrets = secrets_of(snap);
    let doc = serde_json::json!({"sites": sites, "accounts": accounts, "settings": settings, "secrets": secrets});
    crypto::sha256_hex(doc.to_string().as_bytes())
}

/// Writes a bundle of the whole store. `SecretsMode::Passphrase` with an empty
/// passphrase is refused: the caller must choose `Without` explicitly.
pub fn create_bundle(store: &Store, mode: &SecretsMode) -> Result<Vec<u8>, BackupError> {
    let snap = store.snapshot()?;
    bundle_from_snapshot(store, &snap, mode)
}

/// Like [`create_bundle`] from an already-read snapshot.
pub(crate) fn bundle_from_snapshot(
    store: &Store,
    snap: &StoreSnapshot,
    mode: &SecretsMode,
) -> Result<Vec<u8>, BackupError> {
    let (sites, accounts, settings) = sections_of(snap);
    let mut sections = serde_json::Map::new();
    sections.insert("sites".into(), to_value(&sites)?);
    sections.insert("accounts".into(), to_value(&accounts)?);
    sections.insert("settings".into(), to_value(&settings)?);
    let plain = || serde_json::to_vec(&secrets_of(snap)).map_err(|e| BackupError::Damaged(e.to_string()));
    let (scheme, envelope) = match mode {
        SecretsMode::Passphrase(p) if p.is_empty() => return Err(BackupError::EmptyPassphrase),
        SecretsMode::Passphrase(p) => {
            let salt = crypto::random_bytes::<16>();
            let nonce = crypto::random_bytes::<12>();
            let key = crypto::derive_key(p, &salt, crypto::WRITE_ITERATIONS);
            let ct = crypto::seal(&key, &nonce, &plain()?, AAD)
                .ok_or_else(|| BackupError::Damaged("encryption failed".into()))?;
            let env = SecretsEnvelope::Passphrase {
                kdf: "pbkdf2-sha256".into(),
                iterations: crypto::WRITE_ITERATIONS,
                salt: B64.encode(salt),
                nonce: B64.encode(nonce),
                ciphertext: B64.encode(ct),
            };
            ("passphrase", Some(env))
        }
        SecretsMode::LocalKey => {
            ("local-key", Some(SecretsEnvelope::LocalKey { sealed: store.seal_local(&plain()?)? }))
        }
        SecretsMode::Without => ("none", None),
    };
    if let Some(env) = &envelope {
        sections.insert("secrets".into(), to_value(env)?);
    }
    let mut checksums = serde_json::Map::new();
    for (name, value) in &sections {
        checksums.insert(name.clone(), Value::String(section_hash(value)?));
    }
    let now = crate::domain::time::utc_now();
    let doc = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "created_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "app_version": crate::VERSION,
        "secrets": scheme,
        "sections": Value::Object(sections),
        "checksums": Value::Object(checksums),
    });
    serde_json::to_vec_pretty(&doc).map_err(|e| BackupError::Damaged(e.to_string()))
}

/// Reads a bundle and checks format, version and every checksum. Touches nothing.
pub fn read_bundle(bytes: &[u8]) -> Result<VerifiedBundle, BackupError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            BackupError::Damaged("the file ends too early (truncated)".into())
        } else {
            BackupError::Damaged(format!("not valid JSON ({e})"))
        }
    })?;
    let format = doc.get("format").and_then(Value::as_str).unwrap_or_default();
    if format != FORMAT {
        return Err(BackupError::NotABackup(if format.is_empty() {
            "the file has no \"format\" field".into()
        } else {
            format!("format is \"{format}\"")
        }));
    }
    let version =
        doc.get("version").and_then(Value::as_u64).ok_or_else(|| BackupError::Damaged("no version".into()))?;
    if version > VERSION || version == 0 {
        return Err(BackupError::UnsupportedVersion { found: version, supported: VERSION });
    }
    let sections =
        doc.get("sections").and_then(Value::as_object).ok_or_else(|| BackupError::Damaged("no sections".into()))?;
    let checksums =
        doc.get("checksums").and_then(Value::as_object).ok_or_else(|| BackupError::Damaged("no checksums".into()))?;
    for name in SECTIONS {
        if !sections.contains_key(name) {
            return Err(BackupError::Damaged(format!("the \"{name}\" section is missing")));
        }
    }
    for (name, value) in sections {
        let expected =
            checksums.get(name).and_then(Value::as_str).ok_or_else(|| BackupError::ChecksumMismatch(name.clone()))?;
        if !section_hash(value)?.eq_ignore_ascii_case(expected) {
            return Err(BackupError::ChecksumMismatch(name.clone()));
        }
    }
    let get = |name: &str| sections.get(name).cloned().unwrap_or(Value::Null);
    let parse_err = |name: &str, e: serde_json::Error| BackupError::Damaged(format!("section \"{name}\": {e}"));
    let sites: Vec<BundleSite> = serde_json::from_value(get("sites")).map_err(|e| parse_err("sites", e))?;
    let accounts: Vec<BundleAccount> = serde_json::from_value(get("accounts")).map_err(|e| parse_err("accounts", e))?;
    let settings: BTreeMap<String, String> =
        serde_json::from_value(get("settings")).map_err(|e| parse_err("settings", e))?;
    let secrets: Option<SecretsEnvelope> = match sections.get("secrets") {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| parse_err("secrets", e))?),
    };
    let info = BundleInfo {
        created_at: doc.get("created_at").and_then(Value::as_str).unwrap_or_default().to_string(),
        app_version: doc.get("app_version").and_then(Value::as_str).unwrap_or_default().to_string(),
        secrets: match &secrets {
            None => "none",
            Some(SecretsEnvelope::Passphrase { .. }) => "passphrase",
            Some(SecretsEnvelope::LocalKey { .. }) => "local-key",
        }
        .to_string(),
        site_count: sites.len(),
        account_count: accounts.len(),
    };
    Ok(VerifiedBundle { info, sites, accounts, settings, secrets })
}

impl VerifiedBundle {
    /// Opens the secrets. `Ok(None)` when the bundle has none. A passphrase bundle
    /// needs `passphrase`; a wrong one is [`BackupError::WrongPassphrase`].
    pub fn unlock(&self, store: &Store, passphrase: Option<&str>) -> Result<Option<SecretsPlain>, BackupError> {
        self.unlock_with(Some(store), passphrase)
    }

    /// Opens the secrets of a passphrase bundle without a store (after a lost key);
    /// a bundle sealed with an installation's key is [`BackupError::ForeignKey`].
    pub fn unlock_passphrase(&self, passphrase: Option<&str>) -> Result<Option<SecretsPlain>, BackupError> {
        self.unlock_with(None, passphrase)
    }

    fn unlock_with(
        &self,
        store: Option<&Store>,
        passphrase: Option<&str>,
    ) -> Result<Option<SecretsPlain>, BackupError> {
        let plain = match &self.secrets {
            None => return Ok(None),
            Some(SecretsEnvelope::Passphrase { kdf, iterations, salt, nonce, ciphertext }) => {
                let pass = passphrase.filter(|p| !p.is_empty()).ok_or(BackupError::PassphraseRequired)?;
                if kdf != "pbkdf2-sha256" {
                    return Err(BackupError::Damaged(format!("unknown key derivation \"{kdf}\"")));
                }
                if *iterations == 0 || *iterations > crypto::MAX_ITERATIONS {
                    return Err(BackupError::Damaged(format!("implausible iteration count {iterations}")));
                }
                let b64 = |s: &str| B64.decode(s).map_err(|_| BackupError::Damaged("secrets are not base64".into()));
                let key = crypto::derive_key(pass, &b64(salt)?, *iterations);
                crypto::open(&key, &b64(nonce)?, &b64(ciphertext)?, AAD).ok_or(BackupError::WrongPassphrase)?
            }
            Some(SecretsEnvelope::LocalKey { sealed }) => {
                store.ok_or(BackupError::ForeignKey)?.open_local(sealed).map_err(|_| BackupError::ForeignKey)?
            }
        };
        let secrets: SecretsPlain =
            serde_json::from_slice(&plain).map_err(|e| BackupError::Damaged(format!("secrets: {e}")))?;
        Ok(Some(secrets))
    }

    /// The bundle as store rows (credentials filled from `secrets` when given).
    pub(crate) fn rows(&self, secrets: Option<&SecretsPlain>) -> (Vec<SiteRow>, Vec<AccountRow>) {
        // With the secrets, a site absent from `site_proxies` inherits the global proxy;
        // without them its stored override is kept.
        let sites = self.sites.iter().map(|s| SiteRow {
            url: s.url.clone(),
            name: s.name.clone(),
            kind: s.kind.clone(),
            proxy: secrets.map(|x| x.site_proxies.get(&s.url).cloned().unwrap_or_default()),
            user_agent: s.user_agent.clone(),
        });
        let accounts = self.accounts.iter().map(|a| AccountRow {
            site_url: a.site_url.clone(),
            identity: a.identity.clone(),
            user_id: a.user_id.clone(),
            username: a.username.clone(),
            auth: a.auth.clone(),
            group_name: a.group.clone(),
            paid_per_usd: a.paid_per_usd.as_deref().and_then(|p| p.parse().ok()),
            disabled: a.disabled,
            notes: a.notes.clone(),
            low_balance_threshold: a.low_balance_threshold.as_deref().and_then(|p| p.parse().ok()),
            refresh_interval_mins: a.refresh_interval_mins,
            name: a.name.clone(),
            sort_order: a.sort_order,
            created_at_unix: a.created_at_unix,
            updated_at_unix: a.updated_at_unix,
            credentials: secrets.and_then(|s| {
                s.accounts
                    .iter()
                    .find(|x| x.site_url == a.site_url && x.identity == a.identity)
                    .map(|x| x.credentials.clone())
            }),
        });
        (sites.collect(), accounts.collect())
    }
}
