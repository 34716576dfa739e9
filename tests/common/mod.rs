//! Shared helpers for UI tests.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::sync::Arc;

use apihub::app::{App, AppDeps, FontSetup};
use apihub::domain::snapshot::{ErrorInfo, Part, Snapshot, UserInfo};
use apihub::domain::{Account, Credentials};
use apihub::engine::SnapshotSource;
use apihub::store::{DataDirSource, Store};
use egui_kittest::Harness;

/// The UI language is process-global: UI tests take this lock.
pub fn ui_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running app on a data dir, with its runtime kept alive.
pub struct TestApp {
    pub harness: Harness<'static, App>,
    pub _rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

/// Builds the app on a fresh data dir after `seed` prepares the store.
pub fn app_with(seed: impl FnOnce(&mut Store)) -> TestApp {
    app_in(tempfile::tempdir().unwrap(), seed)
}

/// Builds the app on an existing data dir (which may hold a damaged database).
pub fn app_in(dir: tempfile::TempDir, seed: impl FnOnce(&mut Store)) -> TestApp {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (store, quarantined) = Store::open_shared(dir.path()).unwrap();
    seed(&mut store.lock().unwrap());
    let refresher = apihub::app::make_refresher(store.clone(), Arc::new(FixedSource), 8);
    let deps = AppDeps {
        refresher,
        store,
        data_dir: dir.path().to_path_buf(),
        data_dir_source: DataDirSource::CommandLine,
        quarantined,
        runtime: rt.handle().clone(),
        fonts: FontSetup::Preinstalled(apihub::ui::fonts::FontStatus::Loading),
        bench_startup: None,
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 700.0))
        .with_context_setup(|ctx| {
            apihub::ui::fonts::install_blocking(ctx);
        })
        .build_eframe(move |cc| App::new(cc, deps));
    TestApp { harness, _rt: rt, dir }
}

/// Steps the harness until `done` holds (background jobs finish on other threads).
pub fn run_until(h: &mut Harness<'static, App>, what: &str, mut done: impl FnMut(&Harness<'static, App>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        h.step();
        if done(h) {
            h.run();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A source that answers from the account itself: quota = 1,000,000 × user id; user ids
/// ending in 9 fail as unavailable. (The relay client is tested against fake HTTP
/// sites in the relay tests; this keeps UI tests about the UI.)
pub struct FixedSource;

impl SnapshotSource for FixedSource {
    async fn fetch(&self, account: &Account, _creds: &Credentials) -> Result<Snapshot, ErrorInfo> {
        if account.user_id.ends_with('9') {
            return Err(ErrorInfo { kind: "unavailable".into(), message: "HTTP 502 Bad Gateway".into() });
        }
        let id: i64 = account.user_id.parse().unwrap_or(0);
        Ok(Snapshot {
            fetched_at: 1,
            user: Part::complete(UserInfo { quota: id * 1_000_000, ..Default::default() }),
            models: Part::complete(vec!["gpt-4o".into()]),
            ..Default::default()
        })
    }
}
