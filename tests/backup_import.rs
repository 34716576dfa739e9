//! Importers: sample files for every documented version of All API Hub and API Hub
//! Management Tools (in tests/fixtures/import), plus an encrypted All API Hub WebDAV
//! envelope made here with the documented KDF and cipher.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use aes_gcm::aead::{Aead, KeyInit};
use apihub::backup::BackupError;
use apihub::backup::import::{ImportPlan, ImportSource, apply_import, parse_import};
use apihub::domain::{AuthMethod, SiteKind};
use apihub::store::Store;
use base64::Engine as _;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn plan(name: &str) -> ImportPlan {
    parse_import(&fixture(name), None).unwrap()
}

fn find<'a>(p: &'a ImportPlan, user_id: &str) -> &'a apihub::backup::import::ImportedAccount {
    p.accounts.iter().find(|a| a.account.user_id == user_id).unwrap_or_else(|| panic!("no account {user_id}: {p:#?}"))
}

#[test]
fn all_api_hub_legacy_and_1_0_backups() {
    let p = plan("aah-v1-legacy.json");
    assert_eq!(p.source, ImportSource::AllApiHub { version: "1.0".into(), encrypted: false });
    assert_eq!(p.accounts.len(), 1);
    let a = find(&p, "42");
    assert_eq!(a.account.kind, SiteKind::OneApi);
    assert_eq!(a.account.credentials.access_token.as_deref(), Some("legacy-token-aaaaaaaaaaaa"));
    assert_eq!(a.paid_per_usd, Some(7.2));
    let skipped: Vec<_> = p.skipped.iter().map(|s| s.source_id.as_str()).collect();
    assert_eq!(skipped, ["preferences"], "legacy data.preferences is listed, not imported");

    let p = plan("aah-v1-array.json");
    assert_eq!(p.accounts.len(), 1);
    assert_eq!(find(&p, "7").account.kind, SiteKind::OneHub);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].source_id, "a2");
    assert!(p.skipped[0].reason.contains("site_url"));
}

#[test]
fn all_api_hub_2_0_and_3_0_backups() {
    let p = plan("aah-v2.json");
    assert_eq!(p.accounts.len(), 2);
    let v = find(&p, "100");
    assert_eq!(v.account.kind, SiteKind::Veloera, "case-insensitive site_type");
    assert_eq!((v.group.as_str(), v.notes.as_str(), v.paid_per_usd), ("公益", "cheap", Some(3.5)));
    let c = find(&p, "200");
    assert_eq!(c.account.kind, SiteKind::Anyrouter);
    assert_eq!(c.account.auth, AuthMethod::Cookie);
    assert_eq!(c.account.credentials.cookie.as_deref(), Some("session=abc123def456"));
    assert!(!c.needs_credentials);

    let p = plan("aah-v3.json");
    assert_eq!(p.source, ImportSource::AllApiHub { version: "3.0".into(), encrypted: false });
    assert_eq!(find(&p, "5").account.kind, SiteKind::DoneHub);
    let f = find(&p, "6");
    assert_eq!(f.account.kind, SiteKind::NewApi);
    assert_eq!(f.kind_variant.as_deref(), Some("ModelFlare"));
}

fn check_v4(p: &ImportPlan) {
    assert_eq!(p.accounts.len(), 4, "{:#?}", p.accounts);
    let a = find(p, "1001");
    assert_eq!(a.account.kind, SiteKind::NewApi);
    assert_eq!(a.account.username, "alice");
    assert_eq!(a.account.credentials.access_token.as_deref(), Some("na-token-ffffffffffffffff"));
    assert_eq!(a.group, "公益, 主力站", "tag ids resolved through tagStore");
    assert_eq!((a.notes.as_str(), a.paid_per_usd, a.disabled), ("主力", Some(2.0), false));
    let s = find(p, "55");
    assert_eq!(s.account.kind, SiteKind::Sub2api);
    assert!(s.disabled);
    assert_eq!(s.account.credentials.refresh_token.as_deref(), Some("rt-sub2-gggggggggggg"));
    assert!(s.warnings.iter().any(|w| w.contains("rotates")));
    let v = find(p, "9");
    assert_eq!(v.account.kind, SiteKind::VoapiV2);
    assert!(v.disabled, "unsupported kinds are imported disabled");
    assert!(v.warnings.iter().any(|w| w.contains("not supported")));
    let n = find(p, "77");
    assert_eq!(n.account.kind, SiteKind::Unknown);
    assert!(n.needs_credentials);
    let mut reasons: Vec<_> = p.skipped.iter().map(|s| (s.source_id.as_str(), s.reason.as_str())).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert_eq!(reasons[2], ("bookmark b1", "bookmarks are not imported"));
    assert_eq!(reasons[3].0, "preferences", "preferences are listed as not imported");
    assert_eq!(reasons[0].0, "account-4d");
    assert!(reasons[0].1.contains("deleted"));
    assert_eq!(reasons[1].0, "account-4e");
    assert!(reasons[1].1.contains("duplicate"));
    let pv = p.preview();
    assert_eq!((pv.site_count, pv.account_count, pv.skipped_count), (4, 4, 4));
    assert_eq!(pv.needs_credentials, ["No token · nt"]);
}

#[test]
fn all_api_hub_4_0_backup_with_tags_tombstones_duplicates_and_unsupported_kinds() {
    let p = plan("aah-v4.json");
    assert_eq!(p.source, ImportSource::AllApiHub { version: "4.0".into(), encrypted: false });
    check_v4(&p);
}

/// Encrypts like All API Hub's WebDAV sync: PBKDF2-HMAC-SHA256 → AES-256-GCM, tag appended.
fn envelope(plain: &[u8], password: &str) -> Vec<u8> {
    let salt = *b"0123456789abcdef";
    let iv = *b"nonce-12byte";
    let iter = 250_000;
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &salt, iter, &mut key);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let ct = cipher.encrypt(aes_gcm::Nonce::from_slice(&iv), plain).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    serde_json::to_vec(&serde_json::json!({
        "type": "all-api-hub-webdav-backup-encrypted", "v": 1, "kdf": "PBKDF2", "cipher": "AES-GCM",
        "iter": iter, "salt": b64(&salt), "iv": b64(&iv), "ct": b64(&ct)
    }))
    .unwrap()
}

#[test]
fn encrypted_all_api_hub_webdav_envelope_needs_the_right_password() {
    let file = envelope(&fixture("aah-v4.json"), "hunter2");
    let p = parse_import(&file, Some("hunter2")).unwrap();
    assert_eq!(p.source, ImportSource::AllApiHub { version: "4.0".into(), encrypted: true });
    check_v4(&p);
    assert!(matches!(parse_import(&file, Some("wrong")), Err(BackupError::WrongPassphrase)));
    assert!(matches!(parse_import(&file, None), Err(BackupError::PassphraseRequired)));
}

#[test]
fn unsupported_versions_and_foreign_files_are_refused_clearly() {
    let err = parse_import(br#"{"version":"5.0","accounts":{"accounts":[]}}"#, None).unwrap_err();
    assert!(err.to_string().contains("5.0"), "{err}");
    assert!(matches!(parse_import(br#"{"hello":1}"#, None), Err(BackupError::Import(_))));
    assert!(
        matches!(parse_import(br#"{"version":"4.0","accounts":{"acc"#, None), Err(BackupError::Import(m)) if m.contains("truncated"))
    );
}

#[test]
fn management_tools_config_v2() {
    let p = plan("ahmt-config-v2.json");
    assert_eq!(p.source, ImportSource::ManagementTools { version: "2.0".into(), bundled: false });
    assert_eq!(p.accounts.len(), 2);
    let a = find(&p, "12");
    assert_eq!(a.account.kind, SiteKind::NewApi);
    assert_eq!(a.account.site_name, "老站");
    assert_eq!(a.account.credentials.access_token.as_deref(), Some("v2-token-jjjjjjjjjjjj"));
    assert_eq!(a.account.credentials.api_key.as_deref(), Some("sk-v2keykkkkkkkkkkkk"));
    let k = p.accounts.iter().find(|a| a.account.site_name == "KeyOnly").unwrap();
    assert_eq!(k.account.kind, SiteKind::OneApi);
    assert_eq!(k.account.auth, AuthMethod::ApiKey);
    assert!(!k.needs_credentials);
}

fn check_v3(p: &ImportPlan) {
    assert_eq!(p.accounts.len(), 4, "{:#?}", p.accounts);
    let sealed = find(p, "123");
    assert!(sealed.needs_credentials, "encrypted:v1: tokens need re-entry");
    assert_eq!(sealed.account.credentials.access_token, None);
    assert_eq!(
        sealed.account.credentials.api_key.as_deref(),
        Some("sk-sitekeymmmmmmmmmm"),
        "site key goes to the first account"
    );
    assert!(sealed.warnings.iter().any(|w| w.contains("encrypted")));
    assert_eq!(sealed.notes, "默认账户");
    let plain = find(p, "124");
    assert_eq!(plain.account.credentials.access_token.as_deref(), Some("plain-token-nnnnnnnnnnnn"));
    assert_eq!(plain.account.credentials.api_key.as_deref(), Some("sk-acct2keyoooooooooo"));
    let carl = find(p, "9");
    assert_eq!(carl.account.kind, SiteKind::DoneHub);
    assert!(carl.disabled);
    assert_eq!(carl.group, "不可用");
    assert_eq!(carl.account.credentials.access_token.as_deref(), Some("plain-info-token-pppppppp"));
    let ann = find(p, "77");
    assert_eq!(ann.account.kind, SiteKind::Anyrouter);
    assert_eq!(ann.group, "收藏");
    let mut skipped: Vec<_> = p.skipped.iter().map(|s| s.source_id.clone()).collect();
    skipped.sort();
    assert_eq!(skipped, ["acct_5", "settings", "site_d"]);
    assert_eq!(p.preview().needs_credentials, ["Foo · bob"]);
}

#[test]
fn management_tools_config_v3_and_storage_bundle() {
    let p = plan("ahmt-config-v3.json");
    assert_eq!(p.source, ImportSource::ManagementTools { version: "3.0.6".into(), bundled: false });
    check_v3(&p);
    let b = plan("ahmt-storage-bundle.json");
    assert_eq!(b.source, ImportSource::ManagementTools { version: "3.0.6".into(), bundled: true });
    check_v3(&b);

    let mut doc: Value = serde_json::from_slice(&fixture("ahmt-storage-bundle.json")).unwrap();
    let orig = doc.clone();
    doc["files"][0]["content"] = Value::String(doc["files"][0]["content"].as_str().unwrap().replace("Foo", "Evil"));
    let err = parse_import(&serde_json::to_vec(&doc).unwrap(), None).unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    let mut doc = orig;
    let first = doc["files"][0].clone();
    doc["files"].as_array_mut().unwrap().push(first);
    let err = parse_import(&serde_json::to_vec(&doc).unwrap(), None).unwrap_err();
    assert!(err.to_string().contains("duplicate"), "{err}");
}

#[test]
fn applying_an_import_merges_and_never_erases_known_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap().store;
    let p = plan("ahmt-config-v3.json");
    let r = apply_import(&mut store, &p).unwrap();
    assert_eq!((r.added, r.updated, r.needs_credentials, r.skipped.len()), (4, 0, 1, 3));
    assert!(r.safety_backup.unwrap().path.exists(), "a safety copy is taken before writing");
    let accounts = store.list_accounts().unwrap();
    assert_eq!(accounts.len(), 4);
    let carl = accounts.iter().find(|a| a.user_id == "9").unwrap();
    assert!(carl.disabled);
    assert_eq!(carl.group_name, "不可用");
    assert_eq!(carl.site.kind, SiteKind::DoneHub);

    // The user enters bob's token; importing the same file again must keep it.
    let mut bob = p.accounts.iter().find(|a| a.account.user_id == "123").unwrap().account.clone();
    bob.credentials.access_token = Some("entered-by-user-123456".into());
    let bob_id = store.upsert_account(&bob).unwrap();
    store.set_account_details(bob_id, "mine", "my note", Some(1.5), false).unwrap();
    let r = apply_import(&mut store, &p).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 1, 3), "only bob differs from the file");
    assert_eq!(store.credentials(bob_id).unwrap().access_token.as_deref(), Some("entered-by-user-123456"));
    assert_eq!(store.credentials(bob_id).unwrap().api_key.as_deref(), Some("sk-sitekeymmmmmmmmmm"));
    let bob = store.account(bob_id).unwrap();
    assert_eq!(
        (bob.group_name.as_str(), bob.paid_per_usd),
        ("mine", Some(1.5)),
        "empty imported values keep local ones"
    );
    assert_eq!(bob.notes, "默认账户", "a non-empty imported value wins");
    assert_eq!(store.list_accounts().unwrap().len(), 4);

    let r = apply_import(&mut store, &plan("aah-v4.json")).unwrap();
    assert_eq!(r.added, 4);
    assert_eq!(store.list_accounts().unwrap().len(), 8);
}
