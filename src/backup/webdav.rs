//! WebDAV backups with `reqwest_dav`: test connection, upload (temporary name, verify,
//! MOVE into place, direct PUT when MOVE is refused), list one level (newest first),
//! download, delete, and retention after a successful upload.
//!
//! Server differences handled here: Apache mod_dav wants an absolute `Destination`
//! URL on MOVE (reqwest_dav sends a path, so MOVE is sent by hand); some servers refuse
//! `Depth: infinity` (we list with `Depth: 1`); servers encode listed names differently
//! (every href is percent-decoded before comparing).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use reqwest_dav::list_cmd::ListMultiStatus;
use reqwest_dav::{Auth, ClientBuilder, Depth};

use super::BackupError;
use crate::store::Store;

pub use crate::domain::settings::{DEFAULT_MAX_BACKUPS, DEFAULT_REMOTE_PATH};
/// Prefix of the files this app uploads (retention only touches these).
pub const OWN_PREFIX: &str = "apihub-";

/// A name for a new remote backup: `apihub-backup-YYYYMMDD-HHMMSS-mmm.json` (UTC).
pub fn remote_backup_name(now: chrono::DateTime<chrono::Utc>) -> String {
    super::local::backup_file_name("apihub-backup", now)
}

/// Characters kept literally in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// WebDAV settings: the `backup.webdav` section of the settings.
pub type WebDavConfig = crate::domain::settings::WebDavSettings;

impl WebDavConfig {
    /// Reads the `backup.webdav` section of the settings.
    pub fn load(store: &Store) -> Result<Self, BackupError> {
        Ok(store.load_settings()?.settings.backup.webdav)
    }

    /// Saves it (through `Store::save_settings`; the password sealed).
    pub fn save(&self, store: &mut Store) -> Result<(), BackupError> {
        store.update_settings(|s| -> Result<(), BackupError> {
            s.backup.webdav = self.clone();
            Ok(())
        })?;
        Ok(())
    }
}

/// A backup file on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBackup {
    /// Decoded file name.
    pub name: String,
    /// Decoded path as the server listed it.
    pub path: String,
    /// Last modification, unix seconds (0 when the server gave none).
    pub modified_at_unix: i64,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// Name on the server.
    pub name: String,
    /// False when the server refused MOVE and the file was written directly.
    pub moved_into_place: bool,
    /// Old backups deleted by retention.
    pub pruned: Vec<String>,
}

/// A connection to one WebDAV folder.
#[derive(Debug, Clone)]
pub struct WebDav {
    dav: reqwest_dav::Client,
    base: String,
    folder: String,
    max_backups: usize,
}

pub(crate) fn status_error(status: StatusCode, method: &str, path: &str) -> BackupError {
    match status.as_u16() {
        401 => BackupError::Unauthorized,
        403 => BackupError::Forbidden(path.to_string()),
        404 => BackupError::RemoteNotFound(path.to_string()),
        405 => BackupError::MethodNotAllowed { method: method.to_string(), path: path.to_string() },
        409 => BackupError::Conflict(path.to_string()),
        507 => BackupError::InsufficientStorage,
        s => BackupError::Http { method: method.to_string(), path: path.to_string(), status: s },
    }
}

/// Classifies a transport error: TLS/certificate or connection.
pub(crate) fn net_error(e: reqwest::Error) -> BackupError {
    let mut chain = Vec::new();
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = src {
        chain.push(s.to_string());
        src = s.source();
    }
    let detail = chain.join(": ");
    let lower = detail.to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "ssl", "corrupt message", "alert", "unknownissuer"]
        .iter()
        .any(|w| lower.contains(w))
    {
        BackupError::Tls(detail)
    } else if e.is_timeout() {
        BackupError::Connection(format!("timed out ({detail})"))
    } else {
        BackupError::Connection(detail)
    }
}

fn dav_error(e: reqwest_dav::Error) -> BackupError {
    match e {
        reqwest_dav::Error::Reqwest(e) => net_error(e),
        other => BackupError::Protocol(format!("{other:?}")),
    }
}

/// The last path segment of an href, percent-decoded.
fn decoded_name(href: &str) -> String {
    let last = href.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    percent_decode_str(last).decode_utf8_lossy().to_string()
}

impl WebDav {
    /// Prepares a client for `cfg` (no network yet).
    pub fn new(cfg: &WebDavConfig) -> Result<Self, BackupError> {
        // The same URL rules as everywhere (`domain::validate`): http(s), a host, no
        // user:password@ (the account goes in the username and password settings).
        let base = crate::domain::validate::webdav_url(&cfg.url)
            .map_err(|e| BackupError::InvalidConfig(e.to_string()))?
            .trim_end_matches('/')
            .to_string();
        let http = crate::tls::client_builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("api-hub-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(net_error)?;
        let dav = ClientBuilder::new()
            .set_agent(http)
            .set_host(base.clone())
            .set_auth(Auth::Basic(cfg.username.clone(), cfg.password.clone()))
            .build()
            .map_err(dav_error)?;
        let folder: Vec<String> = cfg
            .remote_path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        Ok(WebDav { dav, base, folder: folder.join("/"), max_backups: cfg.max_backups.max(1) })
    }

    /// Encoded path (relative to the base) of a file in the folder.
    fn file_path(&self, name: &str) -> String {
        let enc = utf8_percent_encode(name, SEGMENT).to_string();
        if self.folder.is_empty() { enc } else { format!("{}/{enc}", self.folder) }
    }

    fn absolute(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, BackupError> {
        let req = self.dav.start_request(method, path).await.map_err(dav_error)?;
        build(req).send().await.map_err(net_error)
    }

    async fn propfind(&self, path: &str, depth: i64) -> Result<reqwest::Response, BackupError> {
        let resp = self.dav.list_raw(path, Depth::Number(depth)).await.map_err(dav_error)?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(status_error(resp.status(), "PROPFIND", &format!("/{path}")))
        }
    }

    /// Checks what backups need: the server answers and accepts the credentials
    /// (PROPFIND on the root), the folder exists (created when missing), and a small
    /// probe file can be written, read back identical and deleted. A server that
    /// refuses writes (full, read-only, 507) fails here, not at the first upload.
    pub async fn test_connection(&self) -> Result<(), BackupError> {
        self.propfind("", 0).await?;
        self.ensure_folder().await?;
        let probe = self.file_path(&format!("apihub-probe-{}.tmp", hex(&super::crypto::random_bytes::<6>())));
        let body = format!("API Hub Desk write test {}", crate::domain::time::utc_now().to_rfc3339());
        self.put(&probe, body.as_bytes()).await?;
        let read = self.get(&probe).await;
        let removed = self.remove(&probe).await;
        match read {
            Ok(back) if back == body.as_bytes() => {}
            Ok(back) => {
                return Err(BackupError::VerifyFailed(format!(
                    "the test file read back {} bytes, {} were written",
                    back.len(),
                    body.len()
                )));
            }
            Err(e) => return Err(e),
        }
        removed
    }

    /// Creates the remote folder (and its parents) when missing.
    pub async fn ensure_folder(&self) -> Result<(), BackupError> {
        if self.folder.is_empty() {
            return Ok(());
        }
        match self.propfind(&self.folder, 0).await {
            Ok(_) => return Ok(()),
            Err(BackupError::RemoteNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let mut path = String::new();
        for seg in self.folder.split('/') {
            path = if path.is_empty() { seg.to_string() } else { format!("{path}/{seg}") };
            let resp = self
                .send(
                    Method::from_bytes(b"MKCOL").map_err(|e| BackupError::Protocol(e.to_string()))?,
                    &format!("{path}/"),
                    |r| r,
                )
                .await?;
            // 405: already exists.
            if !resp.status().is_success() && resp.status() != StatusCode::METHOD_NOT_ALLOWED {
                return Err(status_error(resp.status(), "MKCOL", &format!("/{path}")));
            }
        }
        Ok(())
    }

    async fn put(&self, path: &str, bytes: &[u8]) -> Result<(), BackupError> {
        let body = bytes.to_vec();
        let resp = self.send(Method::PUT, path, |r| r.header("content-type", "application/json").body(body)).await?;
        if resp.status().is_success() { Ok(()) } else { Err(status_error(resp.status(), "PUT", &format!("/{path}"))) }
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, BackupError> {
        let resp = self.send(Method::GET, path, |r| r).await?;
        if !resp.status().is_success() {
            return Err(status_error(resp.status(), "GET", &format!("/{path}")));
        }
        Ok(resp.bytes().await.map_err(net_error)?.to_vec())
    }

    async fn remove(&self, path: &str) -> Result<(), BackupError> {
        let resp = self.send(Method::DELETE, path, |r| r).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error(resp.status(), "DELETE", &format!("/{path}")))
        }
    }

    /// MOVE with an absolute `Destination` (what Apache mod_dav requires).
    async fn move_to(&self, from: &str, to: &str) -> Result<StatusCode, BackupError> {
        let dest = self.absolute(to);
        let method = Method::from_bytes(b"MOVE").map_err(|e| BackupError::Protocol(e.to_string()))?;
        let resp = self.send(method, from, |r| r.header("Destination", dest).header("Overwrite", "T")).await?;
        Ok(resp.status())
    }

    /// The same server and credentials, one folder further down (`sync` keeps its
    /// documents in `<remote folder>/sync`).
    pub(crate) fn subfolder(&self, name: &str) -> WebDav {
        let seg = utf8_percent_encode(name, SEGMENT).to_string();
        let folder = if self.folder.is_empty() { seg } else { format!("{}/{seg}", self.folder) };
        WebDav { folder, ..self.clone() }
    }

    /// Writes `bytes` as `name`, then reads it back: false when it did not read back
    /// identical (the file is then deleted again).
    pub(crate) async fn put_verified(&self, name: &str, bytes: &[u8]) -> Result<bool, BackupError> {
        super::local::check_name(name)?;
        let path = self.file_path(name);
        self.put(&path, bytes).await?;
        match self.get(&path).await {
            Ok(back) if back == bytes => Ok(true),
            Ok(_) => {
                let _ = self.remove(&path).await;
                Ok(false)
            }
            Err(e) => {
                let _ = self.remove(&path).await;
                Err(e)
            }
        }
    }

    /// Moves `from` to `to` only if `to` does not exist yet (MOVE with `Overwrite: F`;
    /// where the server refuses MOVE, `to` is written with `If-None-Match: *` and `from`
    /// deleted). `Ok(false)`: `to` exists already (HTTP 412), `from` is left.
    pub(crate) async fn move_if_absent(&self, from: &str, to: &str, bytes: &[u8]) -> Result<bool, BackupError> {
        super::local::check_name(from)?;
        super::local::check_name(to)?;
        let (src, dst) = (self.file_path(from), self.file_path(to));
        let method = Method::from_bytes(b"MOVE").map_err(|e| BackupError::Protocol(e.to_string()))?;
        let dest = self.absolute(&dst);
        let resp = self.send(method, &src, |r| r.header("Destination", dest).header("Overwrite", "F")).await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(true);
        }
        if status == StatusCode::PRECONDITION_FAILED {
            return Ok(false);
        }
        if status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_IMPLEMENTED {
            return Err(status_error(status, "MOVE", &format!("/{src}")));
        }
        log::info!("WebDAV server refused MOVE (HTTP {}); writing {to} with If-None-Match", status.as_u16());
        let body = bytes.to_vec();
        let resp = self
            .send(Method::PUT, &dst, |r| {
                r.header("content-type", "application/json").header("If-None-Match", "*").body(body)
            })
            .await?;
        let _ = self.remove(&src).await;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::PRECONDITION_FAILED => Ok(false),
            s => Err(status_error(s, "PUT", &format!("/{dst}"))),
        }
    }

    /// Uploads `bytes` as `name`: writes a temporary file, reads it back to verify, then
    /// moves it into place (or writes `name` directly when the server refuses MOVE).
    /// Applies retention (keep `max_backups`) only after success.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> Result<UploadReport, BackupError> {
        super::local::check_name(name)?;
        self.ensure_folder().await?;
        let tmp_name = format!("{name}.tmp-{}", hex(&super::crypto::random_bytes::<6>()));
        let tmp = self.file_path(&tmp_name);
        let target = self.file_path(name);
        self.put(&tmp, bytes).await?;
        let verify = self.get(&tmp).await;
        match verify {
            Ok(back) if back == bytes => {}
            Ok(back) => {
                let _ = self.remove(&tmp).await;
                return Err(BackupError::VerifyFailed(format!("{} bytes read back, {} sent", back.len(), bytes.len())));
            }
            Err(e) => {
                let _ = self.remove(&tmp).await;
                return Err(e);
            }
        }
        let status = self.move_to(&tmp, &target).await?;
        let moved_into_place = status.is_success();
        if !moved_into_place {
            log::info!("WebDAV server refused MOVE (HTTP {}); writing {name} directly", status.as_u16());
            let direct = self.put(&target, bytes).await;
            let _ = self.remove(&tmp).await;
            direct?;
        }
        let pruned = self.prune(self.max_backups).await?;
        Ok(UploadReport { name: name.to_string(), moved_into_place, pruned })
    }

    /// Backups in the folder (one level, `Depth: 1`), newest first. A missing folder is
    /// an empty list.
    pub async fn list(&self) -> Result<Vec<RemoteBackup>, BackupError> {
        let resp = match self.propfind(&format!("{}/", self.folder), 1).await {
            Ok(r) => r,
            Err(BackupError::RemoteNotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let text = resp.text().await.map_err(net_error)?;
        let parsed: ListMultiStatus = reqwest_dav::re_exports::serde_xml_rs::from_str(&text)
            .map_err(|e| BackupError::Protocol(format!("listing is not a WebDAV multistatus: {e}")))?;
        let mut out = Vec::new();
        for r in parsed.responses {
            let Some(ps) =
                r.prop_stat.iter().find(|p| p.status.split_whitespace().nth(1).is_some_and(|c| c.starts_with('2')))
            else {
                continue;
            };
            if ps.prop.resource_type.collection.is_some() {
                continue;
            }
            let name = decoded_name(&r.href);
            if super::local::check_name(&name).is_err() {
                continue;
            }
            out.push(RemoteBackup {
                path: percent_decode_str(&r.href).decode_utf8_lossy().to_string(),
                name,
                modified_at_unix: ps.prop.last_modified.map(|t| t.timestamp()).unwrap_or_default(),
                size_bytes: ps.prop.content_length.unwrap_or_default().max(0) as u64,
            });
        }
        out.sort_by(|a, b| b.modified_at_unix.cmp(&a.modified_at_unix).then_with(|| b.name.cmp(&a.name)));
        Ok(out)
    }

    /// Downloads a backup by (decoded) name.
    pub async fn download(&self, name: &str) -> Result<Vec<u8>, BackupError> {
        super::local::check_name(name)?;
        self.get(&self.file_path(name)).await.map_err(|e| match e {
            BackupError::RemoteNotFound(_) => BackupError::NotFound(name.to_string()),
            e => e,
        })
    }

    /// Deletes a backup by (decoded) name.
    pub async fn delete(&self, name: &str) -> Result<(), BackupError> {
        super::local::check_name(name)?;
        self.remove(&self.file_path(name)).await.map_err(|e| match e {
            BackupError::RemoteNotFound(_) => BackupError::NotFound(name.to_string()),
            e => e,
        })
    }

    /// Keeps the newest `keep` of this app's backups (names starting `apihub-`); other
    /// files in the folder are never deleted. Returns the names deleted.
    pub async fn prune(&self, keep: usize) -> Result<Vec<String>, BackupError> {
        let mut deleted = Vec::new();
        let ours = self.list().await?.into_iter().filter(|b| b.name.starts_with(OWN_PREFIX));
        for old in ours.skip(keep.max(1)) {
            self.delete(&old.name).await?;
            deleted.push(old.name);
        }
        Ok(deleted)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// "Upload backup": sends an already-built bundle under a fresh
/// `apihub-backup-<UTC time>.json` name, then applies retention.
pub async fn upload_backup(cfg: &WebDavConfig, bytes: &[u8]) -> Result<UploadReport, BackupError> {
    WebDav::new(cfg)?.upload(&remote_backup_name(crate::domain::time::utc_now()), bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_are_percent_decoded() {
        assert_eq!(decoded_name("/dav/api-hub-desk/%E5%A4%87%E4%BB%BD%20a.json"), "备份 a.json");
        assert_eq!(decoded_name("http://h/dav/x/"), "x");
        assert_eq!(decoded_name("/dav/备份 a.json"), "备份 a.json", "servers that send raw UTF-8");
    }

    #[test]
    fn statuses_map_to_clear_errors() {
        let e = |s: u16| status_error(StatusCode::from_u16(s).unwrap_or(StatusCode::IM_A_TEAPOT), "PUT", "/p");
        assert!(matches!(e(401), BackupError::Unauthorized));
        assert!(matches!(e(403), BackupError::Forbidden(_)));
        assert!(matches!(e(404), BackupError::RemoteNotFound(_)));
        assert!(matches!(e(405), BackupError::MethodNotAllowed { .. }));
        assert!(matches!(e(409), BackupError::Conflict(_)));
        assert!(matches!(e(507), BackupError::InsufficientStorage));
        assert!(e(500).to_string().contains("HTTP 500"));
    }

    #[test]
    fn file_paths_encode_each_segment_once() {
        let cfg = WebDavConfig {
            url: "https://d.example/dav/".into(),
            remote_path: "/备份/desk".into(),
            ..Default::default()
        };
        let dav = WebDav::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dav.file_path("a b%.json"), "%E5%A4%87%E4%BB%BD/desk/a%20b%25.json");
        assert_eq!(dav.absolute("x/y.json"), "https://d.example/dav/x/y.json");
    }
}
