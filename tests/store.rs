//! The local store: migrations, persistence, quarantine, secrets at rest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::{DB_FILE, Store, StoreError};

fn account(uid: &str, token: &str) -> NewAccount {
    NewAccount {
        site_url: "https://relay.example.com".into(),
        site_name: "Relay".into(),
        kind: SiteKind::NewApi,
        user_id: uid.into(),
        username: format!("user{uid}"),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(token.into()), ..Default::default() },
    }
}

#[test]
fn migrates_an_empty_dir_and_reopening_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let opened = Store::open(dir.path()).unwrap();
        assert!(opened.quarantined.is_none());
        let mut s = opened.store;
        assert!(s.schema_version().unwrap() >= 1);
        s.upsert_account(&account("1", "tok-a")).unwrap();
        s.set_setting("ui.lang", "en").unwrap();
    }
    let s = Store::open(dir.path()).unwrap().store;
    let accounts = s.list_accounts().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].user_id, "1");
    assert_eq!(accounts[0].site.kind, SiteKind::NewApi);
    assert_eq!(s.setting("ui.lang").unwrap().as_deref(), Some("en"));
    assert_eq!(s.credentials(accounts[0].id).unwrap().access_token.as_deref(), Some("tok-a"));
}

#[test]
fn a_file_truncated_to_half_is_reported_left_as_found_and_a_copy_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        for i in 0..300 {
            s.upsert_account(&account(&i.to_string(), &format!("token-{i}-{}", "x".repeat(200)))).unwrap();
        }
        // Fold the WAL into the main file so truncation hits real pages.
        drop(s);
    }
    let db = dir.path().join(DB_FILE);
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 8192, "database should span several pages, got {len}");
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let before = std::fs::read(&db).unwrap();

    let Err(StoreError::Damaged(d)) = Store::open(dir.path()) else { panic!("damaged file must be reported") };
    assert_eq!(d.path, db);
    let kept = d.kept_copy.clone().expect("a copy is kept");
    assert!(kept.file_name().unwrap().to_string_lossy().contains(".damaged-"));
    assert_eq!(std::fs::read(&kept).unwrap(), before);
    assert_eq!(std::fs::read(&db).unwrap(), before, "never replaced by an empty store");
    assert!(d.to_string().contains(&db.display().to_string()));
}

#[test]
fn a_garbage_file_is_damage_not_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    std::fs::write(&db, b"this is not a database at all, just text".repeat(200)).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::Damaged(_))));
    assert!(std::fs::read(&db).unwrap().starts_with(b"this is not a database"));
}

#[test]
fn an_empty_file_is_a_first_start_only_where_nothing_was_stored_before() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
    assert!(Store::open(dir.path()).is_ok(), "a 0-byte file in a new folder (a crash at first start)");
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("{DB_FILE}{side}")));
    }
    match Store::open(dir.path()) {
        Err(StoreError::Damaged(d)) => assert!(d.reason.contains("empty"), "{}", d.reason),
        other => panic!("an emptied file beside a key must be reported, got {other:?}"),
    }
    // A missing file is a fresh start (the user removed it).
    std::fs::remove_file(dir.path().join(DB_FILE)).unwrap();
    assert!(Store::open(dir.path()).is_ok());
}

#[test]
fn a_store_from_a_newer_version_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let db = dir.path().join(DB_FILE);
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", 9999).unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    match Store::open(dir.path()) {
        Err(StoreError::TooNew { found: 9999, .. }) => {}
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "file untouched");
    let msg = StoreError::TooNew { found: 9999, supported: 1 }.to_string();
    assert!(msg.contains("newer version"), "{msg}");
}

#[test]
fn secrets_are_encrypted_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "sk-PLAINTEXTSECRETVALUE1234567890";
    {
        let mut s = Store::open(dir.path()).unwrap().store;
        let mut acc = account("42", "ACCESSTOKENPLAINTEXT0042");
        acc.credentials.api_key = Some(secret.into());
        acc.credentials.password = Some("hunter2-PLAINPASSWORD".into());
        let id = s.upsert_account(&acc).unwrap();
        s.set_secret_setting("webdav.password", "DAVPASSWORDPLAIN").unwrap();
        let back = s.credentials(id).unwrap();
        assert_eq!(back.api_key.as_deref(), Some(secret));
        assert_eq!(s.secret_setting("webdav.password").unwrap().as_deref(), Some("DAVPASSWORDPLAIN"));
    }
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with(DB_FILE) {
            raw.extend(std::fs::read(p).unwrap());
        }
    }
    let text = String::from_utf8_lossy(&raw);
    for plain in ["PLAINTEXTSECRETVALUE", "ACCESSTOKENPLAINTEXT", "PLAINPASSWORD", "DAVPASSWORDPLAIN"] {
        assert!(!text.contains(plain), "{plain} found in the raw database");
    }
}

#[test]
fn activity_log_round_trips_with_level_filter() {
    use apihub::store::{ActivityEntry, Level};
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap().store;
    let e = |level, msg: &str| ActivityEntry { ts: 1, level, target: "t".into(), message: msg.into() };
    s.append_activity(&[e(Level::Info, "a"), e(Level::Error, "b"), e(Level::Warn, "c")]).unwrap();
    let all = s.recent_activity(10, Level::Info).unwrap();
    assert_eq!(all.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
    let errors = s.recent_activity(10, Level::Error).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "b");
}

#[test]
fn data_version_moves_when_another_process_writes_not_for_our_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = Store::open(dir.path()).unwrap().store;
    let v0 = app.data_version().unwrap();
    app.upsert_account(&account("1", "tok-a")).unwrap();
    assert_eq!(app.data_version().unwrap(), v0, "our own write");
    let mut cli = Store::open(dir.path()).unwrap().store;
    cli.upsert_account(&account("2", "tok-b")).unwrap();
    let v1 = app.data_version().unwrap();
    assert_ne!(v1, v0, "another connection's commit is seen");
    assert_eq!(app.data_version().unwrap(), v1, "stable until the next outside write");
}
