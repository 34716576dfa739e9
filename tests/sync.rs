//! Multi-device sync: three data dirs syncing through a real WebDAV server in-process
//! (`dav-server`, tests/common/dav.rs): per-field merge, conflicts, delete vs edit, a
//! 412 race, every fault leaving local data as it was, random interleavings converging,
//! the CLI on two data dirs, and `rclone serve webdav` when rclone is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod common;
#[path = "common/dav.rs"]
mod dav;

use std::path::Path;
use std::sync::Arc;

use apihub::domain::{AuthMethod, Credentials, NewAccount, SiteKind};
use apihub::store::{AccountMeta, SharedStore, Store};
use apihub::sync::model::Side;
use apihub::sync::{SyncError, SyncOptions, SyncReport};
use dav::{Faults, Hold, start};

const PASS: &str = "correct horse";

/// One simulated device: a data dir and its open store.
struct Device {
    dir: tempfile::TempDir,
    store: SharedStore,
}

impl Device {
    fn new(url: &str, name: &str) -> Device {
        Device::at(url, "/desk", name)
    }

    /// A device syncing through the folder `remote_path` of the server at `url`.
    fn at(url: &str, remote_path: &str, name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = SharedStore::new(Store::open(dir.path()).unwrap().store);
        store
            .with(|s| {
                s.update_settings(|st| -> Result<(), apihub::store::StoreError> {
                    st.backup.webdav.url = url.into();
                    st.backup.webdav.remote_path = remote_path.into();
                    st.sync.device_name = name.into();
                    Ok(())
                })
                .map(|_| ())
            })
            .unwrap();
        Device { dir, store }
    }

    async fn sync(&self) -> Result<SyncReport, SyncError> {
        apihub::sync::run(&self.store, &opts(PASS)).await
    }

    async fn sync_ok(&self) -> SyncReport {
        self.sync().await.unwrap_or_else(|e| panic!("sync failed: {e}"))
    }

    /// The next write happens at `ms` on this device's clock.
    fn at_time(&self, ms: u64) -> &Device {
        self.store.with(|s| Ok(s.edit_clock())).unwrap().set_ms(Some(ms));
        self
    }

    /// The next write happens after every write made so far on any device (writes on
    /// two devices within one millisecond would tie, then the device ids decide).
    fn next(&self) -> &Device {
        self.at_time(next_ms())
    }

    fn add(&self, url: &str, uid: &str, token: &str) -> i64 {
        self.next()
            .store
            .with(|s| {
                s.upsert_account(&NewAccount {
                    site_url: url.into(),
                    site_name: "Site".into(),
                    kind: SiteKind::NewApi,
                    user_id: uid.into(),
                    username: format!("user{uid}"),
                    auth: AuthMethod::AccessToken,
                    credentials: Credentials { access_token: Some(token.into()), ..Default::default() },
                })
            })
            .unwrap()
    }

    /// The account on `url` with user id `uid`, if this device has it.
    fn account(&self, url: &str, uid: &str) -> Option<apihub::domain::Account> {
        let all = self.store.with(|s| s.list_accounts()).unwrap();
        let key = apihub::domain::account::site_key_url(url);
        all.into_iter().find(|a| apihub::domain::account::site_key_url(&a.site.url) == key && a.user_id == uid)
    }

    fn edit(&self, url: &str, uid: &str, change: impl FnOnce(&mut AccountMeta)) -> bool {
        let Some(a) = self.account(url, uid) else { return false };
        let mut meta = AccountMeta::of(&a);
        change(&mut meta);
        self.next().store.with(|s| s.update_account_meta(a.id, &meta)).unwrap();
        true
    }

    /// An edit made at `ms` on this device's clock.
    fn edit_at(&self, ms: u64, url: &str, uid: &str, change: impl FnOnce(&mut AccountMeta)) {
        let a = self.account(url, uid).unwrap();
        let mut meta = AccountMeta::of(&a);
        change(&mut meta);
        self.at_time(ms).store.with(|s| s.update_account_meta(a.id, &meta)).unwrap();
    }

    fn delete(&self, url: &str, uid: &str) -> bool {
        let Some(a) = self.account(url, uid) else { return false };
        self.next().store.with(|s| s.remove_account(a.id)).unwrap()
    }

    /// Everything sync reads and writes, as text (records with credentials, conflicts,
    /// sync state).
    fn data(&self) -> String {
        self.store
            .with(|s| {
                let records = apihub::sync::local::read_local(s)?;
                let conflicts: Vec<_> = s
                    .sync_conflicts()?
                    .into_iter()
                    .map(|c| (c.record, c.field, c.local, c.remote, c.applied))
                    .collect();
                let st = s.sync_state()?;
                Ok(format!("{records:?}\n{conflicts:?}\n{:?} {:?} {}", st.device_id, st.base, st.generation))
            })
            .unwrap()
    }

    /// Records only (what must converge).
    fn records(&self) -> apihub::sync::model::Values {
        self.store.with(|s| apihub::sync::local::read_local(s)).unwrap()
    }

    fn conflicts(&self) -> Vec<apihub::store::ConflictRow> {
        self.store.with(|s| s.sync_conflicts()).unwrap()
    }

    fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
            .collect();
        out.sort();
        out
    }

    fn set_url(&self, url: &str) {
        self.store
            .with(|s| {
                s.update_settings(|st| -> Result<(), apihub::store::StoreError> {
                    st.backup.webdav.url = url.into();
                    Ok(())
                })
                .map(|_| ())
            })
            .unwrap();
    }
}

/// The real binary on a data dir (`SYNC_PASS` holds the passphrase): success, stdout,
/// stderr.
async fn cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let (dir, args) = (dir.to_path_buf(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_apihub"))
            .env("APIHUB_LOG", "off")
            .env("NO_PROXY", "127.0.0.1")
            .env("SYNC_PASS", PASS)
            .arg("--data-dir")
            .arg(&dir)
            .args(&args)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    })
    .await
    .unwrap()
}

/// Its stdout, after asserting it succeeded.
fn ok(r: (bool, String, String)) -> String {
    assert!(r.0, "stdout: {}\nstderr: {}", r.1, r.2);
    r.1
}

fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap()
}

/// A time after every one handed out before, and not before the wall clock.
fn next_ms() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = apihub::domain::time::now_ms();
    let prev = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| Some(now.max(p + 1))).unwrap();
    now.max(prev + 1)
}

/// Test-speed key derivation for the first document (later ones reuse its salt and count).
fn opts(pass: &str) -> SyncOptions {
    SyncOptions { passphrase: Some(pass.into()), new_key_iterations: 1000, ..SyncOptions::default() }
}

const X: &str = "https://x.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_of_different_fields_both_survive_and_the_same_field_is_one_conflict() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b, c) = (Device::new(&url, "desk"), Device::new(&url, "laptop"), Device::new(&url, "box"));
    a.add(X, "1", "tok-1");
    let first = a.sync_ok().await;
    assert!(first.uploaded && first.generation == 1, "{first:?}");
    let got = b.sync_ok().await;
    assert_eq!(got.local.added.len(), 2, "site and account arrive: {got:?}");
    c.sync_ok().await;
    let on_b = b.account(X, "1").unwrap().id;
    assert_eq!(b.store.with(|s| s.credentials(on_b)).unwrap().access_token.as_deref(), Some("tok-1"));
    assert!(!got.uploaded, "receiving only uploads nothing");

    // Different fields on two devices: both survive everywhere.
    a.edit(X, "1", |m| m.notes = "from desk".into());
    b.edit(X, "1", |m| m.name = "laptop name".into());
    a.sync_ok().await;
    let r = b.sync_ok().await;
    assert!(r.conflicts.is_empty(), "{r:?}");
    a.sync_ok().await;
    c.sync_ok().await;
    for d in [&a, &b, &c] {
        let acc = d.account(X, "1").unwrap();
        assert_eq!((acc.notes.as_str(), acc.name.as_str()), ("from desk", "laptop name"));
    }
    assert_eq!(a.records(), b.records());
    assert_eq!(a.records(), c.records());

    // The same field on two devices: one conflict with both values, the later applied.
    a.edit(X, "1", |m| m.notes = "desk says".into());
    b.edit(X, "1", |m| m.notes = "laptop says".into());
    a.sync_ok().await;
    let r = b.sync_ok().await;
    assert_eq!(r.conflicts.len(), 1, "{r:?}");
    let conflicts = b.conflicts();
    assert_eq!(conflicts.len(), 1);
    let k = &conflicts[0];
    assert_eq!(k.field, "notes");
    assert_eq!((k.local.as_str(), k.remote.as_str()), ("\"laptop says\"", "\"desk says\""));
    assert_eq!(k.applied, "local", "this sync's stamp is the later one");
    assert_eq!(k.remote_device, "desk");
    assert!(a.conflicts().is_empty());

    // The user picks the other value: it wins everywhere after the next syncs.
    apihub::sync::resolve(&b.store, k.id, Side::Remote).await.unwrap();
    assert!(b.conflicts().is_empty());
    assert_eq!(b.account(X, "1").unwrap().notes, "desk says");
    b.sync_ok().await;
    a.sync_ok().await;
    c.sync_ok().await;
    for d in [&a, &b, &c] {
        assert_eq!(d.account(X, "1").unwrap().notes, "desk says");
    }
    assert!(matches!(apihub::sync::resolve(&b.store, 999, Side::Local).await, Err(SyncError::NoConflict(999))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_versioned_when_made_so_an_older_edit_syncing_late_loses_and_is_listed() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    a.add(X, "1", "tok-1");
    a.sync_ok().await;
    b.sync_ok().await;
    // The desk edits first (t1), the laptop later (t2); the laptop syncs first, the desk
    // an hour later (its sync's own clock far past t2).
    let t1 = next_ms() + 10_000;
    a.edit_at(t1, X, "1", |m| m.notes = "desk, earlier".into());
    b.edit_at(t1 + 10_000, X, "1", |m| m.notes = "laptop, later".into());
    assert!(b.sync_ok().await.conflicts.is_empty());
    a.at_time(t1 + 3_600_000);
    let r = a.sync_ok().await;
    assert_eq!(r.conflicts.len(), 1, "both changed since the last common sync: {r:?}");
    assert_eq!(a.account(X, "1").unwrap().notes, "laptop, later", "the newer edit wins");
    let k = a.conflicts().remove(0);
    assert_eq!(
        (k.local.as_str(), k.remote.as_str(), k.applied.as_str()),
        ("\"desk, earlier\"", "\"laptop, later\"", "remote")
    );
    assert_eq!(k.remote_device, "laptop");
    b.sync_ok().await;
    assert_eq!(b.account(X, "1").unwrap().notes, "laptop, later");
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_listed_on_every_device_and_settling_it_on_one_settles_it_everywhere() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b, c) = (Device::new(&url, "desk"), Device::new(&url, "laptop"), Device::new(&url, "box"));
    a.add(X, "1", "tok-1");
    for d in [&a, &b, &c] {
        d.sync_ok().await;
    }
    a.edit(X, "1", |m| m.notes = "desk".into());
    b.edit(X, "1", |m| m.notes = "laptop".into());
    a.sync_ok().await;
    assert_eq!(b.sync_ok().await.conflicts.len(), 1, "the laptop finds it");
    assert_eq!(c.sync_ok().await.open_conflicts, 1, "found elsewhere, open here");
    a.sync_ok().await;
    let listed = |d: &Device| {
        let k = d.conflicts();
        assert_eq!(k.len(), 1, "{k:?}");
        let k = k[0].clone();
        assert_eq!((k.field.as_str(), k.found_by.as_str()), ("notes", "laptop"));
        (k.local, k.remote, k.applied, k.remote_device, k.id)
    };
    let q = |s: &str| format!("\"{s}\"");
    // The desk wrote the value kept aside; the box wrote neither: it holds the applied one.
    let (l, r, applied, other, _) = listed(&a);
    assert_eq!((l, r, applied.as_str(), other.as_str()), (q("desk"), q("laptop"), "remote", "laptop"));
    let (l, r, applied, other, _) = listed(&b);
    assert_eq!((l, r, applied.as_str(), other.as_str()), (q("laptop"), q("desk"), "local", "desk"));
    let (l, r, applied, other, id) = listed(&c);
    assert_eq!((l, r, applied.as_str(), other.as_str()), (q("laptop"), q("desk"), "local", "desk"));
    // The box settles it with the desk's value: a new edit and a settlement, both shared.
    apihub::sync::resolve(&c.store, id, Side::Remote).await.unwrap();
    assert!(c.conflicts().is_empty());
    for d in [&c, &a, &b, &c] {
        d.sync_ok().await;
    }
    for d in [&a, &b, &c] {
        assert!(d.conflicts().is_empty(), "settled everywhere");
        assert_eq!(d.account(X, "1").unwrap().notes, "desk");
    }
    assert_eq!(a.records(), c.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_of_two_populated_devices_matches_records_and_conflicts_only_on_differences() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    const Y: &str = "https://y.example";
    // The same account on both (the laptop typed the site's URL differently), each with
    // an account of its own; equal notes, different names (the laptop's later).
    a.add(X, "1", "tok-1");
    b.add("https://X.example/", "1", "tok-1");
    a.add(X, "2", "tok-2");
    b.add(Y, "3", "tok-3");
    a.edit(X, "1", |m| m.notes = "shared".into());
    b.edit(X, "1", |m| m.notes = "shared".into());
    a.edit(X, "1", |m| m.name = "desk name".into());
    b.edit(X, "1", |m| m.name = "laptop name".into());
    a.store.with(|s| s.set_setting("refresh.interval_minutes", "45")).unwrap();
    b.store.with(|s| s.set_setting("refresh.interval_minutes", "45")).unwrap();
    assert!(a.sync_ok().await.conflicts.is_empty());
    let r = b.sync_ok().await;
    let fields: Vec<&str> = r.conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["name"], "only the differing value conflicts: {r:?}");
    assert_eq!(r.local.added.len(), 1, "the desk's own account (its site is here): {r:?}");
    a.sync_ok().await;
    for d in [&a, &b] {
        let acc = d.account(X, "1").unwrap();
        assert_eq!((acc.notes.as_str(), acc.name.as_str()), ("shared", "laptop name"));
        assert!(d.account(X, "2").is_some() && d.account(Y, "3").is_some());
        assert_eq!(d.store.with(|s| s.list_accounts()).unwrap().len(), 3, "one account per natural key");
        let k = d.conflicts();
        assert_eq!(k.len(), 1);
        assert!([&k[0].local, &k[0].remote].contains(&&"\"desk name\"".to_string()), "the other kept");
    }
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_aliases_pins_and_order_sync_with_each_devices_own_account_ids() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    let get = |d: &Device, k: &str| d.store.with(|s| Ok(s.load_settings()?.settings.get(k).unwrap())).unwrap();
    let set = |d: &Device, k: &str, v: &str| d.next().store.with(|s| s.set_setting(k, v)).unwrap();
    // The laptop has an account of its own first: the same accounts get other ids there.
    b.add("https://y.example", "9", "tok-9");
    let (a1, a2) = (a.add(X, "1", "tok-1"), a.add(X, "2", "tok-2"));
    set(&a, "gateway.pins", &format!("gpt-4o={a2},{a1}"));
    set(&a, "gateway.order", &format!("{a2},{a1}"));
    set(&a, "gateway.aliases", &format!("s=m1,m2#{a1}"));
    set(&a, "gateway.policy", "order");
    set(&a, "gateway.max_attempts", "7");
    a.sync_ok().await;
    let r = b.sync_ok().await;
    assert!(r.conflicts.is_empty(), "{r:?}");
    let (b1, b2) = (b.account(X, "1").unwrap().id, b.account(X, "2").unwrap().id);
    assert_ne!((a1, a2), (b1, b2));
    assert_eq!(get(&b, "gateway.pins"), format!("gpt-4o={b2},{b1}"));
    assert_eq!(get(&b, "gateway.order"), format!("{b2},{b1}"));
    assert_eq!(get(&b, "gateway.aliases"), format!("s=m1,m2#{b1}"));
    assert_eq!(get(&b, "gateway.policy"), "order");
    assert_eq!(get(&b, "gateway.max_attempts"), "3", "a device's own limits stay");
    // Back the other way: the laptop pins its own account too.
    let b9 = b.account("https://y.example", "9").unwrap().id;
    set(&b, "gateway.pins", &format!("gpt-4o={b9},{b1}"));
    b.sync_ok().await;
    a.sync_ok().await;
    let a9 = a.account("https://y.example", "9").unwrap().id;
    assert_eq!(get(&a, "gateway.pins"), format!("gpt-4o={a9},{a1}"));
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_notes_sync_as_fields_of_a_key_record_and_clearing_one_syncs_too() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    b.add("https://y.example", "9", "tok-9");
    let a1 = a.add(X, "1", "tok-1");
    a.next().store.with(|s| s.set_key_note(a1, 7, "used by Cursor")).unwrap();
    a.next().store.with(|s| s.set_key_note(a1, 8, "CI")).unwrap();
    a.sync_ok().await;
    let r = b.sync_ok().await;
    assert!(r.conflicts.is_empty(), "{r:?}");
    let b1 = b.account(X, "1").unwrap().id;
    let notes = |d: &Device, id: i64| d.store.with(|s| s.key_notes(id)).unwrap();
    assert_eq!(notes(&b, b1), [(7, "used by Cursor".to_string()), (8, "CI".to_string())].into());
    // The laptop clears one (through the CLI) and edits the other; the desk gets both.
    ok(cli(b.dir.path(), &["keys", "note", "--account", &b1.to_string(), "8", ""]).await);
    b.next().store.with(|s| s.set_key_note(b1, 7, "Cursor, laptop")).unwrap();
    b.sync_ok().await;
    a.sync_ok().await;
    assert_eq!(notes(&a, a1), [(7, "Cursor, laptop".to_string())].into());
    // The same note edited on both: one conflict, named after the key.
    a.next().store.with(|s| s.set_key_note(a1, 7, "desk")).unwrap();
    b.next().store.with(|s| s.set_key_note(b1, 7, "laptop")).unwrap();
    a.sync_ok().await;
    let r = b.sync_ok().await;
    assert_eq!(r.conflicts.len(), 1, "{r:?}");
    assert_eq!(
        (r.conflicts[0].label.as_str(), r.conflicts[0].field.as_str()),
        ("key 7 of uid:1 on https://x.example", "note")
    );
    a.sync_ok().await;
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_against_an_edit_is_a_conflict_not_a_silent_loss() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    a.add(X, "1", "tok-1");
    a.add(X, "2", "tok-2");
    a.sync_ok().await;
    b.sync_ok().await;

    // Deleted on the desk, edited later on the laptop: the edit wins, the deletion is a
    // conflict the laptop can take instead.
    assert!(a.delete(X, "1"));
    a.sync_ok().await;
    b.edit(X, "1", |m| m.notes = "still used".into());
    let r = b.sync_ok().await;
    assert_eq!(r.conflicts.len(), 1, "{r:?}");
    let k = b.conflicts().remove(0);
    assert_eq!((k.field.as_str(), k.remote.as_str(), k.applied.as_str()), ("", "null", "local"));
    a.sync_ok().await;
    assert_eq!(a.account(X, "1").unwrap().notes, "still used", "back on the desk with the edit");

    // A plain deletion (no edit elsewhere) deletes everywhere, site kept while used.
    assert!(a.delete(X, "2"));
    a.sync_ok().await;
    b.sync_ok().await;
    assert!(b.account(X, "2").is_none());
    assert!(b.account(X, "1").is_some());

    // Taking the deletion: gone on both.
    apihub::sync::resolve(&b.store, k.id, Side::Remote).await.unwrap();
    assert!(b.account(X, "1").is_none());
    b.sync_ok().await;
    a.sync_ok().await;
    assert!(a.account(X, "1").is_none());
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_uploads_racing_for_one_generation_are_merged() {
    let (url, srv) = start(Faults::default()).await;
    let (a, b) = (Arc::new(Device::new(&url, "desk")), Arc::new(Device::new(&url, "laptop")));
    a.add(X, "1", "tok-1");
    a.sync_ok().await;
    b.sync_ok().await;
    a.edit(X, "1", |m| m.notes = "desk notes".into());
    b.edit(X, "1", |m| m.group_name = "laptop group".into());
    // The laptop's MOVE into generation 2 waits at the server while the desk syncs.
    let hold = Hold { entered: Arc::default(), release: Arc::default() };
    srv.faults.lock().unwrap().hold_move = Some(hold.clone());
    let laptop = {
        let b = b.clone();
        tokio::spawn(async move { b.sync().await })
    };
    hold.entered.notified().await;
    let desk = a.sync_ok().await;
    assert_eq!(desk.generation, 2);
    hold.release.notify_one();
    let r = laptop.await.unwrap().unwrap();
    assert_eq!((r.attempts, r.generation), (2, 3), "412 on generation 2, merged and written as 3: {r:?}");
    let methods = srv.methods.lock().unwrap().clone();
    assert!(methods.iter().filter(|m| *m == "MOVE").count() >= 3, "{methods:?}");
    a.sync_ok().await;
    for d in [&a, &b] {
        let acc = d.account(X, "1").unwrap();
        assert_eq!((acc.notes.as_str(), acc.group_name.as_str()), ("desk notes", "laptop group"));
    }
    assert_eq!(a.records(), b.records());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_leaves_local_data_untouched_and_says_what_happened() {
    let (url, srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    a.add(X, "1", "tok-1");
    a.sync_ok().await;
    b.sync_ok().await;
    // A pending change on each side: a successful sync would change the laptop's data.
    a.edit(X, "1", |m| m.notes = "desk".into());
    a.add(X, "2", "tok-2");
    a.sync_ok().await;
    b.edit(X, "1", |m| m.group_name = "laptop".into());
    let before = (b.data(), b.files());
    let check = |what: &str, r: Result<SyncReport, SyncError>, b: &Device| {
        let e = r.err().unwrap_or_else(|| panic!("{what}: sync should fail"));
        assert_eq!(b.data(), before.0, "{what} ({e}) changed local data");
        assert!(b.files() == before.1, "{what} ({e}) changed the data files");
        e
    };

    let e = check(
        "401",
        {
            srv.faults.lock().unwrap().auth = Some(("u".into(), "p".into()));
            b.sync().await
        },
        &b,
    );
    assert!(e.to_string().contains("401"), "{e}");
    srv.faults.lock().unwrap().auth = None;
    for status in [403, 404, 507] {
        srv.faults.lock().unwrap().status = Some(status);
        let e = check(&status.to_string(), b.sync().await, &b);
        assert!(
            e.to_string().contains(&status.to_string()) || status == 507 && e.to_string().contains("storage"),
            "{e}"
        );
        srv.faults.lock().unwrap().status = None;
    }
    // 507 only when writing: download and merge succeed, the upload does not.
    srv.faults.lock().unwrap().put_status = Some(507);
    let e = check("507 on PUT", b.sync().await, &b);
    assert!(e.to_string().contains("out of storage"), "{e}");
    srv.faults.lock().unwrap().put_status = None;
    // The document answers garbage.
    srv.faults.lock().unwrap().corrupt_get = true;
    let e = check("corrupted document", b.sync().await, &b);
    assert!(matches!(e, SyncError::Damaged(_)), "{e}");
    srv.faults.lock().unwrap().corrupt_get = false;
    // Wrong passphrase.
    let e = check("wrong passphrase", apihub::sync::run(&b.store, &opts("wrong")).await, &b);
    assert!(matches!(e, SyncError::WrongPassphrase), "{e}");
    // The connection is cut during the upload.
    let upstream: std::net::SocketAddr = url.trim_start_matches("http://").trim_end_matches("/dav").parse().unwrap();
    let proxy = dav::cutting_proxy(upstream).await;
    b.set_url(&format!("http://{proxy}/dav"));
    let before = (b.data(), b.files());
    let e = b.sync().await.expect_err("cut upload fails");
    assert!(matches!(e, SyncError::Remote(apihub::backup::BackupError::Connection(_))), "{e}");
    assert_eq!(b.data(), before.0);
    assert!(b.files() == before.1);
    b.set_url(&url);
    // A foreign file where the next generation goes.
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{url}/desk/sync/apihub-sync-0000000009.json"))
        .body(r#"{"format":"something-else","data":[1,2]}"#)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let before = (b.data(), b.files());
    let e = b.sync().await.expect_err("foreign document");
    assert!(matches!(e, SyncError::Foreign(_)), "{e}");
    assert_eq!(b.data(), before.0);
    assert!(b.files() == before.1);
    // Once the file is gone the pending change goes through and nothing was lost.
    http.delete(format!("{url}/desk/sync/apihub-sync-0000000009.json")).send().await.unwrap();
    b.sync_ok().await;
    let acc = b.account(X, "1").unwrap();
    assert_eq!((acc.notes.as_str(), acc.group_name.as_str()), ("desk", "laptop"));
    assert!(b.account(X, "2").is_some());
    // No passphrase at all.
    let none = SyncOptions { passphrase: None, ..opts("") };
    assert!(matches!(apihub::sync::run(&b.store, &none).await, Err(SyncError::PassphraseRequired)));
}

/// A tiny deterministic generator (splitmix64): no new dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Edit {
    id: usize,
    uid: &'static str,
    field: &'static str,
    value: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_interleavings_across_three_devices_converge_and_lose_nothing_silently() {
    use std::collections::BTreeSet;
    let (url, _srv) = start(Faults::default()).await;
    const CASES: usize = 50;
    const FIELDS: [&str; 3] = ["notes", "name", "group"];
    const UIDS: [&str; 2] = ["1", "2"];
    for case in 0..CASES {
        let mut rng = Rng(0x5EED_0000 + case as u64);
        let path = format!("/case{case}");
        let devs = [Device::at(&url, &path, "d0"), Device::at(&url, &path, "d1"), Device::at(&url, &path, "d2")];
        for uid in UIDS {
            devs[0].add(X, uid, &format!("tok-{uid}"));
        }
        for d in &devs {
            d.sync_ok().await;
        }
        let mut edits: Vec<Edit> = Vec::new();
        // Which edits each device has seen (its own, and what its syncs brought), and
        // which the server holds; an edit made over a seen one supersedes it.
        let mut seen: [BTreeSet<usize>; 3] = Default::default();
        let mut on_server: BTreeSet<usize> = BTreeSet::new();
        let mut superseded: BTreeSet<usize> = BTreeSet::new();
        let mut deletes: Vec<(&'static str, BTreeSet<usize>)> = Vec::new();
        let mut ops: Vec<String> = Vec::new();
        let steps = 5 + rng.below(5) as usize;
        for _ in 0..steps {
            let d = rng.below(3) as usize;
            match rng.below(20) {
                0..=10 => {
                    let (uid, field) = (UIDS[rng.below(2) as usize], FIELDS[rng.below(3) as usize]);
                    let value = format!("c{case}-e{}", edits.len());
                    let v = value.clone();
                    let done = devs[d].edit(X, uid, |m| match field {
                        "notes" => m.notes = v,
                        "name" => m.name = v,
                        _ => m.group_name = v,
                    });
                    if done {
                        let id = edits.len();
                        for e in edits.iter().filter(|e| e.uid == uid && e.field == field && seen[d].contains(&e.id)) {
                            superseded.insert(e.id);
                        }
                        seen[d].insert(id);
                        ops.push(format!("d{d} edit {uid}.{field} = {value}"));
                        edits.push(Edit { id, uid, field, value });
                    }
                }
                11 => {
                    let uid = UIDS[rng.below(2) as usize];
                    if devs[d].delete(X, uid) {
                        ops.push(format!("d{d} delete {uid}"));
                        deletes.push((uid, seen[d].clone()));
                    }
                }
                _ => {
                    let r = devs[d].sync_ok().await;
                    ops.push(format!("d{d} sync -> gen {} conflicts {:?}", r.generation, r.conflicts));
                    on_server.extend(seen[d].iter().copied());
                    seen[d].extend(on_server.iter().copied());
                }
            }
        }
        // Settle: d0, d1, d2, d0, d1 bring every device to the same document.
        for d in [0, 1, 2, 0, 1] {
            let r = devs[d].sync_ok().await;
            ops.push(format!("d{d} sync -> gen {} conflicts {:?}", r.generation, r.conflicts));
        }
        let final_records = devs[0].records();
        for (i, d) in devs.iter().enumerate() {
            assert_eq!(d.records(), final_records, "case {case}: device {i} differs");
        }
        // No edit lost unless a later edit saw it, a deletion saw it, or a conflict keeps it.
        let conflict_text: String =
            devs.iter().flat_map(|d| d.conflicts()).map(|c| format!("{} {}\n", c.local, c.remote)).collect();
        for e in &edits {
            let acc = devs[0].account(X, e.uid);
            let now = acc.as_ref().map(|a| match e.field {
                "notes" => a.notes.clone(),
                "name" => a.name.clone(),
                _ => a.group_name.clone(),
            });
            let kept = now.as_deref() == Some(e.value.as_str());
            // A deletion made after seeing the edit takes it away (also when another
            // device's later edit brings the account back).
            let deleted_over = deletes.iter().any(|(uid, saw)| *uid == e.uid && saw.contains(&e.id));
            let in_conflicts = conflict_text.contains(&format!("\"{}\"", e.value));
            assert!(
                kept || superseded.contains(&e.id) || deleted_over || in_conflicts,
                "case {case}: edit {e:?} lost (now {now:?})\n{}",
                ops.join("\n")
            );
        }
    }
}

/// The real binary on two data dirs: `accounts edit`, `sync` (dry run, saved
/// passphrase), `accounts list --json`, `sync conflicts`, `sync resolve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_keeps_two_data_dirs_in_sync() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    let id = a.add(X, "1", "tok-1");
    // The first document (its key derivation at test speed); the CLI reuses its salt.
    a.sync_ok().await;
    let (da, db) = (a.dir.path(), b.dir.path());
    let id = id.to_string();
    ok(cli(da, &["accounts", "edit", &id, "--name", "main", "--notes", "from desk", "--disable"]).await);
    let preview = ok(cli(da, &["sync", "--passphrase-env", "SYNC_PASS", "--dry-run"]).await);
    assert!(preview.contains("on the server (would change)") && preview.contains("name, notes"), "{preview}");
    assert!(preview.contains("dry run"), "{preview}");
    ok(cli(da, &["sync", "--passphrase-env", "SYNC_PASS", "--save-passphrase"]).await);
    // The laptop: no passphrase yet is a clear one-line error.
    let r = cli(db, &["sync"]).await;
    assert!(!r.0 && r.2.contains("passphrase is needed"), "{r:?}");
    let report = json(ok(cli(db, &["sync", "--passphrase-env", "SYNC_PASS", "--save-passphrase", "--json"]).await));
    assert_eq!(report["local"]["added"].as_array().unwrap().len(), 2, "{report}");
    let list = json(ok(cli(db, &["accounts", "list", "--json"]).await));
    assert_eq!((list[0]["name"].as_str(), list[0]["notes"].as_str()), (Some("main"), Some("from desk")), "{list}");
    assert_eq!(list[0]["disabled"], true);
    let lid = list[0]["account_id"].to_string();
    // The same field on both: one conflict on the laptop; it takes the desk's value.
    ok(cli(da, &["accounts", "edit", &id, "--notes", "desk wins?"]).await);
    ok(cli(db, &["accounts", "edit", &lid, "--notes", "laptop wins?", "--enable"]).await);
    ok(cli(da, &["sync"]).await);
    let out = ok(cli(db, &["sync"]).await);
    assert!(out.contains("conflict: main on https://x.example (notes)"), "{out}");
    let conflicts = json(ok(cli(db, &["sync", "conflicts", "--json"]).await));
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    let values = (conflicts[0]["local"].as_str(), conflicts[0]["remote"].as_str());
    assert_eq!(values, (Some("laptop wins?"), Some("desk wins?")));
    let cid = conflicts[0]["id"].to_string();
    ok(cli(db, &["sync", "resolve", &cid, "--take", "remote"]).await);
    assert!(ok(cli(db, &["sync", "conflicts"]).await).contains("no sync conflicts"));
    ok(cli(db, &["sync"]).await);
    ok(cli(da, &["sync"]).await);
    for dir in [da, db] {
        let list = json(ok(cli(dir, &["accounts", "list", "--json"]).await));
        assert_eq!(list[0]["notes"].as_str(), Some("desk wins?"), "{list}");
        assert_eq!(list[0]["disabled"], false, "the laptop's --enable reached the desk");
    }
    let r = cli(db, &["sync", "resolve", "12345", "--take", "local"]).await;
    assert!(!r.0 && r.2.trim().lines().count() == 1 && r.2.contains("no sync conflict with id 12345"), "{r:?}");
}

/// `apihub sync history` and `sync restore N` (dry run first) through the real binary:
/// the older state comes back as new edits that reach the other device; records made
/// since stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_the_documents_and_restore_previews_then_brings_an_older_state_back() {
    let (url, _srv) = start(Faults::default()).await;
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    a.add(X, "1", "tok-1");
    a.add(X, "2", "tok-2");
    a.edit(X, "1", |m| m.notes = "v1".into());
    a.sync_ok().await;
    a.edit(X, "1", |m| m.notes = "v2".into());
    assert!(a.delete(X, "2"));
    a.add(X, "3", "tok-3");
    a.sync_ok().await;
    b.sync_ok().await;
    let db = b.dir.path();
    let history = json(ok(cli(db, &["sync", "history", "--passphrase-env", "SYNC_PASS", "--json"]).await));
    let rows: Vec<(u64, u64, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["generation"].as_u64().unwrap(), h["accounts"].as_u64().unwrap(), h["device"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [(2, 2, "desk"), (1, 2, "desk")], "{history}");
    let text = ok(cli(db, &["sync", "history", "--passphrase-env", "SYNC_PASS"]).await);
    assert!(text.contains("1 sites, 2 accounts"), "{text}");
    // The preview: what restoring generation 1 would change here and on the server.
    let before = b.data();
    let preview =
        json(ok(cli(db, &["sync", "restore", "1", "--dry-run", "--json", "--passphrase-env", "SYNC_PASS"]).await));
    assert_eq!(b.data(), before, "a preview writes nothing");
    assert_eq!(preview["restored"], 1);
    assert_eq!(preview["local"]["added"], serde_json::json!(["user2 on https://x.example"]), "{preview}");
    assert_eq!(preview["local"]["changed"], serde_json::json!(["user1 on https://x.example: notes"]), "{preview}");
    assert_eq!(preview["remote"]["added"], preview["local"]["added"]);
    assert_eq!(preview["local"]["deleted"], serde_json::json!([]), "records made since stay");
    let text = ok(cli(db, &["sync", "restore", "1", "--dry-run", "--passphrase-env", "SYNC_PASS"]).await);
    assert!(text.contains("would restore the state of generation 1") && text.contains("dry run"), "{text}");
    // Applied: a new generation; the desk gets the restored values as newer edits.
    let done = json(ok(cli(db, &["sync", "restore", "1", "--json", "--passphrase-env", "SYNC_PASS"]).await));
    assert_eq!(done["generation"], 3, "{done}");
    a.sync_ok().await;
    for d in [&a, &b] {
        assert_eq!(d.account(X, "1").unwrap().notes, "v1");
        assert!(d.account(X, "2").is_some() && d.account(X, "3").is_some());
        assert!(d.conflicts().is_empty());
    }
    assert_eq!(a.records(), b.records());
    let r = cli(db, &["sync", "restore", "99", "--passphrase-env", "SYNC_PASS"]).await;
    assert!(!r.0 && r.2.trim().lines().count() == 1 && r.2.contains("generation 99 is not on the server"), "{r:?}");
}

/// Against `rclone serve webdav` (another server's MOVE, ETag and listing behaviour),
/// when rclone is installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_through_rclone_serve_webdav_when_installed() {
    let Ok(found) = std::process::Command::new("rclone").arg("version").output() else {
        eprintln!("skipped: rclone is not on PATH");
        return;
    };
    if !found.status.success() {
        eprintln!("skipped: `rclone version` failed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = std::process::Command::new("rclone")
        .args(["serve", "webdav", "--addr", &format!("127.0.0.1:{port}")])
        .arg(root.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (a, b) = (Device::new(&url, "desk"), Device::new(&url, "laptop"));
    a.add(X, "1", "tok-1");
    a.sync_ok().await;
    b.sync_ok().await;
    a.edit(X, "1", |m| m.notes = "a".into());
    b.edit(X, "1", |m| m.name = "b".into());
    a.sync_ok().await;
    b.sync_ok().await;
    a.sync_ok().await;
    assert_eq!(a.records(), b.records());
    assert_eq!(a.account(X, "1").unwrap().notes, "a");
    assert_eq!(a.account(X, "1").unwrap().name, "b");
    let _ = child.kill();
    let _ = child.wait();
}

/// The Sync section of the Backup panel (egui_kittest): sync now with a typed and
/// remembered passphrase, the accounts arrive; a conflict shows with both values and
/// "Keep the other device's" settles it.
mod ui {
    use super::*;
    use crate::common::{app_with, run_until, type_into, ui_lock};
    use egui_kittest::kittest::Queryable;

    /// The app as the laptop (English, the desk's server folder, `passphrase` saved
    /// unless empty), on the Settings page.
    fn laptop(url: &str, passphrase: &str) -> crate::common::TestApp {
        let (app_url, passphrase) = (url.to_string(), passphrase.to_string());
        let mut t = app_with(move |s| {
            s.set_setting("ui.lang", "en").unwrap();
            s.update_settings(|st| -> Result<(), apihub::store::StoreError> {
                st.backup.webdav.url = app_url;
                st.backup.webdav.remote_path = "/desk".into();
                st.sync.device_name = "laptop".into();
                st.sync.passphrase = passphrase;
                Ok(())
            })
            .unwrap();
        });
        let h = &mut t.harness;
        h.set_size(egui::vec2(1100.0, 5000.0));
        run_until(h, "accounts loaded", |h| h.state().state().sites.accounts.value().is_some());
        h.get_all_by_label("Settings").next().unwrap().click();
        h.run();
        t
    }

    #[test]
    fn the_sync_section_syncs_and_settles_a_conflict() {
        let _l = ui_lock();
        let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (url, _srv) = server_rt.block_on(start(Faults::default()));
        let desk = Device::new(&url, "desk");
        desk.add(X, "1", "tok-1");
        // The test app turns automatic refresh off: so does the desk (else the first sync
        // finds that setting changed on both sides, a conflict of its own).
        desk.store.with(|s| s.set_setting("refresh.auto", "off")).unwrap();
        server_rt.block_on(desk.sync_ok());
        let mut t = laptop(&url, "");
        let h = &mut t.harness;
        assert!(h.query_by_label("Sync between devices").is_some());
        assert!(h.query_by_label("Never synced").is_some());
        type_into(h, "Sync passphrase", PASS);
        h.get_by_label("Remember the passphrase on this device (stored encrypted)").click();
        h.run();
        h.get_by_label("Sync now").click();
        run_until(h, "synced", |h| h.state().state().sync.status.as_ref().is_some_and(|s| s.last_sync_unix.is_some()));
        run_until(h, "account shown", |h| h.state().state().sites.accounts.value().is_some_and(|a| a.len() == 1));
        assert!(h.query_by_label_contains("Last sync: 2 changes here").is_some());
        assert!(h.query_by_label("No conflicts").is_some());
        run_until(h, "passphrase remembered", |h| h.state().state().settings.sync.passphrase == PASS);

        // The same field on both devices: one conflict, shown with both values.
        desk.edit(X, "1", |m| m.notes = "desk notes".into());
        server_rt.block_on(desk.sync_ok());
        let store = Store::open(t.dir.path()).unwrap().store;
        let id = store.list_accounts().unwrap()[0].id;
        let mut meta = AccountMeta::of(&store.account(id).unwrap());
        meta.notes = "laptop notes".into();
        let mut store = store;
        store.update_account_meta(id, &meta).unwrap();
        let h = &mut t.harness;
        h.get_by_label("Sync now").click();
        run_until(h, "conflict listed", |h| {
            h.state().state().sync.status.as_ref().is_some_and(|s| s.conflicts.len() == 1)
        });
        assert!(h.query_by_label_contains("Conflicts (1)").is_some());
        assert!(h.query_by_label("This device (applied): laptop notes").is_some());
        assert!(h.query_by_label("Other device (desk): desk notes").is_some());
        h.get_by_label("Keep the other device's").click();
        run_until(h, "settled", |h| h.state().state().sync.status.as_ref().is_some_and(|s| s.conflicts.is_empty()));
        assert_eq!(store.account(id).unwrap().notes, "desk notes");
        assert!(h.query_by_label("No conflicts").is_some());
    }

    /// The history in the Sync section: "Preview restore…" on an older document shows
    /// what would change, and the confirmation restores it.
    #[test]
    fn the_history_previews_a_restore_and_restores_on_confirmation() {
        let _l = ui_lock();
        let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (url, _srv) = server_rt.block_on(start(Faults::default()));
        let desk = Device::new(&url, "desk");
        desk.add(X, "1", "tok-1");
        desk.edit(X, "1", |m| m.notes = "v1".into());
        server_rt.block_on(desk.sync_ok());
        desk.edit(X, "1", |m| m.notes = "v2".into());
        server_rt.block_on(desk.sync_ok());
        let mut t = laptop(&url, PASS);
        let h = &mut t.harness;
        h.get_by_label("Show history").click();
        run_until(h, "history read", |h| h.state().state().sync.history.is_some());
        assert!(h.query_by_label_contains("Generation 2 ·").is_some());
        assert!(h.query_by_label_contains("Generation 1 ·").is_some());
        h.get_all_by_label("Preview restore…").last().unwrap().click();
        run_until(h, "preview shown", |h| h.state().state().sync.preview.is_some());
        assert!(h.query_by_label("Restoring the state of generation 1 would change:").is_some());
        assert!(h.query_by_label("  + user1 on https://x.example").is_some(), "the account arrives here");
        assert!(h.query_by_label_contains("~ user1 on https://x.example: notes").is_some(), "on the server");
        assert!(Store::open(t.dir.path()).unwrap().store.list_accounts().unwrap().is_empty(), "nothing written");
        h.get_by_label("Restore generation 1").click();
        run_until(h, "restored", |h| h.state().state().sync.status.as_ref().is_some_and(|s| s.generation == 3));
        let store = Store::open(t.dir.path()).unwrap().store;
        assert_eq!(store.list_accounts().unwrap()[0].notes, "v1");
        assert!(h.query_by_label("Restore generation 1").is_none(), "the preview closed");
        server_rt.block_on(desk.sync_ok());
        assert_eq!(desk.account(X, "1").unwrap().notes, "v1", "the restored value reached the desk");
    }
}
