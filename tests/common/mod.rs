//! Shared helpers for UI tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use apihub::app::{App, AppDeps, FontSetup};
use apihub::relay::{ClientConfig, OriginLimits, RelayClient};
use apihub::store::{DataDirSource, Store};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

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
    app_in_homes(dir, None, seed)
}

/// [`app_in`] with the folders "Use in…" writes to (temporary homes).
pub fn app_in_homes(
    dir: tempfile::TempDir,
    homes: Option<apihub::exports::Homes>,
    seed: impl FnOnce(&mut Store),
) -> TestApp {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (store, quarantined) = Store::open_shared(dir.path()).unwrap();
    // Auto refresh off unless a test turns it on: tests click "Refresh all" themselves.
    store.lock().unwrap().set_setting("refresh.auto", "off").unwrap();
    // Tests never reach the internet: no release check on start unless a test asks.
    store.lock().unwrap().set_setting("update.check_on_start", "false").unwrap();
    seed(&mut store.lock().unwrap());
    let deps = AppDeps {
        view: Box::new(apihub::ui::Panels::default()),
        settings: apihub::app::load_settings(&store),
        relay: fast_relay(),
        store,
        data_dir: dir.path().to_path_buf(),
        data_dir_source: DataDirSource::CommandLine,
        quarantined,
        runtime: rt.handle().clone(),
        fonts: FontSetup::Preinstalled(apihub::app::fonts::FontStatus::Loading),
        bench_startup: None,
        homes,
    };
    // Background jobs finish on other threads and each asks for a repaint: allow the
    // frames that follows (a spinner that never stops would still exceed this).
    let harness = Harness::builder()
        .with_max_steps(64)
        .with_size(egui::vec2(1100.0, 700.0))
        .with_context_setup(|ctx| {
            apihub::app::fonts::install_blocking(ctx);
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

/// A relay client with test-speed politeness limits and short timeouts.
pub fn fast_relay() -> RelayClient {
    RelayClient::new(ClientConfig {
        connect_timeout_secs: 2,
        request_timeout_secs: 5,
        // Log requests spaced 20 ms (not 220 ms): test speed, same code path.
        per_origin: OriginLimits {
            max_in_flight: 2,
            per_sec: 1000.0,
            burst: 100,
            log_min_gap_ms: 20,
            ..OriginLimits::default()
        },
        proxy: apihub::relay::ProxySetting::Direct,
        ..ClientConfig::default()
    })
    .unwrap()
}

/// Clicks a table row beside its site-name label (the first row, when several accounts
/// share the site).
pub fn click_row(h: &Harness<'static, App>, site: &str) {
    let r = h.get_all_by_label(site).next().expect("a row with that site").rect();
    let pos = egui::pos2(r.right() + 30.0, r.center().y);
    h.event(egui::Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
}

/// Focuses the text field labelled `label` and types `text` (appended to what is there).
pub fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}
