//! Release check: reads the GitHub releases *list* (so pre-releases are visible),
//! skips drafts, parses tags leniently with semver, and says whether a newer version
//! exists on the user's channel. Nothing is ever downloaded or installed here.

use semver::Version;
use serde::Deserialize;

use crate::store::{Store, StoreError};

/// Default API base (tests and the CLI point elsewhere).
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// This project's GitHub repository, `owner/name`. The release workflow builds with
/// `APIHUB_REPO=${{ github.repository }}`, so a binary checks the repository it was
/// released from (a fork checks the fork); local builds use the default.
pub const REPO: &str = match option_env!("APIHUB_REPO") {
    Some(r) => r,
    None => "api-hub-desk/api-hub-desk",
};
/// Automatic checks on start run at most once per this many seconds.
pub const AUTO_CHECK_INTERVAL_SECS: i64 = 24 * 3600;

/// Errors of the release check.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// GitHub's unauthenticated rate limit was hit.
    #[error("GitHub rate limit reached; try again later{}", reset_hint(.reset_at_unix))]
    RateLimited {
        /// When the limit resets (unix seconds), if GitHub said.
        reset_at_unix: Option<i64>,
    },
    /// No answer (DNS, connect, TLS, timeout).
    #[error("cannot reach the release server: {0}")]
    Network(String),
    /// An unexpected HTTP status.
    #[error("the release server answered HTTP {0}")]
    Http(u16),
    /// The answer is not the releases list we expect.
    #[error("unexpected answer from the release server: {0}")]
    Malformed(String),
    /// The running version is not semver (a build problem).
    #[error("the running version \"{0}\" is not a valid version")]
    BadCurrentVersion(String),
    /// Reading or writing settings failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn reset_hint(reset: &Option<i64>) -> String {
    reset
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| format!(" (after {} UTC)", t.format("%H:%M")))
        .unwrap_or_default()
}

/// Which releases the user wants offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Stable releases only.
    Stable,
    /// Stable and pre-releases.
    PreRelease,
}

/// A downloadable file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Asset {
    /// File name.
    pub name: String,
    /// Download URL.
    #[serde(rename = "browser_download_url", default)]
    pub url: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
}

/// A release as the API lists it.
#[derive(Debug, Clone, Deserialize)]
struct GhRelease {
    #[serde(default)]
    tag_name: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    assets: Vec<Asset>,
}

/// A usable (non-draft, parseable) release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Parsed version.
    pub version: Version,
    /// The tag as written.
    pub tag: String,
    /// Title.
    pub name: String,
    /// Publication date (RFC 3339) if given.
    pub published_at: Option<String>,
    /// Release notes (Markdown).
    pub notes: String,
    /// The release page.
    pub html_url: String,
    /// A pre-release (GitHub flag or a semver pre-release tag).
    pub prerelease: bool,
    /// Files.
    pub assets: Vec<Asset>,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateCheck {
    /// The running version.
    pub current: Version,
    /// Highest stable release.
    pub latest_stable: Option<Release>,
    /// Highest pre-release.
    pub latest_prerelease: Option<Release>,
    /// What to offer the user: newer than the running version on their channel (a
    /// pre-release only when opted in and newer than the newest stable too).
    pub offer: Option<Release>,
    /// Tags that could not be read as versions (skipped, not fatal).
    pub skipped_tags: Vec<String>,
}

/// Lenient tag parsing: trims, strips `v`/`V`, `x.y` → `x.y.0`, keeps `-suffix`.
pub fn parse_tag(tag: &str) -> Option<Version> {
    let t = tag.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let padded = match parts.len() {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => return None,
    };
    Version::parse(&padded).ok()
}

/// The releases-list URL for a repository under an API base.
pub fn releases_url(api_base: &str, owner: &str, repo: &str) -> String {
    format!("{}/repos/{owner}/{repo}/releases", api_base.trim_end_matches('/'))
}

/// The default releases-list URL of this project.
pub fn default_releases_url() -> String {
    let (owner, repo) = REPO.split_once('/').unwrap_or(("api-hub-desk", REPO));
    releases_url(DEFAULT_API_BASE, owner, repo)
}

/// Environment variable that points the release check at another releases-list URL.
pub const RELEASES_URL_ENV: &str = "APIHUB_RELEASES_URL";
/// The releases-list URL to check: `APIHUB_RELEASES_URL`, else the `update.releases_url`
/// setting, else this project's GitHub releases.
pub fn configured_releases_url(settings: &UpdateSettings) -> String {
    std::env::var(RELEASES_URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| settings.releases_url.clone().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(default_releases_url)
}

fn select(list: Vec<GhRelease>, current: Version, channel: Channel) -> UpdateCheck {
    let mut skipped_tags = Vec::new();
    let mut releases = Vec::new();
    for r in list.into_iter().filter(|r| !r.draft) {
        let Some(version) = parse_tag(&r.tag_name) else {
            skipped_tags.push(r.tag_name);
            continue;
        };
        releases.push(Release {
            prerelease: r.prerelease || !version.pre.is_empty(),
            version,
            name: r.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| r.tag_name.clone()),
            tag: r.tag_name,
            published_at: r.published_at,
            notes: r.body.unwrap_or_default(),
            html_url: r.html_url,
            assets: r.assets,
        });
    }
    let best =
        |pre: bool| releases.iter().filter(|r| r.prerelease == pre).max_by(|a, b| a.version.cmp(&b.version)).cloned();
    let latest_stable = best(false);
    let latest_prerelease = best(true);
    let stable_offer = latest_stable.clone().filter(|r| r.version > current);
    let pre_offer = latest_prerelease.clone().filter(|r| {
        channel == Channel::PreRelease
            && r.version > current
            && latest_stable.as_ref().is_none_or(|s| r.version > s.version)
    });
    let offer = pre_offer.or(stable_offer);
    UpdateCheck { current, latest_stable, latest_prerelease, offer, skipped_tags }
}

/// Checks `releases_url` (a GitHub releases-list endpoint) against `current`.
pub async fn check_releases(releases_url: &str, current: &str, channel: Channel) -> Result<UpdateCheck, UpdateError> {
    let current = parse_tag(current).ok_or_else(|| UpdateError::BadCurrentVersion(current.to_string()))?;
    let client = crate::tls::client_builder()
        .timeout(std::time::Duration::from_secs(10))
        .user_agent(concat!("api-hub-desk/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UpdateError::Network(e.to_string()))?;
    let resp = client
        .get(releases_url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| UpdateError::Network(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let header = |k: &str| resp.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let remaining = header("x-ratelimit-remaining");
    if status == 429 || (status == 403 && remaining.as_deref() == Some("0")) {
        let reset_at_unix = header("x-ratelimit-reset").and_then(|v| v.parse().ok());
        return Err(UpdateError::RateLimited { reset_at_unix });
    }
    if !(200..300).contains(&status) {
        return Err(UpdateError::Http(status));
    }
    let body = resp.bytes().await.map_err(|e| UpdateError::Network(e.without_url().to_string()))?;
    let list: Vec<GhRelease> =
        serde_json::from_slice(&body).map_err(|e| UpdateError::Malformed(format!("not a list of releases ({e})")))?;
    Ok(select(list, current, channel))
}

/// Checks this project's releases against the running version ([`crate::VERSION`]).
pub async fn check_for_updates(releases_url: &str, channel: Channel) -> Result<UpdateCheck, UpdateError> {
    check_releases(releases_url, crate::VERSION, channel).await
}

/// The asset for this OS and architecture (by name), if the release has one.
pub fn asset_for_platform<'a>(release: &'a Release, os: &str, arch: &str) -> Option<&'a Asset> {
    let os_words: &[&str] = match os {
        "windows" => &["windows", "win64", "win"],
        "macos" => &["macos", "darwin", "mac", "osx"],
        "linux" => &["linux"],
        other => return release.assets.iter().find(|a| a.name.to_ascii_lowercase().contains(other)),
    };
    let arch_words: &[&str] = match arch {
        "x86_64" => &["x86_64", "x64", "amd64"],
        "aarch64" => &["aarch64", "arm64"],
        _ => &[],
    };
    let matches_os = |n: &str| os_words.iter().any(|w| n.contains(w));
    let matches_arch = |n: &str| arch_words.iter().any(|w| n.contains(w));
    let named: Vec<(&Asset, String)> = release.assets.iter().map(|a| (a, a.name.to_ascii_lowercase())).collect();
    named
        .iter()
        .find(|(_, n)| matches_os(n) && matches_arch(n))
        .or_else(|| named.iter().find(|(_, n)| matches_os(n)))
        .map(|(a, _)| *a)
}

pub use crate::domain::settings::UpdateSettings;

impl UpdateSettings {
    /// Reads the `update` section of the settings.
    pub fn load(store: &Store) -> Result<Self, UpdateError> {
        Ok(store.load_settings()?.settings.update)
    }

    /// Saves the `update` section (through `Store::save_settings`).
    pub fn save(&self, store: &mut Store) -> Result<(), UpdateError> {
        store.update_settings(|s| -> Result<(), StoreError> {
            s.update = self.clone();
            Ok(())
        })?;
        Ok(())
    }

    /// The channel these settings choose.
    pub fn channel(&self) -> Channel {
        if self.include_prerelease { Channel::PreRelease } else { Channel::Stable }
    }

    /// True when the start-up check should run now (on, and not within a day of
    /// `last_check_unix`).
    pub fn due_on_start(&self, last_check_unix: Option<i64>, now_unix: i64) -> bool {
        self.check_on_start && last_check_unix.is_none_or(|t| now_unix - t >= AUTO_CHECK_INTERVAL_SECS || now_unix < t)
    }
}

/// When the last release check ran (unix seconds; bookkeeping, not a setting).
pub fn last_check(store: &Store) -> Result<Option<i64>, StoreError> {
    Ok(store.setting(crate::domain::settings::bookkeeping::UPDATE_LAST_CHECK)?.and_then(|v| v.parse().ok()))
}

/// Records that a release check ran at `now_unix`.
pub fn record_check(store: &mut Store, now_unix: i64) -> Result<(), StoreError> {
    store.set_setting(crate::domain::settings::bookkeeping::UPDATE_LAST_CHECK, &now_unix.to_string())
}
