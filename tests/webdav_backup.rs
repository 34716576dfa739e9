//! WebDAV backups against a real WebDAV server in-process (`dav-server`, memory
//! filesystem) behind an axum handler that can inject faults: Basic auth (401), 507 on
//! PUT, MOVE refused, Apache-style MOVE (absolute `Destination` only), and a TCP proxy
//! that cuts the connection mid-upload.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

#[path = "common/dav.rs"]
mod dav;

use std::net::SocketAddr;

use apihub::backup::bundle::{SecretsMode, create_bundle};
use apihub::backup::webdav::{WebDav, WebDavConfig};
use apihub::backup::{BackupError, RestoreMode, restore_bundle};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;
use dav::{Faults, cutting_proxy, start};

fn cfg(url: &str, user: &str, pass: &str, max: usize) -> WebDavConfig {
    WebDavConfig {
        enabled: true,
        url: url.into(),
        username: user.into(),
        password: pass.into(),
        max_backups: max,
        ..Default::default()
    }
}

fn seeded(dir: &tempfile::TempDir) -> Store {
    let mut s = Store::open(dir.path()).unwrap().store;
    for (i, user) in ["alice", "bob", "carol"].iter().enumerate() {
        let id = s
            .upsert_account(&NewAccount {
                site_url: format!("https://s{i}.example"),
                site_name: format!("站点 {i}"),
                kind: SiteKind::NewApi,
                user_id: format!("{}", i + 1),
                username: user.to_string(),
                auth: AuthMethod::AccessToken,
                credentials: Credentials { access_token: Some(format!("tok-{user}-0123456789")), ..Default::default() },
            })
            .unwrap();
        s.set_account_details(id, "g", &format!("note {user}"), Some(0.5), false).unwrap();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_list_retention_restore_round_trip_and_delete() {
    let (url, srv) = start(Faults { auth: Some(("u".into(), "p".into())), ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url, "u", "p", 3)).unwrap();
    dav.test_connection().await.unwrap();
    assert!(dav.list().await.unwrap().is_empty(), "missing folder lists as empty");

    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir);
    let bytes = create_bundle(&store, &SecretsMode::Passphrase("pw".into())).unwrap();
    dav.upload("someone-elses.json", b"{}").await.unwrap();
    for i in 1..=4 {
        let r = dav.upload(&format!("apihub-backup-{i}.json"), &bytes).await.unwrap();
        assert!(r.moved_into_place);
        if i < 4 {
            assert!(r.pruned.is_empty());
        } else {
            assert_eq!(r.pruned, ["apihub-backup-1.json"], "retention deletes the oldest beyond N");
        }
    }
    let methods = srv.methods.lock().unwrap().clone();
    assert!(methods.iter().any(|m| m == "MKCOL"), "folder created");
    assert!(methods.iter().any(|m| m == "PROPFIND depth=1"), "{methods:?}");
    assert!(!methods.iter().any(|m| m.contains("infinity")), "never Depth: infinity");
    let list = dav.list().await.unwrap();
    let names: Vec<_> = list.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.contains(&"someone-elses.json"), "retention never deletes files that are not ours");
    let ours: Vec<_> = names.iter().filter(|n| n.starts_with("apihub-")).collect();
    assert_eq!(ours, [&"apihub-backup-4.json", &"apihub-backup-3.json", &"apihub-backup-2.json"]);
    let newest = list.iter().find(|b| b.name == "apihub-backup-4.json").unwrap();
    assert_eq!(newest.size_bytes, bytes.len() as u64);
    assert!(newest.modified_at_unix > 0);
    assert!(newest.path.ends_with("/api-hub-desk/apihub-backup-4.json"));

    // Restore round-trips every account and secret into a fresh store.
    let downloaded = dav.download("apihub-backup-4.json").await.unwrap();
    assert_eq!(downloaded, bytes);
    let dst_dir = tempfile::tempdir().unwrap();
    let mut dst = Store::open(dst_dir.path()).unwrap().store;
    restore_bundle(&mut dst, &downloaded, Some("pw"), RestoreMode::Replace).unwrap();
    let (a, b) = (store.snapshot().unwrap(), dst.snapshot().unwrap());
    assert_eq!(a.accounts.len(), 3);
    for (x, y) in a.accounts.iter().zip(b.accounts.iter()) {
        assert_eq!(x.credentials, y.credentials);
        assert_eq!(
            (&x.site_url, &x.identity, &x.notes, x.paid_per_usd),
            (&y.site_url, &y.identity, &y.notes, y.paid_per_usd)
        );
    }

    let r = apihub::backup::webdav::upload_backup(&cfg(&url, "u", "p", 10), &bytes).await.unwrap();
    assert!(r.name.starts_with("apihub-backup-") && r.name.ends_with(".json"));
    assert_eq!(dav.download(&r.name).await.unwrap(), bytes);
    dav.delete(&r.name).await.unwrap();

    dav.delete("apihub-backup-3.json").await.unwrap();
    assert_eq!(dav.list().await.unwrap().len(), 3);
    assert!(matches!(dav.delete("apihub-backup-3.json").await, Err(BackupError::NotFound(_))));
    assert!(matches!(dav.download("nope.json").await, Err(BackupError::NotFound(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_chinese_and_spaces_are_decoded_before_comparing() {
    let (url, _srv) = start(Faults::default()).await;
    let mut c = cfg(&url, "", "", 10);
    c.remote_path = "/备份 目录/desk".into();
    let dav = WebDav::new(&c).unwrap();
    let name = "备份 2026-11-26 晚.json";
    dav.upload(name, b"{\"x\":1}").await.unwrap();
    let list = dav.list().await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].name, name);
    assert!(list[0].path.contains("/备份 目录/desk/"));
    assert_eq!(dav.download(name).await.unwrap(), b"{\"x\":1}");
    dav.delete(name).await.unwrap();
    assert!(dav.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_move_falls_back_to_direct_put_and_apache_move_gets_absolute_destination() {
    let (url, srv) = start(Faults { refuse_move: true, ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url, "", "", 10)).unwrap();
    let r = dav.upload("a.json", b"{\"a\":1}").await.unwrap();
    assert!(!r.moved_into_place);
    let names: Vec<_> = dav.list().await.unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["a.json"], "no temporary file left behind");
    assert_eq!(dav.download("a.json").await.unwrap(), b"{\"a\":1}");
    assert!(srv.methods.lock().unwrap().iter().any(|m| m.starts_with("MOVE")));

    let (url, _srv) = start(Faults { apache_move: true, ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url, "", "", 10)).unwrap();
    let r = dav.upload("b.json", b"{}").await.unwrap();
    assert!(r.moved_into_place, "MOVE with an absolute Destination is accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_give_clear_errors_and_leave_the_store_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir);
    let before = store.snapshot().unwrap();
    let bytes = create_bundle(&store, &SecretsMode::Passphrase("pw".into())).unwrap();

    // 401: wrong password.
    let (url, _srv) = start(Faults { auth: Some(("u".into(), "right".into())), ..Default::default() }).await;
    let bad = WebDav::new(&cfg(&url, "u", "wrong", 10)).unwrap();
    let err = bad.test_connection().await.unwrap_err();
    assert!(matches!(err, BackupError::Unauthorized), "{err}");
    assert!(err.to_string().contains("401"));
    assert!(matches!(bad.upload("x.json", &bytes).await, Err(BackupError::Unauthorized)));
    assert!(matches!(bad.download("x.json").await, Err(BackupError::Unauthorized)));

    // 507 on PUT.
    let (url, _srv) = start(Faults { put_status: Some(507), ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url, "", "", 10)).unwrap();
    let err = dav.upload("x.json", &bytes).await.unwrap_err();
    assert!(matches!(err, BackupError::InsufficientStorage), "{err}");
    assert!(err.to_string().contains("storage"));
    assert!(dav.list().await.unwrap().is_empty());

    // The file reads back different: refused, and the temporary file is removed.
    let (url_c, srv_c) = start(Faults { corrupt_get: true, ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url_c, "", "", 10)).unwrap();
    let err = dav.upload("x.json", &bytes).await.unwrap_err();
    assert!(matches!(err, BackupError::VerifyFailed(_)), "{err}");
    srv_c.faults.lock().unwrap().corrupt_get = false;
    assert!(dav.list().await.unwrap().is_empty());
    assert!(srv_c.methods.lock().unwrap().iter().any(|m| m == "DELETE"), "temporary file deleted");

    // Connection cut mid-upload.
    let (url, _srv) = start(Faults::default()).await;
    let upstream: SocketAddr = url.trim_start_matches("http://").trim_end_matches("/dav").parse().unwrap();
    let proxy = cutting_proxy(upstream).await;
    let cut = WebDav::new(&cfg(&format!("http://{proxy}/dav"), "", "", 10)).unwrap();
    let err = cut.upload("x.json", &bytes).await.unwrap_err();
    assert!(matches!(err, BackupError::Connection(_)), "{err}");
    let direct = WebDav::new(&cfg(&url, "", "", 10)).unwrap();
    assert!(direct.list().await.unwrap().is_empty(), "nothing half-written is listed");

    // 404: a server URL that does not exist.
    let (url404, _srv) = start(Faults::default()).await;
    let wrong = WebDav::new(&cfg(&url404.replace("/dav", "/nope"), "", "", 10)).unwrap();
    let err = wrong.test_connection().await.unwrap_err();
    assert!(matches!(err, BackupError::RemoteNotFound(_)), "{err}");
    assert!(err.to_string().contains("404"));

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = WebDav::new(&cfg(&format!("http://127.0.0.1:{port}/dav"), "", "", 10)).unwrap();
    assert!(matches!(gone.test_connection().await, Err(BackupError::Connection(_))));

    // TLS spoken to a plain-HTTP server.
    let tls = WebDav::new(&cfg(&url.replace("http://", "https://"), "", "", 10)).unwrap();
    let err = tls.test_connection().await.unwrap_err();
    assert!(matches!(err, BackupError::Tls(_)), "{err}");

    assert!(matches!(WebDav::new(&cfg("ftp://x", "", "", 1)), Err(BackupError::InvalidConfig(_))));

    // A failed restore source (wrong password) changes nothing locally.
    if let Ok(b) = bad.download("x.json").await {
        let _ = restore_bundle(&mut store, &b, Some("pw"), RestoreMode::Replace);
    }
    assert_eq!(store.snapshot().unwrap(), before);
}

#[test]
fn config_persists_with_the_password_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap().store;
    assert_eq!(WebDavConfig::load(&store).unwrap(), WebDavConfig::default());
    assert_eq!(WebDavConfig::default().remote_path, "/api-hub-desk");
    let c = WebDavConfig { remote_path: "/x".into(), ..cfg("https://dav.example/remote", "bob", "s3cret-pass", 7) };
    c.save(&mut store).unwrap();
    let raw = store.setting("backup.webdav.password").unwrap().unwrap();
    assert!(!raw.contains("s3cret-pass"));
    assert_eq!(WebDavConfig::load(&store).unwrap(), c);
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_api_hub_webdav_file_is_fetched_from_its_documented_location() {
    use apihub::backup::import::{all_api_hub_webdav_file_url, fetch_all_api_hub_webdav, parse_import};
    assert_eq!(all_api_hub_webdav_file_url("https://d.example/x.json"), "https://d.example/x.json");
    assert_eq!(
        all_api_hub_webdav_file_url("https://d.example/dav/"),
        "https://d.example/dav/all-api-hub-backup/all-api-hub-1-0.json"
    );

    let (url, _srv) = start(Faults { auth: Some(("u".into(), "p".into())), ..Default::default() }).await;
    let fixture = std::fs::read(format!("{}/tests/fixtures/import/aah-v4.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut c = cfg(&url, "u", "p", 10);
    c.remote_path = "/all-api-hub-backup".into();
    WebDav::new(&c).unwrap().upload("all-api-hub-1-0.json", &fixture).await.unwrap();

    let bytes = fetch_all_api_hub_webdav(&url, "u", "p").await.unwrap();
    assert_eq!(parse_import(&bytes, None).unwrap().accounts.len(), 4);
    assert!(matches!(fetch_all_api_hub_webdav(&url, "u", "bad").await, Err(BackupError::Unauthorized)));
}

/// Issue 13, finding 10: "test" writes, reads back and deletes a probe in the backup
/// folder, so a server that refuses writes fails the test; a good server is left clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_test_writes_reads_back_and_deletes_a_probe() {
    let (url, srv) = start(Faults { put_status: Some(507), ..Default::default() }).await;
    let dav = WebDav::new(&cfg(&url, "", "", 10)).unwrap();
    let err = dav.test_connection().await.unwrap_err();
    assert!(matches!(err, BackupError::InsufficientStorage), "{err}");

    srv.faults.lock().unwrap().put_status = None;
    srv.methods.lock().unwrap().clear();
    dav.test_connection().await.unwrap();
    let methods = srv.methods.lock().unwrap().clone();
    for m in ["PUT", "GET", "DELETE"] {
        assert!(methods.iter().any(|x| x == m), "{m} missing from {methods:?}");
    }
    assert!(dav.list().await.unwrap().is_empty(), "the probe is gone");

    // A server that answers GET with other bytes fails the test too.
    srv.faults.lock().unwrap().corrupt_get = true;
    assert!(matches!(dav.test_connection().await.unwrap_err(), BackupError::VerifyFailed(_)));
}
