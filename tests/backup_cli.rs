//! The real `apihub` binary: backup, export, import (our bundles and other tools'
//! files) and the release check against a local fake releases endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use std::path::Path;
use std::process::{Command, Output};

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;
use serde_json::Value;

fn apihub(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apihub"));
    c.env("APIHUB_LOG", "off").env("NO_PROXY", "127.0.0.1").env_remove("APIHUB_RELEASES_URL");
    c.arg("--data-dir").arg(dir);
    c
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn seed(dir: &Path) {
    let mut s = Store::open(dir).unwrap().store;
    for (url, user, token) in [("https://alpha.example", "ann", "tok-ann"), ("https://beta.example", "bob", "tok-bob")]
    {
        s.upsert_account(&NewAccount {
            site_url: url.into(),
            site_name: "Site".into(),
            kind: SiteKind::NewApi,
            user_id: "3".into(),
            username: user.into(),
            auth: AuthMethod::AccessToken,
            credentials: Credentials { access_token: Some(token.into()), ..Default::default() },
        })
        .unwrap();
    }
}

/// (username, access token) of every account, sorted.
fn accounts(dir: &Path) -> Vec<(String, Option<String>)> {
    let s = Store::open(dir).unwrap().store;
    let mut v: Vec<_> = s
        .list_accounts()
        .unwrap()
        .into_iter()
        .map(|a| (a.username.clone(), s.credentials(a.id).unwrap().access_token))
        .collect();
    v.sort();
    v
}

#[test]
fn export_then_import_into_a_fresh_data_dir_round_trips_accounts_and_secrets() {
    let (a, b, files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed(a.path());
    let file = files.path().join("export.json");
    let said = ok(apihub(a.path())
        .args(["export", "--out"])
        .arg(&file)
        .args(["--passphrase-env", "BACKUP_PASS"])
        .env("BACKUP_PASS", "s3cret pass")
        .output()
        .unwrap());
    assert!(said.contains("export.json"), "{said}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("tok-ann"), "secrets are encrypted in the file");

    let said = ok(apihub(b.path()).arg("import").arg(&file).args(["--passphrase", "s3cret pass"]).output().unwrap());
    assert!(said.contains("2 added"), "{said}");
    assert_eq!(accounts(b.path()), accounts(a.path()));
    assert_eq!(accounts(b.path())[0], ("ann".to_string(), Some("tok-ann".to_string())));
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_with_exit_1_and_nothing_changes() {
    let (a, b, files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed(a.path());
    let file = files.path().join("e.json");
    ok(apihub(a.path()).arg("export").arg(&file).args(["--passphrase", "right"]).output().unwrap());
    let out = apihub(b.path()).arg("import").arg(&file).args(["--passphrase", "wrong"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(accounts(b.path()).is_empty(), "nothing imported");
    assert!(!b.path().join("backups").exists(), "not even a safety copy: nothing was about to change");

    // Without any passphrase the error says one is needed.
    let out = apihub(b.path()).arg("import").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protected by a passphrase"));
}

#[test]
fn dry_run_prints_the_preview_and_changes_nothing() {
    let (a, b, files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed(a.path());
    let file = files.path().join("e.json");
    ok(apihub(a.path()).arg("export").arg(&file).arg("--without-secrets").output().unwrap());
    let said = ok(apihub(b.path()).arg("import").arg(&file).arg("--dry-run").output().unwrap());
    assert!(said.contains("2 added") && said.contains("dry run: nothing changed"), "{said}");
    assert!(said.contains("needs credentials: https://alpha.example"), "without secrets: {said}");
    assert!(accounts(b.path()).is_empty());

    // Another tool's file on a data dir with accounts: the dry run changes nothing either.
    seed(b.path());
    let before = accounts(b.path());
    let fixture = format!("{}/tests/fixtures/import/aah-v2.json", env!("CARGO_MANIFEST_DIR"));
    let said = ok(apihub(b.path()).args(["import", &fixture, "--dry-run"]).output().unwrap());
    assert!(said.contains("source: All API Hub backup v2"), "{said}");
    assert!(said.contains("sites,") && said.contains("accounts,"), "{said}");
    assert_eq!(accounts(b.path()), before, "dry run of another tool's file changes nothing");

    // Applied for real, the All API Hub accounts are merged in.
    let said = ok(apihub(b.path()).args(["import", &fixture]).output().unwrap());
    assert!(said.contains("imported:"), "{said}");
    assert!(accounts(b.path()).len() > before.len());
}

#[test]
fn backup_needs_a_secrets_choice_writes_into_the_backups_folder_and_lists_it() {
    let a = tempfile::tempdir().unwrap();
    seed(a.path());
    let out = apihub(a.path()).arg("backup").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--without-secrets"));

    let said = ok(apihub(a.path()).args(["backup", "--without-secrets"]).output().unwrap());
    assert!(said.contains("backups"), "{said}");
    ok(apihub(a.path()).args(["backup", "create", "--passphrase-env", "P"]).env("P", "pw").output().unwrap());
    let list: Value =
        serde_json::from_str(&ok(apihub(a.path()).args(["backup", "list", "--json"]).output().unwrap())).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|b| b["name"].as_str().unwrap().starts_with("apihub-backup-")));
    assert!(ok(apihub(a.path()).args(["backup", "list"]).output().unwrap()).contains("apihub-backup-"));
}

fn fake_releases(rt: &tokio::runtime::Runtime) -> String {
    rt.block_on(async {
        let releases = serde_json::json!([
            {"tag_name": "v100.0.0-beta.1", "draft": false, "prerelease": true, "html_url": "https://example.invalid/b",
             "published_at": "2026-11-22T10:00:00Z", "body": "beta"},
            {"tag_name": "v99.0.0", "name": "Big", "draft": false, "prerelease": false,
             "html_url": "https://example.invalid/99", "published_at": "2026-11-20T10:00:00Z", "body": "- faster"},
            {"tag_name": "weird-tag", "draft": false, "prerelease": false, "html_url": "https://example.invalid/w"}
        ]);
        let app = axum::Router::new()
            .route("/repos/{owner}/{repo}/releases", axum::routing::get(move || async move { axum::Json(releases) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        apihub::update::releases_url(&format!("http://{addr}"), "me", "desk")
    })
}

#[test]
fn update_json_reads_a_local_fake_releases_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = fake_releases(&rt);
    let a = tempfile::tempdir().unwrap();
    let v: Value = serde_json::from_str(&ok(apihub(a.path())
        .args(["update", "--json"])
        .env("APIHUB_RELEASES_URL", &url)
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(v["update_available"], true);
    assert_eq!(v["offer"]["version"], "99.0.0");
    assert_eq!(v["current"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["skipped_tags"], serde_json::json!(["weird-tag"]));

    let v: Value = serde_json::from_str(&ok(apihub(a.path())
        .args(["update", "check", "--pre-release", "--json", "--releases-url", &url])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(v["offer"]["version"], "100.0.0-beta.1");

    let out = apihub(a.path()).args(["update", "--releases-url", "http://127.0.0.1:9/nothing"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the release server"));
}

async fn dav(
    axum::extract::State(dav): axum::extract::State<dav_server::DavHandler>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use base64::Engine as _;
    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:right-pass"));
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    dav.handle(req).await.into_response()
}

fn start_dav(rt: &tokio::runtime::Runtime) -> String {
    rt.block_on(async {
        let handler = dav_server::DavHandler::builder()
            .filesystem(dav_server::memfs::MemFs::new())
            .locksystem(dav_server::memls::MemLs::new())
            .strip_prefix("/dav")
            .build_handler();
        let app = axum::Router::new()
            .route("/dav", axum::routing::any(dav))
            .route("/dav/", axum::routing::any(dav))
            .route("/dav/{*path}", axum::routing::any(dav))
            .with_state(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/dav")
    })
}

fn webdav_config(dir: &Path, url: &str, password: &str) {
    ok(apihub(dir)
        .args(["webdav", "config", "--url", url, "--username", "bob", "--password-env", "DAV_PASS"])
        .env("DAV_PASS", password)
        .output()
        .unwrap());
}

#[test]
fn webdav_upload_list_restore_into_another_data_dir_and_delete() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = start_dav(&rt);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed(a.path());

    webdav_config(a.path(), &url, "wrong-pass");
    let out = apihub(a.path()).args(["webdav", "test"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the username or password"));

    webdav_config(a.path(), &url, "right-pass");
    assert!(ok(apihub(a.path()).args(["webdav", "test"]).output().unwrap()).contains("connected"));
    let said =
        ok(apihub(a.path()).args(["webdav", "upload", "--passphrase-env", "P"]).env("P", "pw").output().unwrap());
    assert!(said.contains("uploaded apihub-"), "{said}");
    let list: Value =
        serde_json::from_str(&ok(apihub(a.path()).args(["webdav", "list", "--json"]).output().unwrap())).unwrap();
    let name = list[0]["name"].as_str().unwrap().to_string();
    assert_eq!(list.as_array().unwrap().len(), 1);

    webdav_config(b.path(), &url, "right-pass");
    let out = apihub(b.path()).args(["webdav", "restore", &name, "--passphrase", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "wrong passphrase");
    assert!(accounts(b.path()).is_empty());
    ok(apihub(b.path()).args(["webdav", "restore", &name, "--passphrase", "pw"]).output().unwrap());
    assert_eq!(accounts(b.path()), accounts(a.path()), "accounts and secrets round-trip over WebDAV");

    ok(apihub(b.path()).args(["webdav", "delete", &name]).output().unwrap());
    assert!(ok(apihub(a.path()).args(["webdav", "list"]).output().unwrap()).contains("no remote backups"));
}

#[test]
fn replace_dry_run_lists_the_accounts_it_would_remove() {
    let (a, b, files) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    seed(a.path());
    let file = files.path().join("e.json");
    ok(apihub(a.path()).arg("export").arg(&file).arg("--without-secrets").output().unwrap());
    let mut s = Store::open(b.path()).unwrap().store;
    s.upsert_account(&NewAccount {
        site_url: "https://gamma.example".into(),
        site_name: "Gamma".into(),
        kind: SiteKind::OneApi,
        user_id: "9".into(),
        username: "gus".into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some("tok-gus".into()), ..Default::default() },
    })
    .unwrap();
    drop(s);
    let said = ok(apihub(b.path()).arg("import").arg(&file).args(["--replace", "--dry-run"]).output().unwrap());
    assert!(said.contains("1 removed") && said.contains("removed: https://gamma.example · gus"), "{said}");
    assert_eq!(accounts(b.path()), vec![("gus".to_string(), Some("tok-gus".to_string()))]);
    ok(apihub(b.path()).arg("import").arg(&file).arg("--replace").output().unwrap());
    let after: Vec<String> = accounts(b.path()).into_iter().map(|(u, _)| u).collect();
    assert_eq!(after, ["ann", "bob"]);
}
