//! Backups: the versioned bundle format (with passphrase-encrypted secrets), local
//! backups in the data dir, WebDAV, and importers for other tools' files.
//!
//! Everything here is plain blocking or async code; the app calls it from background
//! jobs, the CLI directly. Errors reach the edge as [`BackupError`].

pub mod bundle;
pub(crate) mod crypto;
pub mod import;
pub mod local;
pub mod recover;
pub mod restore;
pub mod webdav;

use crate::store::StoreError;

pub use bundle::{BundleInfo, SecretsMode, create_bundle, read_bundle};
pub use restore::{RestoreMode, RestorePreview, RestoreReport, preview_restore, restore_bundle};

/// Errors at the backup module's edge. Each message is one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file is not a backup of this app (or not JSON at all).
    #[error("not an API Hub Desk backup: {0}")]
    NotABackup(String),
    /// The file is cut short or not valid JSON.
    #[error("the backup file is truncated or damaged: {0}")]
    Damaged(String),
    /// A newer app wrote this file.
    #[error("this backup has format version {found}; this build reads up to {supported}: update the app")]
    UnsupportedVersion {
        /// Version in the file.
        found: u64,
        /// Highest version this build reads.
        supported: u64,
    },
    /// A section's content does not match its recorded checksum.
    #[error("the backup's \"{0}\" section does not match its checksum: the file was changed or damaged")]
    ChecksumMismatch(String),
    /// The passphrase does not open the secrets.
    #[error("wrong passphrase: the backup's secrets could not be decrypted")]
    WrongPassphrase,
    /// The bundle's secrets are encrypted and no passphrase was given.
    #[error("this backup's secrets are protected by a passphrase; enter it to restore")]
    PassphraseRequired,
    /// The bundle's secrets were sealed with another installation's key.
    #[error("this backup's secrets were sealed on another installation and cannot be opened here")]
    ForeignKey,
    /// The caller asked for a passphrase-protected bundle with an empty passphrase.
    #[error("the passphrase is empty: choose one, or export without secrets")]
    EmptyPassphrase,
    /// A file name that could escape its folder or is not a backup.
    #[error("invalid backup name: {0}")]
    InvalidName(String),
    /// A backup that does not exist (locally or remotely).
    #[error("backup not found: {0}")]
    NotFound(String),
    /// Settings are incomplete or wrong (e.g. WebDAV URL).
    #[error("invalid settings: {0}")]
    InvalidConfig(String),
    /// The WebDAV server refused the credentials (401).
    #[error("WebDAV: the server refused the username or password (HTTP 401)")]
    Unauthorized,
    /// The WebDAV server denies access to the path (403).
    #[error("WebDAV: access to {0} is forbidden (HTTP 403): check the account's permissions and the remote path")]
    Forbidden(String),
    /// A remote path does not exist (404).
    #[error("WebDAV: {0} was not found on the server (HTTP 404): check the server URL and remote folder")]
    RemoteNotFound(String),
    /// The server does not allow the method (405).
    #[error("WebDAV: the server does not allow {method} on {path} (HTTP 405)")]
    MethodNotAllowed {
        /// HTTP method.
        method: String,
        /// Remote path.
        path: String,
    },
    /// A parent folder is missing or the request conflicts (409).
    #[error("WebDAV: conflict on {0} (HTTP 409): a parent folder is missing or the path is in use")]
    Conflict(String),
    /// The server is out of space (507).
    #[error("WebDAV: the server is out of storage space (HTTP 507)")]
    InsufficientStorage,
    /// Any other unexpected HTTP status.
    #[error("WebDAV: {method} {path} failed with HTTP {status}")]
    Http {
        /// HTTP method.
        method: String,
        /// Remote path.
        path: String,
        /// Status code.
        status: u16,
    },
    /// TLS / certificate failure.
    #[error("WebDAV: secure connection failed (certificate or TLS): {0}")]
    Tls(String),
    /// Could not connect, connection cut, timeout.
    #[error("WebDAV: connection failed: {0}")]
    Connection(String),
    /// The server answered something we cannot read.
    #[error("WebDAV: unexpected answer: {0}")]
    Protocol(String),
    /// An uploaded file did not read back identical.
    #[error("WebDAV: the uploaded file did not verify: {0}")]
    VerifyFailed(String),
    /// A salvage found no account it could read; the damaged file was left as it was.
    #[error(
        "nothing could be salvaged from the damaged data file ({0}); it was left as it was: restore a backup or start empty"
    )]
    NothingSalvaged(String),
    /// An import file we cannot read.
    #[error("cannot import this file: {0}")]
    Import(String),
    /// Store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// File error.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}
