//! The backup bundle: round trips with and without secrets, refusals that leave the
//! store untouched, merge/replace previews, local backups.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

use apihub::backup::bundle::{SecretsMode, create_bundle, read_bundle};
use apihub::backup::local::{self, AutoBackupOutcome, LocalBackups};
use apihub::backup::{BackupError, RestoreMode, preview_restore, restore_bundle};
use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::Store;
use serde_json::Value;
use sha2::Digest;

fn acc(url: &str, uid: &str, user: &str, token: &str) -> NewAccount {
    NewAccount {
        site_url: url.into(),
        site_name: format!("Site {uid}"),
        kind: SiteKind::NewApi,
        user_id: uid.into(),
        username: user.into(),
        auth: AuthMethod::AccessToken,
        credentials: Credentials { access_token: Some(token.into()), ..Default::default() },
    }
}

fn store_in(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path()).unwrap().store
}

/// Two accounts with details and a secret setting.
fn seeded(dir: &tempfile::TempDir) -> Store {
    let mut s = store_in(dir);
    let a = s.upsert_account(&acc("https://a.example", "1", "alice", "tok-alice-0123456789")).unwrap();
    s.set_account_details(a, "公益", "my notes", Some(0.35), false).unwrap();
    let b = s.upsert_account(&acc("https://b.example", "2", "bob", "tok-bob-0123456789")).unwrap();
    s.set_account_details(b, "", "", None, true).unwrap();
    s.set_setting("ui.theme", "dark").unwrap();
    s.set_secret_setting("webdav.password", "dav-pass-123").unwrap();
    s
}

/// Edits a bundle and recomputes its checksums (a well-formed, different bundle).
fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut doc);
    let sections = doc["sections"].as_object().unwrap().clone();
    for (name, v) in sections {
        let hex: String =
            sha2::Sha256::digest(serde_json::to_vec(&v).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
        doc["checksums"][name] = Value::String(hex);
    }
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn passphrase_bundle_round_trips_every_account_detail_and_secret() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = seeded(&src_dir);
    let bytes = create_bundle(&src, &SecretsMode::Passphrase("correct horse".into())).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("tok-alice"), "token must be encrypted");
    assert!(!text.contains("dav-pass-123"), "secret setting must be encrypted");
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["format"], "api-hub-desk-backup");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["app_version"], apihub::VERSION);
    assert!(doc["checksums"]["accounts"].as_str().unwrap().len() == 64);

    let dst_dir = tempfile::tempdir().unwrap();
    let mut dst = store_in(&dst_dir);
    let report = restore_bundle(&mut dst, &bytes, Some("correct horse"), RestoreMode::Merge).unwrap();
    assert_eq!(report.preview.added.len(), 2);
    assert!(report.preview.needs_credentials.is_empty());
    let accounts = dst.list_accounts().unwrap();
    assert_eq!(accounts.len(), 2);
    let alice = accounts.iter().find(|a| a.username == "alice").unwrap();
    assert_eq!(alice.group_name, "公益");
    assert_eq!(alice.notes, "my notes");
    assert_eq!(alice.paid_per_usd, Some(0.35));
    assert_eq!(alice.site.url, "https://a.example");
    assert_eq!(dst.credentials(alice.id).unwrap().access_token.as_deref(), Some("tok-alice-0123456789"));
    let bob = accounts.iter().find(|a| a.username == "bob").unwrap();
    assert!(bob.disabled);
    assert_eq!(dst.credentials(bob.id).unwrap().access_token.as_deref(), Some("tok-bob-0123456789"));
    assert_eq!(dst.setting("ui.theme").unwrap().as_deref(), Some("dark"));
    assert_eq!(dst.secret_setting("webdav.password").unwrap().as_deref(), Some("dav-pass-123"));
    // The safety backup of the (empty) store was taken first.
    assert!(report.safety_backup.path.exists());
    assert!(report.safety_backup.name.starts_with("safety-before-restore"));
}

#[test]
fn without_secrets_credentials_are_absent_and_flagged_for_re_entry() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = seeded(&src_dir);
    assert!(matches!(create_bundle(&src, &SecretsMode::Passphrase(String::new())), Err(BackupError::EmptyPassphrase)));
    let bytes = create_bundle(&src, &SecretsMode::Without).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("tok-alice") && !text.contains("dav-pass"));
    assert_eq!(read_bundle(&bytes).unwrap().info.secrets, "none");

    let dst_dir = tempfile::tempdir().unwrap();
    let mut dst = store_in(&dst_dir);
    let report = restore_bundle(&mut dst, &bytes, None, RestoreMode::Merge).unwrap();
    assert_eq!(report.preview.needs_credentials.len(), 2);
    for a in dst.list_accounts().unwrap() {
        assert_eq!(dst.credentials(a.id).unwrap(), Credentials::default());
    }
    assert_eq!(dst.secret_setting("webdav.password").unwrap(), None);
}

/// Every refusal leaves the store exactly as it was and writes no safety backup.
fn assert_refused(bytes: &[u8], pass: Option<&str>, check: impl Fn(&BackupError) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir);
    store.set_setting("ui.theme", "light").unwrap();
    let before = store.snapshot().unwrap();
    let err = restore_bundle(&mut store, bytes, pass, RestoreMode::Replace).unwrap_err();
    assert!(check(&err), "unexpected error: {err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(store.snapshot().unwrap(), before, "store changed by a refused restore");
    assert!(LocalBackups::for_data_dir(dir.path()).list().unwrap().is_empty(), "no safety backup expected");
}

#[test]
fn tampered_wrong_passphrase_future_and_truncated_bundles_are_refused_untouched() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = seeded(&src_dir);
    let bytes = create_bundle(&src, &SecretsMode::Passphrase("pw-1".into())).unwrap();

    // Tampered: a note changed without fixing the checksum.
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["sections"]["accounts"][0]["notes"] = Value::String("evil".into());
    let tampered = serde_json::to_vec(&doc).unwrap();
    assert_refused(&tampered, Some("pw-1"), |e| matches!(e, BackupError::ChecksumMismatch(s) if s == "accounts"));

    // Tampered secrets section.
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["sections"]["secrets"]["iterations"] = Value::from(1000);
    let tampered = serde_json::to_vec(&doc).unwrap();
    assert_refused(&tampered, Some("pw-1"), |e| matches!(e, BackupError::ChecksumMismatch(s) if s == "secrets"));

    assert_refused(&bytes, Some("pw-2"), |e| matches!(e, BackupError::WrongPassphrase));
    assert_refused(&bytes, None, |e| matches!(e, BackupError::PassphraseRequired));

    let future = rewrite(&bytes, |d| d["version"] = Value::from(2));
    assert_refused(&future, Some("pw-1"), |e| matches!(e, BackupError::UnsupportedVersion { found: 2, .. }));

    let truncated = &bytes[..bytes.len() / 2];
    assert_refused(truncated, Some("pw-1"), |e| matches!(e, BackupError::Damaged(m) if m.contains("truncated")));

    assert_refused(br#"{"format":"something-else","version":1}"#, None, |e| matches!(e, BackupError::NotABackup(_)));
}

#[test]
fn local_key_bundle_opens_only_on_its_own_installation() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = seeded(&src_dir);
    let bytes = create_bundle(&src, &SecretsMode::LocalKey).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("tok-alice"));
    assert_refused(&bytes, None, |e| matches!(e, BackupError::ForeignKey));
    // Same installation: restores fine.
    let mut src = src;
    let report = restore_bundle(&mut src, &bytes, None, RestoreMode::Merge).unwrap();
    assert_eq!(report.preview.unchanged.len(), 2);
}

#[test]
fn merge_preview_adds_updates_keeps_newer_local_and_replace_removes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir);
    let bytes = create_bundle(&store, &SecretsMode::Passphrase("p".into())).unwrap();
    // The bundle: alice edited long ago (older than local), bob edited far in the future,
    // and a new account carol.
    let edited = rewrite(&bytes, |d| {
        let accounts = d["sections"]["accounts"].as_array_mut().unwrap();
        for a in accounts.iter_mut() {
            if a["username"] == "alice" {
                a["notes"] = Value::String("old note".into());
                a["updated_at_unix"] = Value::from(1000);
            } else {
                a["notes"] = Value::String("new note".into());
                a["updated_at_unix"] = Value::from(4_000_000_000i64);
            }
        }
        let mut carol = accounts[0].clone();
        carol["site_url"] = Value::String("https://c.example".into());
        carol["identity"] = Value::String("uid:3".into());
        carol["username"] = Value::String("carol".into());
        accounts.push(carol);
    });
    // A local-only account that replace would remove.
    store.upsert_account(&acc("https://d.example", "4", "dave", "tok-dave-0123456789")).unwrap();

    let p = preview_restore(&store, &edited, Some("p"), RestoreMode::Merge).unwrap();
    let names = |v: &[apihub::backup::restore::AccountRef]| v.iter().map(|a| a.username.clone()).collect::<Vec<_>>();
    assert_eq!(names(&p.added), ["carol"]);
    assert_eq!(names(&p.updated), ["bob"]);
    assert_eq!(names(&p.kept_newer_local), ["alice"]);
    assert!(p.removed.is_empty());
    // carol has no credentials in the bundle's secrets (they were keyed to alice).
    assert_eq!(names(&p.needs_credentials), ["carol"]);

    let r = preview_restore(&store, &edited, Some("p"), RestoreMode::Replace).unwrap();
    assert_eq!(names(&r.removed), ["dave"]);

    // Preview touched nothing; merge applies it.
    assert_eq!(store.account_count().unwrap(), 3);
    restore_bundle(&mut store, &edited, Some("p"), RestoreMode::Merge).unwrap();
    let accounts = store.list_accounts().unwrap();
    assert_eq!(accounts.len(), 4);
    assert_eq!(accounts.iter().find(|a| a.username == "alice").unwrap().notes, "my notes");
    assert_eq!(accounts.iter().find(|a| a.username == "bob").unwrap().notes, "new note");

    restore_bundle(&mut store, &edited, Some("p"), RestoreMode::Replace).unwrap();
    let accounts = store.list_accounts().unwrap();
    assert_eq!(accounts.len(), 3);
    assert!(accounts.iter().all(|a| a.username != "dave"));
    assert_eq!(accounts.iter().find(|a| a.username == "alice").unwrap().notes, "old note");
}

#[test]
fn local_backups_list_prune_delete_and_auto_backup_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = seeded(&dir);
    let backups = LocalBackups::for_data_dir(dir.path());
    for i in 0..12 {
        backups.write(&format!("apihub-backup-{i:02}.json"), format!("{{\"n\":{i}}}").as_bytes()).unwrap();
    }
    let list = backups.list().unwrap();
    assert_eq!(list.len(), 12);
    assert_eq!(list[0].name, "apihub-backup-11.json", "newest first");
    assert_eq!(list[0].size_bytes, 8);
    // A file of another name is the user's: retention never deletes it.
    backups.write("my-own-copy.json", b"{}").unwrap();
    let deleted = backups.prune(local::DEFAULT_KEEP, &local::StoreFacts::of(&store).unwrap()).unwrap();
    assert_eq!(deleted, ["apihub-backup-01.json", "apihub-backup-00.json"]);
    backups.delete("my-own-copy.json").unwrap();
    backups.delete("apihub-backup-05.json").unwrap();
    assert!(matches!(backups.delete("apihub-backup-05.json"), Err(BackupError::NotFound(_))));
    assert!(matches!(backups.delete("../apihub.db"), Err(BackupError::InvalidName(_))));
    assert_eq!(backups.list().unwrap().len(), 9);
    // No temp files are left behind.
    assert!(
        std::fs::read_dir(backups.dir()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("tmp"))
    );

    let t0 = 1_800_000_000;
    let first = local::auto_backup(&mut store, t0, 10).unwrap();
    let AutoBackupOutcome::Written(info) = first else { panic!("expected a backup, got {first:?}") };
    assert!(read_bundle(&std::fs::read(&info.path).unwrap()).is_ok());
    assert_eq!(
        local::auto_backup(&mut store, t0 + 60, 10).unwrap(),
        AutoBackupOutcome::Throttled { next_allowed_at_unix: t0 + 600 }
    );
    assert_eq!(local::auto_backup(&mut store, t0 + 601, 10).unwrap(), AutoBackupOutcome::Unchanged);
    store.set_setting("ui.theme", "light").unwrap();
    assert!(matches!(local::auto_backup(&mut store, t0 + 700, 10).unwrap(), AutoBackupOutcome::Written(_)));
    // Each kind keeps its own newest 10: automatic backups never push out manual ones.
    assert_eq!(backups.list().unwrap().len(), 9 + 2, "9 manual + 2 automatic");
    assert!(local::throttle_allows(None, 5, 600));
}
