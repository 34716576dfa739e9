//! Release check against a local fake GitHub releases-list endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::sync::{Arc, Mutex};

use apihub::update::{Channel, UpdateError, UpdateSettings, asset_for_platform, check_releases, parse_tag};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

fn releases() -> serde_json::Value {
    serde_json::json!([
        {"tag_name": "v2.0.0", "name": "Draft", "draft": true, "prerelease": false, "html_url": "https://x/2.0.0",
         "published_at": null, "body": "draft"},
        {"tag_name": "1.3.0-beta.1", "name": "", "draft": false, "prerelease": true, "html_url": "https://x/1.3.0-beta.1",
         "published_at": "2026-11-20T10:00:00Z", "body": "beta notes"},
        {"tag_name": "nightly", "name": "Nightly", "draft": false, "prerelease": true, "html_url": "https://x/nightly"},
        {"tag_name": "V1.2.0", "name": "One Two", "draft": false, "prerelease": false, "html_url": "https://x/1.2.0",
         "published_at": "2026-11-01T10:00:00Z", "body": "## Changes\n- faster",
         "assets": [
            {"name": "apihub-1.2.0-linux-x86_64.tar.gz", "browser_download_url": "https://x/l64", "size": 10},
            {"name": "apihub-1.2.0-linux-aarch64.tar.gz", "browser_download_url": "https://x/la", "size": 10},
            {"name": "apihub-1.2.0-windows-x86_64.zip", "browser_download_url": "https://x/w", "size": 10},
            {"name": "apihub-1.2.0-macos-arm64.zip", "browser_download_url": "https://x/m", "size": 10}]},
        {"tag_name": "v1.1", "name": "One One", "draft": false, "prerelease": false, "html_url": "https://x/1.1"},
        {"tag_name": "v1.0.0", "draft": false, "prerelease": false, "html_url": "https://x/1.0.0"}
    ])
}

#[derive(Clone, Copy)]
enum Mode {
    Ok,
    RateLimited,
    Malformed,
}

async fn serve(mode: Mode, seen: Arc<Mutex<Vec<(String, String)>>>) -> String {
    let app = axum::Router::new().route(
        "/repos/{owner}/{repo}/releases",
        axum::routing::get(move |headers: HeaderMap| async move {
            let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            seen.lock().unwrap().push((h("user-agent"), h("accept")));
            let resp: Response = match mode {
                Mode::Ok => axum::Json(releases()).into_response(),
                Mode::RateLimited => (
                    StatusCode::FORBIDDEN,
                    [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1800000000")],
                    r#"{"message":"API rate limit exceeded"}"#,
                )
                    .into_response(),
                Mode::Malformed => (StatusCode::OK, r#"{"message":"Not Found"}"#).into_response(),
            };
            resp
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    apihub::update::releases_url(&format!("http://{addr}"), "me", "desk")
}

#[test]
fn tags_parse_leniently() {
    assert_eq!(parse_tag("v1.2.3").unwrap().to_string(), "1.2.3");
    assert_eq!(parse_tag("V1.2.3").unwrap().to_string(), "1.2.3");
    assert_eq!(parse_tag(" 1.2.3-beta.1 ").unwrap().to_string(), "1.2.3-beta.1");
    assert_eq!(parse_tag("v1.2").unwrap().to_string(), "1.2.0");
    assert_eq!(parse_tag("1.2-rc.1").unwrap().to_string(), "1.2.0-rc.1");
    assert!(parse_tag("nightly").is_none());
    assert!(parse_tag("release-2026").is_none());
}

#[tokio::test]
async fn stable_and_prerelease_channels_pick_the_right_release_and_skip_drafts_and_odd_tags() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let url = serve(Mode::Ok, seen.clone()).await;

    let c = check_releases(&url, "1.0.0", Channel::Stable).await.unwrap();
    let offer = c.offer.clone().unwrap();
    assert_eq!(offer.version.to_string(), "1.2.0");
    assert_eq!(offer.tag, "V1.2.0");
    assert_eq!(offer.notes, "## Changes\n- faster");
    assert_eq!(offer.published_at.as_deref(), Some("2026-11-01T10:00:00Z"));
    assert_eq!(offer.html_url, "https://x/1.2.0");
    assert_eq!(c.latest_prerelease.as_ref().unwrap().version.to_string(), "1.3.0-beta.1");
    assert_eq!(c.skipped_tags, ["nightly"]);
    assert_eq!(asset_for_platform(&offer, "linux", "aarch64").unwrap().url, "https://x/la");
    assert_eq!(asset_for_platform(&offer, "macos", "aarch64").unwrap().url, "https://x/m");
    assert_eq!(asset_for_platform(&offer, "windows", "x86_64").unwrap().url, "https://x/w");
    assert!(asset_for_platform(&offer, "freebsd", "x86_64").is_none());

    let c = check_releases(&url, "1.0.0", Channel::PreRelease).await.unwrap();
    assert_eq!(c.offer.unwrap().version.to_string(), "1.3.0-beta.1");
    assert_eq!(c.latest_stable.unwrap().version.to_string(), "1.2.0", "the draft 2.0.0 is ignored");

    let c = check_releases(&url, "1.2.0", Channel::Stable).await.unwrap();
    assert!(c.offer.is_none(), "up to date");
    let c = check_releases(&url, "v1.3.0", Channel::PreRelease).await.unwrap();
    assert!(c.offer.is_none(), "the release is newer than the beta");

    let (ua, accept) = seen.lock().unwrap()[0].clone();
    assert!(ua.starts_with("api-hub-desk/"));
    assert_eq!(accept, "application/vnd.github+json");
}

#[tokio::test]
async fn rate_limit_malformed_and_network_errors_are_clear() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let url = serve(Mode::RateLimited, seen.clone()).await;
    let err = check_releases(&url, "1.0.0", Channel::Stable).await.unwrap_err();
    assert!(matches!(err, UpdateError::RateLimited { reset_at_unix: Some(1_800_000_000) }), "{err}");
    assert!(err.to_string().contains("rate limit"));

    let url = serve(Mode::Malformed, seen).await;
    assert!(matches!(check_releases(&url, "1.0.0", Channel::Stable).await, Err(UpdateError::Malformed(_))));

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = check_releases(&format!("http://127.0.0.1:{port}/releases"), "1.0.0", Channel::Stable).await.unwrap_err();
    assert!(matches!(err, UpdateError::Network(_)), "{err}");
    assert!(matches!(
        check_releases("http://127.0.0.1:1/", "not-a-version", Channel::Stable).await,
        Err(UpdateError::BadCurrentVersion(_))
    ));
}

#[test]
fn settings_default_on_and_check_at_most_once_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = apihub::store::Store::open(dir.path()).unwrap().store;
    let s = UpdateSettings::load(&store).unwrap();
    assert_eq!(s, UpdateSettings::default());
    assert!(s.check_on_start && !s.include_prerelease);
    assert_eq!(s.channel(), Channel::Stable);
    assert!(s.due_on_start(None, 1_000_000));
    let s = UpdateSettings { include_prerelease: true, ..s };
    s.save(&mut store).unwrap();
    apihub::update::record_check(&mut store, 1_000_000).unwrap();
    let s = UpdateSettings::load(&store).unwrap();
    let last = apihub::update::last_check(&store).unwrap();
    assert_eq!(s.channel(), Channel::PreRelease);
    assert!(!s.due_on_start(last, 1_000_000 + 3600));
    assert!(s.due_on_start(last, 1_000_000 + 86_400));
    let off = UpdateSettings { check_on_start: false, ..s };
    assert!(!off.due_on_start(last, 9_999_999));
}
