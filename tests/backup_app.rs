//! The backup & update section inside the running app (egui_kittest, no GPU): real
//! jobs against the data dir, a local fake GitHub releases endpoint and an in-process
//! WebDAV server. Nothing reaches the internet.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod common;

use apihub::app::App;
use apihub::backup::SecretsMode;
use apihub::backup::local::{LocalBackups, back_up_now};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use common::{app_with, run_until, type_into, ui_lock};
use dav_server::DavHandler;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn account(url: &str, user: &str) -> NewAccount {
    NewAccount {
        site_url: url.into(),
        site_name: "Alpha".into(),
        kind: SiteKind::NewApi,
        user_id: "7".into(),
        username: user.into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some("tok-secret".into()), ..Default::default() },
    }
}

fn open_settings(h: &mut Harness<'static, App>) {
    // Tall enough that the whole Settings panel is on screen (clicks are pointer events).
    h.set_size(egui::vec2(1100.0, 2600.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("Settings").next().unwrap().click();
    h.run();
    assert!(h.query_by_label("Backup & updates").is_some(), "the section is in Settings");
}

/// Clicks a button that starts a job: step, since a spinner keeps repainting.
fn click(h: &mut Harness<'static, App>, label: &str) {
    h.get_by_label(label).click();
    h.step();
    h.step();
}

fn account_count(h: &Harness<'static, App>) -> Option<usize> {
    h.state().state().sites.accounts.value().map(|a| a.len())
}

#[test]
fn back_up_now_writes_a_backup_that_is_listed_and_delete_asks_first() {
    let _l = ui_lock();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&account("https://alpha.example", "ann")).unwrap();
    });
    let h = &mut t.harness;
    open_settings(h);
    assert!(h.query_by_label("No local backups yet").is_some());
    type_into(h, "Backup passphrase", "correct horse");
    click(h, "Back up now");
    run_until(h, "backup listed", |h| !h.state().state().backup.local_backups.is_empty());
    let listed = h.state().state().backup.local_backups[0].clone();
    assert!(listed.name.starts_with("apihub-backup-"), "{}", listed.name);
    assert!(listed.path.starts_with(t.dir.path().join("backups")) && listed.path.exists());
    assert!(h.query_by_label(&listed.name).is_some(), "the new backup's row is shown");
    assert!(h.query_by_label_contains("Backup written").is_some());
    let text = std::fs::read_to_string(&listed.path).unwrap();
    assert!(!text.contains("tok-secret"), "the secret is encrypted in the bundle");

    // Delete asks first; only "Confirm delete" removes the file.
    h.get_by_label("Delete").click();
    h.run();
    assert!(h.query_by_label_contains("This cannot be undone").is_some());
    assert!(listed.path.exists(), "nothing deleted before confirmation");
    click(h, "Confirm delete");
    run_until(h, "backup deleted", |h| h.state().state().backup.local_backups.is_empty());
    assert!(!listed.path.exists());
}

#[test]
fn restore_shows_what_changes_and_writes_only_after_confirmation() {
    let _l = ui_lock();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        let id = s.upsert_account(&account("https://alpha.example", "ann")).unwrap();
        back_up_now(s, &SecretsMode::Passphrase("pw-1".into()), 10).unwrap();
        s.remove_account(id).unwrap();
    });
    let h = &mut t.harness;
    open_settings(h);
    run_until(h, "backup list loaded", |h| h.state().state().backup.local_backups.len() == 1);
    assert_eq!(account_count(h), Some(0));

    // Without the passphrase: a clear error, no preview.
    click(h, "Restore");
    run_until(h, "restore refused", |h| h.state().state().backup.last_outcome.is_some());
    assert!(h.query_by_label_contains("protected by a passphrase").is_some());
    assert!(h.query_by_label("Confirm restore").is_none());

    type_into(h, "Backup passphrase", "pw-1");
    click(h, "Restore");
    run_until(h, "preview shown", |h| h.state().state().backup.pending.is_some());
    assert!(h.query_by_label("Confirm restore").is_some(), "asks for confirmation");
    assert!(h.query_by_label_contains("1 added, 0 updated").is_some(), "preview counts are shown");
    let store = Store::open(t.dir.path()).unwrap().store;
    assert!(store.list_accounts().unwrap().is_empty(), "nothing written before confirmation");

    click(h, "Confirm restore");
    run_until(h, "accounts reloaded after restore", |h| account_count(h) == Some(1));
    assert!(h.query_by_label_contains("Restored: 1 added").is_some());
    let restored = store.list_accounts().unwrap();
    assert_eq!(restored[0].username, "ann");
    let creds = store.credentials(restored[0].id).unwrap();
    assert_eq!(creds.access_token.as_deref(), Some("tok-secret"), "secret restored");
    let names: Vec<String> =
        LocalBackups::for_data_dir(t.dir.path()).list().unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.iter().any(|n| n.starts_with("safety-before-restore")), "safety copy taken: {names:?}");
}

async fn fake_releases() -> String {
    let releases = serde_json::json!([
        {"tag_name": "v99.0.0", "name": "Big one", "draft": false, "prerelease": false,
         "html_url": "https://example.invalid/99", "published_at": "2026-11-20T10:00:00Z",
         "body": "## Changes\n- much faster", "assets": []},
        {"tag_name": "v0.0.1", "draft": false, "prerelease": false, "html_url": "https://example.invalid/1"}
    ]);
    let app = axum::Router::new()
        .route("/repos/{owner}/{repo}/releases", axum::routing::get(move || async move { axum::Json(releases) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    apihub::update::releases_url(&format!("http://{addr}"), "me", "desk")
}

#[test]
fn check_now_shows_a_newer_release_from_the_releases_endpoint() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(fake_releases());
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.set_setting("update.releases_url", &url).unwrap();
    });
    let h = &mut t.harness;
    open_settings(h);
    assert!(h.state().state().update.check.is_none(), "no check on start (turned off for tests)");
    click(h, "Check now");
    run_until(h, "release check done", |h| h.state().state().update.check.is_some());
    assert!(
        h.query_by_label("Version 99.0.0 is available (2026-11-20)").is_some(),
        "{:?}",
        h.state().state().update.check
    );
    assert!(h.query_by_label("Changes").is_some(), "notes rendered");
    assert!(h.query_by_label("Open download page").is_some());
    let store = Store::open(t.dir.path()).unwrap().store;
    run_until(h, "last check saved", |_| store.setting("update.last_check_unix").unwrap().is_some());
}

async fn dav(State(dav): State<DavHandler>, req: Request) -> Response {
    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bob:right-pass"));
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return Response::builder().status(StatusCode::UNAUTHORIZED).body(Body::empty()).unwrap();
    }
    dav.handle(req).await.into_response()
}

async fn start_dav() -> String {
    let handler = DavHandler::builder()
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
}

#[test]
fn webdav_test_connection_save_upload_and_list_against_a_real_server() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(start_dav());
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        s.upsert_account(&account("https://alpha.example", "ann")).unwrap();
    });
    let h = &mut t.harness;
    open_settings(h);
    type_into(h, "Server URL", &url);
    type_into(h, "Username", "bob");
    type_into(h, "Password", "right-pass");
    click(h, "Test connection");
    run_until(h, "connected", |h| h.query_by_label("Connected").is_some());

    type_into(h, "Hours between automatic uploads", "6"); // appended to the default 24
    click(h, "Save");
    run_until(h, "saved", |h| h.query_by_label("WebDAV settings saved").is_some());
    let store = Store::open(t.dir.path()).unwrap().store;
    assert_eq!(store.setting("backup.webdav.url").unwrap().as_deref(), Some(url.as_str()));
    assert_eq!(store.secret_setting("backup.webdav.password").unwrap().as_deref(), Some("right-pass"));
    assert_eq!(store.setting("backup.webdav.interval_hours").unwrap().as_deref(), Some("246"));

    // A typo in the form: the test shows the server's refusal.
    type_into(h, "Password", "-typo");
    click(h, "Test connection");
    run_until(h, "test failed", |h| {
        matches!(h.state().state().backup.webdav_outcome, Some(apihub::app::backup::Outcome::Err(_)))
    });
    assert!(h.query_by_label_contains("refused the username or password").is_some());
    assert!(h.query_by_label("Connected").is_none());

    // Fix the typo again, and point the form (unsaved) at another folder: the buttons
    // use what the form says, not the saved settings.
    h.get_by_label("Password").click();
    h.run();
    for _ in 0.."-typo".len() {
        h.key_press(egui::Key::Backspace);
    }
    h.run();
    type_into(h, "Remote folder", "-new");
    type_into(h, "Backup passphrase", "pw");
    click(h, "Upload backup");
    run_until(h, "uploaded and listed", |h| h.state().state().backup.remote_backups.len() == 1);
    let name = h.state().state().backup.remote_backups[0].name.clone();
    assert!(name.starts_with("apihub-"), "{name}");
    assert!(h.query_by_label(&name).is_some(), "the remote backup's row is shown");

    let saved = apihub::backup::webdav::WebDavConfig::load(&store).unwrap();
    assert_eq!(saved.remote_path, "/api-hub-desk", "the form's folder was not saved");
    let mut form = saved.clone();
    form.remote_path = "/api-hub-desk-new".into();
    let in_saved = rt.block_on(async { apihub::backup::webdav::WebDav::new(&saved).unwrap().list().await });
    assert!(in_saved.map(|l| l.is_empty()).unwrap_or(true), "nothing uploaded to the saved folder");
    let in_form = rt.block_on(async { apihub::backup::webdav::WebDav::new(&form).unwrap().list().await }).unwrap();
    assert_eq!(in_form.len(), 1, "the backup went to the form's folder");
    assert_eq!(in_form[0].name, name);
}

#[test]
fn the_section_is_translated_and_every_glyph_renders_in_chinese() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "zh-CN").unwrap());
    let h = &mut t.harness;
    h.set_size(egui::vec2(1100.0, 2600.0));
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_all_by_label("设置").next().unwrap().click();
    h.run();
    for label in ["备份与更新", "立即备份", "还没有本地备份", "测试连接", "立即检查"] {
        assert!(h.query_by_label(label).is_some(), "{label} shown");
    }
    assert!(h.query_by_label("Back up now").is_none());
}

#[test]
fn a_finished_refresh_run_writes_an_automatic_local_backup() {
    let _l = ui_lock();
    let mut t = app_with(|s| {
        s.set_setting("ui.lang", "en").unwrap();
        // Nothing listens there: the run finishes at once (with a failure), and counts as a change.
        s.upsert_account(&account("http://127.0.0.1:9", "ann")).unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    run_until(h, "backup list loaded", |_| true);
    assert!(LocalBackups::for_data_dir(t.dir.path()).list().unwrap().is_empty());
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| h.query_by_label_contains("Refresh done").is_some());
    run_until(h, "automatic backup listed", |h| {
        h.state().state().backup.local_backups.iter().any(|b| b.name.starts_with("apihub-auto-"))
    });
    let store = Store::open(t.dir.path()).unwrap().store;
    assert!(store.setting("backup.local.last_hash").unwrap().is_some(), "the throttle state is recorded");
}

#[test]
fn an_enabled_webdav_upload_runs_after_a_change_when_due() {
    let _l = ui_lock();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(start_dav());
    let cfg = apihub::backup::webdav::WebDavConfig {
        enabled: true,
        url: url.clone(),
        username: "bob".into(),
        password: "right-pass".into(),
        ..Default::default()
    };
    let seeded = cfg.clone();
    let mut t = app_with(move |s| {
        s.set_setting("ui.lang", "en").unwrap();
        seeded.save(s).unwrap();
        s.upsert_account(&account("http://127.0.0.1:9", "ann")).unwrap();
    });
    let h = &mut t.harness;
    run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
    h.get_by_label_contains("Refresh all").click();
    run_until(h, "refresh finished", |h| h.query_by_label_contains("Refresh done").is_some());
    let store = Store::open(t.dir.path()).unwrap().store;
    run_until(h, "upload time recorded", |_| store.setting("backup.webdav.last_upload_unix").unwrap().is_some());
    let remote = rt.block_on(async { apihub::backup::webdav::WebDav::new(&cfg).unwrap().list().await.unwrap() });
    assert_eq!(remote.len(), 1, "one automatic upload: {remote:?}");
    assert!(remote[0].name.starts_with("apihub-"));
}

/// A file "dropped" onto the window.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn a_dropped_all_api_hub_file_is_previewed_then_imported_on_confirmation() {
    let _l = ui_lock();
    let mut t = app_with(|s| s.set_setting("ui.lang", "en").unwrap());
    let h = &mut t.harness;
    open_settings(h);
    let file = std::path::PathBuf::from(format!("{}/tests/fixtures/import/aah-v2.json", env!("CARGO_MANIFEST_DIR")));
    h.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(file)));
    h.step();
    h.input_mut().dropped_files.clear();
    run_until(h, "import preview", |h| h.state().state().backup.pending.is_some());
    assert!(h.query_by_label_contains("Import aah-v2.json (All API Hub backup v2").is_some());
    assert!(h.query_by_label_contains("need credentials entered again").is_some(), "preview counts shown");
    assert_eq!(account_count(h), Some(0), "nothing imported before confirmation");
    click(h, "Confirm import");
    run_until(h, "accounts reloaded after import", |h| account_count(h).is_some_and(|n| n > 0));
    assert!(h.query_by_label_contains("Imported:").is_some());
}
